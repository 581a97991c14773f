"""README.md and docs/*.md say what the project's files say.

Every figure a user reads there is checked here: the results table against the run
record, benchmark lines against outputs/benchmarks.md, each command output shown
with a `$ .venv/bin/digits ...` prompt by running the command again, each other
number of the README's prose against the JSON file it comes from, and the docs'
tables of the latest run against theirs. The README stays short, and neither it
nor the docs name issue numbers or commit hashes: they are written for users.

After `make all` or `make bench` changes a number, these tests name the line to update.
"""

import importlib
import json
import os
import re
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.specifiers import SpecifierSet

from helpers.config import PROFILES, PROJECT_ROOT
from helpers.evaluate import accuracy_interval
from helpers.preprocess import MAX_FILE_BYTES, MAX_PIXELS
from helpers.report import headline_markdown

README = PROJECT_ROOT / "README.md"
DOCS = sorted((PROJECT_ROOT / "docs").glob("*.md"))
OUTPUTS = PROJECT_ROOT / "outputs"
MAX_README_CHARS = 15_000
DROPPED_HEADLINE_ROWS = ("Commit",)
"""Headline rows the README leaves out (the commit is in models/best_model.json)."""
PROMPT = "$ .venv/bin/digits "
MNIST_TRAINING = 60_000
"""MNIST's training digits, before the validation split is taken from them."""

ISSUE_REF = re.compile(r"\b(?:issues?|PR|pull requests?)\s*#?\d+|(?<![\w&/])#\d+\b", re.IGNORECASE)
COMMIT_HASH = re.compile(
    r"\b(?=[0-9a-f]*[0-9])(?=[0-9a-f]*[a-f])[0-9a-f]{7,}\b|\bcommit\s+[0-9a-f]{7,}\b", re.IGNORECASE
)
NUMBER = re.compile(r"(?<![\w.,])\d+(?:[.,]\d+)*%?")
FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.DOTALL | re.MULTILINE)
INLINE_CODE = re.compile(r"`[^`]*`")
LINK_TARGET = re.compile(r"\]\([^)]*\)")


def text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def load(name: str) -> dict:
    return json.loads(text(OUTPUTS / name))


def record() -> dict:
    return json.loads(text(PROJECT_ROOT / "models" / "best_model.json"))


def benchmark_lines() -> set[str]:
    return {line for line in text(OUTPUTS / "benchmarks.md").splitlines() if line}


def headline_lines() -> list[str]:
    """The README's results table: `helpers.report.headline_markdown()`, minus the dropped rows."""
    dropped = tuple(f"| {row} |" for row in DROPPED_HEADLINE_ROWS)
    return [line for line in headline_markdown().splitlines() if not line.startswith(dropped)]


def fenced_blocks(markdown: str) -> list[list[str]]:
    return [match[1].rstrip("\n").splitlines() for match in FENCE.finditer(markdown)]


def tables(markdown: str) -> list[list[str]]:
    """Each Markdown table outside code blocks, as its lines (header first)."""
    found, current = [], []
    for line in [*FENCE.sub("", markdown).splitlines(), ""]:
        if line.startswith("|"):
            current.append(line)
        elif current:
            found.append(current)
            current = []
    return found


def pct(value: float, digits: int = 1) -> str:
    return f"{value:.{digits}%}"


# --- the tables the docs show from the latest run, built from its JSON files -------------------


def realistic_rows() -> list[str]:
    """docs/preprocessing.md: the 960 renderings, per kind, from outputs/realistic.json."""
    realistic = load("realistic.json")
    table, naive = realistic["ours"]["table"], realistic["naive"]
    rows = [
        f"| {kind} | {pct(row['accuracy'], 0)} | {row['no_digit']} | {row['flagged']} | "
        f"{row['wrong_unflagged']} | {pct(naive['by_kind'][kind], 0)} |"
        for kind, row in table["by_kind"].items()
    ]
    total = table["all"]
    return [
        *rows,
        f"| **all {total['count']:,}** | **{pct(total['accuracy'])}** | **{total['no_digit']}** | "
        f"**{total['flagged']}** | **{total['wrong_unflagged']}** | **{pct(naive['accuracy'])}** |",
    ]


