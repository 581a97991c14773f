# digit-recognizer: `make help` lists what you can run.
#
# Targets are files: `make` reruns only what changed. Editing 03_evaluate
# re-evaluates without retraining; editing a helpers/ module reruns the chapters
# that import it, directly or not (notebooks/prerequisites.mk).
# PROFILE=quick (or best) runs the same course into build/PROFILE/ instead of
# the project's models/ and outputs/, so a smoke run never replaces the model.
# PARAMS="-p EPOCHS 5 -p MODEL mlp" adds papermill parameters to 02_train;
# changing them (or PROFILE's) retrains. RUN_DIR=DIR sends a run elsewhere.

SHELL := /bin/bash
.DEFAULT_GOAL := help
.DELETE_ON_ERROR:

PROFILE ?= default
# The newest Python on PATH that TensorFlow 2.21 supports (3.13, 3.12, 3.11), unless PYTHON= names one.
SUPPORTED_PYTHONS := 3.13 3.12 3.11
PYTHON ?= $(firstword $(foreach v,$(SUPPORTED_PYTHONS),$(if $(filter $(v).%,$(shell python$(v) -c $(VERSION_OF))),python$(v))) \
	python3)
VERSION_OF := 'import sys; print("%d.%d.%d" % sys.version_info[:3])' 2>/dev/null
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

PARAMS ?=
RUN_DIR ?= $(if $(filter default,$(PROFILE)),,build/$(PROFILE))
ROOT := $(if $(RUN_DIR),$(RUN_DIR)/,)
OUT := $(ROOT)outputs
NB_OUT := $(OUT)/notebooks
NOTEBOOKS := 01_explore 02_train 03_evaluate 04_infer 05_trust 06_adapt 07_search
EXECUTED := $(foreach nb,$(NOTEBOOKS),$(NB_OUT)/$(nb).ipynb)
REPORT := $(OUT)/report.html
TRAIN_ARGS := $(OUT)/.train-args

