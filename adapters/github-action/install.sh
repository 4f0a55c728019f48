#!/usr/bin/env bash
# Installs the `gatehouse` binary for the Gatehouse GitHub Action: downloads the release archive
# for this runner's OS and architecture, verifies it against the SHA-256 digest pinned in the
# Action itself (digests.txt, written by the release workflow into the commit the release tag
# names; never a checksum fetched from where the archive came from), unpacks it and checks that
# the binary runs and reports the version asked for. A binary found in the tool cache is checked
# against its pinned digest too (a mismatch is downloaded again). Downloads go over https only
# (plain http to 127.0.0.1, localhost or [::1] is allowed, for tests), redirects included. It builds from the action's own source only
# when asked (`build-from-source: true`) or when the action is used at a ref that is no release
# (a branch or a commit) and no version is given. Never writes to GITHUB_PATH: the path of the
# binary goes to the step output `bin`.
#
# Environment (set by action.yml from its inputs and the runner):
#   WANT_VERSION     the gatehouse-version input (e.g. 0.2.0; empty: the action's own tag)
#   ACTION_REF       github.action_ref (a tag such as action/v0.2.0 or v0.2.0, a branch, or a commit)
#   RELEASES_URL     base of the release downloads, e.g. https://github.com/OWNER/REPO/releases/download
#   DIGESTS          the pinned digest manifest (default: digests.txt beside this script); lines
#                    `<sha256>  <archive>` and `<sha256>  <archive dir>/gatehouse[.exe]`
#   BUILD_FROM_SOURCE  true | false
#   SOURCE           the action's checkout root (for a source build)
#   INSTALL_ROOT     where downloaded versions are kept (the action caches it per version, OS and
#                    architecture)
#   RUNNER_OS, RUNNER_ARCH, GITHUB_OUTPUT (and RUNNER_TEMP for scratch space)
# Exit 0 with `bin=...`, `version=...`, `how=download|cache|source|path` in $GITHUB_OUTPUT; 1 when
# nothing trustworthy could be installed (no pinned digest for the version and runner, checksum
# mismatch, a URL that is not https, no asset for this runner, a binary that does not run or
# reports another version), with the reason as an ::error.
set -euo pipefail

fail() {
    # Escaped as workflow command data: a value in the message cannot start a command line.
    local message="$*"
    message=${message//'%'/%25}
    message=${message//$'\r'/%0D}
    message=${message//$'\n'/%0A}
    printf '::error title=gatehouse install::%s\n' "$message"
    exit 1
}

out() { printf '%s=%s\n' "$1" "$2" >>"${GITHUB_OUTPUT:?GITHUB_OUTPUT is not set}"; }

want=${WANT_VERSION:-}
# The release workflow tags the action with its pinned digests as action/vX.Y.Z.
if [[ -z $want && ${ACTION_REF:-} =~ ^(action/)?v?([0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.-]+)?)$ ]]; then
    want=${BASH_REMATCH[2]}
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
archive=gatehouse-$want-$target.$ext

sha256() {
    if command -v sha256sum >/dev/null 2>&1; then
        sha256sum "$1" | awk '{ print $1 }'
    else
        shasum -a 256 "$1" | awk '{ print $1 }'
    fi
}

# The digest pinned for a name in the manifest (empty when there is none).
manifest=${DIGESTS:-$(dirname "${BASH_SOURCE[0]}")/digests.txt}
pinned() {
    [[ -f $manifest ]] || return 0
    awk -v name="$1" '$1 !~ /^#/ && NF == 2 && $2 == name { print tolower($1); exit }' "$manifest"
}
want_archive=$(pinned "$archive")
want_binary=$(pinned "${archive%."$ext"}/$exe")
if [[ ! $want_archive =~ ^[0-9a-f]{64}$ || ! $want_binary =~ ^[0-9a-f]{64}$ ]]; then
    fail "the action at \`${ACTION_REF:-?}\` pins no digest for \`$archive\` (in $(basename "$manifest")): use the action at the release's tag (uses: …@action/v$want), whose digests the release workflow pinned, or set build-from-source: true"
fi

if [[ -x $bin ]]; then
    if [[ $(sha256 "$bin") == "$want_binary" && $(version_of "$bin") == "$want" ]]; then
        echo "gatehouse $want for $target is in the cache (its digest matches the pinned one)"
        out bin "$bin"
        out version "$want"
        out how cache
        exit 0
    fi
    echo "::warning title=gatehouse install::the cached $bin does not match the digest the action pins; downloading the release again"
    rm -f "$bin"
fi

base=${RELEASES_URL%/}
proto='=https'
if [[ $base =~ ^http://(127\.0\.0\.1|localhost|\[::1\])(:[0-9]+)?(/|$) ]]; then
    proto='=http'
elif [[ ! $base =~ ^https:// ]]; then
    fail "releases-url \`$base\` is not an https URL (plain http only to 127.0.0.1, localhost or [::1]); refusing to download over it"
fi
url=$base/v$want/$archive
scratch=$(mktemp -d "${RUNNER_TEMP:-/tmp}/gatehouse-install.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
fetch() {
    local status
    status=$(curl -sSL --proto "$proto" --proto-redir '=https' --retry 3 --retry-delay 2 \
        --connect-timeout 10 --max-time 300 -o "$2" -w '%{http_code}' "$1") || fail "cannot download $1"
    [[ $status == 200 ]] || fail "$1 answered HTTP $status: release v$want has no \`$(basename "$1")\` (no build for $target?)"
}
echo "downloading $url"
fetch "$url" "$scratch/$archive"

actual=$(sha256 "$scratch/$archive")
[[ $actual == "$want_archive" ]] || fail "checksum mismatch for $archive: the action pins $want_archive, the download is $actual; refusing to install it"

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
[[ $(sha256 "$found") == "$want_binary" ]] || fail "the gatehouse in $archive does not match the binary digest the action pins"

mkdir -p "$dir"
mv "$found" "$bin"
echo "installed gatehouse $want for $target (checksum verified against the digest the action pins)"
out bin "$bin"
out version "$want"
out how download
