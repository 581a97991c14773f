"""`make all` interrupted and run again, and a notebook that fails: the pipeline's side of
trustworthy runs. The interrupted run is the session's shared quick course (tests/quick_course.py),
which the chapter and solution tests then read; it never touches models/ or outputs/."""

import json
import re
import signal

import pytest
from quick_course import NOTEBOOKS, executed, run_make

from helpers.config import PROJECT_ROOT
from helpers.data import relative_to_project
from helpers.predict import load_model

pytestmark = pytest.mark.slow


def started(output: str) -> list[str]:
    """Names of the notebooks make started, from the `==> NAME [PROFILE]` lines it printed."""
    names = [line.split()[1] for line in output.splitlines() if line.startswith("==> ")]
    return [name for name in names if name in NOTEBOOKS]  # not "==> report"


def test_ctrl_c_in_training_keeps_what_was_done_and_nothing_half_done(quick_course):
    step = quick_course.ctrl_c
    assert step.code != 0
    assert "outputs/notebooks/01_explore.ipynb" in step.files
    assert "outputs/notebooks/02_train.ipynb" not in step.files
    assert "models/best_model.keras" not in step.files and "outputs/report.html" not in step.files


def test_a_power_cut_leaves_the_running_copy_and_redoes_only_the_unfinished(quick_course):
    step, before = quick_course.power_cut, quick_course.ctrl_c
    assert step.code == -signal.SIGKILL
    assert "outputs/notebooks/04_infer.running.ipynb" in step.files
    assert started(step.output) == ["02_train", "03_evaluate", "04_infer"]  # 01 was done: not redone
    explored = "outputs/notebooks/01_explore.ipynb"
    assert step.files[explored] == before.files[explored]
    assert "outputs/notebooks/04_infer.ipynb" not in step.files and "outputs/report.html" not in step.files


def test_the_terminal_shows_epochs_and_ends_and_no_start_up_chatter(quick_course):
    terminal = quick_course.power_cut.output
    assert re.search(
        r"^    epoch  1/1  loss \d\.\d{4}  acc .* val_acc 0\.9\d{3} .* \d+\.\d s$", terminal, re.M
    )
    assert re.search(r"^    confidence threshold 0\.\d{3}: answers below it are flagged", terminal, re.M)
    for name in ("02_train", "03_evaluate"):
        assert re.search(rf"^    {name} done in \d+ s$", terminal, re.M), name
    for chatter in (
        "oneDNN",
        "absl::InitializeLog",
        "cpu_feature_guard",
        "without encryption",
        "Executing:",
        "Task was destroyed",
    ):
        assert chatter not in terminal, f"{chatter!r} reached the terminal"


def test_running_again_finishes_only_what_was_unfinished_and_the_run_is_sound(quick_course):
    run_dir, step, before = quick_course.run_dir, quick_course.finished, quick_course.power_cut
    assert step.code == 0, quick_course.finished_stderr[-3000:]
    assert started(step.output) == ["04_infer", "05_trust", "06_adapt", "07_search"]
    closing, shown = step.output.strip().splitlines()[-1], relative_to_project(run_dir)
    assert re.fullmatch(
        rf"done: test accuracy \d\d\.\d\d% \(\d+ errors in 10,000\); report {shown}/outputs/report\.html; "
        r"[\d.]+ (s|min) in all",
        closing,
    ), closing
    for name in ("01_explore", "02_train"):
        copy = f"outputs/notebooks/{name}.ipynb"
        assert step.files[copy] == before.files[copy], f"{name} ran again"
    assert all(executed(run_dir, name).exists() for name in NOTEBOOKS)
    leftovers = sorted(p.name for p in (run_dir / "outputs" / "notebooks").glob("*.*.ipynb"))
    assert leftovers == []  # no .running or .failed copies
    metrics = json.loads((run_dir / "outputs" / "metrics.json").read_text())
    assert metrics["accuracy"] >= 0.85 and metrics["n_images"] == 10_000
    assert load_model(run_dir / "models" / "best_model.keras").output_shape == (None, 10)
    page = (run_dir / "outputs" / "report.html").read_text()
    assert "Test accuracy" in page and '<nav class="toc">' in page
    for machine_path in (str(PROJECT_ROOT), str(run_dir)):
        assert machine_path not in page  # no absolute path of this machine in the report


def test_a_finished_run_makes_nothing_again(quick_course):
    step = quick_course.again
    assert step.code == 0 and started(step.output) == []
    assert step.files == quick_course.finished.files  # nothing rewritten


def test_failing_notebook_stops_make_and_is_not_taken_as_done(tmp_path):
    run_dir = tmp_path / "run"
    notebooks = run_dir / "outputs" / "notebooks"
    for attempt in range(2):  # the second run must try 02 again, not take it as done
        failed = run_make(run_dir, "all", params="-p EPOCHS 0")
        assert failed.returncode != 0
        assert "FAILED: notebooks/02_train.ipynb" in failed.stderr
        assert started(failed.stdout) == (["01_explore", "02_train"] if attempt == 0 else ["02_train"])
        kept = (notebooks / "02_train.failed.ipynb").read_text()
        assert "epochs must be an integer >= 1, got 0" in kept
        assert sorted(p.name for p in notebooks.iterdir()) == ["01_explore.ipynb", "02_train.failed.ipynb"]
        assert not (run_dir / "models" / "best_model.keras").exists()
        assert not (run_dir / "outputs" / "report.html").exists()
