"""The course's interactive pieces, and the web app (`make_app`) that holds them in tabs.

A training panel (02), an error explorer (03), a drawing pad and the "Teach it"
panel (04).

Each is a small class holding ipywidgets. What a button does is a plain method
(`TrainingPanel.train`, `ErrorExplorer.select`, `DrawingPad.draw_stroke`,
`TeachPanel.keep`, `TeachPanel.teach`, ...),
so tests drive them without a browser. Nothing trains or waits until someone
presses a button: notebooks that display these run headless under papermill
and nbval. Every panel keeps the last figure it drew in `.figure`, which is
also what the static report shows in its place.
"""

from __future__ import annotations

import base64
import html
import io
import shutil
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ipywidgets as w
import numpy as np
from PIL import Image

from helpers.adapt import (
    Adaptation,
    AdaptConfig,
    AdaptError,
    adapt_writer,
    check_output,
    describe_adaptation,
)
from helpers.config import PROJECT_ROOT, TrainConfig, model_names, run_paths
from helpers.data import load_mnist, relative_to_project, split_train_val
from helpers.predict import (
    ModelError,
    Prediction,
    choose_model_file,
    load_model,
    make_prediction,
    predict_probabilities,
    threshold_of,
)
from helpers.preprocess import DotError, ImageError, Preprocessed, digit_size, preprocess_image
from helpers.saliency import attribution_rgb, occlusion_map
from helpers.samples import PAD_PEN, PAD_SIZE, draw_pen_stroke

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from helpers.evaluate import Evaluation

# TensorFlow (training), matplotlib and seaborn (figures) are imported where they are first
# needed: the web app's drawing pad is on screen before any of them has loaded.

WIDGET_RUNS = PROJECT_ROOT / "build" / "widget-runs"
"""Where the training panel's runs go: never over `models/best_model.keras`."""
PROTECTED_NAMES = ("best_model",)
PAD_PROMPT = "Draw a digit in the box, or upload an image."
MIN_BN_STEPS = 300
"""Fewer training steps than this leave batch normalisation's running statistics unsettled."""


def show_figure(output: w.Output, figure: Figure) -> None:
    """Make `output` show `figure` as a PNG (and close it, so it is not shown twice).

    It sets the widget's outputs directly rather than using `with output:`, which
    does not work from the training thread.
    """
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    plt.close(figure)
    png = base64.b64encode(buffer.getvalue()).decode("ascii")
    output.outputs = (
        {"output_type": "display_data", "data": {"image/png": png, "text/plain": "<Figure>"}, "metadata": {}},
    )


def new_model_file(models_dir: Path, name: str) -> Path:
    """`models_dir/NAME.keras` for a model to save; ValueError if the name is not plain letters,
    digits, '-' or '_', is `best_model`, or is taken."""
    name = name.strip()
    if not name or not name.replace("_", "").replace("-", "").isalnum():
        raise ValueError(f"name must be letters, digits, '-' or '_', got {name!r}")
    if name in PROTECTED_NAMES:
        raise ValueError(f"{name!r} is the course's trained model; choose another name")
    target = models_dir / f"{name}.keras"
    if target.exists():
        raise ValueError(f"{target.name} exists already; choose another name")
    return target


