"""Checks for the exercises that end each chapter: `check_exercise("02.1", answer)` says whether an
answer is right and why, in one line, without giving the answer away, and returns True or False
(so a worked solution can `assert check_exercise(...)`).

No checker holds a measured result. Each works out the expected answer when it runs, from the
course's own code and data: it builds the network and counts, reads the confusion matrix of this
run's `Evaluation`, or calls your function on test inputs and compares it with the helpers'
reference implementation. What a check needs from your run (the model, an Evaluation) it takes as
keyword context: `check_exercise("03.1", (precision, recall), evaluation=evaluation, digit=9)`.
The exercises are in the chapters (notebooks/NN_*.ipynb, "## Exercises"); worked solutions are in
notebooks/solutions/. TensorFlow is imported only by the checkers that need it.
"""

from __future__ import annotations

import functools
import html
import inspect
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

Checker = Callable[..., tuple[bool, str]]
"""A check: (answer, **context) -> (right?, why), the reason written so as not to reveal the answer."""


@dataclass(frozen=True)
class Exercise:
    """One exercise's check: its key ("NN.M"), what it asks, and the function that checks answers."""

    key: str
    title: str
    check: Checker

    @property
    def context(self) -> dict[str, bool]:
        """The keyword context the check takes, each name mapped to whether it is required."""
        parameters = list(inspect.signature(self.check).parameters.values())[1:]
        return {p.name: p.default is inspect.Parameter.empty for p in parameters}


EXERCISES: dict[str, Exercise] = {}
"""Every exercise that has a check, by key: "02.3" is chapter 02's third exercise."""


def exercise(key: str, title: str) -> Callable[[Checker], Checker]:
    """Decorator: register `check` as the checker of exercise `key`."""

    def register(check: Checker) -> Checker:
        EXERCISES[key] = Exercise(key, title, check)
        return check

    return register


class AnswerError(Exception):
    """Raised inside a checker to say what is wrong with an answer (the message is shown)."""


def check_exercise(key: str, answer: Any, **context: Any) -> bool:
    """Check `answer` to exercise `key`: show one line, right or not yet and why; return if it is right."""
    if key not in EXERCISES:
        raise ValueError(f"unknown exercise {key!r}; the exercises with a check are: {', '.join(EXERCISES)}")
    entry = EXERCISES[key]
    accepted = entry.context
    missing = [name for name, required in accepted.items() if required and name not in context]
    unknown = sorted(set(context) - set(accepted))
    if missing or unknown:
        takes = ", ".join(
            f"{name}=..." + ("" if required else " (optional)") for name, required in accepted.items()
        )
        problem = f"missing {', '.join(missing)}" if missing else f"unexpected {', '.join(unknown)}"
        raise TypeError(
            f"check_exercise({key!r}, answer, ...): {problem}; {key} takes {takes or 'no context'}"
        )
    try:
        right, why = entry.check(answer, **context)
    except AnswerError as reason:
        right, why = False, str(reason)
    show_verdict(key, right, why)
    return right


def show_verdict(key: str, right: bool, why: str) -> None:
    """One line: a coloured HTML line in Jupyter (plain text elsewhere), printed outside it."""
    line = f"{key}: {'right' if right else 'not yet'} — {why}"
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:  # pragma: no cover - IPython comes with the course's environment
        print(line)
        return
    if get_ipython() is None:
        print(line)
        return
    colour, mark = ("#1a7f37", "✔") if right else ("#b35900", "✘")
    display(
        {
            "text/plain": line,
            "text/html": f'<div style="color:{colour}"><b>{mark} {html.escape(line.partition(" — ")[0])}</b>'
            f" — {html.escape(why)}</div>",
        },
        raw=True,
    )


# --- what the checks share ----------------------------------------------------------------------------


@functools.cache
def _mnist() -> Any:
    from helpers.data import load_mnist

    return load_mnist()


def _label_split(**options: Any) -> Any:
    """`split_train_val` of MNIST's training labels (stand-in 1x1 images: only the labels matter here)."""
    from helpers.data import split_train_val

    y = _mnist().y_train
    return split_train_val(np.zeros((len(y), 1, 1), np.uint8), y, **options)


def _number(value: Any, what: str) -> float:
    """`value` as a float, or AnswerError saying a number was expected."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise AnswerError(f"{what} should be a number, got {type(value).__name__}") from None
    if math.isnan(number):
        raise AnswerError(f"{what} is NaN: somewhere a 0/0 slipped through")
    return number


def _pair(value: Any, what: str) -> tuple[Any, Any]:
    """`value` as a pair, or AnswerError saying what was expected."""
    if isinstance(value, str) or not isinstance(value, Sequence | np.ndarray) or len(value) != 2:
        raise AnswerError(f"give {what}")
    return value[0], value[1]


def _compare(answer: float, expected: float, tolerance: float, what: str) -> tuple[bool, str]:
    """Right within `tolerance`; "close" within ten times it; else too high or too low."""
    gap = answer - expected
    if abs(gap) <= tolerance:
        return True, f"{what} (to within ±{tolerance:.2g})"
    if abs(gap) <= 10 * tolerance:
        return False, f"close, but outside the ±{tolerance:.2g} tolerance: rounded too early?"
    return False, f"too {'high' if gap > 0 else 'low'}"


def _call(function: Any, *args: Any) -> Any:
    """Call the learner's function; AnswerError if it is not one or it raises."""
    if not callable(function):
        raise AnswerError(f"pass your function itself (not its result); got {type(function).__name__}")
    try:
        return function(*args)
    except AnswerError:
        raise
    except Exception as exc:
        raise AnswerError(f"your function raised {type(exc).__name__}: {str(exc)[:120]}") from None


def _history(run: Any) -> dict[str, list[float]]:
    """A run's training history, from a `TrainResult` or its record."""
    return run.history if hasattr(run, "history") else run["history"]


def _record(run: Any) -> dict[str, Any]:
    """A run record, from a `TrainResult` or the record itself."""
    return run.record if hasattr(run, "record") else run


