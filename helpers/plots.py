"""Every figure of the course. Each function draws and returns a matplotlib Figure.

Functions take arrays and numbers, never models or files: computing is the
other modules' job. Save a figure with `helpers.artifacts.save_figure`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter, PercentFormatter

DIGITS = list(range(10))
PALETTE = {"train": "#4C72B0", "validation": "#DD8452", "test": "#55A868"}


def use_style() -> None:
    """The course's plotting style (seaborn, readable sizes)."""
    sns.set_theme(style="whitegrid", context="notebook", font_scale=0.95)
    plt.rcParams.update({"figure.dpi": 100, "axes.titleweight": "bold"})


def plot_digit_grid(
    images: np.ndarray,
    titles: Sequence[str] | None = None,
    ncols: int = 10,
    *,
    suptitle: str | None = None,
    cmap: str = "gray",
    title_colors: Sequence[str] | None = None,
    value_range: tuple[float, float] | None = None,
) -> Figure:
    """Show images in a grid, each with an optional title; `value_range` fixes the grey scale
    (say (0, 255)) so that a brighter image looks brighter, instead of each being stretched."""
    images = np.asarray(images)
    n = len(images)
    nrows = max(1, int(np.ceil(n / ncols)))
    row_height = 1.85 if titles is not None and any("\n" in t for t in titles) else 1.5
    fig, axes = plt.subplots(nrows, ncols, figsize=(1.3 * ncols, row_height * nrows), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i >= n:
            continue
        vmin, vmax = value_range or (None, None)
        ax.imshow(np.squeeze(images[i]), cmap=cmap, vmin=vmin, vmax=vmax)
        if titles is not None:
            color = title_colors[i] if title_colors is not None else "black"
            ax.set_title(titles[i], fontsize=9, color=color)
    if suptitle:
        fig.suptitle(suptitle, fontweight="bold")
    fig.tight_layout()
    return fig


def plot_sample_images(x: np.ndarray, y: np.ndarray, per_class: int = 3, seed: int = 0) -> Figure:
    """A few random examples of every digit, one column per digit."""
    rng = np.random.default_rng(seed)
    picks = [rng.choice(np.flatnonzero(y == d), per_class, replace=False) for d in DIGITS]
    order = np.array(picks).T.ravel()
    titles = [str(int(y[i])) for i in order]
    return plot_digit_grid(x[order], titles, ncols=10, suptitle="Random training digits, by class")


def plot_class_distribution(labels: Mapping[str, np.ndarray]) -> Figure:
    """Images per digit in each split (train, validation, test), side by side."""
    rows = [(name, d, int((y == d).sum())) for name, y in labels.items() for d in DIGITS]
    fig, ax = plt.subplots(figsize=(10, 3.6))
    names = list(labels)
    width = 0.8 / len(names)
    for k, name in enumerate(names):
        counts = [c for n, _, c in rows if n == name]
        ax.bar(
            np.arange(10) + (k - (len(names) - 1) / 2) * width,
            counts,
            width,
            label=f"{name} ({sum(counts):,})",
            color=PALETTE.get(name),
        )
    ax.set(xticks=DIGITS, xlabel="digit", ylabel="images", title="Images per class in each split")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.15), ncol=len(names), frameon=False)
    fig.tight_layout()
    return fig


def plot_pixel_histogram(x: np.ndarray) -> Figure:
    """Distribution of pixel values: most pixels are pure background."""
    values = np.asarray(x).ravel()
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.2))
    axes[0].hist(values, bins=64, color="#4C72B0")
    images = len(x) if np.ndim(x) == 3 else 1
    axes[0].set(yscale="log", xlabel="pixel value", ylabel="pixels (log scale)",
                title=f"All pixels ({images:,} images)")  # fmt: skip
    ink = values[values > 0]
    axes[1].hist(ink, bins=64, color="#DD8452")
    axes[1].set(
        xlabel="pixel value", ylabel="pixels", title=f"Non-zero pixels ({ink.size / values.size:.0%})"
    )
    fig.tight_layout()
    return fig


