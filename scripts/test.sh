#!/usr/bin/env bash
# Everything `make test` runs: lint, the import contracts, the API fuzzed over HTTP,
# the suite on SQLite, the suite on PostgreSQL (the last three in two parallel lanes).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin

bash scripts/ensure-system-packages.sh
echo "== the OpenID provider for the SSO tests (npm ci in tests/oidc_provider)"
bash scripts/ensure-oidc-provider.sh

echo "== ruff"
$BIN/ruff check .
$BIN/ruff format --check .

echo "== import contracts (pyproject.toml [tool.importlinter], docs/architecture.md)"
$BIN/lint-imports
echo "== deptry (every import satisfied by a declared dependency)"
$BIN/deptry .

# Two lanes side by side, one a core: (the API fuzz, then the suite on SQLite with the
# browser tests) and (the suite on PostgreSQL). Each lane logs to its own file, printed
# whole when both are done, so the two outputs never interleave. Each pytest run has its
# own throwaway PostgreSQL cluster on a free port.
LOGS=$(mktemp -d)
(
    echo "== schemathesis CLI against a live gunicorn (seeded SQLite, one token per role)"
    bash scripts/api-fuzz.sh
    echo "== pytest on SQLite (plus the PostgreSQL-specific tests and the browser tests)"
    TEST_DB=sqlite $BIN/pytest -p no:cacheprovider
) >"$LOGS/sqlite.log" 2>&1 &
sqlite_lane=$!
(
    echo "== pytest on PostgreSQL (browser tests already run in the SQLite lane)"
    TEST_DB=postgres $BIN/pytest -m "not browser" -q -p no:cacheprovider
) >"$LOGS/postgres.log" 2>&1 &
postgres_lane=$!

sqlite_rc=0
postgres_rc=0
wait "$sqlite_lane" || sqlite_rc=$?
wait "$postgres_lane" || postgres_rc=$?
cat "$LOGS/sqlite.log" "$LOGS/postgres.log"
rm -rf "$LOGS"
echo "== lanes: sqlite (fuzz + suite) exit $sqlite_rc, postgres exit $postgres_rc"
[ "$sqlite_rc" -eq 0 ] && [ "$postgres_rc" -eq 0 ]
