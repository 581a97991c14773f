"""Make "user photo" images from MNIST test digits, for the inference notebook and tests.

Real users send photos of ink on paper, not 28x28 white-on-black arrays. These
renderings imitate that: a digit enlarged and written in dark ink on
off-white paper with uneven lighting and grain, sometimes off-centre or
tilted, or a drawing on a transparent canvas. Only test digits are used, so a
model never saw them in training.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw
from scipy import ndimage

INKS = {"black": (25, 25, 30), "blue": (20, 40, 150)}
PAD_SIZE = 280
PAD_PEN = 18
"""The drawing pad's side and pen width, in pixels (`helpers.widgets.DrawingPad`)."""
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
    fraction: tuple[float, float] = (0.45, 0.7),
    stroke: float = 0.0,
) -> Image.Image:
    """Render a 28x28 digit as dark ink on lit, grainy paper (RGB).

    The digit's box takes a random share `fraction` of the side, moved from the
    centre by `offset` (a share of the side) but kept on the paper. `stroke` > 0
    thickens the pen by that many MNIST pixels, < 0 thins it.
    """
    return ink_on_paper(place_glyph(digit, rng, size, rotate, offset, fraction, stroke), rng, ink)


def place_glyph(
    digit: np.ndarray,
    rng: np.random.Generator,
    size: int,
    rotate: float = 0.0,
    offset: tuple[float, float] = (0.0, 0.0),
    fraction: tuple[float, float] = (0.45, 0.7),
    stroke: float = 0.0,
) -> np.ndarray:
    """The share of each pixel (0-1) of a `size` square that ink covers, placed as `render_on_paper` says."""
    scale = size * rng.uniform(*fraction) / 28
    glyph = Image.fromarray(change_stroke(digit, stroke)).resize(
        (round(28 * scale),) * 2, Image.Resampling.BICUBIC
    )
    glyph = glyph.rotate(rotate, resample=Image.Resampling.BICUBIC, expand=True)
    coverage = np.zeros((size, size), dtype=np.float32)
    gh, gw = glyph.height, glyph.width
    top = int(np.clip((size - gh) / 2 + offset[0] * size, 0, size - gh))
    left = int(np.clip((size - gw) / 2 + offset[1] * size, 0, size - gw))
    coverage[top : top + gh, left : left + gw] = np.asarray(glyph, dtype=np.float32) / 255.0
    return coverage


def ink_on_paper(coverage: np.ndarray, rng: np.random.Generator, ink: str = "blue") -> Image.Image:
    """Ink of colour `ink` where `coverage` says, on off-white paper lit from a random side, with grain."""
    h, w = coverage.shape
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    angle = rng.uniform(0, 2 * np.pi)
    light = 0.78 + 0.2 * (np.cos(angle) * xx + np.sin(angle) * yy) / 1.5
    paper = np.array([245, 238, 220], dtype=np.float32) * light[..., None]
    paper += rng.normal(0, 6, size=(h, w, 1))
    ink_rgb = np.array(INKS[ink], dtype=np.float32)
    rgb = paper * (1 - coverage[..., None]) + ink_rgb * coverage[..., None]
    return Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8), "RGB")


def change_stroke(digit: np.ndarray, pixels: float) -> np.ndarray:
    """Thicken (pixels > 0) or thin (pixels < 0) a 28x28 digit's strokes by `pixels` MNIST pixels, at 4x."""
    if pixels == 0:
        return digit
    big = np.asarray(Image.fromarray(digit).resize((112, 112), Image.Resampling.BICUBIC))
    grow = ndimage.grey_dilation if pixels > 0 else ndimage.grey_erosion
    big = grow(big, footprint=_disc(round(4 * abs(pixels))))
    return np.asarray(Image.fromarray(big).resize((28, 28), Image.Resampling.BOX))


