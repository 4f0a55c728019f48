#!/usr/bin/env bash
# The control plane on PostgreSQL, against a real server this script starts and stops itself:
# Debian's `postgresql` package (installed when missing), a cluster initialised into a temporary
# directory as the unprivileged `postgres` user (the server refuses root), on a free port of
# 127.0.0.1. Then:
#   1. the control crate's store tests and the whole HTTP suite with GATEHOUSE_TEST_DATABASE_URL
#      (each test makes a database of its own), from the test binaries the unit step built;
#   2. two replicas on one database under 16 clients for 60 s, one killed with -9 midway and
#      restarted (adapters/http/tests/replicas_test.py);
#   3. bad database URLs at start, and the database stopped and started under load
#      (adapters/http/tests/database_test.py).
# The server is stopped and its directory removed on exit, whatever happened. Uses the debug
# binary and the virtualenv `.venv` of the earlier steps (both made when missing).
# Usage: bash scripts/postgres-check.sh   (REPLICAS_SECONDS=60 by default)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

STEP_TAG=postgres
# shellcheck source=steps.sh
source scripts/steps.sh
TARGET=${CARGO_TARGET_DIR:-target}
BIN=$TARGET/debug/gatehouse
VENV=.venv
PY=$VENV/bin/python

if ! dpkg-query -W -f='${Status}' postgresql 2>/dev/null | grep -q 'ok installed'; then
    step "apt-get install postgresql" as_root env DEBIAN_FRONTEND=noninteractive \
        apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends postgresql
fi
# Debian keeps the server binaries off PATH, in the versioned directory of its package.
initdb=$(dpkg -L "$(dpkg-query -W -f='${Depends}' postgresql | grep -o 'postgresql-[0-9]\+' | head -1)" \
    | grep '/bin/initdb$' | head -1)
PGBIN=$(dirname "$initdb")
if [[ ! -x $PY ]]; then
    step venv python3 -m venv "$VENV"
fi
step "pip install" "$PY" -m pip install --quiet --disable-pip-version-check httpx==0.28.1

work=$(mktemp -d)
as_pg() { as_root runuser -u postgres -- "$@"; }
cleanup() {
    if [[ -f $work/data/postmaster.pid ]]; then
        as_pg "$PGBIN/pg_ctl" -D "$work/data" stop -m immediate >/dev/null 2>&1 || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT
chmod 755 "$work"
mkdir "$work/data" "$work/socket"
as_root chown postgres "$work/data" "$work/socket"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# max_connections: every test server has a pool of up to 16, and tests run two at a time.
server_options="-p $port -k $work/socket -c listen_addresses=127.0.0.1 -c max_connections=300"
step initdb as_pg "$PGBIN/initdb" -D "$work/data" -A trust -U gatehouse --no-sync
step "pg_ctl start" as_pg "$PGBIN/pg_ctl" -D "$work/data" -o "$server_options" -l "$work/data/server.log" -w start
export GATEHOUSE_TEST_DATABASE_URL=postgres://gatehouse@127.0.0.1:$port/postgres
printf '[postgres] PostgreSQL %s on %s\n' "$("$PGBIN/postgres" --version | awk '{print $3}')" "$GATEHOUSE_TEST_DATABASE_URL"

# The test binaries of the unit step (`cargo test --workspace --all-targets`, same features:
# a `-p` build would resolve features differently and compile a second set).
binaries=$(cargo test --workspace --all-targets --locked --no-run --message-format=json 2>/dev/null \
    | "$PY" -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["name"] in ("plane", "api"):
        print(m["target"]["name"], m["executable"])')
plane=$(awk '$1 == "plane" {print $2}' <<<"$binaries")
api=$(awk '$1 == "api" {print $2}' <<<"$binaries")
[[ -x $plane && -x $api ]] || { echo "[postgres] the unit step's test binaries are missing" >&2; exit 1; }
step "store tests" "$plane"
step "http suite" "$api"

createdb() { "$PGBIN/psql" -h 127.0.0.1 -p "$port" -U gatehouse -d postgres -qc "CREATE DATABASE $1"; }
createdb replicas
step replicas "$PY" adapters/http/tests/replicas_test.py "$BIN" \
    --database-url "postgres://gatehouse@127.0.0.1:$port/replicas" --seconds "${REPLICAS_SECONDS:-60}"
createdb loss
sudo=$([[ $EUID -eq 0 ]] || echo sudo)
start="$sudo runuser -u postgres -- $PGBIN/pg_ctl -D $work/data -o '$server_options' -l $work/data/server.log -w start"
stop="$sudo runuser -u postgres -- $PGBIN/pg_ctl -D $work/data -m fast -w stop"
step "database loss" "$PY" adapters/http/tests/database_test.py "$BIN" \
    --database-url "postgres://gatehouse@127.0.0.1:$port/loss" --stop-command "$stop" --start-command "$start"
step "pg_ctl stop" as_pg "$PGBIN/pg_ctl" -D "$work/data" -m fast -w stop
printf '\n[postgres] all steps passed: %s\n' "${STEP_SUMMARY[*]}"
