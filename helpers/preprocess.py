"""Turn any image of a handwritten digit into a 28x28 MNIST-style array.

MNIST digits were size-normalised to fit a 20x20 box (aspect ratio kept) and
centred by their centre of mass in a 28x28 field, as bright ink on black. A
photo of a digit on paper is nothing like that, so this module walks it there
step by step and keeps every intermediate image for display:

original -> grey (alpha composited, ink bright) -> cleaned (background
removed, thresholded, specks and border lines dropped) -> cropped -> 28x28.
"""

from __future__ import annotations

import functools
import io
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError
from scipy import ndimage

WORK_SIZE = 384
"""Largest longest side, in pixels, at which the cleaning steps run."""
MIN_WORK_SIZE = 112
"""Smaller images are enlarged to this first, so the background filter cannot eat strokes."""
BOX = 20
FIELD = 28
THIN_STROKE = 0.15
"""MNIST's strokes are about 3 pixels in its 20-pixel box; much thinner ones get widened."""
THICK_STROKE = 1.6
"""Strokes more than this many times MNIST's width (relative to the digit) are narrowed to it."""
MAX_FILE_BYTES = 50 * 1024 * 1024
MAX_PIXELS = 50_000_000


class ImageError(ValueError):
    """An input that cannot be turned into a digit; the message says why and what to do."""


class DotError(ImageError):
    """The only ink is a dot (`is_dot`): no digit, and the drawing pad asks for a bigger one."""


@dataclass
class Preprocessed:
    """The 28x28 float32 result in [0, 1] (ink bright) and the steps that led to it."""

    image: np.ndarray
    steps: dict[str, np.ndarray] = field(default_factory=dict)
    source: str = ""


def open_image(source: str | os.PathLike[str] | bytes | Image.Image) -> Image.Image:
    """Open a file, bytes or PIL image; the format is read from the content, not the name."""
    if isinstance(source, Image.Image):
        return source
    name = "<bytes>" if isinstance(source, bytes) else str(source)
    if isinstance(source, bytes):  # an upload: the same limits as a file
        size = len(source)
    else:
        path = Path(source)
        if not path.exists():
            raise ImageError(f"{name}: no such file; check the path")
        if path.is_dir():
            raise ImageError(f"{name}: is a folder; pass an image file, or predict the folder")
        size = path.stat().st_size
        if size == 0:
            raise ImageError(f"{name}: the file is empty; export the image again")
    if size > MAX_FILE_BYTES:
        raise ImageError(f"{name}: {size / 2**20:.0f} MB is over the {MAX_FILE_BYTES // 2**20} MB limit")
    data = source if isinstance(source, bytes) else path.read_bytes()
    try:
        image = Image.open(io.BytesIO(data))
        if image.width * image.height > MAX_PIXELS:
            raise ImageError(
                f"{name}: {image.width}x{image.height} pixels is over the "
                f"{MAX_PIXELS:,}-pixel limit; shrink the image first"
            )
        image.seek(0)
        image.load()
    except ImageError:
        raise
    except UnidentifiedImageError:
        raise ImageError(f"{name}: not an image Pillow can read (PNG, JPEG, BMP, GIF, TIFF, WebP)") from None
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise ImageError(f"{name}: the image is damaged or truncated ({exc}); export it again") from None
    return ImageOps.exif_transpose(image)


