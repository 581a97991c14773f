# digit-recognizer: `make help` lists what you can run.
#
# Targets are files: `make` reruns only what changed. Editing 03_evaluate
# re-evaluates without retraining; editing helpers/train.py retrains.
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
CORE := helpers/__init__.py helpers/config.py helpers/data.py helpers/artifacts.py helpers/pausepoints.py \
	helpers/progress.py helpers/listings.py
# What each notebook's results depend on (editing preprocessing does not retrain).
TRAIN_SRC := $(CORE) helpers/models.py helpers/train.py helpers/evaluate.py helpers/predict.py
PLOT_SRC := helpers/plots.py
WIDGET_SRC := helpers/widgets.py helpers/trust.py helpers/corrupt.py
EVAL_SRC := $(CORE) $(PLOT_SRC) $(WIDGET_SRC) helpers/evaluate.py helpers/predict.py helpers/preprocess.py \
	helpers/samples.py

# Notebook N runs with papermill (through helpers.course, which prints a line when it
# starts and ends, the kernel's progress lines, and no start-up chatter) into $(NB_OUT);
# it lands there only when it succeeds. A failure keeps the executed copy as
# NAME.failed.ipynb and stops make.
define papermill
	@$(BIN)/python -m helpers.course run $(1) --out $(NB_OUT) --profile $(PROFILE) -p RUN_DIR "$(RUN_DIR)" $(2)
endef
START := $(shell date +%s)

.PHONY: FORCE app e2e help setup lock all train evaluate infer trust adapt search report test bench bench-quick lab lint format clean checked-outputs

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

$(NB_OUT)/01_explore.ipynb: notebooks/01_explore.ipynb $(CORE) $(PLOT_SRC) $(DATA) | $(STAMP)
	$(call papermill,01_explore)

# 02_train's papermill arguments (PROFILE's, then PARAMS), rewritten only when
# they change, so that a change retrains and an unchanged run does not.
$(TRAIN_ARGS): FORCE | $(STAMP)
	@mkdir -p $(@D)
	@args="$$($(BIN)/python -m helpers.config $(PROFILE)) $(PARAMS)"; \
	  [ "$$args" = "$$(cat $@ 2>/dev/null)" ] || echo "$$args" > $@

$(NB_OUT)/02_train.ipynb: notebooks/02_train.ipynb $(TRAIN_SRC) $(PLOT_SRC) $(WIDGET_SRC) $(DATA) $(TRAIN_ARGS) \
	| $(STAMP) $(NB_OUT)/01_explore.ipynb
	$(call papermill,02_train,$$(cat $(TRAIN_ARGS)))

$(NB_OUT)/03_evaluate.ipynb: notebooks/03_evaluate.ipynb $(NB_OUT)/02_train.ipynb $(EVAL_SRC) | $(STAMP)
	$(call papermill,03_evaluate)

$(NB_OUT)/04_infer.ipynb: notebooks/04_infer.ipynb $(NB_OUT)/02_train.ipynb $(EVAL_SRC) $(SAMPLES) | $(STAMP) $(NB_OUT)/03_evaluate.ipynb
	$(call papermill,04_infer)

$(NB_OUT)/05_trust.ipynb: notebooks/05_trust.ipynb $(NB_OUT)/02_train.ipynb $(NB_OUT)/03_evaluate.ipynb $(EVAL_SRC) \
	data/semeion.npz | $(STAMP) $(NB_OUT)/04_infer.ipynb
	$(call papermill,05_trust)

