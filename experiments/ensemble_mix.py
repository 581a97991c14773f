"""Would members of other recipes make a better ensemble? Validation errors of mixed ensembles.

Command:

    python -m experiments.ensemble_mix '{"dropout": 0.25}' '{"elastic": 10}' [--size 5] [--run-dir DIR]
    python -m experiments.ensemble_mix --render    # the table and figures again, from the JSON

Each recipe (TrainConfig fields as JSON, over the run's own config) trains one member on the
validation split of the `best` run (default: build/best), with a seed none of the run's members
used (unless the recipe names one); a member already trained for that recipe under
`build/ensemble_mix/` is reused. Then, for each set of new members, every ensemble of `--size`
that fills it up with the run's own members is scored on that split: the mean over those choices
says what the new recipes add (the best single mix is mostly luck). It also lists the digits that
every network, the run's and the new, misses. It writes experiments/results/ensemble_mix.json,
ensemble_mix.png (the errors of every ensemble) and missed_by_all.png (the digits no network
reads). It reads only the validation split, so it may guide a choice.

Answer: no. Six members of other recipes (the previous default, search trial 15, elastic
distortion 10, width 48, 36 and 54 epochs) beside the `best` run's five of 2026-12-06: every
ensemble of five from the eleven makes 23-31 validation errors of 6,000, and the mean per set of
added members stays within 24-28, against 27 for the run's own five; 99.70% allows 18. 14 digits
are missed by all eleven networks. docs/search.md ("The `best` profile") gives the table.

Date: 2026-12-06.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import itertools
import json
import time
from collections import defaultdict
from typing import Any

import keras
import matplotlib.pyplot as plt
import numpy as np

from benchmarks.run import GOALS
from experiments.lab import RESULTS, count_shared_errors, find_shared_misses, load_run_validation, save_result
from helpers.adapt import members_of
from helpers.artifacts import load_json, save_figure
from helpers.config import PROJECT_ROOT, TrainConfig
from helpers.data import load_mnist, relative_to_project, split_train_val
from helpers.plots import plot_digit_grid, use_style
from helpers.predict import load_model, predict_probabilities
from helpers.train import fit_model

MIX_DIR = PROJECT_ROOT / "build" / "ensemble_mix"


def compare_mixes(
    probabilities: list[np.ndarray], labels: np.ndarray, own: int, size: int
) -> list[tuple[tuple[int, ...], list[int]]]:
    """For each set of added members (indices from `own` on), the errors of every `size`-member
    ensemble that fills it up with the run's own members (indices below `own`)."""
    rows = []
    for n_added in range(min(size, len(probabilities) - own) + 1):
        for added in itertools.combinations(range(own, len(probabilities)), n_added):
            errors = [
                count_shared_errors([probabilities[j] for j in (*chosen, *added)], labels)["ensemble"]
                for chosen in itertools.combinations(range(own), size - n_added)
            ]
            if errors:
                rows.append((added, errors))
    return rows


def to_markdown(results: dict[str, Any]) -> str:
    """The mixes by how many members come from other recipes: sets, ensembles, mean and range of errors."""
    by_count = defaultdict(list)
    for mix in results["mixes"]:
        by_count[len(mix["added"])].append(mix["errors"])
    lines = [
        f"| members from other recipes | sets of them | ensembles | validation errors of "
        f"{results['validation_images']:,}: mean per set | fewest-most |",
        "|---|---|---|---|---|",
    ]
    for count, sets in sorted(by_count.items()):
        means = [float(np.mean(errors)) for errors in sets]
        every = [e for errors in sets for e in errors]
        lines.append(
            f"| {count} | {len(sets)} | {len(every)} | {span(min(means), max(means), '.1f')} "
            f"| {span(min(every), max(every), 'd')} |"
        )
    return "\n".join(lines)


def span(low: float, high: float, spec: str) -> str:
    """`low-high` in the format `spec`, or one figure where they are the same."""
    return format(low, spec) if low == high else f"{low:{spec}}-{high:{spec}}"


