"""One config object for every way of running the course, and where files live.

`TrainConfig` holds every hyperparameter with its default. Profiles name whole
sets of overrides: ``default`` (what ``make all`` trains), ``quick`` (a smoke
run for tests and CI) and ``best``. This module must not import TensorFlow, so
that checking a config is instant.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
"""The repository root: data/, models/ and outputs/ are found from here."""

MODEL_NAMES = ("seed_cnn", "compact_cnn", "mlp")
"""The built-in models of the registry (`helpers.models`)."""
_REGISTERED: list[str] = []
"""Names of the networks a learner added with `helpers.models.register_model` in this session."""


def model_names() -> tuple[str, ...]:
    """Every name a config may use: the built-in models, then any registered in this session."""
    return MODEL_NAMES + tuple(_REGISTERED)


def add_model_name(name: str) -> None:
    """Let configs name a newly registered model (`helpers.models.register_model` calls this)."""
    if not name.isidentifier():
        raise ValueError(f"a model name must be a Python identifier, got {name!r}")
    if name not in model_names():
        _REGISTERED.append(name)


SCHEDULES = ("plateau", "onecycle")
"""Learning-rate schedules: halve on a validation plateau, or warm up then cosine-decay."""

PROFILES: dict[str, dict[str, Any]] = {
    "default": {},
    # A smoke run: a small subset and one epoch. It proves the pipeline works,
    # not that the model is good, so its accuracy floor is low.
    # Small batches give BatchNorm enough steps to settle within one epoch.
    "quick": {
        "epochs": 1,
        "train_subset": 20000,
        "batch_size": 32,
        "min_accuracy": 0.85,
    },
    # Five default models from different seeds, averaged into one (about 5x the time).
    "best": {"ensemble": 5},
}
"""Named overrides of `TrainConfig`'s defaults."""


