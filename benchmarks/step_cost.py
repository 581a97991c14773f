"""What each architecture choice costs: milliseconds per training step on this CPU.

`python -m benchmarks.step_cost` times one Adam step on a batch of 128 for the
registry's models and for ablations of `compact_cnn`, so the README can say
what each change bought. It measures speed only; accuracy is `make bench`'s job.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import keras
import numpy as np
from keras import layers

from helpers.models import INPUT_SHAPE, NUM_CLASSES, REGISTRY


def _stages(padding: str, batch_norm: bool, widths: tuple[int, ...] = (32, 64, 128)) -> keras.Model:
    """compact_cnn's three stages with the given padding, with or without batch norm."""
    inputs = keras.Input(shape=INPUT_SHAPE)
    x = inputs
    for i, width in enumerate(widths):
        x = layers.Conv2D(width, 3, padding=padding, use_bias=not batch_norm)(x)
        if batch_norm:
            x = layers.BatchNormalization()(x)
        x = layers.ReLU()(x)
        if i < len(widths) - 1:
            x = layers.MaxPooling2D(2)(x)
    x = layers.Flatten()(x)
    return keras.Model(inputs, layers.Dense(NUM_CLASSES, activation="softmax")(x))


VARIANTS: dict[str, Callable[[], keras.Model]] = {
    **REGISTRY,
    "compact_cnn with Keras's own batch norm (the previous default)": lambda: _stages("valid", True),
    "compact_cnn, 'same' padding (7x7x128 features), Keras's batch norm": lambda: _stages("same", True),
    "compact_cnn without batch norm": lambda: _stages("valid", False),
    "compact_cnn, wider (32-96-192), Keras's batch norm": lambda: _stages("valid", True, (32, 96, 192)),
}


def step_milliseconds(model: keras.Model, batch: int = 128, steps: int = 40) -> float:
    """Median wall time of one training step, after warm-up."""
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    x = np.random.default_rng(0).random((batch, *INPUT_SHAPE), dtype=np.float32)
    y = np.arange(batch) % NUM_CLASSES
    for _ in range(3):
        model.train_on_batch(x, y)
    times = []
    for _ in range(steps):
        began = time.perf_counter()
        model.train_on_batch(x, y)
        times.append(time.perf_counter() - began)
    return 1e3 * float(np.median(times))


def main() -> int:
    """Print a Markdown table: variant, parameters, ms per step, seconds per 54,000-image epoch."""
    print("| model | parameters | ms per step (batch 128) | s per epoch (54,000 images) |")
    print("|---|---|---|---|")
    for name, build in VARIANTS.items():
        model = build()
        ms = step_milliseconds(model)
        print(f"| {name} | {model.count_params():,} | {ms:.1f} | {ms * 422 / 1e3:.1f} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
