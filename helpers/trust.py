"""What the chapter on trusting the model measures: calibration, where the network looks,
its hidden features, and how little noise it takes to fool it.

Every function takes a Keras model whose output is the 10 class probabilities
(all of this course's models) and images scaled to [0, 1], shaped (N, 28, 28, 1).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from helpers.adapt import members_of
from helpers.config import PROJECT_ROOT, RunPaths
from helpers.corrupt import CORRUPTIONS, corrupt
from helpers.predict import load_model, predict_probabilities
from helpers.progress import progress_bar
from helpers.saliency import attribution_rgb, occlusion_map  # noqa: F401  (the chapter imports them from here)
from helpers.train import recompute_batchnorm

ECE_BINS = 15
"""Equal-width confidence bins of the expected calibration error (Guo et al., 2017)."""
FGSM_EPSILONS = (0.0, 0.02, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3)
"""Perturbation sizes, in pixel units of [0, 1], at which the attacks are measured."""
PGD_STEPS = 10
"""Steps of the multi-step attack (PGD)."""


@dataclass(frozen=True)
class Reliability:
    """Per-bin confidence and accuracy of a set of answers, and the calibration error they give."""

    edges: np.ndarray  # (bins + 1,) bin edges over [0, 1]
    confidence: np.ndarray  # (bins,) mean confidence per bin (NaN where empty)
    accuracy: np.ndarray  # (bins,) accuracy per bin (NaN where empty)
    counts: np.ndarray  # (bins,) answers per bin
    ece: float  # sum over bins of (share of answers) * |accuracy - confidence|


def reliability(probabilities: np.ndarray, labels: np.ndarray, bins: int = ECE_BINS) -> Reliability:
    """Bin the answers by confidence; compare each bin's accuracy with its mean confidence."""
    confidence = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == labels
    edges = np.linspace(0.0, 1.0, bins + 1)
    index = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, bins - 1)
    counts = np.bincount(index, minlength=bins)
    with np.errstate(invalid="ignore"):
        mean_confidence = np.bincount(index, confidence, minlength=bins) / counts
        accuracy = np.bincount(index, correct.astype(float), minlength=bins) / counts
    gaps = np.where(counts > 0, np.abs(accuracy - mean_confidence), 0.0)
    ece = float((counts / max(len(labels), 1) * gaps).sum())
    return Reliability(edges, mean_confidence, accuracy, counts, ece)


def ece_interval(
    probabilities: np.ndarray, labels: np.ndarray, resamples: int = 200, seed: int = 0
) -> tuple[float, float]:
    """A 95% bootstrap interval of the expected calibration error: the 2.5th and 97.5th percentiles
    of the ECE over `resamples` resamplings of the answers, with replacement."""
    rng = np.random.default_rng(seed)
    draws = [
        reliability(probabilities[pick], labels[pick]).ece
        for pick in rng.integers(0, len(labels), (resamples, len(labels)))
    ]
    low, high = np.percentile(draws, [2.5, 97.5])
    return float(low), float(high)


def input_gradients(model: keras.Model, images: np.ndarray, classes: Sequence[int]) -> np.ndarray:
    """d p(class) / d pixel for each image: how much each pixel moves the chosen class's probability."""
    x = tf.convert_to_tensor(images, tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(x)
        chosen = tf.gather(model(x, training=False), list(classes), axis=1, batch_dims=1)
    return tape.gradient(chosen, x).numpy()


def integrated_gradients(
    model: keras.Model, images: np.ndarray, classes: Sequence[int], steps: int = 32
) -> np.ndarray:
    """Integrated gradients from a black image (Sundararajan et al., 2017): each pixel's share
    of the chosen class's probability, summing (nearly) to p(image) - p(black)."""
    alphas = (np.arange(steps) + 0.5) / steps
    total = np.zeros_like(images, dtype=np.float32)
    for alpha in alphas:
        total += input_gradients(model, alpha * images, classes)
    return images * total / steps


def inner_network(model: keras.Model) -> keras.Model:
    """The network to look inside: `model` itself, or for an ensemble (`combine_models`) its first member."""
    return members_of(model)[0]


def first_conv_filters(model: keras.Model) -> np.ndarray:
    """The first convolution's 3x3 kernels, (filters, 3, 3); an ensemble's first member's."""
    model = inner_network(model)
    conv = next(layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D))
    return np.moveaxis(conv.get_weights()[0][:, :, 0, :], -1, 0)


def first_feature_maps(model: keras.Model, image: np.ndarray) -> np.ndarray:
    """What the first stage (convolution, normalisation, ReLU) makes of one image, (filters, H, W)."""
    model = inner_network(model)
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    relus = [layer for layer in model.layers if isinstance(layer, keras.layers.ReLU)]
    if not convs:
        raise ValueError(f"{model.name}: no convolution to show")
    stage = relus[0] if relus else convs[0]  # seed_cnn's convolutions carry their own ReLU
    probe = keras.Model(model.input, stage.output)
    return np.moveaxis(probe(image[None], training=False).numpy()[0], -1, 0)


