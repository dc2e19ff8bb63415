# The two commands a newcomer needs (see README):
#   make demo   set up, generate sample extracts and run the pipeline on them
#   make test   set up and run every test, ruff included
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: setup demo test lint lock clean

setup: $(STAMP)

# Bytecode compiled once at install: with PYTHONDONTWRITEBYTECODE set (as on our machines) every
# dbt, Dagster and test process would otherwise compile its imports from source again.
$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check "uv==0.13.9"
	$(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python -c constraints.txt -e ".[dev]"
	touch $(STAMP)

demo: setup
	$(BIN)/effekt demo

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Test files run in parallel, one worker per core (pytest-xdist); a file's tests stay together,
# so its module fixtures are built once. PYTEST_WORKERS=0 runs them in this process.
PYTEST_WORKERS ?= auto

test: lint
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

# Re-resolve the pinned versions after changing pyproject.toml.
lock:
	$(BIN)/uv pip compile --quiet --python-version 3.11 --extra dev pyproject.toml -o constraints.txt

clean:
	rm -rf $(VENV) data .pytest_cache .ruff_cache dbt_project/target
