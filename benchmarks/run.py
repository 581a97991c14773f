"""The benchmark: the original `seed_cnn` recipe against the default recipe, in one run.

For each recipe it trains on the same data pipeline and records, epoch by
epoch, the training wall time and the validation accuracy, so time-to-accuracy
can be read off on validation. The test set is scored once per run, after
training, to report; nothing is chosen by it. Then it times every
inference path on single images and on the whole test set, measures model
files (Keras, LiteRT float and int8) and the int8 model's accuracy, and times
preprocessing plus prediction of a 3000x4000 photo.

Writes outputs/benchmarks.json, outputs/benchmarks.md and
outputs/time_to_accuracy.png (under build/bench-quick/ in quick mode).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import keras
import numpy as np

from benchmarks.cli import adapt_lines, bench_adapt, bench_cli, cli_lines
from benchmarks.peak_memory import peak_rss_mb
from helpers.artifacts import load_json, save_figure, save_json, write_atomic
from helpers.config import TrainConfig, run_paths
from helpers.data import (
    SHARED_REAL_DEV_DIR,
    load_mnist,
    load_real_dev,
    relative_to_project,
    scale_images,
    split_train_val,
)
from helpers.evaluate import accuracy_interval, score, score_digit_set, score_model
from helpers.export import export_tflite
from helpers.plots import plot_time_to_accuracy, use_style
from helpers.predict import load_model, predict_image, predict_probabilities
from helpers.record import cpu_name, git_commit, library_versions
from helpers.samples import render_on_paper
from helpers.train import train_model

TARGET = 0.992
"""The original project's claimed accuracy: time-to-accuracy is read at this level, on validation."""

BEST_RUN = "build/best"
"""Where `make train PROFILE=best` puts its model and run record; the benchmark reads them."""

GOALS = {"default_mean": 0.9955, "train_time": 1.25, "best": 0.997, "best_minutes": 20.0, "time_ratio": 0.25}
"""The accuracy frontier's targets: default mean test accuracy over 3 seeds, at most this ratio of
its mean training time to `seed_cnn`'s; `best` test accuracy and training minutes; time to 99.2% as
a fraction of `seed_cnn`'s."""
CLI_GOALS = {"one_image_s": 1.0, "one_image_mb": 150.0, "images_per_s": 500.0}
"""`digits predict` in a cold process: one image's wall seconds and peak MB; 16x16 scans per second,
binary and greyscale alike."""
ADAPT_GOAL_S = 30.0
"""`digits adapt` with 10 examples of each digit, in a cold process."""


class AccuracyClock(keras.callbacks.Callback):
    """Per epoch: training seconds so far, and the validation accuracy `fit` measured."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[dict[str, float]] = []
        self._start = 0.0

    def on_train_begin(self, logs: dict | None = None) -> None:
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self.rows.append(
            {
                "epoch": epoch + 1,
                "seconds": round(time.perf_counter() - self._start, 2),
                "val_accuracy": round(float((logs or {}).get("val_accuracy", float("nan"))), 5),
            }
        )


QUICK_SUBSET, QUICK_TEST = 6000, 2000
"""Training images of each recipe, and test digits measured on, in the quick run (`make bench-quick`,
and the tests), which checks that the benchmark works: its figures are not the product's."""


def seed_recipe(quick: bool) -> TrainConfig:
    """The original project's recipe: seed_cnn, Adam 1e-3, batch 128, plateau schedule."""
    return TrainConfig(
        model="seed_cnn",
        epochs=1 if quick else 8,
        batch_size=32 if quick else 128,
        learning_rate=1e-3,
        dropout=0.5,
        augment=False,
        schedule="plateau",
        train_subset=QUICK_SUBSET if quick else 0,
        ema=0.0,
        label_smoothing=0.0,
        min_accuracy=0.0,
    )


def mlp_recipe(quick: bool) -> TrainConfig:
    """The fully connected baseline, trained the original way."""
    return dataclasses.replace(seed_recipe(quick), model="mlp", epochs=1 if quick else 15)


