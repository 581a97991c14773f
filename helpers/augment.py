"""Training augmentation with Keras's own random layers: each digit rotated, rescaled and shifted."""

from __future__ import annotations

import keras
from keras import layers

from helpers.config import TrainConfig

SIDE = 28
"""Pixels along each side of an MNIST digit: the translation layer takes shifts as a share of it."""


def augment_ranges(config: TrainConfig) -> dict[str, float]:
    """The ranges of `config`'s random augmentation, keyed as `AUGMENT_RANGES`."""
    return {"degrees": config.rotation, "scale": config.zoom, "shift_pixels": config.shift}


AUGMENT_RANGES = augment_ranges(TrainConfig())
"""The default random augmentation: rotate up to 7 degrees, rescale up to 8%, shift up to 2.2 px."""


def make_augmenter(config: TrainConfig | None = None, seed: int | None = None) -> keras.Sequential:
    """Keras's random rotation, zoom and translation layers within `config`'s ranges (or the defaults').

    Each training image is turned by up to `config.rotation` degrees either way,
    rescaled by up to `config.zoom`, and shifted by up to `config.shift` pixels
    along each axis; what moves in from outside is background (0). The layers act
    only when called with `training=True`. Seeded by `seed` (default `config.seed`),
    the same calls give the same images.
    """
    config = config or TrainConfig()
    seed = config.seed if seed is None else seed
    shift = config.shift / SIDE
    return keras.Sequential(
        [
            layers.RandomRotation(config.rotation / 360, fill_mode="constant", seed=seed),
            layers.RandomZoom(config.zoom, fill_mode="constant", seed=seed + 1),
            layers.RandomTranslation(shift, shift, fill_mode="constant", seed=seed + 2),
        ],
        name="augment",
    )
