#!/usr/bin/env bash
# The browser UI's end-to-end tests, as `scripts/test.sh` runs them (step `ui`): the debug
# `gatehouse` binary (built by the earlier steps; rebuilt here only if stale), then the Node tests
# in headless Chromium (Debian's /usr/bin/chromium, installed if missing) driven by playwright-core
# from bindings/wasm/node_modules (installed by the `wasm` step; `npm ci` there if it is missing).
# Each test starts its own `gatehouse serve` on a free 127.0.0.1 port. Screenshots of every page
# are written to target/ui-screenshots/. Usage: bash adapters/http/ui/test.sh
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../../.." && pwd)"
cd "$ROOT"

STEP_TAG=ui
# shellcheck source=../../../scripts/steps.sh
source "$ROOT/scripts/steps.sh"
START=$EPOCHREALTIME

# The workspace build the unit step made (a no-op then; `-p gatehouse-cli` alone would resolve
# features differently and rebuild the CLI).
step "cargo build" cargo build --locked --quiet --workspace --all-targets
if [[ ! -f bindings/wasm/node_modules/playwright-core/index.mjs ]]; then
    step "npm ci (bindings/wasm)" npm ci --prefix bindings/wasm --no-audit --no-fund
fi
if [[ ! -f bindings/wasm/pkg/gatehouse_wasm_bg.wasm ]]; then
    step "wasm build" bash bindings/wasm/build.sh
fi
if [[ ! -x /usr/bin/chromium ]]; then
    step "apt-get install chromium" as_root env DEBIAN_FRONTEND=noninteractive \
        apt-get -o DPkg::Lock::Timeout=600 install -y chromium
fi
rm -rf target/ui-screenshots
step "browser tests" node --test --test-concurrency=1 "$HERE/tests/"
printf '[ui] screenshots: %s\n' "$(ls target/ui-screenshots/*.png | tr '\n' ' ')"
printf '\n[ui] all steps passed in %ss\n' "$(elapsed "$START")"