def plot_mean_digits(x: np.ndarray, y: np.ndarray) -> Figure:
    """The average image of each digit: the 'prototype' a linear model would see."""
    means = np.stack([x[y == d].mean(axis=0) for d in DIGITS])
    counts = [int((y == d).sum()) for d in DIGITS]
    return plot_digit_grid(
        means, [f"mean {d}\n({n:,})" for d, n in zip(DIGITS, counts, strict=True)], ncols=10, cmap="magma",
        suptitle="Mean image of each digit (images averaged)",
    )  # fmt: skip


def plot_training_history(
    history: Mapping[str, Sequence[float]],
    kept_epoch: int | None = None,
    loss_floor: float = 0.0,
    suptitle: str | None = None,
) -> Figure:
    """Loss and error rate (1 - accuracy) per epoch, training against validation, on log axes.

    On a linear accuracy axis the last epochs, 99.2% to 99.5%, look flat; on a log
    error axis the same gain, 0.8% to 0.5% error, is plain to see. With label smoothing
    no model gets below `loss_floor`, so the loss panel shows the loss above it.
    """
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    epochs = np.arange(1, len(history["loss"]) + 1)
    loss_title = f"Loss above its floor of {loss_floor:.3f} (log scale)" if loss_floor else "Loss (log scale)"
    panels = (
        ("loss", loss_title, lambda v: v - loss_floor),
        ("accuracy", "Error rate (log scale)", lambda v: 1 - v),
    )
    for ax, (metric, title, value) in zip(axes, panels, strict=True):
        for prefix, label in (("", "train"), ("val_", "validation")):
            if f"{prefix}{metric}" in history:
                values = np.clip(value(np.asarray(history[f"{prefix}{metric}"], float)), 1e-4, None)
                ax.plot(epochs, values, "o-", label=label, color=PALETTE[label])
        if kept_epoch:
            ax.axvline(kept_epoch, color="grey", ls="--", lw=1, label=f"kept epoch ({kept_epoch})")
        ax.set_yscale("log")
        ylabel = "error rate" if metric == "accuracy" else ("loss - floor" if loss_floor else "loss")
        ax.set(xlabel="epoch", ylabel=ylabel, title=title)
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.legend()
    for ax, label in zip(axes, ("{:g}", "{:.1%}"), strict=True):
        ax.yaxis.set_major_locator(LogLocator(subs=(1, 2, 5)))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _, label=label: label.format(v)))
        ax.yaxis.set_minor_formatter(NullFormatter())
    if suptitle:
        fig.suptitle(suptitle, fontweight="bold")
    fig.tight_layout()
    return fig


def plot_learning_rate(steps: np.ndarray, rates: np.ndarray, steps_per_epoch: int) -> Figure:
    """The learning rate a schedule gives at each training step, against epochs."""
    fig, ax = plt.subplots(figsize=(7, 2.8))
    ax.plot(np.asarray(steps) / steps_per_epoch, rates, color=PALETTE["train"])
    peak = int(np.argmax(rates))
    ax.annotate(
        f"peak {rates[peak]:.1e} after {steps[peak]:,} steps",
        (steps[peak] / steps_per_epoch, rates[peak]),
        xytext=(12, -4),
        textcoords="offset points",
        fontsize=9,
    )
    ax.set(xlabel="epoch", ylabel="learning rate", title="Learning rate over the run")
    ax.set_ylim(0, rates[peak] * 1.15)
    fig.tight_layout()
    return fig


def plot_confusion_matrix(cm: np.ndarray, normalize: bool = False) -> Figure:
    """Confusion matrix heat map; the diagonal is dimmed so the mistakes stand out."""
    fig, ax = plt.subplots(figsize=(7.5, 6.2))
    off = cm.astype(float).copy()
    np.fill_diagonal(off, np.nan)
    sns.heatmap(
        off,
        annot=cm,
        fmt="d",
        cmap="Reds",
        cbar_kws={"label": "mistakes"},
        ax=ax,
        linewidths=0.5,
        linecolor="white",
        annot_kws={"fontsize": 8},
    )
    ax.grid(False)
    for d in DIGITS:
        ax.add_patch(plt.Rectangle((d, d), 1, 1, color="#dce6f2", zorder=0))
        ax.text(d + 0.5, d + 0.5, f"{cm[d, d]:,}", ha="center", va="center", fontsize=8, color="#1f3b73")
    ax.set(
        xlabel="predicted digit",
        ylabel="true digit",
        title=f"Confusion matrix ({int(np.trace(cm)):,} of {int(cm.sum()):,} right)",
    )
    fig.tight_layout()
    return fig


