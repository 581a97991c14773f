"""The results README.md and docs/*.md quote, in generated blocks.

A block sits between `<!-- generated: NAME -->` and `<!-- end -->`. `python -m helpers.blocks
--write` (`make readme`) rewrites the text between the markers from the files in outputs/ and
models/, and nothing else. Each block's renderer is a pure function of the files it quotes, so
the tests can render the committed files (git HEAD) the same way.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from helpers.artifacts import write_atomic
from helpers.config import PROJECT_ROOT, TrainConfig, run_paths
from helpers.data import EXPECTED_SHAPES, relative_to_project
from helpers.evaluate import accuracy_interval
from helpers.report import headline_rows

RECORD, METRICS = "models/best_model.json", "outputs/metrics.json"
BENCH_MD, BENCH = "outputs/benchmarks.md", "outputs/benchmarks.json"
REALISTIC, REAL_DIGITS = "outputs/realistic.json", "outputs/real_digits.json"
TRUST, ADAPT, SEARCH = "outputs/trust.json", "outputs/adapt.json", "outputs/search.json"
COURSE, TESTS = "outputs/course.json", "outputs/tests.json"
"""The files the blocks quote, from the project's (or a run's) root."""
BLOCK = re.compile(r"<!-- generated: ([\w-]+) -->(.*?)<!-- end -->", re.DOTALL)
"""A generated block: its name, then its text (after a newline when the block starts a line)."""
WIDTH = 78
"""Generated prose is wrapped at the README's width."""
NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
                "eleven", "twelve")  # fmt: skip
ADAPTED_WITH = 10
"""Examples per digit of the adapted models whose MNIST test accuracy outputs/adapt.json keeps."""
README_EPSILON = "0.1"
"""The attack strength the README quotes."""


@dataclass(frozen=True)
class Block:
    """How a generated block is made: the files it quotes and the function that writes it."""

    sources: tuple[str, ...]
    render: Callable[..., str]


BLOCKS: dict[str, Block] = {}
"""Every block README.md and docs/*.md may hold, by name."""


def block(name: str, *sources: str) -> Callable[[Callable[..., str]], Callable[..., str]]:
    """Register the decorated function as block `name`'s renderer, called with `sources` loaded."""

    def register(render: Callable[..., str]) -> Callable[..., str]:
        BLOCKS[name] = Block(sources, render)
        return render

    return register


def pct(share: float, digits: int = 1) -> str:
    """'99.6%' from 0.996."""
    return f"{share:.{digits}%}"


def span(interval: Sequence[float], digits: int = 1) -> str:
    """'98.1-99.4%' from (0.981, 0.994)."""
    low, high = interval
    return f"{low * 100:.{digits}f}-{high:.{digits}%}"


def number_word(n: int) -> str:
    """'eight' for 8; digits from 13 on."""
    return NUMBER_WORDS[n] if 0 <= n < len(NUMBER_WORDS) else f"{n:,}"


STARTS_A_BLOCK = re.compile(r"[-+*>#|<]|\d+[.)]$")
"""A word that would open a list, quote, heading, table or HTML block at the start of a line."""


def wrap(text: str, width: int = WIDTH) -> str:
    """Prose in lines of at most `width` characters; no line starts with a word Markdown would
    read as the start of a list, quote or heading."""
    lines: list[str] = []
    for word in text.split():
        if lines and (len(lines[-1]) + 1 + len(word) <= width or STARTS_A_BLOCK.match(word)):
            lines[-1] += f" {word}"
        else:
            lines.append(word)
    return "\n".join(lines)


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A Markdown table, in the style of the README's ('|---|---|')."""

    def line(cells: Sequence[str]) -> str:
        return "|" + "|".join(f" {cell} " if cell else " " for cell in cells) + "|"

    return "\n".join([line(header), "|" + "---|" * len(header), *map(line, rows)])


