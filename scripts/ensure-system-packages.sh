#!/usr/bin/env bash
# Install the OS packages the tests drive for real (Chromium, PostgreSQL) when missing.
# Needs root for apt-get; otherwise it only reports what is missing.
set -u
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)  # scripts/screenshots.py (the README's pictures)
# the browser tests: the same build without the desktop browser, a third of the CPU (ADR 0245)
[ -x /usr/lib/chromium/chromium-headless-shell ] || missing+=(chromium-headless-shell)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
fc-list 2>/dev/null | grep -qi dejavu || missing+=(fonts-dejavu-core)
command -v node >/dev/null || missing+=(nodejs)  # the SSO tests' OpenID provider
command -v npm >/dev/null || missing+=(npm)
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
  echo "Installing OS packages: ${missing[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "Missing OS packages (install them as root): ${missing[*]}" >&2
fi
