"""What did the old recipe's custom pieces add to the plain Keras one? Each put back alone, 3 seeds.

Until 2026-12-07 the default recipe used four pieces of its own where Keras has public ones:
a one-pass affine augmentation (TensorFlow's projective-transform op on stateless seeds) where
Keras chains RandomRotation, RandomZoom and RandomTranslation (three resamplings); an Adam
whose weight average warms up, (1 + t) / (10 + t) at step t, through a private Keras hook;
a batch norm computed by `tf.compat.v1`'s fused kernel; and a sparse cross-entropy with label
smoothing. The shipped recipe is now the plain one. This puts each of the first two back alone
and trains seeds 42-44 (each on its own split, as `make bench` does), then compares the
validation answers with the plain recipe's on the same digits: errors, and an exact McNemar
test on the digits where the two disagree, pooled over the seeds. The fused batch norm gave
the same outputs as Keras's (its old unit test), and the loss is the same function (one-hot,
then Keras's categorical cross-entropy with smoothing): their accuracy cannot differ, and the
training time of the whole recipe is `make bench`'s.

Command: `python -m experiments.custom_pieces [--seeds 42 43 44] [--variants ...] [--plain-from build/bench]`
(about 35 minutes on 2 cores; the plain runs are read from `make bench`'s models when they are
there, else trained) writes experiments/results/custom_pieces.json; `--render` prints the table.

Answer: the one-pass affine augmentation is worth nothing measurable: 28.0 validation errors of
6,000 a seed against 27.3 with Keras's three layers (seeds 42-44; 20 digits right only with it, 22
only without, exact McNemar p = 0.88). The warmed-up average was not trained again here: the two
benchmarks (2026-12-06 and 2026-12-07) show what it bought, higher accuracy in the first epochs
and none at the end (docs/experiments.md).

Date: 2026-12-07.
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from scipy.stats import binomtest

from experiments.lab import RESULTS, save_result
from helpers.artifacts import load_json
from helpers.augment import make_augmenter
from helpers.config import PROJECT_ROOT, TrainConfig
from helpers.data import load_mnist, split_train_val
from helpers.models import average_momentum, build_model, learning_rate
from helpers.predict import load_model, predict_probabilities
from helpers.train import batchnorm_sample, make_callbacks, make_dataset

WARMUP_STEPS = 10
"""The old average's warm-up: momentum min(ema, (1 + t) / (10 + t)) at step t."""


class WarmEMAAdam(keras.optimizers.Adam):
    """The old recipe's Adam: its weight average warms up (overrides a private Keras hook)."""

    def _update_model_variables_moving_average(self, trainable_variables: list) -> None:
        if not self.use_ema:
            return
        step = keras.ops.cast(self.iterations, "float32")
        warm = keras.ops.minimum(self.ema_momentum, (1.0 + step) / (WARMUP_STEPS + step))
        momentum = keras.ops.where(keras.ops.equal(step, 0.0), 0.0, warm)
        for var, average in zip(trainable_variables, self._model_variables_moving_average, strict=True):
            if average is not None:
                m = keras.ops.cast(momentum, var.dtype)
                average.assign(m * average + (1 - m) * var)


def one_pass_affine(images: tf.Tensor, seed: tf.Tensor, config: TrainConfig) -> tf.Tensor:
    """The old augmentation: rotate, rescale and shift each image in one bilinear resampling."""
    n, side = tf.shape(images)[0], images.shape[1]

    def uniform(offset: int, half: float) -> tf.Tensor:
        return tf.random.stateless_uniform([n], seed=seed + offset, minval=-half, maxval=half)

    angle, scale = uniform(0, config.rotation) * (math.pi / 180), 1.0 + uniform(1, config.zoom)
    x0, y0 = (side - 1) / 2 + uniform(2, config.shift), (side - 1) / 2 + uniform(3, config.shift)
    cos, sin, centre = tf.cos(angle) / scale, tf.sin(angle) / scale, (side - 1) / 2
    zeros = tf.zeros_like(angle)
    transforms = tf.stack(
        [cos, sin, centre - cos * x0 - sin * y0, -sin, cos, centre + sin * x0 - cos * y0, zeros, zeros], 1
    )
    return tf.raw_ops.ImageProjectiveTransformV3(
        images=images, transforms=transforms, output_shape=tf.shape(images)[1:3], fill_value=0.0,
        interpolation="BILINEAR", fill_mode="CONSTANT",
    )  # fmt: skip


