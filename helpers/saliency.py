"""Where a model looked, without TensorFlow: occlusion maps for any model, and their colouring.

The drawing pad answers with the LiteRT copy of the model, which has no
gradients, so its "Where it looked" covers the input patch by patch and
watches the answer's probability fall. `helpers.trust` adds the gradient
methods (integrated gradients), which need the Keras model.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from helpers.predict import predict_probabilities


def occlusion_map(model: Any, image: np.ndarray, label: int, patch: int = 6, stride: int = 2) -> np.ndarray:
    """How much the probability of `label` drops when a patch x patch square is blacked out,
    centred on each pixel (averaged over the placements that cover it)."""
    image = np.asarray(image, dtype=np.float32).reshape(28, 28, 1)
    starts = range(0, 28 - patch + 1, stride)
    corners = [(r, c) for r in starts for c in starts]
    batch = np.repeat(image[None], len(corners) + 1, axis=0)  # the first stays whole
    for i, (r, c) in enumerate(corners, start=1):
        batch[i, r : r + patch, c : c + patch] = 0.0
    probabilities = predict_probabilities(model, batch)[:, label]
    drops = probabilities[0] - probabilities[1:]
    heat, cover = np.zeros((28, 28)), np.zeros((28, 28))
    for drop, (r, c) in zip(drops, corners, strict=True):
        heat[r : r + patch, c : c + patch] += drop
        cover[r : r + patch, c : c + patch] += 1
    return heat / np.maximum(cover, 1)


def attribution_rgb(image: np.ndarray, heat: np.ndarray) -> np.ndarray:
    """An attribution map coloured over its grey image: red where a pixel pushed the answer up,
    blue where it pushed it down, grey elsewhere; (H, W, 3) floats in [0, 1]."""
    grey = np.squeeze(image).astype(np.float32) * 0.45
    heat = np.squeeze(heat)
    scaled = heat / (float(np.abs(heat).max()) or 1.0)
    rgb = np.repeat(grey[..., None], 3, axis=2)
    rgb[..., 0] += np.clip(scaled, 0, 1) * 0.55
    rgb[..., 2] += np.clip(-scaled, 0, 1) * 0.55
    rgb[..., 1] -= np.abs(scaled) * grey * 0.5
    return np.clip(rgb, 0.0, 1.0)