def plot_errors(
    images: np.ndarray,
    y_true: np.ndarray,
    y_pred: np.ndarray,
    confidence: np.ndarray,
    ncols: int = 8,
    of: int | None = None,
) -> Figure:
    """Misclassified digits with true label, prediction and the model's confidence; `of` is how many
    mistakes there are in all, when only some are shown."""
    titles = [f"true {t} → {p}\n{c:.0%} sure" for t, p, c in zip(y_true, y_pred, confidence, strict=True)]
    shown = f"{len(images)} of the {of} misclassified" if of else "Misclassified"
    return plot_digit_grid(
        images,
        titles,
        ncols=ncols,
        suptitle=f"{shown} test digits, most confident first",
        title_colors=["#b2182b"] * len(titles),
    )


def plot_confidence(confidence: np.ndarray, correct: np.ndarray, threshold: float | None = None) -> Figure:
    """How sure the model was when it was right versus wrong, with the "unsure" threshold marked,
    and the accuracy of the answers it keeps as it withholds more."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
    bins = np.linspace(0, 1, 41)
    for mask, colour, name in ((correct, "#55A868", "right"), (~correct, "#C44E52", "wrong")):
        axes[0].hist(confidence[mask], bins=bins, histtype="step", lw=1.8, color=colour,
                     label=f"{name} ({mask.sum():,})")  # fmt: skip
    if threshold is not None:
        axes[0].axvline(threshold, color="#333", ls="--", lw=1, label=f"unsure below {threshold:.3f}")
    axes[0].set(
        yscale="log",
        xlabel="confidence (top probability)",
        ylabel="images (log scale)",
        title="Confidence of right and wrong answers",
    )
    axes[0].legend(loc="upper left")
    order = np.argsort(-confidence)
    kept = np.arange(1, len(order) + 1) / len(order)
    accuracy = np.cumsum(correct[order]) / np.arange(1, len(order) + 1)
    axes[1].plot(kept, 1 - accuracy, color="#4C72B0")
    if threshold is not None:
        above = confidence >= threshold
        axes[1].axvline(
            above.mean(), color="#333", ls="--", lw=1,
            label=f"the threshold keeps {above.mean():.1%}, {correct[above].mean():.2%} right",
        )  # fmt: skip
        axes[1].legend(loc="upper left")
    start = min(0.8, (confidence >= threshold).mean() - 0.02) if threshold is not None else 0.8
    axes[1].set(
        xlabel="fraction of images answered (most confident first)",
        ylabel="error rate of those answered",
        title=f"Error if unsure answers are withheld ({len(confidence):,} images)",
        xlim=(start, 1.0),
        ylim=(0, None),
    )
    axes[1].yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.2%}"))
    fig.tight_layout()
    return fig


def plot_predictions(
    images: np.ndarray,
    probabilities: np.ndarray,
    titles: Sequence[str] | None = None,
    k: int = 3,
    ncols: int | None = None,
    suptitle: str | None = None,
) -> Figure:
    """A grid of images (one row up to 6, else rows of 5), each above a bar chart of its
    top-k class probabilities."""
    n = len(images)
    ncols = ncols or (n if n <= 6 else 5)
    nrows = int(np.ceil(n / ncols))
    fig, axes = plt.subplots(
        2 * nrows,
        ncols,
        figsize=(2.1 * ncols, 3.0 * nrows),
        squeeze=False,
        gridspec_kw={"height_ratios": [2.2, 1] * nrows},
    )
    for i in range(nrows * ncols):
        img_ax, bar_ax = axes[2 * (i // ncols), i % ncols], axes[2 * (i // ncols) + 1, i % ncols]
        img_ax.axis("off")
        if i >= n:
            bar_ax.axis("off")
            continue
        img_ax.imshow(np.squeeze(images[i]), cmap="gray")
        if titles is not None:
            img_ax.set_title(titles[i], fontsize=9)
        top = np.argsort(-probabilities[i])[:k][::-1]
        colors = ["#4C72B0" if j == k - 1 else "#a6bddb" for j in range(k)]
        bar_ax.barh([str(d) for d in top], probabilities[i][top], color=colors)
        bar_ax.set_xlim(0, 1.45)  # room right of a full bar for its label
        bar_ax.set_xticks([])
        for y, d in enumerate(top):
            bar_ax.text(1.43, y, f"{probabilities[i][d]:.1%}", va="center", ha="right", fontsize=8)
        bar_ax.tick_params(labelsize=8, length=0)
        bar_ax.grid(False)
    if suptitle:
        fig.suptitle(suptitle, fontweight="bold")
    fig.tight_layout(h_pad=0.3)
    return fig


def plot_preprocess_steps(steps: Mapping[str, np.ndarray], caption: str = "") -> Figure:
    """The preprocessing pipeline, one panel per step, from the original image to 28x28."""
    fig, axes = plt.subplots(1, len(steps), figsize=(2.3 * len(steps), 2.6))
    for ax, (name, image) in zip(np.atleast_1d(axes), steps.items(), strict=True):
        ax.imshow(image, cmap=None if image.ndim == 3 else "gray")
        ax.set_title(name, fontsize=10)
        ax.axis("off")
    if caption:
        fig.suptitle(caption, fontweight="bold")
    fig.tight_layout()
    return fig


def plot_time_to_accuracy(
    curves: Mapping[str, Sequence[Mapping[str, float]]], target: float, run: str = ""
) -> Figure:
    """Validation error against training wall time, one line per recipe, on a log axis (so every
    epoch shows, the first one included), with the target level; `run` names the run in the title."""
    fig, ax = plt.subplots(figsize=(8, 4))
    for name, rows in curves.items():
        seconds = [r["seconds"] for r in rows]
        error = [1 - r["val_accuracy"] for r in rows]
        ax.plot(seconds, error, "o-", label=name)
    ax.axhline(1 - target, color="grey", ls="--", lw=1, label=f"{target:.1%} accuracy (the original's claim)")
    ax.set_yscale("log")
    ax.yaxis.set_major_locator(LogLocator(subs=(1, 2, 5)))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.1%}"))
    ax.yaxis.set_minor_formatter(NullFormatter())
    title = "Time to accuracy" + (f" ({run})" if run else "")
    ax.set(xlabel="training time (s, 2 CPU cores)", ylabel="validation error (log scale)", title=title)
    ax.legend(loc="upper right")
    fig.tight_layout()
    return fig


def plot_pipeline_comparison(
    by_kind: Mapping[str, Mapping[str, float]],
    title: str = "Accuracy per kind of image",
    legend: str = "pipeline",
    intervals: Mapping[str, Mapping[str, Sequence[float]]] | None = None,
) -> Figure:
    """Accuracy per kind of image, one bar per pipeline or model (e.g. {"ours": {...}, "naive": {...}}),
    with each bar's 95% interval (`intervals`, same keys, (low, high)) drawn as an error bar."""
    kinds, names = list(next(iter(by_kind.values()))), list(by_kind)
    height = 0.8 / len(names)
    fig, ax = plt.subplots(figsize=(8, (0.16 + 0.16 * len(names)) * len(kinds) + 1.2))
    for j, (name, colour) in enumerate(zip(names, sns.color_palette(n_colors=len(names)), strict=True)):
        rows = np.arange(len(kinds)) + (j - (len(names) - 1) / 2) * height
        values = np.array([by_kind[name][kind] for kind in kinds])
        error = None
        if intervals and name in intervals:
            bounds = np.array([intervals[name][kind] for kind in kinds])
            error = np.clip(np.stack([values - bounds[:, 0], bounds[:, 1] - values]), 0, None)
        ax.barh(rows, values, height=height, color=colour, label=name, xerr=error,
                error_kw={"elinewidth": 1, "capsize": 2, "ecolor": "#444"})  # fmt: skip
    ax.set_yticks(np.arange(len(kinds)), kinds)
    ax.invert_yaxis()
    ax.set(xlim=(0, 1), xlabel="accuracy" + (" (bars: 95% intervals)" if intervals else ""), title=title)
    ax.legend(title=legend, loc="upper left", bbox_to_anchor=(1.01, 1))
    fig.tight_layout()
    return fig


