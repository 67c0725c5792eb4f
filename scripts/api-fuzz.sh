#!/usr/bin/env bash
# Schemathesis CLI against a live server: gunicorn on a free port, a seeded SQLite
# database in a temp dir, one Bearer token per role. Called by scripts/test.sh.
# Usage: api-fuzz.sh [ROLE...] (default: all four roles, in this order).
#
# Checks: all of them except positive_data_acceptance (schema-valid input still
# meets business rules: a random id is a 404, unmet guards are a 409).
# Every operation is fuzzed. Every other case of an operation with ids in its path is sent
# with ids of rows the role can see (read through the API before its run), the others with
# the generated ids, so the code behind an existing row is fuzzed too (docs/adr/0247). A
# request that would end the run's own access (revoke its token, deactivate or demote its
# user) is sent to an unknown id instead, so the run keeps authenticating to the end and no
# operation is "answered only 401/403" for that reason (tests/support/fuzz_hooks.py).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=$PWD/.venv/bin
EXAMPLES=${API_FUZZ_EXAMPLES:-10}

WORK=$(mktemp -d)
SERVER_PID=""
cleanup() {
    if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT

export FLASK_APP=wsgi APP_ENV=production SECRET_KEY=api-fuzz-only INSTANCE_PATH="$WORK"
export DATABASE_URL="sqlite:///$WORK/tracker.db" MAIL_DIR="$WORK/mail"
# Schemathesis's ignored_auth check sends a bad token to every operation (~350 a run, all
# from 127.0.0.1) and insists on 401/403 for each; past 20 the address's bad-token count
# answers 429 by design. Only that count is raised here: the run's valid tokens are never
# refused for others' failures (ADR 0193), and the sign-in counters keep their settings.
export LOGIN_THROTTLE_TOKEN_FREE=1000000
# A webhook's host must resolve to a public address: that takes DNS, which no schema can
# state, so every generated URL would be refused for it. The SSRF refusals have their own
# tests (tests/notifications/test_webhook_delivery.py); here the URL's form is fuzzed.
export WEBHOOK_ALLOW_PRIVATE_TARGETS=1
declare -A EMAILS=(
    [admin]=admin@example.com
    [manager]=manager@example.com
    [provider]=priya@northwind.example
    [stakeholder]=stakeholder@example.com
)
ROLES=("$@")
# Roles: the arguments, else API_FUZZ_ROLES="manager admin", else all four.
# shellcheck disable=SC2206
[ ${#ROLES[@]} -gt 0 ] || ROLES=(${API_FUZZ_ROLES:-stakeholder provider manager admin})
ROLE_EMAILS=()
for role in "${ROLES[@]}"; do
    [ -n "${EMAILS[$role]:-}" ] || { echo "unknown role: $role" >&2; exit 2; }
    ROLE_EMAILS+=("${EMAILS[$role]}")
done
# The same three commands as `flask db upgrade`, `flask seed-demo` and `flask tokens create
# EMAIL` (a token for each role run here), invoked in one interpreter: each `flask` process
# would import the app again, about 2 CPU s apiece (ADR 0236).
declare -A TOKENS
mapfile -t SECRETS < <($BIN/python - "${ROLE_EMAILS[@]}" 2>"$WORK/setup.log" <<'PY'
import sys

from flask_migrate import upgrade

from wsgi import app

runner = app.test_cli_runner()


def invoke(*args: str) -> str:
    result = runner.invoke(args=list(args))
    if result.exit_code != 0:
        sys.exit(f"flask {' '.join(args)} failed:\n{result.output}{result.exception or ''}")
    return result.stdout


with app.app_context():
    upgrade()  # what `flask db upgrade` calls
invoke("seed-demo")
for email in sys.argv[1:]:
    print(invoke("tokens", "create", email, "--name", "schemathesis").strip())
PY
)
[ ${#SECRETS[@]} -eq ${#ROLES[@]} ] || {
    cat "$WORK/setup.log" >&2
    echo "expected a token per role, got ${#SECRETS[@]}" >&2
    exit 1
}
for index in "${!ROLES[@]}"; do TOKENS[${ROLES[$index]}]=${SECRETS[$index]}; done

PORT=$($BIN/python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
$BIN/gunicorn --workers 2 --bind "127.0.0.1:$PORT" --log-level warning wsgi:app &
SERVER_PID=$!
for _ in $(seq 1 50); do
    curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break
    sleep 0.2
done

export SCHEMATHESIS_HOOKS=tests.support.fuzz_hooks PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
FAILED=""
for role in "${ROLES[@]}"; do
    echo "-- schemathesis as $role"
    export FUZZ_REAL_IDS="$WORK/ids-$role.json" FUZZ_REAL_IDS_REPORT="$WORK/answers-$role.json"
    $BIN/python -m tests.support.fuzz_hooks prepare "http://127.0.0.1:$PORT" "${TOKENS[$role]}" "$FUZZ_REAL_IDS"
    $BIN/schemathesis run "http://127.0.0.1:$PORT/api/v1/openapi.json" \
        -H "Authorization: Bearer ${TOKENS[$role]}" \
        --checks all --exclude-checks positive_data_acceptance \
        --max-examples "$EXAMPLES" --generation-deterministic \
        --request-timeout 10 --no-color || FAILED="$FAILED $role"
    $BIN/python -m tests.support.fuzz_hooks summary "$FUZZ_REAL_IDS_REPORT" || FAILED="$FAILED $role"
    # API_FUZZ_REPORTS=DIR keeps each role's answers per operation (real or generated ids,
    # mode, status) and the ids it used, e.g. to compare two runs' reach.
    if [ -n "${API_FUZZ_REPORTS:-}" ]; then
        mkdir -p "$API_FUZZ_REPORTS"
        cp "$FUZZ_REAL_IDS_REPORT" "$FUZZ_REAL_IDS" "$API_FUZZ_REPORTS/" 2>/dev/null || true
    fi
done
if [ -n "$FAILED" ]; then
    echo "schemathesis found failures as:$FAILED" >&2
    exit 1
fi
