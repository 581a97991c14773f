"""How well does a model read digits it was not trained on? Per kind, through the CLI's path.

`python -m benchmarks.real_digits [--model PATH] [--json FILE]` scores the
model on three sets, each image going through `predict_images` as
`digits predict` does:

- the realistic set: MNIST *test* digits rendered the ways users' images
  differ from MNIST (`helpers.samples.REALISTIC_KINDS`), also through the
  naive resize-only pipeline for comparison;
- real_dev: real photos and canvas drawings by other writers (data/real_dev);
- Semeion: 1,593 binary 16x16 scans by about 80 writers (data/semeion.npz).

For each kind it prints the accuracy, the "no digit found" answers and the
wrong answers that were not flagged as unsure.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from helpers.data import load_mnist, load_real_dev, load_semeion
from helpers.evaluate import compare_pipelines, score_digit_set
from helpers.predict import load_model
from helpers.samples import make_realistic_set

PER_KIND = 60


def measure(model: Any) -> dict[str, Any]:
    """Scores of `model` on the realistic set, real_dev and Semeion."""
    mnist = load_mnist()
    realistic = compare_pipelines(model, make_realistic_set(mnist.x_test, mnist.y_test, per_kind=PER_KIND))
    return {
        "realistic": realistic["ours"]["table"],
        "realistic_naive": realistic["naive"]["by_kind"] | {"all": realistic["naive"]["accuracy"]},
        "real_dev": score_digit_set(model, load_real_dev()),
        "semeion": score_digit_set(model, load_semeion()),
    }


def format_scores(name: str, table: dict[str, Any]) -> str:
    """One line per kind, then the total: images, accuracy, no digit found, unflagged mistakes."""
    width = max(len(kind) for kind in [*table["by_kind"], "all"])
    lines = [f"{name:<{width}}  images  accuracy  no digit  wrong, not flagged"]
    for kind, row in [*table["by_kind"].items(), ("all", table["all"])]:
        lines.append(
            f"{kind:<{width}}  {row['count']:>6}  {row['accuracy']:>8.1%}  {row['no_digit']:>8}"
            f"  {row['wrong_unflagged']:>18}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Print the three tables; optionally write them as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="model file (default: models/best_model.keras)")
    parser.add_argument("--json", default=None, metavar="FILE", help="also write the scores here")
    args = parser.parse_args(argv)
    scores = measure(load_model(args.model))
    for name in ("realistic", "real_dev", "semeion"):
        print(format_scores(name, scores[name]), end="\n\n")
    print(f"naive pipeline on the realistic set: {scores['realistic_naive']['all']:.1%}")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(scores, handle, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
