"""Export a trained Keras model to LiteRT (TFLite): the copy the CLI and the app answer with.

LiteRT runs the same network without TensorFlow, so a process that only
answers (`digits predict`, the drawing pad) starts in under a second instead
of ten. `export_litert` writes the copy beside the `.keras` file and describes
it for the run record, with the hashes that tie it to that `.keras` file;
`helpers.predict.resolve_model` uses the copy only while they match.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from helpers.artifacts import file_sha256, write_atomic

INT8_TOLERANCE = 0.0005
"""An int8 copy is kept only when its validation accuracy is within 0.05 points of the Keras model's."""


@contextlib.contextmanager
def converter_silenced() -> Iterator[None]:
    """Hush the TFLite converter: it prints the saved graph's signature, logs MLIR passes, and logs
    (INFO) the temporary folder it saved the graph in: noise, and a machine path in the report."""
    from helpers.predict import native_stderr_silenced

    logger = logging.getLogger("tensorflow")
    level = logger.level
    logger.setLevel(max(level, logging.WARNING))
    try:
        with contextlib.redirect_stdout(io.StringIO()), native_stderr_silenced():
            yield
    finally:
        logger.setLevel(level)


def export_tflite(
    model: Any,
    path: str | os.PathLike[str],
    *,
    calibration: np.ndarray | None = None,
) -> Path:
    """Write `model` as a `.tflite` file: int8 weights and activations when `calibration`
    images (N, 28, 28, 1) are given to measure activation ranges, float32 otherwise.

    Inputs and outputs stay float32, so the file is a drop-in replacement.
    """
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    if calibration is not None:

        def representative() -> Iterator[list[np.ndarray]]:
            for image in np.asarray(calibration, dtype=np.float32):
                yield [image[None]]

        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = representative
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = tf.float32
        converter.inference_output_type = tf.float32
    with converter_silenced():
        data = converter.convert()
    return write_atomic(path, lambda tmp: tmp.write_bytes(data))


def export_litert(
    model: Any,
    keras_file: str | os.PathLike[str],
    x_val: np.ndarray,
    y_val: np.ndarray,
    *,
    int8: bool = False,
    calibration: np.ndarray | None = None,
) -> dict[str, Any]:
    """Write the LiteRT copy of `model` beside `keras_file` (same name, `.tflite`) and describe it.

    Float32 by default: it gives the Keras model's probabilities to about 1e-6.
    With `int8`, an int8 copy is written when its validation accuracy is within
    `INT8_TOLERANCE` of the Keras model's, else the float32 one. The returned
    entry (for the run record's `"litert"`) holds both files' SHA-256, so a
    later `.keras` file, trained or copied over this one, is never answered for
    by a stale copy.
    """
    from helpers.predict import LiteModel, predict_probabilities

    keras_file = Path(keras_file)
    lite_file = keras_file.with_suffix(".tflite")
    reference = predict_probabilities(model, x_val)
    keras_accuracy = float(np.mean(reference.argmax(axis=1) == y_val))

    def measure(quantized: bool) -> tuple[float, float]:
        export_tflite(model, lite_file, calibration=calibration if quantized else None)
        probabilities = predict_probabilities(LiteModel(lite_file), x_val)
        return float(np.mean(probabilities.argmax(axis=1) == y_val)), float(
            np.abs(probabilities - reference).max()
        )

    quantization = "float32"
    if int8:
        if calibration is None:
            raise ValueError("an int8 copy needs calibration images")
        accuracy, difference = measure(True)
        if keras_accuracy - accuracy <= INT8_TOLERANCE:
            quantization = "int8"
    if quantization == "float32":
        accuracy, difference = measure(False)
    return {
        "file": lite_file.name,
        "quantization": quantization,
        "file_bytes": lite_file.stat().st_size,
        "validation_accuracy": accuracy,
        "max_probability_difference": difference,
        "sha256": file_sha256(lite_file),
        "keras_sha256": file_sha256(keras_file),
    }


def export_trained(keras_file: str | os.PathLike[str]) -> dict[str, Any]:
    """Write the LiteRT copy of an already trained model and add it to its run record.

    The validation split is rebuilt from the record's config, as training made it.
    """
    import json

    from helpers.artifacts import save_json
    from helpers.data import load_mnist, split_train_val
    from helpers.predict import load_model

    keras_file = Path(keras_file)
    record_file = keras_file.with_suffix(".json")
    record = json.loads(record_file.read_text())
    config = record["config"]
    mnist = load_mnist()
    split = split_train_val(
        mnist.x_train,
        mnist.y_train,
        val_fraction=config["val_fraction"],
        seed=config["seed"],
        train_subset=config["train_subset"],
    )
    record["litert"] = export_litert(load_model(keras_file), keras_file, split.x_val, split.y_val)
    save_json(record, record_file)
    return record["litert"]


if __name__ == "__main__":
    import sys

    for name in sys.argv[1:] or ["models/best_model.keras"]:
        entry = export_trained(name)
        print(
            f"{Path(name).with_suffix('.tflite')}: {entry['quantization']}, "
            f"{entry['file_bytes'] / 1e3:.0f} KB, "
            f"validation {entry['validation_accuracy']:.2%}, "
            f"largest probability difference {entry['max_probability_difference']:.1e}"
        )
