"""The search: its space, its storages and their errors, and workers that share a study, one of
them killed mid-trial (on SQLite, and on a real PostgreSQL server the test starts and stops)."""

from __future__ import annotations

import dataclasses
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import optuna
import pytest
from conftest import skip_unless_ci
from optuna.trial import TrialState

from helpers import search
from helpers.config import TrainConfig
from helpers.search import SearchError, SearchSettings

PG_BIN = Path("/usr/lib/postgresql/15/bin")
TINY = SearchSettings(
    trials=10,
    study="tiny",
    train_subset=300,
    max_epochs=1,
    val_fraction=0.02,
    finalists=0,
    heartbeat=1,
    grace=2,
)
"""A search whose trials take a few seconds: 300 training images, 1 epoch, 1,200 validation digits."""


def test_every_parameter_of_the_space_is_a_config_field_within_its_range():
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    for _ in range(20):
        trial = study.ask()
        config = search.suggest_config(trial, TINY)  # TrainConfig checks every range
        assert set(trial.params) <= fields
        assert (config.train_subset, config.val_fraction, config.epochs) == (300, 0.02, 1)
        assert search.config_from_params(trial.params, TINY) == config
        study.tell(trial, 0.5)
    widths = {t.params["width"] for t in study.trials}
    assert len(widths) > 1 and widths <= {16, 24, 32, 48}


def test_the_space_covers_what_the_recipe_can_vary():
    trial = optuna.create_study().ask()
    search.suggest_config(trial, SearchSettings())
    assert set(trial.params) == set(search.SPACE) == {
        "learning_rate", "warmup", "epochs", "batch_size", "dropout", "label_smoothing", "ema",
        "rotation", "zoom", "shift", "width",
    }  # fmt: skip
    assert trial.distributions["epochs"].low == 2 and trial.distributions["epochs"].high == 6


@pytest.mark.slow
def test_a_smaller_space_keeps_the_rest_at_the_default_recipe(tmp_path):
    settings = dataclasses.replace(TINY, max_epochs=3, space=search.TIMELESS)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    trial = study.ask()
    config = search.suggest_config(trial, settings)
    assert set(trial.params) == set(search.TIMELESS)
    default = TrainConfig()
    assert (config.epochs, config.batch_size, config.width) == (3, 128, default.width)
    assert search.config_from_params(trial.params, settings) == config
    assert set(search.baseline_params(settings)) == set(search.TIMELESS)
    with pytest.raises(SearchError, match="cannot search depth"):
        SearchSettings(space=("learning_rate", "depth"))
    stored = dataclasses.replace(settings, storage=f"sqlite:///{tmp_path / 's.db'}")
    search.open_study(stored)  # a study keeps its space, like the rest of its scale
    with pytest.raises(SearchError, match="was made with"):
        search.open_study(dataclasses.replace(stored, space=()))


def test_a_trial_line_names_the_settings_it_searched():
    full = search.baseline_params(TINY)
    assert search.brief_params(full) == "lr 2.6e-03, epochs 1, batch 128, width 32"
    timeless = search.baseline_params(dataclasses.replace(TINY, space=search.TIMELESS))
    assert search.brief_params(timeless) == "lr 2.6e-03, warmup 0.14, dropout 0, smoothing 0.06"


def test_a_new_study_starts_with_the_default_recipe_at_its_scale(tmp_path):
    settings = dataclasses.replace(TINY, storage=f"sqlite:///{tmp_path / 's.db'}", max_epochs=4)
    study = search.open_study(settings)
    search.open_study(settings)  # continuing queues nothing more
    (first,) = study.get_trials()
    assert first.state == TrialState.WAITING and first.user_attrs == {"baseline": True}
    config = search.config_from_params(first.system_attrs["fixed_params"], settings)
    assert config == dataclasses.replace(TrainConfig(), epochs=4, train_subset=300, val_fraction=0.02)


def test_a_study_another_process_has_just_created_gets_no_second_baseline(tmp_path):
    settings = dataclasses.replace(TINY, storage=f"sqlite:///{tmp_path / 's.db'}")
    # Another machine created the study a moment ago and has not yet recorded its scale or
    # queued the default recipe: this one must leave both to it.
    optuna.create_study(study_name=settings.study, storage=settings.storage, direction="maximize")
    study = search.open_study(settings)
    assert study.get_trials() == [] and "scale" not in study.user_attrs


