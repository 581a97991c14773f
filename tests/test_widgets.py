"""The widgets' logic without a browser: train from the panel, browse errors, draw and upload digits."""

import hashlib
import json
import shutil
import subprocess
import sys
import threading

import numpy as np
import pytest
from PIL import Image

from helpers import preprocess
from helpers.adapt import AdaptConfig
from helpers.config import PROJECT_ROOT, TrainConfig
from helpers.evaluate import evaluate_probabilities
from helpers.predict import LiteModel, load_model, predict_probabilities
from helpers.samples import digit_strokes
from helpers.widgets import PAD_TOO_SMALL, DrawingPad, ErrorExplorer, TeachPanel, TrainingPanel, make_app

BEST_MODEL = PROJECT_ROOT / "models" / "best_model.keras"


def _fingerprint(path):
    return hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns


@pytest.fixture
def panel(tmp_path, mnist):
    panel = TrainingPanel(
        mnist.x_train, mnist.y_train, runs_dir=tmp_path / "runs", models_dir=tmp_path / "models"
    )
    panel.model_name.value, panel.epochs.value, panel.batch_size.value = "mlp", 2, 64
    panel.train_subset.value = 2000
    return panel


@pytest.mark.slow
def test_panel_trains_charts_and_tabulates_without_touching_the_course_model(panel):
    before = _fingerprint(BEST_MODEL)
    row = panel.train()
    assert row["model"] == "mlp" and row["epochs"] == 2 and row["images"] == 2000
    assert row["val accuracy"] > 0.8
    assert panel.epoch_bar.value == 2 and panel.batch_bar.value == panel.batch_bar.max == 32
    assert panel.figure is not None and len(panel.figure.axes) == 2  # loss and accuracy
    assert panel.table.value.count("<tr") == 2  # header and one run
    assert "validation accuracy" in panel.status.value
    assert _fingerprint(BEST_MODEL) == before
    panel.learning_rate.value = 1e-3
    panel.train()
    assert panel.table.value.count("<tr") == 3
    assert [r["learning rate"] for r in panel.runs] == [f"{TrainConfig().learning_rate:.1e}", "1.0e-03"]


def test_panel_reads_every_control_into_the_config(panel):
    panel.augment.value, panel.dropout.value, panel.seed.value = False, 0.4, 9
    config = panel.config()
    assert (config.model, config.epochs, config.batch_size, config.train_subset) == ("mlp", 2, 64, 2000)
    assert (config.augment, config.dropout, config.seed) == (False, 0.4, 9)
    panel.train_subset.value = 54000
    assert panel.config().train_subset == 0  # all of the training split


def test_panel_reports_bad_settings_instead_of_training(tmp_path, mnist):
    small = TrainingPanel(mnist.x_train[:1000], mnist.y_train[:1000], runs_dir=tmp_path / "runs")
    small.train_subset.value = 5000
    assert small.train() is None
    assert "Not started: train_subset must be at most 900" in small.status.value
    assert not (tmp_path / "runs").exists()


@pytest.mark.slow
def test_stop_button_ends_training_early(panel, pause_point, monkeypatch):
    panel.epochs.value = 20
    first_batch = pause_point("training")
    first_batch.hold_this_process(monkeypatch)
    panel.start()
    first_batch.wait(alive=panel._thread.is_alive)  # the thread is held after its first batch
    assert panel.stop_button.disabled is False
    panel.stop()
    first_batch.release()
    panel._thread.join(timeout=300)
    assert not panel._thread.is_alive()
    assert panel.runs[-1]["stopped early"] is True
    assert panel.runs[-1]["epochs"] == 1  # stopped within the first epoch
    assert panel.train_button.disabled is False and panel.stop_button.disabled is True


@pytest.mark.slow
def test_saving_refuses_the_course_model_and_keeps_others(panel, tmp_path):
    with pytest.raises(ValueError, match="nothing to save yet"):
        panel.save("mine")
    panel.train()
    with pytest.raises(ValueError, match="'best_model' is the course's trained model"):
        panel.save("best_model")
    with pytest.raises(ValueError, match="name must be letters"):
        panel.save("../escape")
    saved = panel.save("mine")
    assert saved == tmp_path / "models" / "mine.keras" and saved.with_suffix(".json").is_file()
    assert load_model(saved).name == "mlp"
    with pytest.raises(ValueError, match=r"mine\.keras exists already"):
        panel.save("mine")


