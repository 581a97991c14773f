"""README.md and docs/*.md say what the project's files say.

The results they quote sit in generated blocks (`<!-- generated: NAME -->` ... `<!-- end -->`),
which `python -m helpers.blocks --write` (`make readme`) writes from outputs/ and
models/. The blocks must be what it writes from the committed files (git HEAD), so that a
user's `make all`, which rewrites outputs/ and models/ with another date, CPU and training
time, breaks nothing; or what it writes from the working tree, so that a developer who ran
`make all` and `make readme` passes before committing. The `$ .venv/bin/digits` outputs shown
are rerun likewise, with the committed model or the working tree's. The few numbers outside
the blocks are constants, each checked against where it is set. The README stays short, and
neither it nor the docs name issue numbers or commit hashes: they are written for users.
"""

import functools
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
from conftest import committed, in_git_checkout, skip_unless_ci
from packaging.specifiers import SpecifierSet
from test_report import METRICS, RECORD

from helpers import blocks
from helpers.blocks import pct
from helpers.config import PROFILES, PROJECT_ROOT
from helpers.corrupt import CORRUPTIONS
from helpers.preprocess import MAX_FILE_BYTES, MAX_PIXELS
from helpers.search import SearchSettings

README = PROJECT_ROOT / "README.md"
DOCS = sorted((PROJECT_ROOT / "docs").glob("*.md"))
EXPERIMENT_RESULTS = PROJECT_ROOT / "experiments" / "results"
MAX_README_CHARS = 15_000
PROMPT = "$ .venv/bin/digits "

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


# --- the two records: the committed one (git HEAD) and the working tree ------------------------


@functools.cache
def committed_text(path: str) -> str | None:
    data = committed(path)
    return None if data is None else data.decode("utf-8")


def stale_blocks(files: dict, paths: list[Path]) -> list[str]:
    """'FILE: NAME' for each block of `paths` that is not what the generator renders from `files`."""
    rendered = blocks.render_blocks(files)
    return [
        f"{path.name}: {name}"
        for path in paths
        for name, shown in blocks.blocks_in(text(path))
        if rendered.get(name) != shown
    ]


def stale_from_either(paths: list[Path], working_tree: dict, head: dict | None) -> dict[str, list[str]]:
    """The stale blocks from each record that was read, the working tree's first; none from
    HEAD's once the working tree's match."""
    stale = {"the working tree": stale_blocks(working_tree, paths)}
    if stale["the working tree"] and head is not None:
        stale["HEAD"] = stale_blocks(head, paths)
    return stale


def head_record() -> dict | None:
    """The committed files the blocks quote, or None outside a git checkout."""
    return blocks.read_sources(committed_text) if in_git_checkout() else None


# --- the generated blocks -----------------------------------------------------------------------


def test_blocks_are_what_the_generator_writes_now():
    working_tree = blocks.read_sources(blocks.files_under(PROJECT_ROOT))
    stale = stale_from_either([README, *DOCS], working_tree, head_record())
    if "HEAD" not in stale and stale["the working tree"]:
        skip_unless_ci(
            "not a git checkout, so the committed record cannot be read, and these blocks are not "
            f"what `make readme` writes from the working tree: {stale['the working tree']}"
        )
    assert [] in stale.values(), (
        "these blocks are what `make readme` writes neither from the working tree "
        f"({stale['the working tree']}) nor from git HEAD ({stale['HEAD']}): run `make readme`"
    )


def test_either_record_passes_but_not_a_mix(tmp_path):
    """A user's `make all` rewrote the working tree (HEAD's blocks pass); a developer's
    `make readme` after it (the working tree's pass); blocks from each record fail."""
    threshold = {"value": 0.967, "target_accuracy": 0.999, "flagged_share": 0.017, "kept_accuracy": 0.9992}
    head = {blocks.RECORD: {**RECORD, "confidence_threshold": threshold}, blocks.METRICS: METRICS}
    rerun = {  # another machine's run, another threshold
        blocks.RECORD: {**head[blocks.RECORD], "date": "2027-01-01T00:00:00+00:00",
                        "confidence_threshold": {**threshold, "value": 0.95}},
        blocks.METRICS: METRICS,
    }  # fmt: skip
    page = tmp_path / "page.md"

    def write(headline: dict, sentence: dict) -> dict[str, list[str]]:
        sources = [("headline", headline), ("threshold", sentence)]
        page.write_text(
            "".join(
                f"<!-- generated: {n} -->\n{blocks.render_blocks(f)[n]}\n<!-- end -->\n\n" for n, f in sources
            )
        )
        return stale_from_either([page], rerun, head)

    both = ["page.md: headline", "page.md: threshold"]
    assert write(head, head) == {"the working tree": both, "HEAD": []}
    assert write(rerun, rerun) == {"the working tree": []}
    assert write(rerun, head) == {"the working tree": ["page.md: threshold"], "HEAD": ["page.md: headline"]}


