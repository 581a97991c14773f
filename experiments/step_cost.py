"""What does each architecture choice cost? Milliseconds per training step on this CPU.

Command: `python -m experiments.step_cost` times one Adam step on a batch of 128 for the
registry's models and for ablations of `compact_cnn`, prints a Markdown table and writes
experiments/results/step_cost.json. It measures speed only; accuracy is `make bench`'s job.

Answer (2 cores, Intel Xeon, 2026-11-27): `compact_cnn` 15.2 ms a step against 42.6 ms for
`seed_cnn`; the same network with Keras's own batch norm 20.8 ms (so `FusedBatchNorm` saves about
a quarter), without batch norm 12.2 ms, with 'same' padding 31.5 ms, wider (32-96-192) 25.2 ms;
`mlp` 4.1 ms. docs/experiments.md ("What a training step costs") gives the table. Run it again
after a Keras or TensorFlow upgrade: the fused kernel earns its place only while it is faster.

Date: 2026-11-25, last run 2026-11-27.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import keras
import numpy as np
from keras import layers

from experiments.lab import save_result
from helpers.models import INPUT_SHAPE, NUM_CLASSES, REGISTRY

EPOCH_STEPS = 422
"""Steps of one epoch of 54,000 images in batches of 128."""


def _stages(padding: str, batch_norm: bool, widths: tuple[int, ...] = (32, 64, 128)) -> keras.Model:
    """compact_cnn's three stages with the given padding, with or without Keras's batch norm."""
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
    "compact_cnn with Keras's own batch norm": lambda: _stages("valid", True),
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
    """Print a Markdown table (variant, parameters, ms per step, seconds per 54,000-image epoch); save it."""
    print("| model | parameters | ms per step (batch 128) | s per epoch (54,000 images) |")
    print("|---|---|---|---|")
    rows = []
    for name, build in VARIANTS.items():
        model = build()
        ms = step_milliseconds(model)
        rows.append({"model": name, "parameters": model.count_params(), "ms_per_step": round(ms, 2)})
        print(f"| {name} | {model.count_params():,} | {ms:.1f} | {ms * EPOCH_STEPS / 1e3:.1f} |", flush=True)
    save_result({"batch": 128, "rows": rows}, "step_cost")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
