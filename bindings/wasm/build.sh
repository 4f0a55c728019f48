#!/usr/bin/env bash
# Builds the gatehouse-wasm packages from the crate in this folder:
#   bindings/wasm/pkg/       browsers (wasm-bindgen --target web: an ES module + init()); the web
#                            UI and the browser test load it
#   bindings/wasm/pkg-node/  Node (wasm-bindgen --target nodejs: CommonJS, loads synchronously)
#   bindings/wasm/pkg-npm/   the published npm package `gatehouse-wasm`: web/, bundler/ and node/
#                            entry points behind one `exports` map, types per entry point, one
#                            .wasm they share (bundler/gatehouse_wasm_bg.wasm, also exported as
#                            gatehouse-wasm/gatehouse_wasm_bg.wasm), the registry README and the
#                            licence (`npm pack` it from there)
# each with the JS glue, the .d.ts types and the optimised .wasm.
#
# Usage: bash bindings/wasm/build.sh        (from anywhere)
#
# Idempotent; prints every command and its duration. Two routes, picked automatically:
#   1. rustup has the wasm32-unknown-unknown target (a laptop after `rustup target add
#      wasm32-unknown-unknown`): plain `cargo build --target wasm32-unknown-unknown`.
#   2. Otherwise (a Debian machine whose rustup cannot add targets): Debian's "web" Rust. As root
#      it installs rustc-web cargo-web rust-web-src rust-web-llvm lld-22 if they are missing
#      (rustc-web and rust-web-src must be the same version; lld-22 links wasm32), then builds
#      std from source (-Zbuild-std, RUSTC_BOOTSTRAP=1) with Debian's compiler and cargo in a
#      target directory of its own. Cold, the std build is the slow part (several minutes).
# wasm-bindgen-cli is built once at exactly the crate's wasm-bindgen version (from Cargo.lock)
# into bindings/wasm/.tools/: its `wasm-bindgen` binary only, without the default feature
# `rustls-tls` (rustls and ring, for the WebDriver client of wasm-bindgen-test-runner, not
# wasm-bindgen): 513 s of CPU cold instead of 584 (2026-12-07). With
# GATEHOUSE_WASM_BINDGEN_LOCKED=1 (the release workflow) it is installed `--locked`, from the
# versions its own lockfile pins; without it, unlocked, because the registry reachable from some
# build machines lacks a crate version that lockfile pins.
# npm dev tools (binaryen's wasm-opt, typescript, playwright-core) come from `npm ci`, run only
# when package-lock.json changed. The cargo profile is `wasm-release` (root Cargo.toml: opt-level
# "z", LTO, one codegen unit, panic = "abort"); names and producers sections are removed.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
cd "$ROOT"

TARGET=wasm32-unknown-unknown
PROFILE=wasm-release
TARGET_DIR="$ROOT/target/wasm"
CRATE=gatehouse-wasm
STEM=gatehouse_wasm
DEB_PACKAGES=(rustc-web cargo-web rust-web-src rust-web-llvm lld-22)
# wasm-opt flags that binaryen 132 needs for what rustc emits (never --all-features: stringref).
WASM_OPT_FLAGS=(-Oz --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext
    --enable-mutable-globals --enable-reference-types --enable-multivalue)

STEP_TAG=wasm-build
# shellcheck source=../../scripts/steps.sh
source "$ROOT/scripts/steps.sh"
log() { printf '[%s] %s\n' "$STEP_TAG" "$*"; }
START=$EPOCHREALTIME

# --------------------------------------------------------------------------- wasm-bindgen-cli
WB_VERSION="$(awk '$0 == "name = \"wasm-bindgen\"" { getline; gsub(/[^0-9.]/, ""); print; exit }' Cargo.lock)"
if [[ -z "$WB_VERSION" ]]; then
    log "no wasm-bindgen in Cargo.lock" >&2
    exit 1
