"""Search the training settings with Optuna: each trial is a `TrainConfig`, trained by `train_model`.

One path: `suggest_config` turns a trial into a config, `train_model` trains it exactly as
02_train does, and the validation accuracy after every epoch goes back to Optuna, whose
pruner stops a trial that is doing worse than the median of the others at the same epoch.
Nothing here touches the MNIST test set.

Where the study lives (`SearchSettings.storage`):

- ``sqlite`` (the default): one file, `build/search/study.sqlite3`, shared by the workers of
  one machine;
- ``journal``: Optuna's append-only journal file, `build/search/study.journal`;
- ``postgresql://user@host:port/db``: one database shared by workers on several machines
  (Optuna's RDB storage, through psycopg).

With SQLite and PostgreSQL each running trial records a heartbeat; a trial whose worker died
(killed, or its machine lost) is marked failed once its heartbeat is `grace` seconds old, and
Optuna queues a copy of it, which the next free worker runs. A trial stopped by Ctrl-C is
marked failed too, and the next `make search` queues it again first: nothing is lost, and the
study goes on where it stopped. Run `python -m helpers.search --help` for the command line.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import functools
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from helpers.artifacts import save_json
from helpers.config import PROJECT_ROOT, TrainConfig, run_paths
from helpers.progress import say

SEARCH_DIR = PROJECT_ROOT / "build" / "search"
"""Where the embedded study and its trials' scratch files live (git-ignored)."""
SEARCH_JSON = PROJECT_ROOT / "outputs" / "search.json"
"""The summary `make search` writes."""
STORAGES = ("sqlite", "journal", "postgresql")
FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)


class SearchError(RuntimeError):
    """A search that cannot start, with a one-line reason (a wrong URL, a server that is down...)."""


@dataclass(frozen=True)
class SearchSettings:
    """What a search runs: its budget, its storage, and the scale of each trial."""

    trials: int = 20
    """Stop once this many trials have completed or been pruned, over all workers (and earlier runs)."""
    minutes: float = 0.0
    """Also stop starting new trials after this many minutes of this run; 0: no time limit."""
    storage: str = "sqlite"
    study: str = "digits"
    train_subset: int = 10000
    """Training images per trial (stratified); 0: all 54,000. The validation split is always whole."""
    max_epochs: int = 6
    """Trials train for `max_epochs` // 3 to `max_epochs` epochs."""
    val_fraction: float = 0.1
    trial_seeds: tuple[int, ...] = (42,)
    """Seeds (hence splits) each trial is trained and averaged over."""
    space: tuple[str, ...] = ()
    """The settings searched (names from `SPACE`); () means all of them. The others keep the
    default recipe's values, and a fixed `epochs` is `max_epochs`."""
    finalists: int = 2
    """The best trials re-run on `final_seeds` before one is called best."""
    final_seeds: tuple[int, ...] = (42, 43, 44)
    heartbeat: int = 10
    """Seconds between a running trial's heartbeats (SQLite and PostgreSQL)."""
    grace: int = 60
    """Seconds after its last heartbeat before a trial is taken for dead and retried."""

    def scale(self) -> dict[str, Any]:
        """The settings that make trials comparable: a study keeps those it was created with."""
        return {"train_subset": self.train_subset, "max_epochs": self.max_epochs,
                "val_fraction": self.val_fraction, "trial_seeds": list(self.trial_seeds),
                "space": list(self.searched())}  # fmt: skip

    def searched(self) -> tuple[str, ...]:
        """The names of the settings this search varies, in `SPACE`'s order."""
        return tuple(name for name in SPACE if name in self.space) if self.space else SPACE

    def __post_init__(self) -> None:
        unknown = sorted(set(self.space) - set(SPACE))
        if unknown:
            raise SearchError(f"cannot search {', '.join(unknown)}: the space has {', '.join(SPACE)}")


SPACE = ("learning_rate", "warmup", "epochs", "batch_size", "dropout", "label_smoothing", "ema",
         "rotation", "zoom", "shift", "width")  # fmt: skip
"""The settings a search can vary: `suggest_config` asks for each, under its `TrainConfig` name."""
TIMELESS = ("learning_rate", "warmup", "dropout", "label_smoothing", "ema", "rotation", "zoom", "shift")
"""The settings that do not change a run's training time (`SPACE=timeless`)."""


