"""Tests of helpers.preprocess: photos and drawings of MNIST digits back to 28x28, and clear errors."""

import io
import re

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

from helpers import preprocess
from helpers.preprocess import ImageError, preprocess_image
from helpers.samples import render_on_canvas, render_on_paper

DIGIT_INDEX = 0  # the first MNIST test digit, a 7


@pytest.fixture(scope="module")
def digit(mnist):
    return mnist.x_test[DIGIT_INDEX]


@pytest.fixture(scope="module")
def renderings(digit):
    rng = np.random.default_rng(0)
    return {
        "blue ink": render_on_paper(digit, rng, ink="blue"),
        "black ink": render_on_paper(digit, rng, ink="black", rotate=5, offset=(0.1, -0.1)),
        "canvas": render_on_canvas(digit),
    }


def _corr(a, b):
    return float(np.corrcoef(np.ravel(a), np.ravel(b))[0, 1])


def _best_shifted_corr(a, b):
    """Correlation of `a` and `b`, at the best of their shifts by up to a pixel each way."""
    return max(_corr(np.roll(a, (dy, dx), axis=(0, 1)), b) for dy in (-1, 0, 1) for dx in (-1, 0, 1))


def _bbox(image):
    rows, cols = np.flatnonzero(image.max(axis=1) > 0), np.flatnonzero(image.max(axis=0) > 0)
    return rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1


def _png_bytes(array, mode=None):
    buffer = io.BytesIO()
    Image.fromarray(array, mode).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.mark.parametrize("kind", ["blue ink", "black ink", "canvas"])
def test_rendered_digit_becomes_mnist_style(renderings, digit, kind):
    result = preprocess_image(renderings[kind])
    image = result.image
    assert image.shape == (28, 28)
    assert image.dtype == np.float32
    assert float(image.min()) == 0.0 and float(image.max()) == 1.0
    cy, cx = ndimage.center_of_mass(image)
    assert abs(cy - 13.5) <= 1 and abs(cx - 13.5) <= 1
    height, width = _bbox(image)
    assert 19 <= max(height, width) <= 21 and min(height, width) <= 21
    assert list(result.steps) == ["original", "grey", "cleaned", "cropped", "28x28"]


def test_light_on_dark_and_dark_on_light_agree(digit):
    big = np.asarray(Image.fromarray(digit).resize((200, 200), Image.Resampling.BICUBIC))
    bright_ink = preprocess_image(big).image
    dark_ink = preprocess_image(255 - big).image
    assert _corr(bright_ink, dark_ink) > 0.9


def test_light_strokes_on_transparent_canvas_work_like_dark_ones(digit, renderings):
    light = np.asarray(renderings["canvas"]).copy()
    light[..., :3] = 255
    result = preprocess_image(Image.fromarray(light, "RGBA")).image
    assert _corr(result, preprocess_image(renderings["canvas"]).image) > 0.99


def test_raw_mnist_digit_matches_itself_up_to_a_one_pixel_shift(digit):
    assert _best_shifted_corr(preprocess_image(digit).image, digit) > 0.95


def test_raw_mnist_digit_comes_back_as_itself(digit):
    assert _corr(preprocess_image(digit).image, digit / 255) > 0.6


def test_centre_of_mass_matches_mnist_placement(mnist):
    digits = mnist.x_test[:20]
    mnist_com = np.mean([ndimage.center_of_mass(d.astype(float)) for d in digits], axis=0)
    ours = np.mean([ndimage.center_of_mass(preprocess_image(d).image) for d in digits], axis=0)
    assert np.abs(ours - mnist_com).max() < 0.3


def test_float_rgb_array_in_unit_range_works_like_uint8(digit):
    rgb = np.asarray(Image.fromarray(255 - digit).resize((200, 200)).convert("RGB"))
    expected = preprocess_image(rgb).image
    assert _corr(preprocess_image(rgb.astype(np.float32) / 255).image, expected) > 0.99


def test_float_grey_array_in_unit_range_works_like_uint8(digit):
    assert _corr(preprocess_image(digit.astype(np.float32) / 255).image, preprocess_image(digit).image) > 0.99


