#!/usr/bin/env bash
# Post-deploy smoke check of a Gatehouse control plane, for a pipeline's last step:
#
#   GATEHOUSE_URL=https://gatehouse.example.com GATEHOUSE_TOKEN=<auditor token> \
#       bash scripts/post_deploy_smoke.sh [--expect-bundle-digest sha256:...] [--case FILE=OUTCOME]...
#
# Waits until the server answers /healthz (a rollout may still be starting; at most
# GATEHOUSE_SMOKE_WAIT seconds, default 120), then runs `gatehouse smoke` once with the given flags
# and exits with its code: 0 every check passed, 1 a check failed, 2 a usage error or no answer.
# Uses `gatehouse` from PATH, or GATEHOUSE_BIN.
set -euo pipefail

url=${GATEHOUSE_URL:?set GATEHOUSE_URL to the control plane base URL}
wait_s=${GATEHOUSE_SMOKE_WAIT:-120}
bin=${GATEHOUSE_BIN:-gatehouse}
# The URL as printed: a user name and password in it are never shown.
shown=$(printf '%s' "${url%/}" | sed -E 's|^([A-Za-z][A-Za-z0-9+.-]*://)[^/?#]*@|\1redacted@|')
command -v "$bin" >/dev/null 2>&1 || { echo "post_deploy_smoke: \`$bin\` not found; install gatehouse or set GATEHOUSE_BIN" >&2; exit 2; }

deadline=$((SECONDS + wait_s))
until curl -fsS -o /dev/null --max-time 5 "${url%/}/healthz"; do
    if (( SECONDS >= deadline )); then
        echo "post_deploy_smoke: $shown/healthz did not answer within ${wait_s}s" >&2
        exit 2
    fi
    sleep 2
done
exec "$bin" smoke --url "$url" "$@"
