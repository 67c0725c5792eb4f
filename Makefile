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

# One pip run for the app and its test tools (a fresh clone resolves and builds once).
$(VENV)/.stamp-test: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $@ $(VENV)/.stamp-install

# The OS packages the tests drive and the SSO tests' OpenID provider (npm ci): made beside
# the venv (`make test` builds its prerequisites two at a time), not after it.
OIDC_STAMP := tests/oidc_provider/node_modules/.stamp-npm-ci
$(OIDC_STAMP): tests/oidc_provider/package-lock.json
	bash scripts/ensure-system-packages.sh
	bash scripts/ensure-oidc-provider.sh

install: $(VENV)/.stamp-install

## make run: set up, migrate SQLite, load the demo, serve on :5000 with an embedded scheduler
run: $(VENV)/.stamp-install
	$(BIN)/flask db upgrade
	$(BIN)/flask seed-demo
	SCHEDULER_EMBEDDED=1 $(BIN)/flask run --host 127.0.0.1 --port 5000

## make test: lint, then the whole suite on SQLite and on a throwaway PostgreSQL
test:
	$(MAKE) --jobs=2 --output-sync=target $(VENV)/.stamp-test $(OIDC_STAMP)
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
