#!/usr/bin/env bash
# The HTTP control plane against its real binary: schemathesis drives every documented operation
# of a running `gatehouse serve` (decision attestations on, signed with the test-only key) from
# its OpenAPI document (no server errors, responses as documented), then the crash test kills
# the server with -9 under concurrent submissions and checks that nothing acknowledged is lost or
# duplicated. Uses the debug binary the unit step built, and the repository's virtualenv `.venv`
# (created when missing).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# Pinned in bindings/python/pyproject.toml, group `http`.
mapfile -t PY_DEPS < <(python3 scripts/py_group.py http)
VENV=.venv
PY=$VENV/bin/python
BIN=${CARGO_TARGET_DIR:-target}/debug/gatehouse
ST_SECONDS=${GATEHOUSE_SCHEMATHESIS_SECONDS:-60}

STEP_TAG=http
# shellcheck source=steps.sh
source scripts/steps.sh

if [[ ! -x $PY ]]; then
    step venv python3 -m venv "$VENV"
fi
step "pip install" "$PY" -m pip install --quiet --disable-pip-version-check "${PY_DEPS[@]}"
# The workspace build the unit step made (a no-op then; `-p gatehouse-cli` alone would resolve
# features differently and rebuild the CLI).
step build cargo build --locked --workspace --all-targets

work=$(mktemp -d)
server=""
cleanup() {
    if [[ -n $server ]]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

port=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
token=schemathesis-admin-token
cat >"$work/config.toml" <<TOML
listen = "127.0.0.1:$port"
database = "$work/gatehouse.db"
policies = "policies"
[pipeline]
secret = "schemathesis-pipeline-secret"
[[tokens]]
name = "admin@example.com"
role = "admin"
sha256 = "$(printf %s "$token" | sha256sum | cut -d' ' -f1)"
approval_roles = ["finops-approver", "release-approver"]
[attestations]
signing_key = "$PWD/core/tests/fixtures/test-only-keys/trusted.pem"
verifier_id = "https://gatehouse.test/schemathesis"
TOML
"$BIN" serve --config "$work/config.toml" >"$work/server.log" 2>&1 &
server=$!
for _ in $(seq 100); do
    curl -fs "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
    sleep 0.1
done
(cd "$work" && step schemathesis "$OLDPWD/$VENV/bin/st" --config-file "$OLDPWD/adapters/http/schemathesis.toml" \
    run "http://127.0.0.1:$port/openapi.json" --checks all --max-time "$ST_SECONDS" \
    -H "Authorization: Bearer $token" --seed 20261123 --no-color)
if grep -E ' (ERROR|panicked)' "$work/server.log"; then
    echo "[http] the server logged errors under schemathesis (above)" >&2
    exit 1
fi
# SIGHUP reloads the bundle (the log says so); SIGTERM drains and exits 0.
kill -HUP "$server"
for _ in $(seq 50); do
    [[ $(grep -c 'policy bundle loaded' "$work/server.log") -ge 1 ]] && break
    sleep 0.1
done
grep -q 'policy bundle loaded' "$work/server.log" || { echo "[http] SIGHUP did not reload the bundle" >&2; exit 1; }
kill -TERM "$server"; wait "$server"; server=""
echo "[http] SIGHUP reloaded the bundle; SIGTERM shut the server down cleanly"

step crash "$PY" adapters/http/tests/crash_test.py "$BIN"
# Memory under a burst of large evaluations (issue 21): bounded peak and held RSS.
step memory "$PY" adapters/http/tests/memory_test.py "$BIN"
