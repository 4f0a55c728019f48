"""The engine is shared between threads and evaluation releases the GIL."""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import List, Tuple

from conftest import CONFORMANCE, POLICIES, load_case

from gatehouse import Engine


def test_threads_get_the_same_bytes(engine: Engine) -> None:
    jobs: List[Tuple[dict, str]] = []
    for path in sorted(CONFORMANCE.glob("*.json")):
        case = json.loads(path.read_text())
        if not case.get("bundle_overlay") and isinstance(case["intent"], dict):
            jobs.append((case, (CONFORMANCE / "golden" / path.name).read_text()))

    def run(job: Tuple[dict, str]) -> bool:
        case, golden = job
        context = case["context"]
        evaluate = engine.evaluate_gates if case.get("stage") == "gates" else engine.evaluate
        decision = evaluate(
            case["intent"],
            now=context["now"],
            history=context.get("history"),
            evidence=context.get("evidence"),
            approvals=context.get("approvals"),
        )
        return decision.to_json() + "\n" == golden

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(run, jobs * 4))
    assert len(results) == 4 * len(jobs) and all(results)


def test_evaluation_releases_the_gil() -> None:
    case = load_case("fail-closed-instruction-limit")
    runaway = Engine.from_directory(POLICIES, overlay=case["bundle_overlay"], time_limit=0.3)
    finished = threading.Event()

    def evaluate() -> None:
        runaway.evaluate(case["intent"], now=case["context"]["now"])
        finished.set()

    worker = threading.Thread(target=evaluate)
    worker.start()
    started = time.monotonic()
    ticks = [started]
    while not finished.is_set():
        time.sleep(0.001)
        ticks.append(time.monotonic())
    worker.join()
    # The runaway policy keeps the worker busy for at least the time limit; the main thread
    # meanwhile keeps running Python, which it could not if the worker held the GIL.
    assert ticks[-1] - started >= 0.3
    assert max(b - a for a, b in zip(ticks, ticks[1:])) < 0.1
