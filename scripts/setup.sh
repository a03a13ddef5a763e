#!/usr/bin/env bash
# Prepare a fresh machine: a virtualenv with Vigil installed; with --test also the test
# dependencies and Debian's Chromium for the browser tests. Safe to run again: it only does
# what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
extras=""
[ "${1:-}" = "--test" ] && extras="[test]"
stamp=".venv/.installed${extras}"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e ".${extras}"
  touch "$stamp"
fi

if [ "${1:-}" = "--test" ] && [ ! -x /usr/bin/chromium ]; then
  # Playwright drives Debian's Chromium; `playwright install` cannot download browsers here.
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-dejavu-core >/dev/null
  else
    echo "setup: /usr/bin/chromium is missing; install Debian's 'chromium' package (browser tests will be skipped)" >&2
  fi
fi
