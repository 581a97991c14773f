"""`digits predict` as a user runs it: a cold process per call, on one photo and on a folder of scans.

Each path is timed by wall clock around a fresh process (median of `repeats`),
with its peak memory (`benchmarks.peak_memory`):

- LiteRT: the default, the `.tflite` copy beside the model, preprocessing on all cores;
- Keras: `--keras --workers 1`, the `.keras` model on one core, as `digits predict` ran before
  it had a LiteRT copy and a process pool.

A folder's rate is counted beyond start-up: (images - 1) / (folder time - one-image time).
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from helpers.artifacts import load_json
from helpers.config import PROJECT_ROOT
from helpers.data import load_mnist, load_semeion

PATHS = {"LiteRT": [], "Keras": ["--keras", "--workers", "1"]}
"""The command-line options of each path, after `digits predict INPUT --model MODEL --json`."""
FOLDERS = {"folder": "binary", "greyscale_folder": "greyscale"}
"""The folders of scans each path reads: the prefix of their figures' keys, and their kind (`write_scans`)."""
ONE_IMAGE = PROJECT_ROOT / "data" / "samples" / "3_blue_ink.jpg"


def run_cold(model_file: Path, inputs: Path, options: list[str], report: Path) -> tuple[float, float, list]:
    """One fresh `digits predict` process: its wall seconds, peak MB and answers."""
    command = [sys.executable, "-m", "benchmarks.peak_memory", str(report), "helpers.cli"]
    command += ["predict", str(inputs), "--model", str(model_file), "--json", *options]
    began = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, timeout=1800, check=True)
    seconds = time.perf_counter() - began
    return seconds, load_json(report)["peak_rss_mb"], json.loads(done.stdout)


def write_scans(folder: Path, count: int, kind: str = "binary") -> list[int]:
    """`count` 16x16 scans, dark ink on white, as PNG files; their labels.

    `binary`: Semeion's scans, cycled through its 1,593. `greyscale`: MNIST's test
    digits as `grey_scan` makes them, cycled through its 10,000.
    """
    folder.mkdir(parents=True, exist_ok=True)
    if kind == "binary":
        semeion = load_semeion()
        scans, labels = [255 - np.asarray(s, dtype=np.uint8) for s in semeion.sources], semeion.labels
    else:
        mnist = load_mnist()
        scans, labels = [grey_scan(digit) for digit in mnist.x_test[:count]], mnist.y_test
    written = []
    for i in range(count):
        j = i % len(scans)
        Image.fromarray(scans[j]).save(folder / f"{i:05d}.png")
        written.append(int(labels[j]))
    return written