@pytest.fixture(scope="module")
def explorer(mnist, tiny_model):
    x = mnist.x_test[:2000]
    evaluation = evaluate_probabilities(mnist.y_test[:2000], predict_probabilities(tiny_model, x / 255.0))
    return ErrorExplorer(x, evaluation, per_page=4)


def test_explorer_opens_on_the_largest_confusion(explorer):
    true, pred, count = explorer.evaluation.top_confusions(1)[0]
    assert (explorer.true.value, explorer.pred.value) == (true, pred)
    assert f"<b>{count}</b> test digits that are {true} were read as {pred}" in explorer.summary.value
    assert len(explorer.figure.axes) == 2 * min(4, count)


def test_explorer_lists_only_the_chosen_cell(explorer):
    cm = explorer.evaluation.confusion()
    true, pred = 4, 9
    errors = explorer.select(true, pred)
    assert len(errors) == cm[true, pred]
    assert (explorer.evaluation.y_true[errors] == true).all()
    assert (explorer.evaluation.y_pred[errors] == pred).all()
    assert explorer.page.max == max(0, -(-len(errors) // 4) - 1)
    explorer.select(3, 3)  # the diagonal holds no errors
    assert explorer.figure is None and "<b>0</b>" in explorer.summary.value


@pytest.fixture(scope="module")
def pad(shipped_model):
    return DrawingPad(load_model(shipped_model))


def test_pad_reads_a_drawn_one_and_seven(pad):
    pad.clear()
    pad.draw_stroke([(140, 40), (138, 150), (136, 240)])
    assert pad.prediction.digit == 1
    pad.clear()
    pad.draw_stroke([(70, 60), (210, 60)])  # the bar ...
    pad.draw_stroke([(210, 60), (150, 160), (110, 240)])  # ... then the stem
    assert pad.prediction.digit == 7
    assert list(pad.prediction.top_k[0]) == [7, pad.prediction.probability]
    assert pad.figure is not None and len(pad.figure.axes) == 5  # every preprocessing step
    assert "<b style='font-size:2em'>7</b>" in pad.answer.value


def test_pad_reads_a_drawn_zero(pad):
    pad.clear()
    angles = np.linspace(0, 2 * np.pi, 40)
    pad.draw_stroke([(140 + 60 * np.sin(a), 140 - 95 * np.cos(a)) for a in angles])
    assert pad.prediction.digit == 0


def test_pad_upload_and_blank_image(pad):
    sample = PROJECT_ROOT / "data" / "samples" / "4_black_ink.jpg"
    pad._uploaded([{"name": sample.name, "content": memoryview(sample.read_bytes())}])
    assert pad.prediction.digit == 4
    pad.predict(Image.new("L", (280, 280), 255))
    assert pad.prediction is None and "no digit found" in pad.answer.value


@pytest.mark.slow
def test_panel_start_does_not_block(panel, pause_point, monkeypatch):
    first_batch = pause_point("training")
    first_batch.hold_this_process(monkeypatch)
    panel.start()  # returns while its thread is held in training: it did not wait for the run
    first_batch.wait(alive=panel._thread.is_alive)
    assert isinstance(panel._thread, threading.Thread) and panel._thread.is_alive()
    assert panel.train_button.disabled is True and not panel.runs
    first_batch.release()
    panel._thread.join(timeout=300)
    assert panel.runs and panel.runs[-1]["epochs"] == 2


def test_pad_reads_digits_drawn_to_its_edges(pad, edge_drawings):
    read = {}
    for digit, strokes in edge_drawings.items():
        pad.clear()
        for stroke in strokes:
            pad.draw_stroke(stroke)
        ink = np.asarray(pad.paper) < 128
        assert ink[0].any() or ink[-1].any() or ink[:, 0].any() or ink[:, -1].any()  # really at the edge
        read[digit] = pad.prediction.digit if pad.prediction else pad.answer.value
    assert read == {digit: digit for digit in edge_drawings}


def test_pad_uploads_obey_the_file_size_and_pixel_limits(pad, monkeypatch):
    sample = (PROJECT_ROOT / "data" / "samples" / "4_black_ink.jpg").read_bytes()
    upload = [{"name": "big.jpg", "content": memoryview(sample)}]
    monkeypatch.setattr(preprocess, "MAX_FILE_BYTES", len(sample) - 1)
    pad._uploaded(upload)
    assert pad.prediction is None and "MB limit" in pad.answer.value
    monkeypatch.setattr(preprocess, "MAX_FILE_BYTES", len(sample))
    monkeypatch.setattr(preprocess, "MAX_PIXELS", 100)
    pad._uploaded(upload)
    assert pad.prediction is None and "100-pixel limit" in pad.answer.value
    monkeypatch.undo()
    pad._uploaded(upload)
    assert pad.prediction.digit == 4


def test_app_answers_with_litert_and_builds_the_panels_when_their_tabs_open():
    app = make_app()
    assert app.titles == ("Draw or upload", "Train", "Teach it")
    pad_box, panel_box, teach_box = app.children
    assert type(pad_box.children[0].children[0]).__name__ == "Canvas"
    canvas = pad_box.children[0].children[0]
    pad = next(cb.__self__ for cb in canvas._mouse_down_callbacks.callbacks)
    assert isinstance(pad.model, LiteModel) and pad.model.path == BEST_MODEL.with_suffix(".tflite")
    assert "Loading TensorFlow" in panel_box.children[0].value  # no panel before the tab opens
    assert "Opening the Teach it tab" in teach_box.children[0].value
    app.selected_index = 1
    panel = panel_box.children[0]
    assert [button.description for button in panel.children[1].children] == ["Train", "Stop"]
    app.selected_index = 2
    assert app.teacher.widget is teach_box.children[0] and app.teacher.base_file == BEST_MODEL
    assert "Draw a 0 (1 of 3)" in app.teacher.prompt.value


def test_the_app_imports_no_tensorflow_until_training_or_teaching():
    code = (
        "import sys\nfrom helpers.widgets import make_app\napp = make_app()\napp.selected_index = 2\n"
        "loaded = sorted(m for m in ('tensorflow', 'keras', 'seaborn') if m in sys.modules)\n"
        "print(type(app.teacher).__name__, loaded)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "TeachPanel []"


def test_app_without_a_model_says_how_to_make_one(tmp_path):
    app = make_app(tmp_path)
    assert "No trained model at" in app.value and "make all" in app.value


def test_pad_redraws_itself_for_a_page_that_connects_late(pad, monkeypatch):
    from ipycanvas.canvas import COMMANDS

    sent = []
    manager = pad.canvas._canvas_manager
    monkeypatch.setattr(manager, "_send_custom", lambda command, buffers=(): sent.append(command))
    pad.clear()
    pad.draw_stroke([(140, 40), (138, 240)])
    sent.clear()
    pad._replay()  # what a page that connects after the drawing receives
    assert sent[0][0] == COMMANDS["switchCanvas"]  # names its canvas again: the first naming was lost
    assert [c[0] for c in sent].count(COMMANDS["putImageData"]) == 1  # then the paper as it is


def test_where_it_looked_shows_the_occlusion_map_over_the_input(pad):
    pad.looked.value = False
    pad.clear()
    pad.draw_stroke([(70, 60), (210, 60), (150, 160), (110, 240)])  # a 7
    assert pad.prediction.digit == 7 and pad.saliency is None
    assert [ax.get_title() for ax in pad.figure.axes][-1] == "28x28"
    pad.looked.value = True  # the toggle redraws at once
    heat, image = pad.saliency, pad._steps["28x28"]
    assert heat.shape == (28, 28) and [ax.get_title() for ax in pad.figure.axes][-1] == "where it looked"
    assert heat.max() > 0.05  # covering some part of the 7 lowers p(7)
    on_ink, off_ink = heat[image > 0.5].mean(), heat[image == 0].mean()
    assert on_ink > 3 * max(off_ink, 0.0)  # and the parts that matter are on the strokes
    pad.looked.value = False
    assert pad.saliency is None


def mouse(pad, event, x, y):
    """Send the pad's canvas a mouse event, as the browser's canvas does."""
    pad.canvas._handle_frontend_event(None, {"event": f"mouse_{event}", "x": x, "y": y}, [])


def test_a_dot_or_a_dash_on_the_pad_asks_for_a_digit(pad):
    for stroke in ([(140, 140)], [(120, 140), (150, 141)]):  # a click; a short dash
        pad.clear()
        mouse(pad, "down", *stroke[0])
        for point in stroke[1:]:
            mouse(pad, "move", *point)
        mouse(pad, "up", *stroke[-1])
        assert pad.prediction is None and pad.figure is None, stroke
        assert PAD_TOO_SMALL in pad.answer.value
        assert (np.asarray(pad.paper) < 128).any()  # the ink is there; it is not a digit
    pad.draw_stroke([(140, 40), (138, 240)])  # a real 1 beside the dash is read
    assert pad.prediction.digit == 1


def test_a_stroke_that_leaves_the_pad_ends_there_and_is_read(pad):
    pad.clear()
    mouse(pad, "down", 140, 40)
    for y in range(60, 280, 20):
        mouse(pad, "move", 139, y)
    mouse(pad, "out", 139, 290)  # the mouse left the canvas with the button still down
    assert pad.prediction is not None and pad.prediction.digit == 1
    drawn = np.asarray(pad.paper).copy()
    assert (drawn[260:, 130:150] < 128).any()  # the stroke reaches the edge it left by
    mouse(pad, "move", 60, 100)  # back over the pad with the button up: draws nothing
    mouse(pad, "move", 80, 120)
    mouse(pad, "up", 80, 120)  # (the button was released outside: the pad hears it late, or never)
    assert np.array_equal(np.asarray(pad.paper), drawn) and pad.prediction.digit == 1
    mouse(pad, "down", 220, 200)  # a later click is a stroke of its own: a dot beside the 1
    mouse(pad, "up", 220, 200)
    ink = np.asarray(pad.paper) < 128
    assert ink[200, 220] and not ink[110, 70]  # the dot is on the paper, the hover is not
    assert pad.prediction is not None and pad.prediction.digit == 1  # a 1 with a dot beside it


def test_clear_wipes_the_answer_and_its_figure(pad):
    pad.clear()
    pad.draw_stroke([(140, 40), (138, 240)])
    assert pad.figure is not None and pad.output.outputs
    pad.clear()
    assert pad.figure is None and pad.prediction is None and pad.output.outputs == ()
    assert (np.asarray(pad.paper) == 255).all()


FEW_STEPS = AdaptConfig(steps=20, calibration_images=300)
"""Enough for the tiny model to change; a test's adaptation takes seconds."""


@pytest.fixture
def teach_run(tmp_path, tiny_run):
    """A temporary run whose models/ holds a copy of the tiny run's model and record."""
    (tmp_path / "models").mkdir()
    for suffix in (".keras", ".json"):
        shutil.copy(tiny_run.paths.model_file.with_suffix(suffix), tmp_path / "models")
    return tmp_path


def draw(sketch, strokes):
    """Draw `strokes` on a pad with the mouse: down, moves, up, as in a browser."""
    for stroke in strokes:
        mouse(sketch, "down", *stroke[0])
        for point in stroke[1:]:
            mouse(sketch, "move", *point)
        mouse(sketch, "up", *stroke[-1])


def draw_and_keep(panel, count):
    """Draw and keep `count` digits, each the one the panel asks for; return the digits asked for."""
    asked = []
    for _ in range(count):
        digit = panel.prompted()
        asked.append(digit)
        draw(panel.sketch, digit_strokes(digit, variant=len(panel.labels) // 10))
        assert panel.keep(), panel.message.value
        assert not panel.sketch.has_ink() and (np.asarray(panel.sketch.paper) == 255).all()
    return asked


def test_teach_asks_for_each_digit_in_turn_and_waits_for_all(tmp_path):
    panel = TeachPanel(tmp_path, config=FEW_STEPS)  # no model needed to draw
    assert panel.per_digit.value == 3 and (panel.per_digit.min, panel.per_digit.max) == (3, 10)
    assert draw_and_keep(panel, 13) == [*range(10), 0, 1, 2]  # one of each digit per round
    assert "Draw a 3 (2 of 3)" in panel.prompt.value
    draw_and_keep(panel, 16)
    assert panel.teach_button.disabled and panel.teach() is None and panel.adaptation is None
    assert "Not yet: draw 1 more" in panel.report.value
    draw_and_keep(panel, 1)
    assert panel.labels == [*range(10)] * 3 and not panel.teach_button.disabled
    assert panel.keep_button.disabled and "Every digit is drawn 3 times" in panel.prompt.value
    panel.per_digit.value = 4  # more wanted: a fourth round, from 0
    assert panel.teach_button.disabled and "Draw a 0 (4 of 4)" in panel.prompt.value
    panel.per_digit.value = 3
    assert not panel.teach_button.disabled


def test_teach_keeps_no_blank_pad_dot_or_dash(tmp_path):
    panel = TeachPanel(tmp_path, config=FEW_STEPS)  # no model needed to draw
    assert not panel.keep() and "Nothing to keep: draw a 0" in panel.message.value
    for stroke in ([(140, 140)], [(120, 140), (150, 141)]):  # a click; a short dash
        panel.clear()
        draw(panel.sketch, [stroke])
        assert panel.sketch.has_ink() and not panel.keep(), stroke
        assert f"Not kept. {PAD_TOO_SMALL}" in panel.message.value and panel.labels == []
        assert "Draw a 0 (1 of 3)" in panel.prompt.value
    panel.clear()
    assert not panel.sketch.has_ink() and panel.message.value == ""
    draw(panel.sketch, digit_strokes(0))
    assert panel.keep() and panel.labels == [0] and "Draw a 1 (1 of 3)" in panel.prompt.value


def test_teach_without_a_base_model_says_so_in_one_line(tmp_path):
    panel = TeachPanel(tmp_path, config=FEW_STEPS)
    draw_and_keep(panel, 30)
    assert panel.teach() is None and panel.trial is None
    assert panel.report.value.startswith("<span style='color:#b00'>Not taught: ")
    assert "no trained model at" in panel.report.value and "Traceback" not in panel.report.value
    assert panel.progress.layout.display == "none" and not panel.teach_button.disabled


@pytest.mark.slow
def test_teach_adapts_shows_before_and_after_and_saves_beside_the_base(teach_run, tiny_run):
    course_model = _fingerprint(BEST_MODEL)
    base_file = teach_run / "models" / "best_model.keras"
    base_before = _fingerprint(base_file)
    panel = TeachPanel(teach_run, config=FEW_STEPS)
    draw_and_keep(panel, 30)
    with pytest.raises(ValueError, match="nothing to save yet: press Teach first"):
        panel.save("mine")
    adaptation = panel.teach()
    assert adaptation is panel.adaptation and panel.progress.value == FEW_STEPS.steps
    assert "your 10 set-aside digits: " in panel.report.value and "% before, " in panel.report.value
    assert "MNIST (" in panel.report.value and "Not taught" not in panel.report.value
    assert adaptation.record["examples_per_digit"] == [3] * 10
    base = load_model(base_file)
    weights = zip(adaptation.model.get_weights(), base.get_weights(), strict=True)
    assert not all(np.array_equal(a, b) for a, b in weights)  # it learned
    # Now the panel shows the "try it" pad: the taught model's answer beside the base's.
    assert panel.drawing.layout.display == "none" and panel.trying.layout.display is None
    draw(panel.trial, digit_strokes(7))
    assert panel.trial.prediction is not None and panel.trial.base_prediction is not None
    assert panel.trial.model is adaptation.model and panel.figure is panel.trial.figure is not None
    answer = panel.trial.answer.value
    assert "taught" in answer and "before teaching" in answer and answer.count("font-size:2em") == 2
    # Saving: never as best_model (the course's, and this run's base), never over a file.
    models = teach_run / "models"
    for name in ("best_model", " best_model "):
        panel.save_name.value = name
        panel._save_clicked()
        assert "Not saved: 'best_model' is the course's trained model" in panel.saved.value
    assert sorted(p.name for p in models.iterdir()) == ["best_model.json", "best_model.keras"]
    panel.save_name.value = "mine"
    panel._save_clicked()
    assert "Saved <code>" in panel.saved.value and "mine.keras" in panel.saved.value
    assert sorted(p.name for p in models.glob("mine.*")) == ["mine.json", "mine.keras", "mine.tflite"]
    saved = load_model(models / "mine.keras")
    np.testing.assert_allclose(
        predict_probabilities(saved, np.zeros((1, 28, 28, 1))),
        predict_probabilities(adaptation.model, np.zeros((1, 28, 28, 1))),
        atol=1e-6,
    )
    record = json.loads((models / "mine.json").read_text())
    assert record["adapted_from"]["file"] == "best_model.keras" and record["litert"]["keras_sha256"]
    with pytest.raises(ValueError, match=r"mine\.keras exists already"):
        panel.save("mine")
    assert _fingerprint(base_file) == base_before and _fingerprint(BEST_MODEL) == course_model
    panel.draw_more()  # back to drawing, what was kept stays
    assert panel.trying.layout.display == "none" and panel.drawing.layout.display is None
    assert len(panel.labels) == 30 and not panel.teach_button.disabled
