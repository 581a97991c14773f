"""Tests of helpers.predict with the tiny trained model: safe loading, predictions, the `digits` CLI."""

import json
import re

import keras
import numpy as np
import pytest
from PIL import Image

from helpers import cli, predict
from helpers.cli import main
from helpers.config import PROJECT_ROOT
from helpers.predict import (
    ModelError,
    load_model,
    predict_folder,
    predict_image,
    predict_images,
    predict_probabilities,
)

SAMPLES_DIR = PROJECT_ROOT / "data" / "samples"
SAMPLE_NAMES = sorted(p.name for p in SAMPLES_DIR.iterdir())


# --- load_model ---------------------------------------------------------------------------------------


def test_missing_model_says_run_make_train(tmp_path):
    with pytest.raises(ModelError, match=r"no trained model at .*missing\.keras: run `make train`"):
        load_model(tmp_path / "missing.keras")


def test_corrupt_model_file_is_a_model_error(tmp_path):
    path = tmp_path / "corrupt.keras"
    path.write_bytes(np.random.default_rng(0).bytes(2048))
    with pytest.raises(ModelError, match=re.escape(str(path)) + r": cannot load the model"):
        load_model(path)


def test_model_with_wrong_input_shape_is_rejected(tmp_path):
    other = keras.Sequential([keras.Input((32, 32, 1)), keras.layers.Flatten(), keras.layers.Dense(10)])
    path = tmp_path / "cifar_like.keras"
    other.save(path)
    with pytest.raises(
        ModelError, match=r"maps \(32, 32, 1\) to \(10,\); a digit model maps \(28, 28, 1\) to \(10,\)"
    ):
        load_model(path)


def test_loaded_model_maps_digits_to_ten_classes(tiny_model):
    assert tiny_model.input_shape == (None, 28, 28, 1)
    assert tiny_model.output_shape == (None, 10)


# --- arrays ---------------------------------------------------------------------------------------------


def test_probabilities_have_one_row_per_image_summing_to_one(tiny_model, tiny_split):
    probs = predict_probabilities(tiny_model, tiny_split.x_val[:5, ..., 0], batch_size=2)
    assert probs.shape == (5, 10)
    assert np.allclose(probs.sum(axis=1), 1, atol=1e-5)
    assert (probs >= 0).all()


def test_probabilities_of_no_images(tiny_model):
    assert predict_probabilities(tiny_model, np.zeros((0, 28, 28, 1))).shape == (0, 10)


@pytest.mark.parametrize("shape", [(5, 32, 32, 1), (28, 28), (5, 28, 28, 3)])
def test_probabilities_reject_bad_shapes(tiny_model, shape):
    with pytest.raises(ValueError, match=r"images must have shape \(N, 28, 28, 1\), got"):
        predict_probabilities(tiny_model, np.zeros(shape))


# --- files and folders -------------------------------------------------------------------------------


def test_predict_folder_on_samples(tiny_model):
    predictions = predict_folder(tiny_model, SAMPLES_DIR)
    assert [p.source for p in predictions] == [str(SAMPLES_DIR / name) for name in SAMPLE_NAMES]
    assert len(predictions) == 10
    for p in predictions:
        assert p.ok and 0 <= p.digit <= 9
        assert p.top_k[0][0] == p.digit
        assert len(p.top_k) == 3
        probs = [q for _, q in p.top_k]
        assert probs == sorted(probs, reverse=True)
        assert p.probability == probs[0]
        assert p.flagged == (p.probability < predict.threshold_of(tiny_model))


def test_good_and_bad_inputs_in_one_batch(tiny_model, tmp_path):
    bad = tmp_path / "bad.png"
    bad.write_text("oops")
    good = SAMPLES_DIR / "9_canvas.png"
    results = predict_images(tiny_model, [bad, good], top_k=2)
    assert results[0].source == str(bad) and results[0].digit is None
    assert "not an image" in results[0].error
    assert results[1].ok and results[1].digit in range(10) and len(results[1].top_k) == 2


def test_predict_image_accepts_a_pil_image(tiny_model, mnist):
    prediction = predict_image(tiny_model, Image.fromarray(mnist.x_test[3]), top_k=1)
    assert prediction.source == "<Image>"
    assert prediction.ok and len(prediction.top_k) == 1


# --- the CLI ------------------------------------------------------------------------------------------


def test_cli_prints_one_line_per_file(tiny_run, capsys):
    code = main(["predict", str(SAMPLES_DIR), "--model", str(tiny_run.paths.model_file)])
    out = capsys.readouterr().out.splitlines()
    assert code == 0
    assert out[0].split() == ["input", "digit", "prob", "top-k"]
    assert len(out) == 11
    assert [line.split()[0] for line in out[1:]] == [str(SAMPLES_DIR / n) for n in SAMPLE_NAMES]
    assert all(re.match(r"\S+\s+\d\s+[01]\.\d{3}  \d:[01]\.\d\d  \d:", line) for line in out[1:])