def grey_scan(digit: np.ndarray, side: int = 16) -> np.ndarray:
    """An MNIST digit as a greyscale scan: cut to its ink, padded square, bilinear to `side`, ink dark."""
    rows, cols = np.flatnonzero(digit.any(axis=1)), np.flatnonzero(digit.any(axis=0))
    crop = digit[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    height, width = crop.shape
    square = np.zeros((max(height, width),) * 2, dtype=np.uint8)
    top, left = (len(square) - height) // 2, (len(square) - width) // 2
    square[top : top + height, left : left + width] = crop
    return 255 - np.asarray(Image.fromarray(square).resize((side, side), Image.Resampling.BILINEAR))


def bench_cli(model_file: Path, workdir: Path, repeats: int = 3, scans: int = 2000) -> dict[str, Any]:
    """Cold `digits predict` on one photo and on a folder of `scans` 16x16 scans of each kind, per path."""
    labels = {prefix: write_scans(workdir / kind, scans, kind) for prefix, kind in FOLDERS.items()}
    results: dict[str, Any] = {"image": ONE_IMAGE.name, "scans": scans, "repeats": repeats, "paths": {}}
    answers: dict[str, dict[str, list[int]]] = {prefix: {} for prefix in FOLDERS}
    for name, options in PATHS.items():
        print(f"== digits predict, {name}: one image x {repeats}, then {scans:,} scans a kind", flush=True)
        ones = [run_cold(model_file, ONE_IMAGE, options, workdir / "one.json") for _ in range(repeats)]
        one_seconds = statistics.median(s for s, _, _ in ones)
        path = results["paths"][name] = {
            "options": options,
            "one_image_wall_s": [round(s, 3) for s, _, _ in ones],
            "one_image_wall_median_s": round(one_seconds, 3),
            "one_image_peak_mb": max(peak for _, peak, _ in ones),
            "one_image_digit": ones[0][2][0]["digit"],
        }
        for prefix, kind in FOLDERS.items():
            seconds, peak, read = run_cold(model_file, workdir / kind, options, workdir / "folder.json")
            answers[prefix][name] = [a["digit"] for a in read]
            path |= {
                f"{prefix}_wall_s": round(seconds, 2),
                f"{prefix}_peak_mb": peak,
                f"{prefix}_images_per_s": round((scans - 1) / max(seconds - one_seconds, 1e-9), 1),
                f"{prefix}_accuracy": float(np.mean(np.array(answers[prefix][name]) == labels[prefix])),
            }
    lite, keras = results["paths"]["LiteRT"], results["paths"]["Keras"]
    for prefix, read in answers.items():
        results[f"same_{prefix}_answers"] = float(np.mean(np.array(read["LiteRT"]) == read["Keras"]))
    results["one_image_speedup"] = round(
        keras["one_image_wall_median_s"] / lite["one_image_wall_median_s"], 2
    )
    results["one_image_memory_ratio"] = round(lite["one_image_peak_mb"] / keras["one_image_peak_mb"], 3)
    results["folder_speedup"] = round(lite["folder_images_per_s"] / keras["folder_images_per_s"], 2)
    return results


def cli_lines(cli: dict[str, Any], goals: dict[str, float]) -> list[str]:
    """The command-line figures as Markdown: a table per path, then the ratios and goals."""
    lines = [
        f"`digits predict` in a cold process (median of {cli['repeats']}; one photo, `{cli['image']}`; "
        f"then a folder of {cli['scans']:,} 16x16 scans of each kind, rate beyond start-up: Semeion's binary "
        "scans, and MNIST test digits cut to their ink and resized with bilinear filtering, greyscale):",
        "",
        "| path | options | one image: wall | peak memory | binary scans: images/s | accuracy "
        "| greyscale scans: images/s | accuracy |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, p in cli["paths"].items():
        options = " ".join(p["options"]) or "(default)"
        folders = " | ".join(
            as_text(p, f"{prefix}_{key}", form)
            for prefix in FOLDERS
            for key, form in (("images_per_s", "{:,.0f}"), ("accuracy", "{:.2%}"))
        )
        lines.append(
            f"| {name} | `{options}` | {p['one_image_wall_median_s']:.2f} s | "
            f"{p['one_image_peak_mb']:,.0f} MB | {folders} |"
        )
    lite = cli["paths"]["LiteRT"]
    rows = [
        ("one image, cold, wall median", f"<= {goals['one_image_s']:.1f} s",
         f"{lite['one_image_wall_median_s']:.2f} s", lite["one_image_wall_median_s"] <= goals["one_image_s"]),
        ("one image, cold, peak memory", f"<= {goals['one_image_mb']:.0f} MB",
         f"{lite['one_image_peak_mb']:.0f} MB", lite["one_image_peak_mb"] <= goals["one_image_mb"]),
        *((goal, f">= {goals['images_per_s']:.0f} images/s", as_text(lite, key, "{:,.0f} images/s"),
           lite[key] >= goals["images_per_s"] if key in lite else None)
          for goal, key in (("16x16 scans beyond start-up", "folder_images_per_s"),
                            ("greyscale 16x16 scans beyond start-up", "greyscale_folder_images_per_s"))),
    ]  # fmt: skip
    greyscale = cli.get("same_greyscale_folder_answers")
    lines += [
        "",
        f"LiteRT against Keras in this run: one image {cli['one_image_speedup']}x faster with "
        f"{cli['one_image_memory_ratio']:.2f}x the memory; binary scans {cli['folder_speedup']}x faster; "
        f"the two paths give the same digit on {cli['same_folder_answers']:.2%} of the binary scans"
        + (f" and {greyscale:.2%} of the greyscale ones." if greyscale is not None else "."),
        "",
        "| goal | target | measured | met |",
        "|---|---|---|---|",
        *(f"| {goal} | {target} | {measured} | {MET[ok]} |" for goal, target, measured, ok in rows),
    ]
    return lines


MET = {True: "yes", False: "no", None: "not measured"}
"""The goal tables' last column."""


def as_text(figures: dict[str, Any], key: str, form: str) -> str:
    """`figures[key]` written with `form`, or "not measured" (a run from before its folder was timed)."""
    return form.format(figures[key]) if key in figures else "not measured"


ADAPT_PER_DIGIT = 10
"""Examples of each digit that `digits adapt` is timed with (Semeion's first half: the half the
recipe was chosen on; the chapter reports the other)."""


def write_writer(folder: Path, per_digit: int = ADAPT_PER_DIGIT, seed: int = 0) -> None:
    """`per_digit` Semeion scans of each digit from its first half, as `LABEL_i.png` files."""
    from helpers.adapt import draw_per_digit
    from helpers.data import SEMEION_FIRST_HALF as FIRST_HALF

    folder.mkdir(parents=True, exist_ok=True)
    semeion = load_semeion()
    pool = np.arange(len(semeion.labels)) < FIRST_HALF
    for i in draw_per_digit(semeion.labels, pool, per_digit, seed):
        image = 255 - np.asarray(semeion.sources[i], dtype=np.uint8)
        Image.fromarray(image).save(folder / f"{semeion.labels[i]}_{i:04d}.png")


def bench_adapt(model_file: Path, workdir: Path) -> dict[str, Any]:
    """`digits adapt` in a cold process on 10 Semeion scans of each digit: wall, peak memory, record."""
    folder, out = workdir / "writer", workdir / "writer.keras"
    write_writer(folder)
    print(f"== digits adapt: {ADAPT_PER_DIGIT} of each digit", flush=True)
    command = [sys.executable, "-m", "benchmarks.peak_memory", str(workdir / "adapt.json"), "helpers.cli"]
    command += ["adapt", str(folder), "--out", str(out), "--model", str(model_file)]
    began = time.perf_counter()
    subprocess.run(command, capture_output=True, text=True, timeout=1800, check=True)
    seconds = time.perf_counter() - began
    record = load_json(out.with_suffix(".json"))
    return {
        "per_digit": ADAPT_PER_DIGIT,
        "wall_s": round(seconds, 2),
        "peak_mb": load_json(workdir / "adapt.json")["peak_rss_mb"],
        "seconds_in_record": record["seconds"],
        "validation": record["validation"],
    }


def adapt_lines(adapt: dict[str, Any], goal_seconds: float) -> list[str]:
    """The adaptation figures as Markdown, with the goal."""
    v = adapt["validation"]
    met = "yes" if adapt["wall_s"] <= goal_seconds else "no"
    return [
        f"`digits adapt` in a cold process, {adapt['per_digit']} Semeion scans of each digit (a fifth set "
        f"aside): {adapt['wall_s']:.1f} s wall ({adapt['seconds_in_record']:.1f} s reading and adapting, "
        f"the rest TensorFlow's start and writing the files), {adapt['peak_mb']:,.0f} MB peak. "
        f"Set-aside digits {v['writer_before']:.1%} before, {v['writer_after']:.1%} after; "
        f"MNIST validation {v['mnist_before']:.2%} before, {v['mnist_after']:.2%} after.",
        "",
        "| goal | target | measured | met |",
        "|---|---|---|---|",
        f"| adapting with {adapt['per_digit']} per digit, from the command line | <= {goal_seconds:.0f} s "
        f"| {adapt['wall_s']:.1f} s | {met} |",
    ]