def benchmark_table(markdown: str, header: str) -> str:
    """The table of outputs/benchmarks.md whose header line starts with `header`, copied whole."""
    lines = markdown.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith(header)), None)
    if start is None:
        raise ValueError(f"{BENCH_MD} has no table headed {header!r}")
    end = next((i for i in range(start, len(lines)) if not lines[i].startswith("|")), len(lines))
    return "\n".join(lines[start:end])


@block("headline", RECORD, METRICS)
def headline_markdown(record: dict[str, Any], metrics: dict[str, Any]) -> str:
    """README: the report's headline table, less the commit (the run record keeps it)."""
    return table(["", ""], [row for row in headline_rows(record, metrics) if row[0] != "Commit"])


@block("course-cost", COURSE)
def course_cost_sentence(course: dict[str, Any]) -> str:
    """README: what the latest `make all` took, chapter by chapter (helpers.course writes it)."""
    chapters = course["chapters"]
    total = sum(chapter["seconds"] for chapter in chapters.values())
    longest = max(chapters, key=lambda name: chapters[name]["seconds"])
    peaks = [chapter["peak_mb"] for chapter in chapters.values() if chapter["peak_mb"]]
    profile = "" if course["profile"] == "default" else f" PROFILE={course['profile']}"
    memory = f", and no chapter's kernel used more than {max(peaks) / 1024:.1f} GB of memory" if peaks else ""
    return wrap(
        f"On {course['cpu_count']} CPU cores `make all{profile}` runs the {number_word(len(chapters))} "
        f"chapters in {total / 60:.0f} min (`{longest}` {chapters[longest]['seconds'] / 60:.1f} min; "
        f"each chapter's latest run){memory}."
    )


@block("test-cost", TESTS)
def test_cost_sentence(tests: dict[str, Any]) -> str:
    """README: how long the latest `make test` took (helpers.course writes it when every test passed)."""
    return wrap(
        f"The latest `make test` took {tests['seconds'] / 60:.0f} min on {tests['cpu_count']} CPU cores."
    )


@block("recipes", BENCH_MD)
def recipes_table(benchmarks: str) -> str:
    """README: the benchmark's recipes against the original project's."""
    return benchmark_table(benchmarks, "| recipe |")


@block("goals", BENCH_MD)
def goals_table(benchmarks: str) -> str:
    """docs/experiments.md: the benchmark's goals."""
    return benchmark_table(benchmarks, "| goal (the accuracy frontier) |")


@block("cli-paths", BENCH_MD)
def cli_paths_table(benchmarks: str) -> str:
    """docs/experiments.md: `digits predict` in a cold process, LiteRT against Keras."""
    return benchmark_table(benchmarks, "| path | options |")


@block("threshold", RECORD)
def threshold_sentence(record: dict[str, Any]) -> str:
    """README: how the confidence threshold is picked, and its value."""
    threshold = record["confidence_threshold"]
    return wrap(
        "The threshold is picked on the validation split, as the lowest confidence at which the "
        f"answers kept are still {pct(threshold['target_accuracy'])} right: "
        f"{threshold['value']:.3f} for the shipped model."
    )


@block("threshold-flags", RECORD)
def threshold_flags_sentence(record: dict[str, Any]) -> str:
    """docs/preprocessing.md: the threshold, and what it does on validation."""
    threshold = record["confidence_threshold"]
    return wrap(
        f"For the shipped model it is {threshold['value']:.3f}: on validation it flags "
        f"{pct(threshold['flagged_share'])} of the answers, and those it keeps are "
        f"{pct(threshold['kept_accuracy'], 2)} right."
    )


def real_digit_set(real: dict[str, Any], name: str) -> tuple[str, dict[str, Any]]:
    """The key and entry of outputs/real_digits.json whose name, before its folder, is `name`."""
    found = [(key, entry) for key, entry in real.items() if key.split(" (")[0] == name]
    if not found:
        raise ValueError(f"{REAL_DIGITS} has no {name!r} entry")
    return found[0]


