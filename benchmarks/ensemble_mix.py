"""Would members of other recipes make a better ensemble? Validation errors of mixed ensembles.

    python -m benchmarks.ensemble_mix '{"dropout": 0.25}' '{"elastic": 10}' [--size 4] [--run-dir DIR]

Each recipe (TrainConfig fields as JSON, over the run's own config) trains one member on the
validation split of the `best` run (default: build/best), with a seed none of the run's members
used (unless the recipe names one); a member already trained for that recipe under
`build/ensemble_mix/` is reused. Then, for each set of new members, every ensemble of `--size`
that fills it up with the run's own members is scored on that split: the mean over those choices
says what the new recipes add (the best single mix is mostly luck). It also lists the digits that
every network, the run's and the new, misses. It reads only the validation split, so it may guide
a choice.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import itertools
import json
import time

import keras
import numpy as np

from benchmarks.member_errors import count_shared_errors, find_shared_misses
from benchmarks.tta import load_run_validation
from helpers.adapt import members_of
from helpers.artifacts import load_json, save_json
from helpers.config import PROJECT_ROOT, TrainConfig
from helpers.predict import load_model, predict_probabilities
from helpers.train import fit_model

MIX_DIR = PROJECT_ROOT / "build" / "ensemble_mix"
OUT_JSON = PROJECT_ROOT / "outputs" / "ensemble_mix.json"


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


def main(argv: list[str] | None = None) -> int:
    """Train (or reuse) a member per recipe, then print and save the mixes' validation errors."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("recipes", nargs="*", help="TrainConfig fields as JSON objects")
    parser.add_argument("--size", type=int, default=4, help="members per ensemble (default 4)")
    parser.add_argument("--out", default=str(OUT_JSON), help="the figures' file (outputs/ensemble_mix.json)")
    args, rest = parser.parse_known_args(argv)
    paths, split = load_run_validation(rest, __doc__.splitlines()[0])
    record = load_json(paths.record_file)
    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    run_config = {k: v for k, v in record["config"].items() if k in fields}
    run_config["ensemble"] = 1
    members = members_of(load_model(paths.model_file))
    names = [f"run member {i + 1}" for i in range(len(members))]
    probabilities = [predict_probabilities(m, split.x_val) for m in members]
    next_seed = run_config["seed"] + len(members)
    for i, recipe in enumerate(args.recipes):
        overrides = json.loads(recipe)
        config = TrainConfig(**{**run_config, "seed": next_seed + i, **overrides})
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
    rows = compare_mixes(probabilities, split.y_val, len(members), args.size)
    print(f"ensembles of {args.size}, errors of {len(split.y_val):,} over every choice of the run's members:")
    for added, mix_errors in rows:
        label = " + ".join(names[j] for j in added) or "the run's members only"
        spread = f"{min(mix_errors)}-{max(mix_errors)} ({len(mix_errors)})"
        print(f"  mean {np.mean(mix_errors):4.1f}, {spread}  {label}")
    save_json(
        {
            "run": str(paths.root.resolve().relative_to(PROJECT_ROOT)),
            "validation_images": len(split.y_val),
            "split": {"seed": run_config["seed"], "val_fraction": run_config["val_fraction"]},
            "size": args.size,
            "members": [{"name": n, "errors": e} for n, e in zip(names, errors, strict=True)],
            "own_members": len(members),
            "missed_by_all": missed,
            "mixes": [{"added": list(added), "errors": e} for added, e in rows],
        },
        args.out,
    )
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
