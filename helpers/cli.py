"""The `digits` command line: argument parsing, tables, exit codes and one-line errors.

    digits predict data/samples/            # a folder
    digits predict my_digit.jpg --top-k 3 --json
    digits predict sticky_note.jpg --number  # a row of digits, read as "2024"
    digits adapt my_digits/ --out models/mine.keras  # teach it your hand (helpers.adapt)

The work is done by `helpers.predict` and `helpers.adapt`; this module talks to the terminal.
"""

from __future__ import annotations

import argparse
import json
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from helpers.adapt import AdaptConfig, adapt_folder, describe_adaptation
from helpers.predict import (
    DEFAULT_MODEL,
    ModelError,
    NumberPrediction,
    Prediction,
    choose_model_file,
    display_path,
    list_images,
    load_model,
    native_stderr_silenced,
    predict_images,
    predict_numbers,
)
from helpers.preprocess import ImageError


def expand_inputs(paths: Sequence[str]) -> list[Prediction | Path]:
    """Files stay files, folders become their images; problems become error `Prediction`s."""
    expanded: list[Prediction | Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            try:
                expanded.extend(list_images(path))
            except ImageError as exc:
                expanded.append(Prediction(source=raw, error=str(exc)))
        elif path.exists():
            expanded.append(path)
        else:
            expanded.append(Prediction(source=raw, error=f"{raw}: no such file or folder; check the path"))
    return expanded


def format_rows(
    predictions: Sequence[Any], header: str, row: Callable[[Any], str], first: str = "input"
) -> str:
    """A plain-text table: the source column, then `header` / `row(p)`, or the error of a failed input."""
    width = max([len(p.source) for p in predictions] + [len(first)])
    lines = [f"{first:<{width}}  {header}"]
    for p in predictions:
        text = row(p) + ("  (unsure)" if p.flagged else "") if p.ok else f"error: {p.error}"
        lines.append(f"{p.source:<{width}}  {text}")
    return "\n".join(lines)


def format_table(predictions: Sequence[Prediction]) -> str:
    """A readable plain-text table, one line per input."""
    return format_rows(
        predictions,
        "digit  prob   top-k",
        lambda p: f"{p.digit:>5}  {p.probability:.3f}  " + "  ".join(f"{d}:{q:.2f}" for d, q in p.top_k),
    )


def format_number_table(predictions: Sequence[NumberPrediction]) -> str:
    """A plain-text table of numbers read, one line per input, with each digit's probability."""
    number_width = max([len(p.number) for p in predictions] + [6])
    return format_rows(
        predictions,
        f"{'number':<{number_width}}  probabilities",
        lambda p: f"{p.number:<{number_width}}  " + " ".join(f"{q:.2f}" for q in p.probabilities),
    )


def main(argv: Sequence[str] | None = None) -> int:
    """`digits predict PATH...`: classify image files and folders (or read numbers); exit 1 if any failed."""
    parser = argparse.ArgumentParser(prog="digits", description="Classify handwritten digit images.")
    sub = parser.add_subparsers(dest="command", required=True)
    cmd = sub.add_parser("predict", help="predict the digit in each image file or folder")
    cmd.add_argument("paths", nargs="+", metavar="PATH", help="image files or folders of images")
    cmd.add_argument("--model", default=None, help=f"model file (default: {display_path(DEFAULT_MODEL)})")
    cmd.add_argument("--top-k", type=int, default=3, choices=range(1, 11), metavar="K", help="show K best")
    cmd.add_argument("--json", action="store_true", help="print JSON instead of a table")
    cmd.add_argument(
        "--number", action="store_true", help="read each image as a row of digits (e.g. 2024), left to right"
    )
    cmd.add_argument(
        "--keras", action="store_true", help="answer with the Keras model even where its LiteRT copy is there"
    )
    cmd.add_argument(
        "--workers",
        type=int,
        default=None,
        metavar="N",
        help="preprocess on N processes (default: all cores)",
    )
    cmd.add_argument("--verbose", action="store_true", help="say which model file answers, and why")
    cmd.add_argument("--debug", action="store_true", help="show tracebacks")
    teach = sub.add_parser("adapt", help="teach the model your handwriting from a folder of labelled digits")
    teach.add_argument(
        "folder", metavar="FOLDER", help="images named LABEL_anything.png, or sub-folders 0 to 9"
    )
    teach.add_argument("--out", required=True, help="the adapted model to write (models/NAME.keras)")
    teach.add_argument("--model", default=None, help=f"base model (default: {display_path(DEFAULT_MODEL)})")
    teach.add_argument("--seed", type=int, default=0, help="random seed (the same seed gives the same model)")
    teach.add_argument(
        "--steps", type=int, default=AdaptConfig.steps, help="training steps (default: %(default)s)"
    )
    teach.add_argument("--debug", action="store_true", help="show tracebacks")
    args = parser.parse_args(argv)
    if args.command == "adapt":
        return adapt_command(args)
    try:
        model_file, why = choose_model_file(args.model, keras=args.keras)
        if args.verbose:
            print(f"digits: {why}", file=sys.stderr)
        if not args.debug and model_file.suffix != ".tflite":
            with native_stderr_silenced():  # TensorFlow's C++ start-up lines are noise here
                import keras  # noqa: F401
        model = load_model(model_file)
        inputs = expand_inputs(args.paths)
        files = [item for item in inputs if isinstance(item, Path)]
        results: list[Prediction] | list[NumberPrediction]
        if args.number:
            read = iter(predict_numbers(model, files, args.top_k, args.workers))
            results = [
                NumberPrediction(source=item.source, error=item.error)
                if isinstance(item, Prediction)
                else next(read)
                for item in inputs
            ]
        else:
            predicted = iter(predict_images(model, files, args.top_k, args.workers))
            results = [item if isinstance(item, Prediction) else next(predicted) for item in inputs]
    except (ModelError, ImageError) as exc:
        if args.debug:
            traceback.print_exc()
        print(f"digits: error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps([r.to_dict() for r in results], indent=2))
    elif args.number:
        print(format_number_table(results))
    else:
        print(format_table(results))
    return 0 if all(r.ok for r in results) else 1


def adapt_command(args: argparse.Namespace) -> int:
    """`digits adapt FOLDER --out FILE`: adapt the base model to a writer; print what it measured."""

    def show(done: int, total: int) -> None:
        if done == total or done % max(1, total // 10) == 0:
            print(
                f"\radapting: step {done}/{total}",
                end="\n" if done == total else "",
                file=sys.stderr,
                flush=True,
            )

    try:
        if not args.debug:
            with native_stderr_silenced():
                import keras  # noqa: F401
        config = AdaptConfig(steps=args.steps)
        record = adapt_folder(
            args.folder, args.out, base=args.model, seed=args.seed, config=config, on_step=show
        )
    except (ValueError, ModelError, ImageError, OSError) as exc:
        if args.debug:
            traceback.print_exc()
        print(f"digits: error: {exc}", file=sys.stderr)
        return 2
    for line in describe_adaptation(record):
        print(line)
    print(f"wrote {args.out}: read with `digits predict --model {args.out} IMAGE`")
    return 0


if __name__ == "__main__":
    sys.exit(main())
