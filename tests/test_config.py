"""Tests of helpers.config: TrainConfig defaults, profiles, validation, papermill arguments, run paths."""

import dataclasses

import nbformat
import pytest

from helpers import config
from helpers.config import PROFILES, PROJECT_ROOT, TrainConfig, papermill_args, run_paths

TRAIN_NOTEBOOK = PROJECT_ROOT / "notebooks" / "02_train.ipynb"


def test_defaults():
    assert TrainConfig().to_dict() == {
        "model": "compact_cnn",
        "epochs": 18,
        "batch_size": 128,
        "learning_rate": 2.6e-3,
        "dropout": 0.0,
        "width": 32,
        "augment": True,
        "rotation": 7.0,
        "zoom": 0.08,
        "shift": 2.2,
        "seed": 42,
        "val_fraction": 0.1,
        "train_subset": 0,
        "schedule": "onecycle",
        "warmup": 0.14,
        "label_smoothing": 0.06,
        "patience": 4,
        "ema": 0.998,
        "ensemble": 1,
        "min_accuracy": 0.97,
        "profile": "default",
    }


def test_quick_profile_overrides_only_its_values():
    quick = TrainConfig.from_profile("quick")
    assert (quick.epochs, quick.train_subset, quick.batch_size, quick.min_accuracy) == (1, 20000, 32, 0.85)
    assert quick.profile == "quick"
    assert quick.model == "compact_cnn"
    assert quick.learning_rate == 2.6e-3


def test_best_profile_averages_five_default_models():
    best = TrainConfig.from_profile("best")
    assert dataclasses.replace(best, ensemble=1, profile="default") == TrainConfig()
    assert (best.ensemble, best.profile) == (5, "best")


def test_explicit_override_beats_profile():
    config_ = TrainConfig.from_profile("quick", epochs=3, model="mlp")
    assert (config_.epochs, config_.model, config_.train_subset) == (3, "mlp", 20000)


def test_config_shows_as_a_table_in_jupyter():
    html = TrainConfig(model="mlp")._repr_html_()
    assert html.startswith("<table><tr><th>setting</th><th>value</th></tr>")
    assert "<tr><td><code>model</code></td><td>mlp</td></tr>" in html
    assert html.count("<tr>") == 1 + len(dataclasses.fields(TrainConfig))


def test_config_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        TrainConfig().epochs = 5


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("model", "resnet"),
        ("epochs", 0),
        ("epochs", 2.5),
        ("learning_rate", 0),
        ("learning_rate", -0.01),
        ("batch_size", 0),
        ("val_fraction", 0),
        ("val_fraction", 0.6),
        ("train_subset", -1),
        ("train_subset", 70000),
        ("dropout", 1.0),
        ("patience", 0),
        ("schedule", "cosine"),
        ("min_accuracy", 1.5),
        ("seed", -1),
    ],
)
def test_invalid_value_raises_naming_the_parameter(field, value):
    with pytest.raises(ValueError, match=rf"^{field} must be .*got {value!r}$"):
        TrainConfig(**{field: value})


def test_non_boolean_augment_is_rejected():
    with pytest.raises(ValueError, match=r"^augment must be"):
        TrainConfig(augment="false")


def test_unknown_profile_is_rejected():
    with pytest.raises(ValueError, match=r"profile must be one of default, quick, best, got 'fast'"):
        TrainConfig.from_profile("fast")


def test_unknown_override_field_is_rejected():
    with pytest.raises(ValueError, match=r"unknown config field\(s\) \['epoch'\]"):
        TrainConfig.from_profile("default", epoch=3)


def test_papermill_args_for_quick():
    args = papermill_args("quick")
    pairs = {args[i + 1]: args[i + 2] for i in range(0, len(args), 3)}
    assert args[::3] == ["-p"] * len(dataclasses.fields(TrainConfig))
    assert "-p EPOCHS 1" in " ".join(args)
    assert pairs["TRAIN_SUBSET"] == "20000"
    assert pairs["PROFILE"] == "quick"
    assert pairs["AUGMENT"] == "True"


def test_config_cli_prints_papermill_args(capsys):
    assert config.main(["quick"]) == 0
    assert capsys.readouterr().out.strip() == " ".join(papermill_args("quick"))


def test_run_paths_default_is_project_root():
    paths = run_paths("")
    assert paths.root == PROJECT_ROOT
    assert paths.model_file == PROJECT_ROOT / "models" / "best_model.keras"
    assert paths.record_file == PROJECT_ROOT / "models" / "best_model.json"
    assert paths.metrics_file == PROJECT_ROOT / "outputs" / "metrics.json"


def test_relative_run_dir_is_under_project_root():
    paths = run_paths("build/x")
    assert paths.root == PROJECT_ROOT / "build" / "x"
    assert paths.figure("a.png") == PROJECT_ROOT / "build" / "x" / "outputs" / "a.png"


def test_absolute_run_dir_is_kept_and_ensure_creates_folders(tmp_path):
    paths = run_paths(tmp_path / "run").ensure()
    assert paths.root == tmp_path / "run"
    assert paths.models.is_dir() and paths.outputs.is_dir()


def _notebook_parameters(path):
    notebook = nbformat.read(path, as_version=4)
    cells = [c for c in notebook.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(cells) == 1, f"{path.name} must have exactly one cell tagged 'parameters'"
    namespace = {}
    exec(cells[0].source, {}, namespace)
    return namespace


def test_train_notebook_parameters_equal_config_defaults():
    params = _notebook_parameters(TRAIN_NOTEBOOK)
    defaults = {name.upper(): value for name, value in TrainConfig().to_dict().items()}
    assert {k: v for k, v in params.items() if k in defaults} == defaults
    # Besides the config: where the run goes, and the budget of "Make it yours" (not a TrainConfig).
    assert set(params) - set(defaults) == {"RUN_DIR", "MINE_EPOCHS", "MINE_SUBSET"}
    assert params["RUN_DIR"] == ""


def test_every_profile_builds_a_valid_config():
    assert {name: TrainConfig.from_profile(name).profile for name in PROFILES} == {
        "default": "default",
        "quick": "quick",
        "best": "best",
    }
