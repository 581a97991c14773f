"""Compare adaptation recipes on Semeion's first half only (docs/adaptation.md).

    python -m benchmarks.adapt_recipes '{"train": "classifier"}' '{"replay": 0}' --ks 3 10 --seeds 3

Each recipe (AdaptConfig fields as JSON) adapts the trained model to k examples per digit drawn
from Semeion's first 800 digits, and is scored on the rest of that half and on 3,000 MNIST
validation digits. The second half and the MNIST test set are never read here.

`--pool 600` draws the examples from the first 600 digits only and scores the last 200 of the
half, whatever was drawn; k = 0 then means every digit of the pool (the most this recipe can learn
from Semeion's first rounds). The same draws serve every recipe, so recipes compare draw by draw.
`--model` adapts another base model (say the `best` profile's ensemble) on the same draws.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from helpers.adapt import (
    AdaptConfig,
    accuracy_on,
    adapt_arrays,
    base_split,
    draw_per_digit,
    prepare_examples,
)
from helpers.data import load_semeion
from helpers.predict import load_model

FIRST_HALF = 800
"""Semeion's first four rounds of 0-9: the half recipes are chosen on."""


def main(argv: list[str] | None = None) -> int:
    """Print, per recipe and k, the mean and spread over seeds, MNIST after, and seconds."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("recipes", nargs="+", help="AdaptConfig fields as JSON objects")
    parser.add_argument("--ks", type=int, nargs="+", default=[3, 10])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--pool", type=int, default=FIRST_HALF, help="draw from the first POOL digits")
    parser.add_argument("--model", default=None, help="the model to adapt (default: models/best_model.keras)")
    args = parser.parse_args(argv)
    digits = load_semeion()
    first = [digits.sources[i] for i in range(FIRST_HALF)]
    x, y = prepare_examples(first, digits.labels[:FIRST_HALF])
    split = base_split()
    mnist = split.x_val[:3000], split.y_val[:3000]
    model = load_model(args.model)
    before = accuracy_on(model, x, y), accuracy_on(model, *mnist)
    print(f"before: Semeion first half {before[0]:.2%}, MNIST {before[1]:.2%}")
    pool = np.arange(len(y)) < args.pool
    for recipe in args.recipes:
        config = AdaptConfig(**json.loads(recipe))
        for k in args.ks:
            rows = []
            for seed in range(args.seeds):
                picked = np.flatnonzero(pool) if k == 0 else draw_per_digit(y, pool, k, seed=100 + seed)
                # Scored: what was not drawn, or with a smaller pool, whatever lies past it.
                rest = np.flatnonzero(~pool) if (~pool).any() else np.setdiff1d(np.arange(len(y)), picked)
                began = time.perf_counter()
                adapted = adapt_arrays(model, x[picked], y[picked], seed=seed, config=config, mnist=split)
                seconds = time.perf_counter() - began
                rows.append((accuracy_on(adapted, x[rest], y[rest]), accuracy_on(adapted, *mnist), seconds))
            r = np.array(rows)
            print(
                f"{recipe} k={k or 'all'}: {r[:, 0].mean():.2%} ± {r[:, 0].std():.2%} "
                f"[{' '.join(f'{a:.2%}' for a in r[:, 0])}], "
                f"MNIST {r[:, 1].mean():.2%}, {r[:, 2].mean():.1f} s",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
