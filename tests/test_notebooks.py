"""The chapters and their worked solutions, against the session's one quick course.

Each chapter ran once, in the quick profile, inside the shared run (tests/quick_course.py):
papermill stops a chapter at its first failing cell, so a chapter that is there ran clean, and
its own asserts held. The cells marked `# NBVAL_CHECK_OUTPUT` must print what the notebook
stores (`make checked-outputs` stores them from a quick run). The worked solutions run with
papermill against the same run's model."""

import nbformat
import papermill
import pytest
from quick_course import NOTEBOOKS, executed

from helpers.config import PROJECT_ROOT

pytestmark = [pytest.mark.slow, pytest.mark.notebook]

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


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_chapter_ran_clean_and_its_checked_cells_print_what_is_stored(quick_course, name):
    ran = nbformat.read(executed(quick_course.run_dir, name), as_version=4)
    errors = [o for c in ran.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert errors == []
    stored = nbformat.read(PROJECT_ROOT / "notebooks" / f"{name}.ipynb", as_version=4)
    by_source = {c.source: c for c in ran.cells if c.cell_type == "code"}
    for cell in checked_cells(stored):
        assert shown(by_source[cell.source].outputs) == shown(cell.outputs), cell.source.splitlines()[2:4]


def test_the_check_sees_a_changed_output():
    stored = nbformat.read(PROJECT_ROOT / "notebooks" / "02_train.ipynb", as_version=4)
    cell = checked_cells(stored)[0]
    changed = nbformat.from_dict({"output_type": "stream", "name": "stdout", "text": "mlp 1 parameters\n"})
    assert shown(cell.outputs) and shown([changed]) != shown(cell.outputs)


@pytest.mark.parametrize("name", [p.stem for p in sorted(SOLUTIONS.glob("*.ipynb"))])
def test_worked_solution_runs(quick_course, name, tmp_path):
    papermill.execute_notebook(
        SOLUTIONS / f"{name}.ipynb",
        tmp_path / f"{name}.ipynb",
        parameters={"RUN_DIR": str(quick_course.run_dir)},
        cwd=str(SOLUTIONS),
        progress_bar=False,
        log_output=False,
    )
