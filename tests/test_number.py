"""Reading a written number ("2024" on a sticky note): split_digits, predict_number, `--number`.

Rows are built from MNIST *test* digits pasted side by side in dark ink on
off-white, lit, grainy paper, and read with the committed trained model.
"""

import json
import re

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

from helpers import preprocess
from helpers.cli import format_number_table, main
from helpers.config import PROJECT_ROOT
from helpers.predict import (
    load_model,
    make_number_prediction,
    make_prediction,
    predict_images,
    predict_number,
    predict_numbers,
    threshold_of,
)
from helpers.preprocess import ImageError, clean_image, preprocess_image, split_digits
from helpers.samples import render_row

SAMPLES_DIR = PROJECT_ROOT / "data" / "samples"
CELL = 96
"""Side, in pixels, of each digit's 28x28 MNIST box on the paper."""

# (expected string, MNIST test indices, gaps in pixels between neighbouring boxes; negative = overlap)
ROWS = [
    ("2024", (1, 3, 35, 4), (0, 0, 0)),
    ("7105", (0, 5, 10, 8), (-20, 10, 70)),
    ("1234", (2, 1, 30, 4), (30, 0, -10)),
    ("5861", (15, 61, 11, 14), (60, -15, 5)),
]


def save(image, path):
    image.save(path, quality=85) if path.suffix == ".jpg" else image.save(path)
    return path


def count_components(image):
    return ndimage.label(clean_image(image)[4], structure=np.ones((3, 3)))[1]


def broken(digit, cut):
    """A copy of a 28x28 digit with a band of pixels erased, leaving it in two pieces."""
    digit = digit.copy()
    digit[cut] = 0
    return digit


BROKEN = {
    "5 with its bar apart": (8, np.s_[3:11, 11:13]),
    "7 with its stem cut": (0, np.s_[15:17, :]),
}


@pytest.fixture(scope="module")
def model(shipped_model):
    return load_model(shipped_model)  # the committed models/best_model.keras


@pytest.fixture(scope="module")
def row_files(mnist, tmp_path_factory):
    """Each row of ROWS as a JPEG and a PNG file."""
    folder = tmp_path_factory.mktemp("rows")
    rng = np.random.default_rng(2024)
    files = {}
    for text, indices, gaps in ROWS:
        image = render_row([mnist.x_test[i] for i in indices], rng, gaps)
        for suffix in (".jpg", ".png"):
            files[text, suffix] = save(image, folder / f"row_{text}{suffix}")
    return files


# --- split_digits, without a model ---------------------------------------------------------------------


def test_split_digits_orders_left_to_right(mnist):
    indices = (1, 3, 35, 4)
    digits = split_digits(
        render_row([mnist.x_test[i] for i in indices], np.random.default_rng(0), (0, 40, 0))
    )
    assert len(digits) == 4
    alone = [preprocess_image(mnist.x_test[i]).image for i in indices]
    for position, digit in enumerate(digits):
        assert digit.image.shape == (28, 28) and digit.image.dtype == np.float32
        similarity = [np.corrcoef(digit.image.ravel(), other.ravel())[0, 1] for other in alone]
        assert int(np.argmax(similarity)) == position and similarity[position] > 0.8
    centres = [ndimage.center_of_mass(d.steps["cleaned"])[1] for d in digits]
    assert centres == sorted(centres) and np.diff(centres).min() > CELL / 2


def test_each_digit_keeps_its_steps_for_display(mnist):
    image = render_row([mnist.x_test[i] for i in (2, 1)], np.random.default_rng(0))
    digits = split_digits(image)
    for digit in digits:
        assert list(digit.steps) == ["original", "grey", "cleaned", "cropped", "28x28"]
        assert digit.steps["original"].shape == (image.height, image.width, 3)
        assert digit.steps["28x28"] is digit.image
        crop = digit.steps["cropped"]
        assert crop.max() > 0.5 and 0.6 * CELL < crop.shape[0] < 0.8 * CELL  # MNIST: 20 of 28 pixels
    # "cleaned" holds only that digit's ink: the two digits' ink do not overlap.
    first, second = (d.steps["cleaned"] > 0 for d in digits)
    assert first.any() and second.any() and not (first & second).any()