class TrainingPanel:
    """Sliders for the main hyperparameters, Train and Stop, a live chart, and a table of runs."""

    def __init__(
        self,
        x_train: np.ndarray,
        y_train: np.ndarray,
        *,
        defaults: TrainConfig | None = None,
        runs_dir: str | Path = WIDGET_RUNS,
        models_dir: str | Path | None = None,
    ) -> None:
        self.x_train, self.y_train = x_train, y_train
        self.runs_dir = Path(runs_dir)
        self.models_dir = Path(models_dir) if models_dir else run_paths().models
        # 625 steps: enough for batch normalisation's running statistics to settle.
        d = defaults or TrainConfig(epochs=2, train_subset=10000, batch_size=32)
        self.base = d
        style = {"description_width": "110px"}
        layout = w.Layout(width="420px")
        common = {"continuous_update": False, "style": style, "layout": layout}
        self.model_name = w.Dropdown(options=model_names(), value=d.model, description="model", **common)
        self.learning_rate = w.FloatLogSlider(
            value=d.learning_rate, base=10, min=-4, max=-1, step=0.1, readout_format=".1e",
            description="learning rate", **common,
        )  # fmt: skip
        self.epochs = w.IntSlider(value=d.epochs, min=1, max=30, description="epochs", **common)
        self.batch_size = w.Dropdown(
            options=[32, 64, 128, 256, 512], value=d.batch_size, description="batch size", **common
        )
        self.dropout = w.FloatSlider(
            value=d.dropout, min=0, max=0.7, step=0.05, description="dropout", **common
        )
        self.train_subset = w.IntSlider(
            value=d.train_subset or 54000, min=1000, max=54000, step=1000, description="training images",
            **common,
        )  # fmt: skip
        self.augment = w.Checkbox(value=d.augment, description="augment", style=style)
        self.seed = w.BoundedIntText(value=d.seed, min=0, max=2**31 - 1, description="seed", style=style)
        self.train_button = w.Button(description="Train", button_style="primary", icon="play")
        self.stop_button = w.Button(description="Stop", button_style="warning", icon="stop", disabled=True)
        self.epoch_bar = w.IntProgress(value=0, min=0, max=1, description="epochs", style=style)
        self.batch_bar = w.IntProgress(value=0, min=0, max=1, description="batches", style=style)
        self.status = w.HTML("Set the sliders, then press <b>Train</b>.")
        self.chart = w.Output()
        self.table = w.HTML()
        self.save_name = w.Text(placeholder="a name, e.g. my_model", description="save as", style=style)
        self.save_button = w.Button(description="Save model", icon="save", disabled=True)
        self.train_button.on_click(lambda _: self.start())
        self.stop_button.on_click(lambda _: self.stop())
        self.save_button.on_click(lambda _: self._save_clicked())
        self.stop_requested = False
        self.runs: list[dict[str, Any]] = []
        self.last_run_dir: Path | None = None
        self.figure: Figure | None = None
        self.loss_floor = 0.0
        self._thread: threading.Thread | None = None
        controls = [
            self.model_name, self.learning_rate, self.epochs, self.batch_size, self.dropout,
            self.train_subset, self.augment, self.seed,
        ]  # fmt: skip
        self.widget = w.VBox(
            [
                w.HBox([w.VBox(controls), w.VBox([self.epoch_bar, self.batch_bar, self.status])]),
                w.HBox([self.train_button, self.stop_button]),
                self.chart,
                self.table,
                w.HBox([self.save_name, self.save_button]),
            ]
        )

    def config(self) -> TrainConfig:
        """The `TrainConfig` the controls describe; raises ValueError naming a bad value."""
        subset = self.train_subset.value
        return TrainConfig(
            model=self.model_name.value,
            epochs=self.epochs.value,
            batch_size=self.batch_size.value,
            learning_rate=self.learning_rate.value,
            dropout=self.dropout.value,
            augment=self.augment.value,
            seed=self.seed.value,
            train_subset=0 if subset >= 54000 else subset,
            ema=self.base.ema,
            min_accuracy=0.0,
        )

    def train(self) -> dict[str, Any] | None:
        """Train with the controls' settings (blocking); add a row to the run table and return it."""
        self.stop_requested = False
        try:
            config = self.config()
            split = split_train_val(
                self.x_train, self.y_train, val_fraction=config.val_fraction, seed=config.seed,
                train_subset=config.train_subset,
            )  # fmt: skip
        except ValueError as exc:
            self.status.value = f"<span style='color:#b00'>Not started: {exc}</span>"
            return None
        self.epoch_bar.max, self.epoch_bar.value = config.epochs, 0
        self.batch_bar.max = -(-len(split.y_train) // config.batch_size)
        self.status.value = f"Training {config.model} on {len(split.y_train):,} images ..."
        steps = self.batch_bar.max * config.epochs
        if config.model != "mlp" and steps < MIN_BN_STEPS:
            self.status.value += (
                f"<br><span style='color:#b60'>Only {steps} steps: batch normalisation's running "
                "statistics may not settle, and validation accuracy can stay near chance. "
                "Use a smaller batch, more images or more epochs.</span>"
            )
        run_dir = self.runs_dir / f"run-{len(self.runs) + 1}-{time.strftime('%H%M%S')}"
        from helpers.models import loss_floor  # TensorFlow-heavy: only when training
        from helpers.train import ProgressCallback, train_model

        self.loss_floor = loss_floor(config.label_smoothing)
        progress = ProgressCallback(self._batch_done, self._epoch_done, lambda: self.stop_requested)
        began = time.perf_counter()
        result = train_model(config, split, run_paths(run_dir), extra_callbacks=[progress], verbose=False)
        row = {
            "run": len(self.runs) + 1,
            "model": config.model,
            "learning rate": f"{config.learning_rate:.1e}",
            "epochs": len(progress.history.get("loss", [])),
            "batch": config.batch_size,
            "dropout": config.dropout,
            "augment": config.augment,
            "images": len(split.y_train),
            "seed": config.seed,
            "val accuracy": round(result.record["validation"]["accuracy"], 4),
            "seconds": round(time.perf_counter() - began, 1),
            "stopped early": self.stop_requested,
        }
        self.runs.append(row)
        self.last_run_dir = run_dir
        import pandas as pd

        self.table.value = pd.DataFrame(self.runs).to_html(index=False)
        self.status.value += (
            f"<br>Done: validation accuracy <b>{row['val accuracy']:.2%}</b> in {row['seconds']:.0f} s"
            + (" (stopped early)" if self.stop_requested else "")
        )
        self.save_button.disabled = False
        return row

    def start(self) -> None:
        """Train in a background thread, so the Stop button and the chart stay live."""
        if self._thread and self._thread.is_alive():
            return
        self.train_button.disabled, self.stop_button.disabled = True, False

        def work() -> None:
            try:
                self.train()
            except Exception as exc:  # shown in the panel; the kernel stays usable
                self.status.value = f"<span style='color:#b00'>Training failed: {exc}</span>"
            finally:
                self.train_button.disabled, self.stop_button.disabled = False, True

        self._thread = threading.Thread(target=work, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Ask the running training to stop after the current batch."""
        self.stop_requested = True
        self.status.value = "Stopping after this batch ..."

    def _batch_done(self, batch: int) -> None:
        self.batch_bar.value = batch

    def _epoch_done(self, epoch: int, history: dict[str, list[float]]) -> None:
        self.epoch_bar.value = epoch + 1
        self.batch_bar.value = self.batch_bar.max
        self.draw_chart(history)

    def draw_chart(self, history: dict[str, list[float]]) -> None:
        """Redraw the loss and accuracy curves so far."""
        from helpers.plots import plot_training_history

        self.figure = plot_training_history(history, loss_floor=self.loss_floor)
        show_figure(self.chart, self.figure)

    def save(self, name: str) -> Path:
        """Copy the last run's model to `models/NAME.keras` (with its record); never `best_model`."""
        target = new_model_file(self.models_dir, name)
        if self.last_run_dir is None:
            raise ValueError("nothing to save yet: train a model first")
        source = run_paths(self.last_run_dir)
        self.models_dir.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source.model_file, target)
        if source.model_file.with_suffix(".tflite").is_file():  # the fast copy the CLI answers with
            shutil.copyfile(source.model_file.with_suffix(".tflite"), target.with_suffix(".tflite"))
        shutil.copyfile(source.record_file, target.with_suffix(".json"))
        return target

    def _save_clicked(self) -> None:
        try:
            path = self.save(self.save_name.value)
            self.status.value = f"Saved <code>{path}</code>"
        except ValueError as exc:
            self.status.value = f"<span style='color:#b00'>Not saved: {exc}</span>"


class ErrorExplorer:
    """Pick a cell of the confusion matrix (true, predicted) and browse its misclassified digits."""

    def __init__(self, images: np.ndarray, evaluation: Evaluation, per_page: int = 6) -> None:
        self.images, self.evaluation, self.per_page = images, evaluation, per_page
        cm = evaluation.confusion()
        np.fill_diagonal(cm, 0)
        true, pred = np.unravel_index(int(np.argmax(cm)), cm.shape)
        digits = [(str(d), d) for d in range(10)]
        self.true = w.Dropdown(options=digits, value=int(true), description="true")
        self.pred = w.Dropdown(options=digits, value=int(pred), description="predicted")
        self.page = w.IntSlider(value=0, min=0, max=0, description="page", continuous_update=False)
        self.summary = w.HTML()
        self.output = w.Output()
        self.figure: Figure | None = None
        for control in (self.true, self.pred, self.page):
            control.observe(lambda _: self.show(), names="value")
        self.widget = w.VBox([w.HBox([self.true, self.pred, self.page]), self.summary, self.output])
        self.show()

    def select(self, true: int, pred: int) -> np.ndarray:
        """Choose a cell; return the indices of its errors, most confident first."""
        self.true.value, self.pred.value = true, pred  # each change redraws
        return self.cell_errors()

    def cell_errors(self) -> np.ndarray:
        """Indices (into the test set) of the chosen cell's mistakes, most confident first."""
        return self.evaluation.errors(true=self.true.value, pred=self.pred.value)

    def show(self) -> None:
        """Draw the current page of the chosen cell's mistakes with their probabilities."""
        errors = self.cell_errors()
        pages = max(1, -(-len(errors) // self.per_page))
        if self.page.max != pages - 1:
            self.page.max = pages - 1
        t, p = self.true.value, self.pred.value
        self.summary.value = f"<b>{len(errors)}</b> test digits that are {t} were read as {p}."
        shown = errors[self.page.value * self.per_page :][: self.per_page]
        if len(shown) == 0:
            self.figure = None
            self.output.outputs = ()
            return
        from helpers.plots import plot_predictions

        titles = [f"#{i}: true {t}" for i in shown]
        self.figure = plot_predictions(
            self.images[shown], self.evaluation.probabilities[shown], titles,
            suptitle=f"{len(errors)} test digits that are {t} read as {p}: {len(shown)} shown",
        )  # fmt: skip
        show_figure(self.output, self.figure)


PAD_MIN_EXTENT = 0.2
"""Ink whose box spans less than this share of the pad is too small to read as a digit: a dot or
a dash. Real canvas drawings (real_dev) span at least 0.29 of theirs."""
PAD_TOO_SMALL = "Too small to read: draw a digit that fills more of the box."


def error_html(message: str) -> str:
    """`message` as one red line of HTML."""
    return f"<span style='color:#b00'>{html.escape(message, quote=False)}</span>"


def read_drawing(source: Any, on_pad: bool = False) -> Preprocessed:
    """`preprocess_image(source)`; ink drawn `on_pad` that is a dot, or spans less than
    `PAD_MIN_EXTENT` of the pad, raises `DotError(PAD_TOO_SMALL)`."""
    try:
        result = preprocess_image(source)
    except DotError:
        if on_pad:
            raise DotError(PAD_TOO_SMALL) from None
        raise
    cleaned = result.steps["cleaned"]
    if on_pad and digit_size(cleaned > 0) < PAD_MIN_EXTENT * max(cleaned.shape):
        raise DotError(PAD_TOO_SMALL)
    return result


class Sketch:
    """A canvas to draw on with the mouse, and `paper`, a PIL image that always holds the same ink.

    A stroke ends when the button is released or the mouse leaves the canvas;
    then `stroke_done` runs (the drawing pad reads the digit there).
    """

    SIZE = PAD_SIZE
    PEN = PAD_PEN

    def __init__(self) -> None:
        from ipycanvas import Canvas

        self.canvas = Canvas(width=self.SIZE, height=self.SIZE, layout=w.Layout(border="1px solid #999"))
        self._set_pen()
        self._stroke: list[tuple[float, float]] = []
        self.canvas.on_client_ready(self._replay)
        self.canvas.on_mouse_down(self._down)
        self.canvas.on_mouse_move(self._move)
        self.canvas.on_mouse_up(self._end_stroke)
        self.canvas.on_mouse_out(self._end_stroke)  # released outside, or left the pad: the stroke ends
        self.wipe()

    def wipe(self) -> None:
        """White paper and a white canvas."""
        self.paper = Image.new("L", (self.SIZE, self.SIZE), 255)
        self._stroke = []
        self.canvas.fill_style = "white"
        self.canvas.fill_rect(0, 0, self.SIZE, self.SIZE)
        self.canvas.stroke_style = "black"

    def has_ink(self) -> bool:
        """True once anything is drawn on the paper."""
        return self.paper.getextrema()[0] < 255

    def draw_stroke(self, points: Sequence[tuple[float, float]]) -> None:
        """Draw one pen stroke through `points` (canvas pixels) on the canvas and the paper."""
        points = [(float(x), float(y)) for x, y in points]
        self.canvas.stroke_lines(points * (2 if len(points) == 1 else 1))
        draw_pen_stroke(self.paper, points, self.PEN)
        self.stroke_done()

    def stroke_done(self) -> None:
        """What a finished stroke does: nothing here; the drawing pad reads the digit."""

    def _set_pen(self) -> None:
        """The canvas pen: the pad's width, with round ends and joins."""
        self.canvas.line_width, self.canvas.line_cap, self.canvas.line_join = self.PEN, "round", "round"

    def _replay(self) -> None:
        """Show a page that has just connected what is on the paper: draw commands sent before it
        was ready are lost (as in Voila, which runs the notebook before the page connects).

        ipycanvas sends "switch to this canvas" only when the target changes, and that message
        was among the lost ones: forget the target so the next command names it again.
        """
        self.canvas._canvas_manager._current_canvas = None
        self._set_pen()
        self.canvas.stroke_style = "black"
        self.canvas.put_image_data(np.repeat(np.asarray(self.paper)[..., None], 3, axis=2), 0, 0)

    def _down(self, x: float, y: float) -> None:
        self._stroke = [(x, y)]

    def _move(self, x: float, y: float) -> None:
        if self._stroke:
            self.canvas.stroke_line(*self._stroke[-1], x, y)
            self._stroke.append((x, y))

    def _end_stroke(self, x: float, y: float) -> None:
        """The button went up, or the mouse left the canvas: draw the stroke on the paper."""
        if self._stroke:
            stroke, self._stroke = self._stroke, []
            inside = (min(max(x, 0.0), self.SIZE - 1.0), min(max(y, 0.0), self.SIZE - 1.0))
            self.draw_stroke([*stroke, inside])


def answer_html(prediction: Prediction) -> str:
    """A prediction as the pad shows it: the digit large, "(unsure)" if flagged, then the top 3."""
    tops = ", ".join(f"{d}: {q:.1%}" for d, q in prediction.top_k)
    unsure = " (unsure)" if prediction.flagged else ""
    return f"<b style='font-size:2em'>{prediction.digit}</b>{unsure}<br>{tops}"


class DrawingPad(Sketch):
    """Draw a digit with the mouse, or upload an image; see the preprocessing and the top 3.

    The pad holds what it shows (see `Sketch`), and reads the digit after each
    stroke. `model` is any model `load_model` returns; the app gives it the
    LiteRT copy, which answers without TensorFlow. With a `base` model too, the
    pad shows both answers side by side (`model`'s first, headed `titles`).
    """

    def __init__(self, model: Any, base: Any = None, titles: tuple[str, str] = ("", "")) -> None:
        super().__init__()
        self.model, self.base, self.titles = model, base, titles
        self.clear_button = w.Button(description="Clear", icon="eraser")
        self.upload = w.FileUpload(accept="image/*", multiple=False, description="Upload image")
        self.answer = w.HTML(PAD_PROMPT)
        self.looked = w.ToggleButton(
            description="Where it looked",
            icon="eye",
            tooltip="Colour the 28x28 input by how much covering each part lowers the answer (occlusion)",
        )
        self.output = w.Output()
        self.figure: Figure | None = None
        self.prediction: Prediction | None = None
        self.base_prediction: Prediction | None = None
        self.saliency: np.ndarray | None = None
        self._steps: dict[str, np.ndarray] | None = None
        self.clear_button.on_click(lambda _: self.clear())
        self.upload.observe(lambda change: self._uploaded(change["new"]), names="value")
        self.looked.observe(lambda _: self.show_steps(), names="value")
        self.clear()
        self.widget = w.VBox(
            [
                w.HBox([self.canvas, w.VBox([self.clear_button, self.upload, self.looked, self.answer])]),
                self.output,
            ]
        )

    def clear(self) -> None:
        """Wipe the pad (white paper), its answer and its figure."""
        self.wipe()
        self._forget()
        self.answer.value = PAD_PROMPT

    def stroke_done(self) -> None:
        """Read what is on the pad after each stroke."""
        self.predict(self.paper, on_pad=True)

    def predict(self, source: Any, on_pad: bool = False) -> None:
        """Preprocess `source`, show every step and the top-3 probabilities.

        Ink drawn `on_pad` that spans less than `PAD_MIN_EXTENT` of it gets a
        request to draw a digit, not an answer.
        """
        try:
            result = read_drawing(source, on_pad)
        except ImageError as exc:
            self._forget()
            self.answer.value = error_html(str(exc))
            return
        self.prediction = self._answer(self.model, result.image)
        self.answer.value = answer_html(self.prediction)
        if self.base is not None:
            self.base_prediction = self._answer(self.base, result.image)
            cells = [answer_html(self.prediction), answer_html(self.base_prediction)]
            self.answer.value = (
                "<table><tr>" + "".join(f"<th style='padding-right:2em'>{t}</th>" for t in self.titles)
                + "</tr><tr>" + "".join(f"<td style='padding-right:2em'>{c}</td>" for c in cells)
                + "</tr></table>"
            )  # fmt: skip
        self._steps = result.steps
        self.show_steps()

    @staticmethod
    def _answer(model: Any, image: np.ndarray) -> Prediction:
        probabilities = predict_probabilities(model, image[None])[0]
        return make_prediction("pad", probabilities, 3, threshold_of(model))

    def show_steps(self) -> None:
        """Draw the preprocessing steps; with "Where it looked" on, also the occlusion map over the input."""
        if self._steps is None or self.prediction is None:
            return
        from helpers.plots import plot_preprocess_steps

        steps, self.saliency = dict(self._steps), None
        if self.looked.value:
            image = steps["28x28"]
            self.saliency = occlusion_map(self.model, image, int(self.prediction.digit))
            steps["where it looked"] = attribution_rgb(image, self.saliency)
        self.figure = plot_preprocess_steps(steps, caption=f"read as {self.prediction.digit}")
        show_figure(self.output, self.figure)

    def _forget(self) -> None:
        """Drop the answer and its figure."""
        self.prediction, self.base_prediction, self.figure, self.saliency, self._steps = (None,) * 5
        self.output.outputs = ()

    def _uploaded(self, files: Sequence[dict[str, Any]]) -> None:
        if files:
            self.predict(bytes(files[0]["content"]))


TEACH_PER_DIGIT = (3, 10, 3)
"""The drawings of each digit the Teach tab asks for: at least, at most, at first."""


class TeachPanel:
    """Teach the model your hand: draw each digit a few times, press Teach, then try the result.

    The prompts go 0 to 9 and round again, one of each digit per round. Teach
    adapts the run's Keras model to the drawings (`helpers.adapt.adapt_writer`),
    shows how it reads the drawings it set aside before and after, and opens a
    pad that answers with the taught model and the base model side by side.
    Save writes `models/NAME.keras` of the run (never `best_model`). TensorFlow
    is imported only when Teach is pressed.
    """

    def __init__(self, run_dir: str | Path = "", *, config: AdaptConfig | None = None, seed: int = 0) -> None:
        paths = run_paths(run_dir)
        self.base_file, self.models_dir = paths.model_file, paths.models
        self.config, self.seed = config or AdaptConfig(), seed
        low, high, first = TEACH_PER_DIGIT
        self.sketch = Sketch()
        self.per_digit = w.IntSlider(
            value=first, min=low, max=high, description="drawings of each digit",
            style={"description_width": "150px"}, layout=w.Layout(width="420px"),
        )  # fmt: skip
        self.prompt = w.HTML()
        self.keep_button = w.Button(description="Keep", button_style="primary", icon="check")
        self.clear_button = w.Button(description="Clear", icon="eraser")
        self.upload = w.FileUpload(accept="image/*", multiple=False, description="Upload image")
        self.teach_button = w.Button(description="Teach", button_style="success", icon="graduation-cap")
        self.message = w.HTML()
        self.progress = w.IntProgress(value=0, min=0, max=self.config.steps, description="steps")
        self.progress.layout.display = "none"
        self.report = w.HTML()
        self.more_button = w.Button(description="Draw more", icon="pencil")
        self.save_name = w.Text(placeholder="a name, e.g. my_hand", description="save as")
        self.save_button = w.Button(description="Save model", icon="save")
        self.saved = w.HTML()
        self.drawings: list[Any] = []
        self.labels: list[int] = []
        self.adaptation: Adaptation | None = None
        self.trial: DrawingPad | None = None
        self.keep_button.on_click(lambda _: self.keep())
        self.clear_button.on_click(lambda _: self.clear())
        self.upload.observe(lambda change: self._uploaded(change["new"]), names="value")
        self.teach_button.on_click(lambda _: self.teach())
        self.more_button.on_click(lambda _: self.draw_more())
        self.save_button.on_click(lambda _: self._save_clicked())
        self.per_digit.observe(lambda _: self.show_prompt(), names="value")
        buttons = w.VBox([self.keep_button, self.clear_button, self.upload, self.teach_button])
        self.drawing = w.VBox(
            [self.per_digit, self.prompt, w.HBox([self.sketch.canvas, w.VBox([buttons, self.message])])]
        )
        self.trying = w.VBox()
        self.trying.layout.display = "none"
        self.widget = w.VBox([self.drawing, self.progress, self.report, self.trying])
        self.show_prompt()

    @property
    def figure(self) -> Figure | None:
        """The last figure of the "try it" pad (None before Teach)."""
        return self.trial.figure if self.trial else None

    def prompted(self) -> int | None:
        """The digit to draw next; None once every digit has its drawings."""
        return None if self.missing() == 0 else len(self.labels) % 10

    def missing(self) -> int:
        """How many drawings are still to be made before Teach."""
        return max(0, 10 * self.per_digit.value - len(self.labels))

    def show_prompt(self) -> None:
        """Ask for the next drawing ("Draw a 3 (2 of 5)"), or for Teach once all are drawn."""
        digit = self.prompted()
        if digit is None:
            self.prompt.value = (
                f"<b>Every digit is drawn {len(self.labels) // 10} times.</b> Press <b>Teach</b> "
                "to teach the model your hand (or move the slider up to draw more)."
            )
        else:
            drawn = len(self.labels) // 10 + 1
            self.prompt.value = (
                f"<b style='font-size:1.4em'>Draw a {digit} ({drawn} of {self.per_digit.value})</b>"
                " in the box, then press <b>Keep</b>."
            )
        self.keep_button.disabled = self.upload.disabled = digit is None
        self.teach_button.disabled = digit is not None

    def clear(self) -> None:
        """Wipe the canvas to draw this digit again."""
        self.sketch.wipe()
        self.message.value = ""

    def keep(self) -> bool:
        """Keep the canvas's drawing as the prompted digit and move on; False (and why) if it is
        blank, a dot or a dash."""
        digit = self.prompted()
        if digit is not None and not self.sketch.has_ink():
            self.message.value = error_html(f"Nothing to keep: draw a {digit} in the box first.")
            return False
        if not self.add_drawing(self.sketch.paper.copy(), on_pad=True):
            return False
        self.sketch.wipe()
        return True

    def add_drawing(self, source: Any, on_pad: bool = False) -> bool:
        """Keep `source` (a drawing, an image file's bytes, ...) as the prompted digit; False (and
        why) if no digit can be read from it."""
        digit = self.prompted()
        if digit is None:
            self.message.value = error_html("Every digit has its drawings: press Teach.")
            return False
        try:
            read_drawing(source, on_pad)
        except ImageError as exc:
            self.message.value = error_html(f"Not kept. {str(exc)[:1].upper()}{str(exc)[1:]}")
            return False
        self.drawings.append(source)
        self.labels.append(digit)
        self.message.value = f"Kept your {digit}."
        self.show_prompt()
        return True

    def teach(self) -> Adaptation | None:
        """Adapt the base model to the drawings (blocking), show before and after, and open the
        "try it" pad; None (and why, in one red line) if it cannot."""
        if self.prompted() is not None:
            self.report.value = error_html(
                f"Not yet: draw {self.missing()} more (each digit {self.per_digit.value} times), then Teach."
            )
            return None
        self.teach_button.disabled = self.keep_button.disabled = True
        self.progress.value, self.progress.max = 0, self.config.steps
        self.progress.layout.display = None
        self.report.value = f"Loading TensorFlow and {self.base_file.name} ..."
        try:  # TensorFlow is imported in here
            adaptation = adapt_writer(
                self.base_file, self.drawings, self.labels, seed=self.seed, config=self.config,
                on_step=self._step,
            )  # fmt: skip
        except (AdaptError, ImageError, ModelError) as exc:
            self.report.value = error_html(f"Not taught: {exc}")
            return None
        finally:
            self.progress.layout.display = "none"
            self.show_prompt()
        self.adaptation = adaptation
        lines = describe_adaptation(adaptation.record)
        shown = "".join(f"<li>{html.escape(line, quote=False)}</li>" for line in lines)
        self.report.value = f"<b>Taught.</b><ul>{shown}</ul>"
        self.trial = DrawingPad(adaptation.model, base=adaptation.base, titles=("taught", "before teaching"))
        self.saved.value = ""
        self.trying.children = (
            w.HTML(
                "<b>Try it:</b> draw a digit. Beside the taught model's answer is the one "
                "it gave before it was taught."
            ),
            self.trial.widget,
            w.HBox([self.save_name, self.save_button, self.more_button]),
            self.saved,
        )
        self.drawing.layout.display, self.trying.layout.display = "none", None
        return adaptation

    def draw_more(self) -> None:
        """Back to drawing (what is kept stays), to teach again with more."""
        self.drawing.layout.display, self.trying.layout.display = None, "none"
        self.show_prompt()

    def save(self, name: str) -> Path:
        """Write the taught model to the run's `models/NAME.keras`, with its record and LiteRT copy;
        never over `best_model` or the base."""
        target = new_model_file(self.models_dir, name)
        if self.adaptation is None:
            raise ValueError("nothing to save yet: press Teach first")
        out, _ = check_output(target, self.base_file)  # refuses the base's own file too
        return self.adaptation.save(out)

    def _step(self, done: int, total: int) -> None:
        self.progress.value = done

    def _save_clicked(self) -> None:
        try:
            path = self.save(self.save_name.value)
        except (ValueError, OSError) as exc:
            self.saved.value = error_html(f"Not saved: {exc}")
            return
        self.saved.value = (
            f"Saved <code>{html.escape(relative_to_project(path))}</code>: read with "
            f"<code>digits predict --model {html.escape(relative_to_project(path))} IMAGE</code>"
        )

    def _uploaded(self, files: Sequence[dict[str, Any]]) -> None:
        if files:
            self.add_drawing(bytes(files[0]["content"]))


def make_app(run_dir: str | Path = "") -> w.Widget:
    """The web app that `make app` serves: the drawing pad, the training panel in a second tab, and
    "Teach it" (`TeachPanel`) in a third.

    The pad answers with the LiteRT copy of the model where there is one, so the
    page is ready before TensorFlow loads; the other tabs are built when first
    opened, and TensorFlow is imported only when the Train tab opens or Teach is pressed.
    """
    model_file = run_paths(run_dir).model_file
    if not model_file.is_file():
        return w.HTML(
            f"<b>No trained model at {relative_to_project(model_file)}.</b> Run <code>make all</code> first."
        )
    answering, _ = choose_model_file(model_file)
    pad = DrawingPad(load_model(answering))
    training = w.VBox([w.HTML("Loading TensorFlow and MNIST for training ...")])
    teaching = w.VBox([w.HTML("Opening the Teach it tab ...")])
    tabs = w.Tab([pad.widget, training, teaching])
    tabs.titles = ("Draw or upload", "Train", "Teach it")

    def opened(change: dict[str, Any]) -> None:
        if change["new"] == 1 and not hasattr(tabs, "panel"):
            mnist = load_mnist()
            tabs.panel = TrainingPanel(mnist.x_train, mnist.y_train)
            training.children = (tabs.panel.widget,)
        if change["new"] == 2 and not hasattr(tabs, "teacher"):
            tabs.teacher = TeachPanel(run_dir)
            teaching.children = (tabs.teacher.widget,)

    tabs.observe(opened, names="selected_index")
    return tabs