def _only_difference(a: Any, b: Any, field: str) -> None:
    """Raise a ValueError unless the configs of runs `a` and `b` differ in `field` alone."""
    ca, cb = _record(a)["config"], _record(b)["config"]
    others = sorted(k for k in ca if k not in (field, "profile") and ca[k] != cb.get(k))
    if others:
        raise ValueError(
            f"the two runs should differ only in {field}; they also differ in {', '.join(others)}"
        )
    if ca[field] == cb[field]:
        raise ValueError(f"the two runs have the same {field}: change it in one of them")


# --- 01 · Explore ---------------------------------------------------------------------------------------


@exercise("01.1", "the rarest digit of the test set, and how many test images it has")
def _rarest_test_digit(answer: Any) -> tuple[bool, str]:
    """Answer: (digit, count)."""
    digit, count = _pair(answer, "a (digit, count) pair")
    counts = np.bincount(_mnist().y_test, minlength=10)
    rarest = int(counts.argmin())
    if digit != rarest:
        if digit == int(counts.argmax()):
            return False, f"{digit} is the most common digit of the test set, not the rarest"
        return False, f"{digit} is not the rarest digit of the test set: compare all ten counts"
    if count == np.bincount(_mnist().y_train, minlength=10)[rarest]:
        return False, "the digit is right, but that is its count in the training set, not the test set"
    if count != counts[rarest]:
        return (
            False,
            f"the digit is right, but the count is too {'high' if count > counts[rarest] else 'low'}",
        )
    return True, "that digit is the rarest of the test set, with that many images"


@exercise("01.2", "how many images of one digit a stratified validation split holds")
def _stratified_count(
    answer: Any, val_fraction: float = 0.15, digit: int = 5, seed: int = 42
) -> tuple[bool, str]:
    """Answer: the number of images of `digit` in the validation split made with `val_fraction`."""
    split = _label_split(val_fraction=val_fraction, seed=seed)
    expected = int((split.y_val == digit).sum())
    count = _number(answer, "the count")
    if count == expected:
        return True, f"that is how many {digit}s the validation split holds: each digit keeps its share"
    if count == int((split.y_train == digit).sum()):
        return False, "that is the count in the training part; the question is about the validation part"
    if count == round(len(split.y_val) / 10):
        return False, "that is a tenth of the validation split, but the digits are not equally common"
    if abs(count - expected) <= 2:
        return False, "close: count split.y_val to see exactly how the stratified split rounded"
    return False, f"too {'high' if count > expected else 'low'}"


@exercise("01.3", "scale(images): uint8 (N, 28, 28) to float32 (N, 28, 28, 1) in [0, 1]")
def _scale(answer: Any) -> tuple[bool, str]:
    """Answer: your scaling function, compared with `helpers.data.scale_images`."""
    from helpers.data import scale_images

    ramp = (np.arange(2 * 28 * 28) % 256).astype(np.uint8).reshape(2, 28, 28)
    for original in (_mnist().x_test[:16], ramp):
        images = original.copy()
        result = np.asarray(_call(answer, images))
        expected = scale_images(original)
        if not np.array_equal(images, original):
            return False, "your function changed the images it was given: work on a copy"
        if result.shape != expected.shape:
            if result.shape == images.shape:
                return False, f"shape {result.shape}: Conv2D wants a trailing channel axis, (N, 28, 28, 1)"
            return False, f"shape {result.shape}, expected (N, 28, 28, 1) for N images"
        if result.dtype != np.float32:
            return False, f"dtype {result.dtype}: the networks compute in float32"
        if result.max() > 1.0 + 1e-6:
            return False, "pixels go above 1: divide by the largest pixel value"
        if not np.allclose(result, expected, atol=1e-6):
            return False, "the values are off: full ink (255) should become exactly 1, background 0"
    return True, "it gives exactly what helpers.data.scale_images gives, shape, dtype and values"


@exercise("01.4", "the digit that uses the most ink on average")
def _most_ink(answer: Any) -> tuple[bool, str]:
    """Answer: the digit whose training images have the highest mean pixel value."""
    mnist = _mnist()
    means = np.array([mnist.x_train[mnist.y_train == d].mean() for d in range(10)])
    digit = _number(answer, "the digit")
    if digit == int(means.argmax()):
        return True, "that digit's training images hold the most ink, on average over all their pixels"
    if digit == int(means.argmin()):
        return False, "that digit uses the least ink of all ten"
    return False, f"{digit:g} is not the one: at least one digit uses more ink on average"


@exercise("01.5", "share_gap(a, b): the largest gap between two label sets' class shares")
def _share_gap(answer: Any) -> tuple[bool, str]:
    """Answer: your function of two label arrays, compared with the chapter's stratification check."""
    split = _label_split()
    cases = [
        (split.y_train, split.y_val),
        (np.zeros(10, np.int64), np.arange(10)),
        (np.arange(9).repeat(3), np.arange(10).repeat(7)),  # digit 9 missing from the first set
    ]
    for a, b in cases:
        shares = [np.bincount(labels, minlength=10) / len(labels) for labels in (a, b)]
        expected = float(np.abs(shares[0] - shares[1]).max())
        got = _number(_call(answer, a, b), "the gap")
        if abs(got - expected) > 1e-9:
            counts = np.abs(np.bincount(a, minlength=10) - np.bincount(b, minlength=10)).max()
            if got == counts:
                return False, "that compares counts; compare shares (count / size): the sets differ in size"
            if got < 0:
                return False, "a gap is never negative: take the absolute difference"
            return False, "not the expected gap on one of the test label sets (is a digit missing from one?)"
    return True, "it measures the gap of class shares as the chapter's check does, on every test set"


# --- 02 · Train -----------------------------------------------------------------------------------------


