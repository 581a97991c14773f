"""Tests of helpers.corrupt: the 15 MNIST-C-style corruptions change real digits visibly yet keep them."""

import numpy as np
import pytest
from scipy import ndimage

from helpers import corrupt as corruptions
from helpers.corrupt import CORRUPTIONS, corrupt, describe

COUNT = 200  # the first MNIST test digits
DETERMINISTIC = {"brightness", "scale", "canny_edges"}
"""Kinds with no randomness: the seed does not change them."""
GEOMETRIC = {"shear", "scale", "rotate", "translate"}
MIN_CHANGE = {
    "shot_noise": 1.5,
    "impulse_noise": 5,
    "glass_blur": 10,
    "motion_blur": 10,
    "shear": 10,
    "scale": 15,
    "rotate": 15,
    "brightness": 60,
    "translate": 20,
    "stripe": 15,
    "fog": 40,
    "spatter": 4,
    "dotted_line": 3,
    "zigzag": 6,
    "canny_edges": 20,
}
"""Smallest mean absolute pixel change (0-255) of each kind over the test digits."""


@pytest.fixture(scope="module")
def digits(mnist):
    return mnist.x_test[:COUNT]


@pytest.fixture(scope="module")
def labels(mnist):
    return mnist.y_test[:COUNT]


@pytest.fixture(scope="module")
def corrupted(digits):
    return {kind: corrupt(digits, kind, seed=0) for kind in CORRUPTIONS}


def _f(images):
    return images.astype(np.float64)


def _ink(images):
    return _f(images).sum(axis=(1, 2))


def _unit(images):
    """Each image as a zero-mean, unit-length vector (so dot products are correlations)."""
    flat = _f(images).reshape(len(images), -1)
    flat -= flat.mean(axis=1, keepdims=True)
    return flat / np.linalg.norm(flat, axis=1, keepdims=True)


def _variation(images):
    """Mean absolute difference between neighbouring pixels (high for sharp or speckled images)."""
    return np.abs(np.diff(_f(images), axis=1)).mean() + np.abs(np.diff(_f(images), axis=2)).mean()


def _centre_of_mass(images):
    grid = np.arange(28.0)
    mass = _ink(images)
    rows = (_f(images).sum(axis=2) * grid).sum(axis=1) / mass
    cols = (_f(images).sum(axis=1) * grid).sum(axis=1) / mass
    return np.stack([rows, cols], -1)


def _row_centres(image, rows):
    """Ink centre (column) of each of the given rows of one image."""
    return (image[rows] * np.arange(28)).sum(axis=1) / image[rows].sum(axis=1)


def _orientation(image):
    """Angle in degrees (0-180) of the image's principal axis of ink."""
    weights = _f(image)
    rows, cols = np.indices(image.shape)
    mass = weights.sum()
    r0, c0 = (weights * rows).sum() / mass, (weights * cols).sum() / mass
    mu20 = (weights * (rows - r0) ** 2).sum()
    mu02 = (weights * (cols - c0) ** 2).sum()
    mu11 = (weights * (rows - r0) * (cols - c0)).sum()
    return np.degrees(0.5 * np.arctan2(2 * mu11, mu02 - mu20)) % 180


def _shifted(image, dr, dc):
    out = np.zeros_like(image)
    src = image[max(0, -dr) : 28 - max(0, dr), max(0, -dc) : 28 - max(0, dc)]
    out[max(0, dr) : max(0, dr) + src.shape[0], max(0, dc) : max(0, dc) + src.shape[1]] = src
    return out


def test_the_fifteen_kinds_in_the_papers_order():
    assert CORRUPTIONS == (
        "shot_noise", "impulse_noise", "glass_blur", "motion_blur", "shear", "scale", "rotate",
        "brightness", "translate", "stripe", "fog", "spatter", "dotted_line", "zigzag", "canny_edges",
    )  # fmt: skip
    assert set(MIN_CHANGE) == set(CORRUPTIONS)


