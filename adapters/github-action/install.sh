#!/usr/bin/env bash
# Installs the `gatehouse` binary for the Gatehouse GitHub Action: downloads the release archive
# for this runner's OS and architecture, verifies its SHA-256 checksum, unpacks it and checks that
# the binary runs and reports the version asked for. It builds from the action's own source only
# when asked (`build-from-source: true`) or when the action is used at a ref that is no release
# (a branch or a commit) and no version is given. Never writes to GITHUB_PATH: the path of the
# binary goes to the step output `bin`.
#
# Environment (set by action.yml from its inputs and the runner):
#   WANT_VERSION     the gatehouse-version input (e.g. 0.2.0; empty: the action's own tag)
#   ACTION_REF       github.action_ref (a tag such as v0.2.0, a branch, or a commit)
#   RELEASES_URL     base of the release downloads, e.g. https://github.com/OWNER/REPO/releases/download
#   BUILD_FROM_SOURCE  true | false
#   SOURCE           the action's checkout root (for a source build)
#   INSTALL_ROOT     where downloaded versions are kept (the action caches it per version, OS and
#                    architecture)
#   RUNNER_OS, RUNNER_ARCH, GITHUB_OUTPUT (and RUNNER_TEMP for scratch space)
# Exit 0 with `bin=...`, `version=...`, `how=download|cache|source|path` in $GITHUB_OUTPUT; 1 when
# nothing trustworthy could be installed (checksum mismatch, no asset for this runner, a binary
# that does not run or reports another version), with the reason as an ::error.
set -euo pipefail

fail() {
    printf '::error title=gatehouse install::%s\n' "$*"
    exit 1
}

out() { printf '%s=%s\n' "$1" "$2" >>"${GITHUB_OUTPUT:?GITHUB_OUTPUT is not set}"; }

want=${WANT_VERSION:-}
if [[ -z $want && ${ACTION_REF:-} =~ ^v?([0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.-]+)?)$ ]]; then
    want=${BASH_REMATCH[1]}
fi
want=${want#v}
if [[ -n $want && ! $want =~ ^[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.-]+)?$ ]]; then
    fail "gatehouse-version \`$want\` is not a version such as 0.2.0"
fi

# The version a binary reports: `gatehouse 0.2.0` -> 0.2.0 (empty when it does not run).
version_of() { "$1" --version 2>/dev/null | awk 'NR == 1 { print $2 }' || true; }

# A source build goes to scratch space, never to the cached INSTALL_ROOT: a branch moves, and a
# binary built from it last week must not pass for today's.
build_from_source() {
    local root=${RUNNER_TEMP:-/tmp}/gatehouse-source-build
    command -v cargo >/dev/null 2>&1 || fail "building from source needs cargo on the runner (or use a release: set gatehouse-version)"
    echo "building gatehouse from ${SOURCE} (this takes minutes; a release download takes seconds)"
    cargo install --path "$SOURCE/adapters/cli" --locked --root "$root"
    out bin "$root/bin/gatehouse"
    out version "$(version_of "$root/bin/gatehouse")"
    out how source
}

if [[ ${BUILD_FROM_SOURCE:-false} == true ]]; then
    build_from_source
    exit 0
elif [[ ${BUILD_FROM_SOURCE:-false} != false ]]; then
    fail "build-from-source must be true or false, not \`${BUILD_FROM_SOURCE}\`"
fi

if [[ -z $want ]]; then
    # No version and no release tag: a gatehouse already on PATH, else a source build.
    if on_path=$(command -v gatehouse 2>/dev/null); then
        out bin "$on_path"
        out version "$(version_of "$on_path")"
        out how path
        exit 0
    fi
    echo "the action is used at \`${ACTION_REF:-?}\`, which is no release tag, and gatehouse-version is empty: building from source"
    build_from_source
    exit 0
fi

case "${RUNNER_OS:-}/${RUNNER_ARCH:-}" in
    Linux/X64) target=x86_64-unknown-linux-musl ;;
    Linux/ARM64) target=aarch64-unknown-linux-musl ;;
    macOS/ARM64) target=aarch64-apple-darwin ;;
    macOS/X64) target=x86_64-apple-darwin ;;
    Windows/X64) target=x86_64-pc-windows-msvc ;;
    *) fail "no gatehouse release is built for ${RUNNER_OS:-an unknown OS} on ${RUNNER_ARCH:-an unknown architecture}; set build-from-source: true" ;;
esac
ext=tar.gz
exe=gatehouse
if [[ $target == *windows* ]]; then
    ext=zip
    exe=gatehouse.exe
fi
dir=$INSTALL_ROOT/$want/$target
bin=$dir/$exe

if [[ -x $bin && $(version_of "$bin") == "$want" ]]; then
    echo "gatehouse $want for $target is in the cache"
    out bin "$bin"
    out version "$want"
    out how cache
    exit 0
fi

archive=gatehouse-$want-$target.$ext
url=${RELEASES_URL%/}/v$want/$archive
scratch=$(mktemp -d "${RUNNER_TEMP:-/tmp}/gatehouse-install.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
fetch() {
    local status
    status=$(curl -sSL --retry 3 --retry-delay 2 --connect-timeout 10 --max-time 300 \
        -o "$2" -w '%{http_code}' "$1") || fail "cannot download $1"
    [[ $status == 200 ]] || fail "$1 answered HTTP $status: release v$want has no \`$(basename "$1")\` (no build for $target?)"
}
echo "downloading $url"
fetch "$url" "$scratch/$archive"
fetch "$url.sha256" "$scratch/$archive.sha256"

expected=$(awk 'NR == 1 { print tolower($1) }' "$scratch/$archive.sha256")
[[ $expected =~ ^[0-9a-f]{64}$ ]] || fail "$archive.sha256 holds no SHA-256 digest"
if command -v sha256sum >/dev/null 2>&1; then
    actual=$(sha256sum "$scratch/$archive" | awk '{ print $1 }')
else
    actual=$(shasum -a 256 "$scratch/$archive" | awk '{ print $1 }')
fi
[[ $actual == "$expected" ]] || fail "checksum mismatch for $archive: the release says $expected, the download is $actual; refusing to install it"

mkdir -p "$scratch/unpacked"
if [[ $ext == zip ]]; then
    unzip -q "$scratch/$archive" -d "$scratch/unpacked"
else
    tar -xzf "$scratch/$archive" -C "$scratch/unpacked"
fi
found=$(find "$scratch/unpacked" -type f -name "$exe" | head -n 1)
[[ -n $found ]] || fail "$archive holds no \`$exe\`"
chmod +x "$found"
got=$(version_of "$found")
[[ -n $got ]] || fail "the gatehouse in $archive does not run on this runner ($RUNNER_OS $RUNNER_ARCH): wrong architecture or a broken archive"
[[ $got == "$want" ]] || fail "the gatehouse in $archive reports version $got, not $want"

mkdir -p "$dir"
mv "$found" "$bin"
echo "installed gatehouse $want for $target (checksum verified)"
out bin "$bin"
out version "$want"
out how download
