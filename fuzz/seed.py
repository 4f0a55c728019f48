"""Seeds the fuzz corpora (fuzz/corpus/<target>/) from the bundle: the example intents and the
conformance intents for `evaluate_intent`; each policy module with the bundle's data and an
intent (plus the conformance overlays: broken policies and data) for `bundle_load`, the modules
and the merged data as `gatehouse bundle` and `gatehouse bundle --data` give them
(scripts/bundle_data.py); the committed
event chains (fuzz/seeds/event_chain/) for `event_chain`; the conformance intents and docs/api
request bodies behind an endpoint selector byte for `http_body`. Idempotent; file names are content
hashes. `FUZZ_CORPUS=DIR` seeds DIR/<target>/ instead (scripts/fuzz.sh's smoke run seeds a fresh
directory, so that its time does not grow with the corpus that long runs accumulate).
Usage: python3 fuzz/seed.py"""

import hashlib
import json
import os
import pathlib
import shutil
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
POLICIES = ROOT / "policies"
sys.path.insert(0, str(ROOT / "scripts"))
from bundle_data import merged_data, packed, policy_modules  # noqa: E402  (the gatehouse binary)
CORPUS = pathlib.Path(os.environ.get("FUZZ_CORPUS") or ROOT / "fuzz" / "corpus").resolve()


def put(target: str, content: bytes) -> None:
    directory = CORPUS / target
    directory.mkdir(parents=True, exist_ok=True)
    name = hashlib.sha1(content).hexdigest()
    (directory / name).write_bytes(content)


def main() -> None:
    examples = sorted((POLICIES / "examples").glob("*.yaml"))
    cases = [json.loads(p.read_text()) for p in sorted((POLICIES / "conformance").glob("*.json"))]
    intents = [p.read_bytes() for p in examples]
    intents += [json.dumps(case["intent"], indent=1).encode() for case in cases]
    for intent in intents:
        put("evaluate_intent", intent)

    data = json.dumps(merged_data(POLICIES)).encode()
    small_intent = json.dumps(cases[0]["intent"]).encode()
    modules = [text for path, text in policy_modules(packed(POLICIES)) if not path.endswith("/lib.rego")]
    # The Rego tests are parser input too; a packed bundle leaves them out.
    modules += [p.read_text() for p in sorted((POLICIES / "rules").rglob("*_test.rego"))]
    for module in modules:
        put("bundle_load", module.encode() + b"\0" + data + b"\0" + small_intent)
    for case in cases:
        overlay = case.get("bundle_overlay", {})
        rego = [v.encode() for k, v in sorted(overlay.items()) if k.endswith(".rego")]
        json_files = [v.encode() for k, v in sorted(overlay.items()) if k.endswith(".json")]
        if rego or json_files:
            first = rego[0] if rego else b""
            extra = b"".join(b"\0" + r for r in rego[1:])
            intent = json.dumps(case["intent"]).encode()
            put("bundle_load", first + b"\0" + (json_files[0] if json_files else data) + b"\0" + intent + extra)

    # http_body: a selector byte (0 evaluate, 1 deployments, 2 approvals, 3 cancel, 4 callbacks)
    # followed by a request body.
    for case in cases:
        body = {"intent": case["intent"], "context": case["context"]}
        put("http_body", b"\0" + json.dumps(body).encode())
    for request in sorted((ROOT / "docs" / "api").glob("*.json")):
        put("http_body", b"\1" + request.read_bytes())
    put("http_body", b"\2" + b'{"role": "finops-approver", "comment": "within the quarter budget"}')
    put("http_body", b"\3" + b'{"reason": "wrong version"}')
    put("http_body", b"\4" + b'{"status": "started", "run_url": "https://ci.example.com/run/1"}')
    put("http_body", b"\4" + json.dumps({
        "status": "succeeded",
        "evidence": {"smoke": [{"name": "health", "passed": True}],
                     "observed": {"artifact": "ghcr.io/acme/web@sha256:" + "0" * 64,
                                  "account": "555555555555", "region": "us-west-2"}},
    }).encode())
    put("http_body", b"\4" + b'{"status": "failed", "reason": "smoke test timed out"}')

    for chain in sorted((ROOT / "fuzz" / "seeds" / "event_chain").glob("*.jsonl")):
        (CORPUS / "event_chain").mkdir(parents=True, exist_ok=True)
        shutil.copy(chain, CORPUS / "event_chain" / chain.name)


if __name__ == "__main__":
    main()
