"""Metrics on a labelled set: accuracy, precision/recall/F1, confusion, error lists; and how
our preprocessing compares with a naive one on realistic images."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.stats import binomtest
from sklearn.metrics import classification_report, confusion_matrix

from helpers.data import DigitSet
from helpers.predict import Prediction, predict_images, predict_probabilities
from helpers.preprocess import preprocess_naively
from helpers.samples import Rendering


@dataclass(frozen=True)
class Score:
    """An accuracy on `n` labelled digits, its 95% interval, and the mean cross-entropy (`loss`)
    when it was scored from class probabilities (NaN from answers alone)."""

    accuracy: float
    n: int
    loss: float = float("nan")

    @property
    def interval(self) -> tuple[float, float]:
        """The 95% (Wilson) interval of the accuracy (`accuracy_interval`)."""
        return accuracy_interval(self.accuracy, self.n)

    def __str__(self) -> str:
        return format_accuracy(self.accuracy, self.n)


def score(answers: np.ndarray, labels: np.ndarray) -> Score:
    """How often `answers` match `labels`: class probabilities (N, 10), or digits (N,) with -1 for
    no answer. The one accuracy function: every other scorer in the package calls it."""
    answers, labels = np.asarray(answers), np.asarray(labels).astype(np.int64)
    if len(labels) == 0:
        return Score(float("nan"), 0)
    if answers.ndim == 1:
        return Score(float((answers == labels).mean()), len(labels))
    picked = answers[np.arange(len(labels)), labels]
    loss = float(-np.mean(np.log(np.clip(picked, 1e-7, 1.0))))
    return Score(float((answers.argmax(axis=1) == labels).mean()), len(labels), loss)


def score_model(model: Any, images: np.ndarray, labels: np.ndarray) -> Score:
    """`score` of a model's (Keras or LiteRT) answers for `images`."""
    return score(predict_probabilities(model, images) if len(labels) else np.zeros((0, 10)), labels)