def test_one_pixel_line_on_a_large_image_survives_shrinking():
    page = np.full((1500, 1500), 255, np.uint8)
    page[300:1100, 750] = 0
    height, width = _bbox(preprocess_image(Image.fromarray(page)).image)
    assert height == 20 and width <= 3


def test_format_is_read_from_content_not_name(tmp_path, renderings):
    path = tmp_path / "drawing.jpg"
    path.write_bytes(_png_bytes(np.asarray(renderings["canvas"]), "RGBA"))
    from_file = preprocess_image(path)
    assert from_file.source == str(path)
    assert _corr(from_file.image, preprocess_image(renderings["canvas"]).image) > 0.99


_MODES = {
    "I;16": lambda a: Image.fromarray(a.astype(np.uint16) * 257),
    "L": Image.fromarray,
    "P": lambda a: Image.fromarray(a).convert("RGB").quantize(16),
    "RGB": lambda a: Image.fromarray(a).convert("RGB"),
    "CMYK": lambda a: Image.fromarray(a).convert("CMYK"),
}


@pytest.mark.parametrize(
    ("fmt", "mode"),
    [
        ("PNG", "I;16"),
        ("JPEG", "L"),
        ("BMP", "L"),
        ("GIF", "P"),
        ("TIFF", "L"),
        ("WEBP", "RGB"),
        ("JPEG", "CMYK"),
    ],
)
def test_common_formats_and_modes_give_the_same_digit(digit, fmt, mode):
    paper = 255 - np.asarray(Image.fromarray(digit).resize((140, 140), Image.Resampling.BICUBIC))
    buffer = io.BytesIO()
    _MODES[mode](paper).save(buffer, format=fmt)
    assert Image.open(io.BytesIO(buffer.getvalue())).mode == mode
    assert _corr(preprocess_image(buffer.getvalue()).image, preprocess_image(paper).image) > 0.98


def test_bytes_input_works(renderings):
    result = preprocess_image(_png_bytes(np.asarray(renderings["canvas"]), "RGBA"))
    assert result.image.shape == (28, 28)
    assert result.source == "<bytes>"


# --- errors ------------------------------------------------------------------------------------------


def _error_for(path):
    with pytest.raises(ImageError) as info:
        preprocess_image(path)
    message = str(info.value)
    assert message.startswith(str(path) + ":")
    return message


def test_missing_file(tmp_path):
    assert "no such file" in _error_for(tmp_path / "gone.png")


def test_empty_file(tmp_path):
    (tmp_path / "empty.png").write_bytes(b"")
    assert "the file is empty" in _error_for(tmp_path / "empty.png")


def test_text_file_named_png(tmp_path):
    (tmp_path / "notes.png").write_text("not a picture")
    assert "not an image Pillow can read" in _error_for(tmp_path / "notes.png")