@exercise("02.1", "the parameters of seed_cnn's Dense(512) layer, by hand")
def _dense_512(answer: Any) -> tuple[bool, str]:
    """Answer: the parameter count of the 512-unit dense layer of `build_seed_cnn()`."""
    from keras import layers

    from helpers.models import build_seed_cnn, count_parameters

    model = build_seed_cnn()
    dense = next(layer for layer in model.layers if isinstance(layer, layers.Dense) and layer.units == 512)
    expected = dense.count_params()
    inputs = int(dense.kernel.shape[0])
    count = _number(answer, "the count")
    if count == expected:
        return True, "that is the parameter count of seed_cnn's Dense(512): weights and biases"
    if count == inputs * 512:
        return False, "those are the weights; add the biases (one per unit)"
    if count == count_parameters(model):
        return False, "that is the whole network; the question is about its Dense(512) layer only"
    return False, (
        f"too {'high' if count > expected else 'low'}: what size does Flatten hand on? Each 'valid' 3x3 "
        "convolution takes a pixel off each side, each pooling halves"
    )


def compact_cnn_with(widths: Sequence[int], dropout: float = 0.25) -> Any:
    """`build_compact_cnn`'s architecture with other widths for its three stages (from `conv_bn_relu`)."""
    import keras
    from keras import layers

    from helpers.models import INPUT_SHAPE, NUM_CLASSES, conv_bn_relu

    inputs = keras.Input(shape=INPUT_SHAPE)
    x = inputs
    for i, filters in enumerate(widths):
        x = conv_bn_relu(x, filters)
        if i < len(widths) - 1:
            x = layers.MaxPooling2D(2)(x)
    x = layers.Dropout(dropout)(layers.Flatten()(x))
    return keras.Model(inputs, layers.Dense(NUM_CLASSES, activation="softmax")(x), name="compact_cnn")


@exercise("02.2", "the parameters of compact_cnn with other widths, by hand")
def _compact_widths(answer: Any, widths: Sequence[int] = (16, 32, 64)) -> tuple[bool, str]:
    """Answer: the parameter count of compact_cnn with stage widths `widths`."""
    from helpers.models import build_compact_cnn, count_parameters

    expected = count_parameters(compact_cnn_with(widths))
    count = _number(answer, "the count")
    if count == expected:
        return (
            True,
            f"that is compact_cnn's parameter count with widths {tuple(widths)}, non-trainable included",
        )
    if count == expected - 2 * sum(widths):
        return False, "that is the trainable part; count_parameters also counts BN's moving mean and variance"
    if count == expected + sum(widths):
        return (
            False,
            "the convolutions in conv_bn_relu have no bias (batch normalisation adds its own offset)",
        )
    if tuple(widths) != (32, 64, 128) and count == count_parameters(build_compact_cnn()):
        return False, "that is compact_cnn with its own widths (32, 64, 128); change them first"
    return False, f"too {'high' if count > expected else 'low'}: count conv, BN and Dense stage by stage"


@exercise("02.3", "a network of your own, registered, within a parameter budget")
def _own_network(answer: Any, max_parameters: int = 20_000) -> tuple[bool, str]:
    """Answer: your builder function (decorated with `@register_model`)."""
    from helpers.config import MODEL_NAMES
    from helpers.models import REGISTRY, check_network, count_parameters, instantiate

    if not callable(answer):
        raise AnswerError("pass your builder function itself, the one you decorated with @register_model")
    names = [name for name, builder in REGISTRY.items() if builder is answer and name not in MODEL_NAMES]
    if any(REGISTRY[name] is answer for name in MODEL_NAMES):
        return False, "that is one of the course's own networks; register one of yours"
    if not names:
        return False, 'it is not in the registry: decorate it with @register_model("a_name")'
    try:
        model = instantiate(answer, dropout=0.0)
        check_network(names[0], model)
    except ValueError as exc:
        return False, str(exc)
    except Exception as exc:
        return False, f"building it raised {type(exc).__name__}: {str(exc)[:120]}"
    count = count_parameters(model)
    if count > max_parameters:
        return False, f"{count:,} parameters is over the budget of {max_parameters:,}"
    return True, f"{names[0]!r} is registered, valid, and within the {max_parameters:,}-parameter budget"


@exercise("02.4", "the step at which the one-cycle learning rate peaks")
def _peak_step(answer: Any, config: Any, steps_per_epoch: int) -> tuple[bool, str]:
    """Answer: the training step (from 0) with the highest learning rate, for `config`."""
    import keras

    from helpers.models import learning_rate

    if config.schedule != "onecycle":
        raise ValueError(
            "this exercise is about the one-cycle schedule: pass a config with schedule='onecycle'"
        )
    schedule = learning_rate(config, steps_per_epoch)
    total = steps_per_epoch * config.epochs
    rates = [float(keras.ops.convert_to_numpy(schedule(step))) for step in range(total)]
    expected = int(np.argmax(rates))
    step = _number(answer, "the step")
    if step == expected:
        return True, "the rate warms up until that step, then decays along the cosine"
    if step == 0:
        return False, "at step 0 the rate is only a tenth of its peak: it warms up first"
    if step == round(steps_per_epoch * config.warmup):
        return False, "the warm-up is a share of all the steps of the run, not of one epoch's"
    if abs(step - expected) <= 1:
        return False, "close: how is the warm-up's length rounded?"
    return False, f"too {'late' if step > expected else 'early'}"


def _what_your_runs_show(agree: bool) -> str:
    """The tail of a predict-then-measure verdict: whether the learner's two short runs agreed."""
    if agree:
        return "; your two runs agree"
    return (
        "; your two short runs show the opposite, which one pair of noisy runs can: "
        "train each on more seeds before believing either"
    )


@exercise("02.5", "with label smoothing off, is the fitted temperature higher or lower?")
def _smoothing_temperature(answer: Any, smoothed: Any, plain: Any) -> tuple[bool, str]:
    """Answer: "higher" or "lower": the temperature without smoothing (`plain`) against `smoothed`'s.
    Graded on the reason; the two runs are only reported, since one pair is noisy."""
    _only_difference(smoothed, plain, "label_smoothing")
    if _record(plain)["config"]["label_smoothing"] != 0:
        raise ValueError("plain= should be the run with label_smoothing=0")
    word = str(answer).strip().lower()
    if word not in ("higher", "lower"):
        raise AnswerError('answer "higher" or "lower"')
    if word != "higher":
        return False, "smoothing trains towards targets below 1: which way does that push the raw confidence?"
    shown = _record(plain)["temperature"] > _record(smoothed)["temperature"]
    return True, "without smoothing the network is less underconfident, so it needs less sharpening" + (
        _what_your_runs_show(shown)
    )


