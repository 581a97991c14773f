"""What each chapter and the report depend on, read from the imports: notebooks/prerequisites.mk.

    python tools/prerequisites.py          # rewrite notebooks/prerequisites.mk (`make prerequisites`)
    python tools/prerequisites.py --check  # exit 1 if the file is not what the imports say

A chapter depends on every `helpers` module its code cells import, and on every module
those import in turn, counting imports inside functions (they run too). The Makefile
includes the file, so editing a module reruns exactly the chapters that can reach it;
tests/test_architecture.py fails when the committed file falls behind the code.
"""

from __future__ import annotations

import ast
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "helpers"
NOTEBOOKS = ROOT / "notebooks"
OUT = NOTEBOOKS / "prerequisites.mk"


def helpers_imported(source: str) -> set[str]:
    """The `helpers` modules that Python `source` imports, anywhere in it (module names, no package)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "helpers":
            parts = node.module.split(".")
            found |= {parts[1]} if len(parts) > 1 else {alias.name for alias in node.names}
        elif isinstance(node, ast.Import):
            found |= {a.name.split(".")[1] for a in node.names if a.name.startswith("helpers.")}
    return {name for name in found if (PACKAGE / f"{name}.py").is_file()}


def import_graph() -> dict[str, set[str]]:
    """Each `helpers` module -> the `helpers` modules it imports (itself excluded)."""
    return {
        path.stem: helpers_imported(path.read_text()) - {path.stem}
        for path in sorted(PACKAGE.glob("*.py"))
        if path.stem != "__init__"
    }


def reached(start: set[str], graph: dict[str, set[str]]) -> set[str]:
    """`start` and every module reachable from it through `graph`."""
    seen: set[str] = set()
    todo = list(start)
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(graph.get(name, ()))
    return seen


def notebook_code(path: Path) -> str:
    """A notebook's code cells as one Python source (IPython's `%` and `!` lines left out)."""
    cells = json.loads(path.read_text())["cells"]
    lines = [
        line
        for cell in cells
        if cell["cell_type"] == "code"
        for line in "".join(cell["source"]).splitlines()
        if not line.lstrip().startswith(("%", "!"))
    ]
    return "\n".join(lines)


def prerequisites() -> dict[str, list[str]]:
    """Each chapter's name, and `report`, -> the package files it depends on (`__init__.py` first)."""
    graph = import_graph()
    roots = {
        path.stem: helpers_imported(notebook_code(path))
        for path in sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    }
    roots["report"] = {"report"}
    return {
        name: ["helpers/__init__.py"] + [f"helpers/{module}.py" for module in sorted(reached(start, graph))]
        for name, start in roots.items()
    }


def render() -> str:
    """The text of notebooks/prerequisites.mk."""
    lines = [
        "# Written by tools/prerequisites.py (`make prerequisites`) from the imports. Do not edit.",
        "",
    ]
    for name, files in prerequisites().items():
        lines.append(f"PREREQUISITES_{name} := " + " \\\n\t".join(files))
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    """Write the file, or with --check say whether it is current."""
    text = render()
    if "--check" in argv:
        if OUT.is_file() and OUT.read_text() == text:
            return 0
        print(f"{OUT.relative_to(ROOT)} is out of date: run `make prerequisites`", file=sys.stderr)
        return 1
    OUT.write_text(text)
    print(f"wrote {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
