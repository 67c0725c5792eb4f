#!/usr/bin/env bash
# Everything `make test` runs: lint, the import contracts, the API fuzzed over HTTP,
# the suite on SQLite, the suite on PostgreSQL. Each pytest run starts (and always stops) its own
# throwaway PostgreSQL cluster. pytest runs last so its summary closes the log.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin

bash scripts/ensure-system-packages.sh

echo "== ruff"
$BIN/ruff check .
$BIN/ruff format --check .

echo "== import contracts (pyproject.toml [tool.importlinter], docs/architecture.md)"
$BIN/lint-imports
echo "== deptry (every import satisfied by a declared dependency)"
$BIN/deptry .

echo "== schemathesis CLI against a live gunicorn (seeded SQLite, one token per role)"
bash scripts/api-fuzz.sh

echo "== pytest on SQLite (plus the PostgreSQL-specific tests and the browser tests)"
TEST_DB=sqlite $BIN/pytest

echo "== pytest on PostgreSQL (browser tests already ran above)"
TEST_DB=postgres $BIN/pytest -m "not browser" -q
