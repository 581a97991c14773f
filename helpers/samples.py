"""Make "user photo" images from MNIST test digits, for the inference notebook and tests.

Real users send photos of ink on paper, not 28x28 white-on-black arrays. These
renderings imitate that: a digit enlarged and written in dark ink on
off-white paper with uneven lighting and grain, sometimes off-centre or
tilted, or a drawing on a transparent canvas. Only test digits are used, so a
model never saw them in training.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image

INKS = {"black": (25, 25, 30), "blue": (20, 40, 150)}
SAMPLE_INDICES = (0, 1, 2, 3, 4, 8, 11, 18, 61, 7)
"""MNIST test-set indices rendered as the shipped samples (digits 7 2 1 0 4 5 6 3 8 9)."""


def render_on_paper(
    digit: np.ndarray,
    rng: np.random.Generator,
    *,
    size: int = 320,
    ink: str = "blue",
    rotate: float = 0.0,
    offset: tuple[float, float] = (0.0, 0.0),
) -> Image.Image:
    """Render a 28x28 digit as dark ink on lit, grainy paper (RGB)."""
    scale = size * rng.uniform(0.45, 0.7) / 28
    glyph = Image.fromarray(digit).resize((round(28 * scale),) * 2, Image.Resampling.BICUBIC)
    glyph = glyph.rotate(rotate, resample=Image.Resampling.BICUBIC, expand=True)
    coverage = np.zeros((size, size), dtype=np.float32)
    gh, gw = glyph.height, glyph.width
    top = int(np.clip((size - gh) / 2 + offset[0] * size, 0, size - gh))
    left = int(np.clip((size - gw) / 2 + offset[1] * size, 0, size - gw))
    coverage[top : top + gh, left : left + gw] = np.asarray(glyph, dtype=np.float32) / 255.0
    yy, xx = np.mgrid[0:size, 0:size] / size
    angle = rng.uniform(0, 2 * np.pi)
    light = 0.78 + 0.2 * (np.cos(angle) * xx + np.sin(angle) * yy) / 1.5
    paper = np.array([245, 238, 220], dtype=np.float32) * light[..., None]
    paper += rng.normal(0, 6, size=(size, size, 1))
    ink_rgb = np.array(INKS[ink], dtype=np.float32)
    rgb = paper * (1 - coverage[..., None]) + ink_rgb * coverage[..., None]
    return Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8), "RGB")


def render_on_canvas(digit: np.ndarray, size: int = 280) -> Image.Image:
    """Render a digit as dark strokes on a transparent canvas (RGBA), like a drawing app."""
    glyph = Image.fromarray(digit).resize((size, size), Image.Resampling.BICUBIC)
    alpha = np.asarray(glyph)
    rgba = np.zeros((size, size, 4), dtype=np.uint8)
    rgba[..., 3] = alpha
    return Image.fromarray(rgba, "RGBA")


def make_samples(
    x_test: np.ndarray, y_test: np.ndarray, folder: str | os.PathLike[str], seed: int = 7
) -> list[Path]:
    """Write the shipped sample images to `folder`; the file name starts with the true digit."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    written = []
    for n, index in enumerate(SAMPLE_INDICES):
        label = int(y_test[index])
        if n == len(SAMPLE_INDICES) - 1:
            image, name = render_on_canvas(x_test[index]), f"{label}_canvas.png"
        else:
            ink = "blue" if n % 2 else "black"
            offset = tuple(rng.uniform(-0.12, 0.12, size=2))
            image = render_on_paper(
                x_test[index], rng, ink=ink, rotate=float(rng.uniform(-8, 8)), offset=offset
            )
            name = f"{label}_{ink}_ink.jpg"
        path = folder / name
        image.save(path, quality=85) if path.suffix == ".jpg" else image.save(path, optimize=True)
        written.append(path)
    return written