def render_pen_lines(digit: np.ndarray, size: int = 560) -> Image.Image:
    """Render a digit as 1-pixel black lines on a large white canvas (a thin pen in a drawing app)."""
    canvas = np.full((size, size), 255, dtype=np.uint8)
    top = size // 4
    canvas[top : top + size // 2, top : top + size // 2][centre_lines(digit, size // 2)] = 0
    return Image.fromarray(canvas, "L").convert("RGB")


def centre_lines(digit: np.ndarray, size: int) -> np.ndarray:
    """The centre lines of a digit's strokes, one pixel wide and unbroken, as a `size` x `size` mask."""
    big = np.asarray(Image.fromarray(digit).resize((size, size), Image.Resampling.BICUBIC))
    return thin(big > 96)


def thin(mask: np.ndarray) -> np.ndarray:
    """Peel a binary shape down to its 1-pixel skeleton without breaking it (Zhang and Suen, 1984)."""
    image = np.pad(mask, 1).astype(bool)
    while True:
        changed = False
        for step in (0, 1):
            # The 8 neighbours, clockwise from the one above: P2 ... P9.
            p = [np.roll(image, shift, axis=(0, 1)) for shift in _NEIGHBOURS]
            count = np.sum(p, axis=0)
            rises = sum((~p[i] & p[(i + 1) % 8]).astype(int) for i in range(8))
            if step == 0:
                edge = ~(p[0] & p[2] & p[4]) & ~(p[2] & p[4] & p[6])
            else:
                edge = ~(p[0] & p[2] & p[6]) & ~(p[0] & p[4] & p[6])
            peel = image & (count >= 2) & (count <= 6) & (rises == 1) & edge
            if peel.any():
                image &= ~peel
                changed = True
        if not changed:
            return image[1:-1, 1:-1]


_NEIGHBOURS = [(1, 0), (1, -1), (0, -1), (-1, -1), (-1, 0), (-1, 1), (0, 1), (1, 1)]
"""np.roll shifts that bring each pixel's neighbours N, NE, E, SE, S, SW, W, NW onto it."""


def render_pad_drawing(
    digit: np.ndarray, rng: np.random.Generator, size: int = PAD_SIZE, pen: int = PAD_PEN
) -> Image.Image:
    """Draw a digit edge to edge on a white `size` canvas with a pen `pen` pixels wide, as on the drawing pad.

    The digit is enlarged (aspect kept) until its longer side runs from one edge
    of the pad to the other, or a little past them, and its strokes are drawn
    again along their centres with the pen.
    """
    rows, cols = np.flatnonzero(digit.max(axis=1) > 96), np.flatnonzero(digit.max(axis=0) > 96)
    crop = digit[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    scale = size * rng.uniform(1.0, 1.1) / max(crop.shape)
    h, w = (max(1, round(d * scale)) for d in crop.shape)
    mask = np.asarray(Image.fromarray(crop).resize((w, h), Image.Resampling.BICUBIC)) > 96
    drawn = ndimage.binary_dilation(np.pad(thin(mask), pen), structure=_disc(pen))
    ink = np.zeros((size, size), dtype=bool)
    top, left = ((size - d) * rng.uniform(0, 1) if d < size else (size - d) / 2 for d in (h, w))
    paste(ink, drawn, int(top) - pen, int(left) - pen)
    return Image.fromarray(np.where(ink, 0, 255).astype(np.uint8), "L")


def draw_pen_stroke(paper: Image.Image, points: list[tuple[float, float]], pen: int = PAD_PEN) -> None:
    """Draw one stroke through `points` in black on `paper` with a round pen, as the drawing pad does."""
    points = [(float(x), float(y)) for x, y in points] * (2 if len(points) == 1 else 1)
    draw = ImageDraw.Draw(paper)
    draw.line(points, fill=0, width=pen, joint="curve")
    r = pen / 2
    for x, y in (points[0], points[-1]):  # round pen ends
        draw.ellipse((x - r, y - r, x + r, y + r), fill=0)


def _arc(
    cx: float, cy: float, rx: float, ry: float, start: float, stop: float, n: int = 24
) -> list[tuple[float, float]]:
    """Points on an ellipse from angle `start` to `stop` (degrees, 0 = right, counter-clockwise on screen)."""
    angles = np.radians(np.linspace(start, stop, n))
    return [(cx + rx * np.cos(a), cy - ry * np.sin(a)) for a in angles]


PAD_DIGIT_STROKES: dict[int, list[list[tuple[float, float]]]] = {
    0: [_arc(140, 140, 65, 95, 90, 450, 40)],
    1: [[(112, 80), (150, 42), (142, 240)]],
    2: [[*_arc(140, 100, 58, 52, 160, -30, 16), (82, 236), (212, 236)]],
    3: [[*_arc(138, 90, 55, 45, 150, -90, 18), *_arc(138, 182, 62, 50, 90, -150, 18)[1:]]],
    4: [[(112, 40), (72, 165), (218, 165)], [(182, 70), (182, 245)]],
    5: [[(204, 46), (96, 46), (86, 128), *_arc(138, 178, 62, 58, 130, -140, 18)]],
    6: [[(188, 52), (128, 76), *_arc(140, 188, 55, 52, 180, 540, 28)[:-4]]],
    7: [[(70, 52), (212, 52), (152, 158), (116, 246)]],
    8: [[(140 + 52 * np.sin(2 * t), 140 - 95 * np.cos(t)) for t in np.linspace(0, 2 * np.pi, 48)]],
    9: [[*_arc(138, 96, 52, 50, -10, 350, 28), (186, 246)]],
}
"""Strokes (pad pixels, 280x280) of each digit as a learner draws it on the drawing pad."""


def digit_strokes(digit: int, variant: int = 0, size: int = PAD_SIZE) -> list[list[tuple[float, float]]]:
    """`PAD_DIGIT_STROKES[digit]` on a `size` pad; a variant above 0 is smaller, slanted and moved."""
    rng = np.random.default_rng([digit, variant])
    scale, slant = (1.0, 0.0) if variant == 0 else (rng.uniform(0.8, 0.95), rng.uniform(-0.15, 0.15))
    dx, dy = (0.0, 0.0) if variant == 0 else rng.uniform(-12, 12, 2)
    c, ratio = PAD_SIZE / 2, size / PAD_SIZE

    def place(x: float, y: float) -> tuple[float, float]:
        x, y = c + dx + scale * (x - c + slant * (c - y)), c + dy + scale * (y - c)
        return float(ratio * x), float(ratio * y)

    return [[place(x, y) for x, y in stroke] for stroke in PAD_DIGIT_STROKES[digit]]


def paste(canvas: np.ndarray, patch: np.ndarray, top: int, left: int) -> None:
    """Write `patch` into `canvas` with its corner at (top, left); what falls outside is cut off."""
    y0, x0 = max(top, 0), max(left, 0)
    y1, x1 = min(top + patch.shape[0], canvas.shape[0]), min(left + patch.shape[1], canvas.shape[1])
    canvas[y0:y1, x0:x1] = patch[y0 - top : y1 - top, x0 - left : x1 - left]


def render_bitmap(digit: np.ndarray, side: int, ink_dark: bool, max_stretch: float = 3.0) -> Image.Image:
    """A binary `side` x `side` bitmap of a digit stretched to fill the box, as some scanners store digits.

    A narrow digit is widened at most `max_stretch` times its own proportions,
    and centred: stretched all the way, an upright 1 would become a solid
    square, which is no digit at all.
    """
    rows, cols = np.flatnonzero(digit.max(axis=1) > 64), np.flatnonzero(digit.max(axis=0) > 64)
    crop = Image.fromarray(digit[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1])
    w, h = (min(side, round(side * d / max(crop.size) * max_stretch)) for d in crop.size)
    ink = np.zeros((side, side), dtype=bool)
    paste(
        ink,
        np.asarray(crop.resize((w, h), Image.Resampling.BILINEAR)) > 127,
        (side - h) // 2,
        (side - w) // 2,
    )
    return Image.fromarray(np.where(ink != ink_dark, 255, 0).astype(np.uint8), "L")


def crop_around_ink(
    image: Image.Image, coverage: np.ndarray, margins: tuple[int, int, int, int]
) -> Image.Image:
    """Cut `image` to the box of the ink in `coverage`, widened by `margins` pixels (top, bottom,
    left, right); a negative margin cuts into the digit, as when it runs off the photo."""
    rows, cols = np.flatnonzero(coverage.max(axis=1) > 0.5), np.flatnonzero(coverage.max(axis=0) > 0.5)
    top, bottom, left, right = margins
    h, w = coverage.shape
    box = (
        max(cols[0] - left, 0),
        max(rows[0] - top, 0),
        min(cols[-1] + 1 + right, w),
        min(rows[-1] + 1 + bottom, h),
    )
    return image.crop(box)


def _disc(diameter: int) -> np.ndarray:
    r = diameter / 2
    yy, xx = np.mgrid[: diameter + 1, : diameter + 1] - r
    return (yy**2 + xx**2) <= r**2


def render_row(
    digits: list[np.ndarray] | np.ndarray,
    rng: np.random.Generator,
    gaps: list[int] | tuple[int, ...] | None = None,
    ink: tuple[int, int, int] = INKS["black"],
    margin: int = 40,
    cell: int = 96,
) -> Image.Image:
    """Paste 28x28 digits side by side as dark ink on lit, grainy off-white paper (RGB).

    Each digit's box is `cell` pixels wide; `gaps` are the pixels between
    neighbouring boxes (negative: they overlap), 0 by default.
    """
    gaps = [0] * (len(digits) - 1) if gaps is None else list(gaps)
    lefts = np.cumsum([margin] + [cell + gap for gap in gaps])
    height, width = cell + 2 * margin, int(lefts[-1]) + cell + margin
    coverage = np.zeros((height, width), np.float32)
    for left, digit in zip(lefts, digits, strict=True):
        glyph = Image.fromarray(digit).resize((cell, cell), Image.Resampling.BICUBIC)
        region = coverage[margin : margin + cell, left : left + cell]
        np.maximum(region, np.asarray(glyph, np.float32) / 255, out=region)
    yy, xx = np.mgrid[0:height, 0:width] / max(height, width)
    light = 0.8 + 0.15 * xx - 0.1 * yy
    paper = np.array([245, 238, 220], np.float32) * light[..., None] + rng.normal(0, 6, (height, width, 1))
    rgb = paper * (1 - coverage[..., None]) + np.array(ink, np.float32) * coverage[..., None]
    return Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8), "RGB")