def train_variant(variant: str, config: TrainConfig, split: Any, workdir: Path) -> keras.Model:
    """`fit_model`'s steps with one piece swapped: 'one affine pass' or 'warm-up average'."""
    keras.utils.set_random_seed(config.seed)
    steps_per_epoch = math.ceil(len(split.y_train) / config.batch_size)
    model = build_model(config, steps_per_epoch)
    if variant == "warm-up average":
        model.compile(
            optimizer=WarmEMAAdam(
                learning_rate=learning_rate(config, steps_per_epoch), use_ema=True,
                ema_momentum=average_momentum(config, steps_per_epoch),
            ),
            loss=model.loss, metrics=["accuracy"],
        )  # fmt: skip
        train_ds = make_dataset(
            split.x_train, split.y_train, config.batch_size, shuffle=True, seed=config.seed,
            augmenter=make_augmenter(config),
        )  # fmt: skip
    else:
        seeds = tf.data.Dataset.random(seed=config.seed).batch(2)
        plain = make_dataset(split.x_train, split.y_train, config.batch_size, shuffle=True, seed=config.seed)
        train_ds = tf.data.Dataset.zip(plain, seeds).map(
            lambda batch, pair: (one_pass_affine(batch[0], pair, config), batch[1]),
            num_parallel_calls=tf.data.AUTOTUNE, deterministic=True,
        )  # fmt: skip
    checkpoint = workdir / f"{variant.replace(' ', '-')}-{config.seed}.keras"
    callbacks = make_callbacks(config, checkpoint, True, batchnorm_sample(split, config.seed))
    val_ds = make_dataset(split.x_val, split.y_val, batch_size=1024)
    model.fit(train_ds, validation_data=val_ds, epochs=config.epochs, callbacks=callbacks, verbose=0)
    return keras.models.load_model(checkpoint, compile=False)


def plain_model(seed: int, plain_from: Path, split: Any, workdir: Path) -> keras.Model:
    """The plain recipe's model for `seed`: from `make bench`'s run if there, else trained here."""
    path = plain_from / f"default-seed{seed}" / "models" / "best_model.keras"
    if path.exists():
        return load_model(path)
    from helpers.train import fit_model

    return fit_model(TrainConfig(seed=seed), split, workdir / f"plain-{seed}.keras")[0]


VARIANTS = ("one affine pass", "warm-up average")
"""The old pieces this can put back, one at a time."""


def measure(seeds: list[int], plain_from: Path, variants: list[str]) -> dict[str, Any]:
    """Train each variant on each seed; compare with the plain recipe on the same validation digits."""
    mnist = load_mnist()
    rows: dict[str, dict[str, Any]] = {name: {} for name in ["plain", *variants]}
    right: dict[str, list[np.ndarray]] = {name: [] for name in rows}
    with tempfile.TemporaryDirectory() as scratch:
        for seed in seeds:
            config = TrainConfig(seed=seed)
            split = split_train_val(mnist.x_train, mnist.y_train, val_fraction=config.val_fraction, seed=seed)
            for name in rows:
                print(f"== {name}, seed {seed}", flush=True)
                began = time.perf_counter()
                model = (plain_model(seed, plain_from, split, Path(scratch)) if name == "plain"
                         else train_variant(name, config, split, Path(scratch)))  # fmt: skip
                correct = predict_probabilities(model, split.x_val).argmax(axis=1) == split.y_val
                right[name].append(correct)
                rows[name][str(seed)] = {
                    "errors": int((~correct).sum()),
                    "seconds": round(time.perf_counter() - began),
                }
    result: dict[str, Any] = {"seeds": seeds, "validation_images": len(right["plain"][0]), "runs": rows}
    plain = np.concatenate(right["plain"])
    for name in variants:
        other = np.concatenate(right[name])
        only_plain, only_other = int((plain & ~other).sum()), int((other & ~plain).sum())
        p = binomtest(only_other, only_plain + only_other).pvalue if only_plain + only_other else 1.0
        result[name] = {
            "right_only_with_it": only_other,
            "right_only_plain": only_plain,
            "mcnemar_p": round(p, 4),
        }
    return result


def render(result: dict[str, Any]) -> str:
    """The table of errors per seed, and each piece's paired test against the plain recipe."""
    seeds = [str(s) for s in result["seeds"]]
    head = (
        f"| recipe | validation errors of {result['validation_images']:,}, seeds {', '.join(seeds)} | mean "
    )
    lines = [head + "| digits right only with it / only plain | exact McNemar p |", "|---|---|---|---|---|"]
    for name, runs in result["runs"].items():
        errors = [runs[s]["errors"] for s in seeds]
        paired = result.get(name)
        versus = (
            f"{paired['right_only_with_it']} / {paired['right_only_plain']} | {paired['mcnemar_p']}"
            if paired
            else "- | -"
        )
        lines.append(f"| {name} | {', '.join(map(str, errors))} | {np.mean(errors):.1f} | {versus} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """Measure (or `--render` the recorded result)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[42, 43, 44])
    parser.add_argument("--plain-from", type=Path, default=PROJECT_ROOT / "build" / "bench")
    parser.add_argument("--variants", nargs="+", choices=VARIANTS, default=list(VARIANTS))
    parser.add_argument("--render", action="store_true", help="print the table from the recorded JSON")
    args = parser.parse_args(argv)
    if not args.render:
        save_result(measure(args.seeds, args.plain_from, args.variants), "custom_pieces")
    print(render(load_json(RESULTS / "custom_pieces.json")))


if __name__ == "__main__":
    main()
