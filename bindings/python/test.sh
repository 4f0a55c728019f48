#!/usr/bin/env bash
# The Python bindings' tests: builds the wheel once (maturin, dev profile, so it reuses what the
# Rust steps built), installs it into the repository's virtualenv `.venv` (created when missing)
# and runs pytest, mypy and mypy.stubtest there. Prints each command and how long it took.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

# Versions checked together on 2026-11-23.
PY_DEPS=(maturin==1.16.0 fastapi==0.163.2 httpx==0.28.1 pytest==9.2.0 mypy==2.4.1)
VENV=.venv
PY=$VENV/bin/python
WHEELS=${CARGO_TARGET_DIR:-target}/wheels/python

STEP_TAG=python
# shellcheck source=../../scripts/steps.sh
source scripts/steps.sh

if [[ ! -x $PY ]]; then
    step venv python3 -m venv "$VENV"
fi
step "pip install" "$PY" -m pip install --quiet --disable-pip-version-check "${PY_DEPS[@]}"
rm -f "$WHEELS"/gatehouse-*.whl
step wheel "$VENV/bin/maturin" build --locked --quiet -i "$PY" -m bindings/python/Cargo.toml -o "$WHEELS"
wheel=("$WHEELS"/gatehouse-*.whl)
step "install wheel" "$PY" -m pip install --quiet --disable-pip-version-check --force-reinstall --no-deps "${wheel[0]}"
step pytest "$PY" -m pytest -q -p no:cacheprovider bindings/python/tests
(cd bindings/python && step mypy "../../$PY" -m mypy python/gatehouse examples)
step stubtest "$PY" -m mypy.stubtest gatehouse
