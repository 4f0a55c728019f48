#!/usr/bin/env bash
# Writes the Action's digest manifest (adapters/github-action/digests.txt) for release archives:
#
#   bash scripts/release-digests.sh ARCHIVE... > adapters/github-action/digests.txt
#
# For each archive made by scripts/package.sh (gatehouse-<version>-<target>.tar.gz or .zip), two
# lines in `sha256sum` format: the archive's SHA-256 and name, then the SHA-256 of the binary
# inside it and its path in the archive (gatehouse-<version>-<target>/gatehouse[.exe]). The
# release workflow runs it on the archives it built and commits the result into the Action at the
# release tag; install.sh trusts only these digests: a download must match the archive's, a cached
# binary the binary's.
set -euo pipefail

if [[ $# -eq 0 ]]; then
    echo "usage: bash scripts/release-digests.sh ARCHIVE..." >&2
    exit 2
fi
sha256() {
    if command -v sha256sum >/dev/null 2>&1; then
        sha256sum "$1" | awk '{ print $1 }'
    else
        shasum -a 256 "$1" | awk '{ print $1 }'
    fi
}
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
echo "# gatehouse release digests (scripts/release-digests.sh): archive, then the binary inside it"
for archive in "$@"; do
    name=$(basename "$archive")
    case $name in
        gatehouse-*.tar.gz) top=${name%.tar.gz} exe=gatehouse ;;
        gatehouse-*.zip) top=${name%.zip} exe=gatehouse.exe ;;
        *) echo "release-digests: \`$name\` is no gatehouse release archive" >&2; exit 2 ;;
    esac
    rm -rf "${scratch:?}/unpacked"
    mkdir "$scratch/unpacked"
    if [[ $name == *.zip ]]; then
        unzip -q "$archive" "$top/$exe" -d "$scratch/unpacked"
    else
        tar -xzf "$archive" -C "$scratch/unpacked" "$top/$exe"
    fi
    [[ -f $scratch/unpacked/$top/$exe ]] || { echo "release-digests: $name holds no $top/$exe" >&2; exit 2; }
    printf '%s  %s\n' "$(sha256 "$archive")" "$name"
    printf '%s  %s\n' "$(sha256 "$scratch/unpacked/$top/$exe")" "$top/$exe"
done
