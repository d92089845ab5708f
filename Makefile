# Every target sets up what it needs: a fresh machine needs only python3 (3.11 or 3.12) and make.
# constraints.txt pins the development tools and libraries (ruff, pytest, PyAirbyte, the CDK) to the
# versions the tests last passed with, so a fresh CI machine gets the same ones; PyAirbyte does not
# install on Python 3.13 and the pinned tools need 3.11. The connector itself (the Dockerfile, or
# `pip install .`) follows setup.py's ranges: Python 3.10 to 3.14.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint unit integration bench clean

$(STAMP): setup.py constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(not (3, 11) <= sys.version_info[:2] <= (3, 12))' || { \
	  echo "The development environment needs Python 3.11 or 3.12; $(PYTHON) is $$($(PYTHON) -V 2>&1)."; \
	  echo "Name another interpreter, e.g. make $(MAKECMDGOALS) PYTHON=python3.12"; exit 1; }
	@echo "Setting up $(VENV) (about a minute, once) ..."
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[tests,demo,bench]'
	touch $(STAMP)

## demo: sync a realistic sandbox store into ./demo_output/orderdesk.duckdb (CONFIG=path/to/config.json for a real store)
demo: $(STAMP)
	$(BIN)/python -m demo $(if $(CONFIG),--config $(CONFIG))

## test: lint, then every test (unit, sandbox integration, standard suite, packaging, end-to-end)
test: $(STAMP) lint
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

unit: $(STAMP)
	$(BIN)/python -m pytest unit_tests

integration: $(STAMP)
	$(BIN)/python -m pytest integration_tests

## bench: the benchmark suite against the sandbox; writes bench/RESULTS.md
bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) build *.egg-info demo_output .tmp