fi
WB_ROOT="$HERE/.tools/wasm-bindgen-$WB_VERSION"
WASM_BINDGEN="$WB_ROOT/bin/wasm-bindgen"
if [[ "$("$WASM_BINDGEN" --version 2>/dev/null || true)" != "wasm-bindgen $WB_VERSION" ]]; then
    locked=()
    if [[ ${GATEHOUSE_WASM_BINDGEN_LOCKED:-} == 1 ]]; then locked=(--locked); fi
    step "install wasm-bindgen-cli $WB_VERSION" \
        cargo install wasm-bindgen-cli --version "$WB_VERSION" --root "$WB_ROOT" \
        --no-default-features --bin wasm-bindgen "${locked[@]}"
else
    log "wasm-bindgen-cli $WB_VERSION already in ${WB_ROOT#"$ROOT"/}"
fi

# --------------------------------------------------------------------------- npm dev tools
installed_lock="$HERE/node_modules/.package-lock.json"
if [[ ! -f "$installed_lock" || "$HERE/package-lock.json" -nt "$installed_lock" ]]; then
    step "npm ci" npm ci --prefix "$HERE" --no-audit --no-fund
else
    log "node_modules is up to date with package-lock.json"
fi

# --------------------------------------------------------------------------- cargo build
installed_targets=""
if command -v rustup >/dev/null 2>&1; then
    installed_targets="$(rustup target list --installed 2>/dev/null || true)"
fi
if grep -qx "$TARGET" <<<"$installed_targets"; then
    log "route: rustup target $TARGET is installed"
    step "cargo build ($TARGET, rustup)" \
        cargo build --locked -p "$CRATE" --target "$TARGET" --profile "$PROFILE" \
        --target-dir "$TARGET_DIR"