@exercise("02.6", "with augmentation off, does training loss minus validation loss grow or shrink?")
def _augment_gap(answer: Any, augmented: Any, plain: Any) -> tuple[bool, str]:
    """Answer: "grows" or "shrinks": the signed last loss - val_loss without augmenting (`plain`) against
    `augmented`'s. Graded on the reason; the two runs are only reported, since one pair is noisy."""
    _only_difference(augmented, plain, "augment")
    if _record(plain)["config"]["augment"]:
        raise ValueError("plain= should be the run with augment=False")
    word = str(answer).strip().lower()
    if word not in ("grows", "shrinks"):
        raise AnswerError('answer "grows" or "shrinks"')

    def gap(run: Any) -> float:
        history = _history(run)
        return history["loss"][-1] - history["val_loss"][-1]

    if word != "shrinks":
        return False, "without augmentation, is training a harder exam than validation, or an easier one?"
    shown = gap(plain) < gap(augmented)
    return True, "without augmentation training is the easier exam, so its loss falls further" + (
        _what_your_runs_show(shown)
    )


@exercise("02.7", "the whole recipe from Keras alone: as good as the course's model on its validation digits")
def _plain_recipe(answer: Any, run_dir: str = "") -> tuple[bool, str]:
    """Answer: a trained Keras model built from Keras's own layers; compared with the run in `run_dir`
    (its model and its validation split) by an exact McNemar test on the digits where they disagree."""
    import keras

    from helpers.adapt import base_split
    from helpers.config import run_paths
    from helpers.evaluate import compare_paired
    from helpers.predict import load_model, predict_probabilities

    if not isinstance(answer, keras.Model):
        raise AnswerError(f"pass your trained keras.Model, got {type(answer).__name__}")
    foreign = sorted(
        {type(layer).__name__ for layer in answer.layers if not type(layer).__module__.startswith("keras")}
    )
    if foreign:
        return False, f"not from Keras alone: {', '.join(foreign)} come from elsewhere"
    paths = run_paths(run_dir)
    split = base_split(paths.record_file)  # the validation digits the run's model was chosen on
    yours = predict_probabilities(answer, split.x_val).argmax(axis=1) == split.y_val
    course = predict_probabilities(load_model(paths.model_file), split.x_val).argmax(axis=1) == split.y_val
    paired = compare_paired(yours, course)
    counts = (
        f"{paired.only_a} digits only yours reads right, {paired.only_b} only the course's "
        f"(exact McNemar p = {paired.p_value:.2f})"
    )
    if paired.only_a < paired.only_b and paired.p_value < 0.05:
        return (
            False,
            f"behind the course's model by more than chance: {counts}; compare your recipe with 02's",
        )
    return True, f"level with the course's model within the noise: {counts}"


# --- 03 · Evaluate --------------------------------------------------------------------------------------


@exercise("03.1", "one digit's precision and recall, from the confusion matrix")
def _precision_recall(answer: Any, evaluation: Any, digit: int) -> tuple[bool, str]:
    """Answer: (precision, recall) of `digit`, compared with `evaluation.report()`."""
    precision, recall = (_number(v, "each value") for v in _pair(answer, "a (precision, recall) pair"))
    row = evaluation.report()[str(digit)]
    expected = (float(row["precision"]), float(row["recall"]))
    if all(abs(a - e) <= 1e-4 for a, e in zip((recall, precision), expected, strict=True)) and not all(
        abs(a - e) <= 1e-4 for a, e in zip((precision, recall), expected, strict=True)
    ):
        return (
            False,
            "you swapped them: precision divides by a column (all read as the digit), recall by a row",
        )
    for value, target, name in ((precision, expected[0], "precision"), (recall, expected[1], "recall")):
        ok, why = _compare(value, target, 1e-4, name)
        if not ok:
            return False, f"{name}: {why}"
    return True, f"both match classification_report for digit {digit}, to within ±0.0001"


@exercise("03.2", "macro_f1(confusion): macro-averaged F1 from a confusion matrix")
def _macro_f1(answer: Any, evaluation: Any = None) -> tuple[bool, str]:
    """Answer: your function of a 10x10 confusion matrix, compared with scikit-learn's macro F1."""
    from sklearn.metrics import f1_score

    rng = np.random.default_rng(0)
    noisy = rng.integers(0, 20, (10, 10)) + np.diag(rng.integers(50, 200, 10))
    never = noisy.copy()
    never[:, 7] = 0  # digit 7 is never predicted
    matrices = [noisy, never] + ([evaluation.confusion()] if evaluation is not None else [])
    for cm in matrices:
        true = np.repeat(np.arange(10), cm.sum(axis=1))
        pred = np.concatenate([np.repeat(np.arange(10), row) for row in cm])
        expected = f1_score(true, pred, average="macro", labels=range(10), zero_division=0)
        got = _number(_call(answer, np.array(cm)), "its result")
        if abs(got - expected) > 1e-6:
            if abs(got - f1_score(true, pred, average="weighted", labels=range(10), zero_division=0)) < 1e-6:
                return False, "that is the weighted average; macro weights every digit equally"
            if abs(got - np.trace(cm) / cm.sum()) < 1e-6:
                return False, "that is micro-F1, which equals accuracy; macro averages the ten per-digit F1s"
            return False, "not macro F1 on one of the test matrices (one has a digit that is never predicted)"
    return True, "it matches scikit-learn's macro F1 on every test matrix, a never-predicted digit included"


