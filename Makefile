# Autopack: `make run` serves on :8000 (SQLite in ./data); `make test` runs the suite on SQLite and PostgreSQL.
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
# Two installs: the server's dependencies alone (`run`, `migrate`, `bench`), and those plus the test
# tools (`test`, `lint`), so a server never carries pytest and friends.
RUN_STAMP := $(VENV)/.installed-run
TEST_STAMP := $(VENV)/.installed-test
HOST ?= 127.0.0.1
PORT ?= 8000
# Two worker processes serve the mixed read/write load about 1.8x as fast as one on SQLite, reads no
# slower, at the same CPU per request (bench/serve_config.py, bench/README.md). Rate limits and the
# login throttle count per process with memory:// storage (two workers would allow twice the attempts),
# so two is the default only when AUTOPACK_RATE_LIMIT_STORAGE is shared (redis://); otherwise one.
WORKERS ?= $(if $(filter redis://% rediss://%,$(AUTOPACK_RATE_LIMIT_STORAGE)),2,1)
TEST_PG_URL ?= postgresql://postgres@127.0.0.1:5432/postgres

.PHONY: run test test-sqlite test-postgres bench lint migrate clean

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Python 3.11 ($(PYTHON)) is required"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(RUN_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e .
	touch $(RUN_STAMP)

$(TEST_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $(TEST_STAMP) $(RUN_STAMP)

# The console's browser tests drive Debian's Chromium (never a downloaded browser): installed with apt
# when it is missing; without it those tests are skipped.
CHROMIUM := /usr/bin/chromium

$(CHROMIUM):
	@echo "Installing Debian's chromium for the console's browser tests (apt-get)"
	@{ DEBIAN_FRONTEND=noninteractive apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; } \
		>/dev/null || echo "chromium was not installed: the browser tests will be skipped"

migrate: $(RUN_STAMP)
	$(BIN)/autopack migrate

run: $(RUN_STAMP)
	$(BIN)/autopack migrate
	$(BIN)/autopack serve --host $(HOST) --port $(PORT) --workers $(WORKERS)

# The two databases' runs share nothing (own database, own data directory, own Redis database), so
# they run side by side, one per core; the PostgreSQL run's output follows the SQLite run's. A command
# put in the background by sh starts with SIGINT ignored: env gives it back (tests send Ctrl-C to CLIs).
test: $(TEST_STAMP) | $(CHROMIUM)
	@mkdir -p .test-logs
	@rm -f .test-logs/postgresql.rc
	@( env --default-signal=INT $(MAKE) --no-print-directory test-postgres > .test-logs/postgresql.log 2>&1; \
	   echo $$? > .test-logs/postgresql.rc ) & \
	$(MAKE) --no-print-directory test-sqlite; sqlite=$$?; wait; \
	echo "======== PostgreSQL run (.test-logs/postgresql.log) ========"; cat .test-logs/postgresql.log; \
	postgres=$$(cat .test-logs/postgresql.rc 2>/dev/null || echo 1); \
	echo "SQLite run exit $$sqlite, PostgreSQL run exit $$postgres"; \
	test $$sqlite -eq 0 && test $$postgres -eq 0

test-sqlite: $(TEST_STAMP) | $(CHROMIUM)
	AUTOPACK_TEST_DB=sqlite $(BIN)/python -m pytest $(PYTEST_ARGS)

test-postgres: $(TEST_STAMP) | $(CHROMIUM)
	AUTOPACK_TEST_DB=postgresql AUTOPACK_TEST_PG_URL=$(TEST_PG_URL) \
	AUTOPACK_TEST_REDIS_URL=redis://127.0.0.1:6379/1 $(BIN)/python -m pytest $(PYTEST_ARGS)

# A server on SQLite, the example run and the executor with a scripted builder (DEMO_ARGS=--keep: stay up).
.PHONY: demo
demo: $(RUN_STAMP)
	$(BIN)/python -m autopack.executor.demo $(DEMO_ARGS)

bench: $(RUN_STAMP)
	$(BIN)/python bench/run.py $(BENCH_ARGS)

lint: $(TEST_STAMP)
	$(BIN)/ruff check src tests bench

clean:
	rm -rf $(VENV) data .autonomous_runs .test-logs