@block("real-world", REALISTIC, REAL_DIGITS)
def real_world_table(realistic: dict[str, Any], real: dict[str, Any]) -> str:
    """README: how often images unlike MNIST are read right, with our preprocessing and without."""
    ours, naive = realistic["ours"], realistic["naive"]
    dev = real_digit_set(real, "real_dev")[1]
    semeion = real_digit_set(real, "Semeion")[1]["all"]
    kinds = " and ".join(dev["by_kind"])
    renderings = (
        f"{realistic['count']:,} renderings of MNIST test digits in {len(realistic['kinds'])} kinds "
        "(photos, scans, canvases), our preprocessing"
    )
    rows = [
        (renderings, ours),
        ("the same renderings, naive resize", naive),
        (f"real_dev: {dev['all']['count']:,} {kinds} digits by other people (`data/real_dev/`)", dev["all"]),
        (f"Semeion: {semeion['count']:,} binary scans by other writers", semeion),
    ]
    return table(
        ["images", "read right", "95% interval"],
        [[label, pct(row["accuracy"]), span(row["interval"])] for label, row in rows],
    )


@block("realistic", REALISTIC)
def realistic_table(realistic: dict[str, Any]) -> str:
    """docs/preprocessing.md: the renderings of each kind, with our preprocessing and the naive one."""
    scores, naive = realistic["ours"]["table"], realistic["naive"]["by_kind"]
    counts = {row["count"] for row in scores["by_kind"].values()}
    kind = f"kind ({counts.pop()} images each)" if len(counts) == 1 else "kind"
    total = scores["all"]
    bold = [
        f"all {total['count']:,}",
        pct(total["accuracy"]),
        *(str(total[key]) for key in ("no_digit", "flagged", "wrong_unflagged")),
        pct(realistic["naive"]["accuracy"]),
    ]
    return table(
        [kind, "ours", '"no digit found"', "flagged unsure", "wrong, not flagged", "naive resize"],
        [
            *(
                [name, pct(row["accuracy"], 0), str(row["no_digit"]), str(row["flagged"]),
                 str(row["wrong_unflagged"]), pct(naive[name], 0)]
                for name, row in scores["by_kind"].items()
            ),
            [f"**{cell}**" for cell in bold],
        ],
    )  # fmt: skip


@block("real-digits", REAL_DIGITS, BENCH)
def real_digits_table(real: dict[str, Any], bench: dict[str, Any]) -> str:
    """docs/preprocessing.md: the real digits by other writers, by set and kind; the whole real_dev
    (photos included, on the development machines only) from `make bench`, where it has it."""
    rows = []
    whole = {"real_dev, whole set": bench["real_dev"]} if bench.get("real_dev") else {}
    for key, entry in {**whole, **real}.items():
        kinds = [*entry["by_kind"].items(), *([("all", entry["all"])] if len(entry["by_kind"]) > 1 else [])]
        rows += [
            [key.split(" (")[0], kind, f"{row['count']:,}", pct(row["accuracy"]), str(row["no_digit"]),
             str(row["flagged"]), str(row["wrong_unflagged"])]
            for kind, row in kinds
        ]  # fmt: skip
    return table(
        ["set", "kind", "images", "accuracy", '"no digit found"', "flagged unsure", "wrong, not flagged"],
        rows,
    )


@block("trust", TRUST)
def trust_table(trust: dict[str, Any]) -> str:
    """README: corruptions, calibration and attacks, in three rows."""
    n, fgsm, pgd = trust["attack_images"], trust["fgsm"][README_EPSILON], trust["pgd"][README_EPSILON]
    return table(
        ["question", "latest run", "95% interval"],
        [
            [
                f"mean accuracy over MNIST-C's {len(trust['corruptions'])} corruptions of the test digits",
                pct(trust["corruption_mean"]),
                "each corruption's in docs/trust.md",
            ],
            [
                "expected calibration error on test, without / with the fitted temperature",
                f"{pct(trust['ece_before'], 2)} / {pct(trust['ece_after'], 2)}",
                f"{span(trust['ece_before_interval'], 2)} / "
                f"{span(trust['ece_after_interval'], 2)} (bootstrap)",
            ],
            [
                f"accuracy at epsilon {README_EPSILON}, FGSM (one step) / PGD (ten steps), {n:,} test digits",
                f"{pct(fgsm)} / {pct(pgd)}",
                f"{span(accuracy_interval(fgsm, n))} / {span(accuracy_interval(pgd, n))}",
            ],
        ],
    )


