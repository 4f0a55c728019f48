#!/usr/bin/env bash
# Load test of the control plane with wrk on loopback (the release binary), every run with the
# same wrk script, threads and connections:
#   1. SQLite (one server): POST /v1/evaluate (decision only) and POST /v1/deployments (each a
#      durable transaction: WAL + synchronous=FULL);
#   2. PostgreSQL, one server (a throwaway cluster, scripts/postgres.sh; fsync and
#      synchronous_commit on, PostgreSQL's defaults): submissions and evaluations;
#   3. PostgreSQL, two servers on one database, wrk's two threads one per server: submissions
#      and evaluations;
#   4. SQLite again, submissions with decision attestations on (`[attestations] signing_key`:
#      every decision signed and stored with it) against the same server with them off;
# each followed by GET /v1/audit/verify on the ledger the load wrote, then a table of requests/s
# and latency percentiles with the ratios the targets are stated in. wrk, both servers and
# PostgreSQL share the machine's cores: compare figures from one run, not across machines.
# Usage: scripts/bench-http.sh [SECONDS] [CONNECTIONS]   (defaults 10 and 32)
#        BENCH_HTTP_ONLY=attestations scripts/bench-http.sh ...   (run 4 alone, no PostgreSQL)
#        BENCH_HTTP_BIN=path/to/gatehouse scripts/bench-http.sh ...  (that binary, no build)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
SECONDS_PER_RUN=${1:-10}
CONNECTIONS=${2:-32}
STEP_TAG=bench-http
# shellcheck source=steps.sh
source scripts/steps.sh
# shellcheck source=postgres.sh
source scripts/postgres.sh

if ! command -v wrk >/dev/null; then
    step "apt-get install wrk" as_root env DEBIAN_FRONTEND=noninteractive \
        apt-get -o DPkg::Lock::Timeout=600 install -y wrk
fi
# BENCH_HTTP_BIN: a gatehouse binary built before (nothing is built then).
if [[ -n ${BENCH_HTTP_BIN:-} ]]; then
    BIN=$BENCH_HTTP_BIN
else
    step build cargo build --release --locked -p gatehouse-cli
    BIN=${CARGO_TARGET_DIR:-target}/release/gatehouse
fi

work=$(mktemp -d)
pids=()
stop_servers() {
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    pids=()
}
cleanup() {
    stop_servers
    pg_stop
    rm -rf "$work"
}
trap cleanup EXIT
export TOKEN=bench-token
export BODY=docs/api/submit-web-frontend-dev.json

# serve NAME DATABASE [TOML]: starts a server on a free port (TOML appended to its config); its
# port goes to $PORT.
serve() {
    PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    cat >"$work/$1.toml" <<TOML
listen = "127.0.0.1:$PORT"
database = "$2"
policies = "policies"
[pipeline]
secret = "bench-pipeline-secret-0123456789"
[[tokens]]
name = "bench@example.com"
role = "requester"
sha256 = "$(printf %s "$TOKEN" | sha256sum | cut -d' ' -f1)"
${3:-}
TOML
    RUST_LOG=warn "$BIN" serve --config "$work/$1.toml" >"$work/$1.log" 2>&1 &
    pids+=($!)
    for _ in $(seq 100); do
        curl -fs "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && return
        sleep 0.1
    done
    echo "[bench-http] $1 did not become ready:" >&2
    cat "$work/$1.log" >&2
    return 1
}

results=()
# run LABEL PATH PORT...: wrk on PATH, its threads spread over the servers on PORT...
run() {
    local label=$1 path=$2
    shift 2
    PORTS="$*" wrk -t2 -c"$CONNECTIONS" -d"${SECONDS_PER_RUN}s" --latency -s benches/http/post.lua \
        "http://127.0.0.1:$1$path" | tee "$work/wrk.out"
    results+=("$(grep '^RESULT' "$work/wrk.out" | sed "s|^RESULT|$label|")")
}
verify() {
    curl -fsS "http://127.0.0.1:$1/v1/audit/verify" -H "Authorization: Bearer $TOKEN"
    echo
}

echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'); wrk -t2 -c$CONNECTIONS -d${SECONDS_PER_RUN}s"

