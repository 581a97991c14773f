"""Tests of helpers.report: the HTML report, built from small fake executed notebooks."""

import base64
import io
import re

import nbformat
import numpy as np
import pytest
from PIL import Image

from helpers import report
from helpers.artifacts import save_json
from helpers.config import PROJECT_ROOT, run_paths
from helpers.data import relative_to_project

RECORD = {
    "model": {"name": "seed_cnn", "parameters": 409578, "file_bytes": 4_987_654},
    "validation": {"accuracy": 0.98765},
    "train_seconds": 90.0,
    "epochs_run": 3,
    "kept_epoch": 2,
    "machine": {"cpu_count": 2, "cpu": "Test CPU 9000", "platform": "Linux"},
    "config": {"profile": "quick"},
    "data": {"train": 54000, "validation": 6000},
    "date": "2025-01-02T03:04:05+00:00",
    "git_commit": "abc1234",
}
METRICS = {"accuracy": 0.99123, "errors": 88, "n_images": 10000, "macro": {"f1-score": 0.991234}}


def _png_base64():
    buffer = io.BytesIO()
    Image.fromarray(np.arange(16, dtype=np.uint8).reshape(4, 4) * 16).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _fake_notebook(name):
    notebook = nbformat.v4.new_notebook()
    notebook.cells.append(nbformat.v4.new_markdown_cell(f"# Title of {name}\n\nWhat it does."))
    notebook.cells.append(nbformat.v4.new_markdown_cell("## Setup"))
    notebook.cells.append(nbformat.v4.new_code_cell("import setup_only_code"))  # no output at all
    notebook.cells.append(nbformat.v4.new_markdown_cell(f"## Heading of {name}"))
    injected = nbformat.v4.new_code_cell(
        "INJECTED_PARAMETER = 123", metadata={"tags": ["injected-parameters"]}
    )
    injected.outputs = [nbformat.v4.new_output("stream", name="stdout", text="injected output marker\n")]
    code = nbformat.v4.new_code_cell("distinctive_code_string_xyz = draw_figure()")
    code.outputs = [
        nbformat.v4.new_output("display_data", data={"image/png": _png_base64(), "text/plain": "<Figure>"}),
        nbformat.v4.new_output("stream", name="stderr", text="oneDNN stderr chatter marker\n"),
        nbformat.v4.new_output("stream", name="stdout", text=f"printed by {name}\n"),
        nbformat.v4.new_output(
            "display_data",
            data={
                "text/plain": "VBox(children=(widget marker,))",
                "application/vnd.jupyter.widget-view+json": {"model_id": "abc", "version_major": 2},
            },
        ),
    ]
    notebook.cells += [injected, code]
    return notebook


@pytest.fixture
def run_dir(tmp_path):
    paths = run_paths(tmp_path).ensure()
    folder = paths.outputs / "notebooks"
    folder.mkdir()
    for name in report.NOTEBOOKS:
        nbformat.write(_fake_notebook(name), folder / f"{name}.ipynb")
    save_json(RECORD, paths.record_file)
    save_json(METRICS, paths.metrics_file)
    return tmp_path


@pytest.fixture
def html(run_dir):
    path = report.build_report(run_dir)
    assert path == run_dir / "outputs" / "report.html"
    return path.read_text(encoding="utf-8")


def test_headline_rows_format_the_numbers():
    rows = dict(report.headline_rows(RECORD, METRICS))
    assert rows["Model"] == "seed_cnn (409,578 parameters)"
    assert rows["Test accuracy"] == "99.12% (88 errors in 10,000; 95% interval 98.92-99.29%)"
    assert rows["Macro F1 (test)"] == "0.9912"
    assert rows["Validation accuracy"] == "98.77% (6,000 images; 95% interval 98.45-99.01%)"
    assert rows["Training time"] == "1.5 min (3 epochs, kept 2, 2 CPU cores)"
    assert rows["Model size"] == "4.99 MB"
    assert rows["Commit"] == "abc1234"
    assert rows["Run"] == "2025-01-02T03:04:05+00:00 on 2 CPU cores, Test CPU 9000"


def test_report_shows_headline_values(html):
    for value in (
        "99.12% (88 errors in 10,000; 95% interval 98.92-99.29%)",
        "98.77% (6,000 images",
        "409,578 parameters",
        "0.9912",
        "4.99 MB",
        "abc1234",
    ):
        assert value in html


def test_report_embeds_figures_offline(html):
    assert html.count("data:image/png;base64") >= 4
    assert '<img src="http' not in html


def test_report_drops_stderr_and_injected_parameters(html):
    assert "oneDNN stderr chatter marker" not in html
    assert "INJECTED_PARAMETER" not in html
    assert "injected output marker" not in html


def test_report_folds_every_code_cell_in_a_closed_block(html):
    assert html.count('<details class="code-fold"><summary>show code</summary>') == 2 * len(report.NOTEBOOKS)
    assert "<details open" not in html
    for code in ("distinctive_code_string_xyz", "setup_only_code"):
        start = 0
        for _ in report.NOTEBOOKS:
            at = html.index(code, start)
            assert html.rindex("<details", 0, at) > html.rfind("</details>", 0, at)  # inside a fold
            start = at + 1


