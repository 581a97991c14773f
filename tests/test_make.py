"""Everything the session's one quick course answers (tests/quick_course.py), in one file so that
`make test`'s workers (pytest-xdist, `--dist loadfile`) run the course once: `make all`
interrupted and run again, and the chapters and worked solutions it ran.

Each chapter ran once, in the quick profile, inside the shared run: papermill stops a chapter at
its first failing cell, so a chapter that is there ran clean, and its own asserts held. The cells
marked `# NBVAL_CHECK_OUTPUT` must print what the notebook stores (`make checked-outputs` stores
them from a quick run). The worked solutions run with papermill against the same run's model."""

import json
import re
import signal

import nbformat
import papermill
import pytest
from quick_course import NOTEBOOKS, executed, started

from helpers.config import PROJECT_ROOT
from helpers.data import relative_to_project
from helpers.predict import load_model

pytestmark = pytest.mark.slow


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
    course = json.loads((run_dir / "outputs" / "course.json").read_text())
    assert course["profile"] == "quick" and list(course["chapters"]) == NOTEBOOKS
    for name, chapter in course["chapters"].items():  # a kernel with NumPy loaded is over 50 MB
        assert chapter["seconds"] > 1 and chapter["peak_mb"] > 50, (name, chapter)
    assert load_model(run_dir / "models" / "best_model.keras").output_shape == (None, 10)
    page = (run_dir / "outputs" / "report.html").read_text()
    assert "Test accuracy" in page and '<nav class="toc">' in page
    for machine_path in (str(PROJECT_ROOT), str(run_dir)):
        assert machine_path not in page  # no absolute path of this machine in the report


def test_a_finished_run_makes_nothing_again(quick_course):
    step = quick_course.again
    assert step.code == 0 and started(step.output) == []
    assert step.files == quick_course.finished.files  # nothing rewritten


# --- the chapters and the worked solutions ----------------------------------------------------------

MARKER = "# NBVAL_CHECK_OUTPUT"
SOLUTIONS = PROJECT_ROOT / "notebooks" / "solutions"


def shown(outputs: list) -> list[str]:
    """What a cell's outputs show as text: printed lines and plain-text results, not stderr."""
    texts = []
    for output in outputs:
        if output.get("output_type") == "stream" and output.get("name") == "stdout":
            texts.append(output["text"])
        elif "data" in output:
            texts.append(output["data"].get("text/plain", ""))
    return "".join(texts).splitlines()


def checked_cells(notebook: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    """The code cells whose outputs are checked."""
    return [c for c in notebook.cells if c.cell_type == "code" and c.source.startswith(MARKER)]


@pytest.mark.notebook
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_chapter_ran_clean_and_its_checked_cells_print_what_is_stored(quick_course, name):
    ran = nbformat.read(executed(quick_course.run_dir, name), as_version=4)
    outputs = [o for c in ran.cells if c.cell_type == "code" for o in c.outputs]
    assert [o for o in outputs if o.output_type == "error"] == []
    texts = [o.get("text", "") + o.get("data", {}).get("text/plain", "") for o in outputs]
    assert [t for t in texts if "oneDNN" in t or "absl::InitializeLog" in t] == []  # start-up lines
    assert [t for t in texts if re.search(r"\d+%\|", t)] == []  # progress bars, frozen in a saved notebook
    stored = nbformat.read(PROJECT_ROOT / "notebooks" / f"{name}.ipynb", as_version=4)
    by_source = {c.source: c for c in ran.cells if c.cell_type == "code"}
    for cell in checked_cells(stored):
        assert shown(by_source[cell.source].outputs) == shown(cell.outputs), cell.source.splitlines()[2:4]


def test_the_check_sees_a_changed_output():
    stored = nbformat.read(PROJECT_ROOT / "notebooks" / "02_train.ipynb", as_version=4)
    cell = checked_cells(stored)[0]
    changed = nbformat.from_dict({"output_type": "stream", "name": "stdout", "text": "mlp 1 parameters\n"})
    assert shown(cell.outputs) and shown([changed]) != shown(cell.outputs)


STATED = {
    "01_explore": {"9,000", "20", "10%", "60,000"},
    "02_train": {"330", "2,890", "6,000", "54,000", "422", "2,110", "5,000"},
    "03_evaluate": {"100%"},
    "04_infer": {"28", "13.5", "13"},
    "07_search": {"0.05"},
}
"""Numbers a solution's prose states as facts of its exercise (MNIST's sizes, a derivation), not
as results of its run; every other number in its prose must be in its code or its outputs."""
NUMBER = re.compile(r"(?<![\w.])\d+(?:[.,]\d+)*%?(?![\w])")


def unexplained_numbers(notebook: nbformat.NotebookNode, stated: set[str]) -> list[str]:
    """Numbers of two or more digits in the markdown (headings aside) that appear neither in the
    code, nor in what it printed, nor in `stated`: typed results that can go stale."""
    code = [c for c in notebook.cells if c.cell_type == "code"]
    seen = " ".join([c.source for c in code] + [line for c in code for line in shown(c.outputs)])
    prose = [line for c in notebook.cells if c.cell_type == "markdown" for line in c.source.splitlines()]
    numbers = [n for line in prose if not line.startswith("#") for n in NUMBER.findall(line)]
    return [n for n in numbers if len(n.strip("%")) > 1 and n not in seen and n not in stated]


def test_typed_numbers_are_caught():
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("## 02.5 · Heading\nThe run reads 97.3% of them, 12 more, in 28x28."),
        nbformat.v4.new_code_cell("print(accuracy)", outputs=[
            nbformat.v4.new_output("stream", name="stdout", text="accuracy 97.3%\n")]),
    ])  # fmt: skip
    assert unexplained_numbers(notebook, {"28"}) == ["12"]


@pytest.mark.notebook
@pytest.mark.parametrize("name", [p.stem for p in sorted(SOLUTIONS.glob("*.ipynb"))])
def test_worked_solution_runs_and_its_prose_quotes_its_outputs(quick_course, name, tmp_path):
    papermill.execute_notebook(
        SOLUTIONS / f"{name}.ipynb",
        tmp_path / f"{name}.ipynb",
        parameters={"RUN_DIR": str(quick_course.run_dir)},
        cwd=str(SOLUTIONS),
        progress_bar=False,
        log_output=False,
    )
    ran = nbformat.read(tmp_path / f"{name}.ipynb", as_version=4)
    assert unexplained_numbers(ran, STATED.get(name, set())) == []
