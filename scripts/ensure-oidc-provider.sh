#!/usr/bin/env bash
# Install the real OpenID provider the SSO tests sign in against (tests/oidc_provider/,
# the npm package oidc-provider on the system's Node) when missing or out of date.
# scripts/ensure-system-packages.sh installs node and npm first.
set -euo pipefail
cd "$(dirname "$0")/../tests/oidc_provider"
# The stamp holds the lock file's hash, not just a date: a checkout or a fresh worktree gives
# the lock a new mtime without changing what it pins, and npm ci would rebuild for nothing.
stamp=node_modules/.stamp-npm-ci
lock_hash=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ -f "$stamp" ] && { [ "$(cat "$stamp")" = "$lock_hash" ] || { [ ! -s "$stamp" ] && [ "$stamp" -nt package-lock.json ]; }; }; then
  exit 0
fi
if ! command -v npm >/dev/null; then
  echo "npm is missing: the SSO tests cannot start their OpenID provider" >&2
  exit 1
fi
npm ci --no-audit --no-fund --loglevel=error
echo "$lock_hash" >"$stamp"
