"""Copy the outputs of `# NBVAL_CHECK_OUTPUT` cells from executed notebooks into the sources.

Every other output in the source notebooks is cleared, so git holds no stale
results, only the expected values nbval checks. Run after `make all PROFILE=quick`:

    python tools/store_checked_outputs.py build/quick/outputs/notebooks notebooks
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat

MARKER = "# NBVAL_CHECK_OUTPUT"


def store(executed: Path, source: Path) -> int:
    """Rewrite `source` keeping only its checked cells' outputs, taken from `executed`."""
    run = nbformat.read(executed, as_version=4)
    src = nbformat.read(source, as_version=4)
    by_code = {cell.source: cell for cell in run.cells if cell.cell_type == "code"}
    stored = 0
    for cell in src.cells:
        if cell.cell_type != "code":
            continue
        cell.execution_count = None
        cell.outputs = []
        cell.metadata.pop("execution", None)
        if cell.source.startswith(MARKER):
            ran = by_code.get(cell.source)
            if ran is None:
                raise SystemExit(f"{executed}: no executed cell matches a checked cell of {source}")
            cell.outputs = [o for o in ran.outputs if o.get("name") != "stderr"]
            cell.execution_count = ran.execution_count  # nbval skips "unrun" reference cells
            stored += 1
    nbformat.write(src, source)
    return stored


def main(argv: list[str]) -> int:
    """Store checked outputs for every notebook in the source folder."""
    executed_dir, source_dir = Path(argv[0]), Path(argv[1])
    for source in sorted(source_dir.glob("*.ipynb")):
        count = store(executed_dir / source.name, source)
        print(f"{source}: stored outputs of {count} checked cell(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