def to_grey(image: Image.Image) -> np.ndarray:
    """Grey float32 in [0, 1]; transparent parts become the background the strokes stand out from."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        array = np.asarray(image, dtype=np.float32)
        peak = 65535.0 if array.max() > 255 else 255.0
        image = Image.fromarray((array / peak * 255).clip(0, 255).astype(np.uint8))
    has_alpha = image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info)
    if not has_alpha:
        return np.asarray(image.convert("L"), dtype=np.float32) / 255.0
    rgba = np.asarray(image.convert("RGBA"), dtype=np.float32) / 255.0
    grey = rgba[..., :3] @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    alpha = rgba[..., 3]
    opaque = alpha > 0.5
    # Dark strokes on a transparent canvas go onto white paper; light strokes onto black.
    stroke_level = float(np.median(grey[opaque])) if opaque.any() else 0.0
    background = 1.0 if stroke_level < 0.5 else 0.0
    return grey * alpha + background * (1 - alpha)


def make_ink_bright(grey: np.ndarray) -> np.ndarray:
    """Invert dark-on-light images so that ink is bright.

    Otsu's threshold splits the pixels into a bright and a dark class; the paper
    is the class that holds most of the border and most of the image, the two
    shares averaged. A digit cropped tight may cover most of the border, or a
    thick one most of the image, but rarely both. A frame (solid rings of the
    rarer class all round, as a scanner leaves) is looked past to the border
    inside it.
    """
    # Judged on at most about 250,000 pixels: a 12-megapixel photo needs no more.
    step = max(1, int(np.ceil(np.sqrt(grey.size / 250_000))))
    level = otsu_threshold(grey[::step, ::step])
    bright_share = float(np.mean(grey[::step, ::step] > level))
    rare_is_bright = bright_share < 0.5
    depth = 0
    while depth < 0.1 * min(grey.shape):
        ring = _ring(grey, depth) > level
        if not (ring.all() if rare_is_bright else not ring.any()):
            break
        depth += 1
    border_share = float(np.mean(_ring(grey, depth) > level))
    return 1.0 - grey if (border_share + bright_share) / 2 > 0.5 else grey


def _ring(image: np.ndarray, depth: int) -> np.ndarray:
    """The pixels `depth` pixels in from the image's edge, all round."""
    inner = image[depth : image.shape[0] - depth, depth : image.shape[1] - depth]
    return np.concatenate([inner[0], inner[-1], inner[1:-1, 0], inner[1:-1, -1]])