def test_report_has_a_table_of_contents_linking_each_notebook_and_section(html):
    contents = html[html.index('<nav class="toc">') : html.index("</nav>")]
    titles = re.findall(r'<a href="#([\w-]+)">([^<]+)</a>', contents)
    expected = [t for name in report.NOTEBOOKS for t in (f"Title of {name}", "Setup", f"Heading of {name}")]
    assert [title for _, title in titles] == expected
    for anchor, _ in titles:
        assert html.count(f'id="{anchor}"') == 1  # each link has exactly one target


def test_report_leaves_no_heading_empty(html):
    body = html[html.index("</nav>") :]
    sections = re.split(r"<h[12][ >]", body)[1:]
    for section in sections:
        heading, _, rest = section.partition("</h")
        assert re.search(r"<(p|img|details|pre|table|ul)[ >]", rest), f"nothing under heading {heading[:60]}"


def test_report_drops_live_widgets_but_keeps_their_static_figures(html):
    assert "widget marker" not in html and "widget-view" not in html
    assert html.count("data:image/png;base64") >= 4  # each notebook's figure stays


def test_report_keeps_markdown_and_stdout_in_notebook_order(html):
    body = html[html.index("</nav>") :]
    positions = [body.index(f"Heading of {name}") for name in report.NOTEBOOKS]
    assert positions == sorted(positions)
    assert all(f"printed by {name}" in html for name in report.NOTEBOOKS)


def test_missing_notebooks_raise_naming_them(run_dir):
    (run_dir / "outputs" / "notebooks" / "03_evaluate.ipynb").unlink()
    with pytest.raises(FileNotFoundError, match=r"executed notebooks missing: \[.*03_evaluate\.ipynb'\]"):
        report.build_report(run_dir)


def test_report_cli_writes_to_the_run_and_prints_the_path(run_dir, capsys):
    assert report.main(["--run-dir", str(run_dir)]) == 0
    printed = capsys.readouterr().out.strip()
    assert printed == relative_to_project(run_dir / "outputs" / "report.html")
    assert relative_to_project(PROJECT_ROOT / "outputs" / "report.html") == "outputs/report.html"
    assert "99.12%" in (run_dir / "outputs" / "report.html").read_text(encoding="utf-8")


def test_report_cli_exits_1_with_a_message_when_notebooks_are_missing(tmp_path, capsys):
    assert report.main(["--run-dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("report: error: executed notebooks missing:")
    assert "make all" in err


def test_report_appends_the_benchmark_when_there_is_one(run_dir, html):
    assert "Benchmark: this course" not in html  # none yet
    outputs = run_dir / "outputs"
    (outputs / "benchmarks.md").write_text(
        "| recipe | test accuracy |\n|---|---|\n| default-seed42 | 99.51% |\n"
    )
    Image.new("RGB", (40, 30), (200, 30, 30)).save(outputs / "time_to_accuracy.png")
    page = report.build_report(run_dir).read_text()
    assert "Benchmark: this course against the original recipe" in page
    assert "default-seed42" in page and "99.51%" in page
    assert page.count('alt="time to accuracy" src="data:image/png;base64,') == 1


def test_report_shows_listings_open_and_drops_the_call_that_made_them(run_dir):
    from helpers.listings import show_code
    from helpers.models import build_compact_cnn

    folder = run_dir / "outputs" / "notebooks"
    notebook = nbformat.read(folder / "02_train.ipynb", as_version=4)
    data, metadata = show_code(build_compact_cnn)._repr_mimebundle_()
    listing = nbformat.v4.new_code_cell("show_code(build_compact_cnn)  # the call")
    result = nbformat.v4.new_output("execute_result", data=data, metadata=metadata, execution_count=1)
    listing.outputs = [result]
    mine = nbformat.v4.new_code_cell("my_network_cell_marker = 1", metadata={"tags": ["show-input"]})
    notebook.cells += [listing, mine]
    nbformat.write(notebook, folder / "02_train.ipynb")
    page = report.build_report(run_dir).read_text()
    at = page.index('<div class="listing"')
    assert page.rfind("<details", 0, at) < page.rfind("</details>", 0, at)  # not inside a fold
    assert "build_compact_cnn" in page[at:] and "MaxPooling2D" in page[at:]
    assert "# the call" not in page  # the input of a listing cell is dropped
    at = page.index("my_network_cell_marker")
    assert page.rfind("<details", 0, at) < page.rfind("</details>", 0, at)  # shown open
    assert page.count('<details class="code-fold">') == 2 * len(report.NOTEBOOKS)  # the others stay folded


def test_the_contents_show_code_in_headings_as_code_not_backticks():
    toc = report.toc_html([(1, "07 · Search", "s7-0"), (2, "1. Build: a trial is a `TrainConfig`", "s7-1")])
    assert '<a href="#s7-1">1. Build: a trial is a <code>TrainConfig</code></a>' in toc
    assert "`" not in toc
    assert report.title_html("a < b & `x`") == "a &lt; b &amp; <code>x</code>"