@exercise("03.3", "a 95% interval for the test accuracy (normal approximation)")
def _normal_interval(answer: Any, evaluation: Any) -> tuple[bool, str]:
    """Answer: (low, high) = accuracy ± 1.96 standard errors."""
    from helpers.evaluate import accuracy_interval

    low, high = (_number(v, "each end") for v in _pair(answer, "a (low, high) pair"))
    p, n = evaluation.accuracy, len(evaluation.y_true)
    half = 1.96 * math.sqrt(p * (1 - p) / n)
    if low > high:
        return False, "low is above high"
    wilson = accuracy_interval(p, n)
    if abs(low - wilson[0]) < 1e-5 and abs(high - wilson[1]) < 1e-5 and half > 0:
        return (
            False,
            "that is the Wilson interval (helpers.evaluate.accuracy_interval); this asks for p ± 1.96 SE",
        )
    if half > 0 and abs((high - low) / (2 * half) - 2 / 1.96) < 1e-3:
        return False, "use z = 1.96 for a 95% interval"
    for value, target, name in ((low, p - half, "low end"), (high, p + half, "high end")):
        ok, why = _compare(value, target, 1e-4, name)
        if not ok:
            return False, f"{name}: {why}"
    return True, "that is the accuracy ± 1.96 standard errors, to within ±0.0001"


def _most_confident_accuracy(evaluation: Any, share: float) -> tuple[float, int]:
    """Accuracy on the `share` most confident answers (ties broken by order), and how many they are."""
    keep = round(share * len(evaluation.y_true))
    order = np.argsort(-evaluation.confidence, kind="stable")[:keep]
    return float(evaluation.correct[order].mean()), keep


@exercise("03.4", "the accuracy on the most confident 90% of the test answers")
def _confident_share(answer: Any, evaluation: Any, share: float = 0.9) -> tuple[bool, str]:
    """Answer: the accuracy on the `share` most confident answers."""
    expected, keep = _most_confident_accuracy(evaluation, share)
    value = _number(answer, "the accuracy")
    tolerance = 2 / keep  # two answers either way: ties in confidence may be broken differently
    if abs(value - evaluation.accuracy) < 1e-9 and abs(expected - evaluation.accuracy) > tolerance:
        return False, "that is the accuracy on all the answers; keep only the most confident ones"
    return _compare(value, expected, tolerance, f"that is the accuracy on the {share:.0%} most confident")


@exercise("03.5", "the share of the test mistakes that the confidence threshold flags")
def _flagged_mistakes(answer: Any, evaluation: Any, threshold: float) -> tuple[bool, str]:
    """Answer: among the wrong answers, the share whose confidence is below `threshold`."""
    wrong = ~evaluation.correct
    below = evaluation.confidence < threshold
    expected = float(below[wrong].mean())
    value = _number(answer, "the share")
    if abs(value - float(below.mean())) < 1e-6 and abs(value - expected) > 1e-3:
        return False, "that is the share of all answers flagged; the question is about the mistakes"
    if abs(value - (1 - expected)) < 1e-6 and abs(expected - 0.5) > 1e-3:
        return False, "that is the share of mistakes that get through unflagged"
    return _compare(value, expected, 5e-4, "that share of the mistakes would be flagged as unsure")


# --- 04 · Infer -----------------------------------------------------------------------------------------

ROTATION_ANGLES = tuple(range(0, 91, 5))
"""The angles (degrees) of exercise 04.1's sweep."""


def rotated_accuracy(model: Any, angle: float, n: int = 500) -> float:
    """Accuracy on the first `n` test digits rotated by `angle` degrees (bilinear, corners black)."""
    from scipy import ndimage

    from helpers.data import scale_images
    from helpers.predict import predict_probabilities

    mnist = _mnist()
    images = ndimage.rotate(scale_images(mnist.x_test[:n]), angle, axes=(1, 2), reshape=False, order=1)
    return float((predict_probabilities(model, images).argmax(axis=1) == mnist.y_test[:n]).mean())


@exercise("04.1", "the smallest rotation at which accuracy falls below half")
def _rotation(answer: Any, model: Any, n: int = 500) -> tuple[bool, str]:
    """Answer: the first angle of `ROTATION_ANGLES` at which accuracy on the rotated digits is below 50%."""
    angle = _number(answer, "the angle")
    if angle not in ROTATION_ANGLES:
        return False, "give one of the sweep's angles: 0, 5, 10, ..., 90"
    below = [a for a in ROTATION_ANGLES if rotated_accuracy(model, a, n) < 0.5]
    expected = below[0] if below else None
    if expected is None:
        raise AnswerError("this model stays above 50% up to 90 degrees: no angle breaks it in this sweep")
    if angle == expected:
        return True, "that is where the rotated digits' accuracy first drops below half"
    if angle > expected:
        return False, "too large: accuracy falls below half before that angle"
    return False, "too small: at that angle accuracy is still at least half"


def ink_test_images() -> list[tuple[np.ndarray, bool]]:
    """Grey images (floats in [0, 1]) and whether their ink is dark, for exercise 04.2: MNIST digits
    and the same inverted, thick-marker digits cropped close (ink over about half the image), both
    ways round, and rendered photos of ink on paper, some with a thick marker."""
    from helpers.preprocess import to_grey
    from helpers.samples import change_stroke, render_on_paper

    rng = np.random.default_rng(0)
    cases: list[tuple[np.ndarray, bool]] = []
    for i, digit in enumerate(_mnist().x_test[:12]):
        bright = digit.astype(np.float32) / 255
        thick = change_stroke(digit, 6).astype(np.float32) / 255
        rows, cols = np.flatnonzero(thick.max(axis=1) > 0.5), np.flatnonzero(thick.max(axis=0) > 0.5)
        thick = np.pad(thick[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1], 2)
        cases += [(bright, False), (1 - bright, True), (thick, False), (1 - thick, True)]
        if i < 6:
            photo = render_on_paper(digit, rng, size=200, ink="blue" if i % 2 else "black")
            marker = render_on_paper(digit, rng, size=200, stroke=4, fraction=(0.8, 0.9))
            cases += [(to_grey(photo), True), (to_grey(marker), True)]
    return cases


