#!/usr/bin/env bash
# The whole test suite: what `make test` and CI (`.ci/run`) run. Each step prints the command it
# runs and how long it took; the first failing step stops the run with its exit code.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
START=$EPOCHREALTIME
SUMMARY=()

step() {
    local name=$1
    shift
    printf '\n==> [%s] %s\n' "$name" "$*"
    local t0=$EPOCHREALTIME
    "$@"
    local took
    took=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
    printf '<== [%s] ok in %ss\n' "$name" "$took"
    SUMMARY+=("$(printf '%-12s %8ss' "$name" "$took")")
}

step format cargo fmt --all --check
step lint cargo clippy --workspace --all-targets --locked -- -D warnings
step unit cargo test --workspace --all-targets --locked
step doc cargo test --workspace --doc --locked
step rego cargo run --quiet --locked -p gatehouse-cli -- test --coverage --min-coverage 90 policies
step python bash bindings/python/test.sh
step wasm bash bindings/wasm/test.sh

printf '\nSteps:\n'
printf '  %s\n' "${SUMMARY[@]}"
awk -v a="$START" -v b="$EPOCHREALTIME" 'BEGIN { printf "All steps passed in %.1fs\n", b - a }'
