"""How `make all` talks to the terminal: progress lines from the kernel (helpers.progress), start-up
chatter held back and real warnings let through (helpers.course)."""

import json
import os
import socket
import subprocess
import sys
import tempfile

import pytest

from helpers import course, progress
from helpers.artifacts import save_json
from helpers.config import run_paths

TF_START_UP = (
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
    "I0000 00:00:1796187868.071416    2352 port.cc:153] oneDNN custom operations are on. You may see "
    "slightly different numerical results.\n"
    "I0000 00:00:1796187869.762280    2352 cpu_feature_guard.cc:210] This TensorFlow binary is optimized.\n"
    "To enable the following instructions: AVX2 FMA, in other operations, rebuild TensorFlow with flags.\n"
    "[IPKernelApp] WARNING | Kernel is running over TCP without encryption. All communication is plain.\n"
    "Task was destroyed but it is pending!\n"
    "task: <Task pending name='Task-48' coro=<Kernel.dispatch_control() running at /x/kernelbase.py:372> "
    "wait_for=<Future pending cb=[Task.task_wakeup()]>>\n"
)
REAL = (
    "W0000 00:00:1796187870.1 2352 op_level_cost_estimator.cc:699] a real TensorFlow warning\n"
    "UserWarning: something the learner should see\n"
    "Traceback (most recent call last):\n"
)


def test_say_reaches_the_listener_in_order_and_is_silent_without_one(monkeypatch):
    monkeypatch.delenv(progress.ENV, raising=False)
    progress.say("nobody listens")  # no error, no output
    heard = []
    with tempfile.TemporaryDirectory() as folder:
        address = os.path.join(folder, "progress")
        with progress.listening(address, heard.append):
            monkeypatch.setenv(progress.ENV, address)
            for epoch in range(1, 4):
                progress.say(f"epoch {epoch}/3")
        assert not os.path.exists(address)
    assert heard == ["epoch 1/3", "epoch 2/3", "epoch 3/3"]
    progress.say("the listener has gone")  # still no error


def test_without_unix_sockets_nothing_listens_and_say_is_silent(monkeypatch, tmp_path):
    """Python on Windows has no AF_UNIX: the course runs on, without progress lines."""
    monkeypatch.delattr(socket, "AF_UNIX")
    address = str(tmp_path / "progress")
    with progress.listening(address, pytest.fail):
        monkeypatch.setenv(progress.ENV, address)
        progress.say("epoch 1/3")
    assert not (tmp_path / "progress").exists()


def test_quiet_stderr_drops_start_up_chatter_from_children_and_keeps_the_rest(capfd):
    script = f"import sys; sys.stderr.write({TF_START_UP + REAL!r})"
    with course.quiet_stderr():
        subprocess.run([sys.executable, "-c", script], check=True)
        os.write(2, b"this process's own warning\n")  # through fd 2, as the kernel's lines come
    err = capfd.readouterr().err
    assert err == REAL + "this process's own warning\n"


def test_the_closing_line_gives_accuracy_errors_report_and_time(tmp_path):
    paths = run_paths(tmp_path).ensure()
    save_json({"accuracy": 0.995, "errors": 50, "n_images": 10_000}, paths.metrics_file)
    line = course.summary_line(str(tmp_path), since=0.0)
    assert line.startswith("done: test accuracy 99.50% (50 errors in 10,000); report ")
    assert line.split("; report ")[1].split(";")[0].endswith("outputs/report.html")
    assert line.endswith(" min in all")
    assert course.format_seconds(42.4) == "42 s" and course.format_seconds(204) == "3.4 min"


def test_the_executed_notebook_loses_the_start_up_lines_and_keeps_real_stderr(tmp_path):
    import nbformat

    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("import tensorflow", outputs=[
            nbformat.v4.new_output("stream", name="stderr", text=TF_START_UP)]),
        nbformat.v4.new_code_cell("warn()", outputs=[
            nbformat.v4.new_output("stream", name="stderr", text=TF_START_UP + REAL),
            nbformat.v4.new_output("stream", name="stdout", text="printed\n")]),
    ])  # fmt: skip
    path = tmp_path / "chapter.ipynb"
    nbformat.write(notebook, path)
    course.strip_noise(path)
    cells = nbformat.read(path, as_version=4).cells
    assert cells[0].outputs == []
    assert [(o["name"], o["text"]) for o in cells[1].outputs] == [("stderr", REAL), ("stdout", "printed\n")]


def test_chapters_record_their_time_and_the_kernels_peak_memory(tmp_path):
    out = tmp_path / "outputs" / "notebooks"
    out.mkdir(parents=True)
    course.record_chapter(out, "01_explore", 8.04, "quick")
    course.record_chapter(out, "02_train", 40.0, "quick")
    saved = json.loads((tmp_path / "outputs" / "course.json").read_text())
    assert saved["profile"] == "quick" and list(saved["chapters"]) == ["01_explore", "02_train"]
    assert saved["chapters"]["01_explore"]["seconds"] == 8.0
    if os.name == "posix":  # a number where the system reports it (0 until a child has ended)
        assert saved["chapters"]["01_explore"]["peak_mb"] is not None
    course.record_chapter(out, "02_train", 400.0, "default")  # another profile starts afresh
    assert list(json.loads((tmp_path / "outputs" / "course.json").read_text())["chapters"]) == ["02_train"]


def test_make_test_records_its_time_once_every_test_passed(tmp_path, monkeypatch):
    monkeypatch.setattr(course, "run_paths", lambda: run_paths(tmp_path))
    said = course.record_tests(since=course.time.time() - 125)
    assert said.startswith("make test: every test passed in 2.1 min")
    saved = json.loads((tmp_path / "outputs" / "tests.json").read_text())
    assert 125 <= saved["seconds"] < 135 and saved["cpu_count"] == os.cpu_count()
