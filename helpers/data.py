"""Find, verify and load MNIST; carve the validation split; scale pixels.

Labels stay integers 0-9 (not one-hot): the models train with sparse
categorical cross-entropy, which needs 10x less label memory and lets
scikit-learn's metrics take the labels as they are.
"""

from __future__ import annotations

import csv
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from helpers.artifacts import file_sha256
from helpers.config import PROJECT_ROOT

KNOWN_SHA256 = "06af5dfe73b70e3bc1c36439982b18a8d76803db9b544f6fdf838a37fbb01b64"
"""sha256 of the canonical Keras-layout mnist.npz (see data/README.md)."""

DEFAULT_NPZ = PROJECT_ROOT / "data" / "mnist.npz"
ENV_VAR = "MNIST_NPZ"
EXPECTED_SHAPES = {
    "x_train": (60000, 28, 28),
    "y_train": (60000,),
    "x_test": (10000, 28, 28),
    "y_test": (10000,),
}


class DataError(RuntimeError):
    """MNIST could not be found or is not what it should be."""


@dataclass(frozen=True)
class Mnist:
    """The raw MNIST arrays (uint8) and where they came from."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str
    sha256: str | None


@dataclass(frozen=True)
class Split:
    """Model-ready arrays: float32 images (N, 28, 28, 1) in [0, 1] and int labels."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray

    def sizes(self) -> dict[str, int]:
        """Number of images in each part."""
        return {"train": len(self.y_train), "validation": len(self.y_val)}


def find_mnist(path: str | os.PathLike[str] | None = None) -> Path | None:
    """Return the first MNIST file that exists: `path`, $MNIST_NPZ, data/mnist.npz.

    An explicit `path` or $MNIST_NPZ that does not exist is an error, not a
    reason to look elsewhere. Returns None when only the Keras download is left.
    """
    for origin, candidate in (("path argument", path), (ENV_VAR, os.environ.get(ENV_VAR))):
        if candidate:
            found = Path(candidate).expanduser()
            if not found.is_file():
                raise DataError(f"MNIST file given by {origin} does not exist: {found}")
            return found
    return DEFAULT_NPZ if DEFAULT_NPZ.is_file() else None


def load_mnist(path: str | os.PathLike[str] | None = None, *, verify: bool = True) -> Mnist:
    """Load MNIST from the first place `find_mnist` finds, else Keras's download."""
    found = find_mnist(path)
    if found is not None:
        sha, source = file_sha256(found), relative_to_project(found)
        if verify and sha != KNOWN_SHA256:
            warnings.warn(
                f"{found}: sha256 {sha[:12]}... is not the known MNIST file "
                f"({KNOWN_SHA256[:12]}...); checking its contents instead",
                stacklevel=2,
            )
        arrays = read_npz(found)
    else:
        arrays, sha, source = _download_with_keras(), None, "keras.datasets.mnist"
    if verify:
        check_arrays(arrays, source)
    return Mnist(**arrays, source=source, sha256=sha)


def read_npz(path: Path) -> dict[str, np.ndarray]:
    """The four MNIST arrays of a Keras-layout .npz file; a DataError says what is wrong with it."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            missing = sorted(set(EXPECTED_SHAPES) - set(npz.files))
            if missing:
                raise DataError(f"{path}: missing arrays {missing}; expected Keras's MNIST layout")
            return {key: npz[key] for key in EXPECTED_SHAPES}
    except DataError:
        raise
    except Exception as exc:  # zipfile.BadZipFile, ValueError, OSError, EOFError
        raise DataError(f"{path}: cannot read as .npz ({exc}); replace it with a good copy") from exc


def _download_with_keras() -> dict[str, np.ndarray]:
    try:
        from keras.datasets import mnist

        (x_train, y_train), (x_test, y_test) = mnist.load_data()
    except Exception as exc:
        raise DataError(
            "MNIST not found. Looked for: a path argument, the MNIST_NPZ environment "
            f"variable, {DEFAULT_NPZ}, then Keras's download, which failed ({exc}). "
            "Copy mnist.npz (Keras layout) to data/mnist.npz or set MNIST_NPZ to its path."
        ) from exc
    return {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}


def check_arrays(arrays: dict[str, np.ndarray], source: str) -> None:
    """Raise DataError unless shapes, dtypes and labels are MNIST's."""
    for key, shape in EXPECTED_SHAPES.items():
        array = arrays[key]
        if array.shape != shape:
            raise DataError(f"{source}: {key} has shape {array.shape}, expected {shape}")
        if array.dtype != np.uint8:
            raise DataError(f"{source}: {key} has dtype {array.dtype}, expected uint8")
    for key in ("y_train", "y_test"):
        labels = np.unique(arrays[key])
        if not set(labels.tolist()) <= set(range(10)):
            raise DataError(f"{source}: {key} holds labels outside 0-9: {labels.tolist()}")


