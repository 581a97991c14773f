"""Tests of helpers.train on one tiny shared run (mlp, 1 epoch, 3000 images): files, record, accuracy."""

import re
import shutil
import subprocess

import keras
import numpy as np
import pytest

from helpers import record as run_record
from helpers.artifacts import load_json
from helpers.augment import make_augmenter
from helpers.config import PROJECT_ROOT, TrainConfig, run_paths
from helpers.data import Split
from helpers.predict import predict_probabilities
from helpers.record import describe_curves
from helpers.train import make_dataset, train_model

MIN_TINY_ACCURACY = 0.75
"""The mlp reaches about 0.86 here; chance is 0.10."""


def test_model_and_record_files_exist(tiny_run):
    assert tiny_run.paths.model_file.is_file()
    assert tiny_run.paths.record_file.is_file()
    assert tiny_run.paths.model_file.name == "best_model.keras"


def test_no_temporary_training_folder_is_left(tiny_run):
    names = sorted(p.name for p in tiny_run.paths.models.iterdir())
    assert names == ["best_model.json", "best_model.keras", "best_model.tflite"]


def test_record_file_equals_returned_record(tiny_run):
    assert load_json(tiny_run.paths.record_file) == tiny_run.result.record


def test_record_holds_config_and_data(tiny_run, mnist):
    record = tiny_run.result.record
    assert record["config"] == tiny_run.config.to_dict()
    assert record["data"] == {"sha256": mnist.sha256, "train": 3000, "validation": 6000}
    assert record["model"]["name"] == "mlp"
    assert record["model"]["parameters"] == 669_706
    assert record["model"]["file_bytes"] == tiny_run.paths.model_file.stat().st_size


def test_record_holds_epochs_time_versions_and_machine(tiny_run):
    record = tiny_run.result.record
    assert record["kept_epoch"] == 1
    assert record["epochs_run"] == 1
    assert record["train_seconds"] > 0
    assert record["versions"]["tensorflow"] == __import__("tensorflow").__version__
    assert record["versions"]["keras"] == keras.__version__
    assert record["machine"]["cpu_count"] >= 1
    assert set(record["history"]) >= {"loss", "accuracy", "val_loss", "val_accuracy"}


