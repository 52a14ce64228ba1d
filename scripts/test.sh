#!/usr/bin/env bash
# The whole test suite on a fresh machine: installs what it needs, then runs pytest.
# Browser tests use Debian's Chromium (never a downloaded browser build).
# Versions come from constraints.txt (the set the suite is known to pass with), so an
# install today gets what passed yesterday; scripts/check-latest.sh tries the newest.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install -q -c constraints.txt -e '.[test,bench]'  # bench: the SpiffWorkflow peer (tests/test_benches.py)
# pg_dump, pg_restore and psql: `loom db backup/restore` on PostgreSQL (tests/store/test_backup.py)
missing=""
command -v chromium >/dev/null 2>&1 || missing="$missing chromium"
command -v pg_dump >/dev/null 2>&1 && command -v psql >/dev/null 2>&1 || missing="$missing postgresql-client"
if [ -n "$missing" ]; then
  (apt-get update -qq && apt-get install -y -qq $missing) >/dev/null
fi
# one worker per core; a test file stays on one worker (its module fixtures are built once)
exec python3 -m pytest -q -n auto --dist loadfile --durations=20 "$@"