def test_every_block_is_known_and_shown_once():
    shown = [name for path in [README, *DOCS] for name, _ in blocks.blocks_in(text(path))]
    assert sorted(shown) == sorted(blocks.BLOCKS), "each block of helpers.blocks, once, in README.md or docs/"


def misplaced_blocks(markdown: str) -> list[str]:
    """The blocks that would break the Markdown around them. A block either holds whole lines,
    its markers on lines of their own, or sits inside a paragraph, its end marker not opening a
    line (an HTML comment there would end the paragraph)."""
    bad = []
    for match in blocks.BLOCK.finditer(markdown):
        opens_line = match.start() == 0 or markdown[match.start() - 1] == "\n"
        closes_line = match.end() == len(markdown) or markdown[match.end()] == "\n"
        body = match[2]
        whole_lines = opens_line and closes_line and body.startswith("\n") and body.endswith("\n")
        if not (whole_lines or (not opens_line and not body.endswith("\n"))):
            bad.append(match[1])
    return bad


@pytest.mark.parametrize("path", [README, *DOCS], ids=lambda p: p.name)
def test_blocks_keep_the_markdown_around_them_intact(path):
    markdown = text(path)
    assert (
        markdown.count("<!-- generated:") == markdown.count("<!-- end -->") == len(blocks.blocks_in(markdown))
    )
    assert misplaced_blocks(markdown) == []


def test_the_layout_check_sees_a_block_that_breaks_its_paragraph():
    assert misplaced_blocks("a\n\n<!-- generated: x -->\n| t |\n<!-- end -->\n") == []
    assert misplaced_blocks("a <!-- generated: y -->\nb c<!-- end --> d\n") == []
    assert misplaced_blocks("a <!-- generated: y -->\nb c\n<!-- end --> d\n") == ["y"]
    assert misplaced_blocks("<!-- generated: z -->b c<!-- end --> d\n") == ["z"]


# --- numbers outside the blocks: constants, each next to its word --------------------------------


