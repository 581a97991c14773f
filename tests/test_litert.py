"""The LiteRT copy that answers for the Keras model: written by training, chosen by hash, the same
answers without TensorFlow; and the fast ways through preprocessing for folders of small scans."""

import json
import logging
import shutil
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from helpers import artifacts, export, predict, preprocess
from helpers.cli import main
from helpers.config import PROJECT_ROOT
from helpers.data import REAL_DEV_DIR, SHARED_REAL_DEV_DIR, load_real_dev, load_semeion
from helpers.predict import LiteModel, choose_model_file, load_model, prepare_digit, prepare_inputs
from helpers.samples import make_realistic_set

SAMPLES_DIR = PROJECT_ROOT / "data" / "samples"


def test_training_writes_the_litert_copy_and_ties_it_to_the_keras_file(tiny_run):
    entry = tiny_run.result.record["litert"]
    lite = tiny_run.paths.model_file.with_suffix(".tflite")
    assert entry["file"] == lite.name and lite.is_file() and entry["file_bytes"] == lite.stat().st_size
    assert entry["quantization"] == "float32" and entry["max_probability_difference"] < 1e-4
    assert entry["keras_sha256"] == artifacts.file_sha256(tiny_run.paths.model_file)
    assert entry["sha256"] == artifacts.file_sha256(lite)
    assert abs(entry["validation_accuracy"] - tiny_run.result.record["validation"]["accuracy"]) < 1e-3
    assert choose_model_file(tiny_run.paths.model_file)[0] == lite
    assert predict.threshold_of(load_model(lite)) == tiny_run.result.record["confidence_threshold"]["value"]


def test_a_stale_or_missing_copy_falls_back_to_keras_and_says_why(tiny_run, tmp_path):
    for name in ("best_model.keras", "best_model.json", "best_model.tflite"):
        shutil.copy(tiny_run.paths.models / name, tmp_path / name)
    keras_file = tmp_path / "best_model.keras"
    assert choose_model_file(keras_file)[0].suffix == ".tflite"
    assert choose_model_file(keras_file, keras=True) == (
        keras_file,
        "answering with " + str(keras_file) + " (as asked)",
    )
    keras_file.write_bytes(keras_file.read_bytes() + b"\0")  # another model trained or copied over it
    chosen, why = choose_model_file(keras_file)
    assert chosen == keras_file and "made from another best_model.keras" in why
    (tmp_path / "best_model.tflite").unlink()
    chosen, why = choose_model_file(keras_file)
    assert chosen == keras_file and "no LiteRT copy" in why


@pytest.mark.slow
def test_int8_is_kept_only_within_its_tolerance(tiny_run, tmp_path, monkeypatch):
    keras_file = tmp_path / "m.keras"
    shutil.copy(tiny_run.paths.model_file, keras_file)
    model, split = load_model(keras_file), tiny_run.split
    calibration = split.x_train[:200]
    kept = export.export_litert(
        model, keras_file, split.x_val, split.y_val, int8=True, calibration=calibration
    )
    assert kept["quantization"] == "int8" and kept["file_bytes"] < 0.4 * keras_file.stat().st_size
    monkeypatch.setattr(export, "INT8_TOLERANCE", -1.0)  # no int8 copy can be that good
    refused = export.export_litert(
        model, keras_file, split.x_val, split.y_val, int8=True, calibration=calibration
    )
    assert refused["quantization"] == "float32" and refused["max_probability_difference"] < 1e-4


