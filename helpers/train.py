"""Train a model from a `TrainConfig`: data pipeline, callbacks, atomic save, run record."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import math
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from helpers.artifacts import save_json, write_atomic
from helpers.config import PROJECT_ROOT, RunPaths, TrainConfig
from helpers.data import Split
from helpers.evaluate import choose_threshold, fit_temperature
from helpers.export import export_litert
from helpers.models import build_model, combine_models, count_parameters, fold_temperature
from helpers.pausepoints import pause_here, requested
from helpers.predict import predict_probabilities, set_threshold
from helpers.progress import say


@dataclass
class TrainResult:
    """What a training run produced: the best model, its history and its record."""

    model: keras.Model
    history: dict[str, list[float]]
    record: dict[str, Any]


class EpochLog(keras.callbacks.Callback):
    """Print one short line per epoch instead of Keras's per-batch progress bar (also to the
    terminal that runs `make all`, through `helpers.progress.say`)."""

    def __init__(self, epochs: int, stream: Any = None) -> None:
        super().__init__()
        self.epochs = epochs
        self.stream = stream or sys.stdout
        self._start = 0.0

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        logs = logs or {}
        lr = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
        line = (
            f"epoch {epoch + 1:>2}/{self.epochs}"
            f"  loss {logs.get('loss', float('nan')):.4f}"
            f"  acc {logs.get('accuracy', float('nan')):.4f}"
            f"  val_loss {logs.get('val_loss', float('nan')):.4f}"
            f"  val_acc {logs.get('val_accuracy', float('nan')):.4f}"
            f"  lr {lr:.1e}  {time.perf_counter() - self._start:5.1f} s"
        )
        print(line, file=self.stream, flush=True)
        say(line)  # and to the terminal running `make all`


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


def make_dataset(
    x: np.ndarray,
    y: np.ndarray,
    batch_size: int,
    *,
    shuffle: bool = False,
    augment: bool = False,
    elastic: float = 0.0,
    seed: int = 0,
    ranges: dict[str, float] | None = None,
) -> tf.data.Dataset:
    """A batched, prefetched `tf.data` pipeline; rotates, rescales and shifts on the fly if `augment`
    (within `ranges`, by default `AUGMENT_RANGES`; and distorts elastically, with `elastic` > 0)."""
    ds = tf.data.Dataset.from_tensor_slices((x, y))
    if shuffle:
        ds = ds.shuffle(len(y), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size)
    if augment:
        # One seed pair per batch, from a seeded stream: parallel and repeatable.
        seeds = tf.data.Dataset.random(seed=seed).batch(2)
        ds = tf.data.Dataset.zip(ds, seeds).map(
            lambda batch, pair: (augment_batch(batch[0], pair, elastic, ranges), batch[1]),
            num_parallel_calls=tf.data.AUTOTUNE,
            deterministic=True,
        )
    return ds.prefetch(tf.data.AUTOTUNE)


BATCHNORM_IMAGES = 2048
"""Training images (unaugmented) that batch-norm statistics are recomputed on for the averaged weights."""


def recompute_batchnorm(model: keras.Model, images: np.ndarray) -> None:
    """Set every batch-norm layer's running statistics to those of `images` under the current
    weights: one forward pass in training mode with momentum 0 and dropout off."""
    found = list(model._flatten_layers(include_self=False))
    norms = [layer for layer in found if isinstance(layer, keras.layers.BatchNormalization)]
    drops = [layer for layer in found if isinstance(layer, keras.layers.Dropout)]
    saved = [layer.momentum for layer in norms], [layer.rate for layer in drops]
    try:
        for layer in norms:
            layer.momentum = 0.0
        for layer in drops:
            layer.rate = 0.0
        model(images, training=True)
    finally:
        for layer, momentum in zip(norms, saved[0], strict=True):
            layer.momentum = momentum
        for layer, rate in zip(drops, saved[1], strict=True):
            layer.rate = rate


class RecomputeBatchNorm(keras.callbacks.Callback):
    """Before each validation, give the weights being validated (the moving average) batch-norm
    statistics of their own.

    The running statistics are kept while training, for the raw weights; the averaged ones
    lag behind them. After epoch 1 of the default run that mismatch cost the average 62% on
    validation against 98.5% with statistics recomputed; later the two agree within 0.1%.
    Without an average it matters in short runs: the running statistics move 1% per step from
    their start (variance 1), so after 32 steps (2,000 images, 2 epochs) a convolution whose
    outputs vary by 0.003 was still normalised by 0.7, and validation read every digit as a 1.
    """

    def __init__(self, images: np.ndarray) -> None:
        super().__init__()
        self.images = images

    def on_test_begin(self, logs: dict | None = None) -> None:
        recompute_batchnorm(self.model, self.images)


class ProgressCallback(keras.callbacks.Callback):
    """Report training to a user interface: `on_batch(batch)` every `every` batches,
    `on_epoch(epoch, history)` after each epoch; stop after the batch where `should_stop()`."""

    def __init__(
        self,
        on_batch: Callable[[int], None],
        on_epoch: Callable[[int, dict[str, list[float]]], None],
        should_stop: Callable[[], bool],
        every: int = 10,
    ) -> None:
        super().__init__()
        self.on_batch, self.on_epoch, self.should_stop, self.every = on_batch, on_epoch, should_stop, every
        self.history: dict[str, list[float]] = {}

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self.on_batch(0)

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        if batch % self.every == 0:  # a widget message per batch would flood the browser
            self.on_batch(batch + 1)
        if self.should_stop():
            self.model.stop_training = True

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(float(value))
        self.on_epoch(epoch, self.history)
        if self.should_stop():
            self.model.stop_training = True


def make_callbacks(
    config: TrainConfig, checkpoint: Path, verbose: bool = True, batchnorm_images: np.ndarray | None = None
) -> list[keras.callbacks.Callback]:
    """A checkpoint of the weights to keep: with the one-cycle schedule the last epoch's (which
    beat the best epoch by validation accuracy on held-out halves of the split, over 3 seeds:
    docs/experiments.md); with the plateau schedule the best epoch by validation accuracy, with
    early stopping and learning-rate halving, both watching validation. With a moving average of
    the weights, that average is what gets validated and saved. Before each validation, batch-norm
    statistics are recomputed on `batchnorm_images` for the weights being validated."""
    callbacks: list[keras.callbacks.Callback] = []
    if config.ema:
        # Validate, checkpoint and report the averaged weights, not the raw ones:
        # this must come before the checkpoint and any callback that measures.
        callbacks.append(keras.callbacks.SwapEMAWeights(swap_on_epoch=True))
    if batchnorm_images is not None:  # for the average's weights, and for runs too short for the running ones
        callbacks.append(RecomputeBatchNorm(batchnorm_images))
    # One-cycle: keep the final (averaged) weights, the ones the annealing made; plateau: the best epoch.
    best_only = config.schedule == "plateau"
    callbacks.append(
        keras.callbacks.ModelCheckpoint(checkpoint, monitor="val_accuracy", save_best_only=best_only)
    )
    if config.schedule == "plateau":
        callbacks += [
            keras.callbacks.EarlyStopping(monitor="val_accuracy", patience=config.patience),
            keras.callbacks.ReduceLROnPlateau(
                monitor="val_loss", factor=0.5, patience=max(1, config.patience // 2), min_lr=1e-5
            ),
        ]
    if verbose:
        callbacks.append(EpochLog(config.epochs))
    return callbacks


class PauseAt(keras.callbacks.Callback):
    """Hold training where a test asked (helpers.pausepoints): after the first batch, or once
    the first epoch's checkpoint is written (`train_model` adds it after `make_callbacks`'s)."""

    POINTS = ("training", "epoch end")

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        pause_here("training")

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        pause_here("epoch end")


def fit_model(
    config: TrainConfig,
    split: Split,
    checkpoint: Path,
    *,
    extra_callbacks: list[keras.callbacks.Callback] | None = None,
    verbose: bool = True,
) -> tuple[keras.Model, dict[str, list[float]]]:
    """Train one network with `config.seed`; return its best epoch (reloaded) and its history."""
    keras.utils.set_random_seed(config.seed)
    steps_per_epoch = math.ceil(len(split.y_train) / config.batch_size)
    model = build_model(config, steps_per_epoch)
    train_ds = make_dataset(
        split.x_train, split.y_train, config.batch_size,
        shuffle=True, augment=config.augment, elastic=config.elastic, seed=config.seed,
        ranges=augment_ranges(config),
    )  # fmt: skip
    val_ds = make_dataset(split.x_val, split.y_val, batch_size=1024)
    callbacks = make_callbacks(config, checkpoint, verbose, batchnorm_sample(split, config.seed))
    history = model.fit(
        train_ds,
        validation_data=val_ds,
        epochs=config.epochs,
        callbacks=callbacks + list(extra_callbacks or []),
        shuffle=False,  # the dataset shuffles itself
        verbose=0,  # EpochLog prints one line per epoch instead
    )
    # The checkpoint also holds Adam's state; reloaded without it, the model is 3x smaller.
    best = keras.models.load_model(checkpoint, compile=False)
    return best, {name: [float(v) for v in values] for name, values in history.history.items()}


def batchnorm_sample(split: Split, seed: int) -> np.ndarray:
    """`BATCHNORM_IMAGES` training images (unaugmented), in their split order, picked by `seed`."""
    picked = np.random.default_rng(seed).permutation(len(split.y_train))[:BATCHNORM_IMAGES]
    return split.x_train[np.sort(picked)]


def train_model(
    config: TrainConfig,
    split: Split,
    paths: RunPaths,
    *,
    data_sha256: str | None = None,
    extra_callbacks: list[keras.callbacks.Callback] | None = None,
    verbose: bool = True,
    export: bool = True,
) -> TrainResult:
    """Train `config.model`, keep the best epoch by validation accuracy, save it and its record.

    With `config.ensemble` > 1, trains that many models on the same split (seeds
    `config.seed`, +1, ...) and saves one model that averages them; `history` is
    the first member's. The model goes to `paths.model_file` and the record to
    `paths.record_file`, both replaced atomically, so an interrupted run leaves
    the previous model intact. With `export`, its LiteRT copy goes beside it
    (`helpers.export.export_litert`), described in the record's `"litert"`.
    """
    if config.batch_size > len(split.y_train):
        raise ValueError(
            f"batch_size must be at most the training set size ({len(split.y_train)}), "
            f"got {config.batch_size}"
        )
    paths.ensure()
    extra_callbacks = list(extra_callbacks or [])
    if requested() in PauseAt.POINTS:  # only when a test asked; a batch hook costs every step
        extra_callbacks.append(PauseAt())
    workdir = Path(tempfile.mkdtemp(prefix=".train-", dir=paths.models))
    members, histories, seconds = [], [], 0.0
    try:
        for i in range(config.ensemble):
            member_config = dataclasses.replace(config, seed=config.seed + i)
            if verbose and config.ensemble > 1:
                print(f"member {i + 1} of {config.ensemble} (seed {member_config.seed})", flush=True)
                say(f"member {i + 1} of {config.ensemble} (seed {member_config.seed})")
            began = time.perf_counter()
            model, hist = fit_model(
                member_config,
                split,
                workdir / f"member-{i + 1}.keras",
                extra_callbacks=extra_callbacks,
                verbose=verbose,
            )
            seconds += time.perf_counter() - began
            members.append(model)
            histories.append(hist)
        temperature = calibrate(members, split.x_val, split.y_val)
        best = members[0] if len(members) == 1 else combine_models(members)
        val_probabilities = predict_probabilities(best, split.x_val)
        val_loss, val_accuracy = score_probabilities(val_probabilities, split.y_val)
        threshold = choose_threshold(
            val_probabilities.max(axis=1), val_probabilities.argmax(axis=1) == split.y_val
        )
        set_threshold(best, threshold["value"])
        if verbose:
            say(describe_threshold(threshold))
        write_atomic(paths.model_file, best.save)
        litert = export_litert(best, paths.model_file, split.x_val, split.y_val) if export else None
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    record = make_record(
        config,
        model=best,
        history=histories[0],
        val_metrics={"accuracy": float(val_accuracy), "loss": float(val_loss)},
        seconds=seconds,
        split=split,
        data_sha256=data_sha256,
        model_file=paths.model_file,
        epochs_trained=sum(len(h["loss"]) for h in histories),
    )
    record["confidence_threshold"] = threshold
    record["temperature"] = temperature
    if litert is not None:
        record["litert"] = litert
    if len(members) > 1:
        record["members"] = [
            {
                "seed": config.seed + i,
                "val_accuracy": evaluate_split(member, split.x_val, split.y_val)[1],
                "kept_epoch": kept_epoch(config, hist),
            }
            for i, (member, hist) in enumerate(zip(members, histories, strict=True))
        ]
    save_json(record, paths.record_file)
    return TrainResult(model=best, history=histories[0], record=record)


def describe_threshold(threshold: dict[str, float]) -> str:
    """One line on the confidence threshold `choose_threshold` picked on validation."""
    return (
        f"confidence threshold {threshold['value']:.3f}: answers below it are flagged as unsure "
        f"({threshold['flagged_share']:.1%} of validation; {threshold['kept_accuracy']:.2%} right above it, "
        f"target {threshold['target_accuracy']:.1%})"
    )


def calibrate(members: list[keras.Model], images: np.ndarray, labels: np.ndarray) -> float:
    """Fit one temperature on held-out digits (the validation split; by the likelihood of their
    labels, for the average of `members`) and fold it into each member's classifier, so the
    probabilities the saved model reports are calibrated; return it.

    Label smoothing leaves a model underconfident (the default run: 8.0% expected calibration error
    on test without this, 0.1% with it); the ranking of the classes, hence every answer, is unchanged.
    """
    probabilities = [predict_probabilities(member, images) for member in members]
    temperature = fit_temperature(probabilities, labels)
    for member in members:
        fold_temperature(member, temperature)
    return temperature


def describe_curves(history: dict[str, list[float]], validation_images: int | None = None) -> list[str]:
    """What a run's training curves show, in sentences computed from its history.

    Memorising would show as validation loss turning up (by over 5% from its lowest)
    while training loss still falls; anything else is said as it is. With the size of
    the validation split, a late change in validation accuracy is set against the noise
    of one measurement (the 95% half-width at that accuracy), and so is a gap between
    training and validation error.
    """
    loss, val_loss = np.asarray(history["loss"]), np.asarray(history["val_loss"])
    val_accuracy = np.asarray(history["val_accuracy"])
    error = 1 - val_accuracy
    epochs, below, lowest = len(loss), int((val_loss < loss).sum()), int(val_loss.argmin())
    sentences = [f"Validation loss is below training loss in {below} of {epochs} epochs."]
    if below > epochs / 2 and loss[-1] <= val_loss[-1]:
        sentences[0] += (
            f" By epoch {epochs} training loss ({loss[-1]:.4f}) has caught up with validation loss "
            f"({val_loss[-1]:.4f}): more epochs would mostly fit the training images better."
        )
    noise = None
    if validation_images:
        from helpers.evaluate import accuracy_interval

        low, high = accuracy_interval(float(val_accuracy[-1]), validation_images)
        noise = (high - low) / 2
    if "accuracy" in history:
        train_error = 1 - np.asarray(history["accuracy"])
        harder = int((train_error > error).sum())
        crossed = np.flatnonzero(train_error <= error)
        sentence = (
            f"Training error (augmented images, dropout on) is above validation error in {harder} of "
            f"{epochs} epochs; after the last it is {train_error[-1]:.2%} against {error[-1]:.2%} "
            "on validation"
        )
        if crossed.size:
            sentence += f", training having first come level at epoch {crossed[0] + 1}"
        if noise is not None and abs(train_error[-1] - error[-1]) <= noise:
            sentence += ": level, within the noise of the validation measurement."
        elif train_error[-1] < error[-1]:
            sentence += ": training has become the easier exam."
        else:
            sentence += "."
        sentences.append(sentence)
    if val_loss[-1] > 1.05 * val_loss[lowest] and loss[-1] < loss[lowest]:
        sentences.append(
            f"Validation loss was lowest at epoch {lowest + 1} and has risen since, while training "
            "loss kept falling: the model has begun to memorise the training set."
        )
    else:
        sentences.append(
            f"Validation loss is lowest at epoch {lowest + 1} of {epochs} and has not turned up: "
            "no sign of memorising in this run."
        )
    if epochs >= 4:
        half = epochs // 2
        sentences.append(
            f"Validation error fell from {error[0]:.2%} after epoch 1 to {error[half - 1]:.2%} after "
            f"epoch {half} and {error[-1]:.2%} after epoch {epochs}: the second half of the run "
            f"removed {1 - error[-1] / error[half - 1]:.0%} of the errors left at its midpoint."
        )
        if noise is not None:
            change = float(val_accuracy[-1] - val_accuracy[half - 1])
            images = round(abs(change) * validation_images)
            verdict = "within" if abs(change) <= noise else "beyond"
            sentences.append(
                f"That is {images:,} validation image{'s' * (images != 1)}: a change of {change * 100:+.2f} "
                f"points, {verdict} the ±{noise * 100:.2f} points one measurement on {validation_images:,} "
                "validation images carries."
            )
    return sentences


def evaluate_split(model: Any, x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Mean cross-entropy and accuracy of `model` (Keras or LiteRT) on images `x`, labels `y`."""
    return score_probabilities(predict_probabilities(model, x), y)


