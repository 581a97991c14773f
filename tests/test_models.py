"""Tests of helpers.models: the seed CNN's exact architecture, the MLP, the registry, compilation."""

import keras
import numpy as np
import pytest

from helpers import config, models
from helpers.config import TrainConfig, run_paths


@pytest.fixture(scope="module")
def seed_cnn():
    return models.build_seed_cnn()


def _layers(model, kind):
    return [layer for layer in model.layers if isinstance(layer, kind)]


def test_seed_cnn_has_exactly_409578_parameters(seed_cnn):
    assert models.count_parameters(seed_cnn) == 409_578


def test_seed_cnn_layer_sequence_matches_the_original(seed_cnn):
    assert [type(layer).__name__ for layer in seed_cnn.layers] == [
        "Conv2D", "BatchNormalization", "Conv2D", "MaxPooling2D", "Dropout",
        "Conv2D", "BatchNormalization", "Conv2D", "MaxPooling2D", "Dropout",
        "Conv2D", "BatchNormalization", "Dropout",
        "Flatten", "Dense", "BatchNormalization", "Dropout", "Dense",
    ]  # fmt: skip


def test_seed_cnn_convolutions(seed_cnn):
    convs = _layers(seed_cnn, keras.layers.Conv2D)
    assert [c.filters for c in convs] == [32, 32, 64, 64, 128]
    assert {tuple(c.kernel_size) for c in convs} == {(3, 3)}
    assert {c.activation.__name__ for c in convs} == {"relu"}
    assert len(_layers(seed_cnn, keras.layers.BatchNormalization)) == 4


def test_seed_cnn_classifier_and_dropout_rates(seed_cnn):
    dense = _layers(seed_cnn, keras.layers.Dense)
    assert [(d.units, d.activation.__name__) for d in dense] == [(512, "relu"), (10, "softmax")]
    assert [d.rate for d in _layers(seed_cnn, keras.layers.Dropout)] == [0.25, 0.25, 0.25, 0.5]
    assert seed_cnn.input_shape == (None, 28, 28, 1)
    assert seed_cnn.output_shape == (None, 10)


def test_seed_cnn_dropout_argument_halves_in_conv_blocks():
    rates = [d.rate for d in _layers(models.build_seed_cnn(dropout=0.4), keras.layers.Dropout)]
    assert rates == pytest.approx([0.2, 0.2, 0.2, 0.4])


def test_mlp_has_two_hidden_relu_layers_each_with_dropout():
    mlp = models.build_mlp(dropout=0.3, hidden=64)
    assert [type(layer).__name__ for layer in mlp.layers] == [
        "Flatten", "Dense", "Dropout", "Dense", "Dropout", "Dense"
    ]  # fmt: skip
    dense = _layers(mlp, keras.layers.Dense)
    assert [(d.units, d.activation.__name__) for d in dense] == [(64, "relu"), (64, "relu"), (10, "softmax")]
    assert [d.rate for d in _layers(mlp, keras.layers.Dropout)] == [0.3, 0.3]
    assert models.count_parameters(mlp) == 784 * 64 + 64 + 64 * 64 + 64 + 64 * 10 + 10


def test_registry_keys_equal_config_model_names():
    assert tuple(models.REGISTRY) == config.MODEL_NAMES == ("seed_cnn", "compact_cnn", "mlp")


def test_build_model_compiles_with_the_configured_learning_rate():
    model = models.build_model(
        TrainConfig(model="mlp", learning_rate=0.0025, dropout=0.2, schedule="plateau", label_smoothing=0.0)
    )
    assert model.name == "mlp"
    assert isinstance(model.optimizer, keras.optimizers.Adam)
    assert float(keras.ops.convert_to_numpy(model.optimizer.learning_rate)) == pytest.approx(0.0025)
    assert type(model.loss) is keras.losses.CategoricalCrossentropy and model.loss.label_smoothing == 0
    assert [d.rate for d in _layers(model, keras.layers.Dropout)] == [0.2, 0.2]


def test_compact_cnn_shape_and_size():
    cnn = models.build_compact_cnn()
    convs = _layers(cnn, keras.layers.Conv2D)
    assert [(c.filters, c.kernel_size, c.padding) for c in convs] == [
        (32, (3, 3), "valid"), (64, (3, 3), "valid"), (128, (3, 3), "valid")
    ]  # fmt: skip
    assert len(_layers(cnn, keras.layers.BatchNormalization)) == 3
    assert tuple(cnn.layers[-3].output.shape[1:]) == (3 * 3 * 128,)  # flatten of the 3x3x128 maps
    assert models.count_parameters(cnn) == 104_874
    assert cnn.output_shape == (None, 10)