def default_recipe(quick: bool, seed: int) -> TrainConfig:
    """What `make all` trains (the `default` profile), with another seed."""
    if quick:
        return TrainConfig.from_profile("quick", seed=seed, train_subset=QUICK_SUBSET)
    return TrainConfig.from_profile("default", seed=seed)


def first_reaching(rows: list[dict[str, float]], target: float) -> dict[str, float] | None:
    """The first epoch's row whose validation accuracy reached `target` (None if none did)."""
    return next((r for r in rows if r["val_accuracy"] >= target), None)


def run_recipe(name: str, config: TrainConfig, mnist: Any, x_test: np.ndarray, root: Path) -> dict[str, Any]:
    """Train one recipe into `root/name`, with the accuracy clock on."""
    print(f"== training {name}: {config.model}, {config.epochs} epochs, seed {config.seed}", flush=True)
    split = split_train_val(
        mnist.x_train,
        mnist.y_train,
        val_fraction=config.val_fraction,
        seed=config.seed,
        train_subset=config.train_subset,
    )
    clock = AccuracyClock()
    paths = run_paths(root / name)
    result = train_model(config, split, paths, data_sha256=mnist.sha256, extra_callbacks=[clock])
    test_accuracy = score_model(result.model, x_test, mnist.y_test).accuracy
    steps_per_epoch = math.ceil(len(split.y_train) / config.batch_size)
    reached = first_reaching(clock.rows, TARGET)
    return {
        "name": name,
        "config": config.to_dict(),
        "model_file": relative_to_project(paths.model_file),
        "parameters": result.record["model"]["parameters"],
        "train_seconds": clock.rows[-1]["seconds"],
        "kept_epoch": result.record["kept_epoch"],
        "val_accuracy": result.record["validation"]["accuracy"],
        "test_accuracy": test_accuracy,
        "curve": clock.rows,
        "steps_per_epoch": steps_per_epoch,
        f"seconds_to_{TARGET}": reached["seconds"] if reached else None,
        # Epochs and optimizer steps do not depend on the machine, seconds do.
        f"epochs_to_{TARGET}": reached["epoch"] if reached else None,
        f"steps_to_{TARGET}": reached["epoch"] * steps_per_epoch if reached else None,
    }