def render_on_canvas(digit: np.ndarray, size: int = 280) -> Image.Image:
    """Render a digit as dark strokes on a transparent canvas (RGBA), like a drawing app."""
    glyph = Image.fromarray(digit).resize((size, size), Image.Resampling.BICUBIC)
    alpha = np.asarray(glyph)
    rgba = np.zeros((size, size, 4), dtype=np.uint8)
    rgba[..., 3] = alpha
    return Image.fromarray(rgba, "RGBA")


@dataclass(frozen=True)
class Rendering:
    """One image of a realistic test set: its kind, true label, MNIST test index and file bytes."""

    kind: str
    label: int
    index: int
    data: bytes


REALISTIC_KINDS = (
    "blue ink photo",
    "black ink photo",
    "low-quality JPEG",
    "off-centre",
    "rotated 15 degrees",
    "thick pen",
    "thin pen",
    "small on a big photo",
    "transparent canvas",
    "1-pixel pen lines",
    "tight crop",
    "drawing pad, edge to edge",
    "thick marker",
    "16x16 binary scan",
    "32x32 binary scan",
    "runs off the photo",
)
"""The ways the realistic test set's images differ from MNIST, one per kind."""


def make_realistic_set(
    x_test: np.ndarray, y_test: np.ndarray, per_kind: int = 60, seed: int = 0
) -> list[Rendering]:
    """Render `per_kind` random MNIST *test* digits in each of `REALISTIC_KINDS`, as encoded files.

    Fixed by `seed`. Each kind draws its own digits, so the set covers
    `per_kind * len(REALISTIC_KINDS)` test digits (with few repeats).
    """
    rng = np.random.default_rng(seed)
    renderings = []
    for kind in REALISTIC_KINDS:
        for index in rng.choice(len(y_test), size=per_kind, replace=False):
            image, fmt = _render_kind(kind, x_test[index], rng)
            buffer = io.BytesIO()
            quality = 30 if kind == "low-quality JPEG" else 85
            image.save(buffer, format=fmt, **({"quality": quality} if fmt == "JPEG" else {}))
            renderings.append(Rendering(kind, int(y_test[index]), int(index), buffer.getvalue()))
    return renderings


