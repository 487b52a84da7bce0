# newsworker — the two commands a new user needs are `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test lint ruff typecheck format bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/newsworker run

# test = lint, then pytest; lint = ruff, then mypy (typecheck).
test: lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: ruff typecheck

ruff: install
	$(BIN)/ruff check worker tests bench
	$(BIN)/ruff format --check worker tests bench

typecheck: install
	$(BIN)/mypy worker

format: install
	$(BIN)/ruff format worker tests bench
	$(BIN)/ruff check --fix worker tests bench

# The benchmark of issue 6 (docs/benchmarks.md); options through BENCH_ARGS, e.g.
# make bench BENCH_ARGS="--feeds 2000 --entries 20"
bench: install
	$(BIN)/python bench/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
