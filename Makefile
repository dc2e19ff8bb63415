# The two commands a newcomer needs (see README):
#   make demo   set up, generate sample extracts and run the pipeline on them
#   make test   set up and run every test, ruff included
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: setup system-packages demo test lint lock clean

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

# What the tests need from Debian: headless Chromium for the browser tests, PostgreSQL's
# server binaries (the tests start a server of their own) and Java for the local Spark of the
# Spark engine's tests (pyspark brings Spark, not Java). Installed as root when missing;
# elsewhere those tests are skipped, or fail under CI=true.
DEBIAN_PACKAGES := chromium chromium-driver postgresql openjdk-17-jre-headless
system-packages:
	@if command -v chromium >/dev/null && command -v chromedriver >/dev/null \
	    && ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && command -v java >/dev/null; then :; \
	elif [ "$$(id -u)" -eq 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	        $(DEBIAN_PACKAGES) >/dev/null; \
	else echo "note: install $(DEBIAN_PACKAGES) (Debian) to run the browser and PostgreSQL tests"; fi

test: lint system-packages
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

# Re-resolve the pinned versions after changing pyproject.toml.
lock:
	$(BIN)/uv pip compile --quiet --python-version 3.11 --extra dev pyproject.toml -o constraints.txt

clean:
	rm -rf $(VENV) data .pytest_cache .ruff_cache dbt_project/target
