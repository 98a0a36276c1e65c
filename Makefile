# PineOpt: `make run` serves the app, `make test` runs `make lint` (ruff, mypy, line budgets)
# and then every test, `make bench` prints figures.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8501
REQ_STAMP := $(VENV)/.req-$(shell cat requirements.txt pyproject.toml | sha256sum | cut -c1-12)
DEV_STAMP := $(VENV)/.dev-$(shell cat requirements-dev.txt | sha256sum | cut -c1-12)

.PHONY: setup run test bench lint clean-store

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check --upgrade pip

$(REQ_STAMP): $(BIN)/python requirements.txt pyproject.toml
	$(BIN)/pip install -q --disable-pip-version-check -r requirements.txt
	$(BIN)/pip install -q --disable-pip-version-check --no-deps -e .
	rm -f $(VENV)/.req-*; touch $@

$(DEV_STAMP): $(REQ_STAMP) requirements-dev.txt
	$(BIN)/pip install -q --disable-pip-version-check -r requirements-dev.txt
	rm -f $(VENV)/.dev-*; touch $@

setup: $(REQ_STAMP)
	./scripts/setup_system.sh
	$(BIN)/pineopt init
	$(BIN)/pineopt doctor

run: setup
	$(BIN)/pineopt serve --port $(PORT)

# ruff (rules in pyproject.toml), mypy on core/ and sandbox/, and the module/function line budgets.
lint: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/python scripts/check_budgets.py

test: $(DEV_STAMP) lint
	./scripts/setup_system.sh --test
	$(BIN)/pineopt init
	$(BIN)/pineopt doctor
	$(BIN)/python -m pytest -q

bench: setup $(DEV_STAMP)
	$(BIN)/python -m bench

clean-store:
	rm -f data/pineopt.duckdb data/pineopt.duckdb.wal
