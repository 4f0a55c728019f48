#!/usr/bin/env bash
# Prove that gatehouse-core builds for wasm32-unknown-unknown, by building the real browser
# bindings (bindings/wasm, crate gatehouse-wasm) into their npm packages. The routes (a rustup
# wasm32 target on a laptop, Debian's rustc-web with -Zbuild-std on this machine kind), the tool
# installs and the timings are bindings/wasm/build.sh's; its tests are bindings/wasm/test.sh.
#
# Usage (from anywhere): scripts/wasm-check.sh
set -euo pipefail
exec bash "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/bindings/wasm/build.sh" "$@"
