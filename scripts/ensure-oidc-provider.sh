#!/usr/bin/env bash
# Install the real OpenID provider the SSO tests sign in against (tests/oidc_provider/,
# the npm package oidc-provider on the system's Node) when missing or out of date.
# scripts/ensure-system-packages.sh installs node and npm first.
set -euo pipefail
cd "$(dirname "$0")/../tests/oidc_provider"
stamp=node_modules/.stamp-npm-ci
if [ -f "$stamp" ] && [ "$stamp" -nt package-lock.json ]; then
  exit 0
fi
if ! command -v npm >/dev/null; then
  echo "npm is missing: the SSO tests cannot start their OpenID provider" >&2
  exit 1
fi
npm ci --no-audit --no-fund --loglevel=error
touch "$stamp"