def suggest_config(
    trial: optuna.Trial, settings: SearchSettings, base: TrainConfig | None = None
) -> TrainConfig:
    """The search space: the `TrainConfig` a trial asks for (the rest as in `base`)."""
    low_epochs = max(1, settings.max_epochs // 3)
    batch_sizes = [b for b in (64, 128, 256) if b <= (settings.train_subset or 54000)] or [32]
    ask = {
        "learning_rate": lambda: trial.suggest_float("learning_rate", 1e-3, 1e-2, log=True),
        "warmup": lambda: trial.suggest_float("warmup", 0.0, 0.2),
        "epochs": lambda: trial.suggest_int("epochs", low_epochs, settings.max_epochs),
        "batch_size": lambda: trial.suggest_categorical("batch_size", batch_sizes),
        "dropout": lambda: trial.suggest_float("dropout", 0.0, 0.5),
        "label_smoothing": lambda: trial.suggest_float("label_smoothing", 0.0, 0.2),
        "ema": lambda: trial.suggest_categorical("ema", [0.0, 0.99, 0.998]),
        "rotation": lambda: trial.suggest_float("rotation", 0.0, 20.0),
        "zoom": lambda: trial.suggest_float("zoom", 0.0, 0.2),
        "shift": lambda: trial.suggest_float("shift", 0.0, 4.0),
        "width": lambda: trial.suggest_categorical("width", [16, 24, 32, 48]),
    }
    return config_from_params({name: ask[name]() for name in settings.searched()}, settings, base)


def config_from_params(
    params: dict[str, Any], settings: SearchSettings, base: TrainConfig | None = None
) -> TrainConfig:
    """The config a trial with `params` trains (each parameter is a `TrainConfig` field; settings
    the search does not vary are `base`'s, and a fixed `epochs` is the search's `max_epochs`)."""
    fixed = {} if "epochs" in settings.searched() else {"epochs": settings.max_epochs}
    return dataclasses.replace(
        base or TrainConfig(),
        **fixed,
        **params,
        train_subset=settings.train_subset,
        val_fraction=settings.val_fraction,
        ensemble=1,
    )


def baseline_params(settings: SearchSettings) -> dict[str, Any]:
    """The course's default recipe as a trial of the search (its epochs capped at the search's)."""
    default = TrainConfig()
    return {name: getattr(default, name) for name in settings.searched()} | (
        {"epochs": min(default.epochs, settings.max_epochs)} if "epochs" in settings.searched() else {}
    )


# --- storage -----------------------------------------------------------------------------------------


def storage_kind(spec: str) -> str:
    """'sqlite', 'journal' or 'postgresql', from a storage spec or URL."""
    if spec in ("", "sqlite") or spec.startswith("sqlite:"):
        return "sqlite"
    if spec == "journal" or spec.endswith(".journal"):
        return "journal"
    if spec.split(":", 1)[0].split("+", 1)[0] in ("postgresql", "postgres"):
        return "postgresql"
    raise SearchError(
        f"unknown storage {spec!r}: use sqlite, journal, or postgresql://user@host:port/database"
    )


def open_storage(settings: SearchSettings) -> optuna.storages.BaseStorage:
    """The study's storage, connected and checked; a `SearchError` with one line if it cannot be."""
    spec, kind = settings.storage, storage_kind(settings.storage)
    if kind == "journal":
        path = Path(spec) if spec.endswith(".journal") else SEARCH_DIR / "study.journal"
        path.parent.mkdir(parents=True, exist_ok=True)
        from optuna.storages.journal import JournalFileBackend, JournalStorage

        return JournalStorage(JournalFileBackend(str(path)))
    if kind == "sqlite":
        if spec in ("", "sqlite"):
            SEARCH_DIR.mkdir(parents=True, exist_ok=True)
            spec = f"sqlite:///{SEARCH_DIR / 'study.sqlite3'}"
        engine = {"connect_args": {"timeout": 60}}  # workers of one machine wait for the file's lock
    else:
        if spec.startswith("postgres://"):
            spec = "postgresql://" + spec[len("postgres://") :]
        try:
            import psycopg  # noqa: F401
        except ImportError:
            raise SearchError(
                "PostgreSQL storage needs the psycopg driver: pip install 'psycopg[binary]'"
            ) from None
        engine = {"connect_args": {"connect_timeout": 10}, "pool_pre_ping": True}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return optuna.storages.RDBStorage(
                spec,
                engine_kwargs=engine,
                heartbeat_interval=settings.heartbeat,
                grace_period=settings.grace,
                heartbeat_stale_trial_callback=optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=3),
            )
    except Exception as error:  # SQLAlchemy's errors carry the driver's message on their first line
        reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
        raise SearchError(f"cannot open the study's storage {redact(spec)}: {reason}") from None