@pytest.mark.slow
def test_pruning_waits_for_a_third_of_the_longest_run(tmp_path):
    settings = dataclasses.replace(TINY, storage=f"sqlite:///{tmp_path / 's.db'}", max_epochs=12)
    study = search.open_study(settings)
    for _ in range(6):  # the default recipe (queued first) and five more, all complete
        trial = study.ask()
        for epoch in range(1, 13):
            trial.report(0.99, epoch)
        study.tell(trial, 0.99)
    worse = study.ask()
    for epoch in range(1, 6):
        worse.report(0.5, epoch)
        assert worse.should_prune() == (epoch >= 4), epoch  # from epoch 12 // 3 = 4 on


@pytest.mark.slow
def test_the_default_recipe_is_never_pruned_and_others_are(tmp_path):
    settings = dataclasses.replace(TINY, storage=f"sqlite:///{tmp_path / 's.db'}", max_epochs=2)
    study = search.open_study(settings)  # queues the default recipe first
    study.pruner = optuna.pruners.ThresholdPruner(lower=1.0)  # prunes anything it is asked about
    trainer = search.Trainer(settings)
    study.optimize(trainer.objective, n_trials=2)
    baseline, other = study.get_trials()
    assert baseline.user_attrs["baseline"] and baseline.state == TrialState.COMPLETE
    assert other.state == TrialState.PRUNED


def test_pruning_callback_reports_each_epoch_and_raises_when_told():
    study = optuna.create_study(direction="maximize", pruner=optuna.pruners.ThresholdPruner(lower=0.9))
    trial = study.ask()
    callback = search.pruning_callback(trial)
    callback.set_params({"epochs": 3})
    callback.on_epoch_end(0, {"val_accuracy": 0.95})  # above the threshold: goes on
    with pytest.raises(optuna.TrialPruned, match="after epoch 2"):
        callback.on_epoch_end(1, {"val_accuracy": 0.5})
    assert study.trials[0].intermediate_values == {1: 0.95, 2: 0.5}
    finishing = search.pruning_callback(study.ask())
    finishing.set_params({"epochs": 2})
    finishing.on_epoch_end(1, {"val_accuracy": 0.5})  # below, but the last epoch: the trial is done


@pytest.mark.parametrize(
    ("spec", "kind"),
    [("sqlite", "sqlite"), ("sqlite:////tmp/x.db", "sqlite"), ("journal", "journal"),
     ("a/b.journal", "journal"), ("postgresql://u@localhost/db", "postgresql"),
     ("postgresql+psycopg://u@h/db", "postgresql")],
)  # fmt: skip
def test_storage_kind(spec, kind):
    assert search.storage_kind(spec) == kind


def _one_line_error(settings: SearchSettings) -> str:
    with pytest.raises(SearchError) as caught:
        search.open_study(settings)
    message = str(caught.value)
    assert "\n" not in message and "Traceback" not in message
    return message


def test_a_wrong_storage_url_gets_one_line():
    assert "unknown storage 'mysql//x'" in _one_line_error(SearchSettings(storage="mysql//x"))
    message = _one_line_error(SearchSettings(storage="postgresql://me@localhost:notaport/db"))
    assert message.startswith("cannot open the study's storage postgresql://me@localhost:notaport/db")


def test_a_server_that_is_down_gets_one_line_and_no_password():
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    message = _one_line_error(SearchSettings(storage=f"postgresql://me:secret@127.0.0.1:{port}/db"))
    assert f"me:***@127.0.0.1:{port}/db" in message and "secret" not in message
    assert "refused" in message


def test_a_missing_driver_gets_one_line(monkeypatch):
    monkeypatch.setitem(sys.modules, "psycopg", None)
    message = _one_line_error(SearchSettings(storage="postgresql://me@localhost/db"))
    assert message == "PostgreSQL storage needs the psycopg driver: pip install 'psycopg[binary]'"


def test_a_study_refuses_to_continue_at_another_scale(tmp_path):
    settings = dataclasses.replace(TINY, storage=f"sqlite:///{tmp_path / 's.db'}")
    search.open_study(settings)
    search.open_study(settings)  # the same scale continues
    message = _one_line_error(dataclasses.replace(settings, train_subset=600))
    assert "'train_subset': 300" in message and "STUDY=" in message