def plot_pipeline_examples(
    originals: Sequence[np.ndarray], naive: np.ndarray, ours: np.ndarray, titles: Sequence[str]
) -> Figure:
    """One row per example: the image as given, what the naive resize makes of it, what ours makes."""
    fig, axes = plt.subplots(len(originals), 3, figsize=(6, 1.9 * len(originals)), squeeze=False)
    for row, (original, naive_image, our_image, title) in enumerate(
        zip(originals, naive, ours, titles, strict=True)
    ):
        for ax, image, label in zip(
            axes[row], (original, naive_image, our_image), (title, "naive 28x28", "ours 28x28"), strict=True
        ):
            ax.imshow(image, cmap=None if image.ndim == 3 else "gray")
            ax.set_title(label, fontsize=9)
            ax.axis("off")
    fig.tight_layout()
    return fig


def plot_reliability(diagrams: Mapping[str, Any]) -> Figure:
    """Reliability diagrams side by side, {title: r}, each r with `edges`, `accuracy` and
    `counts` per bin and its `ece` (as `helpers.trust.reliability` returns).

    A calibrated model's bars sit on the diagonal: of the answers given with 90%
    confidence, 90% are right. Bars below it mean overconfidence.
    """
    fig, axes = plt.subplots(1, len(diagrams), figsize=(4.6 * len(diagrams), 4.2), squeeze=False)
    for ax, (title, diagram) in zip(axes[0], diagrams.items(), strict=True):
        edges, accuracy, counts, ece = diagram.edges, diagram.accuracy, diagram.counts, diagram.ece
        centres, width = (edges[:-1] + edges[1:]) / 2, np.diff(edges)
        shown = counts > 0
        ax.bar(centres[shown], accuracy[shown], width=width[shown], edgecolor="white", color=PALETTE["train"])
        ax.plot([0, 1], [0, 1], ls="--", color="grey", lw=1, label="perfect calibration")
        for x, y, n in zip(centres[shown], accuracy[shown], counts[shown], strict=True):
            ax.text(x, y + 0.01, f"{n}", ha="center", fontsize=6, rotation=90, va="bottom")
        ax.set(xlim=(0, 1), ylim=(0, 1.1), xlabel="confidence", ylabel="accuracy")
        ax.set_title(f"{title}\nECE {ece:.2%}")
        ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    return fig


