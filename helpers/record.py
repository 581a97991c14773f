"""A run in words and numbers: the run record (what was trained, on what, how well, how fast, on
which machine, with which libraries and commit), and sentences on its curves and threshold."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import platform
import subprocess
from pathlib import Path
from typing import Any

import numpy as np

from helpers.config import PROJECT_ROOT, TrainConfig
from helpers.data import Split
from helpers.evaluate import accuracy_interval
from helpers.models import count_parameters


def describe_threshold(threshold: dict[str, float]) -> str:
    """One line on the confidence threshold `choose_threshold` picked on validation."""
    return (
        f"confidence threshold {threshold['value']:.3f}: answers below it are flagged as unsure "
        f"({threshold['flagged_share']:.1%} of validation; {threshold['kept_accuracy']:.2%} right above it, "
        f"target {threshold['target_accuracy']:.1%})"
    )


def describe_curves(
    history: dict[str, list[float]],
    validation_images: int | None = None,
    *,
    augment: bool = True,
    dropout: float = 0.0,
) -> list[str]:
    """What a run's training curves show, in sentences computed from its history (and what made
    training the harder exam: `augment`, `dropout`).

    Memorising would show as validation loss turning up (by over 5% from its lowest)
    while training loss still falls; anything else is said as it is. With the size of
    the validation split, a gap between training and validation error is set against
    the 95% interval of the validation measurement, and the second half's change is
    counted in images.
    """
    loss, val_loss = np.asarray(history["loss"]), np.asarray(history["val_loss"])
    val_accuracy = np.asarray(history["val_accuracy"])
    error = 1 - val_accuracy
    epochs, below, lowest = len(loss), int((val_loss < loss).sum()), int(val_loss.argmin())
    sentences = [f"Validation loss is below training loss in {below} of {epochs} epochs."]
    if below > epochs / 2 and loss[-1] <= val_loss[-1]:
        sentences[0] += (
            f" By epoch {epochs} training loss ({loss[-1]:.4f}) has caught up with validation loss "
            f"({val_loss[-1]:.4f})."
        )
    noise = None
    if validation_images:
        low, high = accuracy_interval(float(val_accuracy[-1]), validation_images)
        noise = (high - low) / 2
    if "accuracy" in history:
        train_error = 1 - np.asarray(history["accuracy"])
        harder = int((train_error > error).sum())
        crossed = np.flatnonzero(train_error <= error)
        harder_exam = ", ".join([*(["augmented images"] * augment), *(["dropout on"] * (dropout > 0))])
        sentence = (
            f"Training error{f' ({harder_exam})' if harder_exam else ''} is above validation error in "
            f"{harder} of {epochs} epochs; after the last it is {train_error[-1]:.2%} against "
            f"{error[-1]:.2%} on validation"
        )
        if crossed.size:
            sentence += f", training having first come level at epoch {crossed[0] + 1}"
        if noise is not None and abs(train_error[-1] - error[-1]) <= noise:
            sentence += ": level, within the noise of the validation measurement."
        elif train_error[-1] < error[-1]:
            sentence += ": training has become the easier exam."
        else:
            sentence += "."
        sentences.append(sentence)
    if val_loss[-1] > 1.05 * val_loss[lowest] and loss[-1] < loss[lowest]:
        sentences.append(
            f"Validation loss was lowest at epoch {lowest + 1} and has risen since, while training "
            "loss kept falling: the model has begun to memorise the training set."
        )
    else:
        sentences.append(
            f"Validation loss is lowest at epoch {lowest + 1} of {epochs} and has not turned up: "
            "no sign of memorising in this run."
        )
    if epochs >= 4:
        half = epochs // 2
        sentences.append(
            f"Validation error fell from {error[0]:.2%} after epoch 1 to {error[half - 1]:.2%} after "
            f"epoch {half} and {error[-1]:.2%} after epoch {epochs}: the second half of the run "
            f"removed {1 - error[-1] / error[half - 1]:.0%} of the errors left at its midpoint."
        )
        if validation_images:
            change = float(val_accuracy[-1] - val_accuracy[half - 1])
            images = round(abs(change) * validation_images)
            sentences.append(
                f"That is a net {images:,} validation image{'s' * (images != 1)} "
                f"{'more' if change >= 0 else 'fewer'} read right ({change * 100:+.2f} points)."
            )
    return sentences


def make_record(
    config: TrainConfig,
    *,
    model: Any,
    history: dict[str, list[float]],
    val_metrics: dict[str, float],
    seconds: float,
    split: Split,
    data_sha256: str | None,
    model_file: Path,
    epochs_trained: int | None = None,
) -> dict[str, Any]:
    """Describe a run: what was trained, on what, how well, how fast, with which libraries.

    `epochs_trained` counts every epoch `seconds` paid for (all members of an
    ensemble); by default, the epochs of `history`.
    """
    epochs_run = len(history.get("loss", []))
    return {
        "config": config.to_dict(),
        "model": {
            "name": config.model,
            "parameters": count_parameters(model),
            "file": model_file.name,
            "file_bytes": model_file.stat().st_size,
        },
        "validation": val_metrics,
        "kept_epoch": kept_epoch(config, history) if epochs_run else None,
        "epochs_run": epochs_run,
        "train_seconds": round(seconds, 2),
        "seconds_per_epoch": round(seconds / max(epochs_trained or epochs_run, 1), 2),
        "history": history,
        "data": {"sha256": data_sha256, **split.sizes()},
        "versions": library_versions(),
        "git_commit": git_commit(),
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {"cpu_count": os.cpu_count(), "cpu": cpu_name(), "platform": platform.platform()},
    }


def kept_epoch(config: TrainConfig, history: dict[str, list[float]]) -> int:
    """The epoch (from 1) whose weights `make_callbacks`'s checkpoint keeps: the last with the
    one-cycle schedule, else the first with the highest validation accuracy."""
    if config.schedule == "onecycle":
        return len(history["loss"])
    return int(np.argmax(history["val_accuracy"])) + 1


def cpu_name() -> str:
    """The CPU's model name, as the system reports it."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    return platform.processor() or platform.machine()


def library_versions() -> dict[str, str]:
    """Versions of Python and the libraries that shape the results."""
    import keras
    import matplotlib
    import sklearn
    import tensorflow as tf

    return {
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": np.__version__,
        "scikit-learn": sklearn.__version__,
        "matplotlib": matplotlib.__version__,
    }


RUN_WRITES = ("models", "outputs")
"""Tracked folders that a run rewrites: changes there do not make a commit '-dirty'."""


def git_commit() -> str | None:
    """The current commit of the project, with '-dirty' if its tracked files differ from it outside
    `RUN_WRITES` (what `make all` itself rewrites); None outside git."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()

    try:
        commit = git("rev-parse", "HEAD")
        changed = git("status", "--porcelain", "--untracked-files=no", "--", ".",
                      *(f":(exclude){folder}" for folder in RUN_WRITES))  # fmt: skip
        return commit + ("-dirty" if changed else "")
    except (OSError, subprocess.SubprocessError):
        return None
