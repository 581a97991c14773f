"""Teach a trained model a new hand: a few of a writer's own labelled digits -> a new, calibrated model.

The recipe (measured in docs/adaptation.md, on Semeion's first half only):
train the classifier layer alone, on batches that mix the writer's digits
(randomly rotated, rescaled and shifted) with MNIST training digits, so that
MNIST is not forgotten, and with half of the features it reads dropped at random
on each step; batch normalisation keeps its statistics. Then fit a new
temperature and confidence threshold, as `make train` does, on MNIST validation
digits plus the writer's set-aside ones.

Command line: `digits adapt FOLDER --out models/NAME.keras [--model BASE]`.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import time
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from helpers.artifacts import file_sha256, load_json, save_json, write_atomic
from helpers.config import run_paths
from helpers.data import load_mnist, split_train_val
from helpers.export import export_litert
from helpers.predict import (
    IMAGE_SUFFIXES,
    Prediction,
    load_model,
    predict_probabilities,
    prepare_digit,
    prepare_inputs,
    set_threshold,
)
from helpers.preprocess import ImageError

# TensorFlow, Keras, and helpers.models, .train and .evaluate (which load them or scikit-learn) are
# imported inside the functions that use them: `digits predict` imports this module and stays light.
if TYPE_CHECKING:
    import tensorflow as tf

FEATURE_STEPS = 20
"""Steps taken in one call (and reported together): their batches go through the frozen layers
together."""
SEED_STREAMS = {"writer picks": 0, "writer views": 10, "replay picks": 20, "replay views": 30, "dropout": 70}
"""Each random draw of a step reads its own stream, the pair (seed, step) plus this offset, so no
two draws correlate (`augment_batch` reads the 4 pairs above the one it is given)."""
LABELLED_NAME = re.compile(r"^(?P<label>[^_]+)_.+$")


class AdaptError(ValueError):
    """The writer's examples cannot be used: a bad label, a digit without examples, unreadable files."""


@dataclass(frozen=True)
class AdaptConfig:
    """How the classifier of a copy is trained: how many steps, at what rate, what each batch holds."""

    steps: int = 300
    learning_rate: float = 3e-3
    batch: int = 48
    """The writer's digits per step (drawn with replacement, augmented)."""
    replay: int = 16
    """MNIST training digits per step, replayed so that MNIST is not forgotten."""
    dropout: float = 0.5
    """Share of the features the classifier reads that are dropped at random on each step (in
    place of the base model's own dropout)."""
    calibration_images: int = 2000
    """MNIST validation digits the temperature and threshold are fitted on, with the writer's."""

    def __post_init__(self) -> None:
        if self.steps < 1 or self.batch < 1 or self.replay < 0 or self.learning_rate <= 0:
            raise ValueError("steps and batch must be at least 1, replay at least 0, learning_rate above 0")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"dropout must be a share in [0, 1), got {self.dropout}")


