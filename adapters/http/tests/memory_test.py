"""Memory of `gatehouse serve` under a burst of large evaluations (issue 21, "Memory follows the
number of waiting requests"): one requester's token sends N concurrent 0.8 MB `POST /v1/evaluate`
requests whose intents hold 400,000 array items (schema-valid nested resource config), then a
burst of 1 MB bodies of few values; the server's peak (VmHWM) and what it holds afterwards
(VmRSS, once the burst is answered and the server had a moment to return memory) are read from
/proc and checked against generous bounds. Every request must be answered (200, 408, 413
`too_many_items`, 503 `overloaded` or `timeout`), never left hanging or answered 500.

Measured on the debug binary (2 cores, 2026-12-07): with the defaults, peak 80-83 MB for the
400k-item bursts (all 413) and 129-141 MB for the 1 MiB bursts; with `--limits "json_items =
10000000;body_bytes_in_flight = 1073741824;body_bytes_in_flight_per_client = 1073741824"` (no
item limit, no budget: the behaviour before), peak 545 MB (48) and 970 MB (96), held 290-382 MB.

Usage: memory_test.py GATEHOUSE_BINARY [--bursts 48,96] [--max-peak-mb N] [--max-held-mb N]
Prints one line per burst: requests, answers by status, peak and held MB.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[3]
TOKEN = "memory-test-requester"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def intent(config: dict) -> dict:
    return {
        "apiVersion": "gatehouse.dev/v1",
        "kind": "DeploymentIntent",
        "metadata": {"name": "memory", "requested_by": "erin@example.com"},
        "spec": {
            "service": "web-frontend",
            "version": "2.0.0",
            "artifact": "ghcr.io/acme/web-frontend@sha256:"
            "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
            "environment": "dev",
            "target": {"cloud": "aws", "account": "555555555555", "region": "us-west-2"},
            "resources": [
                {"type": "compute.instance", "name": "web", "size": "t3.small", "count": 1, "config": config}
            ],
            "tags": {"owner": "team-web", "cost-center": "CC-2001", "data-classification": "internal"},
            "estimated_monthly_cost": 120,
            "strategy": "rolling",
        },
    }


def many_items() -> bytes:
    """0.8 MB: 40 keys of 100 lists of 100 zeros, 400,000 items, within every per-list cap."""
    config = {f"k{i}": [[0] * 100 for _ in range(100)] for i in range(40)}
    return json.dumps({"intent": intent(config)}, separators=(",", ":")).encode()


def few_large_values() -> bytes:
    """Just under 1 MiB in 100 strings of 10,000 characters."""
    config = {f"k{i}": "x" * 10_000 for i in range(100)}
    return json.dumps({"intent": intent(config)}, separators=(",", ":")).encode()


def status_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/{pid}/status")


def reset_peak(pid: int) -> None:
    """Resets VmHWM to the current RSS (Linux 4.0+: write 5 to clear_refs)."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


def burst(base: str, body: bytes, n: int) -> Counter:
    answers: Counter = Counter()
    lock = threading.Lock()
    start = threading.Barrier(n)

    def one() -> None:
        with httpx.Client(timeout=120) as client:
            start.wait()
            try:
                r = client.post(
                    f"{base}/v1/evaluate",
                    content=body,
                    headers={"authorization": f"Bearer {TOKEN}", "content-type": "application/json"},
                )
                key = str(r.status_code)
                if r.status_code >= 400:
                    key += " " + r.json().get("code", "?")
            except httpx.HTTPError as e:
                key = f"error {type(e).__name__}"
        with lock:
            answers[key] += 1

    threads = [threading.Thread(target=one) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return answers


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("binary")
    parser.add_argument("--bursts", default="48,96")
    parser.add_argument("--max-peak-mb", type=int, default=300)
    parser.add_argument("--max-held-mb", type=int, default=200)
    parser.add_argument(
        "--limits",
        default="",
        help='extra [limits] TOML, e.g. "json_items = 10000000" to measure without a limit',
    )
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp())
    port = free_port()
    (work / "config.toml").write_text(
        f'listen = "127.0.0.1:{port}"\n'
        f'database = "{work}/gatehouse.db"\n'
        f'policies = "{ROOT}/policies"\n'
        "[pipeline]\n"
        'secret = "memory-test-pipeline-secret"\n'
        "[[tokens]]\n"
        'name = "dev@example.com"\n'
        'role = "requester"\n'
        f'sha256 = "{hashlib.sha256(TOKEN.encode()).hexdigest()}"\n'
        "[limits]\n" + args.limits.replace(";", "\n") + "\n"
    )
    server = subprocess.Popen(
        [args.binary, "serve", "--config", str(work / "config.toml")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    failures = []
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the server did not become ready")
            time.sleep(0.1)
        print(f"[memory] at rest: {status_kb(server.pid, 'VmRSS') // 1024} MB", flush=True)
        payloads = {"400k items": many_items(), "1 MiB of strings": few_large_values()}
        for name, body in payloads.items():
            for n in (int(x) for x in args.bursts.split(",")):
                reset_peak(server.pid)
                answers = burst(base, body, n)
                peak = status_kb(server.pid, "VmHWM") // 1024
                # What the server holds once the burst is over: a moment to return memory.
                time.sleep(2)
                held = status_kb(server.pid, "VmRSS") // 1024
                print(
                    f"[memory] {n} x {len(body) / 1e6:.2f} MB ({name}): {dict(sorted(answers.items()))};"
                    f" peak {peak} MB, held {held} MB",
                    flush=True,
                )
                answered = {"200", "408 body_timeout", "413 too_many_items", "503 overloaded", "503 timeout"}
                if set(answers) - answered:
                    failures.append(f"{name} x{n}: unexpected answers {dict(answers)}")
                if peak > args.max_peak_mb:
                    failures.append(f"{name} x{n}: peak {peak} MB > {args.max_peak_mb} MB")
                if held > args.max_held_mb:
                    failures.append(f"{name} x{n}: held {held} MB > {args.max_held_mb} MB")
        if server.poll() is not None:
            failures.append(f"the server exited with {server.returncode}")
    finally:
        server.terminate()
        server.wait(timeout=30)
    for f in failures:
        print(f"[memory] FAIL: {f}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