def redact(url: str) -> str:
    """`url` with any password replaced by ***."""
    head, at, tail = url.rpartition("@")
    if not at or ":" not in head.split("//", 1)[-1]:
        return url
    scheme, _, credentials = head.partition("//")
    return f"{scheme}//{credentials.split(':', 1)[0]}:***@{tail}"


def open_study(settings: SearchSettings, worker: int = 0) -> optuna.Study:
    """Create the study, or load it to continue; refuse one made at another scale.

    Only the process that creates the study records its scale and queues the default recipe, so
    two machines starting at the same moment on a new PostgreSQL study queue it once.
    """
    storage = open_storage(settings)
    try:
        existing = optuna.create_study(study_name=settings.study, storage=storage, direction="maximize")
        created = True
    except optuna.exceptions.DuplicatedStudyError:
        existing = optuna.load_study(study_name=settings.study, storage=storage)
        created = False
    # TPE, seeded by the worker and by the trials already there, so that neither two workers nor a
    # resumed run repeat another's first random points; the constant liar keeps parallel workers
    # from asking for the same point while a trial runs.
    seed = 1000 * worker + len(existing.get_trials(deepcopy=False))
    study = optuna.load_study(
        study_name=settings.study,
        storage=storage,
        sampler=optuna.samplers.TPESampler(seed=seed, constant_liar=True, n_startup_trials=8),
        # Not before a third of the longest run: early epochs rank how fast a setting starts.
        pruner=optuna.pruners.MedianPruner(
            n_startup_trials=5, n_warmup_steps=max(2, settings.max_epochs // 3)
        ),
    )
    made_with = study.user_attrs.get("scale")
    if created:
        study.set_user_attr("scale", settings.scale())
        study.enqueue_trial(baseline_params(settings), user_attrs={"baseline": True})  # the first trial
    elif made_with is not None and made_with != settings.scale():  # None: its creator is setting it up
        raise SearchError(
            f"study {settings.study!r} was made with {made_with}, not {settings.scale()}: "
            "use those settings to continue it, or another study name (STUDY=...)"
        )
    return study


def requeue_interrupted(study: optuna.Study) -> list[int]:
    """Queue again each trial that Ctrl-C (or a lost worker) failed and nothing has retried yet."""
    trials = study.get_trials(deepcopy=False)
    retried = {retry_of(t) for t in trials}
    again = [
        t for t in trials
        if t.state == TrialState.FAIL and t.user_attrs.get("interrupted") and t.number not in retried
    ]  # fmt: skip
    for trial in again:
        study.enqueue_trial(trial.params, user_attrs={"retry_of": trial.number})
    return [t.number for t in again]


def retry_of(trial: FrozenTrial) -> int | None:
    """The number of the failed trial that `trial` repeats (queued by us or by the heartbeat), or None."""
    again = trial.user_attrs.get("retry_of")
    if again is None:
        again = trial.system_attrs.get("failed_trial")  # set by the heartbeat's retry
    return again


def count_finished(study: optuna.Study) -> int:
    """Trials that completed or were pruned."""
    return len(study.get_trials(deepcopy=False, states=FINISHED))


# --- trials ------------------------------------------------------------------------------------------


def pruning_callback(trial: optuna.Trial) -> Any:
    """A Keras callback that reports validation accuracy to `trial` after every epoch and stops
    the trial (raises `optuna.TrialPruned`) when the pruner says so, before its last epoch."""
    import keras

    class ReportEpochs(keras.callbacks.Callback):
        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            accuracy = float((logs or {})["val_accuracy"])
            trial.report(accuracy, epoch + 1)
            last = epoch + 1 >= self.params.get("epochs", math.inf)  # a finished trial is kept whole
            if not last and trial.should_prune():
                raise optuna.TrialPruned(f"validation {accuracy:.2%} after epoch {epoch + 1}")

    return ReportEpochs()


class Trainer:
    """Trains configs on MNIST's training split, loaded once; the splits are cached by seed."""

    def __init__(self, settings: SearchSettings) -> None:
        from helpers.data import load_mnist

        self.settings, self.mnist, self._splits = settings, load_mnist(), {}

    def split(self, seed: int) -> Any:
        """The training/validation split of `seed` at the search's scale."""
        if seed not in self._splits:
            from helpers.data import split_train_val

            self._splits[seed] = split_train_val(
                self.mnist.x_train, self.mnist.y_train, val_fraction=self.settings.val_fraction,
                seed=seed, train_subset=self.settings.train_subset,
            )  # fmt: skip
        return self._splits[seed]

    def score(
        self, config: TrainConfig, seeds: Sequence[int], trial: optuna.Trial | None = None
    ) -> list[float]:
        """Validation accuracy of `config` trained once per seed (reporting the first to `trial`)."""
        from helpers.train import train_model

        scores = []
        for i, seed in enumerate(seeds):
            callbacks = [pruning_callback(trial)] if trial is not None and i == 0 else []
            SEARCH_DIR.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryDirectory(prefix="trial-", dir=SEARCH_DIR) as scratch:
                run = train_model(
                    dataclasses.replace(config, seed=seed), self.split(seed), run_paths(scratch),
                    extra_callbacks=callbacks, verbose=False, export=False,
                )  # fmt: skip
            scores.append(float(run.record["validation"]["accuracy"]))
        return scores

    def objective(self, trial: optuna.Trial) -> float:
        """Optuna's objective: the mean validation accuracy of the trial's config over `trial_seeds`."""
        config = suggest_config(trial, self.settings)
        began = time.perf_counter()
        try:
            reported = None if trial.user_attrs.get("baseline") else trial  # the reference is never pruned
            scores = self.score(config, self.settings.trial_seeds, reported)
        except KeyboardInterrupt:
            trial.set_user_attr("interrupted", True)
            raise
        finally:
            trial.set_user_attr("seconds", round(time.perf_counter() - began, 1))
        return float(sum(scores) / len(scores))


def brief_params(params: dict[str, Any], count: int = 4) -> str:
    """A few of a trial's settings for one line: rate, epochs, batch and width where searched,
    then the others in the space's order."""
    names = [n for n in ("learning_rate", "epochs", "batch_size", "width") if n in params]
    names += [n for n in SPACE if n in params and n not in names][: max(0, count - len(names))]
    short = {"learning_rate": "lr", "batch_size": "batch", "label_smoothing": "smoothing"}

    def value(v: Any) -> str:
        return f"{v:.1e}" if isinstance(v, float) and 0 < abs(v) < 0.01 else f"{v:.3g}"

    return ", ".join(f"{short.get(n, n)} {value(params[n])}" for n in names)


def describe_trial(trial: FrozenTrial, worker: int | None = None) -> str:
    """One line on a finished trial, for the terminal."""
    who = f" [worker {worker}]" if worker is not None else ""
    seconds = trial.user_attrs.get("seconds", 0)
    brief = brief_params(trial.params)
    if trial.state == TrialState.COMPLETE:
        return (
            f"trial {trial.number:3d} complete: {trial.value:.2%} validation ({brief}; {seconds:.0f} s){who}"
        )
    if trial.state == TrialState.PRUNED:
        last = max(trial.intermediate_values.items(), default=(0, math.nan))
        epoch, accuracy = last
        return (
            f"trial {trial.number:3d} pruned after epoch {epoch}: {accuracy:.2%} "
            f"({brief}; {seconds:.0f} s){who}"
        )
    return f"trial {trial.number:3d} {trial.state.name.lower()} ({brief}){who}"


def work(settings: SearchSettings, worker: int = 0, show: Callable[[str], None] | None = None) -> int:
    """One worker: run trials of the shared study until the budget is spent; return how many it ran."""
    study = open_study(settings, worker)
    if count_finished(study) >= settings.trials:
        return 0
    trainer = Trainer(settings)
    ran = 0

    def finished(study: optuna.Study, trial: FrozenTrial) -> None:
        nonlocal ran
        ran += 1
        line = describe_trial(trial, worker)
        (show or functools.partial(print, flush=True))(line)
        say(line)
        if count_finished(study) >= settings.trials:
            study.stop()

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        study.optimize(
            trainer.objective,
            timeout=settings.minutes * 60 or None,
            callbacks=[finished],
            gc_after_trial=True,
        )
    return ran


# --- the whole search ------------------------------------------------------------------------------


def run_search(
    settings: SearchSettings, workers: int = 1, out: str | os.PathLike[str] | None = SEARCH_JSON
) -> dict[str, Any]:
    """Run (or continue) a search with `workers` processes, score the finalists, write the summary."""
    if workers < 1:
        raise SearchError(f"WORKERS must be at least 1, got {workers}")
    study = open_study(settings)
    again = requeue_interrupted(study)
    if again:
        print(f"queued again, interrupted before: trial(s) {', '.join(map(str, again))}", flush=True)
    done = count_finished(study)
    print(
        f"study {settings.study!r} ({storage_kind(settings.storage)}): {done} of {settings.trials} trials "
        f"finished; {workers} worker(s), {settings.train_subset or 54000:,} training images, "
        f"up to {settings.max_epochs} epochs per trial",
        flush=True,
    )
    began = time.perf_counter()
    if workers == 1:
        work(settings)
    else:
        run_workers(settings, workers)
    summary = summarise(study, settings, workers, finalists=score_finalists(study, settings))
    summary["seconds"] = round(time.perf_counter() - began, 1)
    if out:
        save_json(summary, out)
    return summary


def worker_command(settings: SearchSettings, worker: int) -> list[str]:
    """The command line of one worker process."""
    return [sys.executable, "-m", "helpers.search", "worker", "--index", str(worker),
            "--settings", json.dumps(dataclasses.asdict(settings))]  # fmt: skip


def run_workers(settings: SearchSettings, workers: int) -> None:
    """Start `workers` processes on the shared study, each with its share of the cores; wait for all."""
    threads = max(1, (os.cpu_count() or 1) // workers)
    env = {**os.environ, "DIGITS_SEARCH_THREADS": str(threads)}
    processes = [subprocess.Popen(worker_command(settings, i), env=env) for i in range(workers)]
    try:
        codes = [p.wait() for p in processes]
    except KeyboardInterrupt:  # Ctrl-C reached the workers too: let them mark their trials and stop
        for p in processes:
            p.wait()
        raise
    for i, code in enumerate(codes):
        if code:
            print(f"worker {i} exited with code {code}; its trial, if any, is retried", flush=True)


def score_finalists(study: optuna.Study, settings: SearchSettings) -> list[dict[str, Any]]:
    """Re-run the best `finalists` trials, and the default recipe's, on `final_seeds` (the scores are
    kept in the study, so never twice); best first."""
    complete = sorted(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)), key=lambda t: -t.value)
    chosen, seen = [], set()
    for trial in complete:
        key = json.dumps(trial.params, sort_keys=True)
        if key not in seen:
            seen.add(key)
            chosen.append(trial)
    chosen = chosen[: settings.finalists]
    baseline = [t for t in study.get_trials(deepcopy=False, states=FINISHED) if t.user_attrs.get("baseline")]
    if chosen and baseline and baseline[0] not in chosen:
        chosen.append(baseline[0])  # the default recipe, re-run too: what the best is measured against
    trainer, results = None, []
    for trial in chosen:
        key = f"finalist {trial.number}"
        scores = dict(study.user_attrs.get(key, {}))
        if settings.trial_seeds == (settings.final_seeds[0],) and trial.state == TrialState.COMPLETE:
            scores.setdefault(str(settings.final_seeds[0]), trial.value)  # the trial itself was that run
        missing = [s for s in settings.final_seeds if str(s) not in scores]
        if missing:
            trainer = trainer or Trainer(settings)
            print(f"finalist: trial {trial.number} on seed(s) {', '.join(map(str, missing))}", flush=True)
            for seed, score in zip(
                missing, trainer.score(config_from_params(trial.params, settings), missing), strict=True
            ):
                scores[str(seed)] = score
            study.set_user_attr(key, scores)
        values = [scores[str(s)] for s in settings.final_seeds]
        seeds = [
            {"seed": s, "validation_accuracy": v} for s, v in zip(settings.final_seeds, values, strict=True)
        ]
        results.append({
            "trial": trial.number, "params": trial.params, "trial_value": trial.value, "seeds": seeds,
            "baseline": bool(trial.user_attrs.get("baseline")),
            "validation_accuracy": sum(values) / len(values),
            "std": statistics.stdev(values) if len(values) > 1 else 0.0,
        })  # fmt: skip
    return sorted(results, key=lambda r: -r["validation_accuracy"])


