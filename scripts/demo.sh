#!/usr/bin/env bash
# The main job on the embedded defaults: the control plane (`gatehouse serve`) on
# http://127.0.0.1:8080 with the SQLite file ./gatehouse.db, the bundled policies/ and demo
# tokens (printed in its log as demo credentials). Ctrl-C stops it; the database stays.
# Extra arguments go to `gatehouse serve` (e.g. --listen 0.0.0.0:8080, --db /tmp/g.db).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
cargo build --quiet --locked -p gatehouse-cli
cat <<'TEXT'
Gatehouse control plane (demo mode): web UI at http://127.0.0.1:8080/ (paste a demo token
from the log below). In another terminal, for example:
  curl -s -X POST localhost:8080/v1/deployments -H 'Authorization: Bearer demo-requester' \
       -H 'Content-Type: application/json' --data @docs/api/submit-web-frontend-dev.json
  curl -s localhost:8080/v1/deployments -H 'Authorization: Bearer demo-auditor'
  curl -s localhost:8080/v1/audit/verify -H 'Authorization: Bearer demo-auditor'
The API is described at http://127.0.0.1:8080/openapi.json; docs/control-plane.md walks through a lifecycle.
TEXT
exec ./target/debug/gatehouse serve "$@"
