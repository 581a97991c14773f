"""`make setup` picks a Python that TensorFlow supports, or stops with one line saying how to get one.

Each test runs the real Makefile in a folder of its own, with a PATH holding only fake
interpreters (shell scripts that print a version) and the few tools the Makefile calls."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from helpers.config import PROJECT_ROOT

MAKE = shutil.which("make")
pytestmark = pytest.mark.skipif(MAKE is None or os.name != "posix", reason="needs make and a POSIX shell")


def fake_python(folder: Path, name: str, version: str) -> None:
    """An executable `name` that reports `version` as `sys.version_info` would, and does nothing else."""
    script = folder / name
    script.write_text(f"#!/bin/sh\necho {version}\n")
    script.chmod(0o755)


@pytest.fixture
def project(tmp_path):
    """A folder with the Makefile and the files `make setup` depends on, and an empty bin/ for PATH."""
    for name in ("Makefile", "requirements.txt", "pyproject.toml"):
        shutil.copy(PROJECT_ROOT / name, tmp_path / name)
    (tmp_path / "bin").mkdir()
    for tool in ("uname", "date", "id"):
        (tmp_path / "bin" / tool).symlink_to(shutil.which(tool))
    return tmp_path


def make_setup(project: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    """`make setup` in `project` with only project/bin on PATH."""
    env = {"PATH": str(project / "bin"), "HOME": str(project)}
    return subprocess.run(
        [MAKE, "--no-print-directory", *flags, "setup"], cwd=project, env=env, capture_output=True, text=True
    )


def test_only_an_unsupported_python_stops_setup_with_one_line(project):
    fake_python(project / "bin", "python3", "3.14.0")
    done = make_setup(project)
    assert done.returncode != 0
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert lines[0] == (
        "make setup: python3 is Python 3.14.0, and TensorFlow 2.21 supports Python 3.11-3.13: get one "
        "(uv python install 3.12, conda, pyenv or your system's python3.12 package), then run make setup "
        "again, or name it: make setup PYTHON=/path/to/python3.12"
    )
    assert all(line.startswith("make:") for line in lines[1:])  # make's own 'Error 1' line
    assert not (project / ".venv").exists()


def test_no_python_at_all_says_so(project):
    done = make_setup(project)
    assert done.returncode != 0 and "python3 is Python (not found), and TensorFlow" in done.stderr


def test_the_newest_supported_python_beside_it_is_used(project):
    fake_python(project / "bin", "python3", "3.14.0")
    fake_python(project / "bin", "python3.11", "3.11.9")
    fake_python(project / "bin", "python3.12", "3.12.8")
    fake_python(project / "bin", "python3.13", "3.14.0")  # a broken link to the wrong version
    done = make_setup(project, "--dry-run")
    assert done.returncode == 0, done.stderr
    assert "python3.12 -m venv .venv" in done.stdout.splitlines()


def test_python_named_on_the_command_line_wins(project):
    fake_python(project / "bin", "python3.12", "3.12.8")
    done = make_setup(project, "--dry-run", f"PYTHON={project / 'bin' / 'python3.12'}")
    assert f"{project / 'bin' / 'python3.12'} -m venv .venv" in done.stdout.splitlines()
