#!/usr/bin/env bash
# Set up (test dependencies, Chromium) and run the whole test suite. SQLite by default;
# VIGIL_TEST_DATABASE_URL=postgresql+psycopg://... runs the same suite on PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")"
scripts/setup.sh --test
exec .venv/bin/python -m pytest "$@"
