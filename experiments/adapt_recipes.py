"""Which adaptation recipe reads a new hand best? Recipes compared on Semeion's first half only.

Command:

    python -m experiments.adapt_recipes '{"replay": 0}' '{"dropout": 0.65}' --ks 3 10 --seeds 6

Each recipe (AdaptConfig fields as JSON; `{}` is the shipped recipe) adapts the trained model to
k examples per digit drawn from Semeion's first 800 digits, and is scored on the rest of that half
and on 3,000 MNIST validation digits. The second half and the MNIST test set are never read here.
It prints a line per recipe and k, and writes experiments/results/adapt_recipes.json.

`--pool 600` draws the examples from the first 600 digits only and scores the last 200 of the
half, whatever was drawn; k = 0 then means every digit of the pool (the most this recipe can learn
from Semeion's first rounds). The same draws serve every recipe, so recipes compare draw by draw.
`--model` adapts another base model (say the `best` profile's ensemble) on the same draws.

Answer: the shipped recipe (the classifier alone, 48 of the writer's digits and 16 replayed
MNIST digits a step, 300 steps at 3e-3, half the features dropped) read the first half's unused
digits at 97.38 ± 0.22% with 3 per digit and 98.02 ± 0.32% with 10, six draws, MNIST 99.52% and
99.38% after (2026-12-06). No other recipe led by more than the spread between draws, and the one
candidate that led (pens, proportions and a decaying rate) did not lead on the held-out half.
docs/adaptation.md gives the tables; experiments/notes/adaptation.md the rounds of attempts.

Date: 2026-12-03, last run 2026-12-06.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from experiments.lab import save_result
from helpers.adapt import (
    AdaptConfig,
    adapt_arrays,
    base_split,
    draw_per_digit,
    prepare_examples,
)
from helpers.data import SEMEION_FIRST_HALF, load_semeion
from helpers.evaluate import score_model
from helpers.predict import load_model


def main(argv: list[str] | None = None) -> int:
    """Print and save, per recipe and k, the mean and spread over seeds, MNIST after, and seconds."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("recipes", nargs="+", help="AdaptConfig fields as JSON objects")
    parser.add_argument("--ks", type=int, nargs="+", default=[3, 10])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--pool", type=int, default=SEMEION_FIRST_HALF, help="draw from the first POOL")
    parser.add_argument("--model", default=None, help="the model to adapt (default: models/best_model.keras)")
    args = parser.parse_args(argv)
    digits = load_semeion()
    first = [digits.sources[i] for i in range(SEMEION_FIRST_HALF)]
    x, y = prepare_examples(first, digits.labels[:SEMEION_FIRST_HALF])
    split = base_split()
    mnist = split.x_val[:3000], split.y_val[:3000]
    model = load_model(args.model)
    before = score_model(model, x, y).accuracy, score_model(model, *mnist).accuracy
    print(f"before: Semeion first half {before[0]:.2%}, MNIST {before[1]:.2%}")
    pool = np.arange(len(y)) < args.pool
    results = {"before": {"semeion_first_half": before[0], "mnist": before[1]}, "pool": args.pool, "rows": []}
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
                rows.append(
                    (
                        score_model(adapted, x[rest], y[rest]).accuracy,
                        score_model(adapted, *mnist).accuracy,
                        seconds,
                    )
                )
            r = np.array(rows)
            draws = [{"semeion": a, "mnist": m, "seconds": round(s, 2)} for a, m, s in rows]
            results["rows"].append({"recipe": json.loads(recipe), "k": k, "draws": draws})
            print(
                f"{recipe} k={k or 'all'}: {r[:, 0].mean():.2%} ± {r[:, 0].std():.2%} "
                f"[{' '.join(f'{a:.2%}' for a in r[:, 0])}], "
                f"MNIST {r[:, 1].mean():.2%}, {r[:, 2].mean():.1f} s",
                flush=True,
            )
    save_result(results, "adapt_recipes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