@block("corruptions", TRUST)
def corruptions_table(trust: dict[str, Any]) -> str:
    """docs/trust.md: accuracy under each corruption, per model, with this run's model's interval."""
    by_model, intervals = trust["corruptions_by_model"], trust["corruption_intervals"]
    models = list(by_model.values())
    return table(
        ["corruption", *by_model, "95% interval (this run's model)"],
        [
            *(
                [name.replace("_", " "), *(pct(scores[name]) for scores in models), span(intervals[name])]
                for name in models[0]
            ),
            ["**mean**", *(f"**{pct(sum(s.values()) / len(s))}**" for s in models), ""],
        ],
    )


@block("calibration", TRUST)
def calibration_sentence(trust: dict[str, Any]) -> str:
    """docs/trust.md: calibration error without and with the temperature."""
    return wrap(
        f"{pct(trust['ece_before'], 2)} without a temperature and {pct(trust['ece_after'], 2)} with the "
        f"fitted one (T = {trust['temperature']:.3f}; 95% bootstrap interval "
        f"{span(trust['ece_after_interval'], 2)})"
    )


@block("attacks", TRUST)
def attacks_table(trust: dict[str, Any]) -> str:
    """docs/trust.md: accuracy under FGSM and PGD at each epsilon."""
    return table(
        ["epsilon", "FGSM (one step)", "PGD (ten steps)"],
        [[epsilon, pct(share), pct(trust["pgd"][epsilon])] for epsilon, share in trust["fgsm"].items()],
    )


@block("adaptation", ADAPT)
def adaptation_sentence(adapt: dict[str, Any]) -> str:
    """README: what adapting with ten examples of each digit gains and forgets."""
    semeion = adapt["semeion"]
    return wrap(
        f"In `06_adapt`, {number_word(ADAPTED_WITH)} of each digit take Semeion's held-out half from "
        f"{pct(semeion['before'])} to {pct(semeion[str(ADAPTED_WITH)]['accuracy'])}, and MNIST's test set "
        f"from {pct(adapt['mnist_test_before'])} to {pct(adapt['mnist_test_after'])} (means of "
        f"{number_word(adapt['seeds'])} draws)"
    )


def accuracy_and_spread(row: dict[str, Any]) -> str:
    """'97.21 (std 0.50)' in points, the mean of the draws and their standard deviation (a spread,
    not an interval); the accuracy alone from a single draw."""
    spread = "" if row["std"] is None else f" (std {row['std'] * 100:.2f})"
    return f"{row['accuracy'] * 100:.2f}{spread}"


@block("held-out", ADAPT)
def held_out_table(adapt: dict[str, Any]) -> str:
    """docs/adaptation.md: Semeion's held-out half after adapting with k examples of each digit."""
    semeion = adapt["semeion"]
    ks = [k for k in semeion if k != "before"]
    return table(
        ["k", "before", *ks],
        [
            [
                "Semeion, second half",
                f"{semeion['before'] * 100:.2f}",
                *(accuracy_and_spread(semeion[k]) for k in ks),
            ]
        ],
    )


@block("held-out-mnist", ADAPT)
def held_out_mnist_sentence(adapt: dict[str, Any]) -> str:
    """docs/adaptation.md: the MNIST test set before and after adapting."""
    return wrap(
        f"The MNIST test set reads {pct(adapt['mnist_test_before'], 2)} before adapting and "
        f"{pct(adapt['mnist_test_after'], 2)} after."
    )