# attestations: SQLite submissions with attestations off, then on (the test-only key; a fresh
# database each, so both runs write the same amount).
attestations() {
    serve plain "$work/plain.db"
    local plain=$PORT
    step "warm-up" wrk -t2 -c"$CONNECTIONS" -d2s -s benches/http/post.lua "http://127.0.0.1:$plain/v1/evaluate" >/dev/null
    step "sqlite submit, attestations off" run submit-plain /v1/deployments "$plain"
    stop_servers
    serve attesting "$work/attesting.db" "[attestations]
signing_key = \"core/tests/fixtures/test-only-keys/trusted.pem\""
    local attesting=$PORT
    step "warm-up" wrk -t2 -c"$CONNECTIONS" -d2s -s benches/http/post.lua "http://127.0.0.1:$attesting/v1/evaluate" >/dev/null
    step "sqlite submit, attestations on" run submit-attest /v1/deployments "$attesting"
    step "sqlite verify" verify "$attesting"
    stop_servers
}
if [[ ${BENCH_HTTP_ONLY:-} == attestations ]]; then
    attestations
    printf '\n%-14s %8s %10s %10s %7s\n' run "req/s" "p50 ms" "p99 ms" errors
    for r in "${results[@]}"; do
        awk '{split($4, rps, "="); split($5, p50, "="); split($6, p99, "="); split($7, e, "=");
              printf "%-14s %8s %10s %10s %7s\n", $1, rps[2], p50[2], p99[2], e[2]}' <<<"$r"
    done
    rps() { for r in "${results[@]}"; do [[ $r == "$1 "* ]] && awk '{split($4, v, "="); print v[2]}' <<<"$r"; done; }
    awk -v off="$(rps submit-plain)" -v on="$(rps submit-attest)" 'BEGIN {
        printf "\nsubmissions: attestations on / off = %.2f\n", on / off }'
    exit 0
fi
serve sqlite "$work/gatehouse.db"
sqlite=$PORT
step "warm-up" wrk -t2 -c"$CONNECTIONS" -d2s -s benches/http/post.lua "http://127.0.0.1:$sqlite/v1/evaluate" >/dev/null
step "sqlite evaluate" run sqlite-evaluate /v1/evaluate "$sqlite"
step "sqlite submit" run sqlite-submit /v1/deployments "$sqlite"
step "sqlite verify" verify "$sqlite"
stop_servers

pg_start
serve pg-one "$(pg_createdb one)"
one=$PORT
step "warm-up" wrk -t2 -c"$CONNECTIONS" -d2s -s benches/http/post.lua "http://127.0.0.1:$one/v1/evaluate" >/dev/null
step "postgres 1 replica submit" run pg1-submit /v1/deployments "$one"
step "postgres 1 replica evaluate" run pg1-evaluate /v1/evaluate "$one"
step "postgres 1 replica verify" verify "$one"
stop_servers

database=$(pg_createdb two)
serve pg-two-a "$database"
a=$PORT
serve pg-two-b "$database"
b=$PORT
step "warm-up" env PORTS="$a $b" wrk -t2 -c"$CONNECTIONS" -d2s -s benches/http/post.lua "http://127.0.0.1:$a/v1/evaluate" >/dev/null
step "postgres 2 replicas submit" run pg2-submit /v1/deployments "$a" "$b"
step "postgres 2 replicas evaluate" run pg2-evaluate /v1/evaluate "$a" "$b"
step "postgres 2 replicas verify" verify "$a"
stop_servers
attestations

printf '\n%-14s %8s %10s %10s %7s\n' run "req/s" "p50 ms" "p99 ms" errors
for r in "${results[@]}"; do
    awk '{split($4, rps, "="); split($5, p50, "="); split($6, p99, "="); split($7, e, "=");
          printf "%-14s %8s %10s %10s %7s\n", $1, rps[2], p50[2], p99[2], e[2]}' <<<"$r"
done
rps() { for r in "${results[@]}"; do [[ $r == "$1 "* ]] && awk '{split($4, v, "="); print v[2]}' <<<"$r"; done; }
awk -v s="$(rps sqlite-submit)" -v one="$(rps pg1-submit)" -v two="$(rps pg2-submit)" \
    -v e1="$(rps pg1-evaluate)" -v e2="$(rps pg2-evaluate)" 'BEGIN {
    printf "\nsubmissions: PostgreSQL 1 replica / SQLite = %.2f (target >= 0.5); 2 replicas / 1 replica = %.2f (target >= 0.9)\n", one / s, two / one
    printf "evaluations: 2 replicas / 1 replica = %.2f\n", e2 / e1 }'
awk -v off="$(rps submit-plain)" -v on="$(rps submit-attest)" 'BEGIN {
    printf "submissions: attestations on / off = %.2f\n", on / off }'