@dataclass(frozen=True)
class TrainConfig:
    """Every hyperparameter of a training run, with its default."""

    model: str = "compact_cnn"
    epochs: int = 18
    batch_size: int = 128
    learning_rate: float = 2.6e-3
    dropout: float = 0.0
    """Dropout before the classifier; `seed_cnn` uses half of it after each conv block."""
    width: int = 32
    """Filters in `compact_cnn`'s first stage (the second has twice, the third four times as many)."""
    augment: bool = True
    rotation: float = 7.0
    """With `augment`: rotate each training image by up to this many degrees either way."""
    zoom: float = 0.08
    """With `augment`: rescale each training image by up to this fraction either way."""
    shift: float = 2.2
    """With `augment`: shift each training image by up to this many pixels along each axis."""
    seed: int = 42
    val_fraction: float = 0.1
    train_subset: int = 0
    """Train on only this many images (stratified); 0 means all of them."""
    schedule: str = "onecycle"
    """'plateau' halves the rate when validation loss stalls; 'onecycle' warms up from a tenth
    of `learning_rate` (for `warmup` of the steps), then decays it to zero along a cosine."""
    warmup: float = 0.14
    """With the one-cycle schedule: the share of all steps spent warming up."""
    label_smoothing: float = 0.06
    """Train towards 1 - this on the true class plus this spread over all ten (0: plain targets)."""
    patience: int = 4
    """With the plateau schedule: epochs without validation gain before early stopping.
    A one-cycle schedule always runs its course (its middle epochs are noisy by design)."""
    ema: float = 0.998
    """Momentum of an exponential moving average of the weights, which is what gets
    validated and saved (it smooths the noisy middle of a one-cycle run); 0 turns it off.
    A run too short for it gets a lower one (`helpers.models.average_momentum`)."""
    ensemble: int = 1
    """Train this many models (seeds `seed`, `seed`+1, ...) on the same split and save
    one model that averages their probabilities."""
    min_accuracy: float = 0.97
    """Sanity floor: notebooks assert validation and test accuracy reach it."""
    profile: str = "default"

    def __post_init__(self) -> None:
        """Check every value's range before any work starts."""
        checks = [
            ("model", self.model in model_names(), f"one of {', '.join(model_names())}"),
            ("epochs", _is_int(self.epochs) and self.epochs >= 1, "an integer >= 1"),
            (
                "batch_size",
                _is_int(self.batch_size) and 1 <= self.batch_size <= 60000,
                "an integer from 1 to 60000",
            ),
            ("learning_rate", 0 < self.learning_rate <= 1, "a number in (0, 1]"),
            ("dropout", 0 <= self.dropout < 1, "a number in [0, 1)"),
            ("width", _is_int(self.width) and 8 <= self.width <= 128, "an integer from 8 to 128"),
            ("augment", isinstance(self.augment, bool), "True or False"),
            ("rotation", 0 <= self.rotation <= 45, "a number of degrees in [0, 45]"),
            ("zoom", 0 <= self.zoom <= 0.5, "a number in [0, 0.5]"),
            ("shift", 0 <= self.shift <= 8, "a number of pixels in [0, 8]"),
            ("seed", _is_int(self.seed) and self.seed >= 0, "an integer >= 0"),
            ("val_fraction", 0 < self.val_fraction <= 0.5, "a number in (0, 0.5]"),
            (
                "train_subset",
                _is_int(self.train_subset) and 0 <= self.train_subset <= 60000,
                "an integer from 0 (all) to 60000",
            ),
            ("schedule", self.schedule in SCHEDULES, f"one of {', '.join(SCHEDULES)}"),
            ("warmup", 0 <= self.warmup <= 0.5, "a number in [0, 0.5]"),
            ("label_smoothing", 0 <= self.label_smoothing < 0.5, "a number in [0, 0.5)"),
            ("patience", _is_int(self.patience) and self.patience >= 1, "an integer >= 1"),
            ("ema", 0 <= self.ema < 1, "a number in [0, 1)"),
            ("ensemble", _is_int(self.ensemble) and 1 <= self.ensemble <= 10, "an integer from 1 to 10"),
            ("min_accuracy", 0 <= self.min_accuracy <= 1, "a number in [0, 1]"),
            ("profile", self.profile in PROFILES, f"one of {', '.join(PROFILES)}"),
        ]
        for name, ok, allowed in checks:
            if not ok:
                value = getattr(self, name)
                raise ValueError(f"{name} must be {allowed}, got {value!r}")

    @classmethod
    def from_profile(cls, profile: str = "default", **overrides: Any) -> TrainConfig:
        """Build the config of a named profile, then apply explicit overrides."""
        if profile not in PROFILES:
            raise ValueError(f"profile must be one of {', '.join(PROFILES)}, got {profile!r}")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise ValueError(f"unknown config field(s) {unknown}; known: {sorted(known)}")
        values = {**PROFILES[profile], **overrides, "profile": profile}
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        """Return the config as a plain JSON-ready dict."""
        return dataclasses.asdict(self)

    def _repr_html_(self) -> str:
        """Show the config as a two-column table in Jupyter."""
        rows = "".join(f"<tr><td><code>{k}</code></td><td>{v}</td></tr>" for k, v in self.to_dict().items())
        return f"<table><tr><th>setting</th><th>value</th></tr>{rows}</table>"


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True)
class RunPaths:
    """Where one run reads and writes its artifacts."""

    root: Path

    @property
    def models(self) -> Path:
        """Folder of the trained model and its run record."""
        return self.root / "models"

    @property
    def outputs(self) -> Path:
        """Folder of figures, metrics, executed notebooks and the report."""
        return self.root / "outputs"

    @property
    def model_file(self) -> Path:
        """The best model of the run."""
        return self.models / "best_model.keras"

    @property
    def record_file(self) -> Path:
        """The JSON record describing how the model was made."""
        return self.models / "best_model.json"

    @property
    def metrics_file(self) -> Path:
        """Test metrics written by the evaluation notebook."""
        return self.outputs / "metrics.json"

    def figure(self, name: str) -> Path:
        """Path of a figure file under outputs/."""
        return self.outputs / name

    def ensure(self) -> RunPaths:
        """Create the run's folders and return self."""
        self.models.mkdir(parents=True, exist_ok=True)
        self.outputs.mkdir(parents=True, exist_ok=True)
        return self


def run_paths(run_dir: str | os.PathLike[str] = "") -> RunPaths:
    """Paths of a run; relative `run_dir` is taken from the project root ("" = the root)."""
    root = Path(run_dir)
    if not root.is_absolute():
        root = PROJECT_ROOT / root
    return RunPaths(root.resolve())


def papermill_args(profile: str) -> list[str]:
    """`-p NAME VALUE` arguments that make 02_train's parameters match `profile`."""
    config = TrainConfig.from_profile(profile)
    args = []
    for name, value in config.to_dict().items():
        args += ["-p", name.upper(), str(value)]
    return args


def main(argv: list[str] | None = None) -> int:
    """`python -m helpers.config PROFILE`: print papermill arguments for that profile."""
    import argparse

    parser = argparse.ArgumentParser(description="Print papermill -p arguments for a training profile.")
    parser.add_argument("profile", choices=sorted(PROFILES))
    args = parser.parse_args(argv)
    print(" ".join(papermill_args(args.profile)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
