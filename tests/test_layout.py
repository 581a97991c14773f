"""The product apart from the lab: `benchmarks/` is `make bench` and nothing else, nothing in the
product imports or reads `experiments/`, each experiment says what it asked and found, and the
Markdown files' links lead somewhere."""

import ast
import functools
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from helpers.config import PROJECT_ROOT
from tools.prerequisites import notebook_code

BENCH_MODULES = {"__init__.py", "__main__.py", "run.py", "cli.py", "peak_memory.py"}
"""`make bench` and what it runs; research scripts belong in experiments/."""
PRODUCT = ["helpers", "app", "benchmarks", "notebooks"]
"""The folders whose Python files and notebooks must not reach experiments/."""
EXPERIMENTS = PROJECT_ROOT / "experiments"
SHARED_EXPERIMENT_MODULES = {"__init__.py", "lab.py"}
"""Modules of experiments/ that are not experiments themselves."""
MAKE_RULES_MAY_NAME_EXPERIMENTS = {"lint", "format"}
"""The Makefile may name experiments/ only to check its style, never in the course's targets."""
MARKDOWN = ["README.md", "data/README.md", "docs/*.md", "experiments/*.md", "experiments/**/*.md"]
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
NAMES_EXPERIMENTS = re.compile(r"(?<![\w-])experiments(?:$|/(?=\w)|\.(?!md\b)(?=\w))")
"""The folder or the package as code names it: "experiments", "experiments/x", "experiments.x"
(docs/experiments.md is a page of the docs, not the folder)."""


