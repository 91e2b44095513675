# Two commands do all the set-up on a fresh machine:
#   make demo   - create .venv, install, run the demo sweep on an embedded local Ray
#   make test   - create .venv, install, run the test suite
# TORCH_PACKAGE picks the PyTorch build: CI uses the CPU build (torch==2.13.0 here).
PYTHON ?= python3
TORCH_PACKAGE ?= torch
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint install clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet "$(TORCH_PACKAGE)"
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/tune-jobs run tune_jobs/specs/demo.yaml

test: $(STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider --durations=25 tests

lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) results
