#!/usr/bin/env bash
# The release wheel of the Python bindings (distribution `gatehouse-policy`, import `gatehouse`):
# maturin (the version pinned in bindings/python/pyproject.toml) in the repository's virtualenv
# `.venv`, the release profile, one abi3 wheel for CPython >= 3.9 in <target>/wheels/release.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

VENV=.venv
OUT=${CARGO_TARGET_DIR:-target}/wheels/release
STEP_TAG=wheel
# shellcheck source=steps.sh
source scripts/steps.sh

if [[ ! -x $VENV/bin/python ]]; then
    step venv python3 -m venv "$VENV"
fi
mapfile -t maturin < <(python3 scripts/py_group.py test | grep '^maturin==')
step "pip install" "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "${maturin[@]}"
step wheel "$VENV/bin/maturin" build --release --locked --quiet -i "$VENV/bin/python" \
    -m bindings/python/Cargo.toml -o "$OUT"
ls "$OUT"/gatehouse_policy-*.whl
