"""Does test-time augmentation help? Validation accuracy with and without it.

`python -m benchmarks.tta [--run-dir DIR]` (default: build/best, the `best`
profile's run) scores the run's model on the validation split its record names,
then the mean of its probabilities over the image and its 1-pixel shifts (4 and
8 of them). It reads only the validation split, so it may guide a choice.
"""

from __future__ import annotations

import argparse

import numpy as np

from helpers.artifacts import load_json
from helpers.config import RunPaths, run_paths
from helpers.data import Split, load_mnist, split_train_val
from helpers.predict import load_model, predict_probabilities
from helpers.train import score_probabilities

CROSS = [(1, 0), (-1, 0), (0, 1), (0, -1)]
DIAGONALS = [(1, 1), (1, -1), (-1, 1), (-1, -1)]


def shift_images(images: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """`images` (N, H, W, ...) moved by (dy, dx) pixels, filling with zeros (MNIST's background)."""
    out = np.zeros_like(images)
    h, w = images.shape[1:3]
    out[:, max(dy, 0) : h + min(dy, 0), max(dx, 0) : w + min(dx, 0)] = images[
        :, max(-dy, 0) : h + min(-dy, 0), max(-dx, 0) : w + min(-dx, 0)
    ]
    return out


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


def main(argv: list[str] | None = None) -> int:
    """Print validation accuracy without and with test-time shifts."""
    paths, split = load_run_validation(argv, __doc__.splitlines()[0])
    model = load_model(paths.model_file)
    views = {(0, 0): predict_probabilities(model, split.x_val)}
    for dy, dx in CROSS + DIAGONALS:
        views[(dy, dx)] = predict_probabilities(model, shift_images(split.x_val, dy, dx))

    def accuracy(shifts: list[tuple[int, int]]) -> str:
        return f"{score_probabilities(np.mean([views[s] for s in shifts], axis=0), split.y_val)[1]:.2%}"

    print(f"{paths.model_file}, validation split ({len(split.y_val):,} images):")
    print(f"  plain:                     {accuracy([(0, 0)])}")
    print(f"  + 4 one-pixel shifts:      {accuracy([(0, 0), *CROSS])}")
    print(f"  + 8 shifts (and diagonal): {accuracy(list(views))}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
