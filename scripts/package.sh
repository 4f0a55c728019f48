#!/usr/bin/env bash
# Packs a built `gatehouse` binary into the release archive the GitHub Action and users download:
#
#   bash scripts/package.sh BINARY TARGET OUT_DIR
#
# writes OUT_DIR/gatehouse-<version>-<TARGET>.tar.gz (.zip for Windows targets) holding
# gatehouse-<version>-<TARGET>/{gatehouse[.exe], LICENSE, README.md, CHANGELOG.md} and, when it
# has been built, share/gatehouse/ui/pkg/ (the browser UI's WASM engine: the .js, _bg.wasm and
# .d.ts files of bindings/wasm/build.sh's pkg/, or of GATEHOUSE_UI_PKG_DIR; `gatehouse serve`
# finds it beside the binary or, installed, in <prefix>/share); and beside the archive
# <archive>.sha256 (`<hex>  <archive>`, as `sha256sum -c` reads it). The package is built once,
# by build.sh, and only copied here; REQUIRE_UI_PKG=1 (the release workflow) makes a missing one
# an error instead of a note. The version is the one the
# binary reports (`gatehouse --version`), so an archive can never be named for another version;
# a binary for another architecture cannot run here, so GATEHOUSE_VERSION gives it instead
# (the release workflow sets it from the tag). Prints the archive's path.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [[ $# -ne 3 ]]; then
    echo "usage: bash scripts/package.sh BINARY TARGET OUT_DIR" >&2
    exit 2
fi
binary=$1 target=$2 out=$3
[[ -f $binary ]] || { echo "package: no binary at $binary" >&2; exit 2; }
[[ $target =~ ^[a-z0-9_]+(-[a-z0-9_.]+){2,3}$ ]] || { echo "package: \`$target\` is not a target triple" >&2; exit 2; }

version=${GATEHOUSE_VERSION:-}
if [[ -z $version ]]; then
    version=$("$binary" --version | awk 'NR == 1 { print $2 }')
fi
[[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.-]+)?$ ]] || { echo "package: version \`$version\` is not x.y.z" >&2; exit 2; }

exe=gatehouse
ext=tar.gz
if [[ $target == *windows* ]]; then
    exe=gatehouse.exe
    ext=zip
fi
name=gatehouse-$version-$target
mkdir -p "$out"
out=$(cd "$out" && pwd)
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir "$stage/$name"
cp "$binary" "$stage/$name/$exe"
chmod 755 "$stage/$name/$exe"
cp LICENSE README.md CHANGELOG.md "$stage/$name/"
ui_pkg=${GATEHOUSE_UI_PKG_DIR:-bindings/wasm/pkg}
if [[ -f $ui_pkg/gatehouse_wasm.js && -f $ui_pkg/gatehouse_wasm_bg.wasm ]]; then
    mkdir -p "$stage/$name/share/gatehouse/ui/pkg"
    for file in gatehouse_wasm.js gatehouse_wasm_bg.wasm gatehouse_wasm.d.ts gatehouse_wasm_bg.wasm.d.ts; do
        if [[ -f $ui_pkg/$file ]]; then cp "$ui_pkg/$file" "$stage/$name/share/gatehouse/ui/pkg/"; fi
    done
elif [[ ${REQUIRE_UI_PKG:-0} == 1 ]]; then
    echo "package: no WASM UI package in $ui_pkg (gatehouse_wasm.js, gatehouse_wasm_bg.wasm); build it with \`bash bindings/wasm/build.sh\` or set GATEHOUSE_UI_PKG_DIR" >&2
    exit 2
else
    echo "package: note: no WASM UI package in $ui_pkg; the archive's server will preview through POST /v1/evaluate (build it with \`bash bindings/wasm/build.sh\` first to include it)" >&2
fi
archive=$name.$ext
rm -f "$out/$archive" "$out/$archive.sha256"
if [[ $ext == zip ]]; then
    if command -v zip >/dev/null 2>&1; then
        (cd "$stage" && zip -q -r -X "$out/$archive" "$name")
    else
        # Windows runners have 7-Zip, not zip.
        (cd "$stage" && 7z a -tzip -bso0 "$out/$archive" "$name")
    fi
else
    # GNU tar (gtar on macOS) makes it reproducible: sorted names, fixed owner and times.
    gnu_tar=""
    for candidate in tar gtar; do
        if "$candidate" --version 2>/dev/null | grep -q 'GNU tar'; then gnu_tar=$candidate; break; fi
    done
    if [[ -n $gnu_tar ]]; then
        "$gnu_tar" --sort=name --owner=0 --group=0 --numeric-owner --mtime='2000-01-01 00:00:00Z' \
            -C "$stage" -czf "$out/$archive" "$name"
    else
        tar -C "$stage" -czf "$out/$archive" "$name"
    fi
fi
if command -v sha256sum >/dev/null 2>&1; then
    (cd "$out" && sha256sum "$archive" >"$archive.sha256")
else
    (cd "$out" && shasum -a 256 "$archive" >"$archive.sha256")
fi
echo "$out/$archive"
