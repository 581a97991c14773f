"""Do an ensemble's members make the same mistakes? Their errors on validation, apart and together.

Command: `python -m experiments.member_errors [--run-dir DIR]` (default: build/best, the `best`
profile's run). It scores each member of the run's ensemble, and their average, on the validation
split its record names, counts the digits missed by at least one member, by most of them and by
all, and writes experiments/results/member_errors.json. It reads only the validation split, so it
may guide a choice.

Answer: mostly the same. The `best` run of 2026-12-06 (five members of the searched recipe, one
split): the members miss 24, 28, 29, 29 and 33 of the 6,000 validation digits, their average 27;
43 digits are missed by at least one member, 28 by three or more and 16 by all five. Averaging
recovers only what one or two members miss, and 99.70% allows 18 errors.

Date: 2026-12-06.
"""

from __future__ import annotations

from experiments.lab import count_shared_errors, load_run_validation, save_result
from helpers.adapt import members_of
from helpers.data import relative_to_project
from helpers.predict import load_model, predict_probabilities


def main(argv: list[str] | None = None) -> int:
    """Print and save the members' and the ensemble's validation errors, and how far they overlap."""
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
    save_result(
        {"model": relative_to_project(paths.model_file), "validation_images": len(split.y_val), **counts},
        "member_errors",
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
