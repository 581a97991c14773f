"""Tests of helpers.blocks: the README's and docs' generated blocks, rendered from small fake run files."""

import re

import pytest
from test_report import METRICS, RECORD

from helpers import blocks, report
from helpers.artifacts import save_json
from helpers.config import run_paths
from helpers.data import relative_to_project


@pytest.fixture
def run_dir(tmp_path):
    """A run folder with a run record and test metrics, and nothing else."""
    paths = run_paths(tmp_path).ensure()
    save_json(RECORD, paths.record_file)
    save_json(METRICS, paths.metrics_file)
    return tmp_path


THRESHOLD = {"value": 0.967, "target_accuracy": 0.999, "flagged_share": 0.017, "kept_accuracy": 0.9992}
FILES = {blocks.RECORD: {**RECORD, "confidence_threshold": THRESHOLD}, blocks.METRICS: METRICS}
"""A run's record and metrics, loaded: enough for the headline and the threshold blocks."""


def test_headline_block_is_the_reports_headline_without_the_commit():
    lines = blocks.render_blocks(FILES)["headline"].splitlines()
    assert lines[:3] == ["| | |", "|---|---|", "| Model | seed_cnn (409,578 parameters) |"]
    assert len(lines) == 2 + len(report.headline_rows(RECORD, METRICS)) - 1
    assert not any("abc1234" in line for line in lines)


def test_only_blocks_whose_files_are_there_are_rendered():
    rendered = blocks.render_blocks(FILES)
    assert {"headline", "threshold", "threshold-flags"} <= set(rendered)
    assert "trust" not in rendered
    assert blocks.missing_sources(FILES, ["headline", "trust", "search"]) == [
        "outputs/benchmarks.json",
        "outputs/search.json",
        "outputs/trust.json",
    ]


def test_wrapped_prose_fits_and_starts_no_markdown_block():
    plain = "the threshold is picked on the validation split " * 4
    lines = blocks.wrap(plain, width=20).splitlines()
    assert " ".join(lines) == " ".join(plain.split()) and max(map(len, lines)) <= 20
    marked = "a cost - about half # of it, 1. or 3) less " * 6
    lines = blocks.wrap(marked, width=20).splitlines()
    assert " ".join(lines) == " ".join(marked.split())
    assert not any(re.match(r"[-#]|\d[.)] ", line) for line in lines)


def test_benchmark_tables_are_copied_whole_or_named_missing():
    markdown = (
        "Benchmark of today.\n\n| recipe | test |\n|---|---|\n| a | 99% |\n\nText.\n| path | x |\n|---|---|\n"
    )
    assert blocks.benchmark_table(markdown, "| recipe |") == "| recipe | test |\n|---|---|\n| a | 99% |"
    assert blocks.benchmark_table(markdown, "| path |") == "| path | x |\n|---|---|"
    with pytest.raises(ValueError, match=r"outputs/benchmarks.md has no table headed '\| goal"):
        blocks.benchmark_table(markdown, "| goal")


def test_filling_blocks_changes_only_their_text_and_keeps_their_shape():
    markdown = (
        "Intro.\n\n<!-- generated: table -->\nold table\n<!-- end -->\n\n"
        "A sentence. <!-- generated: sentence -->\nold sentence<!-- end --> (a link).\n"
        "<!-- generated: other -->\nleft alone\n<!-- end -->\n"
    )
    filled = blocks.fill_blocks(markdown, {"table": "| a |\n|---|", "sentence": "New one."})
    assert filled == (
        "Intro.\n\n<!-- generated: table -->\n| a |\n|---|\n<!-- end -->\n\n"
        "A sentence. <!-- generated: sentence -->\nNew one.<!-- end --> (a link).\n"
        "<!-- generated: other -->\nleft alone\n<!-- end -->\n"
    )
    assert blocks.blocks_in(filled) == [
        ("table", "| a |\n|---|"),
        ("sentence", "New one."),
        ("other", "left alone"),
    ]
    assert blocks.fill_blocks("<!-- generated: new -->\n<!-- end -->", {"new": "x"}) == (
        "<!-- generated: new -->\nx\n<!-- end -->"
    )


