#!/usr/bin/env bash
# Everything `make test` runs: lint, the import contracts, the suite on SQLite, what behaves
# differently on PostgreSQL, the browser tests and the API fuzzed over HTTP, in two lanes.
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

# Two lanes side by side, one a core, each timed (docs/adr/0216-what-runs-where-in-make-test.md):
#   sqlite:   the suite on SQLite, less the browser tests and the tests that are on
#             PostgreSQL whatever TEST_DB says (marker pg_cluster, run in the other lane);
#   postgres: the tests marked `postgres` (their SQL behaves differently there, or they
#             need the cluster) on PostgreSQL, then the browser tests, then the API fuzz.
# Every test runs in exactly one lane on each database it is meant for; the markers are
# added in tests/conftest.py and by the test modules, never by path lists here. Each lane
# logs to its own file, printed whole when both are done, so the outputs never interleave.
# Each pytest run starts its own throwaway PostgreSQL cluster on a free port when it needs one.
LOGS=$(mktemp -d)
lane() {  # lane NAME COMMAND...: run, log, record exit code, wall seconds and CPU seconds
    local name=$1 started rc=0 cpu server
    shift
    started=$(date +%s)
    export TEST_SERVER_CPU_FILE="$LOGS/$name.server-cpu"
    "$@" >"$LOGS/$name.log" 2>&1 || rc=$?
    # CPU of every process this lane waited for, plus the PostgreSQL servers it started
    # (they run detached, so `times` cannot see them; tests/support/postgres.py records them).
    cpu=$(times | tail -n 1 | awk '{ gsub(/[ms]/, " "); print $1 * 60 + $2 + $3 * 60 + $4 }')
    server=$(awk '{ s += $1 } END { print s + 0 }' "$TEST_SERVER_CPU_FILE" 2>/dev/null || echo 0)
    echo "$rc $(($(date +%s) - started)) $cpu $server" >"$LOGS/$name.result"
    return "$rc"
}
sqlite_lane() {
    echo "== pytest on SQLite (browser tests and PostgreSQL-only tests in the other lane)"
    TEST_DB=sqlite $BIN/pytest -m "not pg_cluster and not browser" -q -p no:cacheprovider
}
postgres_lane() {
    local rc=0
    echo "== pytest on PostgreSQL: the tests marked postgres"
    TEST_DB=postgres $BIN/pytest -m "postgres and not sqlite_param" -q -p no:cacheprovider || rc=$?
    echo "== the browser tests (Chromium against live servers on seeded SQLite files)"
    TEST_DB=sqlite $BIN/pytest -m "browser and not pg_cluster" -q -p no:cacheprovider || rc=$?
    echo "== schemathesis CLI against a live gunicorn (seeded SQLite, one token per role)"
    bash scripts/api-fuzz.sh || rc=$?
    return "$rc"
}
lane sqlite sqlite_lane &
sqlite_pid=$!
lane postgres postgres_lane &
postgres_pid=$!
wait "$sqlite_pid" || true
wait "$postgres_pid" || true
cat "$LOGS/sqlite.log" "$LOGS/postgres.log"
read -r sqlite_rc sqlite_s sqlite_cpu sqlite_server <"$LOGS/sqlite.result"
read -r postgres_rc postgres_s postgres_cpu postgres_server <"$LOGS/postgres.result"
rm -rf "$LOGS"
echo "== lanes (wall; CPU of the lane's processes + of its PostgreSQL servers):"
echo "   sqlite   (suite on SQLite)                      exit $sqlite_rc in ${sqlite_s}s;" \
    "CPU ${sqlite_cpu}s + ${sqlite_server}s"
echo "   postgres (marked tests, browser tests, API fuzz) exit $postgres_rc in ${postgres_s}s;" \
    "CPU ${postgres_cpu}s + ${postgres_server}s"
echo "   script (lint included) in $(($(date +%s) - script_started))s"
[ "$sqlite_rc" -eq 0 ] && [ "$postgres_rc" -eq 0 ]
