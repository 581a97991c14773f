"""The course's interactive pieces: a training panel (02), an error explorer (03), a drawing pad (04).

Each is a small class holding ipywidgets. What a button does is a plain method
(`TrainingPanel.train`, `ErrorExplorer.select`, `DrawingPad.draw_stroke`, ...),
so tests drive them without a browser. Nothing trains or waits until someone
presses a button: notebooks that display these run headless under papermill
and nbval. Every panel keeps the last figure it drew in `.figure`, which is
also what the static report shows in its place.
"""

from __future__ import annotations

import base64
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

from helpers.config import PROJECT_ROOT, TrainConfig, model_names, run_paths
from helpers.data import load_mnist, relative_to_project, split_train_val
from helpers.predict import (
    choose_model_file,
    load_model,
    make_prediction,
    predict_probabilities,
    threshold_of,
)
from helpers.preprocess import DotError, ImageError, digit_size, preprocess_image
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
        name = name.strip()
        if not name or not name.replace("_", "").replace("-", "").isalnum():
            raise ValueError(f"name must be letters, digits, '-' or '_', got {name!r}")
        if name in PROTECTED_NAMES:
            raise ValueError(f"{name!r} is the course's trained model; choose another name")
        if self.last_run_dir is None:
            raise ValueError("nothing to save yet: train a model first")
        source = run_paths(self.last_run_dir)
        target = self.models_dir / f"{name}.keras"
        if target.exists():
            raise ValueError(f"{target.name} exists already; choose another name")
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


class DrawingPad:
    """Draw a digit with the mouse, or upload an image; see the preprocessing and the top 3.

    The pad holds what it shows: `paper` gets each stroke as the canvas does,
    and a stroke ends (and is read) when the button is released or the mouse
    leaves the canvas. `model` is any model `load_model` returns; the app gives
    it the LiteRT copy, which answers without TensorFlow.
    """

    SIZE = PAD_SIZE
    PEN = PAD_PEN

    def __init__(self, model: Any) -> None:
        from ipycanvas import Canvas

        self.model = model
        self.canvas = Canvas(width=self.SIZE, height=self.SIZE, layout=w.Layout(border="1px solid #999"))
        self._set_pen()
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
        self.prediction = None
        self.saliency: np.ndarray | None = None
        self._steps: dict[str, np.ndarray] | None = None
        self._stroke: list[tuple[float, float]] = []
        self.canvas.on_client_ready(self._replay)
        self.canvas.on_mouse_down(self._down)
        self.canvas.on_mouse_move(self._move)
        self.canvas.on_mouse_up(self._end_stroke)
        self.canvas.on_mouse_out(self._end_stroke)  # released outside, or left the pad: the stroke ends
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
        self.paper = Image.new("L", (self.SIZE, self.SIZE), 255)
        self._forget()
        self._stroke = []
        self.answer.value = PAD_PROMPT
        self.canvas.fill_style = "white"
        self.canvas.fill_rect(0, 0, self.SIZE, self.SIZE)
        self.canvas.stroke_style = "black"

    def draw_stroke(self, points: Sequence[tuple[float, float]]) -> None:
        """Draw one pen stroke through `points` (canvas pixels), then predict what is on the pad."""
        points = [(float(x), float(y)) for x, y in points]
        self.canvas.stroke_lines(points * (2 if len(points) == 1 else 1))
        draw_pen_stroke(self.paper, points, self.PEN)
        self.predict(self.paper, on_pad=True)

    def predict(self, source: Any, on_pad: bool = False) -> None:
        """Preprocess `source`, show every step and the top-3 probabilities.

        Ink drawn `on_pad` that spans less than `PAD_MIN_EXTENT` of it gets a
        request to draw a digit, not an answer.
        """
        try:
            result = preprocess_image(source)
        except ImageError as exc:
            self._forget()
            message = PAD_TOO_SMALL if on_pad and isinstance(exc, DotError) else str(exc)
            self.answer.value = f"<span style='color:#b00'>{message}</span>"
            return
        steps = result.steps
        if on_pad and digit_size(steps["cleaned"] > 0) < PAD_MIN_EXTENT * max(steps["cleaned"].shape):
            self._forget()
            self.answer.value = f"<span style='color:#b00'>{PAD_TOO_SMALL}</span>"
            return
        probabilities = predict_probabilities(self.model, result.image[None])[0]
        self.prediction = make_prediction("pad", probabilities, 3, threshold_of(self.model))
        tops = ", ".join(f"{d}: {q:.1%}" for d, q in self.prediction.top_k)
        unsure = " (unsure)" if self.prediction.flagged else ""
        self.answer.value = f"<b style='font-size:2em'>{self.prediction.digit}</b>{unsure}<br>{tops}"
        self._steps = steps
        self.show_steps()

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
        self.prediction, self.figure, self.saliency, self._steps = None, None, None, None
        self.output.outputs = ()

    def _set_pen(self) -> None:
        """The canvas pen: the pad's width, with round ends and joins."""
        self.canvas.line_width, self.canvas.line_cap, self.canvas.line_join = self.PEN, "round", "round"

    def _replay(self) -> None:
        """Show a page that has just connected what is on the pad: draw commands sent before it
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
        """The button went up, or the mouse left the pad: draw the stroke on the paper and read it."""
        if self._stroke:
            stroke, self._stroke = self._stroke, []
            inside = (min(max(x, 0.0), self.SIZE - 1.0), min(max(y, 0.0), self.SIZE - 1.0))
            self.draw_stroke([*stroke, inside])

    def _uploaded(self, files: Sequence[dict[str, Any]]) -> None:
        if files:
            self.predict(bytes(files[0]["content"]))


def make_app(run_dir: str = "") -> w.Widget:
    """The web app that `make app` serves: the drawing pad, and the training panel in a second tab.

    The pad answers with the LiteRT copy of the model where there is one, so the
    page is ready before TensorFlow loads; TensorFlow is imported only when the
    Train tab is first opened, which builds the panel then.
    """
    model_file = run_paths(run_dir).model_file
    if not model_file.is_file():
        return w.HTML(
            f"<b>No trained model at {relative_to_project(model_file)}.</b> Run <code>make all</code> first."
        )
    answering, _ = choose_model_file(model_file)
    pad = DrawingPad(load_model(answering))
    training = w.VBox([w.HTML("Loading TensorFlow and MNIST for training ...")])
    tabs = w.Tab([pad.widget, training])
    tabs.titles = ("Draw or upload", "Train")

    def opened(change: dict[str, Any]) -> None:
        if change["new"] == 1 and not hasattr(tabs, "panel"):
            mnist = load_mnist()
            tabs.panel = TrainingPanel(mnist.x_train, mnist.y_train)
            training.children = (tabs.panel.widget,)

    tabs.observe(opened, names="selected_index")
    return tabs