def _render_kind(kind: str, digit: np.ndarray, rng: np.random.Generator) -> tuple[Image.Image, str]:
    """One rendering of `digit` in the given kind, with the file format to store it in."""
    ink = "blue" if rng.random() < 0.5 else "black"
    tilt = float(rng.uniform(-5, 5))
    if kind == "transparent canvas":
        return render_on_canvas(digit, size=int(rng.integers(200, 400))), "PNG"
    if kind == "1-pixel pen lines":
        return render_pen_lines(digit, size=int(rng.integers(400, 700))), "PNG"
    if kind == "drawing pad, edge to edge":
        return render_pad_drawing(digit, rng), "PNG"
    if kind.endswith("binary scan"):
        return render_bitmap(digit, int(kind.split("x")[0]), ink_dark=bool(rng.random() < 0.5)), "PNG"
    if kind in ("tight crop", "runs off the photo"):
        coverage = place_glyph(digit, rng, int(rng.integers(240, 480)), rotate=tilt)
        if kind == "tight crop":
            margins = rng.integers(0, 3, size=4)
        else:  # a generous margin on three sides; the fourth cuts 5-10% off the digit
            rows, cols = (
                np.flatnonzero(coverage.max(axis=1) > 0.5),
                np.flatnonzero(coverage.max(axis=0) > 0.5),
            )
            margins = rng.integers(10, 40, size=4)
            cut = int(rng.integers(4))
            extent = np.ptp(rows) if cut < 2 else np.ptp(cols)
            margins[cut] = -round(rng.uniform(0.05, 0.1) * extent)
        photo = ink_on_paper(coverage, rng, ink)
        return crop_around_ink(photo, coverage, tuple(int(m) for m in margins)), "JPEG"
    options: dict = {"ink": ink, "rotate": tilt}
    if kind == "blue ink photo":
        options["ink"] = "blue"
    elif kind == "black ink photo":
        options["ink"] = "black"
    elif kind == "off-centre":
        options["offset"] = tuple(rng.choice([-1, 1], size=2) * rng.uniform(0.1, 0.2, size=2))
        options["fraction"] = (0.35, 0.5)
    elif kind == "rotated 15 degrees":
        options["rotate"] = float(rng.choice([-15, 15]))
    elif kind == "thick pen":
        options["stroke"] = 0.5
    elif kind == "thin pen":
        options["stroke"] = -0.5
    elif kind == "thick marker":
        options["stroke"] = float(rng.uniform(3, 5))  # MNIST's strokes are about 2.8 pixels wide
    elif kind == "small on a big photo":
        options["fraction"] = (0.12, 0.2)
        options["offset"] = tuple(rng.uniform(-0.3, 0.3, size=2))
        return render_on_paper(digit, rng, size=1200, **options), "JPEG"
    return render_on_paper(digit, rng, size=int(rng.integers(240, 480)), **options), "JPEG"
