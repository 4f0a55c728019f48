#!/usr/bin/env bash
# The GitHub side, checked here (the `workflows` step of the test command): actionlint over the
# workflows, zizmor over the workflows and the Action (no finding above "low"), and the
# conformance corpus through the `gatehouse` binary by scripts/conformance_check.py (the script the
# nightly regression workflow runs against the latest release; here against the debug build of
# the unit step). Both linters install from PyPI into the repository's virtualenv `.venv`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# Pinned in bindings/python/pyproject.toml, group `workflows`.
mapfile -t PY_DEPS < <(python3 scripts/py_group.py workflows)
VENV=.venv
BIN=${CARGO_TARGET_DIR:-target}/debug/gatehouse

STEP_TAG=workflows
# shellcheck source=steps.sh
source scripts/steps.sh

if [[ ! -x $VENV/bin/python ]]; then
    step venv python3 -m venv "$VENV"
fi
step "pip install" "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "${PY_DEPS[@]}"
step actionlint "$VENV/bin/actionlint" .github/workflows/*.yml
step zizmor "$VENV/bin/zizmor" --offline --min-severity medium .github/workflows adapters/github-action/action.yml
step "conformance through the binary" python3 scripts/conformance_check.py "$BIN"
