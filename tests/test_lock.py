"""The dependencies: declared once in pyproject.toml, locked for every supported platform, and
installable there. Offline: uv.lock lists each package's files, so no registry is asked."""

import ast
import copy
import importlib.metadata
import shutil
import subprocess
import sys
import tomllib

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from helpers.config import PROJECT_ROOT
from tools import check_lock

UV = shutil.which("uv", path=str(PROJECT_ROOT / ".venv" / "bin")) or shutil.which("uv")


@pytest.fixture(scope="module")
def lock():
    return tomllib.loads(check_lock.LOCK.read_text())


@pytest.fixture(scope="module")
def pyproject():
    return tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())


def test_every_platform_and_python_has_a_wheel_for_every_package(lock):
    cells = check_lock.check(lock)
    assert len(cells) == 4 * 4  # Linux x86-64 and aarch64, macOS arm64, Windows x 3.11.2, 3.11, 3.12, 3.13
    assert {cell: missing for cell, missing in cells.items() if missing} == {}
    reached = {p["name"] for p in check_lock.installed_packages(lock, check_lock.environment(*_mac_312()))}
    assert {"tensorflow", "keras", "ai-edge-litert", "optuna", "psycopg-binary", "playwright"} <= reached
    assert "tensorflow-cpu" not in reached


def _mac_312() -> tuple[check_lock.Platform, str]:
    return next(p for p in check_lock.PLATFORMS if p.sys_platform == "darwin"), "3.12.12"


def test_a_linux_only_tensorflow_pin_fails_the_check(lock):
    """tensorflow-cpu has wheels for Linux x86-64 and Windows only: pinned for every platform,
    as it once was, the Mac and ARM Linux cells fail and the others pass."""
    broken = copy.deepcopy(lock)
    for entry in check_lock.project_package(broken)["dependencies"]:
        if entry["name"] == "tensorflow-cpu":
            del entry["marker"]
    failed = {
        cell for cell, missing in check_lock.check(broken).items() if "tensorflow-cpu==2.21.0" in missing
    }
    assert {platform for platform, _ in failed} == {"Linux aarch64", "macOS arm64"}
    assert len(failed) == 2 * len(check_lock.PYTHONS)


def test_debian_12s_python_gets_a_soupsieve_it_can_run(lock):
    """soupsieve 4.x needs Python 3.11.5; Debian 12 has 3.11.2, and the lock forks there."""
    linux = check_lock.PLATFORMS[0]

    def soupsieve(python: str) -> set[str]:
        reached = check_lock.installed_packages(lock, check_lock.environment(linux, python))
        return {p["version"] for p in reached if p["name"] == "soupsieve"}

    versions = {python: soupsieve(python) for python in ("3.11.2", "3.11.14")}
    assert versions["3.11.2"] != versions["3.11.14"] and len(versions["3.11.2"]) == 1


def test_the_lock_is_resolved_from_pyprojects_requirements(lock, pyproject):
    assert check_lock.lock_differences(pyproject, lock) == []
    changed = copy.deepcopy(pyproject)
    changed["project"]["dependencies"] = [
        "keras>=3.13" if r == "keras>=3.12" else r for r in changed["project"]["dependencies"]
    ]
    changed["dependency-groups"]["e2e"].append("pytest-playwright")
    changed["project"]["optional-dependencies"]["search"] = ["psycopg>=3.2"]  # without [binary]
    assert check_lock.lock_differences(changed, lock) == [
        "pyproject.toml only: dependencies: keras>=3.13",
        "pyproject.toml only: extra:search: psycopg>=3.2",
        "pyproject.toml only: group:e2e: pytest-playwright",
        "uv.lock only: dependencies: keras>=3.12",
        "uv.lock only: extra:search: psycopg>=3.2",
    ]


def test_a_marker_spelt_another_way_is_the_same_requirement(lock, pyproject):
    """uv records markers in its own order and form: the comparison is by what they select."""
    changed = copy.deepcopy(pyproject)
    linux_x86 = "(platform_machine == 'x86_64' and sys_platform == 'linux')"
    respelt = f"tensorflow-cpu>=2.21; sys_platform == 'win32' or {linux_x86}"
    changed["project"]["dependencies"] = [
        respelt if r.startswith("tensorflow-cpu") else r for r in changed["project"]["dependencies"]
    ]
    assert check_lock.lock_differences(changed, lock) == []


@pytest.mark.skipif(UV is None, reason="uv is not installed (make setup installs it)")
def test_uv_finds_the_lock_up_to_date_offline():
    command = [UV, "lock", "--check", "--offline", "--python", sys.executable]
    done = subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


@pytest.mark.skipif(UV is None, reason="uv is not installed (make setup installs it)")
@pytest.mark.parametrize(
    ("name", "selection"),
    [("requirements.txt", ["--all-extras"]), ("requirements-e2e.txt", ["--only-group", "e2e"])],
)
def test_the_requirements_files_are_the_lock_exported(name, selection):
    """What pip installs is exactly the lock: `make lock` writes both files from it."""
    command = [UV, "export", "--frozen", "--format", "requirements-txt", "--no-emit-project", *selection]
    done = subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, text=True, check=True)
    body = [line for line in (PROJECT_ROOT / name).read_text().splitlines() if not line.startswith("#")]
    assert body == [line for line in done.stdout.splitlines() if not line.startswith("#")]


def imported_packages(path) -> set[str]:
    """The top-level names a source file imports, wherever in the file."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_every_package_the_helpers_import_is_a_declared_dependency(pyproject):
    """`pip install .` gives a package whose every module imports: each distribution that
    helpers/ imports is a direct dependency (psycopg, for a shared search, is the `search` extra)."""
    declared = {canonicalize_name(Requirement(r).name) for r in pyproject["project"]["dependencies"]}
    optional = {
        canonicalize_name(Requirement(r).name)
        for extra in pyproject["project"]["optional-dependencies"].values()
        for r in extra
    }
    distributions = importlib.metadata.packages_distributions()
    imported = set().union(*(imported_packages(path) for path in (PROJECT_ROOT / "helpers").glob("*.py")))
    outside = imported - set(sys.stdlib_module_names) - {"helpers"}
    third_party = {canonicalize_name(dist) for name in outside for dist in distributions[name]}
    tensorflow = {"tensorflow", "tensorflow-cpu"}  # imported as tensorflow; which one is per platform
    assert third_party & tensorflow and "pillow" in third_party  # the mapping found them
    assert third_party - tensorflow - declared == {"psycopg"} and "psycopg" in optional
    assert {"tensorflow", "tensorflow-cpu"} <= declared
