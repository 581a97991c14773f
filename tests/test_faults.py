"""Faults injected on purpose: a killed training run, unsafe or broken model files, bad
parameters from papermill, a notebook that fails under make, and the same seed giving the same
run twice."""

import os
import signal
import subprocess
import sys
import textwrap
import zipfile
from dataclasses import replace

import keras
import numpy as np
import pytest
from quick_course import run_make, started

from helpers.config import PROJECT_ROOT, TrainConfig, run_paths
from helpers.data import Split
from helpers.predict import ModelError, load_model, predict_probabilities
from helpers.train import train_model

# --- model files ------------------------------------------------------------------------------------


def test_truncated_model_file_is_a_model_error(tmp_path, tiny_run):
    path = tmp_path / "truncated.keras"
    whole = tiny_run.paths.model_file.read_bytes()
    path.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(
        ModelError, match=rf"{path}: cannot load the model \(.+\); retrain it with `make train`"
    ):
        load_model(path)


def test_zip_that_is_not_a_model_is_a_model_error(tmp_path):
    path = tmp_path / "notes.keras"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("notes.txt", "not a model")
    with pytest.raises(ModelError, match=rf"{path}: cannot load the model"):
        load_model(path)


def test_lambda_layer_model_is_refused_by_safe_mode(tmp_path):
    inputs = keras.Input((28, 28, 1))
    x = keras.layers.Lambda(lambda t: t * 1.0)(inputs)  # arbitrary Python, stored as bytecode
    outputs = keras.layers.Dense(10, activation="softmax")(keras.layers.Flatten()(x))
    path = tmp_path / "lambda.keras"
    keras.Model(inputs, outputs).save(path)
    with pytest.raises(ModelError, match=rf"{path}: refused to load: the model holds Python code"):
        load_model(path)


# --- a training run killed mid-epoch ----------------------------------------------------------------

KILLED_RUN = textwrap.dedent(
    """
    import sys
    from helpers.config import TrainConfig, run_paths
    from helpers.data import load_mnist, split_train_val
    from helpers.train import train_model

    mnist = load_mnist()
    split = split_train_val(mnist.x_train, mnist.y_train, train_subset=20000)
    config = TrainConfig(model="compact_cnn", epochs=3, batch_size=32, augment=False)
    train_model(config, split, run_paths(sys.argv[1]))
    """
)


@pytest.mark.slow
def test_killed_training_keeps_the_previous_model(tmp_path, tiny_run, pause_point):
    paths = run_paths(tmp_path / "run").ensure()
    previous = tiny_run.paths.model_file.read_bytes()
    paths.model_file.write_bytes(previous)
    epoch_end = pause_point("epoch end")  # held once the first epoch's checkpoint is written
    process = subprocess.Popen(
        [sys.executable, "-c", KILLED_RUN, str(paths.root)],
        cwd=PROJECT_ROOT,
        env=os.environ | epoch_end.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        epoch_end.wait(alive=lambda: process.poll() is None)
        assert list(paths.models.glob(".train-*/*.keras")), "held mid-run, with a checkpoint written"
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL
    assert paths.model_file.read_bytes() == previous
    model = load_model(paths.model_file)
    probabilities = predict_probabilities(model, tiny_run.split.x_val[:100])
    accuracy = (probabilities.argmax(axis=1) == tiny_run.split.y_val[:100]).mean()
    assert accuracy > 0.6  # still the tiny run's model, and it still works


# --- parameters are checked before any work ---------------------------------------------------------


@pytest.mark.notebook
def test_papermill_parameter_out_of_range_fails_before_training(tmp_path):
    import papermill as pm

    run_dir = tmp_path / "run"
    with pytest.raises(pm.PapermillExecutionError) as failure:
        pm.execute_notebook(
            PROJECT_ROOT / "notebooks" / "02_train.ipynb",
            tmp_path / "out.ipynb",
            parameters={"EPOCHS": 0, "RUN_DIR": str(run_dir)},
            cwd=PROJECT_ROOT / "notebooks",
            progress_bar=False,
        )
    assert failure.value.ename == "ValueError"
    assert failure.value.evalue == "epochs must be an integer >= 1, got 0"
    assert "TrainConfig(" in failure.value.source  # failed at the config cell, before any training
    assert not (run_dir / "models").exists() or not any((run_dir / "models").iterdir())


# --- reproducibility --------------------------------------------------------------------------------


@pytest.mark.slow
def test_same_seed_same_run(tmp_path, tiny_split):
    small = Split(
        x_train=tiny_split.x_train[:1000],
        y_train=tiny_split.y_train[:1000],
        x_val=tiny_split.x_val[:1000],
        y_val=tiny_split.y_val[:1000],
    )
    config = TrainConfig(model="compact_cnn", epochs=2, batch_size=50, augment=True)
    runs = [train_model(config, small, run_paths(tmp_path / f"run{i}"), verbose=False) for i in range(2)]
    assert runs[0].history == runs[1].history
    assert runs[0].record["validation"] == runs[1].record["validation"]
    x = tiny_split.x_val[:200]
    assert np.array_equal(predict_probabilities(runs[0].model, x), predict_probabilities(runs[1].model, x))
    other = train_model(replace(config, seed=7), small, run_paths(tmp_path / "other"), verbose=False)
    assert other.history != runs[0].history  # the seed matters


@pytest.mark.slow
def test_failing_notebook_stops_make_and_is_not_taken_as_done(tmp_path):
    run_dir = tmp_path / "run"
    notebooks = run_dir / "outputs" / "notebooks"
    for attempt in range(2):  # the second run must try 02 again, not take it as done
        failed = run_make(run_dir, "all", params="-p EPOCHS 0")
        assert failed.returncode != 0
        assert "FAILED: notebooks/02_train.ipynb" in failed.stderr
        assert started(failed.stdout) == (["01_explore", "02_train"] if attempt == 0 else ["02_train"])
        kept = (notebooks / "02_train.failed.ipynb").read_text()
        assert "epochs must be an integer >= 1, got 0" in kept
        assert sorted(p.name for p in notebooks.iterdir()) == ["01_explore.ipynb", "02_train.failed.ipynb"]
        assert not (run_dir / "models" / "best_model.keras").exists()
        assert not (run_dir / "outputs" / "report.html").exists()
