"""Corrupted MNIST digits for robustness tests: 15 seeded corruptions modelled on MNIST-C.

MNIST-C (Mu and Gilmer, 2019, "MNIST-C: A Robustness Benchmark for Computer
Vision", arXiv:1906.02337) is MNIST's test set under 15 corruptions that leave
a digit readable by a person but break many models: noise (shot, impulse),
blur (glass, motion), affine changes (shear, scale, rotate, translate),
brightness, fog, spatter and drawn distractors (stripe, dotted line, zigzag)
and the digit's Canny edge map. Like the paper, each corruption is used at ONE
fixed severity, chosen so the change is clearly visible yet the digit stays
recognisable; the UPPER_CASE constants below are those severities.

This is a from-scratch re-implementation from the paper's descriptions, with
numpy, scipy.ndimage and scipy.fft only, vectorised over the batch (10,000
digits in seconds). It is in the spirit of MNIST-C, not a pixel-exact copy, so
accuracies are comparable in trend but not to the published numbers.

`corrupt(images, kind, seed)` takes uint8 digits (N, 28, 28) (0 background,
255 ink) and returns uint8 (N, 28, 28). The per-image randomness comes from
`np.random.default_rng((seed, index of kind))`, so results are reproducible
and each kind has its own random stream.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import fft, ndimage, signal

CORRUPTIONS: tuple[str, ...] = (
    "shot_noise",
    "impulse_noise",
    "glass_blur",
    "motion_blur",
    "shear",
    "scale",
    "rotate",
    "brightness",
    "translate",
    "stripe",
    "fog",
    "spatter",
    "dotted_line",
    "zigzag",
    "canny_edges",
)
"""The 15 MNIST-C corruptions, in the paper's order."""

FIELD = 28
CENTRE = (FIELD - 1) / 2
"""The image centre in pixel coordinates, about which rotate, shear and scale act."""

SHOT_NOISE_SCALE = 60.0
"""Poisson noise: a pixel of brightness p in [0, 1] becomes Poisson(60 p) / 60 (noise only on the ink)."""
IMPULSE_NOISE_AMOUNT = 0.07
"""Salt-and-pepper noise: this fraction of pixels is set to white or black (half each)."""
GLASS_BLUR_SIGMA = 0.7
"""Glass blur: Gaussian blur with this sigma (pixels) before and after the pixel shuffles."""
GLASS_BLUR_ITERATIONS = 1
"""Glass blur: rounds of random swaps of neighbouring pixels (each round moves a pixel up to 2 px)."""
MOTION_BLUR_RADIUS = 6
"""Motion blur: the line kernel reaches this many pixels each way along a random direction."""
MOTION_BLUR_SIGMA = 2.0
"""Motion blur: Gaussian weighting (pixels) of the kernel along its line."""
SHEAR_RANGE = (0.5, 0.7)
"""Shear: horizontal shear factor drawn from this range, with a random sign."""
SCALE_FACTOR = 0.6
"""Scale: the digit is zoomed out to this fraction of its size, about the image centre."""
ROTATE_RANGE = (40.0, 60.0)
"""Rotate: angle in degrees drawn from this range, with a random sign."""
BRIGHTNESS_SHIFT = 0.4
"""Brightness: added to every pixel's value (HSV V, which is the grey level) in [0, 1], then clipped."""
TRANSLATE_PIXELS = 6.0
"""Translate: the digit moves this far in a random direction, rounded to whole pixels..."""
TRANSLATE_CROP = 2
"""...but no further than this many pixels of the digit's bounding box past the image edge."""
STRIPE_WIDTH = 3
"""Stripe: a vertical band this many pixels wide is inverted (black becomes white)."""
STRIPE_COLUMNS = (9, 16)
"""Stripe: the band's first column is drawn from this range, so it runs through the digit."""
FOG_STRENGTH = 1.5
"""Fog: a smooth random field in [0, 1] times this is added, then the image is rescaled to [0, 1]."""
FOG_EXPONENT = 2.0
"""Fog: the field's amplitude spectrum falls as 1 / frequency**this (plasma-like)."""
SPATTER_COVERAGE = 0.04
"""Spatter: this fraction of each image is covered by white blobs of ink."""
SPATTER_SIGMA = 1.5
"""Spatter: the blobs are the top of white noise blurred with this sigma (pixels)."""
DOTTED_LINE_SPACING = 4.0
DOTTED_LINE_DOT = 2.0
"""Dotted line: a 1-pixel line with a dot of 2 px every 4 px, across the image near its centre."""
ZIGZAG_POINTS = 6
ZIGZAG_LENGTH = 26.0
ZIGZAG_AMPLITUDE = 3.5
"""Zigzag: a 1-pixel polyline of 6 corners, 26 px long, swinging about 3.5 px either side of its axis."""
LINE_OFFSET = 5.0
"""Dotted line and zigzag pass within this many pixels of the image centre, at a random angle."""
CANNY_SIGMA = 1.0
"""Canny edges: Gaussian smoothing (pixels) before the Sobel gradients."""
CANNY_THRESHOLDS = (0.15, 0.35)
"""Canny edges: hysteresis thresholds (weak, strong) as fractions of each image's largest gradient."""

