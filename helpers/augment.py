"""Training augmentation: each digit randomly rotated, rescaled and shifted (and, if asked,
distorted elastically), in one resampling pass, stateless so that a run repeats exactly."""

from __future__ import annotations

import math

import numpy as np
import tensorflow as tf

from helpers.config import TrainConfig


def augment_ranges(config: TrainConfig) -> dict[str, float]:
    """The ranges of `config`'s random affine augmentation, keyed as `AUGMENT_RANGES`."""
    return {"degrees": config.rotation, "scale": config.zoom, "shift_pixels": config.shift}


AUGMENT_RANGES = augment_ranges(TrainConfig())
"""The default random affine augmentation: rotate up to 7 degrees, rescale up to 8%, shift up to 2.2 px."""

ELASTIC_SIGMA = 4.0
"""Smoothness, in pixels, of the elastic distortion's random displacement field."""


def augment_batch(
    images: tf.Tensor, seed: tf.Tensor, elastic: float = 0.0, ranges: dict[str, float] | None = None
) -> tf.Tensor:
    """Rotate, rescale and shift each image of a batch at random (within `ranges`, by default
    `AUGMENT_RANGES`), in one resampling pass; with `elastic` > 0, also distort it elastically
    by about that strength (`elastic_field`).

    Stateless: the transforms depend only on `seed` (shape (2,)), so batches can be
    augmented in parallel and a run is repeatable.
    """
    transforms = random_affine(tf.shape(images)[0], images.shape[1], seed, ranges or AUGMENT_RANGES)
    if elastic > 0:
        return warp_images(images, transforms, elastic_field(images, seed + 4, elastic, ELASTIC_SIGMA))
    return tf.raw_ops.ImageProjectiveTransformV3(
        images=images,
        transforms=transforms,
        output_shape=tf.shape(images)[1:3],
        fill_value=0.0,  # what moves in from outside is background
        interpolation="BILINEAR",
        fill_mode="CONSTANT",
    )


def random_affine(
    n: tf.Tensor, side: int, seed: tf.Tensor, ranges: dict[str, float] = AUGMENT_RANGES
) -> tf.Tensor:
    """`n` random transforms within `ranges`, as (n, 8) rows for `ImageProjectiveTransformV3`:
    each maps an output pixel back to the input pixel it is read from."""

    def uniform(offset: int, half_width: float) -> tf.Tensor:
        return tf.random.stateless_uniform([n], seed=seed + offset, minval=-half_width, maxval=half_width)

    angle = uniform(0, ranges["degrees"]) * (math.pi / 180)
    scale = 1.0 + uniform(1, ranges["scale"])
    shift_x = uniform(2, ranges["shift_pixels"])
    shift_y = uniform(3, ranges["shift_pixels"])
    # The inverse of "rotate and scale about the centre, then shift".
    centre = (side - 1) / 2
    cos, sin = tf.cos(angle) / scale, tf.sin(angle) / scale
    x0, y0 = centre + shift_x, centre + shift_y
    zeros = tf.zeros_like(angle)
    return tf.stack(
        [cos, sin, centre - cos * x0 - sin * y0, -sin, cos, centre + sin * x0 - cos * y0, zeros, zeros],
        axis=1,
    )


def elastic_field(images: tf.Tensor, seed: tf.Tensor, alpha: float, sigma: float) -> tf.Tensor:
    """Random smooth displacements (N, H, W, 2) in pixels: uniform noise blurred by a Gaussian of
    `sigma` pixels and scaled by `alpha`, as in Simard, Steinkraus and Platt (2003)."""
    shape = tf.concat([tf.shape(images)[:3], [2]], axis=0)
    noise = tf.random.stateless_uniform(shape, seed=seed, minval=-1.0, maxval=1.0)
    radius = int(2 * sigma)
    taps = np.exp(-(np.arange(-radius, radius + 1) ** 2) / (2 * sigma**2))
    taps = tf.constant(taps / taps.sum(), tf.float32)
    across = tf.tile(tf.reshape(taps, [1, -1, 1, 1]), [1, 1, 2, 1])
    down = tf.tile(tf.reshape(taps, [-1, 1, 1, 1]), [1, 1, 2, 1])
    smooth = tf.nn.depthwise_conv2d(noise, across, [1, 1, 1, 1], "SAME")
    return alpha * tf.nn.depthwise_conv2d(smooth, down, [1, 1, 1, 1], "SAME")


def warp_images(images: tf.Tensor, transforms: tf.Tensor, field: tf.Tensor) -> tf.Tensor:
    """Resample each image (bilinear, zeros outside) at its affine `transforms` (N, 8, as for
    `ImageProjectiveTransformV3`, output to input) plus the displacements `field`."""
    n, height, width = tf.shape(images)[0], images.shape[1], images.shape[2]
    ys, xs = tf.meshgrid(tf.range(height, dtype=tf.float32), tf.range(width, dtype=tf.float32), indexing="ij")
    t = [tf.reshape(transforms[:, i], [-1, 1, 1]) for i in range(6)]
    x = t[0] * xs + t[1] * ys + t[2] + field[..., 0]
    y = t[3] * xs + t[4] * ys + t[5] + field[..., 1]
    flat = tf.reshape(images, [n, height * width])
    x0, y0 = tf.floor(x), tf.floor(y)

    def pixel(row: tf.Tensor, col: tf.Tensor) -> tf.Tensor:
        inside = (col >= 0) & (col <= width - 1) & (row >= 0) & (row <= height - 1)
        index = tf.cast(
            tf.clip_by_value(row, 0, height - 1) * width + tf.clip_by_value(col, 0, width - 1), tf.int32
        )
        values = tf.gather(flat, tf.reshape(index, [n, -1]), batch_dims=1)
        return tf.where(inside, tf.reshape(values, tf.shape(x)), 0.0)

    wx, wy = x - x0, y - y0
    top = (1 - wx) * pixel(y0, x0) + wx * pixel(y0, x0 + 1)
    bottom = (1 - wx) * pixel(y0 + 1, x0) + wx * pixel(y0 + 1, x0 + 1)
    return ((1 - wy) * top + wy * bottom)[..., None]
