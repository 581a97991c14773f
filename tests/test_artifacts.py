"""Tests of helpers.artifacts: JSON round trips, clear errors, atomic writes and file modes."""

import json
import os
import re
import stat
from pathlib import Path

import numpy as np
import pytest

from helpers.artifacts import load_json, save_figure, save_json, write_atomic


def test_json_round_trip_converts_numpy_values_and_paths(tmp_path):
    path = tmp_path / "out" / "record.json"
    save_json(
        {
            "int": np.int64(7),
            "float": np.float32(0.5),
            "array": np.arange(3),
            "bool": np.bool_(True),
            "path": Path("models/best_model.keras"),
            "nested": {"list": [1, "a", None]},
        },
        path,
    )
    assert load_json(path) == {
        "int": 7,
        "float": 0.5,
        "array": [0, 1, 2],
        "bool": True,
        "path": "models/best_model.keras",
        "nested": {"list": [1, "a", None]},
    }
    assert path.read_text().endswith("}\n")


def test_save_json_rejects_objects_it_cannot_write(tmp_path):
    with pytest.raises(TypeError, match="cannot write object to JSON"):
        save_json({"x": object()}, tmp_path / "bad.json")
    assert list(tmp_path.iterdir()) == []


def test_load_json_missing_file_names_it(tmp_path):
    missing = tmp_path / "metrics.json"
    with pytest.raises(FileNotFoundError, match=re.escape(str(missing)) + " does not exist"):
        load_json(missing)


def test_load_json_invalid_json_names_the_file(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('{"accuracy": 0.9', encoding="utf-8")
    with pytest.raises(ValueError, match=re.escape(str(path)) + " is not valid JSON"):
        load_json(path)


def test_write_atomic_keeps_old_file_when_writer_fails(tmp_path):
    target = tmp_path / "model.bin"
    target.write_bytes(b"old model")

    def half_write(tmp):
        tmp.write_bytes(b"half a new mo")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_atomic(target, half_write)
    assert target.read_bytes() == b"old model"
    assert [p.name for p in tmp_path.iterdir()] == ["model.bin"]


def test_write_atomic_replaces_and_returns_the_target(tmp_path):
    target = tmp_path / "sub" / "a.txt"
    assert write_atomic(target, lambda tmp: tmp.write_text("one")) == target
    write_atomic(target, lambda tmp: tmp.write_text("two"))
    assert target.read_text() == "two"
    assert [p.name for p in target.parent.iterdir()] == ["a.txt"]


def test_written_files_get_a_normal_mode(tmp_path):
    old = os.umask(0o022)
    try:
        save_json({"a": 1}, tmp_path / "a.json")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "a.json").stat().st_mode) == 0o644


def test_save_figure_writes_a_png(tmp_path):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(1, 1))
    ax.plot([0, 1], [0, 1])
    save_figure(fig, tmp_path / "fig.png", dpi=50)
    plt.close(fig)
    assert (tmp_path / "fig.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_saved_json_is_plain_indented_json(tmp_path):
    save_json({"b": 1, "a": [1, 2]}, tmp_path / "x.json")
    text = (tmp_path / "x.json").read_text()
    assert json.loads(text) == {"b": 1, "a": [1, 2]}
    assert text.startswith('{\n  "b": 1,')