def draw_figures(results: dict[str, Any]) -> None:
    """ensemble_mix.png (every ensemble's errors against what the `best` goal allows) and
    missed_by_all.png (the validation digits no network reads), in experiments/results/."""
    use_style()
    errors = np.concatenate([mix["errors"] for mix in results["mixes"]])
    own = float(np.mean([e for mix in results["mixes"] if not mix["added"] for e in mix["errors"]]))
    allowed = round(results["validation_images"] * (1 - GOALS["best"]))
    fig, ax = plt.subplots(figsize=(6.5, 2.6))
    ax.hist(errors, bins=np.arange(min(allowed, errors.min()) - 1, errors.max() + 2) - 0.5, alpha=0.8)
    ax.axvline(own, color="k", linewidth=2, label=f"the run's own members: {own:.0f}")
    ax.axvline(allowed, color="k", linestyle="--", label=f"{GOALS['best']:.2%} allows {allowed}")
    ax.set(xlabel=f"validation errors of {results['validation_images']:,}", ylabel="ensembles")
    ax.legend(loc="upper left", fontsize=8)
    save_figure(fig, RESULTS / "ensemble_mix.png")
    missed = results["missed_by_all"]
    mnist = load_mnist()
    split = split_train_val(mnist.x_train, mnist.y_train, **results["split"])
    fig = plot_digit_grid(
        split.x_val[[m["index"] for m in missed]],
        [f"label {m['label']}\nread {m['answer']}" for m in missed],
        ncols=7,
        suptitle=f"Validation digits that all {len(results['members'])} networks miss",
    )
    save_figure(fig, RESULTS / "missed_by_all.png")


def measure(recipes: list[str], size: int, rest: list[str]) -> dict[str, Any]:
    """Train (or reuse) a member per recipe, print each network's errors, and score every mix."""
    paths, split = load_run_validation(rest, __doc__.splitlines()[0])
    record = load_json(paths.record_file)
    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    run_config = {k: v for k, v in record["config"].items() if k in fields}
    run_config["ensemble"] = 1
    members = members_of(load_model(paths.model_file))
    names = [f"run member {i + 1}" for i in range(len(members))]
    probabilities = [predict_probabilities(m, split.x_val) for m in members]
    next_seed = run_config["seed"] + len(members)
    for i, recipe in enumerate(recipes):
        config = TrainConfig(**{**run_config, "seed": next_seed + i, **json.loads(recipe)})
        key = hashlib.sha256(json.dumps(dataclasses.asdict(config), sort_keys=True).encode()).hexdigest()
        checkpoint = MIX_DIR / f"{key[:12]}.keras"
        if checkpoint.exists():
            model = keras.models.load_model(checkpoint, compile=False)
        else:
            MIX_DIR.mkdir(parents=True, exist_ok=True)
            began = time.perf_counter()
            model, _ = fit_model(config, split, checkpoint)
            print(f"{recipe}: trained in {time.perf_counter() - began:.0f} s", flush=True)
        names.append(f"{recipe} (seed {config.seed})")
        probabilities.append(predict_probabilities(model, split.x_val))
    errors = count_shared_errors(probabilities, split.y_val)["members"]
    for name, n in zip(names, errors, strict=True):
        print(f"{n:3d} errors  {name}")
    missed = find_shared_misses(probabilities, split.y_val)
    print(
        f"missed by all {len(probabilities)} networks: {len(missed)} digits (validation indices "
        f"{', '.join(str(m['index']) for m in missed)})"
    )
    return {
        "run": relative_to_project(paths.root),
        "validation_images": len(split.y_val),
        "split": {"seed": run_config["seed"], "val_fraction": run_config["val_fraction"]},
        "size": size,
        "members": [{"name": n, "errors": e} for n, e in zip(names, errors, strict=True)],
        "own_members": len(members),
        "missed_by_all": missed,
        "mixes": [
            {"added": list(added), "errors": e}
            for added, e in compare_mixes(probabilities, split.y_val, len(members), size)
        ],
    }


def main(argv: list[str] | None = None) -> int:
    """Measure (or, with --render, re-draw from the JSON) the mixes' validation errors."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("recipes", nargs="*", help="TrainConfig fields as JSON objects")
    parser.add_argument("--size", type=int, default=5, help="members per ensemble (default 5)")
    parser.add_argument("--render", action="store_true", help="the table and figures from the last JSON")
    args, rest = parser.parse_known_args(argv)
    if args.render:
        results = load_json(RESULTS / "ensemble_mix.json")
    else:
        results = measure(args.recipes, args.size, rest)
        save_result(results, "ensemble_mix")
    print(to_markdown(results))
    draw_figures(results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
