#!/usr/bin/env bash
# The test suite: what `make test` and CI (`.ci/run`) run. Each step prints the command it runs
# and how long it took; the first failing step stops the run with its exit code.
#
#   bash scripts/test.sh              every step, in the order below
#   bash scripts/test.sh python http  only these steps, still in the order below
#
# Steps: format lint unit doc rego python http postgres workflows wasm ui fuzz (`make help` maps
# them to `make` targets).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

STEPS=(format lint unit doc rego python http postgres workflows wasm ui fuzz)
for name in "$@"; do
    if [[ " ${STEPS[*]} " != *" $name "* ]]; then
        printf 'test.sh: no step `%s` (steps: %s)\n' "$name" "${STEPS[*]}" >&2
        exit 2
    fi
done
SELECTED=" $* "
# selected NAME: whether the run includes step NAME (every step when none is named).
selected() { [[ $SELECTED == "  " || $SELECTED == *" $1 "* ]]; }

export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
STEP_TAG=test
# shellcheck source=steps.sh
source scripts/steps.sh
START=$EPOCHREALTIME
BIN="${CARGO_TARGET_DIR:-target}/debug/gatehouse"
BUILT=
# The rego, python, workflows and fuzz steps run the binary the unit step built (same features as the tests: a
# `-p gatehouse-cli` build would resolve features differently and compile the CLI and its
# dependencies a second time); without the unit step in the run it is built the same way, once.
need_binary() {
    if ! selected unit && [[ -z $BUILT ]]; then
        step build cargo build --workspace --all-targets --locked
        BUILT=1
    fi
}

for STEP in "${STEPS[@]}"; do
    selected "$STEP" || continue
    case $STEP in
        format) step format cargo fmt --all --check ;;
        lint) step lint cargo clippy --workspace --all-targets --locked -- -D warnings ;;
        unit) step unit cargo test --workspace --all-targets --locked ;;
        doc) step doc cargo test --workspace --doc --locked ;;
        rego)
            need_binary
            step rego "$BIN" test --coverage --min-coverage 90 policies
            ;;
        python)
            need_binary # tests/test_signing.py signs bundles with `gatehouse bundle sign`
            step python bash bindings/python/test.sh
            ;;
        http) step http bash scripts/http-check.sh ;;
        postgres) step postgres bash scripts/postgres-check.sh ;;
        workflows)
            need_binary
            step workflows bash scripts/workflow-check.sh
            ;;
        wasm) step wasm bash bindings/wasm/test.sh ;;
        ui) step ui bash adapters/http/ui/test.sh ;;
        fuzz)
            need_binary
            step fuzz bash scripts/fuzz.sh
            ;;
    esac
done

printf '\nSteps:\n'
printf '  %s\n' "${STEP_SUMMARY[@]}"
printf 'All steps passed in %ss\n' "$(elapsed "$START")"
