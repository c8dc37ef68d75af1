# Two commands for a newcomer: `make demo` and `make test`. Both build .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-test

.PHONY: demo test lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

$(VENV)/.installed-bench: pyproject.toml $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	touch $@

demo: $(STAMP)
	$(BIN)/riskbook demo

lint: $(STAMP)
	$(BIN)/ruff check src tests bench $(wildcard examples)
	$(BIN)/ruff format --check src tests bench $(wildcard examples)

# pytest exits 5 when it collects nothing; make treats any non-zero exit as a failure.
test: lint
	$(BIN)/python -m pytest -q

bench: $(VENV)/.installed-bench
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) build dist .pytest_cache .ruff_cache
