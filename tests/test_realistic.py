"""The preprocessing earns its place: the shipped model on 960 renderings of MNIST test digits the
ways users' images differ from MNIST, through our preprocessing and the naive resize-only pipeline."""

import io

import numpy as np
import pytest
from PIL import Image

from helpers.evaluate import compare_pipelines
from helpers.predict import load_model
from helpers.preprocess import stroke_width
from helpers.samples import REALISTIC_KINDS, make_realistic_set

pytestmark = pytest.mark.slow  # 960 renderings made, then read twice

PER_KIND = 60
MIN_ACCURACY = 0.97
MIN_KIND_ACCURACY = 0.95
KIND_FLOORS = {"thick marker": 0.90}
"""Kinds below the 95% goal, held at what they reach (see docs/preprocessing.md: a marker 2-3 times MNIST's
stroke fills the loops of a 3, 6 or 8)."""
MIN_GAIN_OVER_NAIVE = 0.30


@pytest.fixture(scope="module")
def renderings(mnist):
    return make_realistic_set(mnist.x_test, mnist.y_test, per_kind=PER_KIND, seed=0)


@pytest.fixture(scope="module")
def scores(renderings, shipped_model):
    return compare_pipelines(load_model(shipped_model), renderings)


def test_set_has_every_kind_and_only_test_digits(renderings, mnist):
    assert len(renderings) == PER_KIND * len(REALISTIC_KINDS) >= 960
    assert [r.kind for r in renderings[::PER_KIND]] == list(REALISTIC_KINDS)
    assert all(r.label == mnist.y_test[r.index] for r in renderings)
    assert len({r.index for r in renderings}) > 0.9 * len(renderings)  # few repeats


def test_set_is_fixed_by_its_seed(mnist, renderings):
    again = make_realistic_set(mnist.x_test[:2000], mnist.y_test[:2000], per_kind=2, seed=0)
    assert again == make_realistic_set(mnist.x_test[:2000], mnist.y_test[:2000], per_kind=2, seed=0)
    assert again != make_realistic_set(mnist.x_test[:2000], mnist.y_test[:2000], per_kind=2, seed=1)


def test_renderings_look_like_their_kind(renderings):
    by_kind = {r.kind: Image.open(io.BytesIO(r.data)) for r in renderings}
    assert by_kind["blue ink photo"].format == "JPEG" and by_kind["blue ink photo"].mode == "RGB"
    canvas = by_kind["transparent canvas"]
    assert canvas.format == "PNG" and canvas.mode == "RGBA"
    assert np.asarray(canvas)[..., 3].min() == 0  # really transparent around the strokes
    assert by_kind["small on a big photo"].size == (1200, 1200)
    pen = np.asarray(by_kind["1-pixel pen lines"].convert("L")) < 128
    assert pen.mean() < 0.01 and stroke_width(pen) <= 2.2
    pad = np.asarray(by_kind["drawing pad, edge to edge"]) < 128
    assert pad.shape == (280, 280) and _edges_touched(pad) >= 2
    for side in (16, 32):
        scan = np.asarray(by_kind[f"{side}x{side} binary scan"])
        assert scan.shape == (side, side) and set(np.unique(scan)) == {0, 255}
    tight = np.asarray(by_kind["tight crop"].convert("L")) < 128
    assert _edges_touched(tight, within=3) == 4  # cropped to the ink, with at most 2 pixels to spare
    cut = np.asarray(by_kind["runs off the photo"].convert("L")) < 128
    assert _edges_touched(cut) >= 1


def _edges_touched(ink, within=1):
    """On how many of the image's four edges `ink` comes within `within` pixels."""
    return sum(bool(edge.any()) for edge in (ink[:within], ink[-within:], ink[:, :within], ink[:, -within:]))


def test_our_preprocessing_reaches_the_goal(scores):
    assert scores["count"] == PER_KIND * len(REALISTIC_KINDS)
    assert scores["ours"]["accuracy"] >= MIN_ACCURACY, scores["ours"]["by_kind"]


def test_every_kind_is_handled(scores):
    weak = {k: a for k, a in scores["ours"]["by_kind"].items() if a < KIND_FLOORS.get(k, MIN_KIND_ACCURACY)}
    assert not weak, weak


def test_no_visible_digit_is_refused(scores):
    assert scores["ours"]["table"]["all"]["no_digit"] == 0


def test_naive_pipeline_is_clearly_worse(scores):
    assert scores["naive"]["accuracy"] <= scores["ours"]["accuracy"] - MIN_GAIN_OVER_NAIVE
    # Dark ink on light paper fools it: it resizes the paper, not the digit.
    assert scores["naive"]["by_kind"]["black ink photo"] < 0.5