def reseed(
    summary: dict[str, Any], seeds: Sequence[int], show: Callable[[str], None] | None = None
) -> list[dict[str, Any]]:
    """Train a search's finalists (the default recipe among them) again on `seeds`, at the search's
    scale, each seed with its own validation split: accuracy and errors per finalist and seed.

    For finalists within the noise of three seeds; the MNIST test set is never read."""
    scale = summary["scale"]
    settings = SearchSettings(
        train_subset=scale["train_subset"], max_epochs=scale["max_epochs"],
        val_fraction=scale["val_fraction"], space=tuple(scale.get("space", ())),
    )  # fmt: skip
    trainer, rows = Trainer(settings), []
    for finalist in summary["finalists"]:
        name = f"trial {finalist['trial']}" + (" (the default recipe)" if finalist["baseline"] else "")
        config = config_from_params(finalist["params"], settings)
        for seed in seeds:
            accuracy = trainer.score(config, [seed])[0]
            images = len(trainer.split(seed).y_val)
            errors = round((1 - accuracy) * images)
            rows.append({
                "trial": finalist["trial"], "baseline": finalist["baseline"], "seed": seed,
                "validation_accuracy": accuracy, "errors": errors, "validation_images": images,
            })  # fmt: skip
            line = f"{name}, seed {seed}: {accuracy:.4%} validation ({errors} errors of {images:,})"
            (show or functools.partial(print, flush=True))(line)
    return rows