def plot_attributions(images: np.ndarray, maps: Mapping[str, np.ndarray], titles: Sequence[str]) -> Figure:
    """One column per digit: the digit, then each attribution map ({"saliency": ..., ...}) over it.

    Red pixels push the answer up, blue ones down; each map is scaled to its own maximum.
    """
    n, rows = len(images), 1 + len(maps)
    fig, axes = plt.subplots(rows, n, figsize=(1.5 * n, 1.6 * rows), squeeze=False)
    for col in range(n):
        axes[0, col].imshow(np.squeeze(images[col]), cmap="gray")
        axes[0, col].set_title(titles[col], fontsize=8)
        for row, (name, values) in enumerate(maps.items(), 1):
            heat = np.squeeze(values[col])
            limit = float(np.abs(heat).max()) or 1.0
            axes[row, col].imshow(np.squeeze(images[col]), cmap="gray", alpha=0.35)
            axes[row, col].imshow(heat, cmap="RdBu_r", vmin=-limit, vmax=limit, alpha=0.8)
            if col == 0:
                axes[row, col].set_ylabel(name, fontsize=9)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
        ax.grid(False)
    fig.tight_layout()
    return fig


def plot_embedding(points: np.ndarray, labels: np.ndarray, wrong: np.ndarray, title: str) -> Figure:
    """A 2-D map of hidden features, one colour per digit, mistakes circled in black."""
    fig, ax = plt.subplots(figsize=(7.5, 6.5))
    palette = sns.color_palette("tab10", 10)
    for digit in DIGITS:
        at = labels == digit
        ax.scatter(*points[at].T, s=6, color=palette[digit], label=str(digit), alpha=0.7)
        if at.any():
            ax.text(*np.median(points[at], axis=0), str(digit), fontsize=14, weight="bold", ha="center")
    ax.scatter(*points[wrong].T, s=60, facecolors="none", edgecolors="black", lw=1.2, label="mistake")
    ax.set(xticks=[], yticks=[], title=title)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), markerscale=2, fontsize=8)
    fig.tight_layout()
    return fig


