"""Tests of helpers.evaluate on hand-made probabilities with known mistakes."""

import json

import numpy as np
import pytest
from sklearn.metrics import f1_score

from helpers.evaluate import evaluate_probabilities

# 20 labels, two of each digit. Five mistakes, each with a known confidence:
#   index 3 (true 1) -> 7 at 0.9, index 5 (true 2) -> 7 at 0.6, index 8 (true 4) -> 9 at 0.8,
#   index 13 (true 6) -> 5 at 0.7, index 17 (true 8) -> 3 at 0.55.
Y_TRUE = np.repeat(np.arange(10), 2)
MISTAKES = {3: (7, 0.9), 5: (7, 0.6), 8: (9, 0.8), 13: (5, 0.7), 17: (3, 0.55)}


def _probabilities():
    probs = np.full((20, 10), 0.0)
    for i, label in enumerate(Y_TRUE):
        pred, conf = MISTAKES.get(i, (label, 0.95 - 0.01 * i))
        probs[i] = (1 - conf) / 9
        probs[i, pred] = conf
    return probs


@pytest.fixture
def evaluation():
    return evaluate_probabilities(Y_TRUE, _probabilities())


def test_accuracy_and_predictions(evaluation):
    assert evaluation.accuracy == pytest.approx(15 / 20)
    assert evaluation.y_pred[[3, 5, 8, 13, 17]].tolist() == [7, 7, 9, 5, 3]
    assert int(evaluation.correct.sum()) == 15
    assert evaluation.confidence[3] == pytest.approx(0.9)


def test_confusion_counts(evaluation):
    cm = evaluation.confusion()
    assert cm.shape == (10, 10)
    assert cm.sum() == 20
    assert np.diag(cm).tolist() == [2, 1, 1, 2, 1, 2, 1, 2, 1, 2]
    assert (cm[1, 7], cm[2, 7], cm[4, 9], cm[6, 5], cm[8, 3]) == (1, 1, 1, 1, 1)


def test_errors_are_ordered_by_confidence(evaluation):
    assert evaluation.errors().tolist() == [3, 8, 13, 5, 17]


def test_errors_filter_by_true_and_predicted(evaluation):
    assert evaluation.errors(pred=7).tolist() == [3, 5]
    assert evaluation.errors(true=2).tolist() == [5]
    assert evaluation.errors(true=2, pred=7).tolist() == [5]
    assert evaluation.errors(true=1, pred=9).tolist() == []


def test_top_confusions(evaluation):
    y_true = np.array([3, 3, 3, 5, 5, 1])
    probs = np.eye(10)[[8, 8, 5, 3, 3, 1]]
    assert evaluate_probabilities(y_true, probs).top_confusions() == [(3, 8, 2), (5, 3, 2), (3, 5, 1)]
    assert evaluation.top_confusions(k=2) == [(1, 7, 1), (2, 7, 1)]


def test_to_metrics_summary(evaluation):
    metrics = evaluation.to_metrics()
    assert set(metrics) == {
        "n_images", "accuracy", "accuracy_interval", "errors", "macro", "weighted", "per_class",
        "top_confusions", "confidence",
    }  # fmt: skip
    assert (metrics["n_images"], metrics["errors"]) == (20, 5)
    assert metrics["accuracy"] == pytest.approx(0.75)
    assert metrics["accuracy_interval"] == pytest.approx([0.5313, 0.8881], abs=1e-4)  # Wilson, 15 of 20
    expected_f1 = f1_score(Y_TRUE, evaluation.y_pred, average="macro")
    assert metrics["macro"]["f1-score"] == pytest.approx(expected_f1, abs=1e-6)
    assert metrics["per_class"]["7"]["precision"] == pytest.approx(2 / 4)
    assert metrics["per_class"]["1"]["support"] == 2
    assert metrics["top_confusions"][0] == {"true": 1, "predicted": 7, "count": 1}
    assert metrics["confidence"]["mean_wrong"] == pytest.approx((0.9 + 0.6 + 0.8 + 0.7 + 0.55) / 5, abs=1e-6)
    json.dumps(metrics, allow_nan=False)


