#!/usr/bin/env bash
# Fuzz smoke test, as `scripts/test.sh` runs it (step `fuzz`): installs cargo-fuzz if missing,
# seeds the corpora from policies/ (fuzz/seed.py, which reads the bundle through the debug
# `gatehouse` binary), builds every target once (nightly, libFuzzer's coverage instrumentation)
# and runs each for FUZZ_SECONDS (default 20) on one core. A crash (a panic, an overflow, a failed
# debug assertion), a hang over 10 s or a process over 2 GiB fails the step; its input is in
# fuzz/artifacts/<target>/ (reproduce: cargo +nightly fuzz run --dev -s none <target> <file>).
#
# The smoke build is unoptimised (`--dev`, debug assertions and overflow checks on; fuzz/Cargo.toml
# sets opt-level 1 for it): cargo-fuzz's release build uses one codegen unit, and cold it took
# about 20 minutes of the test command on a 2-core machine for a 20-second run per target.
# FUZZ_BUILD=release builds optimised targets for long runs.
#
# No sanitizer by default (FUZZ_SANITIZER=none; cargo-fuzz's default is address): AddressSanitizer
# finds memory errors in unsafe code, and the fuzzed crates forbid unsafe code (the workspace's
# `unsafe_code = "forbid"`); the C inside the dependencies (SQLite, ring) is built by their build
# scripts without it either way. What the smoke run checks (panics, overflow and debug assertions,
# hangs, RSS) is the same without it, and every instrumented crate compiles in about 40 % less
# CPU time (the same rustc command as the cold smoke build, with and without -Zsanitizer=address:
# h2 36.1 -> 22.3 s, rustls-webpki 10.1 -> 6.0 s; 2026-12-07).
# FUZZ_SANITIZER=address (or another sanitizer cargo-fuzz knows) builds and runs with one, e.g. for a
# long run:
#   FUZZ_BUILD=release FUZZ_SANITIZER=address FUZZ_CORPUS=fuzz/corpus FUZZ_SECONDS=600 bash scripts/fuzz.sh [target...]
#
# The smoke run starts from the seeds only, in a temporary corpus (libFuzzer first replays its
# whole corpus, whatever -max_total_time says, so a grown corpus would make the step slow);
# FUZZ_CORPUS=fuzz/corpus keeps a long run's corpus in fuzz/corpus/<target>/.
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
# cargo-fuzz refuses a sanitizer it does not know.
BUILD_FLAGS+=(-s "${FUZZ_SANITIZER:-none}")
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