def hidden_features(model: keras.Model, images: np.ndarray, batch_size: int = 1024) -> np.ndarray:
    """The last hidden layer's activations: what the final classifier layer reads, (N, features);
    for an ensemble, its first member's."""
    model = inner_network(model)
    classifier = model.layers[-1]
    if not isinstance(classifier, keras.layers.Dense):
        raise ValueError(f"{model.name}: its last layer is not a dense classifier")
    probe = keras.Model(model.input, classifier.input)
    return np.concatenate(
        [probe(images[i : i + batch_size], training=False).numpy() for i in range(0, len(images), batch_size)]
    )


def loss_gradient(model: keras.Model, images: np.ndarray | tf.Tensor, labels: np.ndarray) -> tf.Tensor:
    """d loss / d pixel, the loss being the cross-entropy of each image's true label."""
    x = tf.convert_to_tensor(images, tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(x)
        p_true = tf.gather(model(x, training=False), labels.astype(np.int64), axis=1, batch_dims=1)
        loss = -tf.math.log(tf.clip_by_value(p_true, 1e-12, 1.0))
    return tape.gradient(loss, x)


def fgsm(model: keras.Model, images: np.ndarray, labels: np.ndarray, epsilon: float) -> np.ndarray:
    """Fast gradient sign method (Goodfellow et al., 2015): move every pixel by `epsilon` in the
    direction that raises the loss of the true label, then clip to [0, 1]."""
    if epsilon == 0:
        return images.copy()
    step = tf.sign(loss_gradient(model, images, labels))
    return np.clip(images + epsilon * step.numpy(), 0.0, 1.0)


def pgd(
    model: keras.Model,
    images: np.ndarray,
    labels: np.ndarray,
    epsilon: float,
    steps: int = PGD_STEPS,
    seed: int = 0,
) -> np.ndarray:
    """Projected gradient descent (Madry et al., 2018): from a random start within `epsilon` of the
    image, FGSM in `steps` small steps of 2.5 epsilon / steps, each projected back to at most
    `epsilon` from the image (and into [0, 1])."""
    if epsilon == 0:
        return images.copy()
    start = np.random.default_rng(seed).uniform(-epsilon, epsilon, images.shape).astype(images.dtype)
    x = np.clip(images + start, 0.0, 1.0)
    for _ in range(steps):
        x = x + (2.5 * epsilon / steps) * tf.sign(loss_gradient(model, x, labels)).numpy()
        x = np.clip(np.clip(x, images - epsilon, images + epsilon), 0.0, 1.0)
    return x


def attack_accuracy(
    model: keras.Model,
    images: np.ndarray,
    labels: np.ndarray,
    epsilons: Sequence[float] = FGSM_EPSILONS,
    attack: Any = None,
) -> dict[float, float]:
    """Accuracy on images perturbed by `attack` (`fgsm` by default, or `pgd`), for each epsilon."""
    attack = attack or fgsm
    result = {}
    for epsilon in epsilons:
        adversarial = attack(model, images, labels, epsilon)
        predicted = model(adversarial, training=False).numpy().argmax(axis=1)
        result[float(epsilon)] = float((predicted == labels).mean())
    return result


def renormalized(model: keras.Model, images: np.ndarray) -> keras.Model:
    """A copy of `model`, weights unchanged, whose batch-norm layers normalise by the statistics
    of `images` instead of the training images' (test-time adaptation to a shifted input)."""
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    recompute_batchnorm(copy, images)
    return copy


OTHER_MODELS = {
    "seed_cnn (make bench)": Path("build/bench/seed_cnn/models/best_model.keras"),
    "best profile": Path("build/best/models/best_model.keras"),
}
"""Other trained models the chapter compares, where a bench or a `best` run left them."""


def trained_models(paths: RunPaths) -> dict[str, Any]:
    """This run's model, then each of OTHER_MODELS whose file exists, by name."""
    models = {"this run's model": load_model(paths.model_file)}
    for name, file in OTHER_MODELS.items():
        if (PROJECT_ROOT / file).is_file() and (PROJECT_ROOT / file).resolve() != paths.model_file.resolve():
            models[name] = load_model(PROJECT_ROOT / file)
    return models


def predict_corrupted(
    models: Mapping[str, Any], images: np.ndarray, seed: int = 0
) -> dict[str, dict[str, np.ndarray]]:
    """The digit each model answers for each image under each corruption: {model: {corruption: (N,)}}.

    `images` are uint8 (N, 28, 28) as in MNIST; each corruption is applied once, seeded,
    and every model sees the same corrupted images.
    """
    answers: dict[str, dict[str, np.ndarray]] = {name: {} for name in models}
    for kind in progress_bar(CORRUPTIONS, desc="corruptions"):
        damaged = corrupt(images, kind, seed).astype(np.float32)[..., None] / 255.0
        for name, model in models.items():
            answers[name][kind] = predict_probabilities(model, damaged).argmax(axis=1)
    return answers


def score_answers(
    answers: Mapping[str, Mapping[str, np.ndarray]], labels: np.ndarray
) -> dict[str, dict[str, float]]:
    """Accuracy of each model under each corruption, from `predict_corrupted`'s answers."""
    return {name: {kind: float((found == labels).mean()) for kind, found in by_kind.items()}
            for name, by_kind in answers.items()}  # fmt: skip
