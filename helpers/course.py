"""The course's notebooks, and how `make all` runs each one.

`python -m helpers.course run NAME --out DIR [papermill options]` executes
notebooks/NAME.ipynb with papermill into DIR/NAME.ipynb. The terminal gets a line
when the notebook starts and when it ends, with its time, and, in between, the lines
its kernel sends with `helpers.progress.say` (one per training epoch, the confidence
threshold). TensorFlow's and Jupyter's start-up chatter is held back; every other
warning or error still reaches the terminal. The executed copy lands as NAME.ipynb only
when the notebook succeeds: while it runs it is NAME.running.ipynb, and a failed run is
kept as NAME.failed.ipynb, so make never mistakes an unfinished notebook for a done one.

`python -m helpers.course summary --run-dir DIR --since SECONDS` prints the line a run
ends with: test accuracy, errors, the report's path and the time since SECONDS (epoch).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from helpers.config import PROJECT_ROOT, run_paths
from helpers.data import relative_to_project
from helpers.progress import ENV, listening

NOTEBOOKS = ("01_explore", "02_train", "03_evaluate", "04_infer", "05_trust", "06_adapt", "07_search")
"""The chapters, in the order they run."""
NOTEBOOK_DIR = PROJECT_ROOT / "notebooks"

NOISE = re.compile(
    "|".join(
        [
            r"^WARNING: All log messages before absl::InitializeLog\(\) is called",
            r"^I\d{4} [\d:. ]+\d+ \S+\.cc:\d+\]",  # TensorFlow's C++ INFO lines (oneDNN, CPU features)
            r"^To enable the following instructions: .* rebuild TensorFlow",  # the CPU-features line's tail
            r"Kernel is running over TCP without encryption",
            # asyncio's note when the kernel exits with its control-channel task still waiting
            r"^Task was destroyed but it is pending!",
            r"^task: <Task pending name='Task-\d+' coro=<Kernel\.dispatch_control\(\)",
            r"^\s*$",
        ]
    )
)
"""Start-up lines that say nothing to a learner. C++ warnings (W...) and errors (E...) pass."""


@contextlib.contextmanager
def quiet_stderr(noise: re.Pattern[str] = NOISE) -> Iterator[None]:
    """Pass what this process and its children (the kernel) write to stderr on, line by line,
    minus the lines `noise` matches."""
    sys.stderr.flush()
    original = os.dup(2)
    read_end, write_end = os.pipe()
    os.dup2(write_end, 2)
    os.close(write_end)

    def pump() -> None:
        with os.fdopen(read_end, "rb") as pipe, os.fdopen(os.dup(original), "wb", buffering=0) as out:
            for line in pipe:
                if not noise.search(line.decode("utf-8", "replace")):
                    out.write(line)

    thread = threading.Thread(target=pump, daemon=True)
    thread.start()
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(original, 2)  # the pipe ends once the kernel, its other writer, has gone too
        os.close(original)
        thread.join(timeout=10)


def strip_noise(path: Path, noise: re.Pattern[str] = NOISE) -> None:
    """Remove the lines `noise` matches from an executed notebook's stderr outputs (TensorFlow's
    start-up lines, which the kernel captures too), and the outputs that leaves empty."""
    import nbformat

    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        kept = []
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream" and output.get("name") == "stderr":
                lines = output["text"].splitlines(keepends=True)
                output["text"] = "".join(line for line in lines if not noise.search(line))
                if not output["text"]:
                    continue
            kept.append(output)
        if cell.cell_type == "code":
            cell.outputs = kept
    nbformat.write(notebook, path)


def say_indented(line: str) -> None:
    """Print a progress line from the kernel, indented under its notebook's start line."""
    print(f"    {line}", flush=True)


def format_seconds(seconds: float) -> str:
    """'42 s' under two minutes, else '3.4 min'."""
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def child_peak_mb() -> float | None:
    """The peak resident memory of the largest child process that has ended (a chapter's kernel),
    in MB; None where the system does not say (Windows outside WSL)."""
    try:
        import resource
    except ImportError:
        return None
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # KB on Linux, bytes on macOS
    return round(peak / (2**20 if sys.platform == "darwin" else 2**10), 1)