else
    log "route: no rustup $TARGET target; Debian's rustc-web with -Zbuild-std"
    missing=()
    for pkg in "${DEB_PACKAGES[@]}"; do
        if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -qx 'install ok installed'; then
            missing+=("$pkg")
        fi
    done
    if ((${#missing[@]})); then
        step "apt-get update" as_root env DEBIAN_FRONTEND=noninteractive \
            apt-get -o DPkg::Lock::Timeout=600 update
        step "apt-get install ${missing[*]}" as_root env DEBIAN_FRONTEND=noninteractive \
            apt-get -o DPkg::Lock::Timeout=600 install -y "${DEB_PACKAGES[@]}"
    else
        log "Debian packages already installed: ${DEB_PACKAGES[*]}"
    fi
    rustc_ver="$(dpkg-query -W -f='${Version}' rustc-web)"
    src_ver="$(dpkg-query -W -f='${Version}' rust-web-src)"
    if [[ "$rustc_ver" != "$src_ver" ]]; then
        log "rustc-web ($rustc_ver) and rust-web-src ($src_ver) differ; install matching versions" >&2
        exit 1
    fi
    # Debian's cargo and rustc, not rustup's proxies (first on PATH): build-std must be driven by
    # the toolchain that matches the std source.
    step "cargo build ($TARGET, Debian rustc-web $rustc_ver, -Zbuild-std)" \
        env "PATH=/usr/bin:$PATH" RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc RUSTC_BOOTSTRAP=1 \
        /usr/bin/cargo build --locked -p "$CRATE" --target "$TARGET" --profile "$PROFILE" \
        --target-dir "$TARGET_DIR" -Zbuild-std=std,panic_abort
fi
WASM="$TARGET_DIR/$TARGET/$PROFILE/$STEM.wasm"
[[ -f "$WASM" ]] || { log "cargo reported success but $WASM is missing" >&2; exit 1; }

# --------------------------------------------------------------------------- packages
# wasm-bindgen and wasm-opt are skipped when their inputs (the cargo artefact, this script, the
# tool versions) are what the packages were made from.
WASM_OPT="$HERE/node_modules/.bin/wasm-opt"
stamp="$({
    for input in "$WASM" "$HERE/build.sh" "$HERE/package.json"; do sha256sum <"$input"; done
    "$WASM_BINDGEN" --version
    [[ -x "$WASM_OPT" ]] && "$WASM_OPT" --version
} | sha256sum | cut -d' ' -f1)"
VERSION="$(awk -F'"' '/^\[workspace.package\]/ { s = 1 } s && /^version *=/ { print $2; exit }' Cargo.toml)"

write_package_json() { # DIR TYPE DESCRIPTION
    cat >"$1/package.json" <<EOF
{
  "name": "gatehouse-wasm",
  "version": "$VERSION",
  "description": "$3",
  "license": "Apache-2.0",
  "type": "$2",
  "main": "$STEM.js",
  "types": "$STEM.d.ts",
  "files": ["$STEM.js", "$STEM.d.ts", "${STEM}_bg.wasm", "${STEM}_bg.wasm.d.ts"],
  "sideEffects": false
}
EOF
}

make_packages() {
    local bundler="$TARGET_DIR/pkg-bundler"
    rm -rf "$HERE/pkg" "$HERE/pkg-node" "$bundler"
    step "wasm-bindgen --target web" "$WASM_BINDGEN" --target web --out-dir "$HERE/pkg" \
        --remove-name-section --remove-producers-section "$WASM"
    step "wasm-bindgen --target nodejs" "$WASM_BINDGEN" --target nodejs --out-dir "$HERE/pkg-node" \
        --remove-name-section --remove-producers-section "$WASM"
    step "wasm-bindgen --target bundler" "$WASM_BINDGEN" --target bundler --out-dir "$bundler" \
        --remove-name-section --remove-producers-section "$WASM"
    local web="$HERE/pkg/${STEM}_bg.wasm"
    if [[ -x "$WASM_OPT" ]]; then
        step "wasm-opt -Oz (binaryen from npm)" "$WASM_OPT" "${WASM_OPT_FLAGS[@]}" "$web" -o "$web.opt"
        # The targets usually carry the same module: optimise it once and copy it; a module that
        # differs is optimised on its own.
        local other
        for other in "$HERE/pkg-node/${STEM}_bg.wasm" "$bundler/${STEM}_bg.wasm"; do
            if cmp -s "$web" "$other"; then
                cp "$web.opt" "$other"
            else
                step "wasm-opt -Oz (${other#"$ROOT"/})" "$WASM_OPT" "${WASM_OPT_FLAGS[@]}" "$other" -o "$other"
            fi
        done
        mv "$web.opt" "$web"
    else
        log "no wasm-opt in node_modules; shipping wasm-bindgen's output as is"
    fi
    write_package_json "$HERE/pkg" module "Gatehouse policy engine for browsers (ES module; call the default export init() first)"
    write_package_json "$HERE/pkg-node" commonjs "Gatehouse policy engine for Node (CommonJS)"
    assemble_npm "$bundler"
    printf '%s\n' "$stamp" >"$HERE/pkg/.stamp"
}

# The npm package: one directory per entry point, one `exports` map. `import "gatehouse-wasm"`
# picks the Node build under Node and the bundler build elsewhere (webpack, Vite, esbuild);
# `gatehouse-wasm/web` is the plain ES module for a page without a bundler (call init() first).
# The three targets carry the same module (checked here), so the package ships it once, in
# bundler/ (a bundler resolves the module's import of ./gatehouse_wasm_bg.js next to it), and the
# web and node glue load it from there.
assemble_npm() { # BUNDLER_DIR
    local npm="$HERE/pkg-npm" wasm="${STEM}_bg.wasm"
    local shared="../bundler/$wasm" other
    for other in "$HERE/pkg/$wasm" "$HERE/pkg-node/$wasm"; do
        if ! cmp -s "$1/$wasm" "$other"; then
            log "${other#"$ROOT"/} differs from the bundler target's module; the package cannot share one" >&2
            exit 1
        fi
    done
    rm -rf "$npm"
    mkdir -p "$npm"
    cp -r "$HERE/pkg" "$npm/web"
    cp -r "$HERE/pkg-node" "$npm/node"
    cp -r "$1" "$npm/bundler"
    rm -f "$npm/web/package.json" "$npm/web/.stamp" "$npm/bundler/package.json" \
        "$npm/web/.gitignore" "$npm/node/.gitignore" "$npm/bundler/.gitignore" \
        "$npm/web/$wasm" "$npm/node/$wasm"
    # The glue names the module next to itself; point web/ and node/ at the shared one (failing
    # if wasm-bindgen's glue no longer says it the way this expects).
    repoint "$npm/web/$STEM.js" "new URL('$wasm', import.meta.url)" "new URL('$shared', import.meta.url)"
    # shellcheck disable=SC2016 # the glue's own template literal
    repoint "$npm/node/$STEM.js" '`${__dirname}/'"$wasm"'`' '`${__dirname}/'"$shared"'`'
    # The Node build is CommonJS inside an ES-module package.
    printf '{\n  "type": "commonjs"\n}\n' >"$npm/node/package.json"
    cp "$HERE/README.md" "$ROOT/LICENSE" "$npm/"
    cat >"$npm/package.json" <<EOF
{
  "name": "gatehouse-wasm",
  "version": "$VERSION",
  "description": "Gatehouse policy-as-code engine for browsers, bundlers and Node: the same deployment decisions as the gatehouse CLI and control plane, byte for byte",
  "license": "Apache-2.0",
  "keywords": ["policy-as-code", "rego", "governance", "deployment", "webassembly"],
  "type": "module",
  "main": "./node/$STEM.js",
  "types": "./bundler/$STEM.d.ts",
  "exports": {
    ".": {
      "node": {
        "types": "./node/$STEM.d.ts",
        "default": "./node/$STEM.js"
      },
      "default": {
        "types": "./bundler/$STEM.d.ts",
        "default": "./bundler/$STEM.js"
      }
    },
    "./web": {
      "types": "./web/$STEM.d.ts",
      "default": "./web/$STEM.js"
    },
    "./bundler": {
      "types": "./bundler/$STEM.d.ts",
      "default": "./bundler/$STEM.js"
    },
    "./node": {
      "types": "./node/$STEM.d.ts",
      "default": "./node/$STEM.js"
    },
    "./$wasm": "./bundler/$wasm",
    "./web/$wasm": "./bundler/$wasm",
    "./package.json": "./package.json"
  },
  "files": ["web", "bundler", "node", "README.md", "LICENSE"],
  "sideEffects": ["./bundler/$STEM.js", "./node/$STEM.js"],
  "engines": {"node": ">=18"}
}
EOF
}

# repoint FILE FROM TO: replaces the one occurrence of FROM in FILE with TO.
repoint() {
    local count
    count="$(grep -cF -- "$2" "$1" || true)"
    if [[ "$count" != 1 ]]; then
        log "${1#"$ROOT"/}: expected one \`$2\`, found $count; wasm-bindgen's glue changed" >&2
        exit 1
    fi
    FROM="$2" TO="$3" perl -0pi -e 's/\Q$ENV{FROM}\E/$ENV{TO}/' "$1"
}

if [[ "$(cat "$HERE/pkg/.stamp" 2>/dev/null || true)" == "$stamp" && -f "$HERE/pkg-node/package.json" && -f "$HERE/pkg-npm/package.json" ]]; then
    log "pkg/, pkg-node/ and pkg-npm/ are up to date with $STEM.wasm"
else
    make_packages
fi

raw="$(stat -c %s "$HERE/pkg/${STEM}_bg.wasm")"
gz="$(gzip -9 -c "$HERE/pkg/${STEM}_bg.wasm" | wc -c)"
log "cargo artefact: ${WASM#"$ROOT"/} ($(stat -c %s "$WASM") bytes)"
log "size: pkg/${STEM}_bg.wasm $raw bytes raw, $gz bytes gzip -9"
log "built pkg/ (web), pkg-node/ (nodejs) and pkg-npm/ (the gatehouse-wasm package) in $(elapsed "$START")s"