def readme_constants() -> list[tuple[str, str, str]]:
    """(number as the README writes it, a word on the same line, where it is set) for every
    number of the README's prose outside the generated blocks."""
    pythons = SpecifierSet(tomllib.loads(text(PROJECT_ROOT / "pyproject.toml"))["project"]["requires-python"])
    lowest, beyond = (next(s.version for s in pythons if s.operator == op) for op in (">=", "<"))
    newest = f"3.{int(beyond.split('.')[1]) - 1}"
    locked = tomllib.loads(text(PROJECT_ROOT / "uv.lock"))["package"]
    tensorflow = next(p["version"] for p in locked if p["name"] == "tensorflow-cpu").rsplit(".", 1)[0]
    seeds = SearchSettings().final_seeds
    return [
        (lowest, "Python", "pyproject.toml: requires-python"),
        (newest, "Python", "pyproject.toml: requires-python, the newest below its bound"),
        (beyond, "no wheels", "pyproject.toml: requires-python's bound"),
        (tensorflow, "TensorFlow", "uv.lock: tensorflow-cpu's version, major.minor"),
        ("64", "x86-64", "tools/check_lock.py: PLATFORMS"),
        (f"{PROFILES['quick']['train_subset']:,}", "smoke run", "helpers.config.PROFILES['quick']"),
        (str(len(CORRUPTIONS)), "corruptions", "helpers.corrupt.CORRUPTIONS"),
        (str(len(seeds)), "seeds", "helpers.search.SearchSettings.final_seeds"),
        (str(MAX_FILE_BYTES // 2**20), "MB", "helpers.preprocess.MAX_FILE_BYTES"),
        (f"{MAX_PIXELS // 10**6}", "million pixels", "helpers.preprocess.MAX_PIXELS"),
        *((code, "Exit codes", "test_exit_codes_are_the_ones_the_readme_gives") for code in ("0", "1", "2")),
        ("3.0", "CC BY-SA 3.0", "data/README.md (test_credits_match_the_data_licences)"),
        ("4.0", "CC BY 4.0", "data/README.md (test_credits_match_the_data_licences)"),
        ("2021", "Copyright (c) 2021", "data/real_dev/LICENSES (test_credits_match_the_data_licences)"),
    ]


def prose_units() -> list[str]:
    """The README outside code blocks and generated blocks, as paragraphs, list items and table
    rows; inline code and link targets removed."""
    units: list[list[str]] = []
    new_unit = True
    for line in FENCE.sub("", blocks.BLOCK.sub("", text(README))).splitlines():
        if not line.strip():
            new_unit = True
            continue
        if new_unit or line.startswith(("|", "- ")):
            units.append([])
        units[-1].append(line.strip())
        new_unit = line.startswith("|")
    return [LINK_TARGET.sub("]", INLINE_CODE.sub("", " ".join(unit))) for unit in units]


@pytest.mark.parametrize("claim", readme_constants(), ids=lambda claim: f"{claim[0]} {claim[1]}")
def test_readme_number_is_its_source(claim):
    value, word, source = claim
    units = [(NUMBER.findall(unit), unit) for unit in prose_units()]
    assert any(value in found and word in unit for found, unit in units), (
        f"the README should say {value} (from {source}) in a paragraph or table row with {word!r}"
    )


def test_every_number_outside_the_blocks_is_a_checked_constant():
    known = {value for value, _, _ in readme_constants()}
    unchecked = [
        (number, unit) for unit in prose_units() for number in NUMBER.findall(unit) if number not in known
    ]
    assert unchecked == [], (
        "a result belongs in a generated block (helpers.blocks); add a constant to readme_constants()"
    )


def test_docs_name_the_calibration_bins():
    """docs/trust.md's calibration block follows '(N bins)', N as helpers.trust sets it."""
    bins = re.search(r"^ECE_BINS = (\d+)", text(PROJECT_ROOT / "helpers" / "trust.py"), re.MULTILINE)[1]
    assert f"expected calibration error ({bins} bins)" in " ".join(
        text(PROJECT_ROOT / "docs" / "trust.md").split()
    )


# --- the README ---------------------------------------------------------------------------------


def test_readme_is_short():
    assert len(text(README)) <= MAX_README_CHARS, "README.md is over 15,000 characters: move detail to docs/"


@pytest.mark.parametrize("path", [README, *DOCS], ids=lambda p: p.name)
def test_no_issue_numbers_or_commit_hashes(path):
    """Written for users: no "issue 14", "#14" or commit hashes."""
    bad = [
        f"{number}: {line}"
        for number, line in enumerate(text(path).splitlines(), 1)
        if ISSUE_REF.search(line) or COMMIT_HASH.search(line)
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


def fenced_blocks(markdown: str) -> list[list[str]]:
    return [match[1].rstrip("\n").splitlines() for match in FENCE.finditer(markdown)]


def command_blocks() -> list[tuple[str, str, str]]:
    """(file, command, the output shown) for each fenced block opening with `$ .venv/bin/digits`."""
    found = []
    for path in [README, *DOCS]:
        for lines in fenced_blocks(text(path)):
            if lines and lines[0].startswith(PROMPT):
                found.append((path.name, lines[0].removeprefix("$ "), "\n".join(lines[1:])))
    return found


@pytest.fixture(scope="session")
def committed_model(shipped_model) -> Path | None:
    """The committed model (None outside a git checkout): not one a user's `make all` wrote."""
    return shipped_model if in_git_checkout() else None


@functools.cache
def run_digits(command: str, model: Path | None = None) -> subprocess.CompletedProcess:
    """Run a `.venv/bin/digits ...` command from the project root, answering with `model` if
    given (once per test session)."""
    argv = shlex.split(command)
    digits = PROJECT_ROOT / argv[0]
    if not digits.exists():  # a test run from another environment: its own `digits`
        digits = Path(sys.executable).parent / "digits"
    chosen = ["--model", str(model)] if model else []
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIGITS_")}
    return subprocess.run(
        [str(digits), argv[1], *chosen, *argv[2:]],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_readme_shows_the_sample_folder_output():
    assert ("README.md", ".venv/bin/digits predict data/samples/") in [
        block[:2] for block in command_blocks()
    ]


@pytest.mark.parametrize("block", command_blocks(), ids=lambda block: f"{block[0]}: {block[1]}")
def test_command_output_shown_is_what_it_prints_now(block, committed_model):
    """With the committed model, or (after a retrain, before its commit) the working tree's."""
    _, command, shown = block
    printed = {}
    if committed_model:
        printed["the committed model"] = run_digits(command, committed_model)
    if not committed_model or printed["the committed model"].stdout.rstrip("\n") != shown:
        printed["models/"] = run_digits(command)
    if any(result.stdout.rstrip("\n") == shown for result in printed.values()):
        return
    if not committed_model:
        skip_unless_ci(f"not a git checkout, and models/ prints another output for `{command}`")
    first = next(iter(printed.values()))
    assert first.stdout.rstrip("\n") == shown, f"rerun `{command}` and paste its output\n{first.stderr}"


def test_exit_codes_are_the_ones_the_readme_gives(committed_model):
    readme = " ".join(text(README).split())
    assert re.search(r"Exit codes: 0 when [^.]+, 1 when [^.]+, 2 when the model cannot be loaded", readme)
    model = committed_model
    assert run_digits(".venv/bin/digits predict data/samples/", model).returncode == 0
    assert (
        run_digits(".venv/bin/digits predict data/samples/0_blue_ink.jpg data/no_such.png", model).returncode
        == 1
    )
    assert run_digits(".venv/bin/digits predict data/samples/", Path("build/no_such.tflite")).returncode == 2


# --- the docs' tables of experiments/results/: recorded answers no make target rewrites ----------


def experiment(name: str) -> dict:
    """experiments/results/NAME.json: a research script's recorded answer."""
    return json.loads(text(EXPERIMENT_RESULTS / f"{name}.json"))


def experiment_rows(name: str) -> list[str]:
    """The lines of `experiments.NAME`'s tables, rendered by its `to_markdown` from its results."""
    module = importlib.import_module(f"experiments.{name}")
    return [line for line in module.to_markdown(experiment(name)).splitlines() if line]


def checkpoint_rule_rows() -> list[str]:
    """docs/experiments.md: the checkpoint rules and the calibration splits, from
    experiments/results/checkpoint_rule.json (the script that measured them is deleted)."""
    results = experiment("checkpoint_rule")
    rows = []
    for name, row in results["summary"].items():
        low, high = row["interval"]
        rows.append(
            f"| {name} | {row['held_out_errors']} | {pct(row['held_out_accuracy'], 2)} "
            f"({pct(low, 2)}-{pct(high, 2)}) | {pct(row['test_accuracy_mean'], 2)} |"
        )
    for name in ("one split for both", "a half each"):
        runs = [run["calibration"][name] for run in results["runs"]]
        ece = sum(r["test_ece"] for r in runs) / len(runs)
        flagged = sum(r["test_flagged_share"] for r in runs) / len(runs)
        kept = min(r["test_kept_accuracy"] for r in runs)
        rows.append(f"| {name} | {pct(ece, 2)} | {pct(kept, 2)} | {pct(flagged)} |")
    return rows


def more_data_rows() -> list[str]:
    """docs/experiments.md: what the last tenth of the training data bought, from its results."""
    return experiment_rows("more_data")


def ensemble_mix_rows() -> list[str]:
    """docs/search.md: the validation errors of ensembles mixing other recipes, from its results."""
    return experiment_rows("ensemble_mix")


@pytest.mark.parametrize(
    ("doc", "lines"),
    [
        ("experiments.md", checkpoint_rule_rows),
        ("experiments.md", more_data_rows),
        ("search.md", ensemble_mix_rows),
    ],
    ids=lambda x: x if isinstance(x, str) else x.__name__,
)
def test_docs_show_the_recorded_experiments(doc, lines):
    shown = text(PROJECT_ROOT / "docs" / doc)
    flat = " ".join(shown.split())
    missing = [
        line for line in lines() if line not in shown.splitlines() and " ".join(line.split()) not in flat
    ]
    assert missing == [], f"docs/{doc} is out of date with experiments/results/: update these"
