"""Which epoch of a one-cycle run to keep, and how fast the weight average should warm up.

`python -m benchmarks.checkpoint_rule [--seeds 42 43 44] [--warmups 10 2]` (about 20 minutes) trains the
default recipe once per seed and EMA warm-up, keeping the averaged weights of every
epoch, and compares three rules for the model to keep:

- **first best**: the first epoch with the highest validation accuracy (the rule of
  `ModelCheckpoint(save_best_only=True)`);
- **best, ties on loss**: of the epochs tied at the highest validation accuracy, the
  one with the lowest validation loss;
- **final**: the last epoch, where the one-cycle schedule has annealed to zero.

An epoch chosen on the validation split and scored there is flattered by the choice.
So each rule chooses on one half of the split and is scored on the other, both ways
round, and the two scores are summed (errors out of the 6,000 images). Test accuracy
of each rule's model is reported too, never used to choose. The same runs measure the
cost of giving the temperature and the threshold their own half of the split.
Writes outputs/checkpoint_rule.json and prints the tables (`--render` prints them from the JSON).
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import tempfile
import time
from pathlib import Path
from typing import Any

import keras
import numpy as np

from helpers import models
from helpers.artifacts import load_json, save_json
from helpers.config import TrainConfig, run_paths
from helpers.data import load_mnist, scale_images, split_train_val
from helpers.evaluate import accuracy_interval, apply_temperature, choose_threshold, fit_temperature
from helpers.predict import predict_probabilities
from helpers.train import batchnorm_sample, make_callbacks, make_dataset
from helpers.trust import reliability

RULES = ("first best", "best, ties on loss", "final")


def choose(rule: str, accuracy: np.ndarray, loss: np.ndarray) -> int:
    """The epoch (0-based) that `rule` keeps, given per-epoch validation accuracy and loss."""
    if rule == "final":
        return len(accuracy) - 1
    tied = np.flatnonzero(accuracy == accuracy.max())
    return int(tied[0]) if rule == "first best" else int(tied[np.argmin(loss[tied])])


def per_image(probabilities: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Whether each image is right, and its cross-entropy."""
    picked = np.clip(probabilities[np.arange(len(labels)), labels], 1e-7, 1.0)
    return probabilities.argmax(axis=1) == labels, -np.log(picked)


def train_keeping_every_epoch(config: TrainConfig, split: Any, folder: Path) -> list[Path]:
    """Train as `fit_model` does, saving the validated (averaged) weights after every epoch."""
    keras.utils.set_random_seed(config.seed)
    steps = math.ceil(len(split.y_train) / config.batch_size)
    model = models.build_model(config, steps)
    train_ds = make_dataset(
        split.x_train, split.y_train, config.batch_size,
        shuffle=True, augment=config.augment, elastic=config.elastic, seed=config.seed,
    )  # fmt: skip
    callbacks = make_callbacks(config, folder / "best.keras", False, batchnorm_sample(split, config.seed))
    callbacks.append(keras.callbacks.ModelCheckpoint(folder / "epoch-{epoch:02d}.keras"))
    model.fit(
        train_ds,
        validation_data=make_dataset(split.x_val, split.y_val, batch_size=1024),
        epochs=config.epochs,
        callbacks=callbacks,
        shuffle=False,
        verbose=0,
    )
    return sorted(folder.glob("epoch-*.keras"))


def measure(config: TrainConfig, split: Any, x_test: np.ndarray, y_test: np.ndarray) -> dict[str, Any]:
    """One run: every rule's choice on each half and its held-out errors, test accuracy, calibration."""
    halves = np.random.default_rng(config.seed).permutation(len(split.y_val)) % 2
    with tempfile.TemporaryDirectory(prefix="checkpoint-rule-") as scratch:
        began = time.perf_counter()
        files = train_keeping_every_epoch(config, split, Path(scratch))
        seconds = time.perf_counter() - began
        val, test = [], []
        for file in files:
            model = keras.models.load_model(file, compile=False)
            val.append(predict_probabilities(model, split.x_val))
            test.append(predict_probabilities(model, x_test))
    right, loss = zip(*(per_image(p, split.y_val) for p in val), strict=True)
    right, loss = np.array(right), np.array(loss)  # (epochs, images)
    result: dict[str, Any] = {
        "seed": config.seed, "seconds": round(seconds, 1), "validation_images": len(split.y_val), "rules": {},
    }  # fmt: skip
    for rule in RULES:
        held_out_errors, picks = 0, []
        for half in (0, 1):
            chooser, scorer = halves == half, halves != half
            epoch = choose(rule, right[:, chooser].mean(axis=1), loss[:, chooser].mean(axis=1))
            held_out_errors += int((~right[epoch, scorer]).sum())
            picks.append(epoch + 1)
        full = choose(rule, right.mean(axis=1), loss.mean(axis=1))
        result["rules"][rule] = {
            "epochs_chosen_by_halves": picks,
            "held_out_errors": held_out_errors,
            "held_out_accuracy": 1 - held_out_errors / len(split.y_val),
            "epoch_on_whole_split": full + 1,
            "test_accuracy": float((test[full].argmax(axis=1) == y_test).mean()),
        }
    result["validation_accuracy_by_epoch"] = right.mean(axis=1).round(5).tolist()
    result["calibration"] = split_the_fits(val[-1], split.y_val, halves, test[-1], y_test)
    return result


