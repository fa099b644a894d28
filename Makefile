# Tollgate: `make run` sets up and serves; `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TOLLGATE_HOST ?= 127.0.0.1
TOLLGATE_PORT ?= 8000
# Real services for the tests that need them; unreachable ones are skipped, loudly.
TOLLGATE_TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/postgres
TOLLGATE_TEST_REDIS_URL ?= redis://127.0.0.1:6379/15
# TOLLGATE_WORKERS is not set here: gunicorn_conf.py defaults it to the core count (one
# worker per core); `make run TOLLGATE_WORKERS=1` or the environment still chooses.
export TOLLGATE_HOST TOLLGATE_PORT TOLLGATE_TEST_REDIS_URL

# Settings from .env, when there is one (see .env.example).
ifneq (,$(wildcard .env))
include .env
export
endif

.PHONY: run setup serve test lint format bench browser-deps clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

setup: $(STAMP)
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	$(BIN)/python manage.py ensure_admin

run: setup serve

# Bind, workers (default: one per core), timeouts, connection cap, trusted proxies:
# gateway/gunicorn_conf.py reads them from the environment (.env.example), so the Docker
# image serves the same way.
serve:
	$(BIN)/gunicorn -c python:gateway.gunicorn_conf

# Debian's Chromium for the browser tests; Playwright never downloads a browser of its own.
browser-deps:
	@command -v chromium >/dev/null 2>&1 || { \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

test: $(STAMP) browser-deps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/python manage.py makemigrations --check --dry-run >/dev/null
	$(BIN)/python -m pytest
	@if $(BIN)/python -c "import psycopg; psycopg.connect('$(TOLLGATE_TEST_DATABASE_URL)', connect_timeout=3).close()" 2>/dev/null; then \
		echo "--- the database-backed tests again, on PostgreSQL"; \
		DATABASE_URL='$(TOLLGATE_TEST_DATABASE_URL)' $(BIN)/python -m pytest -p no:cacheprovider \
			-m "not browser and not served"; \
	else \
		echo "!!! SKIPPED: PostgreSQL is not reachable at $(TOLLGATE_TEST_DATABASE_URL): the PostgreSQL pass did NOT run"; \
	fi

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Usage records the Logs benchmark seeds (bench/usage_logs.py): SQLite, and PostgreSQL too
# when DATABASE_URL names one (a throwaway database beside it, dropped after).
BENCH_USAGE_ROWS ?= 1000000
bench: $(STAMP)
	@command -v wrk >/dev/null 2>&1 || { \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; }
	@# valgrind for the instruction counts (bench/instructions.py; BENCH_INSTRUCTIONS=0 skips).
	@[ "$(BENCH_INSTRUCTIONS)" = "0" ] || command -v valgrind >/dev/null 2>&1 || { \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq valgrind; }
	$(BIN)/python -m bench.run
	$(BIN)/python -m bench.usage_logs --rows $(BENCH_USAGE_ROWS)

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .ruff_cache .mypy_cache