@exercise("04.2", "ink_is_dark(grey): does an image hold dark ink on light paper?")
def _ink_is_dark(answer: Any) -> tuple[bool, str]:
    """Answer: your function of a grey image, compared with `helpers.preprocess.make_ink_bright`."""
    from helpers.preprocess import make_ink_bright

    misread = {True: 0, False: 0}
    cases = ink_test_images()
    for grey, _ in cases:
        reference = make_ink_bright(grey) is not grey  # it returns the image itself when the ink is bright
        if bool(_call(answer, grey.copy())) != reference:
            misread[reference] += 1
    dark = sum(1 for grey, _ in cases if make_ink_bright(grey) is not grey)
    if any(misread.values()):
        parts = [f"{misread[True]} of the {dark} dark-ink images"] if misread[True] else []
        parts += [f"{misread[False]} of the {len(cases) - dark} bright-ink images"] if misread[False] else []
        return False, f"it misreads {' and '.join(parts)} (thick ink? look where the paper is)"
    return True, f"it agrees with helpers.preprocess.make_ink_bright on all {len(cases)} test images"


@exercise("04.3", "the share of Semeion's answers flagged as unsure")
def _semeion_flagged(answer: Any, model: Any, digits: Any = None) -> tuple[bool, str]:
    """Answer: the share of `predict_images` answers on Semeion (or `digits`) that are flagged."""
    from helpers.data import load_semeion
    from helpers.predict import predict_images

    digits = digits if digits is not None else load_semeion()
    answers = predict_images(model, digits.sources)
    expected = float(np.mean([a.flagged for a in answers]))
    value = _number(answer, "the share")
    wrong = float(np.mean([a.digit != label for a, label in zip(answers, digits.labels, strict=True)]))
    if abs(value - wrong) < 1e-6 and abs(expected - wrong) > 5e-4:
        return False, "that is the share of wrong answers; flagged means below the model's threshold"
    return _compare(value, expected, 5e-4, "that share of the answers is flagged as unsure")


@exercise("04.4", "where preprocess_image puts a digit's centre of mass")
def _centre_of_mass(answer: Any) -> tuple[bool, str]:
    """Answer: (row, column) of the centre of mass of preprocessed digits, averaged over data/samples."""
    from scipy import ndimage

    from helpers.config import PROJECT_ROOT
    from helpers.predict import list_images
    from helpers.preprocess import preprocess_image

    row, col = (_number(v, "each coordinate") for v in _pair(answer, "a (row, column) pair"))
    centres = [
        ndimage.center_of_mass(preprocess_image(f).image)
        for f in list_images(PROJECT_ROOT / "data" / "samples")
    ]
    expected = np.mean(centres, axis=0)
    off = max(abs(row - expected[0]), abs(col - expected[1]))
    if off <= 0.25:
        return True, "that is where the preprocessing puts the mass (within a quarter pixel): MNIST's place"
    if off <= 0.75:
        return False, "half a pixel out: is that the geometric centre of the field? MNIST's rule is its own"
    return False, "not there: preprocess a sample and measure with scipy.ndimage.center_of_mass"


# --- 05 · Trust -----------------------------------------------------------------------------------------


@exercise("05.1", "the smallest FGSM epsilon that halves the accuracy")
def _fgsm_half(answer: Any, model: Any, n: int = 500) -> tuple[bool, str]:
    """Answer: the first epsilon of `FGSM_EPSILONS` at which accuracy on the first `n` test digits is at
    most half the clean accuracy (None if none does)."""
    from helpers.data import scale_images
    from helpers.trust import FGSM_EPSILONS, attack_accuracy

    mnist = _mnist()
    accuracy = attack_accuracy(model, scale_images(mnist.x_test[:n]), mnist.y_test[:n])
    halved = [e for e in FGSM_EPSILONS if e > 0 and accuracy[e] <= accuracy[0.0] / 2]
    expected = halved[0] if halved else None
    if answer is None or expected is None:
        right = answer is expected
        return right, "no epsilon of the grid halves it" if right else "not what the sweep shows"
    value = _number(answer, "epsilon")
    if value not in FGSM_EPSILONS:
        return False, "give one of helpers.trust.FGSM_EPSILONS"
    if value == expected:
        return True, "that is the first epsilon of the grid at which at most half the clean accuracy survives"
    if value > expected:
        return False, "too large: a smaller epsilon of the grid halves the accuracy already"
    return False, "too small: at that epsilon more than half the clean accuracy survives"


@exercise("05.2", "ece(probabilities, labels): expected calibration error with 10 bins")
def _ece(answer: Any, evaluation: Any = None) -> tuple[bool, str]:
    """Answer: your function, compared with `helpers.trust.reliability(p, y, bins=10).ece`."""
    from helpers.trust import reliability

    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.full(10, 0.3), size=2000)
    p[:50] = np.eye(10)[rng.integers(0, 10, 50)]  # some answers with confidence exactly 1
    y = np.where(rng.random(2000) < 0.7, p.argmax(axis=1), rng.integers(0, 10, 2000))
    cases = [(p, y)] + ([(evaluation.probabilities, evaluation.y_true)] if evaluation is not None else [])
    for probabilities, labels in cases:
        expected = reliability(probabilities, labels, bins=10)
        got = _number(_call(answer, probabilities.copy(), labels.copy()), "its result")
        if abs(got - expected.ece) > 1e-4:
            if got > 1:
                return False, "an ECE is at most 1: weight each bin's gap by its share of the answers"
            if abs(got - reliability(probabilities, labels).ece) < 1e-6:
                return False, "that is the ECE with the chapter's 15 bins; this asks for 10"
            gaps = np.abs(expected.accuracy - expected.confidence)[expected.counts > 0]
            if abs(got - gaps.mean()) < 1e-4:
                return (
                    False,
                    "that is the plain mean of the bins' gaps; weight each by its share of the answers",
                )
            return False, "not the ECE on one of the test sets (some answers have confidence exactly 1)"
    return True, "it matches helpers.trust.reliability(p, y, bins=10).ece on every test set"