@pytest.mark.parametrize("kind", CORRUPTIONS)
def test_shape_dtype_and_a_visible_change(kind, digits, corrupted):
    out = corrupted[kind]
    assert out.shape == digits.shape and out.dtype == np.uint8
    change = np.abs(_f(out) - _f(digits)).mean()
    assert change > MIN_CHANGE[kind], f"{kind} changes the digits by only {change:.1f} grey levels"
    assert np.mean([not np.array_equal(a, b) for a, b in zip(out, digits, strict=True)]) > 0.95


@pytest.mark.parametrize("kind", CORRUPTIONS)
def test_same_seed_same_output_and_other_seeds_differ_for_random_kinds(kind, digits, corrupted):
    assert np.array_equal(corrupt(digits, kind, seed=0), corrupted[kind])
    other = corrupt(digits, kind, seed=1)
    if kind in DETERMINISTIC:
        assert np.array_equal(other, corrupted[kind])
    else:
        assert not np.array_equal(other, corrupted[kind])


def test_an_image_is_corrupted_the_same_in_any_batch_position_only_for_deterministic_kinds(digits):
    for kind in DETERMINISTIC:
        assert np.array_equal(corrupt(digits[5:10], kind), corrupt(digits, kind)[5:10])


@pytest.mark.parametrize("kind", sorted(set(CORRUPTIONS) - GEOMETRIC - {"canny_edges"}))
def test_the_digit_still_looks_most_like_itself(kind, digits, labels, corrupted):
    """A corrupted digit correlates better with its clean self than with clean digits of other classes."""
    similarity = _unit(corrupted[kind]) @ _unit(digits).T  # Pearson correlations, corrupted x clean
    own = np.diag(similarity)
    foreign = np.array([similarity[i, labels != label].mean() for i, label in enumerate(labels)])
    assert np.mean(own > foreign) > 0.97
    assert np.median(own) > 0.4


def test_unknown_kind_raises_naming_the_valid_kinds(digits):
    with pytest.raises(ValueError, match=r"valid kinds are: shot_noise, .*, canny_edges"):
        corrupt(digits, "snow")
    with pytest.raises(ValueError, match="valid kinds"):
        describe("snow")


def test_bad_images_raise_and_an_empty_batch_is_fine(digits):
    with pytest.raises(ValueError, match=r"uint8 of shape \(N, 28, 28\)"):
        corrupt(digits[0], "rotate")
    with pytest.raises(ValueError, match="uint8"):
        corrupt(digits.astype(np.float32) / 255, "rotate")
    assert corrupt(digits[:0], "fog").shape == (0, 28, 28)


@pytest.mark.parametrize("kind", CORRUPTIONS)
def test_describe_is_one_sentence_with_the_severity(kind):
    text = describe(kind)
    assert text.endswith(".") and ". " not in text and len(text) > 30
    assert any(ch.isdigit() for ch in text)


def test_shot_noise_leaves_the_background_black_and_speckles_the_ink(digits, corrupted):
    out = corrupted["shot_noise"]
    assert np.all(out[digits == 0] == 0)
    solid = digits >= 250
    assert np.mean(out[solid] != digits[solid]) > 0.5


def test_impulse_noise_sets_about_the_chosen_fraction_to_black_or_white(digits, corrupted):
    out = corrupted["impulse_noise"]
    changed = out != digits
    assert set(np.unique(out[changed])) <= {0, 255}
    salt_on_background = np.mean(out[digits == 0] == 255)
    assert abs(salt_on_background - corruptions.IMPULSE_NOISE_AMOUNT / 2) < 0.01


@pytest.mark.parametrize("kind", ["glass_blur", "motion_blur", "shear", "rotate", "translate"])
def test_blurs_and_moves_keep_the_ink(kind, digits, corrupted):
    ratio = _ink(corrupted[kind]) / _ink(digits)
    assert np.median(ratio) == pytest.approx(1, abs=0.03)
    assert np.all((ratio > 0.7) & (ratio < 1.15)), f"{kind}: ink ratios {ratio.min():.2f}-{ratio.max():.2f}"