def test_digits_predict_answers_with_litert_and_imports_no_tensorflow():
    code = (
        "import sys\nfrom helpers.cli import main\n"
        f"code = main(['predict', {str(SAMPLES_DIR)!r}, '--verbose'])\n"
        "print(code, sorted(m for m in ('tensorflow', 'keras') if m in sys.modules))"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert run.stdout.strip().splitlines()[-1] == "0 []"
    assert (
        run.stderr.strip()
        == "digits: answering with models/best_model.tflite, the LiteRT copy of best_model.keras"
    )
    assert "XNNPACK" not in run.stderr  # LiteRT's INFO line is silenced
    assert len(run.stdout.strip().splitlines()) == 1 + 10 + 1  # header, the samples, the check line


def test_keras_flag_and_verbose_fallback(capsys):
    assert main(["predict", str(SAMPLES_DIR / "3_blue_ink.jpg"), "--keras", "--verbose", "--json"]) == 0
    out, err = capsys.readouterr()
    assert "(as asked)" in err and json.loads(out)[0]["digit"] == 3


def _real_sets():
    from helpers.data import load_mnist

    mnist = load_mnist()
    realistic = make_realistic_set(mnist.x_test, mnist.y_test, per_kind=20)
    sets = {
        "realistic": [r.data for r in realistic],
        "real_dev": load_real_dev(REAL_DEV_DIR).sources,
        "semeion": load_semeion().sources,
        "samples": sorted(SAMPLES_DIR.iterdir()),
    }
    if (SHARED_REAL_DEV_DIR / "MANIFEST.csv").is_file():
        sets["shared real_dev"] = load_real_dev(SHARED_REAL_DEV_DIR).sources
    return sets


@pytest.mark.slow
def test_the_litert_copy_gives_the_keras_models_answers_on_every_real_set(shipped_model):
    keras_model, lite = load_model(shipped_model), load_model(shipped_model.with_suffix(".tflite"))
    assert isinstance(lite, LiteModel)
    for name, sources in _real_sets().items():
        _, ready = prepare_inputs(sources, prepare_digit, predict.Prediction)
        images = np.stack([image for _, image in ready])
        by_keras = predict.predict_probabilities(keras_model, images)
        by_lite = predict.predict_probabilities(lite, images)
        assert (by_keras.argmax(1) == by_lite.argmax(1)).all(), name
        assert np.abs(by_keras - by_lite).max() < 1e-3, name


@pytest.mark.slow
def test_the_fast_path_gives_the_long_ways_28x28_on_small_scans(shipped_model):
    """Small images on flat paper skip background removal and work at half the size: the result
    stays within these tolerances of the long way, and reads the same digits as often."""
    from helpers.data import load_mnist

    mnist = load_mnist()
    scans = [
        r for r in make_realistic_set(mnist.x_test, mnist.y_test, per_kind=30) if "binary scan" in r.kind
    ]
    semeion = load_semeion()
    lite = load_model(shipped_model.with_suffix(".tflite"))
    for name, sources, labels in (
        ("binary scans", [r.data for r in scans], np.array([r.label for r in scans])),
        ("semeion", semeion.sources, semeion.labels),
    ):
        fast = np.stack([preprocess.preprocess_image(s).image for s in sources])
        slow = np.stack([preprocess.preprocess_image(s, fast=False).image for s in sources])
        difference = np.abs(fast - slow).reshape(len(fast), -1).mean(axis=1)
        assert difference.mean() < 0.035 and np.percentile(difference, 99) < 0.12, name
        read_fast = predict.predict_probabilities(lite, fast).argmax(1)
        read_slow = predict.predict_probabilities(lite, slow).argmax(1)
        assert (read_fast == read_slow).mean() >= 0.975, name
        assert (read_fast == labels).mean() >= (read_slow == labels).mean() - 0.003, name


def test_the_fast_path_is_only_for_small_images_on_flat_paper():
    photo = SAMPLES_DIR / "3_blue_ink.jpg"  # lit, grainy paper
    small = Image.open(photo).convert("L").resize((48, 48))
    grey = preprocess.to_grey(small)
    assert not preprocess.has_flat_paper(preprocess.make_ink_bright(grey))
    scan = np.zeros((16, 16), dtype=np.uint8)
    scan[2:14, 7:10] = 255
    assert preprocess.has_flat_paper(preprocess.make_ink_bright(scan / 255.0))


@pytest.mark.parametrize("method", ["as on Linux", "spawn"])
def test_large_batches_keep_their_order_and_each_files_error(tmp_path, monkeypatch, method):
    """In input order, with each bad file's error, whether workers fork or are spawned (Windows, macOS)."""
    if method == "spawn":
        monkeypatch.setattr(predict, "start_method", lambda: "spawn")
    semeion = load_semeion()
    sources = []
    for i in range(predict.PARALLEL_FROM + 6):
        path = tmp_path / f"{i:03d}.png"
        if i % 17 == 5:
            path.write_text("not an image")
        else:
            Image.fromarray(255 - semeion.sources[i]).save(path)
        sources.append(path)
    results, ready = prepare_inputs(sources, prepare_digit, predict.Prediction)
    monkeypatch.setattr(predict, "PARALLEL_FROM", 10**9)  # the same inputs, one by one
    serial_results, serial_ready = prepare_inputs(sources, prepare_digit, predict.Prediction)
    assert [r.source for r in results] == [str(s) for s in sources]
    assert [r.error for r in results] == [r.error for r in serial_results]
    broken = [r for r in results if not r.ok]
    assert len(broken) == 4 and all(r.error.startswith(r.source + ": not an image") for r in broken)
    assert [i for i, _ in ready] == [i for i, _ in serial_ready]
    assert all(np.array_equal(a, b) for (_, a), (_, b) in zip(ready, serial_ready, strict=True))


def test_a_lone_dot_is_no_digit(tmp_path):
    image = Image.new("L", (200, 200), 255)
    image.paste(0, (90, 90, 108, 108))
    image.save(tmp_path / "dot.png")
    with pytest.raises(preprocess.ImageError, match="the only ink is a dot"):
        preprocess.preprocess_image(tmp_path / "dot.png")


@pytest.mark.parametrize(
    "setting",
    [
        "sys.modules.setdefault('tensorflow', types.ModuleType('tensorflow'))  # as if loaded: a fork server",
        "helpers.predict.start_method = lambda: 'spawn'  # as on Windows and macOS",
    ],
)
def test_a_script_without_a_main_guard_runs_once_while_workers_prepare(tmp_path, setting):
    """With TensorFlow loaded, workers come from a fork server, and on Windows and macOS they are
    spawned; both re-run the caller's script unless it is guarded, and a user's few-line script
    rarely is."""
    script = tmp_path / "unguarded.py"
    script.write_text(
        "import sys, types\n"
        "import helpers.predict\n"
        f"{setting}\n"
        "import numpy as np\n"
        "from helpers.predict import PARALLEL_FROM, map_inputs, prepare_digit\n"
        "print('started', flush=True)\n"
        "scan = np.zeros((16, 16), np.uint8)\n"
        "scan[2:14, 7:10] = 255\n"
        "results = list(map_inputs(prepare_digit, [scan] * PARALLEL_FROM, workers=2))\n"
        "print(sum(ok for ok, _ in results), 'prepared')\n"
    )
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, cwd=PROJECT_ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split("\n")[:2] == ["started", f"{predict.PARALLEL_FROM} prepared"]


@pytest.mark.slow  # a LiteRT conversion
def test_export_logs_no_temporary_folder(tiny_model, tmp_path, caplog):
    """The converter's INFO line names a temporary folder: kept out of notebooks and the report."""
    caplog.set_level(logging.INFO, logger="tensorflow")
    export.export_tflite(tiny_model, tmp_path / "tiny.tflite")
    assert (tmp_path / "tiny.tflite").stat().st_size > 0
    assert not [r.getMessage() for r in caplog.records if "Assets written" in r.getMessage()]