DATA := data/mnist.npz
SAMPLES := $(wildcard data/samples/*)
# PREREQUISITES_<chapter> and PREREQUISITES_report: the helpers/ modules each one imports, directly
# or through other modules; tools/prerequisites.py writes the file (`make prerequisites`).
-include notebooks/prerequisites.mk

# Notebook N runs with papermill (through helpers.course, which prints a line when it
# starts and ends, the kernel's progress lines, and no start-up chatter) into $(NB_OUT);
# it lands there only when it succeeds. A failure keeps the executed copy as
# NAME.failed.ipynb and stops make.
define papermill
	@$(BIN)/python -m helpers.course run $(1) --out $(NB_OUT) --profile $(PROFILE) -p RUN_DIR "$(RUN_DIR)" \
	  $(if $(filter quick,$(PROFILE)),$(QUICK_$(1))) $(2)
endef
# The quick profile's smaller sizes, chapter by chapter (papermill parameters): fewer realistic
# renderings in 04, fewer attacked and mapped digits in 05, one adaptation per k in 06, and a
# small search of its own in 07 (the default profile's 07 searches for about 2 minutes, or reads
# the last make search).
QUICK_04_infer := -p PER_KIND 20
QUICK_05_trust := -p N_ATTACK 300 -p N_MAP 1000
QUICK_06_adapt := -p SEEDS 1
QUICK_07_search := -p TRIALS 4 -p SUBSET 1000 -p EPOCHS 2 -p NOISE_SEEDS 2
START := $(shell date +%s)

.PHONY: FORCE app e2e help setup lock all train evaluate infer trust adapt search report test bench bench-quick lab lint format clean distclean checked-outputs prerequisites readme test-fast

help: ## Show this help
	@echo "digit-recognizer: a course on handwritten digit recognition. Usage: make TARGET [PROFILE=quick|best] [PARAMS=\"-p EPOCHS 5\"]"
	@grep -hE '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

setup: $(STAMP) ## Create .venv and install the locked requirements (once)

# Stops with one line where TensorFlow has no wheels: a Python outside 3.11-3.13, or an Intel Mac.
$(STAMP): requirements.txt pyproject.toml
	@found="$$($(PYTHON) -c $(VERSION_OF))"; \
	case "$$found" in 3.11.*|3.12.*|3.13.*) ;; *) echo "make setup: $(PYTHON) is Python $${found:-(not found)}," \
	  "and TensorFlow 2.21 supports Python 3.11-3.13: get one (uv python install 3.12, conda, pyenv or your" \
	  "system's python3.12 package), then run make setup again, or name it: make setup PYTHON=/path/to/python3.12" >&2; \
	  exit 1;; esac; \
	[ "$$(uname -sm 2>&1)" != "Darwin x86_64" ] || { echo "make setup: TensorFlow 2.21 has no wheels" \
	  "for Intel Macs; the course runs on Apple-silicon Macs, Linux (x86-64, ARM) and Windows" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	@touch $@

all: $(REPORT) ## Set up, run the seven notebooks in order, render the report
	@$(BIN)/python -m helpers.course summary --run-dir "$(RUN_DIR)" --since $(START)

train: $(NB_OUT)/02_train.ipynb ## Train the model (02_train) -> models/best_model.keras
evaluate: $(NB_OUT)/03_evaluate.ipynb ## Evaluate on the test set (03_evaluate) -> outputs/metrics.json
infer: $(NB_OUT)/04_infer.ipynb ## Predict new images (04_infer)
trust: $(NB_OUT)/05_trust.ipynb ## Corruptions, other writers, calibration, saliency, FGSM (05_trust)
adapt: $(NB_OUT)/06_adapt.ipynb ## Teach the model a new hand from a few digits (06_adapt) -> outputs/adapt.json
report: $(REPORT) ## Render outputs/report.html from the executed notebooks

$(NB_OUT)/01_explore.ipynb: notebooks/01_explore.ipynb $(PREREQUISITES_01_explore) $(DATA) | $(STAMP)
	$(call papermill,01_explore)

# 02_train's papermill arguments (PROFILE's, then PARAMS), rewritten only when
# they change, so that a change retrains and an unchanged run does not.
$(TRAIN_ARGS): FORCE | $(STAMP)
	@mkdir -p $(@D)
	@args="$$($(BIN)/python -m helpers.config $(PROFILE)) $(PARAMS)"; \
	  [ "$$args" = "$$(cat $@ 2>/dev/null)" ] || echo "$$args" > $@

$(NB_OUT)/02_train.ipynb: notebooks/02_train.ipynb $(PREREQUISITES_02_train) $(DATA) $(TRAIN_ARGS) \
	| $(STAMP) $(NB_OUT)/01_explore.ipynb
	$(call papermill,02_train,$$(cat $(TRAIN_ARGS)))

$(NB_OUT)/03_evaluate.ipynb: notebooks/03_evaluate.ipynb $(NB_OUT)/02_train.ipynb $(PREREQUISITES_03_evaluate) | $(STAMP)
	$(call papermill,03_evaluate)

$(NB_OUT)/04_infer.ipynb: notebooks/04_infer.ipynb $(NB_OUT)/02_train.ipynb $(PREREQUISITES_04_infer) $(SAMPLES) \
	| $(STAMP) $(NB_OUT)/03_evaluate.ipynb
	$(call papermill,04_infer)

$(NB_OUT)/05_trust.ipynb: notebooks/05_trust.ipynb $(NB_OUT)/02_train.ipynb $(NB_OUT)/03_evaluate.ipynb \
	$(PREREQUISITES_05_trust) data/semeion.npz | $(STAMP) $(NB_OUT)/04_infer.ipynb
	$(call papermill,05_trust)

$(NB_OUT)/06_adapt.ipynb: notebooks/06_adapt.ipynb $(NB_OUT)/02_train.ipynb $(PREREQUISITES_06_adapt) \
	data/semeion.npz $(wildcard data/real_dev/*) | $(STAMP) $(NB_OUT)/05_trust.ipynb
	$(call papermill,06_adapt)

$(NB_OUT)/07_search.ipynb: notebooks/07_search.ipynb $(PREREQUISITES_07_search) $(DATA) \
	$(wildcard outputs/search.json) | $(STAMP) $(NB_OUT)/06_adapt.ipynb
	$(call papermill,07_search)

$(REPORT): $(EXECUTED) $(PREREQUISITES_report) $(wildcard helpers/templates/*) $(wildcard $(OUT)/benchmarks.md) | $(STAMP)
	@echo "==> report"
	@$(BIN)/python -m helpers.report --run-dir "$(RUN_DIR)" >/dev/null

# The tests, in two tiers (markers in pyproject.toml). The fast tier trains nothing beyond a few
# steps, runs no notebook and starts no server: run it after every edit. `make test` runs it first,
# so a broken edit fails in a minute, then the rest: training, make itself, the search's workers,
# PostgreSQL, and the quick course, run once (build/test/quick) and shared by the chapter and
# solution tests (tests/quick_course.py). pytest keeps its cache: `pytest --lf` reruns what failed.
# Both tiers run in TEST_WORKERS processes (pytest-xdist), each taking whole test files; the quick
# course's tests are all in tests/test_make.py, so the course runs once (tests/conftest.py).
FAST_TIER := not slow and not notebook and not browser and not postgres
TEST_WORKERS ?= 2
WORKERS_FLAGS = -n $(TEST_WORKERS) --dist loadfile
test-fast: $(STAMP) ## Run the fast tier of the tests (about a minute; no training, notebooks or servers)
	$(BIN)/python -m pytest -m "$(FAST_TIER)" $(WORKERS_FLAGS) tests

test: $(STAMP) ## Run every test: the fast tier, then training, make, the quick course, the chapters and solutions
	$(BIN)/python -m pytest -m "$(FAST_TIER)" $(WORKERS_FLAGS) tests
	$(BIN)/python -m pytest -m "not ($(FAST_TIER))" $(WORKERS_FLAGS) tests
	@$(BIN)/python -m helpers.course tests --since $(START)

readme: $(STAMP) ## Rewrite the README's and docs' generated blocks from outputs/ and models/ (after make all or make bench)
	$(BIN)/python -m helpers.blocks --write

prerequisites: $(STAMP) ## Rewrite notebooks/prerequisites.mk from the chapters' imports (a test says when)
	$(BIN)/python tools/prerequisites.py

# The search (helpers/search.py): an Optuna study in build/search/ (or STORAGE=postgresql://user@host/db,
# shared by workers on several machines). Run it again to continue; Ctrl-C loses nothing.
TRIALS ?= 20
MINUTES ?= 0
WORKERS ?= 1
STORAGE ?= sqlite
STUDY ?= digits
SUBSET ?= 10000
SEARCH_EPOCHS ?= 6
FINALISTS ?= 2
SPACE ?=
search: $(STAMP) ## Search the settings with Optuna (TRIALS= MINUTES= WORKERS= STORAGE= SPACE=timeless) -> outputs/search.json
	$(BIN)/python -m helpers.search --trials $(TRIALS) --minutes $(MINUTES) --workers $(WORKERS) \
	  --storage "$(STORAGE)" --study "$(STUDY)" --subset $(SUBSET) --epochs $(SEARCH_EPOCHS) --finalists $(FINALISTS) \
	  --space $(SPACE)

bench: $(STAMP) ## Benchmark training and inference (about 30 min) -> outputs/benchmarks.{json,md}
	$(BIN)/python -m benchmarks

bench-quick: $(STAMP) ## A one-minute benchmark run that checks the benchmark works (build/bench-quick/)
	$(BIN)/python -m benchmarks --quick

APP_PORT ?= 8866
app: $(STAMP) ## Serve the drawing pad, the training panel and Teach it as a web page (Voila), on localhost only
	@echo "digit app: http://127.0.0.1:$(APP_PORT)/ (this computer only; Ctrl-C stops it)"
	JUPYTER_PATH=$(CURDIR)/app $(BIN)/voila app/digits.ipynb --no-browser --port=$(APP_PORT) --Voila.ip=127.0.0.1 \
	  --template=offline --preheat_kernel=True --strip_sources=True --show_tracebacks=False

lab: $(STAMP) ## Open JupyterLab with the project's environment
	$(BIN)/jupyter lab --notebook-dir=.

lock: | $(STAMP) ## Resolve pyproject.toml for every platform -> uv.lock, requirements*.txt; check each has its wheels
	$(BIN)/uv lock
	$(BIN)/uv export --frozen --quiet --format requirements-txt --no-emit-project --all-extras -o requirements.txt
	$(BIN)/uv export --frozen --quiet --format requirements-txt --no-emit-project --only-group e2e -o requirements-e2e.txt
	$(BIN)/python tools/check_lock.py

lint: $(STAMP) ## Check style with ruff
	$(BIN)/ruff check helpers tests tools benchmarks experiments notebooks
	$(BIN)/ruff format --check helpers tests tools benchmarks experiments

format: $(STAMP) ## Format the code with ruff
	$(BIN)/ruff format helpers tests tools benchmarks experiments
	$(BIN)/ruff check --fix helpers tests tools benchmarks experiments

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# Without Chromium the check is skipped, with its reason; under CI=true it must run, so CI installs
# Debian's chromium with apt, and a machine that cannot is a failure.
E2E_STAMP := $(VENV)/.e2e-installed
$(E2E_STAMP): requirements-e2e.txt | $(STAMP)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-e2e.txt
	@touch $@

e2e: $(E2E_STAMP) ## Browser check: the widgets in JupyterLab, the web app (make app) and the report, in Chromium; screenshots in outputs/browser/
	@if ! command -v chromium >/dev/null; then \
	  if [ "$${CI:-}" != true ]; then \
	    echo "e2e: skipped: Chromium is not installed (Debian, Ubuntu: sudo apt-get install chromium)"; exit 0; fi; \
	  echo "installing Debian's chromium (apt)"; \
	  { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq --no-install-recommends chromium >/dev/null; } \
	    || { echo "e2e: CI=true and Chromium could not be installed" >&2; exit 1; }; \
	fi; \
	$(BIN)/python tools/browser_check.py

checked-outputs: $(STAMP) ## Store the quick run's NBVAL_CHECK_OUTPUT cell outputs in notebooks/ (after `make all PROFILE=quick`)
	$(BIN)/python tools/store_checked_outputs.py build/quick/outputs/notebooks notebooks

# What make all writes: the executed notebooks, the figures and numbers of the chapters and the report,
# and the quick and test runs in build/. Not the trained model (the CLI and the app answer with it;
# `make train` remakes it), and not what takes other targets long to make: make bench
# (benchmarks.json, .md, time_to_accuracy.png; build/bench), make search (search.json; its study in
# build/search), make e2e (browser/), the best profile's run (build/best).
MADE_ELSEWHERE := benchmarks.json benchmarks.md time_to_accuracy.png search.json browser
BUILT_ELSEWHERE := bench search best
clean: ## Remove what make all and make test write (keeps the model, and the bench, search and best-profile results)
	find outputs -mindepth 1 -maxdepth 1 $(foreach f,$(MADE_ELSEWHERE),! -name $(f)) -exec rm -rf {} +
	[ ! -d build ] || find build -mindepth 1 -maxdepth 1 $(foreach f,$(BUILT_ELSEWHERE),! -name $(f)) -exec rm -rf {} +

distclean: clean ## Also remove .venv, build/, the trained model and the bench, search and browser results (git checkout restores the committed ones)
	rm -rf $(VENV) build $(addprefix outputs/,$(MADE_ELSEWHERE)) models/best_model.keras models/best_model.json \
	  models/best_model.tflite