def score_probabilities(probabilities: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Mean cross-entropy and accuracy of class probabilities (N, 10) against labels `y`."""
    picked = probabilities[np.arange(len(y)), y]
    loss = float(-np.mean(np.log(np.clip(picked, 1e-7, 1.0))))
    return loss, float((probabilities.argmax(axis=1) == y).mean())


def make_record(
    config: TrainConfig,
    *,
    model: keras.Model,
    history: dict[str, list[float]],
    val_metrics: dict[str, float],
    seconds: float,
    split: Split,
    data_sha256: str | None,
    model_file: Path,
    epochs_trained: int | None = None,
) -> dict[str, Any]:
    """Describe a run: what was trained, on what, how well, how fast, with which libraries.

    `epochs_trained` counts every epoch `seconds` paid for (all members of an
    ensemble); by default, the epochs of `history`.
    """
    epochs_run = len(history.get("loss", []))
    return {
        "config": config.to_dict(),
        "model": {
            "name": config.model,
            "parameters": count_parameters(model),
            "file": model_file.name,
            "file_bytes": model_file.stat().st_size,
        },
        "validation": val_metrics,
        "kept_epoch": kept_epoch(config, history) if epochs_run else None,
        "epochs_run": epochs_run,
        "train_seconds": round(seconds, 2),
        "seconds_per_epoch": round(seconds / max(epochs_trained or epochs_run, 1), 2),
        "history": history,
        "data": {"sha256": data_sha256, **split.sizes()},
        "versions": library_versions(),
        "git_commit": git_commit(),
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {"cpu_count": os.cpu_count(), "cpu": cpu_name(), "platform": platform.platform()},
    }


def kept_epoch(config: TrainConfig, history: dict[str, list[float]]) -> int:
    """The epoch (from 1) whose weights `make_callbacks`'s checkpoint keeps: the last with the
    one-cycle schedule, else the first with the highest validation accuracy."""
    if config.schedule == "onecycle":
        return len(history["loss"])
    return int(np.argmax(history["val_accuracy"])) + 1


def cpu_name() -> str:
    """The CPU's model name, as the system reports it."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    return platform.processor() or platform.machine()


def library_versions() -> dict[str, str]:
    """Versions of Python and the libraries that shape the results."""
    import matplotlib
    import sklearn

    return {
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": np.__version__,
        "scikit-learn": sklearn.__version__,
        "matplotlib": matplotlib.__version__,
    }


def git_commit() -> str | None:
    """The current commit of the project, with '-dirty' if it has changes; None outside git."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()

    try:
        commit = git("rev-parse", "HEAD")
        return commit + ("-dirty" if git("status", "--porcelain", "--untracked-files=no") else "")
    except (OSError, subprocess.SubprocessError):
        return None
