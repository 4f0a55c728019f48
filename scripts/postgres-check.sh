#!/usr/bin/env bash
# The control plane on PostgreSQL, against a real server this script starts and stops itself
# (scripts/postgres.sh: Debian's `postgresql`, initialised as the `postgres` user into a
# temporary directory, on a free port of 127.0.0.1). Then:
#   1. the store crate's tests, the control plane's and the whole HTTP suite with
#      GATEHOUSE_TEST_DATABASE_URL (each test makes a database of its own), from the test binaries
#      the unit step built;
#   2. two replicas on one database under 16 clients for 60 s, one killed with -9 midway and
#      restarted (adapters/http/tests/replicas_test.py);
#   3. bad database URLs at start, and the database stopped and started under load
#      (adapters/http/tests/database_test.py).
# The server is stopped and its directory removed on exit, whatever happened. Uses the debug
# binary and the virtualenv `.venv` of the earlier steps (the venv is made when missing).
# Usage: bash scripts/postgres-check.sh   (REPLICAS_SECONDS=60 by default)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

STEP_TAG=postgres
# shellcheck source=steps.sh
source scripts/steps.sh
# shellcheck source=postgres.sh
source scripts/postgres.sh
TARGET=${CARGO_TARGET_DIR:-target}
BIN=$TARGET/debug/gatehouse
VENV=.venv
PY=$VENV/bin/python

if [[ ! -x $PY ]]; then
    step venv python3 -m venv "$VENV"
fi
# Pinned in bindings/python/pyproject.toml, group `http` (the tests' client is httpx).
mapfile -t PY_DEPS < <(python3 scripts/py_group.py http)
step "pip install" "$PY" -m pip install --quiet --disable-pip-version-check "${PY_DEPS[@]}"

trap pg_stop EXIT
pg_start
export GATEHOUSE_TEST_DATABASE_URL=$PG_URL

# The test binaries of the unit step (`cargo test --workspace --all-targets`, same features:
# a `-p` build would resolve features differently and compile a second set).
binaries=$(cargo test --workspace --all-targets --locked --no-run --message-format=json 2>/dev/null \
    | "$PY" -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["name"] in ("store", "plane", "api"):
        print(m["target"]["name"], m["executable"])')
store=$(awk '$1 == "store" {print $2}' <<<"$binaries")
plane=$(awk '$1 == "plane" {print $2}' <<<"$binaries")
api=$(awk '$1 == "api" {print $2}' <<<"$binaries")
[[ -x $store && -x $plane && -x $api ]] || { echo "[postgres] the unit step's test binaries are missing" >&2; exit 1; }
step "store tests" "$store"
step "control plane tests" "$plane"
step "http suite" "$api"

step replicas "$PY" adapters/http/tests/replicas_test.py "$BIN" \
    --database-url "$(pg_createdb replicas)" --seconds "${REPLICAS_SECONDS:-60}"
step "database loss" "$PY" adapters/http/tests/database_test.py "$BIN" \
    --database-url "$(pg_createdb loss)" --stop-command "$PG_STOP" --start-command "$PG_START"
step "pg_ctl stop" bash -c "$PG_STOP"
printf '\n[postgres] steps:\n'
printf '  %s\n' "${STEP_SUMMARY[@]}"
