"""Tests of helpers.plots: every figure function returns a Figure with the expected axes."""

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.container import BarContainer
from matplotlib.figure import Figure

from helpers import plots

RNG = np.random.default_rng(0)
X = RNG.integers(0, 256, (40, 28, 28), dtype=np.uint8)
Y = np.arange(40) % 10
PROBS = RNG.dirichlet(np.ones(10), size=4)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _check(fig, n_axes):
    assert isinstance(fig, Figure)
    assert len(fig.axes) == n_axes
    return fig


def test_digit_grid_pads_to_full_rows():
    fig = _check(plots.plot_digit_grid(X[:12], [str(d) for d in Y[:12]], ncols=5, suptitle="s"), 15)
    assert [ax.get_title() for ax in fig.axes[:3]] == ["0", "1", "2"]
    assert sum(bool(ax.images) for ax in fig.axes) == 12


def test_sample_images_one_column_per_digit():
    fig = _check(plots.plot_sample_images(X, Y, per_class=2), 20)
    assert [ax.get_title() for ax in fig.axes[:10]] == [str(d) for d in range(10)]


def test_class_distribution_one_bar_per_digit_and_split():
    fig = _check(plots.plot_class_distribution({"train": Y, "test": Y[:20]}), 1)
    assert len(fig.axes[0].patches) == 20
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == ["train (40)", "test (20)"]


def test_pixel_histogram():
    fig = _check(plots.plot_pixel_histogram(X), 2)
    assert fig.axes[1].get_title().startswith("Non-zero pixels")
    assert fig.axes[0].get_title() == f"All pixels ({len(X):,} images)"


def test_mean_digits():
    fig = _check(plots.plot_mean_digits(X, Y), 10)
    assert fig.axes[9].get_title() == f"mean 9\n({(Y == 9).sum():,})"  # with how many were averaged


def test_training_history_with_kept_epoch():
    history = {
        "loss": [1.0, 0.5, 0.4],
        "val_loss": [0.8, 0.6, 0.7],
        "accuracy": [0.7, 0.8, 0.9],
        "val_accuracy": [0.75, 0.85, 0.8],
    }
    fig = _check(plots.plot_training_history(history, kept_epoch=2), 2)
    assert len(fig.axes[0].lines) == 3
    assert fig.axes[1].get_title() == "Error rate (log scale)"
    assert [ax.get_yscale() for ax in fig.axes] == ["log", "log"]
    train_error = fig.axes[1].lines[0].get_ydata()
    np.testing.assert_allclose(train_error, [0.3, 0.2, 0.1])  # 1 - accuracy


def test_confusion_matrix_has_heatmap_and_colourbar():
    cm = np.diag(np.full(10, 5))
    cm[3, 8] = 2
    fig = _check(plots.plot_confusion_matrix(cm), 2)
    assert fig.axes[0].get_title() == "Confusion matrix (50 of 52 right)"


def test_errors_grid():
    fig = _check(plots.plot_errors(X[:3], Y[:3], (Y[:3] + 1) % 10, np.array([0.9, 0.8, 0.7]), ncols=4), 4)
    assert fig.axes[0].get_title() == "true 0 → 1\n90% sure"


def test_confidence():
    _check(plots.plot_confidence(np.array([0.9, 0.6, 0.99, 0.5]), np.array([True, False, True, True])), 2)


def test_predictions_in_a_grid_image_above_its_bars():
    fig = plots.plot_predictions(X[:4], PROBS, titles=list("abcd"), k=3, ncols=3)
    assert len(fig.axes) == 12  # 2 rows of 3 cells, each an image above a bar chart
    assert [ax.get_title() for ax in fig.axes[:3]] == ["a", "b", "c"] and fig.axes[6].get_title() == "d"
    assert all(len(ax.patches) == 3 for ax in [*fig.axes[3:6], fig.axes[9]])
    assert not fig.axes[7].images and not fig.axes[11].axison  # the empty cells show nothing


def test_preprocess_steps_one_panel_per_step():
    steps = {
        "original": np.zeros((10, 10, 3), np.uint8),
        "grey": np.zeros((10, 10)),
        "28x28": np.zeros((28, 28)),
    }
    fig = _check(plots.plot_preprocess_steps(steps, caption="c"), 3)
    assert [ax.get_title() for ax in fig.axes] == ["original", "grey", "28x28"]


def test_use_style_sets_bold_titles():
    with plt.rc_context():
        plots.use_style()
        assert plt.rcParams["axes.titleweight"] == "bold"
        assert plt.rcParams["figure.dpi"] == 100


def test_pipeline_comparison_draws_an_error_bar_per_bar_even_at_100_percent():
    from helpers.evaluate import accuracy_interval

    by_kind = {"ours": {"a": 1.0, "b": 0.9}, "naive": {"a": 0.5, "b": 0.1}}
    bands = {name: {k: accuracy_interval(v, 60) for k, v in kinds.items()} for name, kinds in by_kind.items()}
    fig = _check(plots.plot_pipeline_comparison(by_kind, intervals=bands), 1)
    ax = fig.axes[0]
    bars = [c for c in ax.containers if isinstance(c, BarContainer)]
    assert len(ax.patches) == 4 and len(bars) == 2
    assert all(bar.errorbar is not None for bar in bars)
    low_error = bars[0].errorbar.lines[2][0].get_segments()[0]  # ours, kind "a": 1.0 with no room above
    assert low_error[1][0] == pytest.approx(1.0) and low_error[0][0] < 1.0
    assert "95% intervals" in ax.get_xlabel()


def test_attack_and_collapse_figures():
    from helpers.evaluate import accuracy_interval

    curves = {"FGSM": {0.0: 0.99, 0.1: 0.7}, "PGD": {0.0: 0.99, 0.1: 0.2}}
    bands = {name: {e: accuracy_interval(a, 1000) for e, a in c.items()} for name, c in curves.items()}
    image = np.zeros((28, 28, 1))
    fig = _check(plots.plot_attack(curves, bands, image, image + 0.1, ["a", "b", "c"]), 4)
    assert [line.get_label() for line in fig.axes[0].get_lines()] == ["FGSM", "PGD"]
    counts = {"fog": np.bincount(np.full(50, 8), minlength=10), "shear": np.ones(10, int)}
    fig = plots.plot_predicted_classes(counts, "answers")
    assert [p.get_height() for p in fig.axes[0].patches][8] == 1.0  # all read as 8
    assert fig.axes[1].patches[3].get_height() == pytest.approx(0.1)
