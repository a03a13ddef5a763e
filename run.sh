#!/usr/bin/env bash
# The main job: set up, write the bundled demo study and run the monitoring service on it
# (embedded SQLite under var/). See README.md.
set -euo pipefail
cd "$(dirname "$0")"
scripts/setup.sh
exec .venv/bin/vigil serve --demo "$@"
