#!/usr/bin/env bash
# Everything `make test` runs: lint, the import contracts, the suite on SQLite, what behaves
# differently on PostgreSQL, the browser tests and the API fuzzed over HTTP, in three lanes.
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

# Three lanes started together on the two cores, each timed
# (docs/adr/0216-what-runs-where-in-make-test.md):
#   sqlite:   the suite on SQLite, less the browser tests and the tests that are on
#             PostgreSQL whatever TEST_DB says (marker pg_cluster); then the API fuzz
#             (schemathesis CLI over HTTP) as the provider and the stakeholder;
#   postgres: the tests marked `postgres` (their SQL behaves differently there, or they
#             need the cluster), on PostgreSQL, which mostly wait on leases and
#             processes; then the API fuzz as the manager and the admin;
#   browser:  the browser tests (Chromium against live servers on seeded SQLite files).
# Every test runs once per database it is meant for; the markers come from tests/conftest.py
# and the test modules, never from path lists here. Each lane logs to its own file, printed
# whole when all are done, so the outputs never interleave. A pytest run that needs
# PostgreSQL starts its own throwaway cluster on a free port.
LOGS=$(mktemp -d)
lane() {  # lane NAME COMMAND...: run, log, record exit code, wall seconds and CPU seconds
    local name=$1 started rc=0 cpu server
    shift
    started=$(date +%s)
    export TEST_SERVER_CPU_FILE="$LOGS/$name.server-cpu"
    "$@" >"$LOGS/$name.log" 2>&1 || rc=$?
    # CPU of every process this lane waited for, plus the PostgreSQL servers it started
    # (they run detached, so `times` cannot see them; tests/support/postgres.py records them).
    times >"$LOGS/$name.times"  # a builtin in this shell: in a pipe it would see no children
    cpu=$(tail -n 1 "$LOGS/$name.times" | awk '{ gsub(/[ms]/, " "); printf "%.0f", $1 * 60 + $2 + $3 * 60 + $4 }')
    server=0
    [ ! -f "$TEST_SERVER_CPU_FILE" ] || server=$(awk '{ s += $1 } END { printf "%.0f", s }' "$TEST_SERVER_CPU_FILE")
    echo "$rc $(($(date +%s) - started)) $cpu $server" >"$LOGS/$name.result"
    return "$rc"
}
sqlite_lane() {
    local rc=0
    echo "== pytest on SQLite (all but the browser tests and the PostgreSQL-only tests)"
    TEST_DB=sqlite $BIN/pytest -m "not pg_cluster and not browser" -q -p no:cacheprovider || rc=$?
    echo "== schemathesis CLI against a live gunicorn (seeded SQLite): provider, stakeholder"
    bash scripts/api-fuzz.sh provider stakeholder || rc=$?
    return "$rc"
}
postgres_lane() {
    local rc=0
    echo "== pytest on PostgreSQL: the tests marked postgres"
    TEST_DB=postgres $BIN/pytest -m "postgres and not sqlite_param" -q -p no:cacheprovider || rc=$?
    echo "== schemathesis CLI against a live gunicorn (seeded SQLite): manager, admin"
    bash scripts/api-fuzz.sh manager admin || rc=$?
    return "$rc"
}
browser_lane() {
    echo "== the browser tests (Chromium against live servers on seeded SQLite files)"
    TEST_DB=sqlite $BIN/pytest -m "browser and not pg_cluster" -q -p no:cacheprovider
}
LANES=(sqlite postgres browser)
pids=()
for name in "${LANES[@]}"; do
    lane "$name" "${name}_lane" &
    pids+=($!)
done
for pid in "${pids[@]}"; do wait "$pid" || true; done
failed=0
summary=()
for name in "${LANES[@]}"; do
    cat "$LOGS/$name.log"
    read -r rc wall cpu server <"$LOGS/$name.result"
    [ "$rc" -eq 0 ] || failed=1
    summary+=("   $name: exit $rc, ${wall}s wall, ${cpu}s CPU (+ ${server}s PostgreSQL server)")
done
rm -rf "$LOGS"
echo "== lanes (wall time; CPU seconds of the lane's processes and of its PostgreSQL servers):"
printf '%s\n' "${summary[@]}"
echo "   script (lint included): $(($(date +%s) - script_started))s wall"
[ "$failed" -eq 0 ]