def importances(study: optuna.Study) -> dict[str, float]:
    """Optuna's fANOVA importance of each parameter (shares summing to 1); {} with too few trials."""
    if len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))) < 4:
        return {}
    evaluator = optuna.importance.FanovaImportanceEvaluator(seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {
            k: round(float(v), 4)
            for k, v in optuna.importance.get_param_importances(study, evaluator=evaluator).items()
        }


def summarise(
    study: optuna.Study, settings: SearchSettings, workers: int, finalists: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """The search's summary, as `outputs/search.json` holds it."""
    trials = study.get_trials(deepcopy=False)
    count = {state: sum(t.state == state for t in trials) for state in TrialState}
    best: dict[str, Any] | None = None
    if finalists:
        top = finalists[0]
        best = {"params": top["params"], "validation_accuracy": top["validation_accuracy"], "std": top["std"],
                "seeds": top["seeds"], "trial": top["trial"]}  # fmt: skip
    elif count[TrialState.COMPLETE]:
        trial = study.best_trial
        seeds = [{"seed": s, "validation_accuracy": trial.value} for s in settings.trial_seeds]
        best = {
            "params": trial.params,
            "validation_accuracy": trial.value,
            "trial": trial.number,
            "seeds": seeds,
        }
    return {
        "study": settings.study,
        "trials_complete": count[TrialState.COMPLETE],
        "trials_pruned": count[TrialState.PRUNED],
        "trials_failed": count[TrialState.FAIL],
        "trials_retried": sum(retry_of(t) is not None for t in trials),
        "workers": workers,
        "storage": storage_kind(settings.storage),
        "scale": settings.scale(),
        "best": best,
        "finalists": finalists or [],
        "baseline": next((f for f in finalists or [] if f["baseline"]), None),
        "importance": importances(study),
        "trial_seconds": round(sum(t.user_attrs.get("seconds", 0) for t in trials), 1),
    }


def best_config(
    summary: dict[str, Any] | str | os.PathLike[str] = SEARCH_JSON, base: TrainConfig | None = None
) -> TrainConfig | None:
    """The config of a search's best setting (a summary, or its file), on `base`; None if it has none."""
    if not isinstance(summary, dict):
        path = Path(summary)
        summary = json.loads(path.read_text()) if path.exists() else {}
    best = summary.get("best")
    return dataclasses.replace(base or TrainConfig(), **best["params"]) if best else None


def chapter_storage(root: Path) -> str:
    """The SQLite URL of 07_search's own small study, for a run rooted at `root`."""
    folder = SEARCH_DIR if root == PROJECT_ROOT else root / "search"
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / 'chapter.sqlite3'}"


# --- command line -----------------------------------------------------------------------------------


@contextlib.contextmanager
def _quiet_optuna() -> Iterator[None]:
    """Optuna logs a line per trial at INFO; ours say more in fewer words."""
    level = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        yield
    finally:
        optuna.logging.set_verbosity(level)


def _limit_threads() -> None:
    threads = int(os.environ.get("DIGITS_SEARCH_THREADS", "0"))
    if threads:
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)


