"""Load a trained model safely (Keras, or its LiteRT copy) and predict digits: arrays, image
files, folders, rows of digits. The `digits` command line is `helpers.cli`."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import weakref
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from helpers.artifacts import file_sha256
from helpers.config import PROJECT_ROOT, run_paths
from helpers.preprocess import ImageError, preprocess_image, split_digits

DEFAULT_MODEL = run_paths().model_file
LOW_CONFIDENCE = 0.6
"""Answers below this probability are flagged as not to be trusted, unless the model's run
record holds a threshold chosen on validation data (see `helpers.evaluate.choose_threshold`)."""
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp"}


class ModelError(RuntimeError):
    """The model file is missing, unreadable or not a digit classifier."""


class _Answer:
    """What every answer has: `ok` unless it carries an error, and a JSON-ready form.

    An answer with an error (no digit found, an unreadable file) holds no digit
    and is always `flagged`, so code that checks only `flagged` never trusts it.
    """

    error: str | None
    flagged: bool

    def __post_init__(self) -> None:
        """Flag every answer that carries an error."""
        if self.error is not None:
            self.flagged = True

    @property
    def ok(self) -> bool:
        """True when the input was read (even if flagged as unsure)."""
        return self.error is None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)  # type: ignore[call-overload]


@dataclass
class Prediction(_Answer):
    """The answer for one input: the digit, its probability, the top-k, and any warning."""

    source: str
    digit: int | None = None
    probability: float = 0.0
    top_k: list[tuple[int, float]] = field(default_factory=list)
    flagged: bool = False
    error: str | None = None


@dataclass
class NumberPrediction(_Answer):
    """The answer for one image of a row of digits: the string, and each digit with its probability."""

    source: str
    number: str = ""
    digits: list[int] = field(default_factory=list)
    probabilities: list[float] = field(default_factory=list)
    top_k: list[list[tuple[int, float]]] = field(default_factory=list)
    flagged: bool = False
    error: str | None = None


class LiteModel:
    """A LiteRT (TFLite) model, called like the Keras forward pass: images in, probabilities out."""

    def __init__(self, path: str | os.PathLike[str], num_threads: int | None = None) -> None:
        """Load `path`, to run on `num_threads` threads (default all cores: on 2, twice one's batch rate)."""
        from ai_edge_litert.interpreter import Interpreter

        self.path = Path(path)
        with native_stderr_silenced():  # "INFO: Created TensorFlow Lite XNNPACK delegate for CPU."
            self._interpreter = Interpreter(
                model_path=str(self.path), num_threads=num_threads or count_cores()
            )
        self._input = self._interpreter.get_input_details()[0]
        self._output = self._interpreter.get_output_details()[0]
        self._batch = -1
        self.input_shape = (None, *map(int, self._input["shape"][1:]))
        self.output_shape = (None, *map(int, self._output["shape"][1:]))

    def __call__(self, images: np.ndarray) -> np.ndarray:
        """Probabilities (N, 10) for float32 images (N, 28, 28, 1)."""
        if len(images) != self._batch:  # resizing re-plans memory: only when N changes
            self._interpreter.resize_tensor_input(self._input["index"], [len(images), 28, 28, 1])
            with native_stderr_silenced():
                self._interpreter.allocate_tensors()
            self._batch = len(images)
        self._interpreter.set_tensor(self._input["index"], np.ascontiguousarray(images, dtype=np.float32))
        self._interpreter.invoke()
        return self._interpreter.get_tensor(self._output["index"])


def choose_model_file(path: str | os.PathLike[str] | None = None, *, keras: bool = False) -> tuple[Path, str]:
    """The file that answers for `path` (default `models/best_model.keras`), and why, in one line.

    A `.keras` model's LiteRT copy (same name, `.tflite`) answers for it when
    the run record's `"litert"` entry holds both files' current SHA-256: same
    answers, no TensorFlow import. Otherwise (or with `keras`) the file itself.
    """
    path = Path(path) if path else DEFAULT_MODEL
    lite = path.with_suffix(".tflite")
    if path.suffix != ".keras" or keras:
        return path, f"answering with {display_path(path)}" + (" (as asked)" if keras else "")
    fallback = f"answering with the Keras model {display_path(path)}: "
    if not path.is_file() or not lite.is_file():
        return path, fallback + f"no LiteRT copy at {display_path(lite)} (`make train` writes one)"
    try:
        entry = json.loads(path.with_suffix(".json").read_text())["litert"]
        ties = entry["keras_sha256"] == file_sha256(path) and entry["sha256"] == file_sha256(lite)
    except (OSError, ValueError, KeyError, TypeError):
        return (
            path,
            fallback + f"its run record {display_path(path.with_suffix('.json'))} describes no LiteRT copy",
        )
    if not ties:
        return (
            path,
            fallback + f"{lite.name} was made from another {path.name} (retrain, or delete {lite.name})",
        )
    return lite, f"answering with {display_path(lite)}, the LiteRT copy of {path.name}"


def load_model(path: str | os.PathLike[str] | None = None) -> Any:
    """Load a `.keras` model (safe mode on) or a `.tflite` one; check it maps 28x28x1 to 10 classes."""
    path = Path(path) if path else DEFAULT_MODEL
    shown = display_path(path)
    if not path.is_file():
        raise ModelError(f"no trained model at {shown}: run `make train` (or pass --model PATH)")
    try:
        if path.suffix == ".tflite":
            model = LiteModel(path)  # no TensorFlow import: LiteRT alone
        else:
            import keras

            import helpers.models  # noqa: F401  (registers the project's layers for loading)

            model = keras.models.load_model(path, compile=False, safe_mode=True)
    except Exception as exc:
        if "safe_mode" in str(exc):
            raise ModelError(
                f"{shown}: refused to load: the model holds Python code (e.g. a Lambda layer), which could "
                "run anything; use a model without custom code, or retrain it with `make train`"
            ) from exc
        reason = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        raise ModelError(f"{shown}: cannot load the model ({reason}); retrain it with `make train`") from exc
    in_shape, out_shape = tuple(model.input_shape[1:]), tuple(model.output_shape[1:])
    if in_shape != (28, 28, 1) or out_shape != (10,):
        raise ModelError(
            f"{shown}: the model maps {in_shape} to {out_shape}; a digit model maps (28, 28, 1) to (10,)"
        )
    set_threshold(model, read_threshold(path.with_suffix(".json")))
    return model


_THRESHOLDS: weakref.WeakKeyDictionary[Any, float] = weakref.WeakKeyDictionary()


def read_threshold(record_file: Path) -> float:
    """The confidence threshold in a run record (`models/best_model.json`), or `LOW_CONFIDENCE`."""
    try:
        return float(json.loads(record_file.read_text())["confidence_threshold"]["value"])
    except (OSError, ValueError, KeyError, TypeError):
        return LOW_CONFIDENCE


def set_threshold(model: Any, threshold: float) -> None:
    """Flag this model's answers below `threshold` as unsure."""
    _THRESHOLDS[model] = float(threshold)


def threshold_of(model: Any) -> float:
    """The probability below which this model's answers are flagged as unsure."""
    return _THRESHOLDS.get(model, LOW_CONFIDENCE)


_FORWARD: weakref.WeakKeyDictionary[Any, Callable[[np.ndarray], Any]] = weakref.WeakKeyDictionary()


def forward_function(model: Any) -> Callable[[np.ndarray], Any]:
    """The model's inference pass as one compiled TensorFlow graph, built once per model.

    `model.predict` sets up a data pipeline on every call (tens of milliseconds)
    and a plain `model(x)` runs layer by layer in eager mode; a traced
    `tf.function` with a fixed input signature does neither. A `LiteModel` is
    already compiled and is returned as it is.
    """
    if isinstance(model, LiteModel):
        return model
    if model not in _FORWARD:
        import tensorflow as tf

        spec = tf.TensorSpec([None, 28, 28, 1], tf.float32)
        # The function holds the model weakly: a strong reference from a weak dictionary's value to
        # its key would keep every model ever used (each adapted one, say) in memory.
        held = weakref.ref(model)

        def forward(x: tf.Tensor) -> tf.Tensor:
            return held()(x, training=False)

        _FORWARD[model] = tf.function(forward, input_signature=[spec])
    return _FORWARD[model]


def predict_probabilities(model: Any, images: np.ndarray, batch_size: int = 1024) -> np.ndarray:
    """Class probabilities (N, 10) for images shaped (N, 28, 28[, 1]) in [0, 1]."""
    x = np.asarray(images, dtype=np.float32)
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim != 4 or x.shape[1:] != (28, 28, 1):
        raise ValueError(f"images must have shape (N, 28, 28, 1), got {x.shape}")
    forward = forward_function(model)
    chunks = [np.asarray(forward(x[i : i + batch_size])) for i in range(0, len(x), batch_size)]
    return np.concatenate(chunks) if chunks else np.zeros((0, 10), dtype=np.float32)


def make_prediction(
    source: str, probabilities: np.ndarray, top_k: int = 3, threshold: float = LOW_CONFIDENCE
) -> Prediction:
    """Turn one row of probabilities into a `Prediction`, flagged when below `threshold`."""
    order = np.argsort(-probabilities)[:top_k]
    best = int(order[0])
    return Prediction(
        source=source,
        digit=best,
        probability=float(probabilities[best]),
        top_k=[(int(d), float(probabilities[d])) for d in order],
        flagged=bool(probabilities[best] < threshold),
    )


PARALLEL_FROM = 64
"""Batches of at least this many inputs are preprocessed on all cores (`prepare_inputs`)."""


def prepare_digit(source: Any) -> np.ndarray:
    """One input -> its 28x28 image."""
    return preprocess_image(source).image


def prepare_number(source: Any) -> list[np.ndarray]:
    """One input -> the 28x28 image of each digit in it, left to right."""
    return [digit.image for digit in split_digits(source)]


def _attempt(prepare: Callable[[Any], Any], source: Any) -> tuple[bool, Any]:
    """(True, what `prepare` returned) or (False, the `ImageError`'s message): a worker's answer."""
    try:
        return True, prepare(source)
    except ImageError as exc:
        return False, str(exc)


def count_cores() -> int:
    """The CPU cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def start_method() -> str:
    """How worker processes start: forked on Linux while TensorFlow is not loaded (the CLI),
    from a fork server once it is (forking TensorFlow's threads is unsafe), and spawned
    elsewhere, as Python does by default: Windows cannot fork, and on macOS forking is
    unsafe once system frameworks are loaded."""
    if sys.platform != "linux":
        return "spawn"
    return "fork" if "tensorflow" not in sys.modules else "forkserver"


def map_inputs(
    prepare: Callable[[Any], Any], sources: list[Any], workers: int | None = None
) -> Iterator[tuple[bool, Any]]:
    """`_attempt(prepare, source)` for each source, in order; on `workers` processes (default:
    all cores) for batches of at least `PARALLEL_FROM`.

    `prepare` must be a module-level function (it is sent to worker processes), and the
    workers start as `start_method()` says.
    """
    if workers is None:
        workers = count_cores()
    if workers < 2 or len(sources) < PARALLEL_FROM:
        return (_attempt(prepare, source) for source in sources)
    import functools
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    method = start_method()
    context = multiprocessing.get_context(method)
    if method == "forkserver":
        context.set_forkserver_preload(["helpers.preprocess"])
    chunk = max(1, -(-len(sources) // (workers * 8)))
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool, _main_left_behind():
        return iter(list(pool.map(functools.partial(_attempt, prepare), sources, chunksize=chunk)))


@contextlib.contextmanager
def _main_left_behind() -> Iterator[None]:
    """Start workers without re-running the caller's script in them.

    A fork server's and spawned workers import the parent's `__main__` again, so a user's
    script without an `if __name__ == "__main__":` guard would run twice and
    fail. The workers need nothing from it (`prepare` lives in helpers/): while
    they start, `__main__` looks like an interactive session's, which they skip.
    """
    main = sys.modules["__main__"]
    saved = {name: vars(main)[name] for name in ("__file__", "__spec__") if name in vars(main)}
    vars(main).pop("__file__", None)
    main.__spec__ = None
    try:
        yield
    finally:
        vars(main).update(saved)


def prepare_inputs(
    sources: Iterable[Any],
    prepare: Callable[[Any], Any],
    answer: Callable[..., Any],
    workers: int | None = None,
) -> tuple[list[Any], list[tuple[int, Any]]]:
    """Run `prepare` on each source; a source it rejects gets `answer(source=..., error=...)`.

    Returns one placeholder answer per source (in order) and, for the sources
    that were prepared, their index with what `prepare` returned.
    """
    sources = list(sources)
    results: list[Any] = []
    ready: list[tuple[int, Any]] = []
    for source, (ok, value) in zip(sources, map_inputs(prepare, sources, workers), strict=True):
        name = str(source) if isinstance(source, str | os.PathLike) else f"<{type(source).__name__}>"
        if ok:
            ready.append((len(results), value))
            results.append(answer(source=name))
        else:
            results.append(answer(source=name, error=value))
    return results, ready


def predict_images(
    model: Any, sources: Iterable[Any], top_k: int = 3, workers: int | None = None
) -> list[Prediction]:
    """Preprocess and predict many images in one batch; a bad input gets an error, the rest go on."""
    results, ready = prepare_inputs(sources, prepare_digit, Prediction, workers)
    if ready:
        probabilities = predict_probabilities(model, np.stack([image for _, image in ready]))
        for (index, _), row in zip(ready, probabilities, strict=True):
            results[index] = make_prediction(results[index].source, row, top_k, threshold_of(model))
    return results


def predict_image(model: Any, source: Any, top_k: int = 3) -> Prediction:
    """Preprocess and predict one image (path, bytes, PIL image or array)."""
    return predict_images(model, [source], top_k)[0]


def predict_numbers(
    model: Any, sources: Iterable[Any], top_k: int = 3, workers: int | None = None
) -> list[NumberPrediction]:
    """Read each image as a row of digits, left to right; all digits go through the model in one batch."""
    results, ready = prepare_inputs(sources, prepare_number, NumberPrediction, workers)
    if ready:
        probabilities = predict_probabilities(model, np.stack([image for _, row in ready for image in row]))
        rows = iter(probabilities)
        for index, images in ready:
            source = results[index].source
            digits = [make_prediction(source, next(rows), top_k, threshold_of(model)) for _ in images]
            results[index] = make_number_prediction(source, digits)
    return results


def make_number_prediction(source: str, digits: Sequence[Prediction]) -> NumberPrediction:
    """Join the digits' predictions, left to right, into one `NumberPrediction`."""
    return NumberPrediction(
        source=source,
        number="".join(str(d.digit) for d in digits),
        digits=[int(d.digit) for d in digits if d.digit is not None],
        probabilities=[d.probability for d in digits],
        top_k=[d.top_k for d in digits],
        flagged=any(d.flagged for d in digits),
    )


def predict_number(model: Any, source: Any, top_k: int = 3) -> NumberPrediction:
    """Read one image (path, bytes, PIL image or array) as a row of digits, e.g. "2024"."""
    return predict_numbers(model, [source], top_k)[0]


def list_images(folder: str | os.PathLike[str]) -> list[Path]:
    """The image files directly in `folder`, sorted by name."""
    folder = Path(folder)
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise ImageError(
            f"{folder}: no images in this folder (looked for {', '.join(sorted(IMAGE_SUFFIXES))})"
        )
    return files


def predict_folder(model: Any, folder: str | os.PathLike[str], top_k: int = 3) -> list[Prediction]:
    """Predict every image in a folder as one batch."""
    return predict_images(model, list_images(folder), top_k)


@contextlib.contextmanager
def native_stderr_silenced() -> Iterator[None]:
    """Send file descriptor 2 to /dev/null for the duration (C++ logging ignores sys.stderr)."""
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(devnull)
        os.close(saved)


def display_path(path: Path) -> str:
    """`path` relative to the project, as users type it, or whole when it lies outside."""
    try:
        return str(path.resolve().relative_to(PROJECT_ROOT))
    except ValueError:
        return str(path)
