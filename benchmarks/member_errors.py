"""Do an ensemble's members make the same mistakes? Their errors on validation, apart and together.

`python -m benchmarks.member_errors [--run-dir DIR]` (default: build/best, the
`best` profile's run) scores each member of the run's ensemble, and their
average, on the validation split its record names, and counts the digits
missed by at least one member, by most of them and by all. It reads only the
validation split, so it may guide a choice.
"""

from __future__ import annotations

import numpy as np

from benchmarks.tta import load_run_validation
from helpers.adapt import members_of
from helpers.predict import load_model, predict_probabilities


def count_shared_errors(member_probabilities: list[np.ndarray], labels: np.ndarray) -> dict[str, object]:
    """Errors of each member, of their mean, and of how many members miss each digit."""
    wrong = np.array([p.argmax(axis=1) != labels for p in member_probabilities])
    misses = wrong.sum(axis=0)
    return {
        "members": [int(n) for n in wrong.sum(axis=1)],
        "ensemble": int((np.mean(member_probabilities, axis=0).argmax(axis=1) != labels).sum()),
        "any": int((misses >= 1).sum()),
        "most": int((misses > len(wrong) / 2).sum()),
        "all": int((misses == len(wrong)).sum()),
    }


def find_shared_misses(member_probabilities: list[np.ndarray], labels: np.ndarray) -> list[dict[str, int]]:
    """The digits every member misses: index, label, and what the members' average reads."""
    wrong = np.all([p.argmax(axis=1) != labels for p in member_probabilities], axis=0)
    answers = np.mean(member_probabilities, axis=0).argmax(axis=1)
    return [
        {"index": int(i), "label": int(labels[i]), "answer": int(answers[i])} for i in np.flatnonzero(wrong)
    ]


def main(argv: list[str] | None = None) -> int:
    """Print the members' and the ensemble's validation errors, and how far they overlap."""
    paths, split = load_run_validation(argv, __doc__.splitlines()[0])
    members = members_of(load_model(paths.model_file))
    if len(members) < 2:
        print(f"{paths.model_file} is not an ensemble (make train PROFILE=best makes one)")
        return 1
    counts = count_shared_errors([predict_probabilities(m, split.x_val) for m in members], split.y_val)
    print(f"{paths.model_file}, validation split ({len(split.y_val):,} images), errors:")
    print(f"  each member:               {', '.join(map(str, counts['members']))}")
    print(f"  their average:             {counts['ensemble']}")
    print(f"  missed by at least one:    {counts['any']}")
    print(f"  missed by most of them:    {counts['most']}")
    print(f"  missed by all {len(members)}:           {counts['all']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