@pytest.mark.parametrize("name", sorted(p.name for p in SAMPLES_DIR.iterdir()))
def test_a_single_digit_is_split_exactly_like_preprocess_image(name):
    digits = split_digits(SAMPLES_DIR / name)
    assert len(digits) == 1
    assert np.array_equal(digits[0].image, preprocess_image(SAMPLES_DIR / name).image)
    assert digits[0].source == str(SAMPLES_DIR / name)


@pytest.mark.parametrize("kind", BROKEN)
def test_pieces_sharing_columns_are_one_digit(mnist, kind, monkeypatch):
    index, cut = BROKEN[kind]
    image = render_row([broken(mnist.x_test[index], cut), mnist.x_test[1]], np.random.default_rng(0), (30,))
    assert count_components(image) == 3  # the broken digit really is in two pieces, plus the 2
    digits = split_digits(image)
    assert len(digits) == 2
    assert digits[0].steps["cropped"].shape[0] > 0.5 * CELL  # both pieces, not just one
    monkeypatch.setattr(preprocess, "MERGE_OVERLAP", 1.01)  # never merge, keep short pieces: 3 "digits"
    monkeypatch.setattr(preprocess, "MIN_HEIGHT", 0.0)
    assert len(split_digits(image)) == 3


def test_a_dash_between_digits_is_dropped(mnist):
    image = render_row([mnist.x_test[i] for i in (1, 3, 35, 4)], np.random.default_rng(0), (0, 80, 0))
    pixels = np.asarray(image).copy()
    dash_left = 40 + 2 * CELL + 20  # in the 80-pixel gap between the 0 and the second 2
    pixels[40 + CELL // 2 - 4 : 40 + CELL // 2 + 4, dash_left : dash_left + 40] = (25, 25, 30)
    image = Image.fromarray(pixels)
    assert count_components(image) == 5  # the dash is big enough to survive the speck filter
    digits = split_digits(image)
    assert len(digits) == 4
    assert all(d.steps["cropped"].shape[0] > 0.5 * CELL for d in digits)


@pytest.mark.parametrize("level", [255, 0], ids=["white", "black"])
def test_blank_image_has_no_digits(tmp_path, level):
    path = tmp_path / "blank.png"
    Image.new("RGB", (300, 100), (level,) * 3).save(path)
    with pytest.raises(ImageError, match=re.escape(str(path)) + r": no digit found \(no strokes stand out"):
        split_digits(path)


# --- predict_number with the trained model -----------------------------------------------------------


def test_row_digits_are_read_right_one_by_one(model, mnist):
    """The rows only test splitting if the model gets each of their digits right on its own."""
    indices = [i for _, row, _ in ROWS for i in row]
    predictions = predict_images(model, [mnist.x_test[i] for i in indices], top_k=1)
    assert [p.digit for p in predictions] == [int(mnist.y_test[i]) for i in indices]
    assert "".join(str(mnist.y_test[i]) for _, row, _ in ROWS for i in row) == "".join(t for t, _, _ in ROWS)


@pytest.mark.parametrize("suffix", [".jpg", ".png"])
@pytest.mark.parametrize("text", [text for text, _, _ in ROWS])
def test_rows_are_read_exactly(model, row_files, text, suffix):
    path = row_files[text, suffix]
    result = predict_number(model, path)
    assert result.ok and result.error is None
    assert result.source == str(path)
    assert result.number == text
    assert result.digits == [int(c) for c in text]
    assert len(result.probabilities) == len(result.top_k) == 4
    assert all(threshold_of(model) <= p <= 1 for p in result.probabilities)
    assert [top[0] for top in result.top_k] == list(zip(result.digits, result.probabilities, strict=True))
    assert not result.flagged


def test_reversed_row_reads_reversed(model, mnist):
    image = render_row([mnist.x_test[i] for i in (4, 35, 3, 1)], np.random.default_rng(5))
    assert predict_number(model, image).number == "4202"


@pytest.mark.parametrize("kind", BROKEN)
def test_broken_digit_in_a_row_is_read_as_one(model, mnist, kind):
    index, cut = BROKEN[kind]
    image = render_row([mnist.x_test[1], broken(mnist.x_test[index], cut)], np.random.default_rng(1), (20,))
    assert predict_number(model, image).number == "2" + str(mnist.y_test[index])


def test_single_digit_gives_one_character(model):
    result = predict_number(model, SAMPLES_DIR / "7_black_ink.jpg")
    assert result.number == "7"
    assert result.digits == [7] and len(result.probabilities) == 1


def test_blank_and_good_images_in_one_batch(model, row_files, tmp_path):
    blank = tmp_path / "blank.jpg"
    Image.new("RGB", (400, 120), (240, 235, 220)).save(blank)
    results = predict_numbers(model, [row_files["2024", ".png"], blank, row_files["7105", ".jpg"]], top_k=2)
    assert [r.number for r in results] == ["2024", "", "7105"]
    assert not results[1].ok and results[1].digits == [] and results[1].probabilities == []
    assert results[1].error.startswith(f"{blank}: no digit found")
    assert all(len(top) == 2 for top in results[2].top_k)


def test_one_unsure_digit_flags_the_number():
    sure, unsure = np.eye(10)[2] * 0.97 + 0.003, np.eye(10)[7] * 0.5 + np.eye(10)[1] * 0.4 + 0.01
    digits = [make_prediction("row.png", row) for row in (sure, unsure, sure)]
    result = make_number_prediction("row.png", digits)
    assert result.number == "272" and result.digits == [2, 7, 2]
    assert result.probabilities == pytest.approx([0.973, 0.51, 0.973])
    assert result.top_k[1][:2] == [(7, pytest.approx(0.51)), (1, pytest.approx(0.41))]
    assert result.flagged
    assert not make_number_prediction("row.png", [digits[0], digits[2]]).flagged
    line = format_number_table([result]).splitlines()[1]
    assert line.split() == ["row.png", "272", "0.97", "0.51", "0.97", "(unsure)"]


# --- the CLI ------------------------------------------------------------------------------------------


def test_cli_number_prints_the_string_and_probabilities(row_files, capsys, shipped_model):
    paths = [row_files["2024", ".jpg"], row_files["7105", ".png"]]
    code = main(["predict", *map(str, paths), "--number", "--model", str(shipped_model)])
    out = capsys.readouterr().out.splitlines()
    assert code == 0
    assert out[0].split() == ["input", "number", "probabilities"]
    assert len(out) == 3
    for line, path, text in zip(out[1:], paths, ("2024", "7105"), strict=True):
        assert re.fullmatch(
            re.escape(str(path)) + rf"\s+{text}\s+(0\.[6-9]\d|1\.00)( (0\.[6-9]\d|1\.00)){{3}}", line
        )


def test_cli_number_json_has_per_digit_confidences(row_files, capsys, shipped_model):
    path = row_files["5861", ".jpg"]
    code = main(["predict", str(path), "--number", "--json", "--top-k", "2", "--model", str(shipped_model)])
    entries = json.loads(capsys.readouterr().out)
    assert code == 0
    assert len(entries) == 1
    entry = entries[0]
    assert entry["source"] == str(path)
    assert entry["number"] == "5861" and entry["digits"] == [5, 8, 6, 1]
    assert len(entry["probabilities"]) == 4 and all(0.6 <= p <= 1 for p in entry["probabilities"])
    assert [len(top) for top in entry["top_k"]] == [2, 2, 2, 2]
    assert entry["flagged"] is False and entry["error"] is None


def test_cli_number_missing_file_fails_but_reads_the_others(row_files, tmp_path, capsys, shipped_model):
    missing = tmp_path / "nope.png"
    good = row_files["1234", ".png"]
    code = main(["predict", str(good), str(missing), "--number", "--model", str(shipped_model)])
    out = capsys.readouterr().out.splitlines()
    assert code == 1
    assert len(out) == 3
    assert out[1].startswith(str(good)) and out[1].split()[1] == "1234"
    assert out[2].startswith(str(missing)) and "error:" in out[2] and "no such file or folder" in out[2]


def test_cli_number_blank_image_is_an_error_line(tmp_path, capsys):
    blank = tmp_path / "blank.png"
    Image.new("RGB", (300, 100), (250, 250, 250)).save(blank)
    code = main(["predict", str(blank), "--number"])
    out = capsys.readouterr().out.splitlines()
    assert code == 1
    assert out[1].startswith(str(blank)) and f"error: {blank}: no digit found" in out[1]


def test_cli_number_without_model_exits_2(row_files, tmp_path, capsys):
    code = main(["predict", str(row_files["2024", ".png"]), "--number", "--model", str(tmp_path / "x.keras")])
    captured = capsys.readouterr()
    assert code == 2 and captured.out == ""
    assert captured.err.startswith("digits: error: no trained model at ")
