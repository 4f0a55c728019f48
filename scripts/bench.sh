#!/usr/bin/env bash
# Every benchmark, as `make bench` runs it (numbers and commands: BENCHMARKS.md):
#   1. the release `gatehouse` binary (for the whole-process benchmark);
#   2. criterion: decision (end to end, scaling with policies, accounts and resources),
#      lifecycle (append / verify / replay of 1k-1M events), prepare (bundle load, process);
#   3. Gatehouse next to OPA's Go engine (scripts/bench_opa.py): a release wheel of the Python
#      bindings in a virtualenv of its own (<target>/bench-venv), OPA's libopabridge.so from PyPI,
#      the reference bundle and synthetic bundles of 20/100/1000 policies; then what each
#      reference policy costs on its own (scripts/bench_policies.py), and the Python bindings'
#      per-call cost and throughput on 1 and 2 threads (bindings/python/bench.py);
#   4. the WebAssembly build (size, gzip -9) and its tests, the last of which times the preview in
#      headless Chromium (bindings/wasm/test.sh);
#   5. the control plane over HTTP with wrk (scripts/bench-http.sh): evaluations and durable
#      submissions on SQLite, on PostgreSQL with one replica and with two replicas.
#   (step 2 ends with the table of medians that BENCHMARKS.md shows: scripts/bench_table.py)
# Usage: bash scripts/bench.sh [criterion filter...]   e.g. bash scripts/bench.sh decision/
# BENCH_SKIP_CRITERION=1 skips step 2, BENCH_SKIP_OPA=1 step 3, BENCH_SKIP_WASM=1 step 4,
# BENCH_SKIP_HTTP=1 step 5.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

TARGET=${CARGO_TARGET_DIR:-target}
# regorus's parser backtracks through anyhow errors, and with RUST_BACKTRACE=1 anyhow captures a
# backtrace for each: loading the reference bundle took 58M instead of 34M instructions
# (callgrind). Production runs without it; so do the benchmarks (the process ones included).
unset RUST_BACKTRACE RUST_LIB_BACKTRACE
STEP_TAG=bench
# shellcheck source=steps.sh
source scripts/steps.sh
START=$EPOCHREALTIME

printf '[bench] machine: %s, %s cpus, %s\n' "$(lscpu | sed -n 's/^Model name: *//p')" "$(nproc)" "$(uname -sr)"
printf '[bench] load: %s\n' "$(uptime)"
# The process benchmark needs the CLI; without it (e.g. a broken build) that one benchmark is
# skipped and the rest still run.
printf '\n[bench] ==> cli (release)\n+ cargo build --release --locked -p gatehouse-cli\n'
if ! cargo build --release --locked -p gatehouse-cli; then
    printf '[bench] the release CLI did not build: process/check_one_intent is skipped\n'
    export GATEHOUSE_BIN=/nonexistent/gatehouse
fi
if [[ -z ${BENCH_SKIP_CRITERION:-} ]]; then
    step criterion cargo bench --locked -p gatehouse-benches -- "$@"
    step "criterion table" python3 scripts/bench_table.py "$TARGET"
fi
if [[ -z ${BENCH_SKIP_OPA:-} ]]; then
    VENV=$TARGET/bench-venv
    if [[ ! -x $VENV/bin/python ]]; then
        step venv python3 -m venv "$VENV"
    fi
    mapfile -t bench_deps < <(python3 scripts/py_group.py bench)
    step "pip install" "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "${bench_deps[@]}"
    rm -f "$TARGET"/wheels/bench/gatehouse_policy-*.whl
    step "wheel (release)" "$VENV/bin/maturin" build --release --locked --quiet \
        -i "$VENV/bin/python" -m bindings/python/Cargo.toml -o "$TARGET/wheels/bench"
    wheel=("$TARGET"/wheels/bench/gatehouse_policy-*.whl)
    step "install wheel" "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
        --force-reinstall --no-deps "${wheel[0]}"
    synthetic=()
    for n in 20 100 1000; do
        rm -rf "$TARGET/bench/synthetic-$n"
        step "synthetic-$n" cargo run --quiet --release --locked -p gatehouse-benches \
            --example synthetic_bundle -- "$n" "$TARGET/bench/synthetic-$n"
        synthetic+=("$TARGET/bench/synthetic-$n")
    done
    step "opa comparison" env GATEHOUSE_BIN="${GATEHOUSE_BIN:-$TARGET/release/gatehouse}" \
        "$VENV/bin/python" scripts/bench_opa.py --synthetic "${synthetic[@]}"
    step "per-policy cost" "$VENV/bin/python" scripts/bench_policies.py
    step "python threads" "$VENV/bin/python" bindings/python/bench.py
fi
if [[ -z ${BENCH_SKIP_WASM:-} ]]; then
    step "wasm (build, size, tests, preview in Chromium)" bash bindings/wasm/test.sh
fi
if [[ -z ${BENCH_SKIP_HTTP:-} ]]; then
    step "http (wrk)" bash scripts/bench-http.sh
fi
printf '[bench] load: %s\n' "$(uptime)"

printf '\nSteps:\n'
printf '  %s\n' "${STEP_SUMMARY[@]}"
printf 'Benchmarks done in %ss; criterion reports: %s/criterion/report/index.html\n' \
    "$(elapsed "$START")" "$TARGET"