$(NB_OUT)/06_adapt.ipynb: notebooks/06_adapt.ipynb $(NB_OUT)/02_train.ipynb $(EVAL_SRC) helpers/adapt.py \
	data/semeion.npz $(wildcard data/real_dev/*) | $(STAMP) $(NB_OUT)/05_trust.ipynb
	$(call papermill,06_adapt)

# 07 runs a search of its own (about 2 minutes; less in the quick profile), or reads the last make search.
SEARCH_NB_ARGS := $(if $(filter quick,$(PROFILE)),-p TRIALS 4 -p SUBSET 1000 -p EPOCHS 2 -p NOISE_SEEDS 2,)
$(NB_OUT)/07_search.ipynb: notebooks/07_search.ipynb $(CORE) helpers/search.py helpers/train.py helpers/models.py \
	$(PLOT_SRC) $(WIDGET_SRC) $(DATA) $(wildcard outputs/search.json outputs/ensemble_mix.json outputs/benchmarks.json) | $(STAMP) $(NB_OUT)/06_adapt.ipynb
	$(call papermill,07_search,$(SEARCH_NB_ARGS))

$(REPORT): $(EXECUTED) helpers/report.py $(wildcard $(OUT)/benchmarks.md) | $(STAMP)
	@echo "==> report"
	@$(BIN)/python -m helpers.report --run-dir "$(RUN_DIR)" >/dev/null

# The tests: pytest unit tests of helpers/, then nbval over all seven notebooks in the
# quick profile (papermill injects the parameters; nbval executes them and compares the
# cells marked NBVAL_CHECK_OUTPUT with their stored outputs), then over the exercises'
# worked solutions, against the quick run the chapters just made in $(TEST_DIR).
TEST_DIR := build/test
SOLUTIONS := $(sort $(notdir $(basename $(wildcard notebooks/solutions/*.ipynb))))
test: $(STAMP) ## Run the unit tests, nbval over the seven notebooks (quick profile) and the exercises' solutions
	@rm -rf $(TEST_DIR)/nbval $(TEST_DIR)/solutions && mkdir -p $(TEST_DIR)/nbval $(TEST_DIR)/solutions
	@for nb in $(NOTEBOOKS); do \
	  extra=$$(case $$nb in 02_train) $(BIN)/python -m helpers.config quick;; 06_adapt) echo -p SEEDS 1;; \
	    07_search) echo -p SHOW_LAST False -p TRIALS 4 -p SUBSET 1000 -p EPOCHS 2 -p NOISE_SEEDS 2;; esac); \
	  $(BIN)/papermill notebooks/$$nb.ipynb $(TEST_DIR)/nbval/$$nb.ipynb --prepare-only \
	    --log-level WARNING -p RUN_DIR $(TEST_DIR) $$extra || exit 1; \
	done
	@for nb in $(SOLUTIONS); do \
	  $(BIN)/papermill notebooks/solutions/$$nb.ipynb $(TEST_DIR)/solutions/$$nb.ipynb --prepare-only \
	    --log-level WARNING -p RUN_DIR $(TEST_DIR) || exit 1; \
	done
	$(BIN)/python -m pytest tests $(TEST_DIR)/nbval $(TEST_DIR)/solutions --nbval-lax --nbval-current-env

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
	$(BIN)/ruff check helpers tests tools benchmarks notebooks
	$(BIN)/ruff format --check helpers tests tools benchmarks

format: $(STAMP) ## Format the code with ruff
	$(BIN)/ruff format helpers tests tools benchmarks
	$(BIN)/ruff check --fix helpers tests tools benchmarks

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
e2e: $(STAMP) ## Browser check: the widgets in JupyterLab, the web app (make app) and the report, in Chromium; screenshots in outputs/browser/
	@command -v chromium >/dev/null || { echo "installing Debian's chromium (apt)"; \
	  $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq --no-install-recommends chromium >/dev/null; } \
	  || { echo "e2e: could not install chromium; install Debian's chromium package"; exit 1; }
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-e2e.txt
	$(BIN)/python tools/browser_check.py

checked-outputs: $(STAMP) ## Store the quick run's NBVAL_CHECK_OUTPUT cell outputs in notebooks/ (after `make all PROFILE=quick`)
	$(BIN)/python tools/store_checked_outputs.py build/quick/outputs/notebooks notebooks

clean: ## Remove executed notebooks, figures, reports and build/ (keeps the model and .venv)
	rm -rf build outputs/notebooks outputs/*.png outputs/*.json outputs/report.html outputs/.train-args