def read_labelled_folder(folder: str | Path) -> tuple[list[Path], list[int]]:
    """The images in `folder` named `LABEL_anything.ext`, or in its sub-folders `0` to `9`, with labels.

    Raises `AdaptError` for a label that is not a digit, and for a digit with no example.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise AdaptError(f"{folder}: not a folder of labelled digits")
    files: list[Path] = []
    labels: list[str] = []
    for path in sorted(folder.rglob("*")):
        if not path.is_file() or path.suffix.lower() not in IMAGE_SUFFIXES:
            continue
        relative = path.relative_to(folder)
        if len(relative.parts) > 1:
            label = relative.parts[0]
        else:
            match = LABELLED_NAME.match(path.stem)
            if match is None:
                raise AdaptError(
                    f"{relative}: name it LABEL_anything{path.suffix} (e.g. 3_mine{path.suffix})"
                )
            label = match["label"]
        files.append(path)
        labels.append(label)
    bad = sorted({label for label in labels if label not in tuple("0123456789")})
    if bad:
        raise AdaptError(f"{folder}: labels must be digits 0-9, got {', '.join(map(repr, bad))}")
    check_labels([int(label) for label in labels])
    return files, [int(label) for label in labels]


def check_labels(labels: Sequence[int]) -> None:
    """Raise `AdaptError` unless every digit 0-9 has at least one example."""
    values = np.asarray(labels)
    if values.ndim != 1 or values.dtype.kind not in "iu" or np.any((values < 0) | (values > 9)):
        raise AdaptError(
            f"labels must be the digits 0-9 as ints, got {sorted(set(values.ravel().tolist()))[:10]}"
        )
    counts = np.bincount(values.astype(np.int64), minlength=10)
    missing = [str(d) for d in range(10) if counts[d] == 0]
    if missing:
        raise AdaptError(f"no examples of {', '.join(missing)}: give at least one of each digit")


def prepare_examples(sources: Sequence[Any], labels: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """The 28x28 images of `sources` (anything `predict_images` takes) with their labels.

    Raises `AdaptError` naming every source that could not be read.
    """
    if len(sources) != len(labels):
        raise AdaptError(f"{len(sources)} images but {len(labels)} labels")
    check_labels(labels)
    answers, ready = prepare_inputs(sources, prepare_digit, Prediction)
    failed = [a.error for a in answers if a.error]  # each names its source
    if failed:
        raise AdaptError(f"cannot read {len(failed)} of the {len(sources)} images:\n  " + "\n  ".join(failed))
    images = np.stack([image for _, image in ready]).astype(np.float32)[..., None]
    return images, np.asarray(labels, dtype=np.int64)


def set_aside(labels: Sequence[int], share: float = 0.2, seed: int = 0) -> np.ndarray:
    """A mask of the examples kept aside for validation: `share` of each digit's, none of a digit
    with fewer than 3 examples (so each digit keeps at least 2 to learn from)."""
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    aside = np.zeros(len(labels), dtype=bool)
    for digit in range(10):
        where = np.flatnonzero(labels == digit)
        if len(where) >= 3:
            aside[rng.choice(where, round(share * len(where)) or 1, replace=False)] = True
    return aside


def draw_per_digit(labels: Sequence[int], pool: np.ndarray, k: int, seed: int) -> np.ndarray:
    """Indices of `k` examples of each digit, drawn at random (without repeats) where `pool` is True."""
    labels, pool = np.asarray(labels), np.asarray(pool, dtype=bool)
    rng = np.random.default_rng(seed)
    picked = []
    for digit in range(10):
        where = np.flatnonzero(pool & (labels == digit))
        if len(where) < k:
            raise AdaptError(f"only {len(where)} examples of {digit} to draw {k} from")
        picked.append(rng.choice(where, k, replace=False))
    return np.sort(np.concatenate(picked))


def writer_of(path: str | Path) -> str:
    """The writer (source) in a real_dev file name `LABEL_WRITER_N.ext`."""
    return Path(path).stem.split("_")[1]


def adapt_model(
    model: Any,
    sources: Sequence[Any],
    labels: Sequence[int],
    *,
    seed: int = 0,
    config: AdaptConfig = AdaptConfig(),
    mnist: Any = None,
    on_step: Callable[[int, int], None] | None = None,
) -> Any:
    """A copy of `model` adapted to the writer of `sources` (digits `labels`); `model` is untouched.

    The copy comes back calibrated: its temperature is folded in and its
    confidence threshold set, both fitted on MNIST validation digits (`mnist`, a
    `helpers.data.Split`; by default the base run's) and the examples. Deterministic
    for a seed. `on_step(done, total)` reports progress.
    """
    images, targets = prepare_examples(sources, labels)
    return adapt_arrays(model, images, targets, seed=seed, config=config, mnist=mnist, on_step=on_step)


def adapt_arrays(
    model: Any,
    images: np.ndarray,
    labels: np.ndarray,
    *,
    seed: int = 0,
    config: AdaptConfig = AdaptConfig(),
    mnist: Any = None,
    on_step: Callable[[int, int], None] | None = None,
    calibrate_on: tuple[np.ndarray, np.ndarray] | None = None,
) -> Any:
    """`adapt_model` on examples already preprocessed to (N, 28, 28, 1); `calibrate_on` adds the
    writer's set-aside digits to the calibration set. An ensemble has each member adapted."""
    from helpers.models import combine_models

    split = mnist if mnist is not None else base_split()
    members = members_of(model)
    if len(members) == 1:
        adapted = train_copy(model, images, labels, seed, config, split, on_step)
    else:
        total = config.steps * len(members)
        adapted = combine_models(
            [
                train_copy(
                    member,
                    images,
                    labels,
                    seed + 1000 * i,
                    config,
                    split,
                    on_step and (lambda done, _, i=i: on_step(i * config.steps + done, total)),
                )
                for i, member in enumerate(members)
            ]
        )
    cal_x, cal_y = split.x_val[: config.calibration_images], split.y_val[: config.calibration_images]
    if calibrate_on is not None and len(calibrate_on[1]):
        cal_x = np.concatenate([cal_x, calibrate_on[0]])
        cal_y = np.concatenate([cal_y, calibrate_on[1]])
    calibrate_model(adapted, cal_x, cal_y)
    return adapted


def train_copy(
    model: Any,
    images: np.ndarray,
    labels: np.ndarray,
    seed: int,
    config: AdaptConfig,
    split: Any,
    on_step: Callable[[int, int], None] | None,
) -> Any:
    """A copy of one network (not an ensemble): its classifier learned the writer's digits, MNIST replayed."""
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    adapted = frozen_copy(model)
    classifier = adapted.layers[-1]
    steps = tf.function(
        functools.partial(
            train_steps,
            trunk=keras.Model(adapted.inputs, classifier.input),
            classifier=classifier,
            optimizer=keras.optimizers.Adam(config.learning_rate),
            seed=seed,
            config=config,
        )
    )
    # Passed into each call: captured by the traced graph, they outlived the adaptation (170 MB a time).
    digits = TrainingDigits(
        tf.constant(images, tf.float32),
        tf.constant(labels, tf.int64),
        tf.constant(split.x_train),
        tf.constant(split.y_train),
    )
    for first in range(0, config.steps, FEATURE_STEPS):
        count = min(FEATURE_STEPS, config.steps - first)
        steps(tf.constant(first, tf.int32), tf.constant(count, tf.int32), digits)
        if on_step is not None:
            on_step(first + count, config.steps)
    return adapted


def frozen_copy(model: Any) -> Any:
    """A copy of `model` with its weights, every layer frozen but the last: the classifier."""
    import keras

    adapted = keras.models.clone_model(model)
    adapted.set_weights(model.get_weights())
    for layer in adapted.layers[:-1]:
        layer.trainable = False
    return adapted


class TrainingDigits(NamedTuple):
    """The writer's examples and MNIST's training digits, as tensors."""

    writer_x: tf.Tensor
    writer_y: tf.Tensor
    mnist_x: tf.Tensor
    mnist_y: tf.Tensor


def train_steps(
    first: tf.Tensor,
    count: tf.Tensor,
    digits: TrainingDigits,
    *,
    trunk: Any,
    classifier: Any,
    optimizer: Any,
    seed: int,
    config: AdaptConfig,
) -> None:
    """Steps `first` to `first + count - 1`: the frozen trunk reads all their batches at once (only
    the classifier learns, so they do not depend on each other; about twice as fast on a CPU as
    batch by batch), then the classifier takes one step on each."""
    import tensorflow as tf

    features, labels = features_of_steps(first, count, digits, trunk, seed, config)
    for j in tf.range(count):
        classifier_step(classifier, optimizer, features[j], labels[j])


def features_of_steps(
    first: tf.Tensor, count: tf.Tensor, digits: TrainingDigits, trunk: Any, seed: int, config: AdaptConfig
) -> tuple[tf.Tensor, tf.Tensor]:
    """What the classifier reads in steps `first` to `first + count - 1`, with dropout, and the
    labels: each (count, batch + replay, ...)."""
    import tensorflow as tf

    xs, ys = tf.TensorArray(tf.float32, count), tf.TensorArray(tf.int64, count)
    for j in tf.range(count):
        x, y = step_batch(digits, seed, first + j, config)
        xs, ys = xs.write(j, x), ys.write(j, y)
    features = trunk(tf.reshape(xs.stack(), [-1, *digits.writer_x.shape[1:]]), training=False)
    if config.dropout:  # the recipe's own, whatever rate the base model trained with
        features = tf.nn.experimental.stateless_dropout(
            features, config.dropout, seed_pair(seed, first, "dropout")
        )
    return tf.reshape(features, [count, config.batch + config.replay, features.shape[-1]]), ys.stack()


def step_batch(
    digits: TrainingDigits, seed: int, step: tf.Tensor, config: AdaptConfig
) -> tuple[tf.Tensor, tf.Tensor]:
    """Step `step`'s batch: the writer's digits, then the replayed MNIST digits, all augmented."""
    import tensorflow as tf

    picks, views = seed_pair(seed, step, "writer picks"), seed_pair(seed, step, "writer views")
    x, y = draw_views(digits.writer_x, digits.writer_y, config.batch, picks, views)
    if config.replay:
        picks, views = seed_pair(seed, step, "replay picks"), seed_pair(seed, step, "replay views")
        mnist_x, mnist_y = draw_views(digits.mnist_x, digits.mnist_y, config.replay, picks, views)
        x, y = tf.concat([x, mnist_x], 0), tf.concat([y, mnist_y], 0)
    return x, y


def draw_views(
    images: tf.Tensor, labels: tf.Tensor, count: int, picks: tf.Tensor, views: tf.Tensor
) -> tuple[tf.Tensor, tf.Tensor]:
    """`count` of `images` drawn with replacement (seed `picks`), each randomly rotated, rescaled and
    shifted (seed `views`), with their labels."""
    import tensorflow as tf

    from helpers.augment import augment_batch

    picked = tf.random.stateless_uniform([count], picks, 0, labels.shape[0], tf.int32)
    return augment_batch(tf.gather(images, picked), views), tf.gather(labels, picked)


def seed_pair(seed: int, step: tf.Tensor, purpose: str) -> tf.Tensor:
    """The stateless seed of one random draw of step `step`: in `purpose`'s stream (`SEED_STREAMS`)."""
    import tensorflow as tf

    return tf.stack([tf.constant(seed, tf.int32), step]) + SEED_STREAMS[purpose]


def classifier_step(classifier: Any, optimizer: Any, features: tf.Tensor, labels: tf.Tensor) -> None:
    """One optimizer step of the classifier alone, on one batch of the features it reads."""
    import keras
    import tensorflow as tf

    variables = classifier.trainable_variables
    with tf.GradientTape() as tape:
        loss = keras.losses.SparseCategoricalCrossentropy()(labels, classifier(features, training=True))
    optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables, strict=True))


