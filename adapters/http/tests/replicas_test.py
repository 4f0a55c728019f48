"""Two `gatehouse serve` replicas on one PostgreSQL database behave as one control plane.

16 clients submit for 60 s through both replicas (a client whose replica does not answer retries
the same submission, with the same Idempotency-Key, on the other one, as a client behind a load
balancer would). Midway one replica is killed with -9 and restarted. Then:
- every acknowledged (201) submission is present, and no idempotency key produced two
  deployments (no intent is stored twice);
- the ledger verifies;
- every deployment's outbox item reached the fake receiver; an item is delivered more than once
  only if its replica died between delivering and recording it (at most one per kill: delivery
  is sequential), and then with the same delivery id, so the receiver can tell.

Usage: replicas_test.py GATEHOUSE_BINARY --database-url postgres://... [--clients N]
       [--seconds S] [--lease-ms MS]
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
from collections import Counter, defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[3]
TOKEN = "replicas-test-admin"
PIPELINE_SECRET = "replicas-test-pipeline-secret-0123"


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


class Receiver:
    """The pipeline's webhook: records every delivery (deployment id, delivery id), answers 204."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.deliveries: list[tuple[str, str]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                length = int(self.headers.get("content-length", "0"))
                body = json.loads(self.rfile.read(length))
                with receiver.lock:
                    receiver.deliveries.append(
                        (body["deployment_id"], self.headers.get("x-gatehouse-delivery", ""))
                    )
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/deploy"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