@exercise("05.3", "completeness_gap(model, images, classes, steps): how far integrated gradients add up")
def _completeness(answer: Any, model: Any) -> tuple[bool, str]:
    """Answer: your function returning, per image, sum(attributions) - (p(image) - p(black))."""
    from helpers.data import scale_images
    from helpers.predict import predict_probabilities
    from helpers.trust import integrated_gradients

    images = scale_images(_mnist().x_test[:4])
    classes = predict_probabilities(model, images).argmax(axis=1)
    rows = np.arange(len(images))
    for steps in (4, 16):
        attributions = integrated_gradients(model, images, classes, steps=steps)
        rise = (
            predict_probabilities(model, images)[rows, classes]
            - predict_probabilities(model, np.zeros_like(images))[rows, classes]
        )
        expected = attributions.reshape(len(images), -1).sum(axis=1) - rise
        got = np.asarray(_call(answer, model, images, classes, steps), dtype=np.float64).reshape(-1)
        if got.shape != expected.shape:
            return False, f"return one gap per image: shape ({len(images)},), got {got.shape}"
        if not np.allclose(got, expected, atol=1e-4):
            if np.allclose(got, np.abs(expected), atol=1e-4):
                return False, "keep the sign: attributions minus the rise, not its absolute value"
            if np.allclose(got, -expected, atol=1e-4):
                return False, "the sign is flipped: sum of attributions minus (p(image) - p(black))"
            return False, f"not the expected gaps with steps={steps}: compare with p(image) - p(black)"
    return True, "it measures how far the attributions fall short of p(image) - p(black), as it should"


@exercise("05.4", "a corruption of your own, with MNIST-C's contract")
def _own_corruption(answer: Any) -> tuple[bool, str]:
    """Answer: your function (images, seed) -> images, uint8 (N, 28, 28) in and out, like `corrupt`."""
    original = _mnist().x_test[:32]
    images = original.copy()
    first = np.asarray(_call(answer, images, 0))
    if not np.array_equal(images, original):
        return False, "it changed the images it was given: work on a copy"
    if first.shape != images.shape or first.dtype != np.uint8:
        return False, f"it returned {first.dtype} {first.shape}; MNIST's layout is uint8 {images.shape}"
    if not np.array_equal(first, np.asarray(_call(answer, images, 0))):
        return False, "the same seed gave different images: draw randomness from np.random.default_rng(seed)"
    if np.mean(first != images) < 0.01:
        return False, "it leaves (almost) every pixel as it was: a corruption should change something"
    single = np.asarray(_call(answer, images[:1], 0))
    if single.shape != (1, 28, 28):
        return False, f"one image in should give (1, 28, 28) out, got {single.shape}"
    return True, "uint8 in, uint8 out, the input untouched, and the same seed gives the same damage"


@exercise("05.5", "what a temperature of 2 does to accuracy and to the ECE")
def _temperature(answer: Any, evaluation: Any, temperature: float = 2.0) -> tuple[bool, str]:
    """Answer: (accuracy after softening by `temperature`, "rises" or "falls" for the ECE)."""
    from helpers.evaluate import apply_temperature
    from helpers.trust import reliability

    accuracy, direction = _pair(answer, 'a pair (accuracy, "rises" or "falls")')
    softened = apply_temperature(evaluation.probabilities, temperature)
    expected = float((softened.argmax(axis=1) == evaluation.y_true).mean())
    ok, why = _compare(_number(accuracy, "the accuracy"), expected, 1e-4, "accuracy")
    if not ok:
        return False, f"accuracy: {why} (does dividing the logits by T change which class is largest?)"
    word = str(direction).strip().lower()
    if word not in ("rises", "falls"):
        raise AnswerError('say whether the ECE "rises" or "falls"')
    before = reliability(evaluation.probabilities, evaluation.y_true).ece
    after = reliability(softened, evaluation.y_true).ece
    if word != ("rises" if after > before else "falls"):
        return (
            False,
            "the accuracy is right, but not the ECE's direction: compare reliability(...).ece both ways",
        )
    return True, f"the ranking, hence the accuracy, is unchanged, and the ECE {word}"


# --- 06 · Adapt ------------------------------------------------------------------------------------------


@exercise("06.1", "the weights that adapting trains: the classifier layer's")
def _classifier_weights(answer: Any, model: Any) -> tuple[bool, str]:
    """Answer: the number of weights and biases in the last layer (of every member, for an ensemble)."""
    from helpers.adapt import members_of

    classifiers = [member.layers[-1] for member in members_of(model)]
    expected = sum(layer.count_params() for layer in classifiers)
    n = _number(answer, "the count")
    if n == expected:
        return True, "those are the weights and biases the recipe trains"
    if n == model.count_params():
        return False, "that is every weight of the model; count the last layer's only"
    if n == sum(int(np.prod(layer.kernel.shape)) for layer in classifiers):
        return False, "close: each of the ten outputs also has a bias"
    return False, f"too {'high' if n > expected else 'low'}: which layer trains, and how wide is its input?"


@exercise("06.2", "draw(labels, pool, k, seed): k examples of each digit from the pool, at random")
def _draw_per_digit(answer: Any) -> tuple[bool, str]:
    """Answer: your function, tried on random labels and pools."""
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, 600)
    pool = rng.random(600) < 0.6
    for k in (1, 3, 7):
        got = np.asarray(_call(answer, labels.copy(), pool.copy(), k, 5))
        if got.ndim != 1 or got.dtype.kind not in "iu":
            return False, "return a 1-D array of integer indices (positions in labels)"
        if len(np.unique(got)) != len(got):
            return False, f"with k={k}, some index comes twice: draw without replacement"
        if not pool[got].all():
            return False, f"with k={k}, some indices are outside the pool"
        if not np.array_equal(np.bincount(labels[got], minlength=10), np.full(10, k)):
            return False, f"with k={k}, the digits are not drawn {k} each"
        again = np.asarray(_call(answer, labels.copy(), pool.copy(), k, 5))
        if not np.array_equal(np.sort(got), np.sort(again)):
            return False, "the same seed gave another draw: take the randomness from the seed"
    other = np.asarray(_call(answer, labels.copy(), pool.copy(), 3, 6))
    if np.array_equal(np.sort(other), np.sort(np.asarray(_call(answer, labels, pool, 3, 5)))):
        return False, "another seed gave the same draw: the seed should choose it"
    return True, "k of each digit, from the pool, no repeats, repeatable for a seed"