def members_of(model: Any) -> list[Any]:
    """The networks of an ensemble (`helpers.models.combine_models`), or `[model]` for one network."""
    import keras

    return [layer for layer in model.layers if isinstance(layer, keras.Model)] or [model]


def calibrate_model(model: Any, images: np.ndarray, labels: np.ndarray) -> dict[str, Any]:
    """Fit and fold a temperature into `model`, then set its confidence threshold, on these digits."""
    from helpers.evaluate import choose_threshold
    from helpers.train import calibrate

    # An ensemble's temperature goes into each member, as in training.
    temperature = calibrate(members_of(model), images, labels)
    probabilities = predict_probabilities(model, images)
    threshold = choose_threshold(probabilities.max(axis=1), probabilities.argmax(axis=1) == labels)
    set_threshold(model, threshold["value"])
    _CALIBRATION[model] = {"temperature": temperature, "confidence_threshold": threshold}
    return _CALIBRATION[model]


_CALIBRATION: weakref.WeakKeyDictionary[Any, dict[str, Any]] = weakref.WeakKeyDictionary()


def calibration_of(model: Any) -> dict[str, Any]:
    """The temperature and threshold `calibrate_model` fitted for an adapted model."""
    return _CALIBRATION[model]


def base_split(record_file: str | Path | None = None) -> Any:
    """The MNIST train/validation split the base model was trained on (from its run record)."""
    record_file = Path(record_file) if record_file else run_paths().record_file
    try:
        config = load_json(record_file)["config"]
        fraction, seed = float(config["val_fraction"]), int(config["seed"])
    except (OSError, ValueError, KeyError, TypeError):
        fraction, seed = 0.1, 42
    mnist = load_mnist()
    return split_train_val(mnist.x_train, mnist.y_train, val_fraction=fraction, seed=seed)