def split_the_fits(
    p_val: np.ndarray, y_val: np.ndarray, halves: np.ndarray, p_test: np.ndarray, y_test: np.ndarray
) -> dict[str, Any]:
    """Temperature and threshold fitted on the whole validation split, or each on its own half:
    what each gives on the test set (reported only), and how far the in-sample figures flatter."""
    out = {}
    for name, t_rows, h_rows in (
        ("one split for both", np.ones_like(halves, bool), np.ones_like(halves, bool)),
        ("a half each", halves == 0, halves == 1),
    ):
        temperature = fit_temperature(p_val[t_rows], y_val[t_rows])
        val_scaled = apply_temperature(p_val, temperature)
        test_scaled = apply_temperature(p_test, temperature)
        conf = val_scaled.max(axis=1)
        threshold = choose_threshold(conf[h_rows], (val_scaled.argmax(axis=1) == y_val)[h_rows])
        kept = test_scaled.max(axis=1) >= threshold["value"]
        right = test_scaled.argmax(axis=1) == y_test
        out[name] = {
            "temperature": temperature,
            "test_ece": reliability(test_scaled, y_test).ece,
            "threshold": threshold["value"],
            "kept_accuracy_where_chosen": threshold["kept_accuracy"],
            "test_kept_accuracy": float(right[kept].mean()),
            "test_flagged_share": float(1 - kept.mean()),
        }
    return out


def to_markdown(results: dict[str, Any]) -> str:
    """The comparison's two tables: the checkpoint rules, then the calibration splits."""
    seeds = ", ".join(str(seed) for seed in results["seeds"])
    lines = [
        f"| EMA warm-up, rule (seeds {seeds}) | held-out errors | held-out accuracy (95% interval) "
        "| test accuracy, mean (reported only) |",
        "|---|---|---|---|",
    ]
    for name, row in results["summary"].items():
        low, high = row["interval"]
        lines.append(
            f"| {name} | {row['held_out_errors']} | {row['held_out_accuracy']:.2%} ({low:.2%}-{high:.2%}) "
            f"| {row['test_accuracy_mean']:.2%} |"
        )
    lines += [
        "",
        "| temperature and threshold fitted on | test ECE, mean | test accuracy above the threshold, "
        "lowest of the runs (target 99.9%) | share of test answers flagged, mean |",
        "|---|---|---|---|",
    ]
    for name in ("one split for both", "a half each"):
        rows = [run["calibration"][name] for run in results["runs"]]
        lines.append(
            f"| {name} | {np.mean([r['test_ece'] for r in rows]):.2%} | "
            f"{min(r['test_kept_accuracy'] for r in rows):.2%} | "
            f"{np.mean([r['test_flagged_share'] for r in rows]):.1%} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Run the comparison and write outputs/checkpoint_rule.json."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[42, 43, 44])
    parser.add_argument("--warmups", type=int, nargs="+", default=[models.EMA_WARMUP, 2])
    parser.add_argument("--epochs", type=int, default=TrainConfig().epochs)
    parser.add_argument("--train-subset", type=int, default=0, help="for a quick try only")
    parser.add_argument("--out", default=str(run_paths().outputs / "checkpoint_rule.json"))
    parser.add_argument("--render", action="store_true", help="print the tables of the last run's JSON")
    args = parser.parse_args(argv)
    if args.render:
        print(to_markdown(load_json(args.out)), end="")
        return 0
    mnist = load_mnist()
    x_test, y_test = scale_images(mnist.x_test), mnist.y_test.astype(np.int64)
    runs = []
    for warmup in args.warmups:
        models.EMA_WARMUP = warmup  # read by WarmEMAAdam when the training step is traced
        for seed in args.seeds:
            config = dataclasses.replace(
                TrainConfig(), seed=seed, epochs=args.epochs, train_subset=args.train_subset
            )
            split = split_train_val(
                mnist.x_train, mnist.y_train, val_fraction=config.val_fraction, seed=seed,
                train_subset=config.train_subset,
            )  # fmt: skip
            run = {"ema_warmup": warmup, **measure(config, split, x_test, y_test)}
            runs.append(run)
            line = "; ".join(
                f"{rule}: {r['held_out_errors']} held-out errors, epochs {r['epochs_chosen_by_halves']}"
                for rule, r in run["rules"].items()
            )
            print(f"warm-up {warmup}, seed {seed} ({run['seconds']:.0f} s): {line}", flush=True)
    summary = {}
    for warmup in args.warmups:
        mine = [r for r in runs if r["ema_warmup"] == warmup]
        n = sum(r["validation_images"] for r in mine)
        for rule in RULES:
            errors = sum(r["rules"][rule]["held_out_errors"] for r in mine)
            accuracy = 1 - errors / n
            summary[f"warm-up {warmup}, {rule}"] = {
                "held_out_errors": errors,
                "held_out_accuracy": accuracy,
                "interval": accuracy_interval(accuracy, n),
                "test_accuracy_mean": float(np.mean([r["rules"][rule]["test_accuracy"] for r in mine])),
            }
    results = {"runs": runs, "summary": summary, "seeds": args.seeds}
    save_json(results, args.out)
    print(to_markdown(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
