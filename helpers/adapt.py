"""Teach a trained model a new hand: a few of a writer's own labelled digits -> a new, calibrated model.

The recipe (measured in docs/adaptation.md, on Semeion's first half only):
train the classifier layer alone, on batches that mix the writer's digits
(randomly rotated, rescaled and shifted, as in training) with MNIST training
digits, so that MNIST is not forgotten, and with half of the features it reads
dropped at random on each step; the frozen layers, batch normalisation included,
stay as they were. Then fit a new
temperature and confidence threshold, as `make train` does, on MNIST validation
digits plus the writer's set-aside ones.

Command line: `digits adapt FOLDER --out models/NAME.keras [--model BASE]`.
"""

from __future__ import annotations

import dataclasses
import re
import time
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

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
    """A copy of one network (not an ensemble) whose classifier learned the writer's digits."""
    import keras

    from helpers.train import ProgressCallback

    keras.utils.set_random_seed(seed)
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    trunk = keras.Model(copy.inputs, copy.layers[-1].input)  # everything before the classifier
    trunk.trainable = False  # keeps what MNIST taught it
    inputs = keras.Input(shape=model.input_shape[1:])
    features = keras.layers.Dropout(config.dropout)(trunk(inputs, training=False))
    learner = keras.Model(inputs, copy.layers[-1](features))  # the copy's own classifier learns
    learner.compile(optimizer=keras.optimizers.Adam(config.learning_rate), loss="categorical_crossentropy")
    steps = config.steps
    progress = ProgressCallback(  # every 10 steps, and once the pass is done
        lambda done: on_step(done, steps), lambda *_: on_step(steps, steps), lambda: False
    )
    batches = adaptation_batches(images, labels, split, config, seed)
    learner.fit(batches, epochs=1, shuffle=False, verbose=0, callbacks=[progress] if on_step else [])
    return copy


def adaptation_batches(
    images: np.ndarray, labels: np.ndarray, split: Any, config: AdaptConfig, seed: int
) -> tf.data.Dataset:
    """`config.steps` batches, each `config.batch` of the writer's digits and `config.replay` MNIST
    training digits (from `split`), drawn with replacement and augmented as in training."""
    from helpers.augment import make_augmenter
    from helpers.train import make_dataset

    rng = np.random.default_rng(seed)
    mine = rng.integers(len(labels), size=(config.steps, config.batch))
    replayed = rng.integers(len(split.y_train), size=(config.steps, config.replay))
    x = np.concatenate([images[mine], split.x_train[replayed]], axis=1)
    y = np.concatenate([labels[mine], split.y_train[replayed]], axis=1)
    x, y = x.reshape(-1, *images.shape[1:]), y.reshape(-1)
    return make_dataset(x, y, config.batch + config.replay, augmenter=make_augmenter(seed=seed))


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