@dataclass
class Adaptation:
    """An adapted model, its record (what `digits adapt` writes as NAME.json), the base model it
    was adapted from, and the base's split."""

    model: Any
    record: dict[str, Any]
    base: Any
    split: Any

    def save(self, out: str | Path) -> Path:
        """Write `out` (.keras), its record and its LiteRT copy; nothing is left half-written."""
        out = Path(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(out, self.model.save)
        try:
            litert = export_litert(self.model, out, self.split.x_val[:2000], self.split.y_val[:2000])
            save_json({**self.record, "litert": litert}, out.with_suffix(".json"))
        except BaseException:
            out.unlink(missing_ok=True)
            out.with_suffix(".tflite").unlink(missing_ok=True)
            raise
        self.record["litert"] = litert
        return out


def check_output(out: str | Path, base: str | Path | None = None) -> tuple[Path, Path]:
    """The adapted model's file and the base model's, checked: `out` ends in .keras and replaces
    neither the base nor the project's best model; the base is a Keras file that exists."""
    out = Path(out)
    if out.suffix != ".keras":
        raise AdaptError(f"{out}: the adapted model's file must end in .keras")
    base_file = Path(base) if base else run_paths().model_file
    if out.resolve() in (base_file.resolve(), run_paths().model_file.resolve()):
        raise AdaptError(f"{out}: choose another name; adapting never replaces {base_file.name}")
    if base_file.suffix != ".keras" or not base_file.is_file():
        raise AdaptError(
            f"{base_file}: no Keras model to adapt there (run `make train`, or pass --model FILE.keras)"
        )
    return out, base_file


def adapt_writer(
    base_file: str | Path,
    sources: Sequence[Any],
    labels: Sequence[int],
    *,
    seed: int = 0,
    config: AdaptConfig = AdaptConfig(),
    on_step: Callable[[int, int], None] | None = None,
) -> Adaptation:
    """Adapt the Keras model in `base_file` to a writer's labelled digits, a fifth of each digit's
    set aside to score it on; the record holds the figures before and after."""
    from helpers.evaluate import score_model

    base_file = Path(base_file)
    began = time.perf_counter()
    images, targets = prepare_examples(sources, labels)
    model = load_model(base_file)  # safe mode, and checked to be a digit classifier
    aside = set_aside(targets, seed=seed)
    split = base_split(base_file.with_suffix(".json"))
    adapted = adapt_arrays(
        model,
        images[~aside],
        targets[~aside],
        seed=seed,
        config=config,
        mnist=split,
        on_step=on_step,
        calibrate_on=(images[aside], targets[aside]),
    )
    seconds = time.perf_counter() - began
    mnist_val = split.x_val[config.calibration_images :], split.y_val[config.calibration_images :]
    record = {
        "adapted_from": {"file": base_file.name, "sha256": file_sha256(base_file)},
        "examples_per_digit": np.bincount(targets, minlength=10).tolist(),
        "set_aside_per_digit": np.bincount(targets[aside], minlength=10).tolist(),
        "adapt_config": dataclasses.asdict(config),
        "seed": seed,
        "seconds": round(seconds, 2),
        "validation": {
            "writer_before": score_model(model, images[aside], targets[aside]).accuracy,
            "writer_after": score_model(adapted, images[aside], targets[aside]).accuracy,
            "writer_images": int(aside.sum()),
            "mnist_before": score_model(model, *mnist_val).accuracy,
            "mnist_after": score_model(adapted, *mnist_val).accuracy,
            "mnist_images": len(mnist_val[1]),
        },
        "temperature": calibration_of(adapted)["temperature"],
        "confidence_threshold": calibration_of(adapted)["confidence_threshold"],
    }
    return Adaptation(adapted, record, model, split)


def adapt_folder(
    folder: str | Path,
    out: str | Path,
    *,
    base: str | Path | None = None,
    seed: int = 0,
    config: AdaptConfig = AdaptConfig(),
    on_step: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Adapt the base model to the labelled digits in `folder`; write `out` (.keras), its record and
    its LiteRT copy; return the record. Nothing is written if any step fails."""
    out, base_file = check_output(out, base)
    files, labels = read_labelled_folder(folder)
    adaptation = adapt_writer(base_file, files, labels, seed=seed, config=config, on_step=on_step)
    adaptation.save(out)
    return adaptation.record


def describe_adaptation(record: dict[str, Any]) -> list[str]:
    """What an adaptation record says, as lines for the command line and the app."""
    v = record["validation"]
    per_digit = record["examples_per_digit"]
    lines = [
        f"learned from {sum(per_digit) - sum(record['set_aside_per_digit'])} digits "
        f"({min(per_digit)}-{max(per_digit)} per digit given) in {record['seconds']:.1f} s"
    ]
    if v["writer_images"]:
        lines.append(
            f"your {v['writer_images']} set-aside digits: {v['writer_before']:.1%} before, "
            f"{v['writer_after']:.1%} after"
        )
    else:
        lines.append("no digits set aside to check it on (give 3 or more of each digit)")
    lines.append(
        f"MNIST ({v['mnist_images']} validation digits): {v['mnist_before']:.2%} before, "
        f"{v['mnist_after']:.2%} after"
    )
    return lines


__all__ = [
    "AdaptConfig",
    "AdaptError",
    "Adaptation",
    "ImageError",
    "adapt_arrays",
    "adapt_folder",
    "adapt_model",
    "adapt_writer",
    "calibrate_model",
    "calibration_of",
    "check_output",
    "describe_adaptation",
    "draw_per_digit",
    "members_of",
    "read_labelled_folder",
    "set_aside",
    "train_copy",
    "writer_of",
]