@pytest.mark.parametrize("kind", ["glass_blur", "motion_blur"])
def test_blurs_soften_the_strokes(kind, digits, corrupted):
    solid_before = np.mean(digits >= 250)
    solid_after = np.mean(corrupted[kind] >= 250)
    assert solid_after < 0.5 * solid_before
    assert _variation(corrupted[kind]) < 0.9 * _variation(digits)  # smooth, not speckled


def test_rotate_turns_the_principal_axis_by_the_chosen_angle(mnist):
    ones = mnist.x_test[mnist.y_test == 1][:30]
    turned = corrupt(ones, "rotate")
    low, high = corruptions.ROTATE_RANGE
    for before, after in zip(ones, turned, strict=True):
        diff = abs(_orientation(after) - _orientation(before)) % 180
        diff = min(diff, 180 - diff)
        assert low - 4 < diff < high + 4


def test_shear_shifts_each_row_in_proportion_to_its_height(digits, corrupted):
    low, high = corruptions.SHEAR_RANGE
    slopes = []
    for before, after in zip(_f(digits), _f(corrupted["shear"]), strict=True):
        rows = np.flatnonzero((before.sum(axis=1) > 200) & (after.sum(axis=1) > 200))
        shift = _row_centres(after, rows) - _row_centres(before, rows)
        slopes.append(np.polyfit(rows - corruptions.CENTRE, shift, 1)[0])
    assert 0.3 < np.mean(np.greater(slopes, 0)) < 0.7  # both directions, about equally often
    slopes = np.abs(slopes)
    assert np.median(slopes) == pytest.approx((low + high) / 2, abs=0.07)
    assert np.mean((slopes > low - 0.15) & (slopes < high + 0.15)) > 0.9


def test_scale_shrinks_the_digit_about_the_centre(digits, corrupted):
    factor = corruptions.SCALE_FACTOR
    out = corrupted["scale"]
    assert np.median(_ink(out) / _ink(digits)) == pytest.approx(factor**2, abs=0.05)
    height = lambda images: ((images > 64).any(axis=2)).sum(axis=1)  # noqa: E731
    assert np.median(height(out) / height(digits)) == pytest.approx(factor, abs=0.08)
    expected = corruptions.CENTRE + factor * (_centre_of_mass(digits) - corruptions.CENTRE)
    assert np.abs(_centre_of_mass(out) - expected).max() < 0.6


def test_translate_moves_the_whole_digit_by_whole_pixels(digits, corrupted):
    out = corrupted["translate"]
    moved = np.linalg.norm(_centre_of_mass(out) - _centre_of_mass(digits), axis=1)
    assert moved.min() > 1.5 and moved.max() < corruptions.TRANSLATE_PIXELS + 1.5
    assert np.median(moved) > 4
    for before, after in zip(digits[:40], out[:40], strict=True):
        shifts = [(dr, dc) for dr in range(-7, 8) for dc in range(-7, 8)]
        assert any(np.array_equal(_shifted(before, dr, dc), after) for dr, dc in shifts)


def test_brightness_turns_the_background_grey_and_keeps_the_ink_brightest(digits, corrupted):
    out = _f(corrupted["brightness"])
    shift = 255 * corruptions.BRIGHTNESS_SHIFT
    assert out[digits == 0].mean() == pytest.approx(shift, abs=1)
    assert np.abs(out - np.minimum(_f(digits) + shift, 255)).max() <= 1
    assert np.all(out[digits == 255] == 255)