_Corruption = Callable[[np.ndarray, np.random.Generator], np.ndarray]


def _sample(x: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Bilinear samples of each image x[n] at (rows[n], cols[n]); zero outside the image."""
    n, h, w = x.shape
    r0, c0 = np.floor(rows), np.floor(cols)
    fr, fc = (rows - r0).astype(np.float32), (cols - c0).astype(np.float32)
    r0, c0 = r0.astype(np.intp), c0.astype(np.intp)
    flat = x.reshape(-1)
    base = (np.arange(n, dtype=np.intp) * (h * w)).reshape(n, *([1] * (rows.ndim - 1)))
    out = np.zeros(rows.shape, np.float32)
    corners = ((0, 0, (1 - fr) * (1 - fc)), (0, 1, (1 - fr) * fc), (1, 0, fr * (1 - fc)), (1, 1, fr * fc))
    for dr, dc, weight in corners:
        r, c = r0 + dr, c0 + dc
        inside = (r >= 0) & (r < h) & (c >= 0) & (c < w)
        values = flat[base + np.clip(r, 0, h - 1) * w + np.clip(c, 0, w - 1)]
        out += np.where(inside, values, 0) * weight
    return out


def _affine(x: np.ndarray, matrix: np.ndarray, shift: np.ndarray | None = None) -> np.ndarray:
    """Warp each image: output pixel p samples the input at centre + matrix[n] @ (p - centre) - shift[n]."""
    grid = np.arange(FIELD, dtype=np.float32) - CENTRE
    r, c = grid[None, :, None], grid[None, None, :]
    m = matrix.astype(np.float32)[:, :, :, None, None]
    rows = CENTRE + m[:, 0, 0] * r + m[:, 0, 1] * c
    cols = CENTRE + m[:, 1, 0] * r + m[:, 1, 1] * c
    if shift is not None:
        rows = rows - shift[:, 0, None, None]
        cols = cols - shift[:, 1, None, None]
    return _sample(x, rows, cols)


def _signs(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.choice(np.array([-1.0, 1.0]), size=n)


def _blur(x: np.ndarray, sigma: float) -> np.ndarray:
    return ndimage.gaussian_filter(x, sigma=(0, sigma, sigma), mode="constant")


def _shot_noise(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return rng.poisson(x.astype(np.float64) * SHOT_NOISE_SCALE) / SHOT_NOISE_SCALE


def _impulse_noise(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    hit = rng.random(x.shape) < IMPULSE_NOISE_AMOUNT
    salt = rng.random(x.shape) < 0.5
    return np.where(hit, salt.astype(np.float32), x)


def _glass_blur(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    out = _blur(x, GLASS_BLUR_SIGMA)
    for _ in range(GLASS_BLUR_ITERATIONS):
        for axis in (1, 2):
            for parity in (0, 1):
                # Disjoint neighbour pairs (k, k+1), k = parity, parity+2, ...; each swapped with p = 1/2.
                first = np.arange(parity, FIELD - 1, 2)
                a = np.take(out, first, axis=axis)
                b = np.take(out, first + 1, axis=axis)
                swap = rng.random(a.shape) < 0.5
                index = [slice(None)] * 3
                index[axis] = first
                out[tuple(index)] = np.where(swap, b, a)
                index[axis] = first + 1
                out[tuple(index)] = np.where(swap, a, b)
    return _blur(out, GLASS_BLUR_SIGMA)


def _motion_blur(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    n = len(x)
    angle = rng.uniform(0, np.pi, n)
    steps = np.arange(-MOTION_BLUR_RADIUS, MOTION_BLUR_RADIUS + 1, dtype=np.float64)
    weights = np.exp(-(steps**2) / (2 * MOTION_BLUR_SIGMA**2))
    weights /= weights.sum()
    # The kernel of each image, splatted bilinearly: taps at step * (sin, cos) of its angle.
    size = 2 * MOTION_BLUR_RADIUS + 3
    grid = np.arange(size) - (size - 1) / 2
    tap_r = steps[None, :] * np.sin(angle)[:, None]
    tap_c = steps[None, :] * np.cos(angle)[:, None]
    tent_r = np.maximum(0, 1 - np.abs(grid[None, :, None] - tap_r[:, None, :]))  # (n, size, taps)
    tent_c = np.maximum(0, 1 - np.abs(grid[None, :, None] - tap_c[:, None, :]))
    kernel = np.einsum("t,nrt,nct->nrc", weights, tent_r, tent_c).astype(np.float32)
    return signal.fftconvolve(x, kernel, mode="same", axes=(1, 2))


def _shear(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    n = len(x)
    s = rng.uniform(*SHEAR_RANGE, n) * _signs(rng, n)
    matrix = np.zeros((n, 2, 2))
    matrix[:, 0, 0] = matrix[:, 1, 1] = 1
    matrix[:, 1, 0] = -s  # output column c samples input column c - s * (row - centre)
    return _affine(x, matrix)


def _scale(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    matrix = np.broadcast_to(np.eye(2) / SCALE_FACTOR, (len(x), 2, 2))
    return _affine(x, matrix)


def _rotate(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    n = len(x)
    theta = np.deg2rad(rng.uniform(*ROTATE_RANGE, n) * _signs(rng, n))
    cos, sin = np.cos(theta), np.sin(theta)
    matrix = np.stack([np.stack([cos, -sin], -1), np.stack([sin, cos], -1)], -2)
    return _affine(x, matrix)


def _brightness(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return x + BRIGHTNESS_SHIFT


def _translate(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    n = len(x)
    angle = rng.uniform(0, 2 * np.pi, n)
    shift = np.rint(TRANSLATE_PIXELS * np.stack([np.sin(angle), np.cos(angle)], -1))
    # Limit the move so at most TRANSLATE_CROP pixels of the digit's bounding box leave the image.
    for axis, other in ((0, 2), (1, 1)):
        profile = x.max(axis=other) > 0  # (n, 28): rows (axis 0) or columns (axis 1) holding ink
        has_ink = profile.any(axis=1)
        first = np.where(has_ink, profile.argmax(axis=1), 0)
        last = np.where(has_ink, FIELD - 1 - profile[:, ::-1].argmax(axis=1), FIELD - 1)
        shift[:, axis] = np.clip(shift[:, axis], -first - TRANSLATE_CROP, FIELD - 1 - last + TRANSLATE_CROP)
    return _affine(x, np.broadcast_to(np.eye(2), (n, 2, 2)), shift)


def _stripe(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    start = rng.integers(STRIPE_COLUMNS[0], STRIPE_COLUMNS[1] + 1, len(x))
    columns = np.arange(FIELD)[None, :]
    band = (columns >= start[:, None]) & (columns < start[:, None] + STRIPE_WIDTH)
    return np.where(band[:, None, :], 1 - x, x)


def _fog(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    n, size = len(x), 32
    spectrum = fft.rfft2(rng.standard_normal((n, size, size)), workers=-1)
    freq = np.hypot(fft.fftfreq(size)[:, None], fft.rfftfreq(size)[None, :])
    freq[0, 0] = np.inf  # no constant term: the field's level comes from the rescaling below
    field = fft.irfft2(spectrum / freq**FOG_EXPONENT, s=(size, size), workers=-1)[:, :FIELD, :FIELD]
    low = field.min(axis=(1, 2), keepdims=True)
    high = field.max(axis=(1, 2), keepdims=True)
    field = (field - low) / np.maximum(high - low, 1e-12)
    return (x + FOG_STRENGTH * field) / (1 + FOG_STRENGTH)


def _spatter(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    noise = _blur(rng.standard_normal(x.shape).astype(np.float32), SPATTER_SIGMA).reshape(len(x), -1)
    cut = round(noise.shape[1] * (1 - SPATTER_COVERAGE))
    threshold = np.partition(noise, cut, axis=1)[:, cut : cut + 1]
    blobs = (noise >= threshold).reshape(x.shape)
    return np.maximum(x, blobs)


def _draw(x: np.ndarray, rows: np.ndarray, cols: np.ndarray, keep: np.ndarray | None = None) -> np.ndarray:
    """Set to white the pixels nearest the points (rows[n], cols[n]) of each image that are kept."""
    r, c = np.rint(rows).astype(np.intp), np.rint(cols).astype(np.intp)
    ok = (r >= 0) & (r < FIELD) & (c >= 0) & (c < FIELD)
    if keep is not None:
        ok &= keep
    image = np.broadcast_to(np.arange(len(x))[:, None], r.shape)
    out = x.copy()
    out[image[ok], r[ok], c[ok]] = 1.0
    return out


def _line_frame(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A random direction (unit vectors along and across) and a point near the centre, per image."""
    angle = rng.uniform(0, np.pi, n)
    along = np.stack([np.sin(angle), np.cos(angle)], -1)
    across = np.stack([np.cos(angle), -np.sin(angle)], -1)
    origin = CENTRE + rng.uniform(-LINE_OFFSET, LINE_OFFSET, (n, 2))
    return along, across, origin


def _dotted_line(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    n = len(x)
    along, _, origin = _line_frame(rng, n)
    s = np.arange(-FIELD * 1.5, FIELD * 1.5, 0.25)[None, :]
    phase = rng.uniform(0, DOTTED_LINE_SPACING, (n, 1))
    keep = (s + phase) % DOTTED_LINE_SPACING < DOTTED_LINE_DOT
    rows = origin[:, :1] + s * along[:, :1]
    cols = origin[:, 1:] + s * along[:, 1:]
    return _draw(x, rows, cols, keep)


def _zigzag(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    n = len(x)
    along, across, origin = _line_frame(rng, n)
    u = np.linspace(-ZIGZAG_LENGTH / 2, ZIGZAG_LENGTH / 2, ZIGZAG_POINTS)[None, :]
    swing = (-1.0) ** np.arange(ZIGZAG_POINTS)[None, :] * _signs(rng, n)[:, None]
    v = ZIGZAG_AMPLITUDE * swing * rng.uniform(0.7, 1.3, (n, ZIGZAG_POINTS))
    corners = origin[:, None, :] + u[:, :, None] * along[:, None, :] + v[:, :, None] * across[:, None, :]
    t = np.linspace(0, 1, 4 * int(ZIGZAG_LENGTH))[None, None, :, None]
    points = corners[:, :-1, None, :] * (1 - t) + corners[:, 1:, None, :] * t  # (n, segments, steps, 2)
    points = points.reshape(n, -1, 2)
    return _draw(x, points[..., 0], points[..., 1])


def _canny_edges(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    smooth = _blur(x, CANNY_SIGMA)

    def sobel(axis: int) -> np.ndarray:  # per image: derivative along `axis`, smoothing across it
        derivative = ndimage.correlate1d(smooth, [-1.0, 0.0, 1.0], axis=axis, mode="constant")
        return ndimage.correlate1d(derivative, [1.0, 2.0, 1.0], axis=3 - axis, mode="constant")

    grad_r, grad_c = sobel(1), sobel(2)
    magnitude = np.hypot(grad_r, grad_c)
    # Non-maximum suppression: keep pixels at least as strong as both neighbours along the gradient.
    sector = np.rint(np.mod(np.arctan2(grad_r, grad_c), np.pi) / (np.pi / 4)).astype(int) % 4
    padded = np.pad(magnitude, ((0, 0), (1, 1), (1, 1)))
    peak = np.zeros(x.shape, bool)
    for k, (dr, dc) in enumerate(((0, 1), (1, 1), (1, 0), (1, -1))):
        ahead = padded[:, 1 + dr : 1 + dr + FIELD, 1 + dc : 1 + dc + FIELD]
        behind = padded[:, 1 - dr : 1 - dr + FIELD, 1 - dc : 1 - dc + FIELD]
        peak |= (sector == k) & (magnitude >= ahead) & (magnitude >= behind)
    peak &= magnitude > 0
    # Hysteresis: keep weak edges only in 8-connected chains that hold a strong edge.
    top = magnitude.max(axis=(1, 2), keepdims=True)
    weak = peak & (magnitude >= CANNY_THRESHOLDS[0] * top)
    strong = weak & (magnitude >= CANNY_THRESHOLDS[1] * top)
    structure = np.zeros((3, 3, 3), bool)
    structure[1] = True  # connect within an image, never across images
    labels, count = ndimage.label(weak, structure=structure)
    has_strong = np.zeros(count + 1, bool)
    has_strong[labels[strong]] = True
    has_strong[0] = False
    return has_strong[labels].astype(np.float32)


_FUNCTIONS: dict[str, _Corruption] = {
    "shot_noise": _shot_noise,
    "impulse_noise": _impulse_noise,
    "glass_blur": _glass_blur,
    "motion_blur": _motion_blur,
    "shear": _shear,
    "scale": _scale,
    "rotate": _rotate,
    "brightness": _brightness,
    "translate": _translate,
    "stripe": _stripe,
    "fog": _fog,
    "spatter": _spatter,
    "dotted_line": _dotted_line,
    "zigzag": _zigzag,
    "canny_edges": _canny_edges,
}

_DESCRIPTIONS: dict[str, str] = {
    "shot_noise": f"Poisson (shot) noise on the ink, each pixel drawn as Poisson({SHOT_NOISE_SCALE:g} p) / "
    f"{SHOT_NOISE_SCALE:g} for brightness p in [0, 1].",
    "impulse_noise": f"Salt-and-pepper noise setting {IMPULSE_NOISE_AMOUNT:.0%} of the pixels to white "
    "or black.",
    "glass_blur": f"Gaussian blur (sigma {GLASS_BLUR_SIGMA:g} px), random swaps of neighbouring pixels "
    f"({GLASS_BLUR_ITERATIONS} round(s), up to {2 * GLASS_BLUR_ITERATIONS} px), then the same blur again, "
    "like looking through frosted glass.",
    "motion_blur": f"Smearing along a random direction with a line kernel reaching {MOTION_BLUR_RADIUS} px "
    f"each way (Gaussian weights, sigma {MOTION_BLUR_SIGMA:g} px).",
    "shear": f"Horizontal shear by a factor of {SHEAR_RANGE[0]:g} to {SHEAR_RANGE[1]:g}, to the left "
    "or right.",
    "scale": f"The digit zoomed out to {SCALE_FACTOR:.0%} of its size about the image centre.",
    "rotate": f"Rotation by {ROTATE_RANGE[0]:g} to {ROTATE_RANGE[1]:g} degrees, clockwise or anticlockwise.",
    "brightness": f"Every pixel brightened by {BRIGHTNESS_SHIFT:g} of full scale, so the black background "
    "turns grey.",
    "translate": f"The digit moved about {TRANSLATE_PIXELS:g} px in a random direction, with at most "
    f"{TRANSLATE_CROP} px of it pushed off the edge.",
    "stripe": f"A vertical band {STRIPE_WIDTH} px wide through the middle of the image, inverted so it shows "
    "white with the digit black inside it.",
    "fog": f"A smooth random cloud added at {FOG_STRENGTH:g} times the ink's brightness, then rescaled, "
    "so the background turns patchy grey.",
    "spatter": f"White blobs of ink splashed over {SPATTER_COVERAGE:.0%} of the image.",
    "dotted_line": f"A straight white dotted line ({DOTTED_LINE_DOT:g} px dots every {DOTTED_LINE_SPACING:g} "
    "px) drawn across the image at a random angle.",
    "zigzag": f"A white zigzag line of {ZIGZAG_POINTS - 1} strokes, {ZIGZAG_LENGTH:g} px long, drawn across "
    "the image at a random angle.",
    "canny_edges": f"The digit replaced by its Canny edge map (smoothing sigma {CANNY_SIGMA:g} px), "
    "leaving only its outline.",
}


def _check_kind(kind: str) -> int:
    if kind not in _FUNCTIONS:
        raise ValueError(f"unknown corruption {kind!r}; valid kinds are: {', '.join(CORRUPTIONS)}")
    return CORRUPTIONS.index(kind)


def describe(kind: str) -> str:
    """Return a one-sentence plain-English description of the corruption `kind` and its severity."""
    _check_kind(kind)
    return _DESCRIPTIONS[kind]


def corrupt(images: np.ndarray, kind: str, seed: int = 0) -> np.ndarray:
    """Return uint8 (N, 28, 28) copies of uint8 MNIST digits (N, 28, 28) under the corruption `kind`."""
    index = _check_kind(kind)
    images = np.asarray(images)
    if images.ndim != 3 or images.shape[1:] != (FIELD, FIELD) or images.dtype != np.uint8:
        raise ValueError(
            f"images must be uint8 of shape (N, {FIELD}, {FIELD}); got {images.dtype} {images.shape}"
        )
    if len(images) == 0:
        return images.copy()
    rng = np.random.default_rng((seed, index))
    out = _FUNCTIONS[kind](images.astype(np.float32) / 255, rng)
    return np.clip(np.rint(np.asarray(out) * 255), 0, 255).astype(np.uint8)
