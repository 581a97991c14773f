"""helpers.samples and tools/make_samples.py: the shipped samples are remade reproducibly from MNIST."""

import numpy as np

from helpers.config import PROJECT_ROOT
from helpers.samples import SAMPLE_INDICES, render_on_canvas, render_on_paper
from tools.make_samples import make_samples


def test_make_samples_writes_ten_files_named_by_true_label(mnist, tmp_path):
    written = make_samples(mnist.x_test, mnist.y_test, tmp_path / "a")
    assert len(written) == 10
    assert all(p.is_file() for p in written)
    assert [int(p.name[0]) for p in written] == [int(mnist.y_test[i]) for i in SAMPLE_INDICES]
    assert [p.name[0] for p in written] == list("7210456389")


def test_make_samples_matches_the_shipped_file_names(mnist, tmp_path):
    written = make_samples(mnist.x_test, mnist.y_test, tmp_path)
    shipped = sorted(p.name for p in (PROJECT_ROOT / "data" / "samples").iterdir())
    assert sorted(p.name for p in written) == shipped


def test_same_seed_gives_identical_png_bytes(mnist, tmp_path):
    first = make_samples(mnist.x_test, mnist.y_test, tmp_path / "a", seed=7)
    second = make_samples(mnist.x_test, mnist.y_test, tmp_path / "b", seed=7)
    png_a, png_b = (next(p for p in files if p.suffix == ".png") for files in (first, second))
    assert png_a.name == png_b.name == "9_canvas.png"
    assert png_a.read_bytes() == png_b.read_bytes()
    jpgs = [
        (a.read_bytes(), b.read_bytes()) for a, b in zip(first, second, strict=True) if a.suffix == ".jpg"
    ]
    assert len(jpgs) == 9 and all(a == b for a, b in jpgs)


def test_render_on_paper_is_dark_ink_on_light_paper(mnist):
    image = render_on_paper(mnist.x_test[0], np.random.default_rng(1), ink="black")
    array = np.asarray(image)
    assert image.mode == "RGB" and image.size == (320, 320)
    assert array[:10].mean() > 150
    assert array.min() < 60


def test_render_on_canvas_is_transparent_except_the_strokes(mnist):
    image = render_on_canvas(mnist.x_test[0], size=56)
    alpha = np.asarray(image)[..., 3]
    assert image.mode == "RGBA" and image.size == (56, 56)
    assert alpha[0, 0] == 0
    assert alpha.max() >= 250
    assert np.asarray(image)[..., :3].max() == 0


def test_render_on_paper_honours_the_ink_colour(mnist):
    digit = mnist.x_test[0]
    blue = np.asarray(render_on_paper(digit, np.random.default_rng(1), ink="blue"), dtype=int)
    darkest = np.unravel_index(blue.sum(axis=2).argmin(), blue.shape[:2])
    red, _, b = blue[darkest]
    assert b > red + 60
