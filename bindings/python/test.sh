#!/usr/bin/env bash
# The Python bindings' tests: builds the wheel once (maturin, dev profile, so it reuses what the
# Rust steps built), installs it into the repository's virtualenv `.venv` (created when missing)
# and runs pytest, mypy and mypy.stubtest there. Prints each command and how long it took.
# tests/test_signing.py signs bundles with the CLI, `target/debug/gatehouse` (or GATEHOUSE_BIN),
# which `scripts/test.sh python` builds first.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

# Pinned in bindings/python/pyproject.toml, group `test`.
mapfile -t PY_DEPS < <(python3 scripts/py_group.py test)
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
rm -f "$WHEELS"/gatehouse_policy-*.whl
step wheel "$VENV/bin/maturin" build --locked --quiet -i "$PY" -m bindings/python/Cargo.toml -o "$WHEELS"
wheel=("$WHEELS"/gatehouse_policy-*.whl)
step "install wheel" "$PY" -m pip install --quiet --disable-pip-version-check --force-reinstall --no-deps "${wheel[0]}"
step pytest "$PY" -m pytest -q -p no:cacheprovider bindings/python/tests
(cd bindings/python && step mypy "../../$PY" -m mypy python/gatehouse examples)
step stubtest "$PY" -m mypy.stubtest gatehouse
# The wheel as a user gets it: a fresh virtualenv with nothing else in it, the file installed,
# `gatehouse-policy` in the metadata and an evaluation that works. (The wheel is built with the
# dev profile here; published wheels use the release profile, same sources.)
fresh=$(mktemp -d)
trap 'rm -rf "$fresh"' EXIT
step "fresh venv" python3 -m venv "$fresh/venv"
step "install the wheel file" "$fresh/venv/bin/python" -m pip install --quiet --disable-pip-version-check "${wheel[0]}"
step "import and evaluate" "$fresh/venv/bin/python" - <<'PY'
import importlib.metadata, json, pathlib
import gatehouse
assert importlib.metadata.version("gatehouse-policy"), "gatehouse-policy is installed"
engine = gatehouse.Engine.from_directory(pathlib.Path("policies"))
case = json.loads(pathlib.Path("policies/conformance/allow-dev-minimal.json").read_text())
decision = engine.evaluate(case["intent"], **case["context"])
golden = pathlib.Path("policies/conformance/golden/allow-dev-minimal.json").read_text().rstrip("\n")
assert decision.to_json() == golden, decision.to_json()
print("gatehouse-policy", importlib.metadata.version("gatehouse-policy"), "evaluates", decision.outcome)
PY
