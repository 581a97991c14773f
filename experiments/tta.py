"""Does test-time augmentation help? Validation accuracy with and without it.

Command: `python -m experiments.tta [--run-dir DIR]` (default: build/best, the `best` profile's
run). It scores the run's model on the validation split its record names, then the mean of its
probabilities over the image and its 1-pixel shifts (4 and 8 of them), and writes
experiments/results/tta.json. It reads only the validation split, so it may guide a choice.

Answer: no. The single default model of 2026-11-27 read 99.50% plain, 99.47% with four 1-pixel
shifts and 99.45% with eight; the `best` ensemble of 2026-12-06 (five members of the searched
recipe) went from 99.55% to 99.52%. Neither profile averages over shifts.

Date: 2026-11-25, last run 2026-12-06.
"""

from __future__ import annotations

import numpy as np

from experiments.lab import load_run_validation, save_result
from helpers.data import relative_to_project
from helpers.evaluate import score
from helpers.predict import load_model, predict_probabilities

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


def main(argv: list[str] | None = None) -> int:
    """Print and save validation accuracy without and with test-time shifts."""
    paths, split = load_run_validation(argv, __doc__.splitlines()[0])
    model = load_model(paths.model_file)
    views = {(0, 0): predict_probabilities(model, split.x_val)}
    for dy, dx in CROSS + DIAGONALS:
        views[(dy, dx)] = predict_probabilities(model, shift_images(split.x_val, dy, dx))

    def accuracy(shifts: list[tuple[int, int]]) -> float:
        return score(np.mean([views[s] for s in shifts], axis=0), split.y_val).accuracy

    results = {
        "model": relative_to_project(paths.model_file),
        "validation_images": len(split.y_val),
        "plain": accuracy([(0, 0)]),
        "four_shifts": accuracy([(0, 0), *CROSS]),
        "eight_shifts": accuracy(list(views)),
    }
    print(f"{results['model']}, validation split ({len(split.y_val):,} images):")
    print(f"  plain:                     {results['plain']:.2%}")
    print(f"  + 4 one-pixel shifts:      {results['four_shifts']:.2%}")
    print(f"  + 8 shifts (and diagonal): {results['eight_shifts']:.2%}")
    save_result(results, "tta")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