def test_cli_json(tiny_run, capsys):
    code = main(
        ["predict", str(SAMPLES_DIR), "--model", str(tiny_run.paths.model_file), "--json", "--top-k", "2"]
    )
    entries = json.loads(capsys.readouterr().out)
    assert code == 0
    assert len(entries) == 10
    for entry in entries:
        assert entry["digit"] in range(10)
        assert 0 < entry["probability"] <= 1
        assert len(entry["top_k"]) == 2 and entry["top_k"][0][0] == entry["digit"]
        assert entry["error"] is None


def test_cli_missing_input_fails_but_reports_the_others(tiny_run, tmp_path, capsys):
    missing = tmp_path / "nope.png"
    good = SAMPLES_DIR / "3_blue_ink.jpg"
    code = main(["predict", str(good), str(missing), "--model", str(tiny_run.paths.model_file)])
    out = capsys.readouterr().out.splitlines()
    assert code == 1
    assert len(out) == 3
    assert out[1].startswith(str(good)) and re.search(r"\s\d\s+[01]\.\d{3}", out[1])
    assert out[2].startswith(str(missing)) and "error:" in out[2] and "no such file or folder" in out[2]


def test_cli_folder_without_images_is_an_error_line(tiny_run, tmp_path, capsys):
    (tmp_path / "readme.txt").write_text("no pictures here")
    code = main(["predict", str(tmp_path), "--model", str(tiny_run.paths.model_file)])
    out = capsys.readouterr().out.splitlines()
    assert code == 1
    assert len(out) == 2
    assert out[1].startswith(str(tmp_path)) and "no images in this folder" in out[1]


def test_cli_without_model_exits_2_with_one_line(tmp_path, capsys):
    code = main(["predict", str(SAMPLES_DIR), "--model", str(tmp_path / "none.keras")])
    captured = capsys.readouterr()
    assert code == 2
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("digits: error: no trained model at ")
    assert "Traceback" not in captured.err


def test_forward_function_is_built_once_and_matches_the_model(tiny_model, tiny_run):
    forward = predict.forward_function(tiny_model)
    assert predict.forward_function(tiny_model) is forward
    x = tiny_run.split.x_val[:5]
    assert np.allclose(np.asarray(forward(x)), np.asarray(tiny_model(x, training=False)), atol=1e-6)


def test_a_model_used_once_can_be_freed(tiny_run):
    """The compiled inference pass must not keep its model alive (each adapted model would stay)."""
    import gc
    import weakref

    model = predict.load_model(tiny_run.paths.model_file)
    predict.predict_probabilities(model, tiny_run.split.x_val[:5])
    held = weakref.ref(model)
    del model
    gc.collect()
    assert held() is None


@pytest.fixture(scope="module")
def tflite_files(tiny_run, tmp_path_factory):
    from helpers.export import export_tflite

    folder = tmp_path_factory.mktemp("tflite")
    model = predict.load_model(tiny_run.paths.model_file)
    float_file = export_tflite(model, folder / "float.tflite")
    int8_file = export_tflite(model, folder / "int8.tflite", calibration=tiny_run.split.x_train[:200])
    return float_file, int8_file


def test_tflite_exports_load_and_agree_with_keras(tflite_files, tiny_model, tiny_run):
    float_file, int8_file = tflite_files
    assert int8_file.stat().st_size < 0.4 * float_file.stat().st_size  # int8 weights: about a quarter
    x = tiny_run.split.x_val[:500]
    keras_p = predict.predict_probabilities(tiny_model, x)
    for path in (float_file, int8_file):
        lite = predict.load_model(path)
        assert isinstance(lite, predict.LiteModel)
        lite_p = predict.predict_probabilities(lite, x)
        assert lite_p.shape == (500, 10)
        # int8 outputs are quantised in steps of 1/256, so ten of them may sum up to ~0.02 off.
        assert np.allclose(lite_p.sum(axis=1), 1, atol=1e-5 if path == float_file else 0.03)
        agreement = (lite_p.argmax(1) == keras_p.argmax(1)).mean()
        assert agreement >= (0.999 if path == float_file else 0.97)
    assert predict.predict_probabilities(lite, x[:1]).shape == (1, 10)  # batch size changes work
    assert predict.threshold_of(lite) == predict.LOW_CONFIDENCE  # no run record beside the export


def test_cli_takes_a_tflite_model(tflite_files, capsys):
    assert cli.main(["predict", str(SAMPLES_DIR), "--model", str(tflite_files[1])]) == 0
    assert len(capsys.readouterr().out.strip().splitlines()) == 11
