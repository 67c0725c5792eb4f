#!/usr/bin/env bash
# Everything `make test` runs: lint, the import contracts, the suite on SQLite, what behaves
# differently on PostgreSQL, the browser tests and the API fuzzed over HTTP, in lanes that
# share the two cores.
set -euo pipefail
cd "$(dirname "$0")/.."
script_started=$(date +%s)
BIN=.venv/bin

# Bytecode is written, whatever the environment says (docs/adr/0241): with
# PYTHONDONTWRITEBYTECODE set, every pytest process rewrote the assertions of all ~220 test
# modules again (~7 of its ~12 CPU s of collection) and every server a test starts compiled
# the app again. The `bytecode` step below writes them once, before the pytest lanes start.
unset PYTHONDONTWRITEBYTECODE

bash scripts/ensure-system-packages.sh
echo "== the OpenID provider for the SSO tests (npm ci in tests/oidc_provider)"
bash scripts/ensure-oidc-provider.sh

# Lanes started together, each timed (docs/adr/0229-make-test-lanes-share-modules.md,
# which amends the lanes of ADR 0216):
#   postgres-1..N: the tests marked `postgres` (their SQL behaves differently there, or
#             they need the cluster) on PostgreSQL; they mostly wait on leases, processes
#             and a stopped server. N pytest processes, each with its own throwaway cluster,
#             share them a module at a time (`pytest --module-queue`,
#             tests/support/module_queue.py): a process that gets free takes the next module;
#   sqlite-1..N: the suite on SQLite, less the browser tests and the tests that are on
#             PostgreSQL whatever TEST_DB says (marker pg_cluster), shared the same way;
#   browser-1..N: the browser tests (Chromium against live servers on seeded SQLite
#             files), shared the same way: they wait on pages more than they compute, and
#             as one process they were the last lane to end (ADR 0236);
#   fuzz-1, fuzz-2: the API fuzzed over HTTP (schemathesis CLI against gunicorn on a seeded
#             SQLite file) as the provider and the stakeholder, as the manager and the admin;
#   lint:     ruff, the import contracts, deptry.
# The waiting lanes leave their core to the others, and the processes of a database lane
# end within about a module of each other, so both cores stay busy until the end. Every
# test runs once per database it is meant for; the markers come from tests/conftest.py and
# the test modules, never from path lists here. Each lane logs to its own file, printed
# whole when all are done, so the outputs never interleave.
SPLIT=${TEST_SPLIT:-2} # pytest processes per database lane
LOGS=$(mktemp -d)
lane() { # lane NAME COMMAND...: run, log, record exit code, wall seconds and CPU seconds
    local name=$1 started rc=0 cpu server
    shift
    started=$(date +%s)
    export TEST_SERVER_CPU_FILE="$LOGS/$name.server-cpu"
    "$@" >"$LOGS/$name.log" 2>&1 || rc=$?
    # CPU of every process this lane waited for, plus the PostgreSQL servers it started
    # (they run detached, so `times` cannot see them; tests/support/postgres.py records them).
    times >"$LOGS/$name.times" # a builtin in this shell: in a pipe it would see no children
    cpu=$(tail -n 1 "$LOGS/$name.times" | awk '{ gsub(/[ms]/, " "); printf "%.0f", $1 * 60 + $2 + $3 * 60 + $4 }')
    server=0
    [ ! -f "$TEST_SERVER_CPU_FILE" ] || server=$(awk '{ s += $1 } END { printf "%.0f", s }' "$TEST_SERVER_CPU_FILE")
    echo "$rc $(($(date +%s) - started)) $cpu $server" >"$LOGS/$name.result"
    return "$rc"
}
lint_lane() { # every check runs and each failure counts (set -e is off inside `lane`)
    local rc=0
    echo "== ruff"
    $BIN/ruff check . || rc=1
    $BIN/ruff format --check . || rc=1
    echo "== import contracts (pyproject.toml [tool.importlinter], docs/architecture.md)"
    $BIN/lint-imports || rc=1
    echo "== deptry (every import satisfied by a declared dependency)"
    $BIN/deptry . || rc=1
    return "$rc"
}
postgres_lane() { # postgres_lane I: process I of the PostgreSQL run
    echo "== pytest on PostgreSQL, process $1 of $SPLIT: the tests marked postgres"
    TEST_DB=postgres $BIN/pytest -m "postgres and not sqlite_param" -q -p no:cacheprovider \
        --module-queue "$LOGS/postgres-queue"
}
sqlite_lane() { # sqlite_lane I: process I of the SQLite run
    echo "== pytest on SQLite, process $1 of $SPLIT: all but the browser and PostgreSQL-only tests"
    TEST_DB=sqlite $BIN/pytest -m "not pg_cluster and not browser" -q -p no:cacheprovider \
        --module-queue "$LOGS/sqlite-queue"
}
browser_lane() { # browser_lane I: process I of the browser run
    echo "== the browser tests, process $1 of $SPLIT (Chromium against live servers on seeded SQLite files)"
    TEST_DB=sqlite $BIN/pytest -m "browser and not pg_cluster" -q -p no:cacheprovider \
        --module-queue "$LOGS/browser-queue"
}
bytecode_step() { # what every pytest process would otherwise compile and rewrite itself
    echo "== bytecode: the app compiled and the test modules' assertions rewritten, once"
    $BIN/pytest --collect-only -q -p no:cacheprovider | tail -n 1
}
fuzz_lane() { # fuzz_lane ROLE...
    echo "== schemathesis CLI against a live gunicorn (seeded SQLite) as: $*"
    bash scripts/api-fuzz.sh "$@"
}
# The lanes that collect no tests start at once; the pytest lanes after the bytecode step
# (it runs beside the fuzz lanes' setup and lint), the longest-waiting first.
LANES=() COMMANDS=() pids=()
start_lanes() { # start_lanes FROM: every lane from index FROM on, in the background
    local index
    for index in $(seq "$1" $((${#LANES[@]} - 1))); do
        # shellcheck disable=SC2086  # a function name and its arguments, split on purpose
        lane "${LANES[$index]}" ${COMMANDS[$index]} &
        pids+=($!)
    done
}
LANES+=(fuzz-1 fuzz-2 lint)
COMMANDS+=("fuzz_lane provider stakeholder" "fuzz_lane manager admin" lint_lane)
start_lanes 0
lane bytecode bytecode_step &
wait $! || true # a failure shows in the summary; the pytest lanes would report it too
first=${#LANES[@]}
for i in $(seq 1 "$SPLIT"); do LANES+=("postgres-$i") COMMANDS+=("postgres_lane $i"); done
for i in $(seq 1 "$SPLIT"); do LANES+=("browser-$i") COMMANDS+=("browser_lane $i"); done
for i in $(seq 1 "$SPLIT"); do LANES+=("sqlite-$i") COMMANDS+=("sqlite_lane $i"); done
start_lanes "$first"
for pid in "${pids[@]}"; do wait "$pid" || true; done
failed=0 total_cpu=0 passed_tests=0 failed_tests=0
summary=()
# Printed lint and fuzz first, the pytest lanes last; the pytest counts are added up below.
for name in lint bytecode "${LANES[@]}"; do
    [ -f "$LOGS/$name.result" ] || continue
    cat "$LOGS/$name.log"
    read -r rc wall cpu server <"$LOGS/$name.result"
    rm "$LOGS/$name.result" # printed once
    [ "$rc" -eq 0 ] || failed=1
    total_cpu=$((total_cpu + cpu + server))
    summary+=("   $name: exit $rc, ${wall}s wall, ${cpu}s CPU (+ ${server}s PostgreSQL server)")
    # pytest's closing line, e.g. "3 failed, 1020 passed, 12 deselected in 400.1s"
    closing=$(grep -E '^=* ?[0-9]+ (passed|failed|errors?)\b.* in [0-9.]+s' "$LOGS/$name.log" | tail -n 1 || true)
    for kind in passed failed error errors; do
        count=$(grep -oE "[0-9]+ $kind\b" <<<"$closing" | cut -d' ' -f1 || true)
        [ -z "$count" ] || case $kind in
            passed) passed_tests=$((passed_tests + count)) ;;
            *) failed_tests=$((failed_tests + count)) ;;
        esac
    done
done
rm -rf "$LOGS"
wall=$(($(date +%s) - script_started))
echo "== lanes (wall time; CPU seconds of the lane's processes and of its PostgreSQL servers):"
printf '%s\n' "${summary[@]}"
echo "   all lanes: ${total_cpu}s CPU, so at least $(((total_cpu + 1) / 2))s wall on 2 cores"
echo "   script (installs of OS packages and npm modules included): ${wall}s wall"
echo "pytest: $passed_tests passed, $failed_tests failed"
[ "$failed" -eq 0 ]
