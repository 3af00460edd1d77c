# Tunebase: `make` sets up this checkout; `make run` serves the product on the embedded default; `make test`
# runs every test. Set-up creates .venv, installs the locked requirements-dev.txt (hash-checked; again only
# when a lock changes) and writes a development .env once (see the README: Development).

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
ADDR ?= 127.0.0.1:8000
# Local development and tests run with DEBUG on (a development secret key); production sets DEBUG=0.
export DEBUG ?= 1
# pytest processes for the tests that can share the machine (`auto`: one per core; pytest-xdist; 0: one).
PYTEST_WORKERS ?= auto
# The tests marked `worker` start real Celery workers (which take any task on their broker) and mostly wait
# on them: they run in a pytest process of their own beside the others, with a var/ folder (SQLite, broker,
# cache, media), a test database and, where REDIS_URL is set, a Redis database of their own: by default the
# one after REDIS_URL's.
WORKER_TESTS_REDIS_URL ?= $(if $(REDIS_URL),$(shell $(PYTHON) -c 'import sys, urllib.parse as p; u = p.urlsplit(sys.argv[1]); print(u._replace(path="/%d" % (int(u.path.strip("/") or 0) + 1)).geturl())' '$(REDIS_URL)'))
# Lowest total coverage (lines and branches of the product's code, tests excluded) `make test` accepts:
# 87.4-88.4 % measured 2026-12-03; raise it as coverage rises.
COVERAGE_FLOOR ?= 87
# `make lock ARGS="--upgrade-package NAME"` re-resolves one package; see the README: Dependencies.
ARGS ?=

.DEFAULT_GOAL := setup
.PHONY: setup run test lint typecheck pytest migrate lock clean help

help:
	@echo "make       - set up: .venv from the lock, a development .env (DEBUG=1, its own SECRET_KEY)"
	@echo "make run   - set up, migrate, seed the demo tenant, serve on http://$(ADDR) with a worker"
	@echo "make test  - set up, then lint, type-check, check import layers and run the whole test suite"
	@echo "make lock  - re-compile requirements.txt and requirements-dev.txt from the .in files"

setup: $(BIN)/.installed .env

$(BIN)/.installed: requirements.txt requirements-dev.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements-dev.txt
	@touch $@

# Written once and never overwritten (delete it to get a new one); git-ignored. The real environment wins.
.env:
	@umask 077 && printf '%s\n' \
		'# Local development settings written by make (git-ignored). Variables set in the environment win.' \
		'DEBUG=1' \
		"SECRET_KEY=$$($(PYTHON) -c 'import secrets; print("dev-" + secrets.token_urlsafe(48))')" > $@
	@echo "wrote $@: DEBUG=1 and a development SECRET_KEY"

migrate: setup
	$(BIN)/python manage.py migrate --noinput

# Links the server writes (emails, quota errors, Stripe's return URLs) point at where it serves. Celery's
# own lines (beat's schedule, each task received and done) log at WARNING, so the server's stay in view.
run: migrate
	$(BIN)/python manage.py seed_demo --train --url http://$(ADDR)
	PUBLIC_URL=$${PUBLIC_URL:-http://$(ADDR)} CELERY_LOG_LEVEL=$${CELERY_LOG_LEVEL:-WARNING} \
		$(BIN)/python manage.py devserver --addr $(ADDR)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: setup
	$(BIN)/mypy .

# Two pytest processes at once, one coverage total: the tests with real Celery workers in the background
# (output in var/worker-tests.log, shown at the end), the rest side by side in the foreground.
pytest: setup
	$(BIN)/python manage.py makemigrations --check --dry-run
	@rm -f .coverage .coverage.*; mkdir -p var
	@echo "== the tests with real Celery workers start in the background (var/worker-tests.log)"
	@COVERAGE_FILE=.coverage.worker-tests TUNEBASE_VAR_DIR="$(CURDIR)/var/worker-tests" TUNEBASE_TEST_DB_SUFFIX=workers \
		$(if $(REDIS_URL),REDIS_URL="$(WORKER_TESTS_REDIS_URL)") \
		$(BIN)/pytest --create-db -m worker --cov --cov-report= >var/worker-tests.log 2>&1 & workers=$$!; \
	COVERAGE_FILE=.coverage.other-tests $(BIN)/pytest --create-db -n $(PYTEST_WORKERS) --dist loadfile \
		-m "not worker" --cov --cov-report=; others=$$?; \
	wait $$workers; status=$$?; \
	echo "== the tests with real Celery workers (var/worker-tests.log)"; cat var/worker-tests.log; \
	test $$others -eq 0 && test $$status -eq 0
	$(BIN)/coverage combine --quiet .coverage.other-tests .coverage.worker-tests
	$(BIN)/coverage report --fail-under=$(COVERAGE_FLOOR)

test: lint typecheck pytest

lock: | $(BIN)/.installed
	CUSTOM_COMPILE_COMMAND="make lock" $(BIN)/pip-compile --quiet --generate-hashes --allow-unsafe \
		--strip-extras --no-emit-index-url --no-emit-find-links $(ARGS) -o requirements.txt requirements.in
	CUSTOM_COMPILE_COMMAND="make lock" $(BIN)/pip-compile --quiet --generate-hashes --allow-unsafe \
		--strip-extras --no-emit-index-url --no-emit-find-links $(ARGS) -o requirements-dev.txt requirements-dev.in

clean:
	rm -rf var staticfiles .pytest_cache .mypy_cache .ruff_cache .coverage .coverage.* htmlcov