@exercise("06.3", "MNIST validation accuracy after adapting without replay")
def _without_replay(answer: Any, model: Any, examples: Any, split: Any) -> tuple[bool, str]:
    """Answer: the accuracy on split.x_val[2000:] of the model adapted with replay=0 (seed 0)."""
    from helpers.adapt import AdaptConfig, adapt_arrays
    from helpers.evaluate import score_model

    images, labels = _pair(examples, "examples=(images, labels)")
    held = split.x_val[2000:], split.y_val[2000:]
    got = _number(answer, "the accuracy")

    def adapted(replay: int) -> float:
        return score_model(
            adapt_arrays(model, images, labels, config=AdaptConfig(replay=replay), mnist=split), *held
        ).accuracy

    ok, why = _compare(got, adapted(0), 5e-4, "MNIST validation accuracy without replay")
    if not ok and abs(got - adapted(AdaptConfig().replay)) <= 5e-4:
        return False, "that is the recipe with replay; set AdaptConfig(replay=0)"
    if not ok and abs(got - score_model(model, *held).accuracy) <= 5e-4:
        return False, "that is the base model's accuracy; measure the adapted one"
    return ok, why


@exercise("06.4", "nearest_mean(features, labels, queries): the digit whose mean feature is nearest")
def _nearest_mean(answer: Any) -> tuple[bool, str]:
    """Answer: your function, compared with a nearest-class-mean reference on random features."""
    rng = np.random.default_rng(0)
    centres = rng.normal(0, 1, (10, 16))
    labels = np.repeat(np.arange(10), 5)
    features = centres[labels] + rng.normal(0, 1.5, (50, 16))
    queries = centres[rng.integers(0, 10, 300)] + rng.normal(0, 1.5, (300, 16))
    means = np.stack([features[labels == d].mean(axis=0) for d in range(10)])
    expected = ((queries[:, None, :] - means[None]) ** 2).sum(axis=2).argmin(axis=1)
    got = np.asarray(_call(answer, features.copy(), labels.copy(), queries.copy()))
    if got.shape != expected.shape:
        return False, f"return one digit per query: shape {expected.shape}, got {got.shape}"
    if np.array_equal(got, expected):
        return True, "it answers the digit of the nearest mean feature vector"
    nearest = labels[((queries[:, None, :] - features[None]) ** 2).sum(axis=2).argmin(axis=1)]
    if np.array_equal(got, nearest):
        return False, "that is the nearest single example; average each digit's examples first"
    return False, f"{np.mean(got != expected):.0%} of the answers differ from the nearest mean (Euclidean)"


# --- 07 · Search -----------------------------------------------------------------------------------------


@exercise("07.1", "the fewest seeds that tell two recipes apart")
def _seeds_needed(answer: Any, std: float, gap: float) -> tuple[bool, str]:
    """Answer: the smallest n with gap >= 2 * std * sqrt(2 / n)."""
    expected = math.ceil(8 * std**2 / gap**2)
    n = _number(answer, "the number of seeds")
    if n == expected:
        return True, f"{expected} seeds each: 2 * std * sqrt(2 / n) <= gap first holds there"
    if n == math.ceil(4 * std**2 / gap**2):
        return False, "that uses the standard error of one mean; the difference of two means has sqrt(2) more"
    if n == expected - 1:
        return False, "one short: at that n the standard error is still a little too large (round up)"
    return False, f"too {'many' if n > expected else 'few'}: solve 2 * std * sqrt(2 / n) <= gap for n"


@exercise("07.2", "suggest_small(trial): learning rate (log scale) and width, the rest default")
def _small_space(answer: Any) -> tuple[bool, str]:
    """Answer: your function, asked by 30 trials of a random-sampling study."""
    import optuna

    from helpers.config import TrainConfig

    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    default = TrainConfig().to_dict()
    for _ in range(30):
        trial = study.ask()
        config = _call(answer, trial)
        if not isinstance(config, TrainConfig):
            return False, f"return a TrainConfig, got {type(config).__name__}"
        study.tell(trial, 0.0)
        changed = {k for k, v in config.to_dict().items() if v != default[k]}
        if changed - {"learning_rate", "width"}:
            return False, f"only the learning rate and the width should change; {sorted(changed)} did"
    distributions = study.trials[0].distributions
    rate, width = distributions.get("learning_rate"), distributions.get("width")
    if not isinstance(rate, optuna.distributions.FloatDistribution) or not rate.log:
        return False, "suggest the learning rate with trial.suggest_float(..., log=True)"
    if (rate.low, rate.high) != (1e-3, 1e-2):
        return False, f"the learning rate should range from 0.001 to 0.01, not {rate.low} to {rate.high}"
    categorical = isinstance(width, optuna.distributions.CategoricalDistribution)
    if not categorical or set(width.choices) != {16, 32, 48}:
        return False, "suggest the width with trial.suggest_categorical('width', [16, 32, 48])"
    return True, "a two-setting space, on the right scales, everything else at its default"


@exercise("07.3", "the epochs that pruning saved in a study")
def _epochs_saved(answer: Any, study: Any) -> tuple[bool, str]:
    """Answer: the sum over pruned trials of the epochs asked for minus the last epoch reported."""
    from optuna.trial import TrialState

    pruned = study.get_trials(states=(TrialState.PRUNED,))
    fixed = study.user_attrs.get("scale", {}).get("max_epochs")  # where the search did not vary epochs
    asked = [t.params.get("epochs", fixed) for t in pruned]
    expected = sum(
        a - max(t.intermediate_values) for a, t in zip(asked, pruned, strict=True) if t.intermediate_values
    )
    n = _number(answer, "the epochs saved")
    if n == expected:
        return True, f"{expected} epochs over {len(pruned)} pruned trial(s)"
    if n == sum(asked):
        return False, "that counts every epoch of the pruned trials; they did train until they were stopped"
    if n == len(pruned):
        return False, "that is the number of pruned trials; count their untrained epochs"
    return False, f"too {'high' if n > expected else 'low'}: epochs asked for minus the last epoch reported"