def docstrings(tree: ast.AST) -> set[int]:
    """The ids of the docstring nodes of a module and of its classes and functions."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def reaches_experiments(source: str) -> list[str]:
    """The ways `source` (Python) imports or reads experiments/: imports of the package, and
    strings outside docstrings that name it ("experiments", "experiments/...", "experiments.x")."""
    tree = ast.parse(source)
    skip = docstrings(tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [f"import {a.name}" for a in node.names if a.name.split(".")[0] == "experiments"]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "experiments":
            found.append(f"from {node.module} import ...")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
            found += [f"the string {node.value!r}"] if NAMES_EXPERIMENTS.search(node.value) else []
    return found


def product_sources() -> Iterator[tuple[str, str]]:
    """(path, Python source) of every module and notebook of the product."""
    for folder in PRODUCT:
        for path in sorted((PROJECT_ROOT / folder).rglob("*")):
            if ".ipynb_checkpoints" in path.parts or "__pycache__" in path.parts:
                continue
            if path.suffix == ".py":
                yield str(path.relative_to(PROJECT_ROOT)), path.read_text(encoding="utf-8")
            elif path.suffix == ".ipynb":
                yield str(path.relative_to(PROJECT_ROOT)), notebook_code(path)


def make_rules(makefile: str) -> Iterator[tuple[str, str]]:
    """(target, line) for each line of a Makefile, with the rule it belongs to ("" before any)."""
    target = ""
    for line in makefile.replace("\\\n", " ").splitlines():
        rule = re.match(r"^([^\s#:=][^:=]*?)\s*:(?!=)", line)
        if rule:
            target = rule[1]
        elif line and not line.startswith("\t"):
            target = ""  # a variable or a comment ends the recipe
        yield target, line


def experiment_scripts() -> list[Path]:
    return sorted(p for p in EXPERIMENTS.glob("*.py") if p.name not in SHARED_EXPERIMENT_MODULES)


def test_benchmarks_holds_only_the_bench_modules():
    files = {p.name for p in (PROJECT_ROOT / "benchmarks").iterdir() if p.name != "__pycache__"}
    assert files == BENCH_MODULES, "research scripts go to experiments/ (python -m experiments.NAME)"


def test_nothing_in_the_product_imports_or_reads_experiments():
    sources = list(product_sources())
    assert {"helpers/data.py", "benchmarks/run.py", "notebooks/07_search.ipynb", "app/digits.ipynb"} <= {
        path for path, _ in sources
    }
    reached = {path: found for path, source in sources if (found := reaches_experiments(source))}
    assert reached == {}, "experiments/ may import the product, never the other way round"


def test_the_check_sees_imports_and_paths_but_not_prose():
    for line in [
        "import experiments.tta",
        "from experiments.lab import RESULTS",
        "from experiments import lab",
        "path = PROJECT_ROOT / 'experiments' / 'results'",
        "open('experiments/results/more_data.json')",
        "importlib.import_module('experiments.more_data')",
    ]:
        assert reaches_experiments(line), line
    for line in [
        '"""Research lives in experiments/, and nothing here reads it."""',
        "import benchmarks.run",
        "label = 'two experiments, one split'",
        "x = 'these experiments.'",
        "print('see docs/experiments.md')",
    ]:
        assert not reaches_experiments(line), line


def test_the_course_targets_of_the_makefile_do_not_name_experiments():
    makefiles = [PROJECT_ROOT / "Makefile", *sorted(PROJECT_ROOT.glob("notebooks/*.mk"))]
    named = [
        f"{path.name}: {line.strip()}"
        for path in makefiles
        for target, line in make_rules(path.read_text(encoding="utf-8"))
        if "experiments" in line
        and not line.lstrip().startswith("#")
        and target not in MAKE_RULES_MAY_NAME_EXPERIMENTS
    ]
    assert named == []


@pytest.mark.parametrize("script", experiment_scripts(), ids=lambda p: p.stem)
def test_each_experiment_says_its_question_command_answer_and_date(script):
    doc = ast.get_docstring(ast.parse(script.read_text(encoding="utf-8"))) or ""
    assert "?" in doc.split("\n\n")[0], "open with the question"
    assert f"python -m experiments.{script.stem}" in doc, "give the command"
    assert re.search(r"^Answer\b", doc, re.MULTILINE), "give the answer, with the figures as recorded"
    assert re.search(r"^Date: \d{4}-\d{2}-\d{2}", doc, re.MULTILINE), "give the date (from git log)"


@pytest.mark.parametrize("script", experiment_scripts(), ids=lambda p: p.stem)
def test_experiments_write_to_their_results_folder_not_outputs(script):
    tree = ast.parse(script.read_text(encoding="utf-8"))
    skip = docstrings(tree)
    outputs = [
        ast.unparse(node)
        for node in ast.walk(tree)
        if (isinstance(node, ast.Attribute) and node.attr == "outputs")
        or (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in skip
            and re.search(r"(?<![\w-])outputs\b", node.value)
        )
    ]
    assert outputs == [], "experiments write to experiments/results/ (experiments.lab.save_result)"


def markdown_files() -> list[Path]:
    return sorted({p for pattern in MARKDOWN for p in PROJECT_ROOT.glob(pattern)})


def anchors(markdown: str) -> set[str]:
    """GitHub's anchors for a Markdown file's headings."""
    titles = re.findall(r"^#+\s+(.*)$", markdown, re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", title.lower()).replace(" ", "-") for title in titles}


@functools.cache
def committed_files() -> frozenset[Path]:
    """The files git tracks (none outside a git checkout): `make clean` deletes the committed
    figures of outputs/ that `make all` remakes, and a link to one stays good meanwhile."""
    try:
        listed = subprocess.run(
            ["git", "ls-files"], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return frozenset()
    return frozenset((PROJECT_ROOT / line).resolve() for line in listed.splitlines())


@pytest.mark.parametrize("path", markdown_files(), ids=lambda p: str(p.relative_to(PROJECT_ROOT)))
def test_markdown_links_lead_to_files_and_headings(path):
    text = re.sub(r"^```.*?^```", "", path.read_text(encoding="utf-8"), flags=re.MULTILINE | re.DOTALL)
    broken = []
    for target in LINK.findall(text):
        if re.match(r"[a-z]+:", target):  # https:, mailto:
            continue
        file, _, anchor = target.partition("#")
        linked = (path.parent / file).resolve() if file else path
        if not linked.exists():
            if linked not in committed_files():
                broken.append(target)
            continue
        if anchor and linked.suffix == ".md" and anchor not in anchors(linked.read_text(encoding="utf-8")):
            broken.append(f"{target} (no such heading)")
    assert broken == []
