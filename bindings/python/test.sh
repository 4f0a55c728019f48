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

run() {
    printf '  $ %s\n' "$*"
    local t0=$EPOCHREALTIME
    "$@"
    awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "  (%.1fs)\n", b - a }'
}

if [[ ! -x $PY ]]; then
    run python3 -m venv "$VENV"
fi
run "$PY" -m pip install --quiet --disable-pip-version-check "${PY_DEPS[@]}"
rm -f "$WHEELS"/gatehouse-*.whl
run "$VENV/bin/maturin" build --locked --quiet -i "$PY" -m bindings/python/Cargo.toml -o "$WHEELS"
wheel=("$WHEELS"/gatehouse-*.whl)
run "$PY" -m pip install --quiet --disable-pip-version-check --force-reinstall --no-deps "${wheel[0]}"
run "$PY" -m pytest -q -p no:cacheprovider bindings/python/tests
(cd bindings/python && run "../../$PY" -m mypy python/gatehouse examples)
run "$PY" -m mypy.stubtest gatehouse
