"""Tests of helpers.trust: calibration, attributions, hidden features, FGSM, corruption scores."""

import numpy as np
import pytest

from helpers import evaluate, trust
from helpers.corrupt import CORRUPTIONS
from helpers.data import scale_images
from helpers.predict import load_model, predict_probabilities


@pytest.fixture(scope="module")
def model(shipped_model):
    """The shipped compact CNN (models/best_model.keras, as committed)."""
    return load_model(shipped_model)


@pytest.fixture(scope="module")
def digits(mnist):
    """The first 200 test digits, scaled, with their labels."""
    return scale_images(mnist.x_test[:200]), mnist.y_test[:200]


def _softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_reliability_of_known_answers():
    # 100 answers at 90% confidence: 90 right is calibrated, 50 right is 40 points overconfident.
    p = np.full((100, 10), 0.1 / 9)
    p[:, 0] = 0.9
    calibrated = np.r_[np.zeros(90, int), np.ones(10, int)]
    assert trust.reliability(p, calibrated).ece == pytest.approx(0.0, abs=1e-9)
    over = np.r_[np.zeros(50, int), np.ones(50, int)]
    r = trust.reliability(p, over)
    assert r.ece == pytest.approx(0.4)
    assert r.counts.sum() == 100 and r.counts[13] == 100  # 0.9 falls in the 14th of 15 bins
    assert r.accuracy[13] == pytest.approx(0.5) and np.isnan(r.accuracy[0])


def test_temperature_fitted_on_overconfident_probabilities_recovers_the_factor():
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 3, (20_000, 10))
    true_p = _softmax(logits / 2.0)  # the labels follow logits / 2 ...
    labels = np.array([rng.choice(10, p=row) for row in true_p])
    overconfident = _softmax(logits)  # ... but the model reports logits as they are
    temperature = evaluate.fit_temperature(overconfident, labels)
    assert temperature == pytest.approx(2.0, rel=0.08)
    scaled = evaluate.apply_temperature(overconfident, temperature)
    assert (scaled.argmax(1) == overconfident.argmax(1)).all()
    assert trust.reliability(scaled, labels).ece < trust.reliability(overconfident, labels).ece / 3
    np.testing.assert_allclose(evaluate.apply_temperature(overconfident, 1.0), overconfident, atol=1e-9)


def test_integrated_gradients_add_up_to_the_rise_in_probability(model, digits):
    x, y = digits[0][:4], digits[1][:4]
    attribution = trust.integrated_gradients(model, x, y, steps=64)
    rise = (
        predict_probabilities(model, x)[np.arange(4), y]
        - predict_probabilities(model, 0 * x)[:, y].diagonal()
    )
    np.testing.assert_allclose(attribution.sum(axis=(1, 2, 3)), rise, atol=0.05)
    assert (attribution[x == 0] == 0).all()  # black pixels, the baseline, get no share


def test_occlusion_marks_the_digit_not_the_empty_corner(model, digits):
    x, y = digits
    heat = trust.occlusion_map(model, x[0], int(y[0]))
    assert heat.shape == (28, 28)
    ink = x[0, ..., 0] > 0.5
    assert heat[ink].mean() > 0.05 > abs(heat[:4, :4].mean())


def test_filters_feature_maps_and_hidden_features_have_the_model_shapes(model, digits):
    assert trust.first_conv_filters(model).shape == (32, 3, 3)
    assert trust.first_feature_maps(model, digits[0][0]).shape == (32, 26, 26)
    features = trust.hidden_features(model, digits[0][:50])
    assert features.shape == (50, 1152) and (features >= 0).all()  # after ReLU


def test_fgsm_stays_within_epsilon_and_costs_accuracy(model, digits):
    x, y = digits
    attacked = trust.fgsm(model, x, y, 0.1)
    assert np.abs(attacked - x).max() <= 0.1 + 1e-6 and attacked.min() >= 0 and attacked.max() <= 1
    np.testing.assert_array_equal(trust.fgsm(model, x, y, 0.0), x)
    curve = trust.attack_accuracy(model, x, y, (0.0, 0.1, 0.3))
    assert curve[0.0] > 0.95 and curve[0.3] < curve[0.1] < curve[0.0]


@pytest.mark.slow
def test_pgd_stays_within_epsilon_and_does_at_least_as_much_harm_as_fgsm(model, digits):
    x, y = digits
    attacked = trust.pgd(model, x, y, 0.1)
    assert np.abs(attacked - x).max() <= 0.1 + 1e-6 and attacked.min() >= 0 and attacked.max() <= 1
    np.testing.assert_array_equal(trust.pgd(model, x, y, 0.0), x)
    one_step = trust.attack_accuracy(model, x, y, (0.1,))[0.1]
    many_steps = trust.attack_accuracy(model, x, y, (0.1,), attack=trust.pgd)[0.1]
    assert many_steps <= one_step  # more steps inside the same box find at least what one step finds
    assert many_steps < 0.9


def test_corrupted_answers_score_fifteen_accuracies_per_model(model, mnist):
    answers = trust.predict_corrupted({"a": model}, mnist.x_test[:100], seed=0)
    scores = trust.score_answers(answers, mnist.y_test[:100])
    assert list(scores["a"]) == list(CORRUPTIONS)
    assert all(0.0 <= acc <= 1.0 for acc in scores["a"].values())
    assert scores["a"]["shot_noise"] > scores["a"]["fog"]  # noise on the ink only, fog everywhere


def test_attribution_rgb_colours_support_red_and_opposition_blue():
    image = np.zeros((28, 28))
    heat = np.zeros((28, 28))
    heat[5, 5], heat[20, 20] = 1.0, -1.0
    rgb = trust.attribution_rgb(image, heat)
    assert rgb.shape == (28, 28, 3)
    assert rgb[5, 5, 0] > rgb[5, 5, 2] and rgb[20, 20, 2] > rgb[20, 20, 0]
    assert (rgb[0, 0] == 0).all()


def test_an_ensemble_is_looked_inside_through_its_first_member(model, digits):
    """`make all PROFILE=best` saves an averaging model whose own layers hold no convolution."""
    from helpers.models import combine_models

    ensemble = combine_models([model, model])
    assert trust.inner_network(ensemble) is model and trust.inner_network(model) is model
    np.testing.assert_array_equal(trust.first_conv_filters(ensemble), trust.first_conv_filters(model))
    assert trust.first_feature_maps(ensemble, digits[0][0]).shape == (32, 26, 26)
    assert trust.hidden_features(ensemble, digits[0][:5]).shape == (5, 1152)