def record_chapter(out_dir: Path, name: str, seconds: float, profile: str) -> None:
    """Add a chapter's time and its kernel's peak memory to the run's outputs/course.json."""
    from helpers.artifacts import load_json, save_json

    file = out_dir.parent / "course.json"
    course = load_json(file) if file.is_file() else {}
    if course.get("profile") != profile or course.get("cpu_count") != os.cpu_count():
        course = {"profile": profile, "cpu_count": os.cpu_count(), "chapters": {}}
    course["chapters"][name] = {"seconds": round(seconds, 1), "peak_mb": child_peak_mb()}
    save_json(course, file)


def run_notebook(name: str, out_dir: Path, papermill_args: Sequence[str], profile: str = "default") -> int:
    """Execute notebooks/NAME.ipynb into OUT_DIR/NAME.ipynb with papermill; return 0 or 1."""
    from papermill.cli import papermill as papermill_cli
    from papermill.exceptions import PapermillExecutionError

    out_dir.mkdir(parents=True, exist_ok=True)
    done, running = out_dir / f"{name}.ipynb", out_dir / f"{name}.running.ipynb"
    failed = out_dir / f"{name}.failed.ipynb"
    failed.unlink(missing_ok=True)
    print(f"==> {name} [{profile}]", flush=True)
    began = time.perf_counter()
    error = None
    args = [
        str(NOTEBOOK_DIR / f"{name}.ipynb"), str(running), "--cwd", str(NOTEBOOK_DIR),
        "--log-level", "WARNING", "--no-progress-bar", *papermill_args,
    ]  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="digits-") as folder:
        address = str(Path(folder) / "progress")
        with listening(address, say_indented), quiet_stderr():
            os.environ[ENV] = address
            try:
                papermill_cli.main(args=args, standalone_mode=False)
            except PapermillExecutionError as exc:
                error = f"cell {exc.exec_count}: {exc.ename}: {exc.evalue}"
            except KeyboardInterrupt:
                error = "interrupted"
            except Exception as exc:  # a notebook that cannot start: a bad path or parameter
                error = f"{type(exc).__name__}: {exc}"
            finally:
                os.environ.pop(ENV, None)
    if error is not None:
        done.unlink(missing_ok=True)
        if running.exists():
            running.replace(failed)
        print(
            f"FAILED: notebooks/{name}.ipynb ({error}); the executed copy is {relative_to_project(failed)}",
            file=sys.stderr,
            flush=True,
        )
        return 1
    strip_noise(running)
    running.replace(done)
    seconds = time.perf_counter() - began
    record_chapter(out_dir, name, seconds, profile)
    print(f"    {name} done in {format_seconds(seconds)}", flush=True)
    return 0


def summary_line(run_dir: str, since: float) -> str:
    """The line a run ends with: test accuracy and errors, the report, the time taken."""
    from helpers.artifacts import load_json

    paths = run_paths(run_dir)
    metrics = load_json(paths.metrics_file)
    report = relative_to_project(paths.outputs / "report.html")
    return (
        f"done: test accuracy {metrics['accuracy']:.2%} ({metrics['errors']} errors in "
        f"{metrics['n_images']:,}); report {report}; {format_seconds(time.time() - since)} in all"
    )


def record_tests(since: float) -> str:
    """Write how long `make test` took to outputs/tests.json (the README quotes it); say it."""
    from helpers.artifacts import save_json

    seconds = time.time() - since
    save_json({"seconds": round(seconds), "cpu_count": os.cpu_count()}, run_paths().outputs / "tests.json")
    return f"make test: every test passed in {format_seconds(seconds)}"


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m helpers.course run NAME --out DIR ...`, `... summary --run-dir DIR --since T` or
    `... tests --since T`."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="execute one notebook with papermill")
    run.add_argument("name", choices=NOTEBOOKS)
    run.add_argument("--out", required=True, help="folder of the executed notebooks")
    run.add_argument("--profile", default="default", help="the profile's name, for the start line")
    summary = commands.add_parser("summary", help="print the line a run ends with")
    summary.add_argument("--run-dir", default="")
    summary.add_argument("--since", type=float, required=True, help="when the run began (Unix time)")
    tests = commands.add_parser("tests", help="record how long `make test` took")
    tests.add_argument("--since", type=float, required=True, help="when make test began (Unix time)")
    args, papermill_args = parser.parse_known_args(argv)
    if args.command == "run":
        return run_notebook(args.name, Path(args.out), papermill_args, args.profile)
    if papermill_args:
        parser.error(f"unrecognized arguments: {' '.join(papermill_args)}")
    print(record_tests(args.since) if args.command == "tests" else summary_line(args.run_dir, args.since))
    return 0


if __name__ == "__main__":
    sys.exit(main())
