"""What the experiments share: where their results go, a trained run's validation split, and the
errors that several networks make on it together."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

from helpers.artifacts import load_json, save_json
from helpers.config import PROJECT_ROOT, RunPaths, run_paths
from helpers.data import Split, load_mnist, relative_to_project, split_train_val

RESULTS = PROJECT_ROOT / "experiments" / "results"
"""Where every experiment writes its figures."""


def save_result(data: Any, name: str) -> Path:
    """Write `data` as experiments/results/NAME.json; its path."""
    path = RESULTS / f"{name}.json"
    save_json(data, path)
    print(f"wrote {relative_to_project(path)}")
    return path


def load_run_validation(argv: list[str] | None, description: str) -> tuple[RunPaths, Split]:
    """The run that `--run-dir` names (default: build/best) and the validation split its record names."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--run-dir", default="build/best", help="the run's root (default: build/best)")
    paths = run_paths(parser.parse_args(argv).run_dir)
    config = load_json(paths.record_file)["config"]
    mnist = load_mnist()
    split = split_train_val(
        mnist.x_train, mnist.y_train, val_fraction=config["val_fraction"], seed=config["seed"]
    )
    return paths, split


def count_shared_errors(member_probabilities: list[np.ndarray], labels: np.ndarray) -> dict[str, object]:
    """Errors of each member, of their mean, and of how many members miss each digit."""
    wrong = np.array([p.argmax(axis=1) != labels for p in member_probabilities])
    misses = wrong.sum(axis=0)
    return {
        "members": [int(n) for n in wrong.sum(axis=1)],
        "ensemble": int((np.mean(member_probabilities, axis=0).argmax(axis=1) != labels).sum()),
        "any": int((misses >= 1).sum()),
        "most": int((misses > len(wrong) / 2).sum()),
        "all": int((misses == len(wrong)).sum()),
    }


def find_shared_misses(member_probabilities: list[np.ndarray], labels: np.ndarray) -> list[dict[str, int]]:
    """The digits every member misses: index, label, and what the members' average reads."""
    wrong = np.all([p.argmax(axis=1) != labels for p in member_probabilities], axis=0)
    answers = np.mean(member_probabilities, axis=0).argmax(axis=1)
    return [
        {"index": int(i), "label": int(labels[i]), "answer": int(answers[i])} for i in np.flatnonzero(wrong)
    ]
