# Set-up contract: `make run` and `make test` each create .venv when missing,
# install the project with its dev extras, then do their job.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SOURCES := pyproject.toml $(shell find spec conformance reference_impl regenkey -type f -not -name '*.pyc' 2>/dev/null)

.PHONY: run test lint typecheck soak bench mutation clean

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
	$(BIN)/ruff check conformance reference_impl regenkey tests bench
	$(BIN)/ruff format --check conformance reference_impl regenkey tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

# Thousands of Python processes start in the suite (clients, adapters, CLIs):
# their bytecode is cached under .venv (never in the tree), even where the
# environment sets PYTHONDONTWRITEBYTECODE, so none compiles the kit again.
test: lint typecheck
	PYTHONDONTWRITEBYTECODE= PYTHONPYCACHEPREFIX=$(CURDIR)/$(VENV)/pycache \
		$(BIN)/python -m pytest -m "not slow" -p no:cacheprovider -n 6

# The long proofs (tests marked slow): 100,000 fuzzed requests, 500 concurrent
# regenerations, kill -9 cycles, hostile targets. Figures: reports/reliability.json.
soak: $(STAMP)
	$(BIN)/python -m pytest -m slow -p no:cacheprovider

# Benchmarks against the peers (docs/BENCHMARKS.md): reports/bench.json and
# reports/bench.md. The peers are installed here, not as kit dependencies:
# schemathesis from PyPI; Prism from npm (its ratio is skipped without npm).
BENCH_STAMP := $(VENV)/.bench-installed
PRISM := bench/.node/node_modules/.bin/prism

$(BENCH_STAMP): $(STAMP)
	touch $(BENCH_STAMP)

$(PRISM):
	-command -v npm >/dev/null && npm install --silent --no-audit --no-fund \
		--prefix bench/.node @stoplight/prism-cli@5

bench: $(BENCH_STAMP) $(PRISM)
	$(BIN)/python -m bench.run

# Mutation testing of every module of reference_impl/server/ with check-server as
# the test, in copies of the tree, MUTATION_JOBS mutmut processes at once
# (docs/BENCHMARKS.md, "Mutation testing"): reports/mutation.json.
MUTATION_JOBS ?= 2
mutation: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[mutation]' --config-settings editable_mode=strict
	nice -n 10 $(BIN)/python -m bench.mutation --jobs $(MUTATION_JOBS)

clean:
	rm -rf $(VENV) build *.egg-info .mypy_cache .ruff_cache .hypothesis
