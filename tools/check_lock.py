"""Does the lock install on every platform the course supports, and is it pyproject.toml's?
Checked offline, from uv.lock.

For each platform (Linux x86-64 and aarch64, macOS on Apple silicon, Windows x86-64) and each
Python (3.11.2 as Debian 12 has it, the latest 3.11, 3.12 and 3.13), follow the lock from the
project, with every extra and dependency group, through each package's markers, and check
that every package reached has a wheel that pip on such a machine accepts. Then compare the
requirements the lock was resolved from with those pyproject.toml declares now.

Run: python tools/check_lock.py  (a table of the cells; exits 1 if any fails or the two differ)
"""

from __future__ import annotations

import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging import tags
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name, parse_wheel_filename

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "uv.lock"
GLIBC_MINOR = 31
"""The oldest glibc a Linux wheel may need: 2.31 (Debian 11, Ubuntu 20.04); WSL2's Ubuntu has newer."""
MACOS = (13, 0)
"""The oldest macOS a wheel may need (Ventura; TensorFlow 2.21 needs 12)."""


@dataclass(frozen=True)
class Platform:
    """A kind of machine: its marker values and the wheel platform tags its pip accepts."""

    name: str
    sys_platform: str
    platform_system: str
    platform_machine: str
    os_name: str
    wheel_platforms: tuple[str, ...]


def manylinux(arch: str) -> tuple[str, ...]:
    """Linux wheel tags, newest glibc first, with the legacy aliases pip still accepts."""
    names = [f"manylinux_2_{minor}_{arch}" for minor in range(GLIBC_MINOR, 4, -1)]
    names.append(f"manylinux2014_{arch}")
    if arch == "x86_64":
        names += ["manylinux2010_x86_64", "manylinux1_x86_64"]
    return tuple(names)


PLATFORMS = (
    Platform("Linux x86-64", "linux", "Linux", "x86_64", "posix", manylinux("x86_64")),
    Platform("Linux aarch64", "linux", "Linux", "aarch64", "posix", manylinux("aarch64")),
    Platform("macOS arm64", "darwin", "Darwin", "arm64", "posix", tuple(tags.mac_platforms(MACOS, "arm64"))),
    Platform("Windows x86-64", "win32", "Windows", "AMD64", "nt", ("win_amd64",)),
)
PYTHONS = ("3.11.2", "3.11.14", "3.12.12", "3.13.9")
"""3.11.2 is Debian 12's; a package may need 3.11.5 or later, and the lock forks there."""


def environment(platform: Platform, python: str) -> dict[str, str]:
    """The marker environment of `python` on `platform` (PEP 508)."""
    return {
        "python_version": ".".join(python.split(".")[:2]),
        "python_full_version": python,
        "implementation_name": "cpython",
        "implementation_version": python,
        "platform_python_implementation": "CPython",
        "sys_platform": platform.sys_platform,
        "platform_system": platform.platform_system,
        "platform_machine": platform.platform_machine,
        "platform_release": "",
        "platform_version": "",
        "os_name": platform.os_name,
        "extra": "",
    }


def accepted_tags(platform: Platform, python: str) -> set[tags.Tag]:
    """The wheel tags pip accepts for CPython `python` on `platform`."""
    version = tuple(int(part) for part in python.split(".")[:2])
    interpreter = f"cp{version[0]}{version[1]}"
    return set(tags.cpython_tags(version, [interpreter], platform.wheel_platforms)) | set(
        tags.compatible_tags(version, interpreter, platform.wheel_platforms)
    )


def project_package(lock: dict[str, Any]) -> dict[str, Any]:
    """The lock's entry for this project (installed editable), whose dependencies start the walk."""
    return next(p for p in lock["package"] if "editable" in p.get("source", {}))


def applies(entry: dict[str, Any], env: dict[str, str]) -> bool:
    """Whether a dependency entry of the lock applies in `env`."""
    return "marker" not in entry or Marker(entry["marker"]).evaluate(env)


def installed_packages(lock: dict[str, Any], env: dict[str, str]) -> list[dict[str, Any]]:
    """The lock's packages that installing the project, every extra and group, reaches in `env`."""
    packages = lock["package"]
    root = project_package(lock)
    by_name: dict[str, list[dict[str, Any]]] = {}
    for package in packages:
        by_name.setdefault(canonicalize_name(package["name"]), []).append(package)

    def find(entry: dict[str, Any]) -> dict[str, Any]:
        candidates = by_name[canonicalize_name(entry["name"])]
        if "version" in entry:
            candidates = [p for p in candidates if p["version"] == entry["version"]]
        if len(candidates) != 1:
            raise ValueError(f"the lock names {entry} ambiguously or not at all")
        return candidates[0]

    def entries(package: dict[str, Any], extra: str) -> list[dict[str, Any]]:
        if not extra:
            return package.get("dependencies", [])
        return package.get("optional-dependencies", {}).get(extra, [])

    start = [e for extra in ["", *root.get("optional-dependencies", {})] for e in entries(root, extra)]
    start += [entry for group in root.get("dev-dependencies", {}).values() for entry in group]
    reached: dict[tuple[str, str], dict[str, Any]] = {}
    expanded: set[tuple[str, str, str]] = set()  # (name, version, extra); "" for the package itself
    pending = [entry for entry in start if applies(entry, env)]
    while pending:
        entry = pending.pop()
        package = find(entry)
        key = (package["name"], package["version"])
        reached[key] = package
        for extra in ["", *entry.get("extra", [])]:
            if (*key, extra) not in expanded:
                expanded.add((*key, extra))
                pending += [e for e in entries(package, extra) if applies(e, env)]
    return list(reached.values())