def latency(call: Callable[[], Any], repeats: int) -> dict[str, float]:
    """Median and 95th percentile of one call, in milliseconds, after a warm-up."""
    for _ in range(max(3, repeats // 20)):
        call()
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        call()
        times.append(time.perf_counter() - began)
    return {
        "p50_ms": round(1e3 * float(np.median(times)), 3),
        "p95_ms": round(1e3 * float(np.percentile(times, 95)), 3),
    }


def throughput(call: Callable[[np.ndarray], Any], x: np.ndarray) -> float:
    """Images per second over the whole array, after one warm-up."""
    call(x[:256])
    began = time.perf_counter()
    call(x)
    return round(len(x) / (time.perf_counter() - began), 1)


def in_chunks(forward: Callable[[np.ndarray], Any], size: int = 256) -> Callable[[np.ndarray], Any]:
    """Apply `forward` to consecutive chunks of `size` images."""
    return lambda x: [np.asarray(forward(x[i : i + size])) for i in range(0, len(x), size)]


def bench_inference(
    model_file: str, x_test: np.ndarray, y_test: np.ndarray, calib: np.ndarray, repeats: int, workdir: Path
) -> dict[str, Any]:
    """Latency and throughput of every inference path for one model, plus file sizes."""
    model = load_model(model_file)
    one = x_test[:1]
    float_file = export_tflite(model, workdir / "float.tflite")
    int8_file = export_tflite(model, workdir / "int8.tflite", calibration=calib)
    lite = load_model(int8_file)
    keras_accuracy = score_model(model, x_test, y_test).accuracy
    int8_accuracy = score_model(lite, x_test, y_test).accuracy
    paths = {
        "model.predict": (
            lambda: model.predict(one, verbose=0),
            lambda x: model.predict(x, batch_size=256, verbose=0),
        ),
        "direct call": (lambda: model(one, training=False), in_chunks(lambda b: model(b, training=False))),
        "compiled (predict_probabilities)": (
            lambda: predict_probabilities(model, one),
            lambda x: predict_probabilities(model, x),
        ),
        "LiteRT int8 (predict_probabilities)": (
            lambda: predict_probabilities(lite, one),
            in_chunks(lambda b: predict_probabilities(lite, b)),
        ),
    }
    results = {}
    for name, (single, batch) in paths.items():
        slow = name in ("model.predict", "direct call")
        results[name] = {
            **latency(single, repeats // 4 if slow else repeats),
            "images_per_s": throughput(batch, x_test),
        }
        print(f"   {name:38s} {results[name]}", flush=True)
    return {
        "paths": results,
        "test_images": len(y_test),
        "bytes": {
            "keras": Path(model_file).stat().st_size,
            "tflite_float": float_file.stat().st_size,
            "tflite_int8": int8_file.stat().st_size,
        },
        "test_accuracy": {"keras": keras_accuracy, "tflite_int8": int8_accuracy},
    }


def bench_prediction_memory(model_file: str, image: Path) -> dict[str, Any]:
    """Peak memory of the `digits predict` command line on one image, in a fresh process."""
    report = image.with_suffix(".memory.json")
    command = [sys.executable, "-m", "benchmarks.peak_memory", str(report), "helpers.cli"]
    command += ["predict", str(image), "--model", model_file, "--json"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=True)
    return {
        "command": "digits predict IMAGE --json",
        "answer": json.loads(done.stdout)[0]["digit"],
        "peak_rss_mb": load_json(report)["peak_rss_mb"],
    }


def ensemble_accuracy(model_files: list[str], x_test: np.ndarray, y_test: np.ndarray) -> float:
    """Test accuracy of the mean probabilities of several saved models."""
    mean = np.mean([predict_probabilities(load_model(f), x_test) for f in model_files], axis=0)
    return score(mean, y_test).accuracy


def read_best(x_test: np.ndarray, y_test: np.ndarray, repeats: int) -> dict[str, Any] | None:
    """The `best` profile's run, from its run record (its training is too long to redo in every
    benchmark); its test accuracy and single-image latency are measured here. None if never trained."""
    paths = run_paths(BEST_RUN)
    if not (paths.record_file.is_file() and paths.model_file.is_file()):
        print(f"== no `best` run in {BEST_RUN}/ (make train PROFILE=best): left out", flush=True)
        return None
    record = load_json(paths.record_file)
    model = load_model(paths.model_file)
    test_accuracy = score_model(model, x_test, y_test).accuracy
    return {
        "command": "make train PROFILE=best",
        "date": record["date"],
        "git_commit": record["git_commit"],
        "config": record["config"],
        "members": record.get("members", []),
        "model_file": relative_to_project(paths.model_file),
        "parameters": record["model"]["parameters"],
        "file_bytes": record["model"]["file_bytes"],
        "train_seconds": record["train_seconds"],
        "val_accuracy": record["validation"]["accuracy"],
        "test_accuracy": test_accuracy,
        "single_image": latency(lambda: predict_probabilities(model, x_test[:1]), repeats),
    }


def bench_photo(model_file: str, mnist: Any, workdir: Path, repeats: int) -> dict[str, Any]:
    """Preprocess and predict a 3000x4000 JPEG photo of a test digit."""
    photo = render_on_paper(mnist.x_test[0], np.random.default_rng(0), size=4000).crop((500, 0, 3500, 4000))
    path = workdir / "photo_3000x4000.jpg"
    photo.save(path, quality=90)
    model = load_model(model_file)
    answer = predict_image(model, path)
    return {
        "file": path.name,
        "size": list(photo.size),
        "digit": answer.digit,
        "true": int(mnist.y_test[0]),
        **latency(lambda: predict_image(model, path), repeats),
    }


def bench_real_dev(model_file: str) -> dict[str, Any] | None:
    """The whole real_dev set, photos included, where the development machines keep it (else None);
    a clone ships only part of it, which 04_infer scores."""
    if not (SHARED_REAL_DEV_DIR / "MANIFEST.csv").is_file():
        return None
    scores = score_digit_set(load_model(model_file), load_real_dev(SHARED_REAL_DEV_DIR))
    return {"folder": relative_to_project(SHARED_REAL_DEV_DIR), **scores}


def run(quick: bool = False) -> dict[str, Any]:
    """Run the whole benchmark and write its JSON, Markdown and figure."""
    root = run_paths("build/bench-quick" if quick else "build/bench").root
    out = root / "outputs" if quick else run_paths().outputs
    mnist = load_mnist()
    if quick:
        mnist = dataclasses.replace(mnist, x_test=mnist.x_test[:QUICK_TEST], y_test=mnist.y_test[:QUICK_TEST])
    x_test = scale_images(mnist.x_test)
    seeds = [42] if quick else [42, 43, 44]
    began = time.perf_counter()
    seed_run = run_recipe("seed_cnn", seed_recipe(quick), mnist, x_test, root)
    mlp_run = run_recipe("mlp", mlp_recipe(quick), mnist, x_test, root)
    default_runs = [
        run_recipe(f"default-seed{s}", default_recipe(quick, s), mnist, x_test, root) for s in seeds
    ]
    memory = {"training_peak_rss_mb": peak_rss_mb()}  # the whole process so far: an upper bound
    print(f"== peak memory so far (training): {memory['training_peak_rss_mb']:,.0f} MB", flush=True)
    ensemble = {
        "members": [r["name"] for r in default_runs],
        "test_accuracy": ensemble_accuracy([r["model_file"] for r in default_runs], x_test, mnist.y_test),
    }
    calib = scale_images(mnist.x_train[:500])
    repeats = 20 if quick else 300
    with tempfile.TemporaryDirectory(dir=root) as tmp:
        print("== inference", flush=True)
        inference = {
            "seed_cnn": bench_inference(
                seed_run["model_file"], x_test, mnist.y_test, calib, repeats, Path(tmp) / "s"
            ),
            "default": bench_inference(
                default_runs[0]["model_file"], x_test, mnist.y_test, calib, repeats, Path(tmp) / "d"
            ),
        }
        photo = bench_photo(default_runs[0]["model_file"], mnist, Path(tmp), 5 if quick else 20)
        best = None if quick else read_best(x_test, mnist.y_test, repeats)
        memory["prediction"] = bench_prediction_memory(
            default_runs[0]["model_file"], Path(tmp) / photo["file"]
        )
        cli = bench_cli(Path(default_runs[0]["model_file"]), Path(tmp), 3, 200 if quick else 2000)
        adapt = bench_adapt(Path(default_runs[0]["model_file"]), Path(tmp))
    real_dev = bench_real_dev(default_runs[0]["model_file"])
    results = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": "make bench-quick" if quick else "make bench",
        "commit": git_commit(),
        "quick": quick,
        "machine": {"cpu_count": os.cpu_count(), "cpu": cpu_name(), "platform": platform.platform()},
        "versions": library_versions(),
        "wall_seconds": round(time.perf_counter() - began, 1),
        "training": {"seed_cnn": seed_run, "others": [mlp_run], "default": default_runs},
        "ensemble": ensemble,
        "best": best,
        "memory": memory,
        "inference": inference,
        "photo": photo,
        "cli": cli,
        "adapt": adapt,
        "real_dev": real_dev,
    }
    return write_results(results, out)


def write_results(results: dict[str, Any], out: Path) -> dict[str, Any]:
    """Summarize, then write benchmarks.json, benchmarks.md and time_to_accuracy.png to `out`."""
    train = results["training"]
    results["summary"] = summarize(train["seed_cnn"], train["default"], results["inference"])
    if "ensemble" in results:
        results["summary"]["ensemble_of_defaults_test_accuracy"] = results["ensemble"]["test_accuracy"]
    if results.get("best"):
        results["summary"]["best_test_accuracy"] = results["best"]["test_accuracy"]
        results["summary"]["best_train_seconds"] = results["best"]["train_seconds"]
    if "memory" in results:
        results["summary"]["training_peak_rss_mb"] = results["memory"]["training_peak_rss_mb"]
        results["summary"]["prediction_peak_rss_mb"] = results["memory"]["prediction"]["peak_rss_mb"]
    save_json(results, out / "benchmarks.json")
    markdown = to_markdown(results)
    write_atomic(out / "benchmarks.md", lambda tmp: tmp.write_text(markdown, encoding="utf-8"))
    use_style()
    curves = {
        "seed_cnn (original recipe)": train["seed_cnn"]["curve"],
        "default": train["default"][0]["curve"],
    }
    run_name = f"{results['command']} of {results['date'][:10]}"
    save_figure(plot_time_to_accuracy(curves, TARGET, run_name), out / "time_to_accuracy.png")
    print(markdown)
    return results


def summarize(seed_run: dict, default_runs: list[dict], inference: dict) -> dict[str, Any]:
    """The figures the goals are judged by, as ratios within this run."""
    key = f"seconds_to_{TARGET}"
    seed_time, default_time = seed_run[key], default_runs[0][key]
    base = inference["seed_cnn"]["paths"]["model.predict"]["images_per_s"]
    ours = inference["default"]["paths"]
    best_throughput = max(p["images_per_s"] for p in ours.values())
    acc = inference["default"]["test_accuracy"]
    accuracies = [r["test_accuracy"] for r in default_runs]
    default_seconds = [r["train_seconds"] for r in default_runs]
    return {
        "default_test_accuracy_mean": float(np.mean(accuracies)),
        "default_test_accuracy_std": float(np.std(accuracies)),
        "seed_cnn_test_accuracy": seed_run["test_accuracy"],
        "default_train_seconds": default_seconds,
        "train_time_ratio": round(float(np.mean(default_seconds)) / seed_run["train_seconds"], 3),
        f"seed_cnn_{key}": seed_time,
        f"default_{key}": default_time,
        **{
            f"{name}_{unit}_to_{TARGET}": run_.get(f"{unit}_to_{TARGET}")
            for name, run_ in (("seed_cnn", seed_run), ("default", default_runs[0]))
            for unit in ("epochs", "steps")
        },
        "time_to_target_ratio": round(default_time / seed_time, 3) if seed_time and default_time else None,
        "default_single_image_p50_ms": ours["compiled (predict_probabilities)"]["p50_ms"],
        "default_litert_single_image_p50_ms": ours["LiteRT int8 (predict_probabilities)"]["p50_ms"],
        "throughput_ratio_vs_seed_predict": round(best_throughput / base, 2),
        "default_keras_bytes": inference["default"]["bytes"]["keras"],
        "default_int8_bytes": inference["default"]["bytes"]["tflite_int8"],
        "int8_accuracy_drop_points": round(100 * (acc["keras"] - acc["tflite_int8"]), 3),
    }


def all_runs(training: dict[str, Any]) -> list[dict[str, Any]]:
    """Every training run of a benchmark: the original recipe, other baselines, the default seeds."""
    return [training["seed_cnn"], *training.get("others", []), *training["default"]]


def to_markdown(results: dict[str, Any]) -> str:
    """The benchmark's tables as Markdown."""
    s, train = results["summary"], results["training"]
    key = f"seconds_to_{TARGET}"
    commit = f", commit {results['commit'][:7]}" if results.get("commit") else ""
    cpu = f", {results['machine']['cpu']}" if results["machine"].get("cpu") else ""
    n_test = results["inference"]["default"].get("test_images", 10_000)
    lines = [
        f"Benchmark of {results['date'][:10]} (`{results['command']}`{commit}, "
        f"{results['machine']['cpu_count']} CPU cores{cpu}, "
        f"{results['wall_seconds'] / 60:.1f} min in all).",
        "",
        "| recipe | parameters | epochs | train time | time to 99.2% validation | epoch / step reaching it "
        f"| val accuracy | test accuracy (95% interval, {n_test:,} digits) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for run_ in all_runs(train):
        reached = f"{run_[key]:.0f} s" if run_[key] else "not reached"
        epoch, step = run_.get(f"epochs_to_{TARGET}"), run_.get(f"steps_to_{TARGET}")
        low, high = accuracy_interval(run_["test_accuracy"], n_test)
        lines.append(
            f"| {run_['name']} | {run_['parameters']:,} | {len(run_['curve'])} | "
            f"{run_['train_seconds']:.0f} s | {reached} | {f'{epoch} / {step:,}' if epoch else '-'} | "
            f"{run_['val_accuracy']:.2%} | {run_['test_accuracy']:.2%} ({low:.2%}-{high:.2%}) |"
        )
    accuracies = [r["test_accuracy"] for r in train["default"]]
    half = (np.subtract(*accuracy_interval(float(np.mean(accuracies)), n_test)[::-1])) / 2
    lines += [
        "",
        f"Default recipe, test accuracy over {len(train['default'])} seed(s): "
        f"{s['default_test_accuracy_mean']:.2%} (std {s['default_test_accuracy_std']:.2%}, "
        f"{min(accuracies):.2%} to {max(accuracies):.2%}), against ±{half:.2%} of 95% interval for one "
        f"model on {n_test:,} test digits: the seeds spread "
        f"{'less' if max(accuracies) - min(accuracies) < 2 * half else 'more'} than one measurement's noise."
        + (
            f" The mean of their probabilities (an ensemble whose members each trained on their own split; "
            f"`PROFILE=best` trains its members on one): "
            f"{s['ensemble_of_defaults_test_accuracy']:.2%}."
            if "ensemble_of_defaults_test_accuracy" in s
            else ""
        ),
        "",
        *best_lines(results.get("best")),
        "",
        f"| model | inference path | single image p50 | p95 | images/s ({n_test:,} test images) |",
        "|---|---|---|---|---|",
    ]
    for model_name, inf in results["inference"].items():
        for path_name, p in inf["paths"].items():
            lines.append(
                f"| {model_name} | {path_name} | {p['p50_ms']:.2f} ms | {p['p95_ms']:.2f} ms "
                f"| {p['images_per_s']:,.0f} |"
            )
    lines += [
        "",
        "| model | .keras | LiteRT float | LiteRT int8 | test accuracy Keras / int8 |",
        "|---|---|---|---|---|",
    ]
    for model_name, inf in results["inference"].items():
        b, a = inf["bytes"], inf["test_accuracy"]
        lines.append(
            f"| {model_name} | {b['keras'] / 1e3:,.0f} KB | {b['tflite_float'] / 1e3:,.0f} KB | "
            f"{b['tflite_int8'] / 1e3:,.0f} KB | {a['keras']:.2%} / {a['tflite_int8']:.2%} |"
        )
    p = results["photo"]
    lines += [
        "",
        f"Preprocessing + prediction of a {p['size'][0]}x{p['size'][1]} JPEG photo: "
        f"p50 {p['p50_ms']:.0f} ms, "
        f"p95 {p['p95_ms']:.0f} ms (answer {p['digit']}, true {p['true']}).",
        "",
        *(
            [
                f"Peak resident memory: {s['training_peak_rss_mb']:,.0f} MB for the benchmark process "
                f"after all its training; {s['prediction_peak_rss_mb']:,.0f} MB for "
                f"`digits predict` on that photo, in a fresh process.",
                "",
            ]
            if "training_peak_rss_mb" in s
            else []
        ),
        *real_dev_lines(results.get("real_dev"), train["default"][0]["name"]),
        f"Ratios: time to 99.2% default/seed_cnn = {s['time_to_target_ratio']}; best default throughput / "
        f"seed_cnn model.predict = {s['throughput_ratio_vs_seed_predict']}x.",
        "",
        *goal_lines(results),
        *(["", *cli_lines(results["cli"], CLI_GOALS)] if "cli" in results else []),
        *(["", *adapt_lines(results["adapt"], ADAPT_GOAL_S)] if "adapt" in results else []),
    ]
    return "\n".join(lines) + "\n"


def real_dev_lines(real_dev: dict[str, Any] | None, model: str) -> list[str]:
    """The default model on the whole real_dev set, kind by kind, as Markdown."""
    if not real_dev:
        return []
    kinds = [*real_dev["by_kind"].items(), ("all", real_dev["all"])]
    parts = [
        f"{kind} {row['accuracy']:.1%} of {row['count']} ({row['interval'][0]:.1%}-{row['interval'][1]:.1%})"
        for kind, row in kinds
    ]
    return [f"{model} on the whole real_dev (`{real_dev['folder']}`, 95% intervals): "
            + "; ".join(parts) + ".", ""]  # fmt: skip


def best_lines(best: dict[str, Any] | None) -> list[str]:
    """The `best` profile's figures, from its run record, as Markdown."""
    if not best:
        return [f"No `best` run in `{BEST_RUN}/` (`make train PROFILE=best` makes one): not measured."]
    members = len(best["members"]) or 1
    return [
        f"`best` profile (`{best['command']}`, run of {best['date'][:10]}, read from its run record): "
        f"{members} x `{best['config']['model']}`, {best['config']['epochs']} epochs each, "
        f"{best['parameters']:,} parameters, {best['file_bytes'] / 1e3:,.0f} KB; "
        f"{best['train_seconds'] / 60:.1f} min of training; validation accuracy {best['val_accuracy']:.2%}, "
        f"test accuracy {best['test_accuracy']:.2%}; one image {best['single_image']['p50_ms']:.2f} ms (p50)."
    ]


def goal_lines(results: dict[str, Any]) -> list[str]:
    """The accuracy frontier's goals against this run's figures, as a Markdown table."""
    s, train, best = results["summary"], results["training"], results.get("best")
    key, seed = f"seconds_to_{TARGET}", train["seed_cnn"]
    default = train["default"][0]
    ratio = s["time_to_target_ratio"]

    def met(ok: bool | None) -> str:
        return "not measured" if ok is None else ("yes" if ok else "no")

    def reached(run_: dict[str, Any]) -> str:
        if not run_[key]:
            return "not reached"
        return f"{run_[key]:.0f} s, epoch {run_[f'epochs_to_{TARGET}']}, step {run_[f'steps_to_{TARGET}']:,}"

    rows = [
        (
            f"1. default recipe, test accuracy, mean of {len(train['default'])} seeds",
            f">= {GOALS['default_mean']:.2%}",
            f"{s['default_test_accuracy_mean']:.2%} (std {s['default_test_accuracy_std']:.2%})",
            met(s["default_test_accuracy_mean"] >= GOALS["default_mean"]),
        ),
        (
            "1. default training time, mean / `seed_cnn`'s",
            f"<= {GOALS['train_time']:.2f}",
            f"{s['train_time_ratio']:.3f} ({np.mean(s['default_train_seconds']):.1f} s / "
            f"{seed['train_seconds']:.1f} s)",
            met(s["train_time_ratio"] <= GOALS["train_time"]),
        ),
        (
            "2. `best` profile, test accuracy",
            f">= {GOALS['best']:.2%}",
            f"{best['test_accuracy']:.2%}" if best else "no run",
            met(best["test_accuracy"] >= GOALS["best"] if best else None),
        ),
        (
            "2. `best` profile, training time",
            f"<= {GOALS['best_minutes']:.0f} min",
            f"{best['train_seconds'] / 60:.1f} min" if best else "no run",
            met(best["train_seconds"] <= 60 * GOALS["best_minutes"] if best else None),
        ),
        (
            "3. time to 99.2% validation, default (seed 42) / `seed_cnn`",
            f"<= {GOALS['time_ratio']}",
            f"{ratio if ratio else 'no ratio'} ({reached(default)}; seed_cnn: {reached(seed)})",
            met(ratio <= GOALS["time_ratio"] if ratio else False),
        ),
    ]
    return [
        "| goal (the accuracy frontier) | target | measured in this run | met |",
        "|---|---|---|---|",
        *(f"| {goal} | {target} | {measured} | {ok} |" for goal, target, measured, ok in rows),
    ]


def main(argv: list[str] | None = None) -> int:
    """`python -m benchmarks [--quick | --render]`."""
    parser = argparse.ArgumentParser(description="Benchmark training and inference.")
    parser.add_argument("--quick", action="store_true", help="a tiny run that checks the benchmark works")
    parser.add_argument(
        "--render", action="store_true", help="rewrite the tables and plot from the JSON only"
    )
    args = parser.parse_args(argv)
    if args.render:
        out = run_paths().outputs
        write_results(load_json(out / "benchmarks.json"), out)
    else:
        run(quick=args.quick)
    return 0