def test_write_blocks_rewrites_what_changed_and_nothing_when_it_cannot(tmp_path):
    readme, doc = tmp_path / "README.md", tmp_path / "doc.md"
    readme.write_text("# Title\n\n<!-- generated: headline -->\nold\n<!-- end -->\n")
    doc.write_text("Threshold. <!-- generated: threshold-flags -->\nold<!-- end -->\n")
    assert blocks.write_blocks(FILES, [readme, doc]) == [readme, doc]
    assert blocks.blocks_in(readme.read_text()) == [("headline", blocks.render_blocks(FILES)["headline"])]
    assert "For the shipped model it is 0.967: on validation it flags 1.7%" in doc.read_text()
    assert blocks.write_blocks(FILES, [readme, doc]) == []  # up to date
    doc.write_text(
        "<!-- generated: trust -->\nold\n<!-- end -->\n<!-- generated: nonsense -->\n<!-- end -->\n"
    )
    with pytest.raises(ValueError, match=r"unknown generated blocks \['nonsense'\]"):
        blocks.write_blocks(FILES, [readme, doc])
    doc.write_text("<!-- generated: trust -->\nold\n<!-- end -->\n")
    readme.write_text("<!-- generated: headline -->\nold\n<!-- end -->\n")
    with pytest.raises(FileNotFoundError, match=r"outputs/trust\.json missing: run `make all`"):
        blocks.write_blocks(FILES, [readme, doc])
    assert "old" in readme.read_text()  # nothing written


def test_real_world_table_names_the_shipped_real_dev():
    realistic = {
        "count": 960,
        "kinds": ["photo", "scan"],
        "ours": {"accuracy": 0.99, "interval": [0.981, 0.994]},
        "naive": {"accuracy": 0.291, "interval": [0.263, 0.32]},
    }
    entry = {"by_kind": {"canvas": {}}, "all": {"count": 80, "accuracy": 1.0, "interval": [0.954, 1.0]}}
    semeion = {"Semeion": {"all": {"count": 1593, "accuracy": 0.944, "interval": [0.932, 0.954]}}}
    shipped = blocks.real_world_table(realistic, {"real_dev (data/real_dev)": entry, **semeion})
    assert "| real_dev: 80 canvas digits by other people (`data/real_dev/`) | 100.0% |" in shipped
    renderings = (
        "| 960 renderings of MNIST test digits in 2 kinds (photos, scans, canvases), our preprocessing |"
    )
    assert f"{renderings} 99.0% | 98.1-99.4% |" in shipped


def test_search_paragraph_says_how_the_trials_were_trained():
    search = {
        "scale": {"train_subset": 0, "max_epochs": 18, "val_fraction": 0.1, "space": ["a"] * 8},
        "trials_complete": 7,
        "trials_pruned": 14,
    }
    benchmarks = {"summary": {"default_test_accuracy_mean": 0.99603, "default_train_seconds": [1, 2, 3]}}
    full = " ".join(blocks.search_paragraph(search, benchmarks).split())
    assert full == (
        "The committed search trained each trial as the default does (54,000 images, 18 epochs), varying "
        "the eight settings that cost no time (`SPACE=timeless`): 21 trials, 14 pruned. Its best setting "
        "beat the old default on validation and is now the default recipe: 99.60% test, mean of 3 seeds."
    )
    search["scale"] |= {"train_subset": 10000, "max_epochs": 6}
    assert "each trial on 10,000 images for up to 6 epochs," in " ".join(
        blocks.search_paragraph(search, benchmarks).split()
    )


def test_markdown_cli_prints_what_it_can_and_names_what_is_missing(run_dir, capsys):
    save_json({**RECORD, "confidence_threshold": THRESHOLD}, run_paths(run_dir).record_file)
    assert blocks.main(["--run-dir", str(run_dir)]) == 1
    out, err = capsys.readouterr()
    assert out.startswith("<!-- generated: headline -->\n| | |\n")
    assert "<!-- generated: threshold -->\nThe threshold is picked" in out
    assert err.startswith(
        "blocks: error: not rendered, for want of outputs/adapt.json, outputs/benchmarks.json"
    )


def test_markdown_cli_writes_the_blocks(run_dir, tmp_path, monkeypatch, capsys):
    save_json({**RECORD, "confidence_threshold": THRESHOLD}, run_paths(run_dir).record_file)
    page = tmp_path / "README.md"
    page.write_text("<!-- generated: threshold -->\nold\n<!-- end -->\n")
    monkeypatch.setattr(blocks, "markdown_files", lambda: [page])
    assert blocks.main(["--run-dir", str(run_dir), "--write"]) == 0
    assert capsys.readouterr().out.strip() == relative_to_project(page)
    assert "0.967 for the shipped model" in page.read_text()


