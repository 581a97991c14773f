"""The quick course, run once per test session for every test that needs it (`quick_course` in
conftest): the Makefile's own `make all PROFILE=quick`, the way users' runs go wrong and then
right. It is interrupted with Ctrl-C in the middle of training, run again and SIGKILLed (a power
cut) while 04_infer writes its first figure, then run again to the end. What each step left
behind is recorded for tests/test_make.py; the finished run is what the chapter and solution
tests (the rest of tests/test_make.py) read."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

import psutil
from conftest import PausePoint

from helpers.config import PROJECT_ROOT

NOTEBOOKS = ["01_explore", "02_train", "03_evaluate", "04_infer", "05_trust", "06_adapt", "07_search"]
TIMEOUT = 900  # seconds for one make run; the quick profile takes about 5 minutes on 2 cores
RUN_DIR = PROJECT_ROOT / "build" / "test" / "quick"


def make_command(run_dir: Path, *targets: str, params: str = "") -> list[str]:
    """The make command line of a quick run into `run_dir`."""
    return [
        "make",
        "--no-print-directory",
        *targets,
        "PROFILE=quick",
        f"RUN_DIR={run_dir}",
        f"PARAMS={params}",
    ]


def make_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment without the flags of a make that may be running these tests."""
    env = {k: v for k, v in os.environ.items() if k not in {"MAKEFLAGS", "MFLAGS", "MAKELEVEL"}}
    return env | (extra or {})


def run_make(run_dir: Path, *targets: str, params: str = "") -> subprocess.CompletedProcess[str]:
    """Run make to the end; return its exit code and output."""
    return subprocess.run(
        make_command(run_dir, *targets, params=params),
        cwd=PROJECT_ROOT,
        env=make_env(),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )


def interrupt_make(run_dir: Path, point: PausePoint, how: str, log: Path) -> int:
    """Start `make all`, let it run to `point` (where it waits), interrupt it `how`; return
    make's exit code. No clock decides the moment: the run itself says it is there.

    "ctrl-c" sends SIGINT to make's process group, as a terminal does. "power-cut" SIGKILLs
    make and every process under it (papermill and its kernel) at once: no cleanup runs.
    """
    with log.open("w") as output:
        process = subprocess.Popen(
            make_command(run_dir, "all"),
            cwd=PROJECT_ROOT,
            env=make_env(point.env),
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            # Ctrl-C as a terminal sends it: make starts with SIGINT handled by default, even
            # where this test runs under a shell that ignores it (a background job, `cmd &`).
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
        try:
            point.wait(alive=lambda: process.poll() is None, limit=TIMEOUT)
            if how == "ctrl-c":
                os.killpg(process.pid, signal.SIGINT)
                # The interrupt is delivered while the run is held; now let the held kernel go on,
                # so that papermill's cleanup never waits on it (make exits on SIGINT either way).
                point.release()
            else:
                tree = [process, *psutil.Process(process.pid).children(recursive=True)]
                for member in tree:
                    member.send_signal(signal.SIGKILL)
            return process.wait(timeout=300)
        finally:
            point.close()
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def started(output: str) -> list[str]:
    """Names of the notebooks make started, from the `==> NAME [PROFILE]` lines it printed."""
    names = [line.split()[1] for line in output.splitlines() if line.startswith("==> ")]
    return [name for name in names if name in NOTEBOOKS]  # not "==> report"


def executed(run_dir: Path, name: str) -> Path:
    """The executed copy of notebook `name` in a run."""
    return run_dir / "outputs" / "notebooks" / f"{name}.ipynb"


def files_under(folder: Path) -> dict[str, int]:
    """Every file under `folder` (relative path -> modification time in ns)."""
    return {
        str(p.relative_to(folder)): p.stat().st_mtime_ns for p in sorted(folder.rglob("*")) if p.is_file()
    }


@dataclass
class Step:
    """What one make run returned, printed and left behind."""

    code: int
    output: str
    files: dict[str, int]


@dataclass
class QuickCourse:
    """The shared quick run: its folder and the three steps that made it, then one more make."""

    run_dir: Path
    ctrl_c: Step
    power_cut: Step
    finished: Step
    finished_stderr: str
    again: Step


def run_quick_course(logs: Path, run_dir: Path = RUN_DIR) -> QuickCourse:
    """Run the quick course from nothing into `run_dir`, interrupted twice on the way."""
    shutil.rmtree(run_dir, ignore_errors=True)
    steps = []
    for point, how in (("training", "ctrl-c"), ("writing preprocessing_steps.png", "power-cut")):
        log = logs / f"{how}.log"
        code = interrupt_make(run_dir, PausePoint(point), how, log)
        steps.append(Step(code, log.read_text(), files_under(run_dir)))
    finished = run_make(run_dir, "all")
    done = Step(finished.returncode, finished.stdout, files_under(run_dir))
    again = run_make(run_dir, "all")
    return QuickCourse(
        run_dir, *steps, done, finished.stderr, Step(again.returncode, again.stdout, files_under(run_dir))
    )
