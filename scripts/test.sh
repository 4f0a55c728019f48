#!/usr/bin/env bash
# The whole test suite: what `make test` and CI (`.ci/run`) run. Each step prints the command it
# runs and how long it took; the first failing step stops the run with its exit code.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
STEP_TAG=test
# shellcheck source=steps.sh
source scripts/steps.sh
START=$EPOCHREALTIME

step format cargo fmt --all --check
step lint cargo clippy --workspace --all-targets --locked -- -D warnings
step unit cargo test --workspace --all-targets --locked
step doc cargo test --workspace --doc --locked
# The binary the unit step built (same features as the tests: a `-p gatehouse-cli` build would
# resolve features differently and compile the CLI and its dependencies a second time).
step rego "${CARGO_TARGET_DIR:-target}/debug/gatehouse" test --coverage --min-coverage 90 policies
step python bash bindings/python/test.sh
step http bash scripts/http-check.sh
step postgres bash scripts/postgres-check.sh
step workflows bash scripts/workflow-check.sh
step wasm bash bindings/wasm/test.sh
step ui bash adapters/http/ui/test.sh
step fuzz bash scripts/fuzz.sh

printf '\nSteps:\n'
printf '  %s\n' "${STEP_SUMMARY[@]}"
printf 'All steps passed in %ss\n' "$(elapsed "$START")"
