"""Write the shipped sample images, data/samples/, from MNIST test digits (data/README.md says how).

    .venv/bin/python tools/make_samples.py [FOLDER]   # default: data/samples

The same seed gives the same bytes; tests/test_samples.py checks the names match the shipped files.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np

from helpers.config import PROJECT_ROOT
from helpers.data import load_mnist
from helpers.samples import SAMPLE_INDICES, render_on_canvas, render_on_paper


def make_samples(
    x_test: np.ndarray, y_test: np.ndarray, folder: str | os.PathLike[str], seed: int = 7
) -> list[Path]:
    """Write the shipped sample images to `folder`; the file name starts with the true digit."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    written = []
    for n, index in enumerate(SAMPLE_INDICES):
        label = int(y_test[index])
        if n == len(SAMPLE_INDICES) - 1:
            image, name = render_on_canvas(x_test[index]), f"{label}_canvas.png"
        else:
            ink = "blue" if n % 2 else "black"
            offset = tuple(rng.uniform(-0.12, 0.12, size=2))
            image = render_on_paper(
                x_test[index], rng, ink=ink, rotate=float(rng.uniform(-8, 8)), offset=offset
            )
            name = f"{label}_{ink}_ink.jpg"
        path = folder / name
        image.save(path, quality=85) if path.suffix == ".jpg" else image.save(path, optimize=True)
        written.append(path)
    return written


def main(argv: list[str]) -> int:
    """Write the samples to FOLDER (default data/samples) and list them."""
    mnist = load_mnist()
    for path in make_samples(
        mnist.x_test, mnist.y_test, argv[0] if argv else PROJECT_ROOT / "data" / "samples"
    ):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
