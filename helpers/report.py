"""What a run reports: outputs/report.html, a headline table, then the executed notebooks.

The headline numbers are read from the run record (models/best_model.json) and the test
metrics (outputs/metrics.json), never typed by hand. A table of contents links to every
notebook and section. The code a chapter teaches (its listings, and cells tagged
`show-input`) is shown open; every other code cell is folded into a closed "show code"
block. Every figure is embedded, so the file opens offline. The README's and docs' copies
of the results are `helpers.blocks`.
"""

from __future__ import annotations

import argparse
import base64
import html
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import nbformat

from helpers.artifacts import load_json, write_atomic
from helpers.config import run_paths
from helpers.data import relative_to_project
from helpers.evaluate import interval_text
from helpers.listings import LISTING_KEY

NOTEBOOKS = ("01_explore", "02_train", "03_evaluate", "04_infer", "05_trust", "06_adapt", "07_search")
TEMPLATES = Path(__file__).parent / "templates"
"""nbconvert templates: `report` is JupyterLab's, minus the scripts it would fetch online."""


def headline_rows(record: dict[str, Any], metrics: dict[str, Any]) -> list[tuple[str, str]]:
    """The (label, value) pairs of the report's headline table."""
    model = record["model"]
    validation = record.get("data", {}).get("validation")
    return [
        ("Model", f"{model['name']} ({model['parameters']:,} parameters)"),
        (
            "Test accuracy",
            f"{metrics['accuracy']:.2%} ({metrics['errors']} errors in {metrics['n_images']:,}; "
            f"{interval_text(metrics['accuracy'], metrics['n_images'])})",
        ),
        ("Macro F1 (test)", f"{metrics['macro']['f1-score']:.4f}"),
        (
            "Validation accuracy",
            f"{record['validation']['accuracy']:.2%} ({validation:,} images; "
            f"{interval_text(record['validation']['accuracy'], validation)})"
            if validation
            else f"{record['validation']['accuracy']:.2%}",
        ),
        (
            "Training time",
            f"{record['train_seconds'] / 60:.1f} min ({record['epochs_run']} epochs, "
            f"kept {record.get('kept_epoch', record.get('best_epoch'))}, "
            f"{record['machine']['cpu_count']} CPU cores)",
        ),
        ("Model size", f"{model['file_bytes'] / 1e6:.2f} MB"),
        ("Profile", record["config"]["profile"]),
        ("Run", f"{record['date']} on {machine_name(record['machine'])}"),
        ("Commit", str(record.get("git_commit") or "n/a")),
    ]


def machine_name(machine: dict[str, Any]) -> str:
    """'2 CPU cores, Intel(R) Xeon(R) ...' from a run record's machine entry."""
    return f"{machine['cpu_count']} CPU cores, {machine.get('cpu') or machine.get('platform', 'unknown CPU')}"


def headline_html(rows: Sequence[tuple[str, str]]) -> str:
    """Headline rows as an HTML table."""
    body = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in rows)
    return f'<table class="headline">{body}</table>'


WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def keep_output(output: dict[str, Any]) -> bool:
    """False for what a static page cannot use: stderr chatter and live widgets.

    A widget cannot run in a static file; the notebooks show a static figure of
    what it shows by default next to it, and that figure stays.
    """
    return output.get("name") != "stderr" and WIDGET_VIEW not in output.get("data", {})


def shows_listing(cell: nbformat.NotebookNode) -> bool:
    """True for a code cell whose output is a listing of the course's code (`helpers.listings`)."""
    return any(LISTING_KEY in output.get("metadata", {}) for output in cell.get("outputs", []))


HEADING = re.compile(r"^(#{1,2})\s+(.+?)\s*#*\s*$")


def anchor_headings(cell: nbformat.NotebookNode, prefix: str) -> list[tuple[int, str, str]]:
    """Give the cell's level-1 and level-2 headings ids `prefix-N`; return (level, title, id) of each.

    The ids are the report's own: nbconvert's come from the heading text, and "Setup"
    or "Summary" recur in every notebook.
    """
    found, lines, fenced = [], [], False
    for line in cell.source.splitlines():
        fenced ^= line.lstrip().startswith("```")
        match = None if fenced else HEADING.match(line)
        if match:
            anchor = f"{prefix}-{len(found)}"
            found.append((len(match[1]), match[2], anchor))
            lines.append(f'<a id="{anchor}"></a>\n')
        lines.append(line)
    cell.source = "\n".join(lines)
    return found


