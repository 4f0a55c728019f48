#!/usr/bin/env bash
# Evaluate every example intent in policies/examples/ against the bundled policies/ and print
# the decisions. Exit code 1 is expected: some examples are denied on purpose (see each file's
# first line).
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
cargo build --quiet --locked -p gatehouse-cli || exit 2
./target/debug/gatehouse check --policies policies --history policies/examples/history/deployments.json --approvals policies/examples/history/approvals.json policies/examples "$@"
status=$?
printf '\ngatehouse check exited with %d (0: all allowed, 1: some denied or need approval, 2: error)\n' "$status"
[ "$status" -le 1 ]