def plot_attack(
    curves: Mapping[str, Mapping[float, float]],
    intervals: Mapping[str, Mapping[float, Sequence[float]]],
    clean: np.ndarray,
    attacked: np.ndarray,
    captions: Sequence[str],
    images: int | None = None,
) -> Figure:
    """Accuracy against the attack's size for each attack (with 95% intervals, on `images` digits),
    and one digit before and after an attack, with the noise between."""
    fig = plt.figure(figsize=(11, 3.6))
    grid = fig.add_gridspec(1, 5, width_ratios=[2.4, 0.1, 1, 1, 1])
    ax = fig.add_subplot(grid[0])
    for name, accuracy in curves.items():
        epsilons = np.array(list(accuracy))
        values = np.array([accuracy[e] for e in epsilons])
        bounds = np.array([intervals[name][e] for e in epsilons])
        ax.plot(epsilons, values, "o-", label=name, ms=4)
        ax.fill_between(epsilons, bounds[:, 0], bounds[:, 1], alpha=0.2)
    ax.set(xlabel="epsilon (largest change per pixel, of 1)", ylabel="accuracy", ylim=(0, 1.02))
    ax.set_title(f"Accuracy against attack size ({images:,} digits; bands: 95% intervals)" if images else
                 "Accuracy against attack size (bands: 95% intervals)")  # fmt: skip
    ax.legend()
    noise = attacked - clean
    for slot, (image, caption, cmap) in enumerate(
        zip((clean, noise, attacked), captions, ("gray", "RdBu_r", "gray"), strict=True)
    ):
        panel = fig.add_subplot(grid[2 + slot])
        limit = float(np.abs(noise).max()) or 1.0
        options = {"vmin": -limit, "vmax": limit} if cmap == "RdBu_r" else {"vmin": 0, "vmax": 1}
        panel.imshow(np.squeeze(image), cmap=cmap, **options)
        panel.set_title(caption, fontsize=9)
        panel.axis("off")
    fig.tight_layout()
    return fig


def plot_predicted_classes(counts: Mapping[str, np.ndarray], title: str) -> Figure:
    """For each case (a corruption, say), how many images were read as each digit: a small bar chart
    each, so a model that answers one digit for everything shows as a single bar."""
    names = list(counts)
    ncols = 5
    nrows = int(np.ceil(len(names) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(2.3 * ncols, 1.7 * nrows), sharex=True, squeeze=False)
    for ax, name in zip(axes.flat, names, strict=False):
        share = np.asarray(counts[name], float) / max(np.sum(counts[name]), 1)
        ax.bar(DIGITS, share, color="#4C72B0")
        ax.set_title(name.replace("_", " "), fontsize=9)
        ax.set(ylim=(0, 1), xticks=DIGITS)
        ax.tick_params(labelsize=7)
    for ax in axes.flat[len(names) :]:
        ax.axis("off")
    fig.suptitle(title, fontweight="bold")
    fig.supxlabel("digit answered", fontsize=9)
    fig.supylabel("share of images", fontsize=9)
    fig.tight_layout()
    return fig


def plot_search_history(numbers: Sequence[int], values: Sequence[float], title: str) -> Figure:
    """A search's complete trials: each one's validation accuracy by trial number, and the best so far."""
    numbers, values = np.asarray(numbers), np.asarray(values) * 100
    order = np.argsort(numbers)
    fig, ax = plt.subplots(figsize=(7, 3.6))
    ax.scatter(numbers, values, s=22, label="a complete trial")
    ax.step(
        numbers[order], np.maximum.accumulate(values[order]), where="post", color="C3", label="best so far"
    )
    ax.set(xlabel="trial", ylabel="validation accuracy (%)", title=title)
    ax.legend(loc="lower right")
    fig.tight_layout()
    return fig


def plot_importances(importance: Mapping[str, float], title: str) -> Figure:
    """Each setting's share of the variance of the trials' accuracy (fANOVA), largest on top."""
    names = list(importance)[::-1]
    fig, ax = plt.subplots(figsize=(6.5, 1.2 + 0.32 * len(names)))
    ax.barh(names, [importance[name] for name in names], color="C0")
    ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set(xlabel="share of the variance of validation accuracy", title=title)
    fig.tight_layout()
    return fig
