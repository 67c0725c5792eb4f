#!/usr/bin/env bash
# Everything `make test` runs: lint, the import contracts, the suite on SQLite, the suite
# on PostgreSQL and the API fuzzed over HTTP (the last three in two parallel lanes).
set -euo pipefail
cd "$(dirname "$0")/.."
script_started=$(date +%s)
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

# Two lanes side by side, one a core, each timed (docs/adr/0180-a-test-database-by-a-cheap-path.md):
#   sqlite:   the whole suite on SQLite, browser tests included;
#   postgres: the suite on PostgreSQL, then the API fuzz (schemathesis CLI over HTTP).
# The PostgreSQL lane leaves out what never touches its database or cannot run there:
# the browser tests (a live server on a seeded SQLite file), the workflow engine (pure
# Python), the architecture and config checks, and the SQLite query-plan checks
# (EXPLAIN QUERY PLAN is SQLite's). Each lane logs to its own file, printed whole when
# both are done, so the outputs never interleave. Each pytest run starts its own
# throwaway PostgreSQL cluster on a free port.
LOGS=$(mktemp -d)
lane() {  # lane NAME COMMAND...: run, log, and record the exit code and wall seconds
    local name=$1 started rc=0
    shift
    started=$(date +%s)
    "$@" >"$LOGS/$name.log" 2>&1 || rc=$?
    echo "$rc $(($(date +%s) - started))" >"$LOGS/$name.result"
    return "$rc"
}
sqlite_suite() {
    echo "== pytest on SQLite (with the PostgreSQL-specific tests and the browser tests)"
    TEST_DB=sqlite $BIN/pytest -q -p no:cacheprovider
}
postgres_suite_then_fuzz() {
    local rc=0
    echo "== pytest on PostgreSQL"
    TEST_DB=postgres $BIN/pytest -m "not browser" -q -p no:cacheprovider \
        --ignore=tests/browser --ignore=tests/workflows --ignore=tests/test_architecture.py \
        --ignore=tests/test_config.py --ignore=tests/perf/test_query_plans.py || rc=$?
    echo "== schemathesis CLI against a live gunicorn (seeded SQLite, one token per role)"
    bash scripts/api-fuzz.sh || rc=$?
    return "$rc"
}
lane sqlite sqlite_suite &
sqlite_lane=$!
lane postgres postgres_suite_then_fuzz &
postgres_lane=$!
wait "$sqlite_lane" || true
wait "$postgres_lane" || true
cat "$LOGS/sqlite.log" "$LOGS/postgres.log"
read -r sqlite_rc sqlite_s <"$LOGS/sqlite.result"
read -r postgres_rc postgres_s <"$LOGS/postgres.result"
rm -rf "$LOGS"
echo "== lanes: sqlite (suite) exit $sqlite_rc in ${sqlite_s}s;" \
    "postgres (suite + API fuzz) exit $postgres_rc in ${postgres_s}s;" \
    "script (lint included) in $(($(date +%s) - script_started))s"
[ "$sqlite_rc" -eq 0 ] && [ "$postgres_rc" -eq 0 ]