def has_wheel_for(package: dict[str, Any], accepted: set[tags.Tag]) -> bool:
    """Whether one of the package's wheels carries a tag in `accepted`."""
    for wheel in package.get("wheels", []):
        name = wheel["url"].rsplit("/", 1)[-1]
        if accepted & set(parse_wheel_filename(name)[3]):
            return True
    return False


def missing_wheels(lock: dict[str, Any], platform: Platform, python: str) -> list[str]:
    """'name==version' of each package the lock installs on `platform` with no wheel for it."""
    accepted = accepted_tags(platform, python)
    reached = installed_packages(lock, environment(platform, python))
    return sorted(f"{p['name']}=={p['version']}" for p in reached if not has_wheel_for(p, accepted))


def check(lock: dict[str, Any]) -> dict[tuple[str, str], list[str]]:
    """Every (platform, Python) cell with the packages it lacks a wheel for (empty: installable)."""
    return {(p.name, python): missing_wheels(lock, p, python) for p in PLATFORMS for python in PYTHONS}


def requirement_key(entry: dict[str, Any], extra: str) -> tuple[Any, ...]:
    """A requirement as (name, versions, extras, where its marker holds), the marker evaluated on
    every platform and Python checked, so that two spellings of one condition compare equal."""
    marker = Marker(entry["marker"]) if entry.get("marker") else None
    holds = tuple(
        marker is None or marker.evaluate(environment(p, python) | {"extra": extra})
        for p in PLATFORMS
        for python in PYTHONS
    )
    return (canonicalize_name(entry["name"]), str(SpecifierSet(entry.get("specifier", ""))),
            tuple(sorted(entry.get("extras", []))), holds)  # fmt: skip


def parsed(requirement: str) -> dict[str, Any]:
    """A PEP 508 string in the lock's own form: name, specifier, extras, marker."""
    req = Requirement(requirement)
    entry = {"name": req.name, "specifier": str(req.specifier), "extras": sorted(req.extras)}
    return entry | ({"marker": str(req.marker)} if req.marker else {})


def declared_requirements(pyproject: dict[str, Any]) -> set[tuple[str, tuple[Any, ...]]]:
    """(where, requirement_key) for what pyproject.toml declares: "" for the dependencies,
    "extra:NAME" for an optional set, "group:NAME" for a dependency group."""
    project = pyproject["project"]
    found = {("", requirement_key(parsed(r), "")) for r in project.get("dependencies", [])}
    for extra, requirements in project.get("optional-dependencies", {}).items():
        found |= {(f"extra:{extra}", requirement_key(parsed(r), extra)) for r in requirements}
    for group, requirements in pyproject.get("dependency-groups", {}).items():
        found |= {(f"group:{group}", requirement_key(parsed(r), "")) for r in requirements}
    return found


def locked_requirements(lock: dict[str, Any]) -> set[tuple[str, tuple[Any, ...]]]:
    """The same for the requirements uv.lock was resolved from (its project's metadata)."""
    metadata = project_package(lock)["metadata"]
    found = set()
    for entry in metadata.get("requires-dist", []):
        extra = next(
            (e for e in metadata.get("provides-extras", []) if f"extra == '{e}'" in entry.get("marker", "")),
            "",
        )
        found.add((f"extra:{extra}" if extra else "", requirement_key(entry, extra)))
    for group, entries in metadata.get("requires-dev", {}).items():
        found |= {(f"group:{group}", requirement_key(entry, "")) for entry in entries}
    return found


def lock_differences(pyproject: dict[str, Any], lock: dict[str, Any]) -> list[str]:
    """Each requirement pyproject.toml declares that the lock was not resolved from, and each the
    other way round (empty: the lock is pyproject's)."""
    declared, locked = declared_requirements(pyproject), locked_requirements(lock)
    return sorted(
        [
            f"pyproject.toml only: {where or 'dependencies'}: {key[0]}{key[1]}"
            for where, key in declared - locked
        ]
        + [f"uv.lock only: {where or 'dependencies'}: {key[0]}{key[1]}" for where, key in locked - declared]
    )


def main() -> int:
    """Print each platform's row, one cell per Python; 1 if any cell misses a wheel, or the lock
    is not pyproject.toml's."""
    lock = tomllib.loads(LOCK.read_text())
    differences = lock_differences(tomllib.loads((ROOT / "pyproject.toml").read_text()), lock)
    for line in differences:
        print(f"{line} (make lock)", file=sys.stderr)
    cells = check(lock)
    print(f"{'':16}" + "".join(f"{python:>12}" for python in PYTHONS))
    for platform in PLATFORMS:
        row = [cells[platform.name, python] for python in PYTHONS]
        print(f"{platform.name:16}" + "".join(f"{'ok' if not m else f'{len(m)} missing':>12}" for m in row))
    failed = {cell: missing for cell, missing in cells.items() if missing}
    for (platform_name, python), missing in failed.items():
        print(f"{platform_name}, Python {python}: no wheel for {', '.join(missing)}", file=sys.stderr)
    return 1 if failed or differences else 0


if __name__ == "__main__":
    sys.exit(main())
