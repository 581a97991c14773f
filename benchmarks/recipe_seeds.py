"""Train a search's finalists (the default recipe among them) on more seeds, on validation only.

    python -m benchmarks.recipe_seeds 45 46 47 [--search outputs/search.json]

A search's finalists are compared over 3 seeds; when they are within the noise of 3 seeds, more
seeds decide. Each seed draws its own validation split, as in the search, at the search's scale;
the MNIST test set is never read. About 5-7 minutes a run at full scale on 2 cores.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from helpers.search import SEARCH_JSON, SearchSettings, Trainer, config_from_params


def main(argv: list[str] | None = None) -> int:
    """Print each finalist's validation accuracy and errors on each seed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("seeds", type=int, nargs="+")
    parser.add_argument("--search", default=str(SEARCH_JSON), help="the search's summary")
    args = parser.parse_args(argv)
    summary = json.loads(Path(args.search).read_text())
    scale = summary["scale"]
    settings = SearchSettings(
        train_subset=scale["train_subset"],
        max_epochs=scale["max_epochs"],
        val_fraction=scale["val_fraction"],
        space=tuple(scale.get("space", ())),
    )
    trainer = Trainer(settings)
    for finalist in summary["finalists"]:
        name = f"trial {finalist['trial']}" + (" (the default recipe)" if finalist["baseline"] else "")
        config = config_from_params(finalist["params"], settings)
        for seed in args.seeds:
            accuracy = trainer.score(config, [seed])[0]
            validation = len(trainer.split(seed).y_val)
            errors = round((1 - accuracy) * validation)
            print(
                f"{name}, seed {seed}: {accuracy:.4%} validation ({errors} errors of {validation:,})",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