class Replica:
    def __init__(self, name: str, binary: str, workdir: Path, database: str, hook: str,
                 lease_ms: int) -> None:
        self.name = name
        self.binary = binary
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.config = workdir / f"{name}.toml"
        digest = hashlib.sha256(TOKEN.encode()).hexdigest()
        self.config.write_text(
            f'listen = "127.0.0.1:{self.port}"\n'
            f'database = "{database}"\n'
            f'policies = "{ROOT / "policies"}"\n'
            "[pipeline]\n"
            f'secret = "{PIPELINE_SECRET}"\n'
            "[executor]\n"
            'kind = "webhook"\n'
            f'url = "{hook}"\n'
            'secret = "webhook-secret-0123456789"\n'
            "[dispatch]\n"
            "attempt_timeout_ms = 1000\n"
            f"lease_ms = {lease_ms}\n"
            "initial_backoff_ms = 100\n"
            "max_backoff_ms = 1000\n"
            f'[[tokens]]\nname = "dev@example.com"\nrole = "admin"\nsha256 = "{digest}"\n'
        )
        self.log = open(workdir / f"{name}.log", "ab")
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [self.binary, "serve", "--config", str(self.config)],
            stdout=self.log, stderr=self.log, cwd=ROOT,
            env={**os.environ, "RUST_LOG": "warn"},
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.base}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise SystemExit(f"{self.name} did not become ready in 30 s")

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
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--lease-ms", type=int, default=3000)
    args = parser.parse_args()

    headers = {"Authorization": f"Bearer {TOKEN}"}
    acked: dict[str, str] = {}  # name -> deployment id
    pending: set[str] = set()  # names sent without an answer yet
    statuses: Counter[str] = Counter()
    lock = threading.Lock()
    receiver = Receiver()

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        replicas = [Replica(n, args.binary, work, args.database_url, receiver.url, args.lease_ms)
                    for n in ("a", "b")]
        for r in replicas:
            r.start()
        stop = threading.Event()

        def submit(clients: list[httpx.Client], name: str, first: int) -> None:
            """Submits `name` on replica `first`, then on the other while no replica answers."""
            for attempt in range(200):
                http = clients[(first + attempt) % 2]
                try:
                    r = http.post("/v1/deployments", json={"intent": intent(name)},
                                  headers={"Idempotency-Key": name})
                except httpx.HTTPError:
                    with lock:
                        statuses["no answer"] += 1
                    time.sleep(0.05)
                    continue
                with lock:
                    statuses[str(r.status_code)] += 1
                if r.status_code == 201:
                    with lock:
                        acked[name] = r.json()["id"]
                        pending.discard(name)
                    return
                if r.status_code == 503:
                    time.sleep(0.05)
                    continue
                raise SystemExit(f"{name}: {r.status_code} {r.text}")
            raise SystemExit(f"{name}: no replica stored it after 200 attempts")

        def client(n: int) -> None:
            clients = [httpx.Client(base_url=r.base, headers=headers, timeout=15) for r in replicas]
            i = 0
            while not stop.is_set():
                name = f"c{n}-{i}"
                i += 1
                with lock:
                    pending.add(name)
                submit(clients, name, n + i)
            for http in clients:
                http.close()

        threads = [threading.Thread(target=client, args=(n,)) for n in range(args.clients)]
        started = time.monotonic()
        for t in threads:
            t.start()
        # Durations, not waits: half the run under load, the killed replica down for 2 s while
        # the clients fail over to the other, then the rest of the run.
        time.sleep(args.seconds / 2)
        replicas[0].kill9()
        print(f"killed replica a with -9 after {time.monotonic() - started:.1f} s; "
              f"{len(acked)} acknowledged so far", flush=True)
        time.sleep(2)
        replicas[0].start()
        print(f"restarted replica a after {time.monotonic() - started:.1f} s", flush=True)
        time.sleep(max(0.0, args.seconds - (time.monotonic() - started)))
        stop.set()
        for t in threads:
            t.join()
        elapsed = time.monotonic() - started
        print(f"{len(acked)} submissions acknowledged in {elapsed:.1f} s by {args.clients} clients "
              f"({len(acked) / elapsed:.0f}/s); answers: {dict(statuses)}", flush=True)
        if pending:
            raise SystemExit(f"{len(pending)} submissions never answered: {sorted(pending)[:5]}")

        with httpx.Client(base_url=replicas[1].base, headers=headers, timeout=60) as http:
            # Every outbox item is delivered once the killed replica's leases expire.
            deadline = time.monotonic() + args.lease_ms / 1000 + 60
            while True:
                page = http.get("/v1/deployments", params={"state": "VALIDATED", "limit": 1}).json()
                if page["total"] == 0:
                    break
                if time.monotonic() > deadline:
                    raise SystemExit(f"{page['total']} deployments still wait for their dispatch")
                time.sleep(0.5)
            stored: dict[str, list[str]] = defaultdict(list)
            ids: set[str] = set()
            offset = 0
            while True:
                page = http.get("/v1/deployments", params={"limit": 200, "offset": offset}).json()
                for d in page["items"]:
                    ids.add(d["id"])
                    full = http.get(f"/v1/deployments/{d['id']}").json()
                    stored[full["intent"]["metadata"]["name"]].append(d["id"])
                if page["next_offset"] is None:
                    break
                offset = page["next_offset"]
            report = http.get("/v1/audit/verify").json()
        for r in replicas:
            r.stop()

    per_deployment: dict[str, set[str]] = defaultdict(set)
    count = Counter()
    for deployment, delivery in receiver.deliveries:
        per_deployment[deployment].add(delivery)
        count[deployment] += 1
    missing = [n for n, i in acked.items() if i not in stored.get(n, [])]
    duplicated = {n: v for n, v in stored.items() if len(v) > 1}
    unexpected = [n for n in stored if n not in acked]
    undelivered = sorted(ids - set(count))
    stray = sorted(set(count) - ids)
    twice = {d: n for d, n in count.items() if n > 1}
    other_ids = {d: v for d, v in per_deployment.items() if len(v) > 1}
    print(f"stored {len(ids)} deployments; ledger: {json.dumps(report)}")
    print(f"receiver: {len(receiver.deliveries)} deliveries of {len(count)} outbox items; "
          f"delivered again after the kill: {twice or 'none'}")
    ok = True
    for failed, message in [
        (missing, "acknowledged deployments are missing"),
        (duplicated, "intents (idempotency keys) were stored twice"),
        (unexpected, "stored intents were never sent"),
        (undelivered, "deployments never reached the receiver"),
        (stray, "deliveries name deployments that are not stored"),
        (other_ids, "items were delivered under different delivery ids"),
    ]:
        if failed:
            items = list(failed.items())[:5] if isinstance(failed, dict) else failed[:5]
            print(f"FAIL: {len(failed)} {message}: {items}")
            ok = False
    if len(twice) > 1:
        print(f"FAIL: {len(twice)} items were delivered more than once; one kill can leave at "
              f"most one delivered but unrecorded item: {twice}")
        ok = False
    if not report.get("ok"):
        print(f"FAIL: the ledger does not verify: {report.get('first_broken')}")
        ok = False
    if ok:
        print("replicas test passed: every acknowledged submission stored once across two "
              "replicas and a kill -9, ledger intact, every outbox item delivered")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
