# Tunebase: `make run` serves the product on the embedded default; `make test` runs every test.
# Both create .venv and install requirements.txt first (again only when it changes).

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
ADDR ?= 127.0.0.1:8000
# Local development and tests run with DEBUG on (a development secret key); production sets DEBUG=0.
export DEBUG ?= 1

.PHONY: run test lint typecheck pytest migrate clean help

help:
	@echo "make run   - install, migrate, seed the demo tenant, serve on http://$(ADDR) with a worker"
	@echo "make test  - install, then lint, type-check and run the whole test suite"

$(BIN)/.installed: requirements.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	@touch $@

migrate: $(BIN)/.installed
	$(BIN)/python manage.py migrate --noinput

run: migrate
	$(BIN)/python manage.py seed_demo --train --url http://$(ADDR)
	$(BIN)/python manage.py devserver --addr $(ADDR)

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(BIN)/.installed
	$(BIN)/mypy .

pytest: $(BIN)/.installed
	$(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/pytest --create-db

test: lint typecheck pytest

clean:
	rm -rf var staticfiles .pytest_cache .mypy_cache .ruff_cache
