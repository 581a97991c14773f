"""`make clean` removes what `make all` and `make test` write, and nothing that takes another
target long to remake: the trained model, the benchmark, the search and its study, the best
profile's run, the browser screenshots. It runs the real Makefile in a folder of its own."""

import os
import shutil
import subprocess

import pytest

from helpers.config import PROJECT_ROOT

pytestmark = pytest.mark.skipif(shutil.which("make") is None or os.name != "posix", reason="needs make")

WRITTEN_BY_MAKE_ALL = [
    "outputs/metrics.json",
    "outputs/confusion_matrix.png",
    "outputs/report.html",
    "outputs/.train-args",
    "outputs/notebooks/02_train.ipynb",
    "build/quick/models/best_model.keras",
    "build/test/quick/outputs/report.html",
    "build/lib/helpers/train.py",
]
MADE_BY_OTHER_TARGETS = [
    "models/best_model.keras",
    "outputs/benchmarks.json",
    "outputs/benchmarks.md",
    "outputs/time_to_accuracy.png",
    "outputs/search.json",
    "outputs/browser/app_drawing_pad.png",
    "build/search/digits.db",
    "build/best/models/best_model.keras",
    "build/bench/seed_cnn/models/best_model.keras",
]


def test_make_clean_removes_what_make_all_writes_and_keeps_the_rest(tmp_path):
    shutil.copy(PROJECT_ROOT / "Makefile", tmp_path / "Makefile")
    for name in WRITTEN_BY_MAKE_ALL + MADE_BY_OTHER_TARGETS:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x")
    env = {k: v for k, v in os.environ.items() if k not in {"MAKEFLAGS", "MFLAGS", "MAKELEVEL"}}
    subprocess.run(
        ["make", "--no-print-directory", "clean"], cwd=tmp_path, env=env, check=True, capture_output=True
    )
    assert [name for name in WRITTEN_BY_MAKE_ALL if (tmp_path / name).exists()] == []
    assert [name for name in MADE_BY_OTHER_TARGETS if not (tmp_path / name).exists()] == []