ADAPT_GOALS = {"10": 0.98, "3": 0.96, "mnist_after": 0.993, "seconds": 30.0}
"""The adaptation recipe's goals: Semeion's held-out half with 10 and with 3 examples of each digit,
MNIST's test set after adapting with 10, and `digits adapt`'s wall seconds in a cold process."""


@block("adapt-goals", ADAPT, BENCH)
def adapt_goals_table(adapt: dict[str, Any], benchmarks: dict[str, Any]) -> str:
    """docs/adaptation.md: the adaptation recipe's goals against the latest run and bench."""
    semeion, draws = adapt["semeion"], adapt["seeds"]

    def met(ok: bool) -> str:
        return "yes" if ok else "no"

    rows = [
        [f"Semeion held-out half, {k} per digit: at least {ADAPT_GOALS[k]:.0%}",
         f"{pct(semeion[k]['accuracy'], 2)} mean of {draws} draws (lowest {pct(semeion[k]['lowest'], 2)})",
         met(semeion[k]["accuracy"] >= ADAPT_GOALS[k])]
        for k in ("10", "3")
    ]  # fmt: skip
    rows.append([
        f"MNIST test after adapting with 10 per digit: at least {ADAPT_GOALS['mnist_after']:.1%}",
        f"{pct(adapt['mnist_test_after'], 2)} mean of {draws} draws",
        met(adapt["mnist_test_after"] >= ADAPT_GOALS["mnist_after"]),
    ])  # fmt: skip
    if benchmarks.get("adapt"):
        wall, date = benchmarks["adapt"]["wall_s"], benchmarks["date"][:10]
        rows.append([
            f"adapting with 10 per digit: at most {ADAPT_GOALS['seconds']:.0f} s",
            f"`digits adapt` in a cold process: {wall:.1f} s wall (`make bench` of {date})",
            met(wall <= ADAPT_GOALS["seconds"]),
        ])  # fmt: skip
    return table(["goal", "measured", "met"], rows)


@block("search", SEARCH, BENCH)
def search_paragraph(search: dict[str, Any], benchmarks: dict[str, Any]) -> str:
    """README: the committed search's scale and count, and what its best setting measured since."""
    scale, summary = search["scale"], benchmarks["summary"]
    images = scale["train_subset"] or round(EXPECTED_SHAPES["x_train"][0] * (1 - scale["val_fraction"]))
    epochs = scale["max_epochs"]
    as_default = scale["train_subset"] == 0 and epochs == TrainConfig().epochs
    trained = (
        f"as the default does ({images:,} images, {epochs} epochs)"
        if as_default
        else f"on {images:,} images for up to {epochs} epochs"
    )
    trials = search["trials_complete"] + search["trials_pruned"]
    return wrap(
        f"The committed search trained each trial {trained}, varying the "
        f"{number_word(len(scale['space']))} settings that cost no time (`SPACE=timeless`): {trials} "
        f"trials, {search['trials_pruned']} pruned. Its best setting beat the old default on validation "
        f"and is now the default recipe: {pct(summary['default_test_accuracy_mean'], 2)} test, mean of "
        f"{len(summary['default_train_seconds'])} seeds."
    )


def read_sources(read: Callable[[str], str | None]) -> dict[str, Any]:
    """Every file a block quotes that `read` (path -> text, None if absent) finds; JSON parsed."""
    files: dict[str, Any] = {}
    for path in sorted({source for entry in BLOCKS.values() for source in entry.sources}):
        text = read(path)
        if text is not None:
            files[path] = json.loads(text) if path.endswith(".json") else text
    return files


def files_under(root: str | os.PathLike[str]) -> Callable[[str], str | None]:
    """A `read_sources` reader of the files under `root`."""

    def read(path: str) -> str | None:
        file = Path(root) / path
        return file.read_text(encoding="utf-8") if file.is_file() else None

    return read


