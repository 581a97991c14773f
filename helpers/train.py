"""Train a model from a `TrainConfig`: the `tf.data` pipeline, callbacks, fit, calibration, atomic
save and the LiteRT copy; the run record is `helpers.record`, the augmentation `helpers.augment`."""

from __future__ import annotations

import dataclasses
import math
import shutil
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
from helpers.augment import make_augmenter
from helpers.config import RunPaths, TrainConfig
from helpers.data import Split
from helpers.evaluate import choose_threshold, fit_temperature, score, score_model
from helpers.export import export_litert
from helpers.models import NUM_CLASSES, build_model, combine_models, fold_temperature
from helpers.pausepoints import pause_here, requested
from helpers.predict import predict_probabilities, set_threshold
from helpers.progress import say
from helpers.record import describe_threshold, kept_epoch, make_record


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


def make_dataset(
    x: np.ndarray,
    y: np.ndarray,
    batch_size: int,
    *,
    shuffle: bool = False,
    augmenter: keras.Layer | None = None,
    seed: int = 0,
) -> tf.data.Dataset:
    """Batches of images and one-hot labels, prefetched; shuffled with `seed` if `shuffle`, and each
    batch through `augmenter` (`helpers.augment.make_augmenter`) if one is given."""
    ds = tf.data.Dataset.from_tensor_slices((x, tf.one_hot(y, NUM_CLASSES)))
    if shuffle:
        ds = ds.shuffle(len(y), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size)
    if augmenter is not None:
        # One batch at a time, so the random layers draw in the same order on every run.
        ds = ds.map(lambda images, labels: (augmenter(images, training=True), labels))
    return ds.prefetch(tf.data.AUTOTUNE)


BATCHNORM_IMAGES = 2048
"""Training images (unaugmented) that batch-norm statistics are recomputed on for the averaged weights."""


def all_layers(model: keras.Model) -> list[keras.Layer]:
    """Every layer of `model`, and of the models inside it (an ensemble's members)."""
    found = []
    for layer in model.layers:
        found += [layer, *(all_layers(layer) if isinstance(layer, keras.Model) else [])]
    return found


def recompute_batchnorm(model: keras.Model, images: np.ndarray) -> None:
    """Set every batch-norm layer's running statistics to those of `images` under the current
    weights: one forward pass in training mode with momentum 0 and dropout off."""
    found = all_layers(model)
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

    The running statistics are gathered while training, for the raw weights; the average lags
    behind them, so its layers' outputs differ, most in the first epochs. Without an average it
    matters in short runs: the running statistics move 1% per step from their start (variance
    1), so after 32 steps (2,000 images, 2 epochs) a convolution whose outputs vary by 0.003 was
    still normalised by 0.7, and validation read every digit as a 1.
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
    augmenter = make_augmenter(config) if config.augment else None
    train_ds = make_dataset(split.x_train, split.y_train, config.batch_size, shuffle=True,
                            augmenter=augmenter, seed=config.seed)  # fmt: skip
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
        val_score = score(val_probabilities, split.y_val)
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
        val_metrics={"accuracy": val_score.accuracy, "loss": val_score.loss},
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
                "val_accuracy": score_model(member, split.x_val, split.y_val).accuracy,
                "kept_epoch": kept_epoch(config, hist),
            }
            for i, (member, hist) in enumerate(zip(members, histories, strict=True))
        ]
    save_json(record, paths.record_file)
    return TrainResult(model=best, history=histories[0], record=record)


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