def test_stripe_inverts_one_vertical_band_and_nothing_else(digits, corrupted):
    for before, after in zip(_f(digits), _f(corrupted["stripe"]), strict=True):
        inverted = np.flatnonzero(np.all(after == 255 - before, axis=0))
        untouched = np.flatnonzero(np.all(after == before, axis=0))
        assert len(inverted) == corruptions.STRIPE_WIDTH
        assert np.all(np.diff(inverted) == 1)
        assert corruptions.STRIPE_COLUMNS[0] <= inverted[0] <= corruptions.STRIPE_COLUMNS[1]
        assert len(untouched) == 28 - corruptions.STRIPE_WIDTH


def test_fog_clouds_the_background_unevenly_but_the_ink_stays_brighter(digits, corrupted):
    out = _f(corrupted["fog"])
    background = digits == 0
    assert out[background].mean() > 40
    spread = [image[mask].std() for image, mask in zip(out, background, strict=True)]
    assert np.median(spread) > 10  # patchy, not a flat grey
    ink = digits >= 200
    contrast = [a[i].mean() - a[b].mean() for a, i, b in zip(out, ink, background, strict=True)]
    assert min(contrast) > 30 and np.median(contrast) > 80


@pytest.mark.parametrize("kind", ["spatter", "dotted_line", "zigzag"])
def test_drawn_corruptions_add_white_ink_off_the_digit_and_keep_the_digit(kind, digits, corrupted):
    out = corrupted[kind]
    assert np.all(out >= digits)
    added = (out != digits) & (digits == 0)
    assert np.all(out[out != digits] == 255)
    count = added.sum(axis=(1, 2))
    assert np.mean(count > 0) > 0.98  # blobs or lines can, rarely, fall wholly on the digit
    assert count.mean() > 12


def test_dotted_line_is_dots_along_a_straight_line(digits, corrupted):
    eight = np.ones((3, 3), bool)
    for before, after in zip(digits, corrupted["dotted_line"], strict=True):
        added = np.argwhere(after != before).astype(float)
        if len(added) < 6:
            continue
        _, count = ndimage.label(after != before, structure=eight)
        assert count >= 3  # separate dots, not one stroke
        centred = added - added.mean(axis=0)
        spread = np.linalg.svd(centred, compute_uv=False)
        assert spread[1] / spread[0] < 0.15  # all on one line


def test_zigzag_is_one_bent_line(digits, corrupted):
    ratios = []
    for before, after in zip(digits, corrupted["zigzag"], strict=True):
        added = np.argwhere(after != before).astype(float)
        spread = np.linalg.svd(added - added.mean(axis=0), compute_uv=False)
        ratios.append(spread[1] / spread[0])
    assert np.median(ratios) > 0.2  # not straight


def test_spatter_covers_about_the_chosen_fraction(digits, corrupted):
    white = np.mean(corrupted["spatter"] == 255, axis=(1, 2)) - np.mean(digits == 255, axis=(1, 2))
    assert np.median(white) == pytest.approx(corruptions.SPATTER_COVERAGE, abs=0.015)


def test_canny_edges_outline_the_digit(digits, corrupted):
    out = corrupted["canny_edges"]
    assert set(np.unique(out)) == {0, 255}
    near, drawn, hollow = [], [], []
    for before, after in zip(digits, out, strict=True):
        ink = before > 127
        boundary = ink ^ ndimage.binary_erosion(ink)
        edges = after == 255
        to_boundary = ndimage.distance_transform_edt(~boundary)[edges]
        assert to_boundary.max() <= 4.5  # nothing far from the stroke's outline
        near.append(np.mean(to_boundary <= np.sqrt(5)))  # within 2 px (a knight's move)
        drawn.append(np.mean(ndimage.distance_transform_edt(~edges)[boundary] <= 1.5))
        deep = ndimage.binary_erosion(ink, iterations=2)
        hollow.append(1 - (edges & deep).sum() / max(deep.sum(), 1))
    assert min(near) > 0.9 and np.mean(near) > 0.995
    assert min(drawn) > 0.6  # most of the outline is drawn
    assert np.mean(hollow) > 0.99  # the inside of thick strokes is gone
