"""Crash test of `gatehouse serve`: kill -9 the server while clients submit concurrently, restart
it, and check that every acknowledged (201) deployment is present, none is duplicated, and the
ledger verifies.

Usage: crash_test.py GATEHOUSE_BINARY [--clients N] [--seconds S] [--rounds R]
Each client submits intents with a unique `metadata.name` and `Idempotency-Key`; a submission
whose answer was lost in the crash is retried after the restart with the same key, as a real
client would, and must not create a second deployment.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[3]
TOKEN = "crash-test-requester"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def intent(name: str) -> dict:
    return {
        "apiVersion": "gatehouse.dev/v1",
        "kind": "DeploymentIntent",
        "metadata": {"name": name, "requested_by": "erin@example.com"},
        "spec": {
            "service": "web-frontend",
            "version": "2.0.0",
            "artifact": "ghcr.io/acme/web-frontend@sha256:"
            "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
            "environment": "dev",
            "target": {"cloud": "aws", "account": "555555555555", "region": "us-west-2"},
            "resources": [{"type": "compute.instance", "name": "web", "size": "t3.small", "count": 1}],
            "tags": {"owner": "team-web", "cost-center": "CC-2001", "data-classification": "internal"},
            "estimated_monthly_cost": 120,
            "strategy": "rolling",
        },
    }


class Server:
    def __init__(self, binary: str, workdir: Path) -> None:
        self.binary = binary
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.config = workdir / "config.toml"
        digest = hashlib.sha256(TOKEN.encode()).hexdigest()
        self.config.write_text(
            f'listen = "127.0.0.1:{self.port}"\n'
            f'database = "{workdir / "gatehouse.db"}"\n'
            f'policies = "{ROOT / "policies"}"\n'
            '[pipeline]\nsecret = "crash-test-pipeline-secret"\n'
            f'[[tokens]]\nname = "dev@example.com"\nrole = "admin"\nsha256 = "{digest}"\n'
        )
        self.log = open(workdir / "server.log", "ab")
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [self.binary, "serve", "--config", str(self.config)],
            stdout=self.log,
            stderr=self.log,
            cwd=ROOT,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.base}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise SystemExit("the server did not become ready in 30 s")

    def kill9(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=30)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("binary")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    headers = {"Authorization": f"Bearer {TOKEN}"}
    acked: dict[str, str] = {}  # name -> deployment id
    unacked: set[str] = set()  # names sent without an answer
    lock = threading.Lock()

    with tempfile.TemporaryDirectory() as tmp:
        server = Server(args.binary, Path(tmp))
        server.start()
        for round_no in range(args.rounds):
            stop = threading.Event()

            def client(n: int) -> None:
                with httpx.Client(base_url=server.base, headers=headers, timeout=10) as http:
                    i = 0
                    while not stop.is_set():
                        name = f"r{round_no}-c{n}-{i}"
                        i += 1
                        with lock:
                            unacked.add(name)
                        try:
                            r = http.post(
                                "/v1/deployments",
                                json={"intent": intent(name)},
                                headers={"Idempotency-Key": name},
                            )
                        except httpx.HTTPError:
                            return  # the server died: this one stays unacknowledged
                        if r.status_code != 201:
                            raise SystemExit(f"{name}: {r.status_code} {r.text}")
                        with lock:
                            acked[name] = r.json()["id"]
                            unacked.discard(name)

            threads = [threading.Thread(target=client, args=(n,)) for n in range(args.clients)]
            for t in threads:
                t.start()
            time.sleep(args.seconds)  # the round's duration under load, then the crash
            server.kill9()
            stop.set()
            for t in threads:
                t.join()
            print(f"round {round_no + 1}: killed with -9 after {args.seconds}s; "
                  f"{len(acked)} acknowledged so far, {len(unacked)} unanswered")
            server.start()

        with httpx.Client(base_url=server.base, headers=headers, timeout=30) as http:
            # Retry the unanswered submissions with their keys, as a client would.
            for name in sorted(unacked):
                r = http.post("/v1/deployments", json={"intent": intent(name)},
                              headers={"Idempotency-Key": name})
                if r.status_code != 201:
                    raise SystemExit(f"retry {name}: {r.status_code} {r.text}")
                acked[name] = r.json()["id"]
            stored: dict[str, list[str]] = {}
            offset = 0
            while True:
                page = http.get("/v1/deployments", params={"limit": 200, "offset": offset}).json()
                for d in page["items"]:
                    # The list holds summaries; the intent is in the full view.
                    full = http.get(f"/v1/deployments/{d['id']}").json()
                    stored.setdefault(full["intent"]["metadata"]["name"], []).append(d["id"])
                if page["next_offset"] is None:
                    break
                offset = page["next_offset"]
            missing = [n for n, i in acked.items() if i not in stored.get(n, [])]
            duplicated = {n: ids for n, ids in stored.items() if len(ids) > 1}
            unexpected = [n for n in stored if n not in acked]
            report = http.get("/v1/audit/verify").json()
        server.stop()

    print(f"acknowledged {len(acked)} (of which {len(unacked)} answered only on retry), "
          f"stored {sum(len(v) for v in stored.values())}, ledger: {json.dumps(report)}")
    ok = True
    if missing:
        print(f"FAIL: {len(missing)} acknowledged deployments are missing: {missing[:5]}")
        ok = False
    if duplicated:
        print(f"FAIL: {len(duplicated)} intents were stored twice: {list(duplicated.items())[:5]}")
        ok = False
    if unexpected:
        print(f"FAIL: {len(unexpected)} stored intents were never sent: {unexpected[:5]}")
        ok = False
    if not report.get("ok"):
        print(f"FAIL: the ledger does not verify: {report.get('first_broken')}")
        ok = False
    if ok:
        print("crash test passed: every acknowledged deployment survived kill -9, none twice, ledger intact")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