def title_html(title: str) -> str:
    """A heading's Markdown title as HTML: escaped, with `code` spans as <code>."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(title))


def toc_html(entries: Sequence[tuple[int, str, str]]) -> str:
    """A nested list of links: each notebook's title, with its sections under it."""
    parts: list[str] = []
    for level, title, anchor in entries:
        link = f'<a href="#{anchor}">{title_html(title)}</a>'
        if level == 1:
            parts += ["</ul></li>"] if parts else []
            parts.append(f"<li>{link}<ul>")
        else:
            parts.append(f"<li>{link}</li>")
    return f'<nav class="toc"><ul>{"".join(parts)}</ul></li></ul></nav>' if parts else ""


def merge_notebooks(
    paths: Sequence[Path], title_markdown: str, extra: Sequence[nbformat.NotebookNode] = ()
) -> nbformat.NotebookNode:
    """One notebook: a title cell with a table of contents, the cells of each notebook in
    order, then the `extra` cells."""
    merged = nbformat.v4.new_notebook(metadata=nbformat.read(paths[0], as_version=4).metadata)
    for path in paths:
        notebook = nbformat.read(path, as_version=4)
        for cell in notebook.cells:
            if "injected-parameters" in cell.metadata.get("tags", []):
                continue
            if cell.cell_type == "code":
                cell.outputs = [o for o in cell.outputs if keep_output(o)]
                if shows_listing(cell):  # the listing is the point; the call that made it is not
                    cell.metadata["transient"] = {"remove_source": True}
            merged.cells.append(cell)
    merged.cells += extra
    contents = [
        entry
        for index, cell in enumerate(merged.cells)
        if cell.cell_type == "markdown"
        for entry in anchor_headings(cell, f"s{index}")
    ]
    title = nbformat.v4.new_markdown_cell(f"{title_markdown}\n\n## Contents\n\n{toc_html(contents)}")
    merged.cells.insert(0, title)
    return merged


def benchmark_cell(outputs: Path) -> nbformat.NotebookNode:
    """A closing section with the latest `make bench` tables and time-to-accuracy plot."""
    figure = outputs / "time_to_accuracy.png"
    image = ""
    if figure.is_file():
        encoded = base64.b64encode(figure.read_bytes()).decode("ascii")
        image = f'\n\n<img alt="time to accuracy" src="data:image/png;base64,{encoded}">\n'
    return nbformat.v4.new_markdown_cell(
        "# Benchmark: this course against the original recipe\n\n"
        "Measured by `make bench`, a run of its own, separate from the notebooks above (its date and "
        "commit open the section; its training times are its own runs'); same data pipeline. "
        "`docs/experiments.md` says what each change bought.\n\n"
        + (outputs / "benchmarks.md").read_text(encoding="utf-8")
        + image
    )


def build_report(run_dir: str | os.PathLike[str] = "", output: str | os.PathLike[str] | None = None) -> Path:
    """Render the executed notebooks of a run into one self-contained HTML file."""
    from nbconvert import HTMLExporter

    paths = run_paths(run_dir)
    executed = [paths.outputs / "notebooks" / f"{name}.ipynb" for name in NOTEBOOKS]
    missing = [str(p) for p in executed if not p.is_file()]
    if missing:
        raise FileNotFoundError(f"executed notebooks missing: {missing}; run `make all` first")
    record, metrics = load_json(paths.record_file), load_json(paths.metrics_file)
    title = (
        "# Handwritten digit recognition: the report\n\n"
        "What this course trained, how well it did on the 10,000 MNIST test digits, and how it got "
        "there. The notebooks follow, executed. The code each chapter teaches is shown open, as it is "
        'in `helpers/`; above each figure and table, "show code" unfolds the cell that made it.\n\n'
        + headline_html(headline_rows(record, metrics))
    )
    extra = [benchmark_cell(paths.outputs)] if (paths.outputs / "benchmarks.md").is_file() else []
    notebook = merge_notebooks(executed, title, extra)
    exporter = HTMLExporter(
        extra_template_basedirs=[str(TEMPLATES)],
        template_name="report",
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        embed_images=True,
    )
    body, _ = exporter.from_notebook_node(
        notebook, resources={"metadata": {"name": "Digit recognition report"}}
    )
    target = Path(output) if output else paths.outputs / "report.html"
    return write_atomic(target, lambda tmp: tmp.write_text(body, encoding="utf-8"))


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m helpers.report [--run-dir DIR]`: write the run's report.html and print its path."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run-dir", default="", help="the run's root (default: the project)")
    args = parser.parse_args(argv)
    try:
        print(relative_to_project(build_report(args.run_dir)))
    except (FileNotFoundError, ValueError) as exc:
        print(f"report: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
