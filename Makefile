# The two commands: `make run` (demo on SQLite) and `make test` (everything CI runs).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
export FLASK_APP := wsgi

.PHONY: run test install lint format clean-db

$(VENV)/.stamp-install: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e .
	touch $@

$(VENV)/.stamp-test: pyproject.toml $(VENV)/.stamp-install
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $@

install: $(VENV)/.stamp-install

## make run: set up, migrate SQLite, load the demo, serve on :5000 with an embedded scheduler
run: $(VENV)/.stamp-install
	$(BIN)/flask db upgrade
	$(BIN)/flask seed-demo
	SCHEDULER_EMBEDDED=1 $(BIN)/flask run --host 127.0.0.1 --port 5000

## make test: lint, then the whole suite on SQLite and on a throwaway PostgreSQL
test: $(VENV)/.stamp-test
	bash scripts/test.sh

lint: $(VENV)/.stamp-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format: $(VENV)/.stamp-test
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean-db:
	rm -f instance/tracker.db instance/tracker.db-wal instance/tracker.db-shm