def scale_images(images: np.ndarray) -> np.ndarray:
    """Turn uint8 (N, 28, 28) images into float32 (N, 28, 28, 1) in [0, 1]."""
    if images.ndim == 2:
        images = images[None]
    return (images.astype(np.float32) / 255.0)[..., None]


def split_train_val(
    x: np.ndarray,
    y: np.ndarray,
    *,
    val_fraction: float = 0.1,
    seed: int = 42,
    train_subset: int = 0,
) -> Split:
    """Carve a stratified validation split from the training set, fixed by `seed`.

    `train_subset` > 0 keeps only that many training images (also stratified),
    for quick runs; the validation split keeps its full size.
    """
    from sklearn.model_selection import train_test_split

    idx_train, idx_val = train_test_split(
        np.arange(len(y)), test_size=val_fraction, stratify=y, random_state=seed
    )
    if train_subset > len(idx_train):
        raise ValueError(
            f"train_subset must be at most {len(idx_train)} (the training split), got {train_subset}"
        )
    if 0 < train_subset < len(idx_train):
        idx_train, _ = train_test_split(
            idx_train, train_size=train_subset, stratify=y[idx_train], random_state=seed
        )
    return Split(
        x_train=scale_images(x[idx_train]),
        y_train=y[idx_train].astype(np.int64),
        x_val=scale_images(x[idx_val]),
        y_val=y[idx_val].astype(np.int64),
    )


# --- digits by other writers, for checking the path from a user's image to a prediction ---------------

SEMEION_NPZ = PROJECT_ROOT / "data" / "semeion.npz"
REAL_DEV_DIR = PROJECT_ROOT / "data" / "real_dev"
"""The real_dev images whose licence allows shipping them (80 canvas drawings; data/README.md)."""
SHARED_REAL_DEV_DIR = PROJECT_ROOT.parent / "shared" / "data" / "real_dev"
"""All 251 real_dev images, photos included, where the development machines keep them."""


@dataclass(frozen=True)
class DigitSet:
    """Labelled digit images from outside MNIST: files or arrays, each with its label and kind."""

    name: str
    sources: list[Any]
    labels: np.ndarray
    kinds: list[str]

    def __len__(self) -> int:
        """Number of images."""
        return len(self.labels)


SEMEION_FIRST_HALF = 800
"""Semeion's first four rounds of 0-9, by file position: the half adaptation recipes are chosen on
(the other half is 06_adapt's held-out report)."""


def load_semeion(path: str | os.PathLike[str] = SEMEION_NPZ) -> DigitSet:
    """The Semeion digits: 1,593 binary 16x16 scans (255 = ink) by about 80 writers, each filling its box."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as npz:
            x, y = npz["x"], npz["y"]
    except Exception as exc:
        raise DataError(f"{path}: cannot read the Semeion digits ({exc}); see data/README.md") from exc
    if x.ndim != 3 or x.shape[1:] != (16, 16) or len(x) != len(y):
        raise DataError(f"{path}: expected x (N, 16, 16) and y (N,), got {x.shape} and {y.shape}")
    return DigitSet("Semeion", list(x), y.astype(np.int64), ["16x16 binary scan"] * len(y))


def load_real_dev(folder: str | os.PathLike[str] = REAL_DEV_DIR) -> DigitSet:
    """Real photos and canvas drawings listed in `folder`/MANIFEST.csv (label, kind, source, licence).

    By default the ones data/real_dev ships, which every clone has; `SHARED_REAL_DEV_DIR` holds all
    of them where the development machines keep it (`make bench` scores those).
    """
    folder = Path(folder)
    manifest = folder / "MANIFEST.csv"
    if not manifest.is_file():
        raise DataError(f"{manifest}: not found; see data/README.md")
    with manifest.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    return DigitSet(
        f"real_dev ({relative_to_project(folder)})",
        [folder / row["file"] for row in rows],
        np.array([int(row["label"]) for row in rows]),
        [row["kind"] for row in rows],
    )


def relative_to_project(path: str | os.PathLike[str]) -> str:
    """`path` from the project root ("../shared/..." for the folder beside it), so that reports
    and records never print the machine's own folders. A relative path is kept as it is, and
    so is a path elsewhere on the machine (a temporary folder), which no relative form helps."""
    path = Path(path)
    if not path.is_absolute() or not path.resolve().is_relative_to(PROJECT_ROOT.parent):
        return str(path)
    return os.path.relpath(path.resolve(), PROJECT_ROOT)