def real_digit_rows() -> list[str]:
    """docs/preprocessing.md: the real digits by other writers, from outputs/real_digits.json."""
    rows = []
    for name, entry in load("real_digits.json").items():
        kinds = list(entry["by_kind"].items())
        if len(kinds) > 1:
            kinds.append(("all", entry["all"]))
        for kind, row in kinds:
            rows.append(
                f"| {name.split(' (')[0]} | {kind} | {row['count']:,} | {pct(row['accuracy'])} | "
                f"{row['no_digit']} | {row['flagged']} | {row['wrong_unflagged']} |"
            )
    return rows


def threshold_sentence() -> list[str]:
    """docs/preprocessing.md: the confidence threshold, from models/best_model.json."""
    threshold = record()["confidence_threshold"]
    return [
        f"For the shipped model it is {threshold['value']:.3f}: on validation it flags "
        f"{pct(threshold['flagged_share'])} of the answers, and those it keeps are "
        f"{pct(threshold['kept_accuracy'], 2)} right."
    ]


def corruption_rows() -> list[str]:
    """docs/trust.md: accuracy under each MNIST-C corruption, per model, with the interval of this
    run's model, from outputs/trust.json."""
    trust = load("trust.json")
    by_model, intervals = trust["corruptions_by_model"], trust["corruption_intervals"]
    names = list(next(iter(by_model.values())))
    rows = [
        "| corruption | " + " | ".join(by_model) + " | 95% interval (this run's model) |",
        "|---|" + "---|" * (len(by_model) + 1),
        *(
            f"| {name.replace('_', ' ')} | "
            + " | ".join(pct(m[name]) for m in by_model.values())
            + f" | {intervals[name][0] * 100:.1f}-{pct(intervals[name][1])} |"
            for name in names
        ),
        "| **mean** | "
        + " | ".join(f"**{pct(sum(m.values()) / len(m))}**" for m in by_model.values())
        + " | |",
    ]
    return rows


def fgsm_rows() -> list[str]:
    """docs/trust.md: accuracy under FGSM and PGD at each epsilon, from outputs/trust.json."""
    trust = load("trust.json")
    return [
        f"| {epsilon} | {pct(accuracy)} | {pct(trust['pgd'][epsilon])} |"
        for epsilon, accuracy in trust["fgsm"].items()
    ]


def calibration_sentence() -> list[str]:
    """docs/trust.md: calibration before and after the temperature, from outputs/trust.json."""
    trust = load("trust.json")
    bins = re.search(r"^ECE_BINS = (\d+)", text(PROJECT_ROOT / "helpers" / "trust.py"), re.MULTILINE)[1]
    low, high = trust["ece_after_interval"]
    return [
        f"expected calibration error ({bins} bins) on the test set is {pct(trust['ece_before'], 2)} "
        f"without a temperature and {pct(trust['ece_after'], 2)} with the fitted one "
        f"(T = {trust['temperature']:.3f}; 95% bootstrap interval {low * 100:.2f}-{pct(high, 2)})"
    ]


def earlier_goal_rows() -> list[str]:
    """docs/experiments.md: the earlier goals not in the benchmark's own table, from benchmarks.json."""
    bench = load("benchmarks.json")
    summary, default = bench["summary"], bench["inference"]["default"]
    seconds = summary["default_train_seconds"]
    p50, lite = summary["default_single_image_p50_ms"], summary["default_litert_single_image_p50_ms"]
    keras_kb, int8_kb = summary["default_keras_bytes"] / 1000, summary["default_int8_bytes"] / 1000
    drop, ratio = summary["int8_accuracy_drop_points"], summary["throughput_ratio_vs_seed_predict"]
    train_mb, predict_mb = summary["training_peak_rss_mb"], summary["prediction_peak_rss_mb"]
    megapixels = bench["photo"]["size"][0] * bench["photo"]["size"][1] / 1e6
    assert default["bytes"]["keras"] == summary["default_keras_bytes"]

    def met(ok: bool) -> str:
        return "yes" if ok else "no"

    return [
        f"| default training time | <= 5 min | {min(seconds):.0f}-{max(seconds):.0f} s | "
        f"{met(max(seconds) <= 300)} |",
        f"| one image through `predict_probabilities`, p50 | <= 1 ms | {p50:.2f} ms "
        f"(LiteRT int8: {lite:.2f} ms) | {met(p50 <= 1)} |",
        f"| throughput / seed_cnn `model.predict` | >= 5x | {ratio:.2f}x | {met(ratio >= 5)} |",
        f"| saved default model | <= 1 MB | {keras_kb:,.0f} KB | {met(keras_kb <= 1000)} |",
        f"| int8 LiteRT model, accuracy loss | <= 250 KB, <= 0.1 pt | {int8_kb:,.0f} KB, {drop:.2f} pt | "
        f"{met(int8_kb <= 250 and drop <= 0.1)} |",
        f"| peak memory: training / prediction | < 4 GB / < 1 GB | {train_mb:,.0f} MB (whole benchmark "
        f"process) / {predict_mb:,.0f} MB (`digits predict` on the {megapixels:.0f} MP photo) | "
        f"{met(train_mb < 4000 and predict_mb < 1000)} |",
    ]