def resize_for_work(ink: np.ndarray, min_size: int = MIN_WORK_SIZE) -> np.ndarray:
    """Bring the longest side within [`min_size`, WORK_SIZE] pixels.

    Before shrinking, strokes are thickened by the shrink factor, so that a
    1-pixel line on a large canvas survives instead of fading to nothing: a big
    photo is first max-pooled by whole blocks, then what is left of the factor
    (under 2) is covered by a small maximum filter.
    Before enlarging a binary image (a thresholded scan: only ink and paper, no
    grey), its staircase edges are softened by a Gaussian of `BINARY_SOFTEN`
    source pixels, towards the grey, anti-aliased edges of MNIST's strokes.
    """
    longest = max(ink.shape)
    if longest > WORK_SIZE:
        block = int(longest / WORK_SIZE)
        if block > 1:
            h, w = (-(-d // block) * block for d in ink.shape)
            padded = np.pad(ink, ((0, h - ink.shape[0]), (0, w - ink.shape[1])))
            ink = padded.reshape(h // block, block, w // block, block).max(axis=(1, 3))
        ink = ndimage.maximum_filter(ink, size=int(np.ceil(max(ink.shape) / WORK_SIZE)))
        scale, resample = max(ink.shape) / WORK_SIZE, Image.Resampling.BOX
    elif longest < min_size:
        scale, resample = longest / min_size, Image.Resampling.BILINEAR
        if np.mean((ink > 0.1) & (ink < 0.9)) < 0.02:
            ink = ndimage.gaussian_filter(ink, BINARY_SOFTEN)
    else:
        return ink
    h, w = (max(1, round(d / scale)) for d in ink.shape)
    return np.asarray(Image.fromarray(ink).resize((w, h), resample))


BINARY_SOFTEN = 0.5
"""Blur, in source pixels, of a small binary image's edges before it is enlarged (chosen with
`FILLED_ASPECT` on Semeion's first half; docs/adaptation.md)."""


def remove_background(ink: np.ndarray) -> np.ndarray:
    """Subtract a smooth estimate of the paper (lighting gradients, shadows), rescale to [0, 1].

    The estimate is a grey opening: what is left of the image after erasing
    everything narrower than its window. Its window starts at a sixth of the
    image, which follows the lighting closely, and grows with the ink: a stroke
    or junction into which the window fits would be taken for paper and come
    out hollow. So the window is made wider than the widest ink found
    (`wide_enough`), and doubled while a wider one uncovers much more ink, which
    a fully hollowed stroke does.
    """
    longest = max(ink.shape)
    window = max(3, longest // 6)
    flat = _flatten(ink, window)
    while window < longest:
        needed = wide_enough(flat)
        if needed > window:
            window = min(needed, longest)
            flat = _flatten(ink, window)
            continue
        # A fully hollowed stroke leaves two thin outlines: test a window twice as wide.
        wider = _flatten(ink, 2 * window)
        if _ink_area(wider) <= WIDER_INK * _ink_area(flat):
            break
        window, flat = 2 * window, wider
    return flat


WIDER_INK = 1.15
"""A window twice as wide is taken when it finds more than 15% more ink."""


def wide_enough(flat: np.ndarray) -> int:
    """A window no square of which fits inside the ink: wider than the largest disc inside it."""
    mask = flat > ink_threshold(flat)
    return int(2.5 * ndimage.distance_transform_edt(mask).max()) + 3


def _flatten(ink: np.ndarray, window: int) -> np.ndarray:
    """The ink above a grey opening of `window` pixels (smoothed), rescaled so strong ink is 1."""
    background = ndimage.grey_opening(ink, size=(window, window))
    background = ndimage.uniform_filter(background, size=window)
    return scale_ink(np.clip(ink - background, 0, None))


def scale_ink(flat: np.ndarray) -> np.ndarray:
    """Rescale ink on black so that strong ink is 1; all zeros when nothing stands out."""
    top = float(flat.max())
    if top <= 0.05:
        return np.zeros_like(flat)
    # The typical level of the strongest ink, robust to a few hot pixels and
    # meaningful even when 1-pixel strokes cover under 0.1% of the image.
    peak = float(np.median(flat[flat > 0.5 * top]))
    return np.clip(flat / peak, 0, 1)


FAST_SIDE = 64
"""Images at most this many pixels on a side, on flat paper, take the fast path (`paper_level`)."""
FAST_WORK_SIZE = 56
"""The fast path enlarges small images to this longest side, half of `MIN_WORK_SIZE`."""
FLAT_PAPER = 0.1
"""Paper whose levels spread less than this (5th to 95th percentile) has no lighting to remove."""


def has_flat_paper(ink: np.ndarray) -> bool:
    """Whether the paper is one level, as in a scan or a dataset's crop (`paper_level`)."""
    return paper_level(ink) is not None


def paper_level(ink: np.ndarray) -> float | None:
    """The paper's level when it is one level, as in a scan or a dataset's crop; None when it is not.

    The paper is the pixels below Otsu's level, less a rim round the ink (a pixel
    wide per `RIM_SIDE` pixels of the image's longest side, at least one): the grey
    edge of an anti-aliased or greyscale scan's strokes is ink fading out, not
    lighting. Paper of one level has no lighting or shadow for
    `remove_background` to take away.
    """
    inked = ink > otsu_threshold(ink)
    rim = max(1, round(max(ink.shape) / RIM_SIDE))
    paper = ink[~ndimage.binary_dilation(inked, structure=np.ones((3, 3), dtype=bool), iterations=rim)]
    if paper.size == 0:
        return None
    low, middle, high = percentiles(paper, (5, 50, 95))
    return middle if high - low < FLAT_PAPER else None


RIM_SIDE = 32
"""`paper_level` leaves out a rim round the ink a pixel wide per this many pixels of the image's side."""


def percentiles(values: np.ndarray, qs: tuple[float, ...]) -> list[float]:
    """`np.percentile(values, qs)` (linear interpolation) without its overhead, for small arrays."""
    ordered = np.sort(values, axis=None)
    result = []
    for q in qs:
        position = q / 100 * (len(ordered) - 1)
        low = int(position)
        high = min(low + 1, len(ordered) - 1)
        result.append(float(ordered[low] + (ordered[high] - ordered[low]) * (position - low)))
    return result


def _ink_area(flat: np.ndarray) -> int:
    return int(np.count_nonzero(flat > ink_threshold(flat)))


def ink_threshold(flat: np.ndarray) -> float:
    """The level above which a flattened pixel is ink: Otsu's, but never below 0.15."""
    return max(otsu_threshold(flat), 0.15)


def otsu_threshold(values: np.ndarray, bins: int = 256) -> float:
    """Otsu's threshold: the level that best separates two classes of values in [0, 1]."""
    index = np.clip((np.ravel(values) * bins).astype(np.intp), 0, bins - 1)
    hist = np.bincount(index, minlength=bins).astype(np.float64)
    centres = (np.arange(bins) + 0.5) / bins
    weight0 = np.cumsum(hist)
    weight1 = weight0[-1] - weight0
    mean0 = np.cumsum(hist * centres) / np.maximum(weight0, 1)
    mean1 = (np.sum(hist * centres) - np.cumsum(hist * centres)) / np.maximum(weight1, 1)
    between = weight0 * weight1 * (mean0 - mean1) ** 2
    return float(centres[int(np.argmax(between))])


def keep_digit_strokes(flat: np.ndarray) -> np.ndarray:
    """Threshold, then keep the digit's ink: drop border clutter when a digit remains, then specks.

    Ink that touches the edge is part of the digit (a tight crop, a digit drawn
    to the edge of the pad). A paper edge, the desk beside the paper, a ruled
    line or a scanner frame is told apart by its shape (`is_border_clutter`),
    and is dropped only when ink of a digit's size remains: visible ink is
    never all thrown away.
    """
    mask = flat > ink_threshold(flat)
    # Pieces a few pixels apart (a broken thin line) count as one component.
    labels, count = ndimage.label(ndimage.binary_dilation(mask, iterations=2), structure=np.ones((3, 3)))
    labels = np.where(mask, labels, 0)
    if count == 0:
        return np.zeros_like(mask)
    sizes = ndimage.sum_labels(mask, labels, index=np.arange(1, count + 1))
    boxes = ndimage.find_objects(labels)
    clutter = np.array(
        [is_border_clutter(labels[box] == i, box, mask.shape) for i, box in enumerate(boxes, 1)]
    )
    extents = np.array([max(rows.stop - rows.start, cols.stop - cols.start) for rows, cols in boxes])
    if (~clutter & (extents >= MIN_DIGIT * max(mask.shape))).any():
        sizes = np.where(clutter, 0, sizes)
    keep = np.concatenate([[False], sizes >= max(0.1 * sizes.max(), 4)])
    return keep[labels]


BORDER_BAND = 0.12
"""Border clutter starts within this share of the image from an edge."""
MIN_DIGIT = 0.05
"""Ink whose box is shorter than this share of the image is too small to be the digit."""


def is_border_clutter(piece: np.ndarray, box: tuple[slice, slice], shape: tuple[int, ...]) -> bool:
    """Whether a piece of ink (cut to its `box` in an image of `shape`) lies along the border.

    Either it runs along most of one edge, starting near it, with a straight
    inner side (a ruled line, a paper edge, the desk beside the paper), or it is
    a frame: nearly all of it lies in thin bands along the edges, all round.
    """
    for side in range(4):  # top, right, bottom, left: turned (anticlockwise) so that side is on top
        rows, cols = box if side % 2 == 0 else box[::-1]
        depth, length = shape if side % 2 == 0 else shape[::-1]
        start = rows.start if side in (0, 3) else depth - rows.stop
        if start > BORDER_BAND * depth or cols.stop - cols.start < 0.8 * length:
            continue
        turned = np.rot90(piece, side)
        covered = turned.any(axis=0)
        if covered.sum() < 0.8 * length:
            continue
        inner = start + turned.shape[0] - np.argmax(turned[::-1, covered], axis=0)
        low, high = percentiles(inner, (5, 95))
        if high - low <= 0.1 * depth:
            return True
    h, w = shape
    rows, cols = box
    if rows.stop - rows.start < 0.8 * h or cols.stop - cols.start < 0.8 * w:
        return False
    ys, xs = np.nonzero(piece)
    ys, xs = ys + rows.start, xs + cols.start
    band_h, band_w = BORDER_BAND * h / 2, BORDER_BAND * w / 2
    near_edge = (ys < band_h) | (ys >= h - band_h) | (xs < band_w) | (xs >= w - band_w)
    return bool(near_edge.mean() > 0.9)


def stroke_width(mask: np.ndarray) -> float:
    """Mean stroke width of a binary drawing, in pixels, measured along the strokes' centre lines.

    The centre lines are where the distance to the paper peaks; a stroke is
    twice that distance wide, less the centre pixel counted on both sides.
    Cleaning asks it of the same mask up to three times (texture, dot, pen
    width): the answer is remembered for the last few masks.
    """
    mask = np.asarray(mask, dtype=bool)
    return _stroke_width(mask.tobytes(), mask.shape)


@functools.lru_cache(maxsize=8)
def _stroke_width(packed: bytes, shape: tuple[int, ...]) -> float:
    mask = np.frombuffer(packed, dtype=bool).reshape(shape)
    if not mask.any():
        return 0.0
    distance = ndimage.distance_transform_edt(mask)
    ridge = mask & (distance >= ndimage.maximum_filter(distance, size=3))
    return float(2 * distance[ridge].mean() - 1)


def match_stroke_width(cleaned: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Bring strokes far from MNIST's width (`THIN_STROKE` of the digit's size) to that width.

    A 1-pixel pen line on a big canvas would shrink to a faint trace, and a
    marker's strokes fill the loops of a small digit. Strokes under half MNIST's
    width are widened; strokes over `THICK_STROKE` times it are narrowed, unless
    that would erase most of the ink.
    """
    width, target = stroke_width(mask), THIN_STROKE * digit_size(mask)
    if width < target / 2 and target - width >= 2:
        radius = round((target - width) / 2)
        grown = ndimage.distance_transform_edt(~mask) <= radius
        return ndimage.grey_dilation(cleaned, footprint=_disc(radius)), grown
    if width > THICK_STROKE * target:
        narrowed = ndimage.distance_transform_edt(mask) > (width - target) / 2
        if np.count_nonzero(narrowed) >= 0.2 * np.count_nonzero(mask):
            return np.where(ndimage.binary_dilation(narrowed), cleaned, 0).astype(np.float32), narrowed
    return cleaned, mask


def digit_size(mask: np.ndarray) -> int:
    """The longer side of the box around the ink, in pixels."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    return int(max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1)


def _disc(radius: int) -> np.ndarray:
    yy, xx = np.mgrid[-radius : radius + 1, -radius : radius + 1]
    return yy**2 + xx**2 <= radius**2


def fit_in_field(crop: np.ndarray) -> np.ndarray:
    """Fit into a 20x20 box with aspect kept, then centre by mass in 28x28."""
    h, w = crop.shape
    scale = BOX / max(h, w)
    new_h, new_w = max(1, round(h * scale)), max(1, round(w * scale))
    small = np.asarray(
        Image.fromarray(crop.astype(np.float32)).resize((new_w, new_h), Image.Resampling.LANCZOS)
    )
    small = np.clip(small, 0, None)
    field_ = np.zeros((FIELD, FIELD), dtype=np.float32)
    top, left = (FIELD - new_h) // 2, (FIELD - new_w) // 2
    field_[top : top + new_h, left : left + new_w] = small
    cy, cx = ndimage.center_of_mass(field_)
    # MNIST itself puts the centre of mass at (14, 14), measured over its digits.
    shift = (round(FIELD / 2 - cy), round(FIELD / 2 - cx))
    field_ = ndimage.shift(field_, shift, order=0, mode="constant")
    peak = field_.max()
    return (field_ / peak).astype(np.float32) if peak > 0 else field_


def preprocess_image(
    source: str | os.PathLike[str] | bytes | Image.Image | np.ndarray, fast: bool = True
) -> Preprocessed:
    """Any digit image (file, bytes, PIL image or array) -> 28x28 MNIST-style, with its steps.

    `fast=False` cleans small images the long way too (see `clean_image`).
    """
    name, original, grey, flat, mask = clean_image(source, fast)
    cleaned, cropped = cut_out(flat, mask)
    result = fit_in_field(cropped)
    steps = {"original": original, "grey": grey, "cleaned": cleaned, "cropped": cropped, "28x28": result}
    return Preprocessed(image=result, steps=steps, source=str(name))


def _as_displayed(image: Image.Image) -> np.ndarray:
    """RGB as a viewer shows it: transparent parts over white."""
    if image.mode in ("RGBA", "LA", "PA", "P"):
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return np.asarray(Image.alpha_composite(white, rgba).convert("RGB"))
    return np.asarray(image.convert("RGB"))


def _array_to_grey(array: np.ndarray, name: str | os.PathLike[str]) -> np.ndarray:
    array = np.asarray(array)
    if array.ndim == 3 and array.shape[-1] in (3, 4):
        if array.dtype.kind == "f" and array.max() <= 1:  # e.g. what plt.imread returns
            array = array * 255
        return to_grey(Image.fromarray(np.clip(array, 0, 255).round().astype(np.uint8)))
    given = array.shape
    # Batch and channel axes of one go; a 2-D array stays 2-D, however small (the size check follows).
    array = (array if array.ndim == 2 else np.squeeze(array)).astype(np.float32)
    if array.ndim != 2:
        raise ImageError(f"{name}: an image array must be 2-D (or RGB/RGBA), got shape {given}")
    return array / 255.0 if array.max() > 1 else array


def preprocess_naively(source: str | os.PathLike[str] | bytes | Image.Image) -> np.ndarray:
    """What most MNIST demos do, for comparison: grey, squash to 28x28, invert if mostly bright."""
    grey = to_grey(open_image(source))
    small = np.asarray(Image.fromarray(grey).resize((FIELD, FIELD), Image.Resampling.BILINEAR))
    return (1.0 - small if small.mean() > 0.5 else small).astype(np.float32)


# --- shared cleaning, and a row of digits ("2024" on a sticky note) ------------------------------------

MERGE_OVERLAP = 0.5
"""Ink components whose column ranges overlap by this fraction of the narrower one are one digit."""
MIN_HEIGHT = 0.3
"""Groups of ink shorter than this fraction of the tallest are specks or dashes, not digits."""


def read_grey(
    source: str | os.PathLike[str] | bytes | Image.Image | np.ndarray,
) -> tuple[str, np.ndarray, np.ndarray]:
    """An image's name, its original as a viewer shows it, and one grey channel (0 to 1, or 0-255)."""
    name = source if isinstance(source, str | os.PathLike) else f"<{type(source).__name__}>"
    if isinstance(source, np.ndarray):
        grey = original = _array_to_grey(source, name)
    else:
        image = open_image(source)
        original, grey = _as_displayed(image), to_grey(image)
    if min(grey.shape) < 8:
        raise ImageError(f"{name}: {grey.shape[1]}x{grey.shape[0]} pixels is too small to hold a digit")
    return str(name), original, grey


def clean_image(
    source: str | os.PathLike[str] | bytes | Image.Image | np.ndarray,
    fast: bool = True,
) -> tuple[str, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Open and clean an image: its name, original, grey image, flattened ink and mask of strokes.

    With `fast`, a small image on flat paper (at most `FAST_SIDE` pixels on a side: a scan, a crop
    from a data set) is cleaned at `FAST_WORK_SIZE` with only the paper's one level taken away:
    about four times faster, for the same 28x28 result (`tests/test_preprocess.py`).
    """
    name, original, grey = read_grey(source)
    bright = make_ink_bright(grey)
    paper = paper_level(bright) if fast and max(grey.shape) <= FAST_SIDE else None
    if paper is not None:
        flat = scale_ink(np.clip(resize_for_work(bright, FAST_WORK_SIZE) - paper, 0, None))
    else:
        flat = remove_background(resize_for_work(bright))
    mask = keep_digit_strokes(flat)
    if not mask.any() or looks_like_texture(mask):
        raise ImageError(
            f"{name}: no digit found (no strokes stand out: the image is blank, or only noise or texture); "
            "check the file"
        )
    if is_dot(mask):
        raise DotError(f"{name}: no digit found (the only ink is a dot, not a stroke); check the file")
    return name, original, grey, flat, mask


DOT_ELONGATION = 1.6
"""Ink no longer than this many stroke widths is a dot or a blot. The least elongated real
digits measured (Semeion's stretched scans, thick-marker 1s) are about 1.7 and 1.9."""


def is_dot(mask: np.ndarray) -> bool:
    """Whether the ink is a dot: about as long as its stroke is wide, with paper around it.

    Ink that spans half its image or more is not a dot but a digit that fills its
    frame: a scan stretched to its box turns a 1 into a block, and `cut_out`
    gives it back its proportions.
    """
    size = digit_size(mask)
    return size < 0.5 * max(mask.shape) and size < DOT_ELONGATION * max(stroke_width(mask), 1.0)


def fills_its_frame(mask: np.ndarray) -> bool:
    """Whether the ink reaches all four edges of the image."""
    return bool(mask[0].any() and mask[-1].any() and mask[:, 0].any() and mask[:, -1].any())


def looks_like_texture(mask: np.ndarray) -> bool:
    """Whether the ink is a fine texture (noise, grain) rather than strokes: hairline-thin
    (under 3% of its extent) yet covering over a quarter of the square around it, which
    pen lines never do."""
    size = digit_size(mask)
    return bool(stroke_width(mask) < 0.03 * size and np.count_nonzero(mask) > 0.25 * size**2)


def cut_out(flat: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The ink under `mask` (grown by a pixel) in the full frame, and cropped to the mask's box.

    Ink that reaches all four edges of the image filled its frame: scanners that
    stretch each digit to fill its box store them so, and the stretch loses the
    digit's proportions. Such a crop is narrowed to at most `FILLED_ASPECT` of
    its height.
    """
    # Strong ink is 1 again, judged on the digit's own ink alone (a dark frame may have set the scale).
    kept = flat[mask]
    peak = float(np.median(kept[kept >= 0.5 * kept.max()]))
    cleaned = np.where(ndimage.binary_dilation(mask, iterations=1), np.clip(flat / peak, 0, 1), 0)
    fills_frame = fills_its_frame(mask)
    cleaned, mask = match_stroke_width(cleaned.astype(np.float32), mask)
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    cropped = cleaned[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    h, w = cropped.shape
    if fills_frame and w > FILLED_ASPECT * h:
        narrow = Image.fromarray(cropped).resize((round(FILLED_ASPECT * h), h), Image.Resampling.BILINEAR)
        cropped = np.asarray(narrow)
    return cleaned, cropped


FILLED_ASPECT = 0.7
"""Width over height given to a digit that filled its frame, whose own proportions the stretch lost.
MNIST's median digit is 0.8 (1s included); 0.7 reads Semeion's first half better, before and after
adapting, and MNIST validation digits rendered as scans as well (docs/preprocessing.md)."""


def group_components(mask: np.ndarray) -> list[np.ndarray]:
    """Split the ink into digits: merge pieces that share columns, drop short specks; left to right."""
    labels, _ = ndimage.label(mask, structure=np.ones((3, 3)))
    # A group: the labels of its pieces and its box as [top, bottom, left, right).
    groups = [([i], [rows.start, rows.stop, cols.start, cols.stop])
              for i, (rows, cols) in enumerate(ndimage.find_objects(labels), start=1)]  # fmt: skip
    while pair := _overlapping_pair(groups):
        (members_a, box_a), (members_b, box_b) = groups[pair[0]], groups.pop(pair[1])
        box = [pick(x, y) for pick, x, y in zip((min, max, min, max), box_a, box_b, strict=True)]
        groups[pair[0]] = (members_a + members_b, box)
    tallest = max(box[1] - box[0] for _, box in groups)
    groups = [(members, box) for members, box in groups if box[1] - box[0] >= MIN_HEIGHT * tallest]
    groups.sort(key=lambda group: group[1][2] + group[1][3])
    return [np.isin(labels, members) for members, _ in groups]


def _overlapping_pair(groups: list[tuple[list[int], list[int]]]) -> tuple[int, int] | None:
    """The first two groups whose columns overlap by `MERGE_OVERLAP` of the narrower, if any."""
    for a, (_, box_a) in enumerate(groups):
        for b in range(a + 1, len(groups)):
            box_b = groups[b][1]
            overlap = min(box_a[3], box_b[3]) - max(box_a[2], box_b[2])
            if overlap >= MERGE_OVERLAP * min(box_a[3] - box_a[2], box_b[3] - box_b[2]):
                return a, b
    return None


def split_digits(source: str | os.PathLike[str] | bytes | Image.Image | np.ndarray) -> list[Preprocessed]:
    """A row of digits (file, bytes, PIL image or array) -> one 28x28 MNIST-style digit each, left to right.

    The image is cleaned as in `preprocess_image`; its ink is then split into
    connected components, pieces of one digit (the two strokes of a 5, the
    two of an open 4) are merged when they share most of their columns, and
    specks much shorter than the tallest digit are dropped. Each digit's steps
    are those of `preprocess_image`, with "cleaned" showing only that digit's
    ink in the full frame, so `plot_preprocess_steps` shows where it was.
    """
    name, original, grey, flat, mask = clean_image(source)
    digits = []
    for digit_mask in group_components(mask):
        cleaned, cropped = cut_out(flat, digit_mask)
        result = fit_in_field(cropped)
        steps = {"original": original, "grey": grey, "cleaned": cleaned, "cropped": cropped, "28x28": result}
        digits.append(Preprocessed(image=result, steps=steps, source=name))
    return digits
