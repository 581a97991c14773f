"""The model registry: a name (a notebook parameter) picks a builder."""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from typing import Any

import keras
from keras import layers

from helpers.config import MODEL_NAMES, TrainConfig, add_model_name

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


def conv_bn_relu(x: keras.KerasTensor, filters: int) -> keras.KerasTensor:
    """A 3x3 'valid' convolution, batch normalisation, then ReLU (the conv needs no bias)."""
    x = layers.Conv2D(filters, 3, use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    return layers.ReLU()(x)


def build_compact_cnn(dropout: float = 0.0, width: int = 32) -> keras.Model:
    """A small, fast CNN: three conv-BN-ReLU stages whose 'valid' padding shrinks the maps.

    28 -> 26 -> pool 13 -> 11 -> pool 5 -> 3, then 3x3x128 features straight into
    the classifier: no 512-unit dense layer. About a quarter of `seed_cnn`'s
    parameters and, on a CPU, less than half its training time per epoch.
    `width` sets the filters of the first stage; each later stage doubles them.
    """
    inputs = keras.Input(shape=INPUT_SHAPE)
    x = conv_bn_relu(inputs, width)
    x = layers.MaxPooling2D(2)(x)
    x = conv_bn_relu(x, 2 * width)
    x = layers.MaxPooling2D(2)(x)
    x = conv_bn_relu(x, 4 * width)
    x = layers.Flatten()(x)
    x = layers.Dropout(dropout)(x)
    outputs = layers.Dense(NUM_CLASSES, activation="softmax")(x)
    return keras.Model(inputs, outputs, name="compact_cnn")


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


Builder = Callable[..., keras.Model]
"""A function that returns a new, uncompiled network; it may take a `dropout` rate."""

REGISTRY: dict[str, Builder] = {
    "seed_cnn": build_seed_cnn,
    "compact_cnn": build_compact_cnn,
    "mlp": build_mlp,
}
assert tuple(REGISTRY) == MODEL_NAMES, "config.MODEL_NAMES must list the registry"


def register_model(name: str) -> Callable[[Builder], Builder]:
    """Decorator: add a network of your own to the registry under `name`, so that a `TrainConfig`
    (and the training panel) can name it and `train_model` trains it like the built-in ones.

    The builder is called once here to check it maps (28, 28, 1) images to 10 probabilities
    through a softmax Dense layer (what training, calibration and prediction expect).
    """
    if name in MODEL_NAMES:
        raise ValueError(f"{name!r} is a built-in model; register yours under another name")

    def register(builder: Builder) -> Builder:
        check_network(name, instantiate(builder, dropout=0.0))
        add_model_name(name)
        REGISTRY[name] = builder
        return builder

    return register


def instantiate(builder: Builder, dropout: float, width: int | None = None) -> keras.Model:
    """Call a builder, passing `dropout` only if it takes one, and `width` if given (it must take it)."""
    takes = inspect.signature(builder).parameters
    options: dict[str, Any] = {"dropout": dropout} if "dropout" in takes else {}
    if width is not None:
        if "width" not in takes:
            raise ValueError(f"{builder.__name__} has no width to set (compact_cnn has)")
        options["width"] = width
    return builder(**options)


def check_network(name: str, model: Any) -> None:
    """Raise a ValueError naming what is wrong if `model` cannot stand in for the course's networks."""
    if not isinstance(model, keras.Model):
        raise ValueError(f"{name}: the builder must return a keras.Model, got {type(model).__name__}")
    if tuple(model.input_shape) != (None, *INPUT_SHAPE):
        raise ValueError(f"{name}: the input must be (28, 28, 1) images, got shape {model.input_shape}")
    last = model.layers[-1] if model.layers else None
    activation = getattr(getattr(last, "activation", None), "__name__", None)
    if not isinstance(last, layers.Dense) or last.units != NUM_CLASSES or activation != "softmax":
        raise ValueError(f"{name}: the last layer must be Dense({NUM_CLASSES}, activation='softmax')")


def learning_rate(
    config: TrainConfig, steps_per_epoch: int
) -> float | keras.optimizers.schedules.LearningRateSchedule:
    """The optimizer's learning rate: fixed (callbacks may lower it) or a one-cycle schedule."""
    if config.schedule == "plateau":
        return config.learning_rate
    total = steps_per_epoch * config.epochs
    warmup = max(1, round(total * config.warmup))
    return keras.optimizers.schedules.CosineDecay(
        config.learning_rate / 10,
        max(1, total - warmup),
        warmup_target=config.learning_rate,
        warmup_steps=warmup,
    )


def loss_floor(smoothing: float, classes: int = NUM_CLASSES) -> float:
    """The lowest cross-entropy any model can reach against targets smoothed by `smoothing`: the
    targets' own entropy (0 without smoothing; 0.500 at 0.1 over ten digits)."""
    if smoothing == 0:
        return 0.0
    top, rest = 1 - smoothing + smoothing / classes, smoothing / classes
    return float(-(top * math.log(top) + (classes - 1) * rest * math.log(rest)))


def average_momentum(config: TrainConfig, steps_per_epoch: int) -> float:
    """`config.ema`, lowered where needed so that the moving average spans at most a tenth of the
    run's steps: in a short run, an average over 500 steps would still remember the random start."""
    return min(config.ema, max(0.0, 1 - 10 / (steps_per_epoch * config.epochs)))


def compile_model(model: keras.Model, config: TrainConfig, steps_per_epoch: int = 1) -> keras.Model:
    """Give `model` what training needs: the optimizer and its learning rate, the loss, the metric.
    The loss takes one-hot labels (`helpers.train.make_dataset` gives them)."""
    model.compile(
        optimizer=keras.optimizers.Adam(
            learning_rate=learning_rate(config, steps_per_epoch),
            use_ema=config.ema > 0,  # keep a moving average of the weights ...
            ema_momentum=average_momentum(config, steps_per_epoch),  # ... over 1 / (1 - momentum) steps
        ),
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=config.label_smoothing),
        metrics=["accuracy"],
    )
    return model


def build_model(config: TrainConfig, steps_per_epoch: int = 1) -> keras.Model:
    """Build the network that `config.model` names (from the registry) and compile it."""
    builder = REGISTRY[config.model]
    takes_width = "width" in inspect.signature(builder).parameters
    width = config.width if takes_width or config.width != TrainConfig.width else None  # a set width must fit
    return compile_model(instantiate(builder, config.dropout, width), config, steps_per_epoch)


def fold_temperature(model: keras.Model, temperature: float) -> None:
    """Make `model` output softmax(z / T) instead of softmax(z), z its logits, by dividing its
    softmax classifier's weights and bias by T: temperature scaling kept in the model file."""
    classifier = model.layers[-1]
    if not (isinstance(classifier, layers.Dense) and classifier.activation.__name__ == "softmax"):
        raise ValueError(
            f"{model.name}: the last layer must be a softmax Dense layer to fold a temperature in"
        )
    classifier.set_weights([weights / temperature for weights in classifier.get_weights()])


def combine_models(members: list[keras.Model]) -> keras.Model:
    """One model that averages the probabilities of `members` (an ensemble), savable as one file."""
    inputs = keras.Input(shape=INPUT_SHAPE)
    for i, member in enumerate(members):
        member.name = f"member_{i + 1}"
    outputs = layers.Average(name="mean_probabilities")([member(inputs) for member in members])
    return keras.Model(inputs, outputs, name=f"ensemble_of_{len(members)}")


def count_parameters(model: keras.Model) -> int:
    """Total number of weights, trainable or not."""
    return int(model.count_params())