def study_rows(study: str) -> list[str]:
    """The lines of `benchmarks.STUDY`'s tables, rendered by its `to_markdown` from outputs/STUDY.json."""
    module = importlib.import_module(f"benchmarks.{study}")
    return [line for line in module.to_markdown(load(f"{study}.json")).splitlines() if line]


def checkpoint_rule_rows() -> list[str]:
    """docs/experiments.md: the checkpoint-rule and calibration-split tables, from their JSON."""
    return study_rows("checkpoint_rule")


def more_data_rows() -> list[str]:
    """docs/experiments.md: what the last tenth of the training data bought, from its JSON."""
    return study_rows("more_data")


# --- the numbers of the README's prose, each with where it comes from ---------------------------


def readme_claims() -> list[tuple[str, str, str]]:
    """(number as the README writes it, a word on the same line, where the number comes from).

    Every number in the README's prose and its own tables must be one of these.
    """
    realistic, real, trust, threshold = (
        load("realistic.json"),
        load("real_digits.json"),
        load("trust.json"),
        record()["confidence_threshold"],
    )
    adapt, search = load("adapt.json"), load("search.json")
    real_dev = next(entry["all"] for name, entry in real.items() if name.startswith("real_dev"))
    semeion = real["Semeion"]["all"]
    summary = load("benchmarks.json")["summary"]
    target = float(next(key for key in summary if key.startswith("seed_cnn_seconds_to_")).rsplit("_", 1)[1])
    pythons = SpecifierSet(tomllib.loads(text(PROJECT_ROOT / "pyproject.toml"))["project"]["requires-python"])
    lowest, beyond = (next(s.version for s in pythons if s.operator == op) for op in (">=", "<"))
    newest = f"3.{int(beyond.split('.')[1]) - 1}"
    locked = tomllib.loads(text(PROJECT_ROOT / "uv.lock"))["package"]
    tensorflow = next(p["version"] for p in locked if p["name"] == "tensorflow-cpu").rsplit(".", 1)[0]
    return [
        (f"{realistic['count']:,}", "renderings", "outputs/realistic.json: count"),
        (str(len(realistic["kinds"])), "kinds", "outputs/realistic.json: kinds"),
        (pct(realistic["ours"]["accuracy"]), "our preprocessing", "outputs/realistic.json: ours.accuracy"),
        (pct(realistic["naive"]["accuracy"]), "naive", "outputs/realistic.json: naive.accuracy"),
        (f"{real_dev['count']:,}", "real_dev", "outputs/real_digits.json: real_dev all.count"),
        (pct(real_dev["accuracy"]), "real_dev", "outputs/real_digits.json: real_dev all.accuracy"),
        (f"{semeion['count']:,}", "Semeion", "outputs/real_digits.json: Semeion all.count"),
        (pct(semeion["accuracy"]), "Semeion", "outputs/real_digits.json: Semeion all.accuracy"),
        (str(len(trust["corruptions"])), "corruptions", "outputs/trust.json: corruptions"),
        (pct(trust["corruption_mean"]), "corruptions", "outputs/trust.json: corruption_mean"),
        (pct(trust["ece_before"], 2), "calibration error", "outputs/trust.json: ece_before"),
        (pct(trust["ece_after"], 2), "calibration error", "outputs/trust.json: ece_after"),
        ("0.1", "FGSM", "outputs/trust.json: fgsm epsilon"),
        (pct(trust["fgsm"]["0.1"]), "FGSM", "outputs/trust.json: fgsm['0.1']"),
        (pct(trust["pgd"]["0.1"]), "PGD", "outputs/trust.json: pgd['0.1']"),
        ("95%", "interval", "helpers.evaluate.accuracy_interval: z = 1.96, a 95% interval"),
        (f"{trust['attack_images']:,}", "PGD", "outputs/trust.json: attack_images"),
        *bounds(accuracy_interval(trust["fgsm"]["0.1"], trust["attack_images"]), 1, "FGSM", "fgsm['0.1']"),
        *bounds(accuracy_interval(trust["pgd"]["0.1"], trust["attack_images"]), 1, "PGD", "pgd['0.1']"),
        *bounds(trust["ece_before_interval"], 2, "calibration error", "trust.json: ece_before_interval"),
        *bounds(trust["ece_after_interval"], 2, "calibration error", "trust.json: ece_after_interval"),
        *bounds(realistic["ours"]["interval"], 1, "our preprocessing", "realistic.json: ours.interval"),
        *bounds(realistic["naive"]["interval"], 1, "naive", "realistic.json: naive.interval"),
        *bounds(real_dev["interval"], 1, "real_dev", "real_digits.json: real_dev all.interval"),
        *bounds(semeion["interval"], 1, "Semeion", "real_digits.json: Semeion all.interval"),
        (pct(adapt["semeion"]["before"]), "held-out half", "outputs/adapt.json: semeion.before"),
        (pct(adapt["semeion"]["10"]["accuracy"]), "held-out half", "outputs/adapt.json: semeion['10']"),
        (pct(adapt["mnist_test_before"]), "MNIST's test set", "outputs/adapt.json: mnist_test_before"),
        (pct(adapt["mnist_test_after"]), "MNIST's test set", "outputs/adapt.json: mnist_test_after"),
        (str(len(search["best"]["seeds"])), "seeds", "outputs/search.json: best.seeds"),
        (str(search["trials_complete"] + search["trials_pruned"]), "trials", "outputs/search.json: trials"),
        (str(search["trials_pruned"]), "pruned", "outputs/search.json: trials_pruned"),
        (f"{search_images(search['scale']):,}", "images", "outputs/search.json: scale.train_subset"),
        (str(search["scale"]["max_epochs"]), "epochs", "outputs/search.json: scale.max_epochs"),
        (
            pct(summary["default_test_accuracy_mean"], 2),
            "default recipe",
            "outputs/benchmarks.json: summary.default_test_accuracy_mean",
        ),
        (f"{threshold['value']:.3f}", "threshold", "models/best_model.json: confidence_threshold.value"),
        (
            pct(threshold["target_accuracy"]),
            "threshold",
            "models/best_model.json: confidence_threshold.target_accuracy",
        ),
        (f"{PROFILES['quick']['train_subset']:,}", "smoke run", "helpers.config.PROFILES['quick']"),
        (pct(target, 1), "original project", "outputs/benchmarks.json: summary's seconds_to_TARGET"),
        (lowest, "Python", "pyproject.toml: requires-python"),
        (newest, "Python", "pyproject.toml: requires-python, the newest below its bound"),
        (beyond, "no wheels", "pyproject.toml: requires-python's bound"),
        (tensorflow, "TensorFlow", "uv.lock: tensorflow-cpu's version, major.minor"),
        ("64", "x86-64", "tools/check_lock.py: PLATFORMS"),
        (str(MAX_FILE_BYTES // 2**20), "MB", "helpers.preprocess.MAX_FILE_BYTES"),
        (f"{MAX_PIXELS // 10**6}", "million pixels", "helpers.preprocess.MAX_PIXELS"),
        *((code, "Exit codes", "test_exit_codes_are_the_ones_the_readme_gives") for code in ("0", "1", "2")),
        ("3.0", "CC BY-SA 3.0", "data/README.md (test_credits_match_the_data_licences)"),
        ("4.0", "CC BY 4.0", "data/README.md (test_credits_match_the_data_licences)"),
        ("2021", "Copyright (c) 2021", "data/real_dev/LICENSES (test_credits_match_the_data_licences)"),
    ]


def search_images(scale: dict) -> int:
    """Training images per trial of a search at `scale` (a train_subset of 0 means all of them)."""
    return scale["train_subset"] or round(MNIST_TRAINING * (1 - scale["val_fraction"]))


def bounds(interval: list[float], digits: int, word: str, source: str) -> list[tuple[str, str, str]]:
    """The two claims of an interval the README writes as 'low-high%'."""
    low, high = interval
    return [(f"{low * 100:.{digits}f}", word, source), (f"{high:.{digits}%}", word, source)]


def prose_units() -> list[str]:
    """The README outside code blocks, as paragraphs, list items and table rows, minus the lines
    checked whole elsewhere (the results table, lines of outputs/benchmarks.md); inline code
    and link targets removed."""
    checked = set(headline_lines()) | benchmark_lines()
    units: list[list[str]] = []
    new_unit = True
    for line in FENCE.sub("", text(README)).splitlines():
        if line in checked or not line.strip():
            new_unit = True
            continue
        if new_unit or line.startswith(("|", "- ")):
            units.append([])
        units[-1].append(line.strip())
        new_unit = line.startswith("|")
    return [LINK_TARGET.sub("]", INLINE_CODE.sub("", " ".join(unit))) for unit in units]


# --- the README ---------------------------------------------------------------------------------


def test_readme_is_short():
    assert len(text(README)) <= MAX_README_CHARS, "README.md is over 15,000 characters: move detail to docs/"


@pytest.mark.parametrize("path", [README, *DOCS], ids=lambda p: p.name)
def test_no_issue_numbers_or_commit_hashes(path):
    """Written for users: no "issue 14", "#14" or commit hashes. Lines of outputs/benchmarks.md
    are exempt, since docs/experiments.md must hold that file verbatim (benchmarks/run.py
    writes its wording)."""
    exempt = benchmark_lines()
    bad = [
        f"{number}: {line}"
        for number, line in enumerate(text(path).splitlines(), 1)
        if line not in exempt and (ISSUE_REF.search(line) or COMMIT_HASH.search(line))
    ]
    assert bad == []


def test_the_patterns_catch_issue_numbers_and_hashes():
    for line in [
        "goal (issue 14)",
        "see issues 3 and 6",
        "fixed in #12",
        "commit 9915999",
        "ee99826b39c9f05f",
    ]:
        assert ISSUE_REF.search(line) or COMMIT_HASH.search(line), line
    for line in ["## Results", "99.50% (50 errors in 10,000)", "a 3000x4000 photo", "learning rate 3e-3"]:
        assert not (ISSUE_REF.search(line) or COMMIT_HASH.search(line)), line


def test_readme_results_table_is_the_reports_headline():
    expected = headline_lines()
    assert len(expected) >= 8
    assert "\n".join(expected) in text(README), (
        "paste `.venv/bin/python -m helpers.report --markdown` into the README (without the Commit row)"
    )


def test_readme_tables_from_the_benchmark_are_its_lines():
    """A README table whose header is a line of outputs/benchmarks.md is copied from it whole."""
    bench = benchmark_lines()
    copied = [table for table in tables(text(README)) if table[0] in bench]
    assert copied, "the README should show the recipe table of outputs/benchmarks.md"
    stale = [line for table in copied for line in table if line not in bench]
    assert stale == [], "copy these from outputs/benchmarks.md after `make bench`"


@pytest.mark.parametrize("claim", readme_claims(), ids=lambda claim: f"{claim[0]} {claim[1]}")
def test_readme_number_is_the_files(claim):
    """Each number the README's prose gives, next to its word, is the one its file holds now."""
    value, word, source = claim
    units = [(NUMBER.findall(unit), unit) for unit in prose_units()]
    assert any(value in found and word in unit for found, unit in units), (
        f"the README should say {value} (from {source}) in a paragraph or table row with {word!r}"
    )


def test_every_number_in_readme_prose_is_checked():
    known = {value for value, _, _ in readme_claims()}
    unchecked = [
        (number, unit) for unit in prose_units() for number in NUMBER.findall(unit) if number not in known
    ]
    assert unchecked == [], "add each number to readme_claims() with its source, or take it out"


def test_credits_match_the_data_licences():
    readme = " ".join(text(README).replace("`", "").split())
    data = " ".join(text(PROJECT_ROOT / "data" / "README.md").split())
    licences = PROJECT_ROOT / "data" / "real_dev" / "LICENSES"
    for statement in ["CC BY-SA 3.0", "CC BY 4.0"]:
        assert statement in readme and statement in data, statement
    for source in licences.glob("*.txt"):
        copyright_line = next(line for line in text(source).splitlines() if "Copyright (c)" in line)
        holder = copyright_line[copyright_line.index("Copyright (c)") :].rstrip(".")
        assert holder in readme, f"the README should credit {source.stem}: {holder}"
        assert source.stem.replace("__", "/") in readme
    assert "MIT" in text(PROJECT_ROOT / "LICENSE") and "MIT licence" in readme


# --- command outputs, in the README and the docs ------------------------------------------------


def command_blocks() -> list[tuple[str, str, str]]:
    """(file, command, the output shown) for each fenced block opening with `$ .venv/bin/digits`."""
    found = []
    for path in [README, *DOCS]:
        for lines in fenced_blocks(text(path)):
            if lines and lines[0].startswith(PROMPT):
                found.append((path.name, lines[0].removeprefix("$ "), "\n".join(lines[1:])))
    return found


_RUNS: dict[str, subprocess.CompletedProcess] = {}


def run_digits(command: str) -> subprocess.CompletedProcess:
    """Run a `.venv/bin/digits ...` command from the project root (once per test session)."""
    if command not in _RUNS:
        argv = shlex.split(command)
        digits = PROJECT_ROOT / argv[0]
        if not digits.exists():  # a test run from another environment: its own `digits`
            digits = Path(sys.executable).parent / "digits"
        env = {k: v for k, v in os.environ.items() if not k.startswith("DIGITS_")}
        _RUNS[command] = subprocess.run(
            [str(digits), *argv[1:]], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=300
        )
    return _RUNS[command]


def test_readme_shows_the_sample_folder_output():
    assert ("README.md", ".venv/bin/digits predict data/samples/") in [
        block[:2] for block in command_blocks()
    ]


@pytest.mark.parametrize("block", command_blocks(), ids=lambda block: f"{block[0]}: {block[1]}")
def test_command_output_shown_is_what_it_prints_now(block):
    _, command, shown = block
    result = run_digits(command)
    assert result.stdout.rstrip("\n") == shown, f"rerun `{command}` and paste its output\n{result.stderr}"


def test_exit_codes_are_the_ones_the_readme_gives():
    readme = " ".join(text(README).split())
    assert re.search(r"Exit codes: 0 when [^.]+, 1 when [^.]+, 2 when the model cannot be loaded", readme)
    assert run_digits(".venv/bin/digits predict data/samples/").returncode == 0
    assert run_digits(".venv/bin/digits predict data/samples/0_blue_ink.jpg data/no_such.png").returncode == 1
    assert run_digits(".venv/bin/digits predict --model build/no_such.keras data/samples/").returncode == 2


# --- the docs' tables of the latest run ---------------------------------------------------------


@pytest.mark.parametrize(
    ("doc", "lines"),
    [
        ("preprocessing.md", realistic_rows),
        ("preprocessing.md", real_digit_rows),
        ("preprocessing.md", threshold_sentence),
        ("trust.md", corruption_rows),
        ("trust.md", fgsm_rows),
        ("trust.md", calibration_sentence),
        ("experiments.md", earlier_goal_rows),
        ("experiments.md", checkpoint_rule_rows),
        ("experiments.md", more_data_rows),
    ],
    ids=lambda x: x if isinstance(x, str) else x.__name__,
)
def test_docs_show_the_latest_run(doc, lines):
    shown = text(PROJECT_ROOT / "docs" / doc)
    flat = " ".join(shown.split())
    missing = [
        line for line in lines() if line not in shown.splitlines() and " ".join(line.split()) not in flat
    ]
    assert missing == [], f"docs/{doc} is out of date with outputs/: update these"
