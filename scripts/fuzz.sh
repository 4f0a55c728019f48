#!/usr/bin/env bash
# Fuzz smoke test, as `scripts/test.sh` runs it (step `fuzz`): installs cargo-fuzz if missing,
# seeds the corpora from policies/ (fuzz/seed.py, which reads the bundle through the debug
# `gatehouse` binary), builds every target once (nightly, ASan) and runs each for FUZZ_SECONDS
# (default 20) on one core. The smoke build is unoptimised (`--dev`, debug assertions and
# overflow checks on; fuzz/Cargo.toml sets opt-level 1 for it): cargo-fuzz's release build uses
# one codegen unit, and cold it took about 20 minutes of the test command on a 2-core machine for
# a 20-second run per target. FUZZ_BUILD=release builds optimised targets for long runs.
# A crash fails the step; its input is in fuzz/artifacts/<target>/ (reproduce:
# cargo +nightly fuzz run --dev <target> <file>).
# The smoke run starts from the seeds only, in a temporary corpus (libFuzzer first replays its
# whole corpus, whatever -max_total_time says, so a grown corpus would make the step slow).
# Longer runs that keep their corpus in fuzz/corpus/<target>/:
#   FUZZ_BUILD=release FUZZ_CORPUS=fuzz/corpus FUZZ_SECONDS=600 bash scripts/fuzz.sh [target...]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

STEP_TAG=fuzz
# shellcheck source=steps.sh
source scripts/steps.sh
START=$EPOCHREALTIME
SECONDS_PER_TARGET="${FUZZ_SECONDS:-20}"
case "${FUZZ_BUILD:-dev}" in
    dev) BUILD_FLAGS=(--dev) ;;
    release) BUILD_FLAGS=(--release) ;;
    *) echo "FUZZ_BUILD is dev or release, not ${FUZZ_BUILD}" >&2; exit 2 ;;
esac
TARGETS=("$@")
if [[ ${#TARGETS[@]} -eq 0 ]]; then
    TARGETS=(evaluate_intent bundle_load event_chain http_body)
fi

if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    step "install cargo-fuzz" cargo install cargo-fuzz --locked
fi
if [[ -n ${FUZZ_CORPUS:-} ]]; then
    mkdir -p "$FUZZ_CORPUS"
    CORPUS=$(cd "$FUZZ_CORPUS" && pwd)
else
    CORPUS=$(mktemp -d)
    trap 'rm -rf "$CORPUS"' EXIT
fi
step seed env FUZZ_CORPUS="$CORPUS" python3 fuzz/seed.py
# One build for all targets (they share the core and regorus).
step build bash -c "cd fuzz && cargo +nightly fuzz build ${BUILD_FLAGS[*]}"
for target in "${TARGETS[@]}"; do
    # -timeout: one input taking over 10 s is a hang; -rss_limit_mb: 2 GiB per process.
    step "$target" bash -c "cd fuzz && cargo +nightly fuzz run ${BUILD_FLAGS[*]} $target $CORPUS/$target -- \
        -max_total_time=$SECONDS_PER_TARGET -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1"
done

printf '\nSteps:\n'
printf '  %s\n' "${STEP_SUMMARY[@]}"
printf 'Fuzzing passed in %ss\n' "$(elapsed "$START")"
