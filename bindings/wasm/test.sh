#!/usr/bin/env bash
# The WebAssembly bindings' tests, as `scripts/test.sh` runs them (step `wasm`):
#   1. build.sh: the wasm artefact, once, into pkg/ (web) and pkg-node/ (Node);
#   2. the bundle document (`gatehouse bundle`) that the page and the tests load;
#   3. Node tests: the whole conformance corpus byte for byte, bad input, TypeScript types;
#   4. the npm package: `npm pack` of pkg-npm/, installed into a scratch project, each entry
#      point (default under Node by import and require, web, bundler) evaluating to golden bytes;
#   5. the headless Chromium test (Debian's chromium, installed if missing).
# Each step prints its command and duration. Usage: bash bindings/wasm/test.sh
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
cd "$ROOT"

STEP_TAG=wasm-test
# shellcheck source=../../scripts/steps.sh
source "$ROOT/scripts/steps.sh"
START=$EPOCHREALTIME

pack_bundle() {
    mkdir -p "$HERE/tests/.out"
    cargo run --quiet --locked -p gatehouse-cli -- bundle --policies policies >"$HERE/tests/.out/bundle.json.tmp"
    mv "$HERE/tests/.out/bundle.json.tmp" "$HERE/tests/.out/bundle.json"
}

step build bash "$HERE/build.sh"
step "gatehouse bundle" pack_bundle
step "node tests" node --test "$HERE/tests/conformance.test.mjs" "$HERE/tests/errors.test.mjs" \
    "$HERE/tests/types.test.mjs"
npm_package() {
    local scratch
    scratch=$(mktemp -d)
    (cd "$HERE/pkg-npm" && npm pack --silent --pack-destination "$scratch" >/dev/null)
    local tarball=("$scratch"/gatehouse-wasm-*.tgz)
    printf '[wasm-test] %s: %s bytes\n' "${tarball[0]##*/}" "$(stat -c %s "${tarball[0]}")"
    mkdir "$scratch/app"
    printf '{"name": "scratch", "private": true, "type": "module"}\n' >"$scratch/app/package.json"
    (cd "$scratch/app" && npm install --silent --no-audit --no-fund --offline "${tarball[0]}")
    cp "$HERE/tests/npm-package.mjs" "$scratch/app/"
    local args=("$HERE/tests/.out/bundle.json" "$ROOT/policies/conformance/allow-prod-reference.json"
        "$ROOT/policies/conformance/golden/allow-prod-reference.json")
    (cd "$scratch/app" && node npm-package.mjs "${args[@]}" &&
        node --experimental-wasm-modules --no-warnings npm-package.mjs "${args[@]}" bundler)
    rm -rf "$scratch"
}
step "npm package" npm_package
if [[ ! -x /usr/bin/chromium ]]; then
    step "apt-get install chromium" as_root env DEBIAN_FRONTEND=noninteractive \
        apt-get -o DPkg::Lock::Timeout=600 install -y chromium
fi
step "browser test" node --test "$HERE/tests/browser.test.mjs"
printf '\n[wasm-test] all steps passed in %ss\n' "$(elapsed "$START")"
