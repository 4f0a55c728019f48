#!/usr/bin/env bash
# Load test of the control plane with wrk on loopback (the release binary):
#   1. POST /v1/evaluate (decision only, nothing stored): requests/s and latency percentiles;
#   2. POST /v1/deployments (each a durable SQLite transaction, WAL + synchronous=FULL):
#      submissions/s;
# then GET /v1/audit/verify checks the ledger the load wrote. wrk shares the machine's cores with
# the server, so compare figures from one run, not across machines.
# Usage: scripts/bench-http.sh [SECONDS] [CONNECTIONS]   (defaults 10 and 32)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
SECONDS_PER_RUN=${1:-10}
CONNECTIONS=${2:-32}
STEP_TAG=bench-http
# shellcheck source=steps.sh
source scripts/steps.sh

if ! command -v wrk >/dev/null; then
    step "apt-get install wrk" as_root env DEBIAN_FRONTEND=noninteractive \
        apt-get -o DPkg::Lock::Timeout=600 install -y wrk
fi
step build cargo build --release --locked -p gatehouse-cli
BIN=${CARGO_TARGET_DIR:-target}/release/gatehouse

work=$(mktemp -d)
server=""
cleanup() {
    if [[ -n $server ]]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export TOKEN=bench-token
cat >"$work/config.toml" <<TOML
listen = "127.0.0.1:$port"
database = "$work/gatehouse.db"
policies = "policies"
[pipeline]
secret = "bench-pipeline-secret-0123456789"
[[tokens]]
name = "bench@example.com"
role = "requester"
sha256 = "$(printf %s "$TOKEN" | sha256sum | cut -d' ' -f1)"
TOML
RUST_LOG=warn "$BIN" serve --config "$work/config.toml" >"$work/server.log" 2>&1 &
server=$!
for _ in $(seq 100); do
    curl -fs "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
    sleep 0.1
done
echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p')"
export BODY=docs/api/submit-web-frontend-dev.json
run() {
    wrk -t2 -c"$CONNECTIONS" -d"${SECONDS_PER_RUN}s" --latency -s benches/http/post.lua "$1" | tee "$work/wrk.out"
    grep '^RESULT' "$work/wrk.out" | sed "s|^RESULT|RESULT $2|"
}
step "warm-up" wrk -t2 -c"$CONNECTIONS" -d2s -s benches/http/post.lua "http://127.0.0.1:$port/v1/evaluate" >/dev/null
step evaluate run "http://127.0.0.1:$port/v1/evaluate" evaluate
step submit run "http://127.0.0.1:$port/v1/deployments" submit
step verify curl -fsS "http://127.0.0.1:$port/v1/audit/verify" -H "Authorization: Bearer $TOKEN"
echo