@dataclass(frozen=True)
class Evaluation:
    """Predictions on a labelled set and the metrics computed from them."""

    y_true: np.ndarray
    probabilities: np.ndarray

    @property
    def y_pred(self) -> np.ndarray:
        """The predicted class of each image."""
        return self.probabilities.argmax(axis=1)

    @property
    def confidence(self) -> np.ndarray:
        """The probability the model gave its own answer."""
        return self.probabilities.max(axis=1)

    @property
    def correct(self) -> np.ndarray:
        """True where the prediction matches the label."""
        return self.y_pred == self.y_true

    @property
    def accuracy(self) -> float:
        """Fraction of correct predictions."""
        return float(self.correct.mean())

    def confusion(self) -> np.ndarray:
        """10x10 counts: row = true digit, column = predicted digit."""
        return confusion_matrix(self.y_true, self.y_pred, labels=range(10))

    def report(self) -> dict[str, Any]:
        """Precision, recall, F1 and support per class, plus macro and weighted averages."""
        return classification_report(
            self.y_true,
            self.y_pred,
            labels=list(range(10)),
            target_names=[str(d) for d in range(10)],
            output_dict=True,
            zero_division=0,
        )

    def errors(self, true: int | None = None, pred: int | None = None) -> np.ndarray:
        """Indices of misclassified images, most confident mistakes first.

        `true` and `pred` restrict them to one cell of the confusion matrix.
        """
        mask = ~self.correct
        if true is not None:
            mask &= self.y_true == true
        if pred is not None:
            mask &= self.y_pred == pred
        idx = np.flatnonzero(mask)
        return idx[np.argsort(-self.confidence[idx], kind="stable")]

    def top_confusions(self, k: int = 5) -> list[tuple[int, int, int]]:
        """The k most frequent (true, predicted, count) mistakes."""
        cm = self.confusion().copy()
        np.fill_diagonal(cm, 0)
        order = np.argsort(-cm, axis=None, kind="stable")[:k]
        return [(int(i // 10), int(i % 10), int(cm.flat[i])) for i in order if cm.flat[i] > 0]

    def to_metrics(self) -> dict[str, Any]:
        """The JSON-ready summary written to outputs/metrics.json."""
        report = self.report()
        return {
            "n_images": len(self.y_true),
            "accuracy": self.accuracy,
            "accuracy_interval": list(accuracy_interval(self.accuracy, len(self.y_true))),
            "errors": int((~self.correct).sum()),
            "macro": _round(report["macro avg"]),
            "weighted": _round(report["weighted avg"]),
            "per_class": {str(d): _round(report[str(d)]) for d in range(10)},
            "top_confusions": [{"true": t, "predicted": p, "count": c} for t, p, c in self.top_confusions()],
            "confidence": {
                "mean_correct": float(self.confidence[self.correct].mean()) if self.correct.any() else None,
                "mean_wrong": float(self.confidence[~self.correct].mean()) if (~self.correct).any() else None,
            },
        }


def _round(row: dict[str, float]) -> dict[str, float]:
    return {k: (int(v) if k == "support" else round(float(v), 6)) for k, v in row.items()}


def evaluate_probabilities(y_true: np.ndarray, probabilities: np.ndarray) -> Evaluation:
    """Check shapes and wrap labels and class probabilities into an `Evaluation`."""
    y_true = np.asarray(y_true).astype(np.int64)
    probabilities = np.asarray(probabilities, dtype=np.float32)
    if probabilities.shape != (len(y_true), 10):
        raise ValueError(f"probabilities must have shape ({len(y_true)}, 10), got {probabilities.shape}")
    return Evaluation(y_true=y_true, probabilities=probabilities)


def format_accuracy(accuracy: float, n: int, digits: int = 2) -> str:
    """'99.50% (95% interval 99.34-99.62%)': an accuracy on `n` images with its Wilson interval."""
    return f"{accuracy:.{digits}%} ({interval_text(accuracy, n, digits)})"


def interval_text(accuracy: float, n: int, digits: int = 2) -> str:
    """'95% interval 99.34-99.62%': the Wilson interval of an accuracy measured on `n` images."""
    low, high = accuracy_interval(accuracy, n)
    return f"95% interval {low * 100:.{digits}f}-{high:.{digits}%}"


def accuracy_interval(accuracy: float, n: int, z: float = 1.96) -> tuple[float, float]:
    """The 95% (Wilson score) interval of an accuracy measured on `n` images: where the accuracy
    on all such images plausibly lies, given this sample."""
    if n <= 0:
        raise ValueError(f"n must be at least 1, got {n}")
    centre = (accuracy + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(accuracy * (1 - accuracy) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, min(centre - half, accuracy)), min(1.0, max(centre + half, accuracy))


@dataclass(frozen=True)
class Paired:
    """Two models scored on the same digits: the digits only `a` reads right, those only `b` does,
    and the exact McNemar test's two-sided p-value (how often chance alone splits them that unevenly)."""

    only_a: int
    only_b: int
    p_value: float


def compare_paired(right_a: np.ndarray, right_b: np.ndarray) -> Paired:
    """Compare two models by which of the same digits each reads right (boolean arrays): an exact
    McNemar test, which looks only at the digits where they disagree."""
    right_a, right_b = np.asarray(right_a, bool), np.asarray(right_b, bool)
    if right_a.shape != right_b.shape:
        raise ValueError(f"score both models on the same digits: {right_a.shape} vs {right_b.shape}")
    only_a, only_b = int((right_a & ~right_b).sum()), int((right_b & ~right_a).sum())
    p_value = binomtest(only_a, only_a + only_b).pvalue if only_a + only_b else 1.0
    return Paired(only_a, only_b, float(p_value))


TRUSTED_ACCURACY = 0.999
"""Answers at or above the confidence threshold should be right this often (on validation)."""


def choose_threshold(
    confidence: np.ndarray, correct: np.ndarray, target: float = TRUSTED_ACCURACY
) -> dict[str, float]:
    """The lowest confidence whose answers at or above it are `target` accurate on this (validation) set.

    Answers below it get flagged as unsure. Returns the threshold with the share
    of answers it flags and the accuracy of those it keeps.
    """
    order = np.argsort(-np.asarray(confidence), kind="stable")
    sorted_conf, sorted_ok = np.asarray(confidence)[order], np.asarray(correct)[order]
    running = np.cumsum(sorted_ok) / np.arange(1, len(sorted_ok) + 1)
    # Keep the largest top slice that meets the target; ties keep or drop together.
    good = np.flatnonzero((running >= target) & np.append(sorted_conf[1:] < sorted_conf[:-1], True))
    # Rounded down to 6 decimals, so the answer that set it is still kept.
    threshold = math.floor(float(sorted_conf[good[-1]]) * 1e6) / 1e6 if good.size else 1.0
    kept = np.asarray(confidence) >= threshold
    return {
        "value": threshold,
        "target_accuracy": target,
        "flagged_share": float(1 - kept.mean()),
        "kept_accuracy": float(np.asarray(correct)[kept].mean()) if kept.any() else float("nan"),
    }


def compare_pipelines(model: Any, renderings: Sequence[Rendering]) -> dict[str, Any]:
    """Accuracy on realistic renderings with our preprocessing and with the naive one.

    Returns, for each pipeline, the accuracy over all images and per kind, and
    each image's prediction (-1 where our preprocessing found no digit, which
    counts as wrong); for ours, also `score_predictions`'s full table.
    """
    labels = np.array([r.label for r in renderings])
    kinds = [r.kind for r in renderings]
    ours = predict_images(model, [r.data for r in renderings])
    naive = predict_probabilities(model, np.stack([preprocess_naively(r.data) for r in renderings]))
    results: dict[str, Any] = {"count": len(renderings), "kinds": list(dict.fromkeys(kinds))}
    for name, predicted in (
        ("ours", np.array([p.digit if p.ok else -1 for p in ours])),
        ("naive", naive.argmax(axis=1)),
    ):
        correct = predicted == labels
        of_kind = {k: correct[np.array(kinds) == k] for k in results["kinds"]}
        results[name] = {
            "accuracy": float(correct.mean()),
            "interval": list(accuracy_interval(float(correct.mean()), len(correct))),
            "by_kind": {k: float(c.mean()) for k, c in of_kind.items()},
            "by_kind_interval": {
                k: list(accuracy_interval(float(c.mean()), len(c))) for k, c in of_kind.items()
            },
            "predicted": predicted.tolist(),
        }
    results["ours"]["table"] = score_predictions(ours, labels, kinds)
    return results


def score_predictions(predictions: Sequence[Prediction], labels: Sequence[int], kinds: Sequence[str]) -> dict:
    """Accuracy over all images and per kind, counting "no digit found" answers and unflagged mistakes.

    An image the preprocessing refused counts as wrong. Returns a dict with
    `count`, `accuracy`, `no_digit`, `wrong_unflagged` (wrong answers not marked
    unsure) and `flagged`, for `all` and for each kind in `by_kind`.
    """
    labels = np.asarray(labels)
    kinds = np.asarray(kinds)
    ok = np.array([p.ok for p in predictions])
    right = ok & np.array([p.digit == label for p, label in zip(predictions, labels, strict=True)])
    flagged = np.array([p.flagged for p in predictions])

    def row(where: np.ndarray) -> dict[str, Any]:
        accuracy = float(right[where].mean()) if where.any() else float("nan")
        return {
            "count": int(where.sum()),
            "accuracy": accuracy,
            "interval": list(accuracy_interval(accuracy, int(where.sum()))) if where.any() else None,
            "no_digit": int((where & ~ok).sum()),
            "wrong_unflagged": int((where & ok & ~right & ~flagged).sum()),
            "flagged": int((where & flagged).sum()),
        }

    return {
        "all": row(np.ones(len(labels), dtype=bool)),
        "by_kind": {kind: row(kinds == kind) for kind in dict.fromkeys(kinds.tolist())},
    }


def score_digit_set(model: Any, digits: DigitSet) -> dict[str, Any]:
    """`score_predictions` for a set of real digits, read through `predict_images` (the CLI's path)."""
    return score_predictions(predict_images(model, digits.sources), digits.labels, digits.kinds)


def apply_temperature(probabilities: np.ndarray, temperature: float) -> np.ndarray:
    """Softmax(log p / T): the same ranking, confidence softened (T > 1) or sharpened (T < 1)."""
    logits = np.log(np.clip(probabilities, 1e-12, 1.0)) / temperature
    logits -= logits.max(axis=1, keepdims=True)
    exp = np.exp(logits)
    return exp / exp.sum(axis=1, keepdims=True)


def fit_temperature(probabilities: np.ndarray | Sequence[np.ndarray], labels: np.ndarray) -> float:
    """The temperature that minimises the negative log-likelihood of `labels` (fit on validation).

    Given several models' probabilities (an ensemble), one temperature scales each of them and
    the likelihood is that of their average, which is what the ensemble answers.
    """
    members = [probabilities] if isinstance(probabilities, np.ndarray) else list(probabilities)
    rows = np.arange(len(labels))

    def nll(log_t: float) -> float:
        temperature = float(np.exp(log_t))
        scaled = np.mean([apply_temperature(p, temperature) for p in members], axis=0)
        return float(-np.log(np.clip(scaled[rows, labels], 1e-12, None)).mean())

    return float(np.exp(minimize_scalar(nll, bounds=(-3.0, 3.0), method="bounded").x))


def undo_temperature(probabilities: np.ndarray, temperature: float) -> np.ndarray:
    """The probabilities before `train_model` folded `temperature` in: exact for one model,
    approximate for an ensemble (undone on the average rather than on each member)."""
    return apply_temperature(probabilities, 1.0 / temperature)