def test_onecycle_schedule_warms_up_then_decays_to_zero():
    config = TrainConfig(model="compact_cnn", schedule="onecycle", learning_rate=0.004, epochs=10, warmup=0.1)
    schedule = models.learning_rate(config, steps_per_epoch=100)  # 1000 steps, 100 of warm-up
    rate = lambda step: float(keras.ops.convert_to_numpy(schedule(step)))  # noqa: E731
    assert rate(0) == pytest.approx(0.0004)
    assert rate(100) == pytest.approx(0.004)
    assert rate(550) == pytest.approx(0.002, rel=1e-3)
    assert rate(1000) == pytest.approx(0.0, abs=1e-9)


def test_plateau_schedule_is_a_fixed_rate_and_adds_the_lr_callback(tmp_path):
    from helpers.train import make_callbacks

    plateau, onecycle = TrainConfig(schedule="plateau"), TrainConfig(schedule="onecycle")
    assert models.learning_rate(plateau, steps_per_epoch=10) == plateau.learning_rate
    names = lambda cfg: [type(c).__name__ for c in make_callbacks(cfg, tmp_path / "x.keras", verbose=False)]  # noqa: E731
    assert names(plateau) == ["SwapEMAWeights", "ModelCheckpoint", "EarlyStopping", "ReduceLROnPlateau"]
    assert names(onecycle) == ["SwapEMAWeights", "ModelCheckpoint"]
    assert names(TrainConfig(ema=0.0)) == ["ModelCheckpoint"]
    checkpoint = lambda cfg: next(c for c in make_callbacks(cfg, tmp_path / "x.keras", verbose=False)  # noqa: E731
                                  if isinstance(c, keras.callbacks.ModelCheckpoint))  # fmt: skip
    assert (
        checkpoint(plateau).save_best_only and not checkpoint(onecycle).save_best_only
    )  # one-cycle: the last
    from helpers.record import kept_epoch

    history = {"loss": [1.0, 0.5, 0.4], "val_accuracy": [0.9, 0.95, 0.94]}
    assert kept_epoch(onecycle, history) == 3 and kept_epoch(plateau, history) == 2
    images = np.zeros((4, 28, 28, 1), "float32")
    with_images = make_callbacks(onecycle, tmp_path / "x.keras", verbose=False, batchnorm_images=images)
    assert [type(c).__name__ for c in with_images] == [
        "SwapEMAWeights",
        "RecomputeBatchNorm",
        "ModelCheckpoint",
    ]


def test_recompute_batchnorm_sets_the_statistics_of_the_images_and_restores_the_layers():
    from helpers.train import recompute_batchnorm

    cnn = models.build_compact_cnn(dropout=0.4)
    images = np.random.default_rng(0).random((256, 28, 28, 1), dtype="float32")
    recompute_batchnorm(cnn, images)
    first_conv, first_norm = cnn.layers[1], cnn.layers[2]
    maps = keras.ops.convert_to_numpy(first_conv(images))
    np.testing.assert_allclose(
        first_norm.moving_mean.numpy(), maps.mean(axis=(0, 1, 2)), rtol=1e-3, atol=1e-5
    )
    np.testing.assert_allclose(first_norm.moving_variance.numpy(), maps.var(axis=(0, 1, 2)), rtol=1e-2)
    assert first_norm.momentum == 0.99
    assert [d.rate for d in _layers(cnn, keras.layers.Dropout)] == [0.4]


def test_build_model_turns_weight_averaging_on_and_off():
    with_ema = models.build_model(TrainConfig(model="mlp"), steps_per_epoch=422)
    assert type(with_ema.optimizer) is keras.optimizers.Adam  # Keras's own, with its own average
    assert with_ema.optimizer.use_ema and with_ema.optimizer.ema_momentum == pytest.approx(0.998)
    assert not models.build_model(TrainConfig(model="mlp", ema=0.0)).optimizer.use_ema


def test_combined_model_averages_its_members_and_survives_saving(tmp_path):
    import numpy as np

    keras.utils.set_random_seed(0)
    members = [models.build_mlp(hidden=16), models.build_mlp(hidden=16)]
    x = np.random.default_rng(0).random((5, 28, 28, 1), dtype=np.float32)
    expected = (members[0].predict(x, verbose=0) + members[1].predict(x, verbose=0)) / 2
    ensemble = models.combine_models(members)
    assert ensemble.name == "ensemble_of_2"
    assert models.count_parameters(ensemble) == 2 * models.count_parameters(members[0])
    ensemble.save(tmp_path / "e.keras")
    loaded = keras.models.load_model(tmp_path / "e.keras", safe_mode=True)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-6)


def test_label_smoothing_loss_matches_the_smoothed_targets():
    model = models.build_model(TrainConfig(model="mlp", label_smoothing=0.1))
    loss = model.loss
    assert type(loss) is keras.losses.CategoricalCrossentropy
    probabilities = np.full((2, 10), 0.05, "float32")
    probabilities[:, 3] = 0.55
    targets = np.full(10, 0.01)
    targets[3] = 0.91  # 1 - 0.1 on the true class, 0.1 spread over all ten
    expected = -np.sum(targets * np.log(probabilities[0]))
    assert float(loss(np.eye(10)[[3, 3]], probabilities)) == pytest.approx(expected, rel=1e-5)