def test_record_names_the_git_commit(tiny_run):
    commit = tiny_run.result.record["git_commit"]
    if (PROJECT_ROOT / ".git").exists():
        assert re.fullmatch(r"[0-9a-f]{40}(-dirty)?", commit)
    else:
        assert commit is None


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_a_run_rewriting_models_and_outputs_is_not_dirty(tmp_path, monkeypatch):
    def git(*args: str) -> None:
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=tmp_path, check=True,
                       capture_output=True)  # fmt: skip

    for name in ("models/best_model.json", "outputs/metrics.json", "helpers/train.py"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text("committed")
    git("init", "-q")
    git("add", ".")
    git("commit", "-q", "-m", "one")
    monkeypatch.setattr(run_record, "PROJECT_ROOT", tmp_path)
    for name in ("models/best_model.json", "outputs/metrics.json"):
        (tmp_path / name).write_text("a run wrote this")
    assert re.fullmatch(r"[0-9a-f]{40}", run_record.git_commit())
    (tmp_path / "helpers/train.py").write_text("edited")
    assert run_record.git_commit().endswith("-dirty")


def test_validation_accuracy_matches_the_saved_model(tiny_run, tiny_model):
    split = tiny_run.split
    probabilities = predict_probabilities(tiny_model, split.x_val)
    accuracy = float((probabilities.argmax(axis=1) == split.y_val).mean())
    assert tiny_run.result.record["validation"]["accuracy"] == pytest.approx(accuracy, abs=1e-6)
    assert tiny_run.result.history["val_accuracy"][0] == pytest.approx(accuracy, abs=1e-6)


def test_tiny_run_is_well_above_chance(tiny_run):
    assert tiny_run.result.record["validation"]["accuracy"] > MIN_TINY_ACCURACY


def test_batch_larger_than_training_set_fails_before_training(tmp_path, tiny_split):
    paths = run_paths(tmp_path / "run")
    config = TrainConfig(model="mlp", epochs=1, batch_size=3001)
    with pytest.raises(
        ValueError, match=r"batch_size must be at most the training set size \(3000\), got 3001"
    ):
        train_model(config, tiny_split, paths, verbose=False)
    assert not paths.root.exists()


class _CrashAfterCheckpoint(keras.callbacks.Callback):
    """Runs after ModelCheckpoint has written the epoch's model, then fails like a killed run."""

    def on_epoch_end(self, epoch, logs=None):
        raise RuntimeError("simulated crash")


@pytest.mark.slow
def test_crashed_run_keeps_the_previous_model_and_cleans_up(tmp_path, tiny_run, capsys):
    paths = run_paths(tmp_path / "run").ensure()
    previous = tiny_run.paths.model_file.read_bytes()
    paths.model_file.write_bytes(previous)
    split = tiny_run.split
    small = Split(
        x_train=split.x_train[:640],
        y_train=split.y_train[:640],
        x_val=split.x_val[:100],
        y_val=split.y_val[:100],
    )
    with pytest.raises(RuntimeError, match="simulated crash"):
        train_model(tiny_run.config, small, paths, extra_callbacks=[_CrashAfterCheckpoint()], verbose=True)
    epoch_line = capsys.readouterr().out.strip()
    assert re.fullmatch(
        r"epoch  1/1  loss \d\.\d{4}  acc [01]\.\d{4}  val_loss \d\.\d{4}  val_acc [01]\.\d{4}"
        r"  lr 1\.0e-03 +\d+\.\d s",
        epoch_line,
    ), epoch_line
    assert paths.model_file.read_bytes() == previous
    assert sorted(p.name for p in paths.models.iterdir()) == ["best_model.keras"]


def _toy_batch():
    x = np.zeros((8, 28, 28, 1), np.float32)
    x[:, 6:22, 12:16, 0] = 1.0  # a vertical bar: any shift or rotation changes it
    return x, np.arange(8, dtype=np.int64)


def test_dataset_without_augmentation_returns_the_input_with_one_hot_labels():
    x, y = _toy_batch()
    batches = list(make_dataset(x, y, 3))
    assert [b[0].shape[0] for b in batches] == [3, 3, 2]
    assert np.array_equal(np.concatenate([b[0] for b in batches]), x)
    assert np.array_equal(np.concatenate([b[1] for b in batches]), np.eye(10)[y])


def _augmented(seed: int, config: TrainConfig | None = None) -> np.ndarray:
    x, y = _toy_batch()
    batches = make_dataset(x, y, 4, augmenter=make_augmenter(config, seed=seed))
    return np.concatenate([b[0] for b in batches])


def test_augmented_dataset_keeps_shapes_and_labels_but_changes_images():
    x, y = _toy_batch()
    batches = list(make_dataset(x, y, 4, augmenter=make_augmenter(seed=3)))
    images = np.concatenate([b[0] for b in batches])
    assert [tuple(b[0].shape) for b in batches] == [(4, 28, 28, 1), (4, 28, 28, 1)]
    assert np.array_equal(np.concatenate([b[1] for b in batches]).argmax(axis=1), y)
    changed = np.abs(images - x).reshape(8, -1).max(axis=1) > 0.05
    assert changed.sum() >= 6
    assert images.min() >= -1e-4 and images.max() <= 1 + 1e-4
    # Every image keeps most of its ink: small transforms, not crops off the field.
    assert (images.reshape(8, -1).sum(axis=1) > 0.7 * x[0].sum()).all()


def test_augmentation_stays_within_its_ranges():
    """Shifts only (no rotation or zoom) of up to 2 px move the bar's centre by at most 2 px."""
    x, _ = _toy_batch()
    shifted = _augmented(1, TrainConfig(rotation=0.0, zoom=0.0, shift=2.0))
    cols = np.arange(28)
    centre = (shifted.sum(axis=(1, 3)) * cols).sum(axis=1) / shifted.sum(axis=(1, 2, 3))
    moved = np.abs(centre - (x[0].sum(axis=(0, 2)) * cols).sum() / x[0].sum())
    assert moved.max() <= 2.0 + 1e-3 and moved.max() > 0.2
    still = _augmented(1, TrainConfig(rotation=0.0, zoom=0.0, shift=0.0))
    np.testing.assert_allclose(still, np.concatenate([x[:4], x[4:]]), atol=1e-5)


def test_shuffled_dataset_is_a_permutation():
    x, y = _toy_batch()
    x = x * (np.arange(8, dtype=np.float32)[:, None, None, None] + 1) / 8
    batches = list(make_dataset(x, y, 8, shuffle=True, seed=0))
    images, labels = batches[0]
    order = np.asarray(labels).argmax(axis=1)
    assert sorted(order.tolist()) == list(range(8))
    assert np.array_equal(np.asarray(images), x[order])


def test_augmented_pipeline_repeats_with_the_same_seed():
    assert np.array_equal(_augmented(5), _augmented(5))
    assert not np.array_equal(_augmented(5), _augmented(6))


@pytest.mark.slow
def test_ensemble_run_saves_one_averaging_model(tmp_path, tiny_run):
    split = tiny_run.split
    small = Split(
        x_train=split.x_train[:640], y_train=split.y_train[:640], x_val=split.x_val, y_val=split.y_val
    )
    config = TrainConfig(model="mlp", epochs=1, batch_size=64, augment=False, schedule="plateau", ensemble=2)
    paths = run_paths(tmp_path / "run")
    result = train_model(config, small, paths, verbose=False)
    record = result.record
    assert [m["seed"] for m in record["members"]] == [42, 43]
    assert record["model"]["parameters"] == 2 * 669_706
    # One temperature for the average: fitting again on the saved members finds nothing to fix.
    from helpers.adapt import members_of
    from helpers.evaluate import fit_temperature

    members = [predict_probabilities(member, split.x_val) for member in members_of(result.model)]
    again = fit_temperature(members, split.y_val)
    assert record["temperature"] != pytest.approx(1.0, abs=0.02) and again == pytest.approx(1.0, abs=0.02)
    loaded = keras.models.load_model(paths.model_file, safe_mode=True)
    assert loaded.name == "ensemble_of_2"
    accuracy = float((predict_probabilities(loaded, split.x_val).argmax(axis=1) == split.y_val).mean())
    assert record["validation"]["accuracy"] == pytest.approx(accuracy, abs=1e-6)
    assert record["validation"]["accuracy"] > 0.6
    assert sorted(p.name for p in paths.models.iterdir()) == [
        "best_model.json",
        "best_model.keras",
        "best_model.tflite",
    ]


def test_record_holds_a_confidence_threshold_chosen_on_validation(tiny_run, tiny_model):
    from helpers.predict import threshold_of

    chosen = tiny_run.result.record["confidence_threshold"]
    assert 0 < chosen["value"] <= 1 and chosen["target_accuracy"] == 0.999
    # The weak tiny model must flag a good share of its answers to be 99.9% right on the rest.
    assert 0.05 < chosen["flagged_share"] < 1
    assert chosen["kept_accuracy"] >= 0.999
    assert threshold_of(tiny_model) == chosen["value"]  # load_model reads it from the record
    assert threshold_of(tiny_run.result.model) == chosen["value"]


def test_describe_curves_says_what_the_history_shows():
    steady = {
        "loss": [0.5, 0.2, 0.1, 0.08],
        "val_loss": [0.08, 0.05, 0.04, 0.035],
        "val_accuracy": [0.97, 0.98, 0.99, 0.995],
    }
    said = describe_curves(steady)
    assert said[0] == "Validation loss is below training loss in 4 of 4 epochs."
    assert "lowest at epoch 4 of 4 and has not turned up" in said[1]
    assert said[2].startswith(
        "Validation error fell from 3.00% after epoch 1 to 2.00% after epoch 2 and 0.50%"
    )
    assert "removed 75% of the errors" in said[2]
    assert len(said) == 3  # no training accuracy, no split size: nothing more to say
    with_accuracy = steady | {"accuracy": [0.9, 0.95, 0.992, 0.996]}
    said = describe_curves(with_accuracy, validation_images=6000)
    assert said[1] == (
        "Training error (augmented images) is above validation error in 2 of 4 epochs; "
        "after the last it is 0.40% against 0.50% on validation, training having first come level at "
        "epoch 3: level, within the noise of the validation measurement."
    )
    assert said[-1] == "That is a net 90 validation images more read right (+1.50 points)."
    flat = with_accuracy | {"val_accuracy": [0.97, 0.994, 0.995, 0.995]}
    assert describe_curves(flat, 6000)[-1].startswith(
        "That is a net 6 validation images more read right (+0.10"
    )
    worse = with_accuracy | {"val_accuracy": [0.97, 0.995, 0.995, 0.9948]}
    assert describe_curves(worse, 6000)[-1].startswith(
        "That is a net 1 validation image fewer read right (-0.02"
    )
    easier = with_accuracy | {"accuracy": [0.9, 0.95, 0.992, 0.999]}
    assert describe_curves(easier, 6000)[1].endswith("epoch 3: training has become the easier exam.")
    caught_up = steady | {"loss": [0.5, 0.2, 0.1, 0.03]}
    assert describe_curves(caught_up)[0].endswith(
        "By epoch 4 training loss (0.0300) has caught up with validation loss (0.0350)."
    )
    with_dropout = describe_curves(with_accuracy, augment=False, dropout=0.25)[1]
    assert with_dropout.startswith("Training error (dropout on) is above validation error in 2 of 4 epochs;")
    assert describe_curves(with_accuracy, augment=False)[1].startswith("Training error is above validation")
    memorising = steady | {"val_loss": [0.3, 0.2, 0.25, 0.3]}
    said = describe_curves(memorising)
    assert said[0] == "Validation loss is below training loss in 1 of 4 epochs."
    assert "lowest at epoch 2 and has risen since" in said[1] and "memorise" in said[1]


def test_saved_model_is_calibrated_on_validation(tiny_run, tiny_model):
    """The temperature fitted on validation is folded into the saved model: fitting again finds ~1."""
    from helpers.evaluate import fit_temperature

    temperature = tiny_run.result.record["temperature"]
    assert temperature != pytest.approx(1.0, abs=0.02)  # the tiny model needed scaling
    split = tiny_run.split
    again = fit_temperature(predict_probabilities(tiny_model, split.x_val), split.y_val)
    assert again == pytest.approx(1.0, abs=0.02)


@pytest.mark.slow
def test_a_short_run_without_an_average_validates_with_its_own_batchnorm_statistics(tmp_path, tiny_split):
    # 2 epochs of 3,000 images at batch 256: 24 steps, far too few for the running statistics
    # (1% a step) to leave their start; the recomputed ones are the model's own.
    config = TrainConfig(ema=0.0, epochs=2, batch_size=256, train_subset=len(tiny_split.y_train))
    run = train_model(config, tiny_split, run_paths(tmp_path), verbose=False, export=False)
    assert run.history["val_accuracy"][-1] > 0.8, run.history["val_accuracy"]
