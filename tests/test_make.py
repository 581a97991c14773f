"""`make all` interrupted and run again, and a notebook that fails: the pipeline's side of
trustworthy runs. Each test drives the real Makefile in the quick profile into its own
RUN_DIR, so it never touches models/ or outputs/ (about 3 minutes in all)."""

import json
import os
import re
import signal
import subprocess
from pathlib import Path

import psutil
from conftest import PausePoint

from helpers.config import PROJECT_ROOT
from helpers.predict import load_model

NOTEBOOKS = ["01_explore", "02_train", "03_evaluate", "04_infer", "05_trust", "06_adapt", "07_search"]
TIMEOUT = 900  # seconds for one make run; the quick profile takes about 90


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


def executed(run_dir: Path, name: str) -> Path:
    """The executed copy of notebook `name` in a run."""
    return run_dir / "outputs" / "notebooks" / f"{name}.ipynb"


def started(output: str) -> list[str]:
    """Names of the notebooks make started, from the `==> NAME [PROFILE]` lines it printed."""
    names = [line.split()[1] for line in output.splitlines() if line.startswith("==> ")]
    return [name for name in names if name in NOTEBOOKS]  # not "==> report"


def test_interrupted_make_all_finishes_when_run_again(tmp_path, pause_point):
    run_dir = tmp_path / "run"
    model_file = run_dir / "models" / "best_model.keras"
    report = run_dir / "outputs" / "report.html"

    # 1. Ctrl-C in the middle of training (held after its first batch).
    code = interrupt_make(run_dir, pause_point("training"), "ctrl-c", tmp_path / "make.log")
    assert code != 0
    assert executed(run_dir, "01_explore").exists()
    assert not executed(run_dir, "02_train").exists()
    assert not model_file.exists() and not report.exists()
    explored = executed(run_dir, "01_explore").stat().st_mtime_ns

    # 2. Run again; cut the power (SIGKILL to everything) while 04_infer writes its first figure.
    first_figure = pause_point("writing preprocessing_steps.png")
    code = interrupt_make(run_dir, first_figure, "power-cut", tmp_path / "make.log")
    assert code == -signal.SIGKILL
    assert (run_dir / "outputs" / "notebooks" / "04_infer.running.ipynb").exists()
    assert started((tmp_path / "make.log").read_text()) == [
        "02_train",
        "03_evaluate",
        "04_infer",
    ]  # 01 was done: not redone
    assert not executed(run_dir, "04_infer").exists() and not report.exists()
    trained = executed(run_dir, "02_train").stat().st_mtime_ns
    # What the terminal showed: a line per epoch and the threshold while 02 trained, a start and
    # an end line per notebook, and none of TensorFlow's or Jupyter's start-up chatter.
    terminal = (tmp_path / "make.log").read_text()
    assert re.search(
        r"^    epoch  1/1  loss \d\.\d{4}  acc .* val_acc 0\.9\d{3} .* \d+\.\d s$", terminal, re.M
    )
    assert re.search(r"^    confidence threshold 0\.\d{3}: answers below it are flagged", terminal, re.M)
    for name in ("02_train", "03_evaluate"):
        assert re.search(rf"^    {name} done in \d+ s$", terminal, re.M), name
    for chatter in (
        "oneDNN",
        "absl::InitializeLog",
        "cpu_feature_guard",
        "without encryption",
        "Executing:",
        "Task was destroyed",
    ):
        assert chatter not in terminal, f"{chatter!r} reached the terminal"

    # 3. Run again: only what was unfinished runs, and the run is complete and sound.
    finished = run_make(run_dir, "all")
    assert finished.returncode == 0, finished.stderr[-3000:]
    assert started(finished.stdout) == ["04_infer", "05_trust", "06_adapt", "07_search"]
    closing = finished.stdout.strip().splitlines()[-1]
    assert re.fullmatch(
        rf"done: test accuracy \d\d\.\d\d% \(\d+ errors in 10,000\); report {run_dir}/outputs/report\.html; "
        r"[\d.]+ (s|min) in all",
        closing,
    ), closing
    assert executed(run_dir, "01_explore").stat().st_mtime_ns == explored
    assert executed(run_dir, "02_train").stat().st_mtime_ns == trained
    assert all(executed(run_dir, name).exists() for name in NOTEBOOKS)
    leftovers = sorted(p.name for p in (run_dir / "outputs" / "notebooks").glob("*.*.ipynb"))
    assert leftovers == []  # no .running or .failed copies
    metrics = json.loads((run_dir / "outputs" / "metrics.json").read_text())
    assert metrics["accuracy"] >= 0.85 and metrics["n_images"] == 10_000
    assert load_model(model_file).output_shape == (None, 10)
    page = report.read_text()
    assert "Test accuracy" in page and '<nav class="toc">' in page
    for machine_path in (str(PROJECT_ROOT), str(run_dir), str(tmp_path)):
        assert machine_path not in page  # no absolute path of this machine in the report

    # 4. And now it is done: another make runs nothing and changes nothing.
    again = run_make(run_dir, "all")
    assert again.returncode == 0 and started(again.stdout) == []
    assert executed(run_dir, "02_train").stat().st_mtime_ns == trained


def test_failing_notebook_stops_make_and_is_not_taken_as_done(tmp_path):
    run_dir = tmp_path / "run"
    notebooks = run_dir / "outputs" / "notebooks"
    for attempt in range(2):  # the second run must try 02 again, not take it as done
        failed = run_make(run_dir, "all", params="-p EPOCHS 0")
        assert failed.returncode != 0
        assert "FAILED: notebooks/02_train.ipynb" in failed.stderr
        assert started(failed.stdout) == (["01_explore", "02_train"] if attempt == 0 else ["02_train"])
        kept = (notebooks / "02_train.failed.ipynb").read_text()
        assert "epochs must be an integer >= 1, got 0" in kept
        assert sorted(p.name for p in notebooks.iterdir()) == ["01_explore.ipynb", "02_train.failed.ipynb"]
        assert not (run_dir / "models" / "best_model.keras").exists()
        assert not (run_dir / "outputs" / "report.html").exists()
