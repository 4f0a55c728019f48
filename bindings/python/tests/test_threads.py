"""The engine is shared between threads and evaluation releases the GIL."""

from __future__ import annotations

import json
import threading
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
    runaway = Engine.from_directory(POLICIES, overlay=case["bundle_overlay"], time_limit=1.0)
    finished = threading.Event()

    def evaluate() -> None:
        runaway.evaluate(case["intent"], now=case["context"]["now"])
        finished.set()

    worker = threading.Thread(target=evaluate)
    worker.start()
    # The runaway policy keeps the worker inside Rust until the time limit. Were the GIL held
    # there, the main thread could run Python only before the call begins and after it ends (a
    # turn or two); with the GIL released it keeps taking turns the whole time. The count of
    # turns is what is asserted, not a duration, so a loaded machine cannot fail it.
    turns = 0
    while not finished.is_set():
        turns += 1
        finished.wait(0.001)
    worker.join()
    assert turns >= 10, f"the main thread ran only {turns} times while Rust evaluated"
