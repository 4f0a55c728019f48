"""Per-call overhead of the Python API over the Rust core, and 1 → 2 thread throughput.

Not a test: run it by hand against a release wheel (numbers from a debug wheel mean nothing)::

    .venv/bin/maturin build --release -m bindings/python/Cargo.toml -o target/wheels/release
    .venv/bin/pip install --force-reinstall --no-deps target/wheels/release/gatehouse-*.whl
    .venv/bin/pip install pyyaml   # reads the example intent the Rust benchmark uses
    .venv/bin/python bindings/python/bench.py

and compare with the Rust benchmark of the same intent text and time::

    cargo bench -p gatehouse-benches --bench decision

The core's figure is ``decision/prod_allowed``: intent JSON text in, decision JSON out, with the
examples' staging history.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
import timeit
from pathlib import Path
from typing import Callable

import yaml

from gatehouse import Engine

REPO = Path(__file__).resolve().parents[2]
NOW = "2026-11-23T12:00:00Z"


def per_call(label: str, fn: Callable[[], object], number: int) -> float:
    """Best of 5 runs of ``number`` calls, in microseconds per call."""
    best = min(timeit.repeat(fn, number=number, repeat=5)) / number * 1e6
    print(f"  {label:<46} {best:9.1f} µs/call")
    return best


def throughput(threads: int, fn: Callable[[], object], total: int) -> float:
    """Calls per second with ``total`` calls shared by ``threads`` threads, each calling in a loop
    (as the worker threads of a server do; a task per call on a ThreadPoolExecutor would add its
    queue and futures, Python code run under the GIL, to every call)."""
    per_thread = total // threads
    ready = threading.Barrier(threads + 1)

    def worker() -> None:
        for _ in range(4):  # warm up
            fn()
        ready.wait()
        for _ in range(per_thread):
            fn()

    workers = [threading.Thread(target=worker) for _ in range(threads)]
    for w in workers:
        w.start()
    ready.wait()
    start = time.perf_counter()
    for w in workers:
        w.join()
    return per_thread * threads / (time.perf_counter() - start)


def main() -> None:
    engine = Engine.from_directory(REPO / "policies")
    example = REPO / "policies" / "examples" / "payments-api-prod-allowed.yaml"
    intent = yaml.safe_load(example.read_text())
    # The Rust benchmark's text: serde_json's compact form with sorted keys.
    text = json.dumps(intent, sort_keys=True, separators=(",", ":"))
    # Production needs the artifact's staging success (release.promotion-path).
    history = json.loads((REPO / "policies" / "examples" / "history" / "deployments.json").read_text())
    # prod.four-eyes: the release approver's approval, as scripts/examples.sh passes it.
    approvals = json.loads((REPO / "policies" / "examples" / "history" / "approvals.json").read_text())
    decision = engine.evaluate(text, now=NOW, history=history, approvals=approvals)
    assert decision.outcome == "allow", decision.to_json()
    assert engine.evaluate(intent, now=NOW, history=history, approvals=approvals) == decision
    native = getattr(engine, "_native")

    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cpus, bundle {engine.bundle_digest}")
    n = 2000
    base = per_call("_native.evaluate(text)", lambda: native.evaluate(text, {"now": NOW, "history": history, "approvals": approvals}), n)
    per_call("Engine.evaluate(text, now=NOW).to_json()", lambda: engine.evaluate(text, now=NOW, history=history, approvals=approvals).to_json(), n)
    per_call("Engine.evaluate(dict, now=NOW).to_json()", lambda: engine.evaluate(intent, now=NOW, history=history, approvals=approvals).to_json(), n)
    per_call(
        "Engine.evaluate(json.dumps(dict), now=NOW)",
        lambda: engine.evaluate(json.dumps(intent), now=NOW, history=history, approvals=approvals).to_json(),
        n,
    )
    per_call("Engine.evaluate(text) (clock read)", lambda: engine.evaluate(text, history=history, approvals=approvals).to_json(), n)
    per_call("... + .violations (typed objects)", lambda: engine.evaluate(text, now=NOW, history=history, approvals=approvals).violations, n)
    per_call("json.dumps(dict) alone", lambda: json.dumps(intent), n * 10)
    print(f"  (the core alone: see `cargo bench`; _native.evaluate(text) = {base:.1f} µs)")

    def call() -> object:
        return engine.evaluate(intent, now=NOW, history=history, approvals=approvals)

    # One and two threads in turn, three times, so that both see the same machine; the median of
    # the three ratios is the figure (BENCHMARKS.md: "Python, 2 threads vs 1").
    total = 4000
    runs = []
    for _ in range(3):
        one = throughput(1, call, total)
        two = throughput(2, call, total)
        runs.append((one, two))
    for one, two in runs:
        print(f"  throughput 1 thread {one:9.0f} decisions/s, 2 threads {two:9.0f} decisions/s ({two / one:.2f}x)")
    ratio = sorted(two / one for one, two in runs)[1]
    print(f"  2 threads vs 1: {ratio:.2f}x (median of {len(runs)})")


if __name__ == "__main__":
    main()