def test_interrupted_trials_are_queued_again_once(tmp_path):
    study = optuna.create_study(storage=f"sqlite:///{tmp_path / 's.db'}")
    broken = study.ask({"learning_rate": optuna.distributions.FloatDistribution(1e-3, 1e-2)})
    broken.set_user_attr("interrupted", True)
    study.tell(broken, state=TrialState.FAIL)
    buggy = study.ask({"learning_rate": optuna.distributions.FloatDistribution(1e-3, 1e-2)})
    study.tell(buggy, state=TrialState.FAIL)  # failed by an error, not by Ctrl-C: not retried
    assert search.requeue_interrupted(study) == [broken.number]
    assert search.requeue_interrupted(study) == []
    waiting = study.get_trials(states=(TrialState.WAITING,))
    assert [t.system_attrs["fixed_params"] for t in waiting] == [broken.params]  # asked for first
    assert search.retry_of(waiting[0]) == broken.number


def test_best_config_takes_the_summary_s_best_params(tmp_path):
    assert search.best_config(tmp_path / "none.json") is None
    params = {"learning_rate": 0.004, "epochs": 12, "width": 48, "ema": 0.99}
    (tmp_path / "s.json").write_text(json.dumps({"best": {"params": params}}))
    config = search.best_config(tmp_path / "s.json", TrainConfig(train_subset=10000))
    assert (config.learning_rate, config.epochs, config.width, config.ema) == (0.004, 12, 48, 0.99)
    assert config.train_subset == 10000
    assert search.best_config({"best": {"params": params}}) == search.best_config(tmp_path / "s.json")
    assert search.best_config({"best": None}) is None


# --- real workers --------------------------------------------------------------------------------------


def _search_with_one_worker_killed(settings: SearchSettings, pause_point) -> optuna.Study:
    """Two workers on the study; worker 0 is SIGKILLed once its first trial has trained a batch."""
    search.open_study(settings)
    training = pause_point("training")
    env = {**os.environ, "DIGITS_SEARCH_THREADS": "1"}
    doomed = subprocess.Popen(search.worker_command(settings, 0), env={**env, **training.env})
    survivor = subprocess.Popen(search.worker_command(settings, 1), env=env)
    training.wait(alive=lambda: doomed.poll() is None)
    doomed.send_signal(signal.SIGKILL)
    assert doomed.wait() == -signal.SIGKILL
    assert survivor.wait() == 0
    return search.open_study(settings)


def _check_the_kill_was_survived(study: optuna.Study, settings: SearchSettings) -> None:
    trials = study.get_trials()
    numbers = [t.number for t in trials]
    assert len(numbers) == len(set(numbers))
    failed = [t for t in trials if t.state == TrialState.FAIL]
    assert len(failed) == 1, [t.state for t in trials]  # the killed worker's trial, failed by its heartbeat
    retries = [t for t in trials if search.retry_of(t) == failed[0].number]
    assert len(retries) == 1 and retries[0].state in search.FINISHED
    assert retries[0].params == failed[0].params
    assert search.count_finished(study) >= settings.trials
    assert not [t for t in trials if t.state in (TrialState.RUNNING, TrialState.WAITING)]
    summary = search.summarise(study, settings, workers=2)
    assert summary["trials_complete"] + summary["trials_pruned"] == search.count_finished(study)
    assert (summary["trials_failed"], summary["trials_retried"]) == (1, 1)


@pytest.mark.slow
def test_two_workers_on_sqlite_survive_one_killed(tmp_path, pause_point):
    settings = dataclasses.replace(TINY, trials=5, storage=f"sqlite:///{tmp_path / 'study.sqlite3'}")
    study = _search_with_one_worker_killed(settings, pause_point)
    _check_the_kill_was_survived(study, settings)
    assert search.summarise(study, settings, workers=2)["storage"] == "sqlite"