def render_blocks(files: Mapping[str, Any]) -> dict[str, str]:
    """Each block whose sources are all in `files` (path -> loaded file), rendered from them."""
    return {
        name: entry.render(*(files[source] for source in entry.sources))
        for name, entry in BLOCKS.items()
        if all(source in files for source in entry.sources)
    }


def missing_sources(files: Mapping[str, Any], names: Iterable[str] = BLOCKS) -> list[str]:
    """The files blocks `names` quote that `files` lacks."""
    return sorted({source for name in names for source in BLOCKS[name].sources if source not in files})


def blocks_in(markdown: str) -> list[tuple[str, str]]:
    """(name, text) of each generated block in `markdown`."""
    return [(match[1], shape(match[2])[1]) for match in BLOCK.finditer(markdown)]


def shape(body: str) -> tuple[str, str, str]:
    """A block's body as (newline or '', text, newline or ''): a block that starts a line keeps its
    newlines around the text, and one inside a line has none."""
    before, after = "\n" * body.startswith("\n"), "\n" * body.endswith("\n")
    return before, body[len(before) : len(body) - len(after)], after


def fill_blocks(markdown: str, rendered: Mapping[str, str]) -> str:
    """`markdown` with the text of each block in `rendered` replaced by its rendering."""

    def fill(match: re.Match[str]) -> str:
        name = match[1]
        if name not in rendered:
            return match[0]
        before, _, after = shape(match[2])
        return f"<!-- generated: {name} -->{before}{rendered[name]}{after}<!-- end -->"

    return BLOCK.sub(fill, markdown)


def markdown_files(root: Path = PROJECT_ROOT) -> list[Path]:
    """README.md and docs/*.md: where the blocks are."""
    return [root / "README.md", *sorted((root / "docs").glob("*.md"))]


def write_blocks(files: Mapping[str, Any], paths: Sequence[Path] | None = None) -> list[Path]:
    """Rewrite every block in `paths` (README.md and docs/*.md) from `files`; return the paths
    that changed. Writes nothing when a block is unknown or a file it quotes is missing."""
    texts = {path: path.read_text(encoding="utf-8") for path in paths or markdown_files()}
    names = {name for text in texts.values() for name, _ in blocks_in(text)}
    unknown = sorted(names - set(BLOCKS))
    if unknown:
        raise ValueError(f"unknown generated blocks {unknown}; known: {sorted(BLOCKS)}")
    missing = missing_sources(files, names)
    if missing:
        raise FileNotFoundError(f"{', '.join(missing)} missing: run `make all` (or `make bench`) first")
    rendered = render_blocks(files)
    changed = []
    for path, text in texts.items():
        new = fill_blocks(text, rendered)
        if new != text:
            changed.append(write_atomic(path, lambda tmp, new=new: tmp.write_text(new, encoding="utf-8")))
    return changed


def marked_blocks(files: Mapping[str, Any]) -> str:
    """Every block `files` can render, between its markers, for the terminal."""
    return "\n\n".join(
        f"<!-- generated: {n} -->\n{text}\n<!-- end -->" for n, text in render_blocks(files).items()
    )


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m helpers.blocks [--run-dir DIR] [--write]`: print the generated blocks, or write
    them into README.md and docs/*.md."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run-dir", default="", help="the run's root (default: the project)")
    parser.add_argument("--write", action="store_true", help="rewrite them in README.md and docs/*.md")
    args = parser.parse_args(argv)
    try:
        files = read_sources(files_under(run_paths(args.run_dir).root))
        if args.write:
            changed = write_blocks(files)
            print("\n".join(map(relative_to_project, changed)) or "README.md and docs/*.md: up to date")
            return 0
        blocks = marked_blocks(files)
        if blocks:
            print(blocks)
        if missing_sources(files):
            raise FileNotFoundError(f"not rendered, for want of {', '.join(missing_sources(files))}")
    except (FileNotFoundError, ValueError) as exc:
        print(f"blocks: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
