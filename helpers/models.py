"""The model registry: a name (a notebook parameter) picks a builder."""

from __future__ import annotations

from collections.abc import Callable

import keras
from keras import layers

from helpers.config import MODEL_NAMES, TrainConfig

INPUT_SHAPE = (28, 28, 1)
NUM_CLASSES = 10


def build_seed_cnn(dropout: float = 0.5) -> keras.Model:
    """The original project's CNN, layer for layer (409,578 parameters).

    `dropout` is the rate before the classifier (0.5 in the original); each
    convolutional block drops half of it (0.25 in the original).
    """
    block_drop = dropout / 2
    return keras.Sequential(
        [
            keras.Input(shape=INPUT_SHAPE),
            layers.Conv2D(32, 3, activation="relu"),
            layers.BatchNormalization(),
            layers.Conv2D(32, 3, activation="relu"),
            layers.MaxPooling2D(2),
            layers.Dropout(block_drop),
            layers.Conv2D(64, 3, activation="relu"),
            layers.BatchNormalization(),
            layers.Conv2D(64, 3, activation="relu"),
            layers.MaxPooling2D(2),
            layers.Dropout(block_drop),
            layers.Conv2D(128, 3, activation="relu"),
            layers.BatchNormalization(),
            layers.Dropout(block_drop),
            layers.Flatten(),
            layers.Dense(512, activation="relu"),
            layers.BatchNormalization(),
            layers.Dropout(dropout),
            layers.Dense(NUM_CLASSES, activation="softmax"),
        ],
        name="seed_cnn",
    )


def build_mlp(dropout: float = 0.5, hidden: int = 512) -> keras.Model:
    """A fully connected baseline: two hidden ReLU layers, each followed by dropout."""
    return keras.Sequential(
        [
            keras.Input(shape=INPUT_SHAPE),
            layers.Flatten(),
            layers.Dense(hidden, activation="relu"),
            layers.Dropout(dropout),
            layers.Dense(hidden, activation="relu"),
            layers.Dropout(dropout),
            layers.Dense(NUM_CLASSES, activation="softmax"),
        ],
        name="mlp",
    )


REGISTRY: dict[str, Callable[..., keras.Model]] = {
    "seed_cnn": build_seed_cnn,
    "mlp": build_mlp,
}
assert tuple(REGISTRY) == MODEL_NAMES, "config.MODEL_NAMES must list the registry"


def build_model(config: TrainConfig) -> keras.Model:
    """Build and compile the model that `config.model` names."""
    model = REGISTRY[config.model](dropout=config.dropout)
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=config.learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def count_parameters(model: keras.Model) -> int:
    """Total number of weights, trainable or not."""
    return int(model.count_params())