@pytest.mark.slow
def test_ctrl_c_loses_nothing_and_the_search_continues_on_a_journal_file(tmp_path, pause_point):
    """A worker interrupted (SIGINT, as Ctrl-C sends) mid-trial marks it failed; the next run queues it
    again first, finishes the budget, and writes the summary."""
    settings = dataclasses.replace(TINY, trials=3, storage=str(tmp_path / "study.journal"))
    search.open_study(settings)
    training = pause_point("training")
    worker = subprocess.Popen(
        search.worker_command(settings, 0),
        env={**os.environ, **training.env, "DIGITS_SEARCH_THREADS": "1"},
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # as in a terminal
    )
    training.wait(alive=lambda: worker.poll() is None)
    worker.send_signal(signal.SIGINT)
    assert worker.wait() == 130
    (interrupted,) = search.open_study(settings).get_trials()
    assert interrupted.state == TrialState.FAIL and interrupted.user_attrs["interrupted"] is True

    summary = search.run_search(settings, workers=1, out=tmp_path / "search.json")
    study = search.open_study(settings)
    (retry,) = [t for t in study.get_trials() if search.retry_of(t) == interrupted.number]
    assert retry.number == interrupted.number + 1 and retry.params == interrupted.params
    assert retry.state in search.FINISHED
    written = json.loads((tmp_path / "search.json").read_text())
    assert written["trials_complete"] + written["trials_pruned"] == search.count_finished(study) >= 3
    assert (written["storage"], written["workers"], written["trials_failed"], written["trials_retried"]) == (
        "journal", 1, 1, 1,
    )  # fmt: skip
    assert set(written["best"]) >= {"params", "validation_accuracy", "seeds"}
    assert {k: summary[k] for k in written if k != "seconds"} == {
        k: written[k] for k in written if k != "seconds"
    }


@pytest.mark.parametrize(("ci", "outcome"), [("true", pytest.fail.Exception), ("", pytest.skip.Exception)])
def test_a_missing_server_fails_under_ci_and_skips_elsewhere(monkeypatch, ci, outcome):
    monkeypatch.setenv("CI", ci)
    with pytest.raises(outcome, match="PostgreSQL"):
        skip_unless_ci("PostgreSQL 15's server is not installed")


@pytest.fixture(scope="module")
def postgres():
    """A PostgreSQL 15 server of the test's own, on a free localhost port, run as the postgres user
    when the tests run as root (initdb refuses root); stopped and deleted afterwards."""
    if not (PG_BIN / "initdb").exists():
        skip_unless_ci(f"PostgreSQL 15's server is not installed ({PG_BIN})")
    folder = Path(tempfile.mkdtemp(prefix="digits-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:
        user = pwd.getpwnam("postgres")
        os.chown(folder, user.pw_uid, user.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    data = folder / "data"

    def pg(*args: str) -> None:
        subprocess.run([*as_user, *args], check=True, capture_output=True, text=True)

    pg(str(PG_BIN / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
    options = f"-p {port} -k {folder} -c listen_addresses=localhost -c fsync=off"
    pg(str(PG_BIN / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(folder / "log"), "-w", "start")
    try:
        pg(str(PG_BIN / "createdb"), "-h", "localhost", "-p", str(port), "-U", "postgres", "search")
        yield f"postgresql://postgres@localhost:{port}/search"
    finally:
        pg(str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop")
        shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.postgres
@pytest.mark.slow
def test_two_workers_on_postgresql_survive_one_killed(postgres, pause_point):
    settings = dataclasses.replace(TINY, trials=5, storage=postgres)
    study = _search_with_one_worker_killed(settings, pause_point)
    _check_the_kill_was_survived(study, settings)
    summary = search.summarise(study, settings, workers=2)
    assert summary["storage"] == "postgresql" and summary["best"]["validation_accuracy"] > 0.3


@pytest.mark.slow
def test_finalists_can_be_run_again_on_more_seeds(tmp_path, monkeypatch):
    settings = dataclasses.replace(TINY, space=search.TIMELESS)
    summary = {
        "scale": settings.scale(),
        "finalists": [{"trial": 0, "baseline": True, "params": search.baseline_params(settings)}],
    }
    shown = []
    [row] = search.reseed(summary, [42], show=shown.append)
    assert (row["trial"], row["baseline"], row["seed"], row["validation_images"]) == (0, True, 42, 1200)
    assert row["errors"] == round((1 - row["validation_accuracy"]) * 1200)
    assert shown[0].startswith("trial 0 (the default recipe), seed 42: ") and shown[0].endswith("of 1,200)")
    # the command line: `python -m helpers.search reseed SEED... --search FILE`
    (tmp_path / "search.json").write_text(json.dumps(summary))
    called = []
    monkeypatch.setattr(search, "reseed", lambda *args: called.append(args))
    assert search.main(["reseed", "45", "46", "--search", str(tmp_path / "search.json")]) == 0
    assert called == [(summary, [45, 46])]