def test_truncated_png(tmp_path):
    noise = np.random.default_rng(0).integers(0, 256, (100, 100), dtype=np.uint8)
    data = _png_bytes(noise)
    (tmp_path / "cut.png").write_bytes(data[: len(data) // 2])
    assert "damaged or truncated" in _error_for(tmp_path / "cut.png")


def test_one_pixel_image(tmp_path):
    Image.new("L", (1, 1), 0).save(tmp_path / "dot.png")
    assert re.search(r"1x1 pixels is too small", _error_for(tmp_path / "dot.png"))


@pytest.mark.parametrize("level", [255, 0], ids=["all-white", "all-black"])
def test_blank_image(tmp_path, level):
    Image.new("L", (64, 64), level).save(tmp_path / "blank.png")
    assert "no digit found" in _error_for(tmp_path / "blank.png")


def test_folder_passed_as_file(tmp_path):
    (tmp_path / "scans.png").mkdir()
    assert "is a folder" in _error_for(tmp_path / "scans.png")


def test_file_over_the_size_limit(tmp_path, monkeypatch):
    Image.new("L", (64, 64), 255).save(tmp_path / "big.png")
    monkeypatch.setattr(preprocess, "MAX_FILE_BYTES", 10)
    assert "MB is over the 0 MB limit" in _error_for(tmp_path / "big.png")


def test_image_over_the_pixel_limit(tmp_path, monkeypatch):
    Image.new("L", (64, 64), 255).save(tmp_path / "huge.png")
    monkeypatch.setattr(preprocess, "MAX_PIXELS", 4000)
    assert "64x64 pixels is over the 4,000-pixel limit" in _error_for(tmp_path / "huge.png")


def test_array_of_wrong_rank():
    with pytest.raises(
        ImageError,
        match=r"^<ndarray>: an image array must be 2-D \(or RGB/RGBA\), got shape \(2, 3, 28, 28\)",
    ):
        preprocess_image(np.ones((2, 3, 28, 28)))
    with pytest.raises(ImageError, match=r"got shape \(1, 1, 28\)$"):  # the shape given, not squeezed
        preprocess_image(np.ones((1, 1, 28)))


@pytest.mark.parametrize("shape", [(1, 1), (1, 28)])
def test_a_one_pixel_array_is_too_small_not_the_wrong_rank(shape):
    with pytest.raises(ImageError, match=rf"{shape[1]}x1 pixels is too small"):
        preprocess_image(np.full(shape, 255.0))


def test_sparse_one_pixel_lines_are_found_and_widened():
    canvas = np.full((600, 600), 255, np.uint8)
    canvas[150:450, 300] = 0  # a 1-pixel "1" covering under 0.1% of the image
    result = preprocess_image(canvas).image
    assert _bbox(result > 0.3)[0] == 20  # fills the box's height
    assert 2 <= (result[14] > 0.3).sum() <= 5  # as wide as an MNIST stroke, not a hairline


def test_strokes_of_normal_width_are_not_widened():
    mask = np.zeros((100, 100), bool)
    mask[10:90, 45:60] = True  # 15 pixels wide, 80 tall
    cleaned = mask.astype(np.float32)
    assert preprocess.stroke_width(mask) == pytest.approx(15, rel=0.15)
    same_cleaned, same_mask = preprocess.match_stroke_width(cleaned, mask)
    assert same_mask is mask and same_cleaned is cleaned


@pytest.mark.parametrize("blur", [0, 1, 3])
def test_random_noise_is_never_a_confident_digit(tiny_model, blur):
    from helpers.predict import predict_image, threshold_of

    noise = np.random.default_rng(blur).integers(0, 256, (200, 200)).astype(np.float32)
    noise = ndimage.gaussian_filter(noise, blur) if blur else noise
    answer = predict_image(tiny_model, np.clip(noise, 0, 255).astype(np.uint8))
    assert answer.flagged
    if blur == 0:  # pixel noise is texture, not strokes
        assert not answer.ok
    if answer.ok:  # something stroke-like was found: the model must at least be unsure
        assert answer.flagged and answer.probability < threshold_of(tiny_model)
    else:
        assert re.search(r"no digit found \(no strokes stand out: .*noise", answer.error)


def test_truncated_jpeg(tmp_path, renderings):
    buffer = io.BytesIO()
    renderings["blue ink"].save(buffer, format="JPEG", quality=90)
    data = buffer.getvalue()
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) // 2])
    assert "damaged or truncated" in _error_for(tmp_path / "cut.jpg")


def test_decompression_bomb_is_refused_before_decoding(tmp_path):
    # 9000x9000 blank pixels compress to a small file but would decode to 81 MB.
    Image.new("1", (9000, 9000), 0).save(tmp_path / "bomb.png", optimize=True)
    assert (tmp_path / "bomb.png").stat().st_size < 200_000
    assert "9000x9000 pixels is over the 50,000,000-pixel limit" in _error_for(tmp_path / "bomb.png")


def test_exif_orientation_is_applied(tmp_path, digit):
    upright = Image.fromarray(255 - np.asarray(Image.fromarray(digit).resize((140, 140))))
    # Stored rotated by 90 degrees, with an EXIF tag saying "rotate to display" (6 = 90 cw).
    exif = Image.Exif()
    exif[0x0112] = 6
    upright.rotate(90, expand=True).save(tmp_path / "phone.jpg", exif=exif, quality=95)
    assert _corr(preprocess_image(tmp_path / "phone.jpg").image, preprocess_image(upright).image) > 0.95


# --- ink at the edges: part of the digit; border lines: not ---------------------------------------


def _paper_with(digit, rng, draw):
    """A blue-ink photo of `digit` with something more drawn on it by `draw(array)` (dark = 0)."""
    photo = np.asarray(render_on_paper(digit, rng, size=320, ink="black", fraction=(0.5, 0.5))).copy()
    draw(photo)
    return photo


@pytest.mark.parametrize(
    "clutter",
    ["ruled line at the top", "scanner frame", "desk beside the paper", "shadowed paper edge"],
)
def test_border_clutter_is_not_taken_for_ink(digit, clutter):
    def draw(photo):
        if clutter == "ruled line at the top":
            photo[18:21] = (60, 60, 140)
        elif clutter == "scanner frame":
            photo[:4], photo[-4:], photo[:, :4], photo[:, -4:] = 0, 0, 0, 0
        elif clutter == "desk beside the paper":
            photo[:, :50] = (70, 55, 40)
        else:
            photo[:, -12:] = (90, 90, 90)

    clean = preprocess_image(_paper_with(digit, np.random.default_rng(1), lambda photo: None))
    cluttered = preprocess_image(_paper_with(digit, np.random.default_rng(1), draw))
    # The same digit, cut out of the same place, up to a pixel of rounding.
    assert np.abs(np.subtract(cluttered.steps["cropped"].shape, clean.steps["cropped"].shape)).max() <= 3
    assert _best_shifted_corr(cluttered.image, clean.image) > 0.95


def test_a_digit_that_fills_its_image_is_kept_whole():
    # A thick 1 that fills a 32x32 binary image, top to bottom and side to side.
    image = np.zeros((32, 32), np.uint8)
    for row in range(32):
        image[row, max(0, 20 - row // 2) : 32 - row // 3] = 255
    ink = preprocess_image(image).image > 0.3
    assert _bbox(ink)[0] == 20  # the whole height
    assert (ndimage.binary_fill_holes(ink) == ink).all()  # solid: no paper inside the stroke


def test_thick_solid_strokes_stay_solid():
    # A 0 drawn with a marker as wide as a quarter of the image: no hollow strokes.
    yy, xx = np.mgrid[:64, :64]
    radius = np.hypot((yy - 32) / 30, (xx - 32) / 22)
    ring = (radius > 0.55) & (radius <= 1.0)
    cleaned = preprocess_image(np.where(ring, 0, 255).astype(np.uint8)).steps["cleaned"]
    big = np.asarray(Image.fromarray(ring).resize(cleaned.shape[::-1], Image.Resampling.NEAREST))
    inner = ndimage.binary_erosion(big, iterations=3)
    assert (cleaned[inner] > 0.5).mean() > 0.99  # every pixel inside the stroke is ink


def test_a_scan_stretched_to_its_box_is_narrowed_and_a_framed_one_is_not():
    # Semeion's scans fill their 16x16 box: the stretch lost their proportions, so they get
    # FILLED_ASPECT's. The same scans with paper around them keep their own (about square).
    from helpers.data import load_semeion

    scans = [s for s in load_semeion().sources[:60] if preprocess.fills_its_frame(s > 0)]
    assert len(scans) >= 50
    for scan in scans:
        h, w = preprocess_image(scan).steps["cropped"].shape
        assert w <= preprocess.FILLED_ASPECT * h + 1
    framed = [preprocess_image(np.pad(scan, 4)).steps["cropped"].shape for scan in scans]
    assert np.median([w / h for h, w in framed]) > preprocess.FILLED_ASPECT + 0.15


# --- the fast path: small images on flat paper, binary, greyscale or anti-aliased ----------------

SMALL_KINDS = {
    "greyscale 16x16 crops": 200,
    "greyscale scans, 16-64 px": 100,
    "binary scans, 16-32 px": 100,
    "anti-aliased pen drawings, 16-64 px": 100,
}
"""Small images users make of a digit, and how many MNIST test digits each is checked on."""


def _small_image(kind: str, digit: np.ndarray, side: int, rng: np.random.Generator) -> np.ndarray:
    """`digit` as a small image of `kind` (`SMALL_KINDS`), about `side` pixels square."""
    from benchmarks.cli import grey_scan
    from helpers.samples import render_bitmap, render_pad_drawing

    if kind == "greyscale 16x16 crops":
        return grey_scan(digit)
    if kind == "greyscale scans, 16-64 px":
        return grey_scan(digit, side)
    if kind == "binary scans, 16-32 px":
        return np.asarray(render_bitmap(digit, side // 2 + 8, ink_dark=bool(side % 2)))
    drawing = render_pad_drawing(digit, rng, size=128, pen=8)  # the pad's 280 and 18, at under half the cost
    return np.asarray(drawing.resize((side, side), Image.Resampling.LANCZOS))


def _takes_fast_path(source: np.ndarray) -> bool:
    grey = preprocess._array_to_grey(source, "<ndarray>")
    return max(grey.shape) <= preprocess.FAST_SIDE and preprocess.has_flat_paper(
        preprocess.make_ink_bright(grey)
    )


@pytest.fixture(scope="module")
def small_images(mnist, shipped_model):
    """Per kind of `SMALL_KINDS`: the images, their labels, and the answers of the shipped model
    (its LiteRT copy) on their 28x28 by the fast path and by the long way, with the 28x28s."""
    from helpers.predict import load_model, predict_probabilities

    lite = load_model(shipped_model.with_suffix(".tflite"))
    kinds = {}
    for kind, count in SMALL_KINDS.items():
        rng = np.random.default_rng(0)
        picks = rng.choice(len(mnist.y_test), count, replace=False)
        sides = rng.integers(16, 65, size=count)
        sources = [
            _small_image(kind, mnist.x_test[i], side, rng) for i, side in zip(picks, sides, strict=True)
        ]
        fast = np.stack([preprocess_image(s).image for s in sources])
        slow = np.stack([preprocess_image(s, fast=False).image for s in sources])
        read = {
            way: predict_probabilities(lite, images).argmax(1)
            for way, images in (("fast", fast), ("slow", slow))
        }
        kinds[kind] = {
            "sources": sources,
            "labels": mnist.y_test[picks],
            "fast": fast,
            "slow": slow,
            "read": read,
        }
    return kinds


@pytest.mark.slow  # 500 small images, each read both ways
@pytest.mark.parametrize("kind", SMALL_KINDS)
def test_the_fast_path_serves_small_greyscale_and_anti_aliased_scans_as_the_long_way_does(small_images, kind):
    """The grey rim of anti-aliased strokes is ink fading out, not lighting: such scans take the
    fast path, and its 28x28 stays within the tolerances tests/test_litert.py sets on binary scans."""
    images = small_images[kind]
    assert all(_takes_fast_path(s) for s in images["sources"])
    difference = np.abs(images["fast"] - images["slow"]).reshape(len(images["fast"]), -1).mean(axis=1)
    assert difference.mean() < 0.035 and np.percentile(difference, 99) < 0.12
    assert (images["read"]["fast"] == images["read"]["slow"]).mean() >= 0.975


@pytest.mark.slow
def test_the_fast_path_reads_small_images_as_often_right_as_the_long_way(small_images):
    """Within tests/test_litert.py's tolerance, over the 500 images of all kinds at once: on one
    kind's 100, a single unsure digit read the other way would already be more than it allows."""
    labels = np.concatenate([images["labels"] for images in small_images.values()])
    right = {
        way: (np.concatenate([images["read"][way] for images in small_images.values()]) == labels).mean()
        for way in ("fast", "slow")
    }
    assert right["fast"] >= right["slow"] - 0.003


def test_small_photos_with_uneven_light_still_have_it_removed(mnist):
    """Light falls across the whole paper, near the ink or not: a small photo takes the long way."""
    from helpers.samples import render_on_paper

    rng = np.random.default_rng(0)
    photos = []
    for digit, side in zip(mnist.x_test[:30], [32, 48, 64] * 10, strict=True):
        photos.append(np.asarray(render_on_paper(digit, rng, size=side)))
        large = render_on_paper(digit, rng, size=320, ink="black")
        photos.append(np.asarray(large.resize((side, side), Image.Resampling.BILINEAR)))
    assert not any(_takes_fast_path(photo) for photo in photos)


def test_a_small_scan_on_grey_paper_reads_as_on_white(digit):
    """The fast path takes the paper's level away, as the long way's background removal does."""
    from benchmarks.cli import grey_scan

    white = grey_scan(digit)
    grey = (white * 0.75).astype(np.uint8)  # paper at 191 of 255
    assert _takes_fast_path(grey)
    assert np.abs(preprocess_image(grey).image - preprocess_image(white).image).max() < 0.05
