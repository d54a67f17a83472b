# Set-up contract: `make run` and `make test` each create .venv when missing,
# install the project with its dev extras, then do their job.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SOURCES := pyproject.toml $(shell find spec conformance reference_impl regenkey -type f -not -name '*.pyc' 2>/dev/null)

.PHONY: run test lint typecheck soak bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# "strict" editable mode lays out a link tree, so the data package
# regenkey_spec (the spec/ folder) resolves through importlib.resources.
$(STAMP): $(BIN)/python $(SOURCES)
	$(BIN)/python -m pip install --quiet -e '.[dev]' --config-settings editable_mode=strict
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/regenkey run

lint: $(STAMP)
	$(BIN)/ruff check conformance reference_impl regenkey tests
	$(BIN)/ruff format --check conformance reference_impl regenkey tests

typecheck: $(STAMP)
	$(BIN)/mypy

test: lint typecheck
	$(BIN)/python -m pytest -m "not slow" -p no:cacheprovider

soak: $(STAMP)
	$(BIN)/python -m pytest -m slow -p no:cacheprovider

clean:
	rm -rf $(VENV) build *.egg-info .mypy_cache .ruff_cache .hypothesis
