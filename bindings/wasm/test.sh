#!/usr/bin/env bash
# The WebAssembly bindings' tests, as `scripts/test.sh` runs them (step `wasm`):
#   1. build.sh: the wasm artefact, once, into pkg/ (web), pkg-node/ (Node) and pkg-npm/;
#   2. the bundle document (`gatehouse bundle`) that the page and the tests load, and a copy of
#      policies/ signed with a test-only key (`gatehouse bundle sign`), packed the same way;
#   3. Node tests: the whole conformance corpus byte for byte, bad input, the API next to
#      Python's (GatehouseError, catalogue, schema, YAML), signed bundles and the attacks on
#      them, the TypeScript types (tsc);
#   4. the npm package: `npm pack` of pkg-npm/ (its sizes printed), installed into a scratch
#      project (tests/.out/app), each entry point (default under Node by import and require, web,
#      bundler) evaluating to golden bytes; then docs/wasm.md's snippets run in that project
#      (esbuild and webpack builds among them, and a worker stopping a runaway policy at its
#      deadline);
#   5. the headless Chromium tests (Debian's chromium, installed if missing).
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

# helpers.mjs signs and packs the copy when it is missing; removed here so each run makes it anew.
sign_bundle() {
    rm -rf "$HERE/tests/.out/signed-bundle.json" "$HERE/tests/.out/signed-policies"
    node --input-type=module -e "import { signedBundlePath } from '$HERE/tests/helpers.mjs'; signedBundlePath();"
}

step build bash "$HERE/build.sh"
step "gatehouse bundle" pack_bundle
step "gatehouse bundle sign" sign_bundle
step "node tests" node --test "$HERE/tests/conformance.test.mjs" "$HERE/tests/errors.test.mjs" \
    "$HERE/tests/api.test.mjs" "$HERE/tests/signing.test.mjs" "$HERE/tests/types.test.mjs"
npm_package() {
    local out="$HERE/tests/.out" app="$HERE/tests/.out/app"
    rm -rf "$app" "$out"/gatehouse-wasm-*.tgz
    mkdir -p "$app"
    # npm pack --json reports the tarball's size and the unpacked size.
    (cd "$HERE/pkg-npm" && npm pack --json --pack-destination "$out") >"$out/pack.json"
    node -e 'const [p] = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
        console.log(`[wasm-test] ${p.filename}: ${p.size} bytes packed, ${p.unpackedSize} bytes unpacked, ${p.entryCount} files`);' \
        "$out/pack.json"
    local tarball=("$out"/gatehouse-wasm-*.tgz)
    printf '{"name": "scratch", "private": true, "type": "module"}\n' >"$app/package.json"
    (cd "$app" && npm install --silent --no-audit --no-fund --offline "${tarball[0]}")
    cp "$HERE/tests/npm-package.mjs" "$app/"
    local args=("$HERE/tests/.out/bundle.json" "$ROOT/policies/conformance/allow-prod-reference.json"
        "$ROOT/policies/conformance/golden/allow-prod-reference.json")
    (cd "$app" && node npm-package.mjs "${args[@]}" &&
        node --experimental-wasm-modules --no-warnings npm-package.mjs "${args[@]}" bundler)
}
step "npm package" npm_package
step "docs snippets" node --test "$HERE/tests/docs.test.mjs"
if [[ ! -x /usr/bin/chromium ]]; then
    step "apt-get install chromium" as_root env DEBIAN_FRONTEND=noninteractive \
        apt-get -o DPkg::Lock::Timeout=600 install -y chromium
fi
step "browser test" node --test "$HERE/tests/browser.test.mjs"
printf '\n[wasm-test] all steps passed in %ss\n' "$(elapsed "$START")"