def main(argv: list[str] | None = None) -> int:
    """`python -m helpers.search [run] ...` (what `make search` calls), `worker` (what it starts), or
    `reseed SEED...` (the last search's finalists on more seeds)."""
    parser = argparse.ArgumentParser(prog="python -m helpers.search", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command")
    run = sub.add_parser("run", help="run or continue a search (the default)")
    defaults = SearchSettings()
    run.add_argument(
        "--trials", type=int, default=defaults.trials, help="trials to finish (complete or pruned)"
    )
    run.add_argument(
        "--minutes", type=float, default=0.0, help="stop starting trials after this long (0: never)"
    )
    run.add_argument("--workers", type=int, default=1, help="worker processes on this machine")
    run.add_argument(
        "--storage", default=defaults.storage, help="sqlite, journal or postgresql://user@host/db"
    )
    run.add_argument("--study", default=defaults.study, help="the study's name in the storage")
    run.add_argument(
        "--subset", type=int, default=defaults.train_subset, help="training images per trial (0: all)"
    )
    run.add_argument("--epochs", type=int, default=defaults.max_epochs, help="the most epochs a trial trains")
    run.add_argument(
        "--finalists", type=int, default=defaults.finalists, help="best trials re-run on 3 seeds"
    )
    run.add_argument(
        "--space", nargs="*", default=[], metavar="NAME",
        help="the settings to search (default: all); 'timeless': those that cost no training time",
    )  # fmt: skip
    run.add_argument("--out", default=str(SEARCH_JSON), help="where the summary goes ('' for nowhere)")
    worker = sub.add_parser("worker", help="one worker process (make search WORKERS=N starts N)")
    worker.add_argument("--settings", required=True)
    worker.add_argument("--index", type=int, default=0)
    more_seeds = sub.add_parser("reseed", help="train the last search's finalists on more seeds")
    more_seeds.add_argument("seeds", type=int, nargs="+")
    more_seeds.add_argument("--search", default=str(SEARCH_JSON), help="the search's summary")
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] not in ("run", "worker", "reseed", "-h", "--help"):
        argv = ["run", *argv]
    args = parser.parse_args(argv)
    try:
        with _quiet_optuna():
            if args.command == "reseed":
                reseed(json.loads(Path(args.search).read_text()), args.seeds)
                return 0
            if args.command == "worker":
                values = json.loads(args.settings)
                values = {k: tuple(v) if isinstance(v, list) else v for k, v in values.items()}
                _limit_threads()
                work(SearchSettings(**values), args.index)
                return 0
            settings = SearchSettings(
                trials=args.trials, minutes=args.minutes, storage=args.storage, study=args.study,
                train_subset=args.subset, max_epochs=args.epochs, finalists=args.finalists,
                space=TIMELESS if args.space == ["timeless"] else tuple(args.space),
            )  # fmt: skip
            summary = run_search(settings, args.workers, args.out or None)
    except SearchError as error:
        print(f"search: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(
            "search: interrupted; run it again to continue (interrupted trials are retried)", file=sys.stderr
        )
        return 130
    best = summary["best"]
    if best:
        print(f"best: trial {best['trial']}, {best['validation_accuracy']:.2%} validation over seeds "
              f"{', '.join(str(s['seed']) for s in best['seeds'])}")  # fmt: skip
    if args.out:
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