def test_a_single_draw_shows_its_accuracy_without_a_spread():
    adapt = {
        "semeion": {
            "before": 0.936,
            "3": {"accuracy": 0.95, "std": None},
            "10": {"accuracy": 0.972, "std": 0.005},
        }
    }
    row = blocks.held_out_table(adapt).splitlines()[-1]
    assert row == "| Semeion, second half | 93.60 | 95.00 | 97.20 (std 0.50) |"


def test_real_digits_table_adds_the_whole_real_dev_from_the_bench():
    row = {"count": 251, "accuracy": 1.0, "no_digit": 0, "flagged": 3, "wrong_unflagged": 0}
    shipped = {"real_dev (data/real_dev)": {"by_kind": {"canvas": row | {"count": 80}}, "all": row}}
    whole = {"by_kind": {"canvas": row | {"count": 125}, "paper-photo": row | {"count": 126}}, "all": row}
    with_bench = blocks.real_digits_table(shipped, {"real_dev": whole})
    assert "| real_dev, whole set | paper-photo | 126 | 100.0% | 0 | 3 | 0 |" in with_bench
    assert "| real_dev | canvas | 80 |" in with_bench
    assert "whole" not in blocks.real_digits_table(shipped, {"real_dev": None})


def test_adapt_goals_are_judged_from_the_run_and_the_bench():
    row = {"accuracy": 0.9731, "std": 0.0095, "lowest": 0.9634}
    adapt = {"seeds": 3, "mnist_test_after": 0.9917, "semeion": {"10": row, "3": row | {"accuracy": 0.9681}}}
    text = blocks.adapt_goals_table(adapt, {"adapt": {"wall_s": 15.08}, "date": "2026-12-07T23:00:00"})
    assert (
        "| Semeion held-out half, 10 per digit: at least 98% | 97.31% mean of 3 draws (lowest 96.34%) | no |"
        in text
    )
    assert (
        "| Semeion held-out half, 3 per digit: at least 96% | 96.81% mean of 3 draws (lowest 96.34%) | yes |"
        in text
    )
    assert (
        "| MNIST test after adapting with 10 per digit: at least 99.3% | 99.17% mean of 3 draws | no |"
        in text
    )
    assert "15.1 s wall (`make bench` of 2026-12-07) | yes |" in text
    assert "digits adapt" not in blocks.adapt_goals_table(adapt, {})
    assert blocks.accuracy_and_spread(row) == "97.31 (std 0.95)"


def test_course_cost_sums_the_chapters_and_names_the_longest():
    course = {"profile": "default", "cpu_count": 2, "chapters": {
        "01_explore": {"seconds": 8.0, "peak_mb": 900.0}, "02_train": {"seconds": 396.0, "peak_mb": 2900.0},
        "03_evaluate": {"seconds": 15.0, "peak_mb": None}}}  # fmt: skip
    assert " ".join(blocks.course_cost_sentence(course).split()) == (
        "On 2 CPU cores `make all` runs the three chapters in 7 min (`02_train` 6.6 min; each chapter's "
        "latest run), and no chapter's kernel used more than 2.8 GB of memory."
    )
    course |= {"profile": "quick"}
    assert blocks.course_cost_sentence(course).startswith("On 2 CPU cores `make all PROFILE=quick` runs")


def test_test_cost_says_the_minutes_and_cores():
    assert blocks.test_cost_sentence({"seconds": 690, "cpu_count": 2}) == (
        "The latest `make test` took 12 min on 2 CPU cores."
    )


def test_adaptation_sentence_says_its_figures_are_means_of_draws():
    adapt = {"seeds": 3, "mnist_test_before": 0.9946, "mnist_test_after": 0.9917,
             "semeion": {"before": 0.9357, "10": {"accuracy": 0.9731}}}  # fmt: skip
    assert " ".join(blocks.adaptation_sentence(adapt).split()) == (
        "In `06_adapt`, ten of each digit take Semeion's held-out half from 93.6% to 97.3%, and "
        "MNIST's test set from 99.5% to 99.2% (means of three draws)"
    )
