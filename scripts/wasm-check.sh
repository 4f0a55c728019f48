#!/usr/bin/env bash
# Prove that gatehouse-core (default features) compiles for wasm32-unknown-unknown.
#
# Usage (from anywhere; paths are resolved from the repository root):
#   scripts/wasm-check.sh
#
# Idempotent. Two routes, picked automatically:
#   1. rustup has the wasm32-unknown-unknown target installed (a normal laptop after
#      `rustup target add wasm32-unknown-unknown`): plain `cargo build --target ...`.
#   2. Otherwise (this machine kind: rustup cannot add targets), Debian's "web" Rust route from
#      /work/shared/wasm/README.md: install rustc-web cargo-web rust-web-src rust-web-llvm lld-22
#      (as root, only if missing) and build std from source with -Zbuild-std, using Debian's
#      compiler *and* Debian's cargo (build-std must match the std source's version).
#
# Either route builds scripts/wasm-probe, a tiny crate outside the workspace that depends on
# ../../core and adds `getrandom 0.4` with the `wasm_js` feature for wasm32-unknown-unknown:
# regorus 0.14.1 pulls rand 0.10 -> getrandom 0.4, which does not compile on that target without
# it. core/ itself is not changed. Artefacts go to target/wasm (the main target dir is untouched).
#
# Prints each command it runs and how long each step took; exits non-zero on failure.
set -euo pipefail

TARGET=wasm32-unknown-unknown
DEB_PACKAGES=(rustc-web cargo-web rust-web-src rust-web-llvm lld-22)

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PROBE_DIR=scripts/wasm-probe
PROBE_MANIFEST="$PROBE_DIR/Cargo.toml"
TARGET_DIR=target/wasm

log() { printf '[wasm-check] %s\n' "$*"; }
now() { printf '%s' "$EPOCHREALTIME"; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

SCRIPT_START="$(now)"
CURRENT_STEP=""
STEP_START=""
on_exit() {
    local rc=$?
    if [[ $rc -ne 0 ]]; then
        if [[ -n "$CURRENT_STEP" ]]; then
            log "FAILED in step '$CURRENT_STEP' after $(elapsed "$STEP_START")s (exit $rc)"
        fi
        log "FAILED: gatehouse-core was NOT shown to build for $TARGET (total $(elapsed "$SCRIPT_START")s)"
    fi
}
trap on_exit EXIT

# run_step NAME CMD... : print the command, run it, print how long it took.
run_step() {
    local name="$1"; shift
    CURRENT_STEP="$name"
    STEP_START="$(now)"
    log "step: $name"
    printf '+'; printf ' %q' "$@"; printf '\n'
    "$@"
    log "step '$name' took $(elapsed "$STEP_START")s"
    CURRENT_STEP=""
}

as_root() {
    if [[ $EUID -eq 0 ]]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        log "need root to run: $*" >&2
        return 1
    fi
}

# The probe is its own workspace; give it the workspace's lockfile so the versions checked are
# the ones the workspace pins (cargo then only adds what the wasm32 target needs).
seed_probe_lock() {
    cp Cargo.lock "$PROBE_DIR/Cargo.lock"
}

report_artefacts() {
    local profile="$1" dir="$TARGET_DIR/$TARGET/$1/deps" rlib
    rlib="$(ls -t "$dir"/libgatehouse_core-*.rlib 2>/dev/null | head -n 1 || true)"
    if [[ -z "$rlib" ]]; then
        log "build reported success but no libgatehouse_core-*.rlib in $dir" >&2
        return 1
    fi
    log "artefact: $rlib ($(stat -c %s "$rlib") bytes, $profile)"
}

installed_targets=""
if command -v rustup >/dev/null 2>&1; then
    installed_targets="$(rustup target list --installed 2>/dev/null || true)"
fi
if grep -qx "$TARGET" <<<"$installed_targets"; then
    # ---------------------------------------------------------------- route 1: rustup target
    log "route: rustup target $TARGET is installed"
    run_step "toolchain versions" bash -c 'cargo --version && rustc --version'
    run_step "seed probe lockfile" seed_probe_lock
    run_step "cargo build (rustup, $TARGET)" \
        cargo build --manifest-path "$PROBE_MANIFEST" --target "$TARGET" --target-dir "$TARGET_DIR"
    report_artefacts debug
else
    # ---------------------------------------------------------------- route 2: Debian rustc-web
    log "route: no rustup $TARGET target; using Debian's rustc-web + -Zbuild-std"
    missing=()
    for pkg in "${DEB_PACKAGES[@]}"; do
        status="$(dpkg -s "$pkg" 2>/dev/null || true)"
        if ! grep -qx 'Status: install ok installed' <<<"$status"; then
            missing+=("$pkg")
        fi
    done
    if ((${#missing[@]})); then
        log "missing Debian packages: ${missing[*]}"
        run_step "apt-get update" as_root env DEBIAN_FRONTEND=noninteractive \
            apt-get -o DPkg::Lock::Timeout=600 update
        run_step "apt-get install" as_root env DEBIAN_FRONTEND=noninteractive \
            apt-get -o DPkg::Lock::Timeout=600 install -y "${DEB_PACKAGES[@]}"
    else
        log "Debian packages already installed: ${DEB_PACKAGES[*]}"
    fi

    # rustc-web and rust-web-src must be the same version, or build-std fails in odd ways.
    rustc_ver="$(dpkg-query -W -f='${Version}' rustc-web)"
    src_ver="$(dpkg-query -W -f='${Version}' rust-web-src)"
    if [[ "$rustc_ver" != "$src_ver" ]]; then
        log "rustc-web ($rustc_ver) and rust-web-src ($src_ver) differ; install matching versions" >&2
        exit 1
    fi
    for bin in /usr/bin/rustc /usr/bin/rustdoc /usr/bin/cargo; do
        [[ -x "$bin" ]] || { log "expected $bin from Debian's packages, not found" >&2; exit 1; }
    done

    # Debian's cargo, not rustup's: rustup's proxies come first on PATH, and build-std must be
    # driven by the cargo that matches the std source (rust-web-src).
    DEB_ENV=(env "PATH=/usr/bin:$PATH" RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc RUSTC_BOOTSTRAP=1)
    run_step "toolchain versions" "${DEB_ENV[@]}" bash -c \
        '/usr/bin/cargo --version && /usr/bin/rustc --version'
    run_step "seed probe lockfile" seed_probe_lock
    run_step "cargo build (Debian rustc-web, -Zbuild-std, $TARGET)" \
        "${DEB_ENV[@]}" /usr/bin/cargo build --manifest-path "$PROBE_MANIFEST" \
        --target "$TARGET" -Zbuild-std=std,panic_abort --release --target-dir "$TARGET_DIR"
    report_artefacts release
fi

log "OK: gatehouse-core builds for $TARGET (total $(elapsed "$SCRIPT_START")s)"
