"""Write artifacts atomically (a temporary file beside the target, then a rename), and fingerprint them.

A crash or Ctrl-C mid-write leaves the previous file intact, never half a file.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from helpers.pausepoints import pause_here


def write_atomic(path: str | os.PathLike[str], write: Callable[[Path], None]) -> Path:
    """Call `write(tmp_path)` then rename the temporary file onto `path`."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=target.suffix, dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    tmp.chmod(0o666 & ~_current_umask())  # mkstemp makes it private; give it a normal file's mode
    try:
        write(tmp)
        pause_here(f"writing {target.name}")  # where tests cut the power mid-write
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def save_json(data: Any, path: str | os.PathLike[str]) -> None:
    """Write `data` as indented JSON, atomically."""
    text = json.dumps(data, indent=2, sort_keys=False, default=_to_jsonable) + "\n"
    write_atomic(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def load_json(path: str | os.PathLike[str]) -> Any:
    """Read a JSON file, naming the file in the error if it is missing or broken."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist; run the notebook that writes it first")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path} is not valid JSON ({exc}); rerun the step that writes it") from exc


def save_figure(figure: Any, path: str | os.PathLike[str], dpi: int = 110) -> None:
    """Save a matplotlib figure as PNG, atomically."""
    write_atomic(path, lambda tmp: figure.savefig(tmp, dpi=dpi, bbox_inches="tight", format="png"))


def _to_jsonable(value: Any) -> Any:
    """Convert numpy scalars and arrays, and paths, for json.dumps."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


def file_sha256(path: str | os.PathLike[str]) -> str:
    """The SHA-256 of a file's bytes, in hex, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