def test_the_networks_use_keras_layers_only():
    for build in (models.build_seed_cnn, models.build_compact_cnn, models.build_mlp):
        custom = {type(layer).__module__ for layer in build().layers} - {"keras"}
        assert not {m for m in custom if not m.startswith("keras.")}, build.__name__


def test_compact_cnn_saves_and_loads_with_its_layers(tmp_path):
    from helpers.predict import load_model

    cnn = models.build_compact_cnn()
    x = np.random.default_rng(1).random((3, 28, 28, 1), dtype="float32")
    cnn.save(tmp_path / "m.keras")
    loaded = load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(loaded(x, training=False), cnn(x, training=False), atol=1e-6)


def test_fold_temperature_scales_the_logits_in_the_weights():
    from helpers.evaluate import apply_temperature

    mlp = models.build_mlp()
    x = np.random.default_rng(2).random((16, 28, 28, 1), dtype="float32")
    before = keras.ops.convert_to_numpy(mlp(x, training=False))
    models.fold_temperature(mlp, 2.5)
    after = keras.ops.convert_to_numpy(mlp(x, training=False))
    np.testing.assert_allclose(after, apply_temperature(before, 2.5), atol=1e-5)
    assert (after.argmax(1) == before.argmax(1)).all()
    no_softmax = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    with pytest.raises(ValueError, match="softmax Dense"):
        models.fold_temperature(no_softmax, 2.0)


def _tiny_builder(dropout=0.1):
    return keras.Sequential(
        [keras.Input(shape=(28, 28, 1)), keras.layers.Flatten(), keras.layers.Dropout(dropout),
         keras.layers.Dense(10, activation="softmax")],
        name="tiny_linear",
    )  # fmt: skip


@pytest.mark.slow
def test_a_registered_network_trains_through_the_same_path(registered, tiny_split, tmp_path):
    from helpers.train import train_model
    from helpers.widgets import TrainingPanel

    with pytest.raises(ValueError, match="model must be one of"):
        TrainConfig(model="tiny_linear")
    registered.append("tiny_linear")
    assert models.register_model("tiny_linear")(_tiny_builder) is _tiny_builder
    assert "tiny_linear" in config.model_names() and models.REGISTRY["tiny_linear"] is _tiny_builder
    cfg = TrainConfig(model="tiny_linear", epochs=1, batch_size=64, dropout=0.3, augment=False, ema=0.0)
    built = models.build_model(cfg)
    assert built.optimizer is not None and [layer.rate for layer in _layers(built, keras.layers.Dropout)] == [
        0.3
    ]
    result = train_model(cfg, tiny_split, run_paths(tmp_path), verbose=False)
    assert result.record["config"]["model"] == "tiny_linear"
    assert result.record["model"]["parameters"] == 784 * 10 + 10
    assert result.record["validation"]["accuracy"] > 0.5  # a linear model learns MNIST in one epoch
    panel = TrainingPanel(tiny_split.x_train, tiny_split.y_train, runs_dir=tmp_path / "runs")
    assert "tiny_linear" in panel.model_name.options


def _stack(shape, *head):
    return keras.Sequential([keras.Input(shape), keras.layers.Flatten(), *head])


def test_register_model_refuses_a_network_that_cannot_stand_in(registered):
    registered.append("bad")
    with pytest.raises(ValueError, match="built-in model"):
        models.register_model("compact_cnn")(_tiny_builder)
    with pytest.raises(ValueError, match=r"bad: the last layer must be Dense\(10, activation='softmax'\)"):
        models.register_model("bad")(lambda: _stack((28, 28, 1), keras.layers.Dense(10)))
    with pytest.raises(ValueError, match=r"bad: the input must be \(28, 28, 1\) images"):
        models.register_model("bad")(
            lambda: _stack((32, 32, 1), keras.layers.Dense(10, activation="softmax"))
        )
    with pytest.raises(ValueError, match=r"must return a keras\.Model, got str"):
        models.register_model("bad")(lambda: "not a model")
    assert "bad" not in config.model_names() and "bad" not in models.REGISTRY


def test_the_average_spans_at_most_a_tenth_of_the_run():
    default = TrainConfig()
    assert models.average_momentum(default, 422) == default.ema  # 7,596 steps: 500 is less than a tenth
    assert models.average_momentum(default, 47) == pytest.approx(1 - 10 / (47 * 18))
    assert models.average_momentum(TrainConfig(epochs=1), 5) == 0.0
    assert models.average_momentum(TrainConfig(ema=0.0), 422) == 0.0
