"""`gatehouse serve` on PostgreSQL when the database is wrong or goes away.

1. Start-up: an unreachable server, a database that does not exist, a user that does not
   exist and a malformed URL each stop `gatehouse serve` (and `gatehouse migrate`) with exit
   code 2 and a message that names the database (without its password) and the cause.
2. Loss while serving: clients submit while PostgreSQL is stopped for a few seconds and
   started again. Every answer is 201 or a 503 problem (`database_unavailable`, `not_ready`,
   `timeout`), never a 500 and never a hang; `/readyz` is 503 while the database is down and
   200 after; the server takes submissions again without a restart; every acknowledged
   submission is present and the ledger verifies.

Usage: database_test.py GATEHOUSE_BINARY --database-url postgres://.../db
       --stop-command "pg_ctl ... stop" --start-command "pg_ctl ... start" [--clients N]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Callable

import httpx

ROOT = Path(__file__).resolve().parents[3]
TOKEN = "database-test-admin"
sys.path.insert(0, str(Path(__file__).resolve().parent))
from replicas_test import intent  # noqa: E402


def wait_until(deadline: float, done: Callable[[], bool], every: float) -> bool:
    """Polls `done` every `every` seconds until it holds (True) or the `time.monotonic()`
    deadline passes (False): waiting for something to happen, not for a guessed time."""
    while not done():
        if time.monotonic() > deadline:
            return False
        time.sleep(every)
    return True


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def startup_errors(binary: str, url: str) -> bool:
    base, _, _ = url.rpartition("/")
    scheme, _, rest = base.partition("://")
    hostport = rest.rpartition("@")[2]
    ok = True
    cases = [
        ("an unreachable server", f"postgres://gatehouse:s3cret@127.0.0.1:{free_port()}/gatehouse",
         "Connection refused"),
        ("a missing database", f"{base}/no_such_database", 'database "no_such_database" does not exist'),
        ("an unknown user", f"{scheme}://nobody:s3cret@{hostport}/postgres", 'role "nobody" does not exist'),
        ("a malformed URL", "postgres://gatehouse:s3cret@127.0.0.1:port/gatehouse", "is not a PostgreSQL URL"),
    ]
    for name, db, cause in cases:
        for command in (["serve", "--listen", "127.0.0.1:0"], ["migrate"]):
            started = time.monotonic()
            run = subprocess.run([binary, *command, "--db", db], capture_output=True, text=True,
                                 timeout=60, cwd=ROOT)
            took = time.monotonic() - started
            error = [line for line in run.stderr.splitlines() if line.startswith("error:")]
            text = error[0] if error else run.stderr.strip()
            good = run.returncode == 2 and cause in text and "s3cret" not in run.stderr
            print(f"{'ok  ' if good else 'FAIL'} {command[0]} with {name}: exit {run.returncode} "
                  f"in {took:.1f} s: {text}")
            ok &= good
    return ok


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("binary")
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--stop-command", required=True)
    parser.add_argument("--start-command", required=True)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--down-seconds", type=float, default=4.0)
    args = parser.parse_args()

    ok = startup_errors(args.binary, args.database_url)

    headers = {"Authorization": f"Bearer {TOKEN}"}
    acked: dict[str, str] = {}
    statuses: Counter[str] = Counter()
    bad: list[str] = []
    lock = threading.Lock()
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        config = Path(tmp) / "config.toml"
        digest = hashlib.sha256(TOKEN.encode()).hexdigest()
        config.write_text(
            f'listen = "127.0.0.1:{port}"\ndatabase = "{args.database_url}"\n'
            f'policies = "{ROOT / "policies"}"\n'
            '[pipeline]\nsecret = "database-test-pipeline-secret"\n'
            "[postgres]\nconnect_timeout_ms = 2000\nacquire_timeout_ms = 2000\n"
            f'[[tokens]]\nname = "dev@example.com"\nrole = "admin"\nsha256 = "{digest}"\n'
        )
        log = open(Path(tmp) / "server.log", "ab")
        server = subprocess.Popen([args.binary, "serve", "--config", str(config)], stdout=log,
                                  stderr=log, cwd=ROOT, env={**os.environ, "RUST_LOG": "warn"})
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise SystemExit("the server did not become ready in 30 s")
                time.sleep(0.05)
            stop = threading.Event()

            def client(n: int) -> None:
                i = 0
                with httpx.Client(base_url=base, headers=headers, timeout=30) as http:
                    while not stop.is_set():
                        name = f"db{n}-{i}"
                        i += 1
                        started = time.monotonic()
                        r = http.post("/v1/deployments", json={"intent": intent(name)},
                                      headers={"Idempotency-Key": name})
                        took = time.monotonic() - started
                        with lock:
                            statuses[str(r.status_code)] += 1
                            if r.status_code == 201:
                                acked[name] = r.json()["id"]
                            elif (r.status_code != 503
                                  or r.headers.get("content-type") != "application/problem+json"
                                  or took > 20):
                                bad.append(f"{r.status_code} after {took:.1f} s: {r.text[:200]}")
                            else:
                                statuses[r.json()["code"]] += 1
                                time.sleep(0.1)

            threads = [threading.Thread(target=client, args=(n,)) for n in range(args.clients)]
            for t in threads:
                t.start()
            # Submissions under load before the database goes: a duration, not a wait.
            time.sleep(3)
            before = len(acked)
            subprocess.run(shlex.split(args.stop_command), check=True, capture_output=True)
            stopped = time.monotonic()
            print(f"database stopped after {before} acknowledged submissions", flush=True)

            def ready_is_down() -> bool:
                down = httpx.get(f"{base}/readyz", timeout=30)
                return down.status_code == 503 and down.json().get("code") == "not_ready"

            ready_down = wait_until(stopped + args.down_seconds, ready_is_down, every=0.2)
            # The database stays down for --down-seconds: that outage is what the clients meet.
            time.sleep(max(0.0, args.down_seconds - (time.monotonic() - stopped)))
            during = len(acked) - before
            subprocess.run(shlex.split(args.start_command), check=True, capture_output=True)
            print("database started again", flush=True)
            deadline = time.monotonic() + 30
            while httpx.get(f"{base}/readyz", timeout=30).status_code != 200:
                if time.monotonic() > deadline:
                    bad.append("/readyz never recovered")
                    break
                time.sleep(0.2)
            resumed = len(acked)
            wait_until(time.monotonic() + 30, lambda: len(acked) > resumed, every=0.1)
            stop.set()
            for t in threads:
                t.join()
            recovered = len(acked) > resumed
            with httpx.Client(base_url=base, headers=headers, timeout=60) as http:
                missing = [n for n, i in acked.items()
                           if http.get(f"/v1/deployments/{i}").status_code != 200]
                report = http.get("/v1/audit/verify").json()
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)

    print(f"answers: {dict(statuses)}; {during} acknowledged while the database was down")
    checks = [
        (not bad, f"answers other than 201 or a 503 problem: {bad[:5]}"),
        (ready_down, "/readyz was not 503 `not_ready` while the database was down"),
        (statuses["503"] > 0, "no request met the lost database (increase --down-seconds)"),
        (recovered, "no submission was acknowledged after the database came back"),
        (not missing, f"{len(missing)} acknowledged submissions are missing: {missing[:5]}"),
        (report.get("ok") is True, f"the ledger does not verify: {report}"),
    ]
    for good, message in checks:
        if not good:
            print(f"FAIL: {message}")
            ok = False
    if ok:
        print("database test passed: clear start-up errors (exit 2); while the database was down "
              "every write got a 503 problem and nothing acknowledged was lost; the server "
              "recovered without a restart")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