def test_macro_and_weighted_averages_match_sklearn_on_unbalanced_labels():
    y_true = np.array([0, 0, 0, 0, 0, 0, 1, 1, 2, 3])
    y_pred = np.array([0, 0, 0, 0, 0, 1, 1, 2, 2, 0])
    metrics = evaluate_probabilities(y_true, np.eye(10)[y_pred]).to_metrics()
    labels = list(range(10))
    macro = f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0)
    weighted = f1_score(y_true, y_pred, labels=labels, average="weighted", zero_division=0)
    assert metrics["macro"]["f1-score"] == pytest.approx(macro, abs=1e-6)
    assert metrics["weighted"]["f1-score"] == pytest.approx(weighted, abs=1e-6)
    assert metrics["macro"]["f1-score"] != pytest.approx(metrics["weighted"]["f1-score"])


def test_wrong_probability_shape_is_rejected():
    with pytest.raises(ValueError, match=r"probabilities must have shape \(20, 10\), got \(20, 9\)"):
        evaluate_probabilities(Y_TRUE, np.zeros((20, 9)))
    with pytest.raises(ValueError, match=r"shape \(20, 10\), got \(19, 10\)"):
        evaluate_probabilities(Y_TRUE, np.zeros((19, 10)))


def test_no_mistakes_gives_none_for_mean_wrong():
    metrics = evaluate_probabilities([0, 1], np.eye(10)[[0, 1]]).to_metrics()
    assert metrics["errors"] == 0
    assert metrics["confidence"] == {"mean_correct": 1.0, "mean_wrong": None}
    assert metrics["top_confusions"] == []


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_all_wrong_gives_strict_json_metrics():
    metrics = evaluate_probabilities([0, 1], np.eye(10)[[1, 0]]).to_metrics()
    assert metrics["confidence"]["mean_correct"] is None
    json.dumps(metrics, allow_nan=False)


def test_threshold_keeps_the_confident_slice_that_meets_the_target():
    from helpers.evaluate import choose_threshold

    confidence = np.array([0.99, 0.98, 0.97, 0.90, 0.80, 0.70, 0.60, 0.50])
    correct = np.array([True, True, True, True, False, True, False, True])
    chosen = choose_threshold(confidence, correct, target=0.999)
    assert chosen["value"] == 0.9  # everything at or above 0.90 is right; 0.80 is wrong
    assert chosen["flagged_share"] == 0.5 and chosen["kept_accuracy"] == 1.0
    assert choose_threshold(confidence, correct, target=0.75)["value"] == 0.5  # 6 of 8 right
    assert choose_threshold(confidence, ~correct, target=0.9)["value"] == 1.0  # nothing can be trusted


def test_threshold_does_not_split_ties():
    from helpers.evaluate import choose_threshold

    confidence = np.array([0.9, 0.8, 0.8, 0.7])
    correct = np.array([True, True, False, True])
    assert choose_threshold(confidence, correct, target=0.99)["value"] == 0.9


def test_accuracy_interval_is_wilsons():
    from helpers.evaluate import accuracy_interval, format_accuracy

    low, high = accuracy_interval(0.5, 100)  # the textbook case: 0.5 +- 0.0962
    assert low == pytest.approx(0.4038, abs=1e-4) and high == pytest.approx(0.5962, abs=1e-4)
    low, high = accuracy_interval(1.0, 60)  # no errors in 60 is not certainty
    assert high == 1.0 and low == pytest.approx(0.9398, abs=1e-4)
    assert accuracy_interval(0.995, 10_000)[1] - accuracy_interval(0.995, 10_000)[0] == pytest.approx(
        0.0028, abs=2e-4
    )  # about +-0.14 points at 99.5% on the test set
    assert format_accuracy(0.5, 100) == "50.00% (95% interval 40.38-59.62%)"
    with pytest.raises(ValueError, match="n must be at least 1"):
        accuracy_interval(0.9, 0)


def test_paired_comparison_is_the_exact_mcnemar_test():
    from helpers.evaluate import compare_paired

    a = np.array([True] * 90 + [True] * 8 + [False] * 2)  # a alone right on 8, b alone on 2
    b = np.array([True] * 90 + [False] * 8 + [True] * 2)
    paired = compare_paired(a, b)
    assert (paired.only_a, paired.only_b) == (8, 2)
    assert paired.p_value == pytest.approx(0.109375)  # 2 * P(X <= 2), X ~ Binomial(10, 1/2)
    assert compare_paired(a, a).p_value == 1.0
    assert compare_paired(np.ones(30, bool), np.r_[np.zeros(10, bool), np.ones(20, bool)]).p_value < 0.01
    with pytest.raises(ValueError, match="the same digits"):
        compare_paired(a, b[:50])
