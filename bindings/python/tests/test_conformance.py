"""The whole conformance corpus through the Python API: the decision JSON must be the core's,
byte for byte (``policies/conformance/golden/<case>.json``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict

import pytest
from conftest import CONFORMANCE, POLICIES, TIME_LIMIT

from gatehouse import BundleError, Engine

CASES = sorted(CONFORMANCE.glob("*.json"))
CONTEXT_KEYS = {"now", "history", "evidence", "approvals"}


def test_the_corpus_is_there() -> None:
    assert len(CASES) >= 40


def evaluate_case(engine: Engine, case: Dict[str, Any], as_text: bool) -> str:
    context = case["context"]
    assert set(context) <= CONTEXT_KEYS, f"context keys the Python API does not pass: {set(context) - CONTEXT_KEYS}"
    intent = case["intent"]
    # A dict goes in as a dict; anything else (a schema case) as its JSON text.
    if as_text or not isinstance(intent, dict):
        intent = json.dumps(intent)
    stage = case.get("stage", "admission")
    assert stage in ("admission", "gates"), f"unknown stage `{stage}`"
    evaluate = engine.evaluate_gates if stage == "gates" else engine.evaluate
    decision = evaluate(
        intent,
        now=context["now"],
        history=context.get("history"),
        evidence=context.get("evidence"),
        approvals=context.get("approvals"),
    )
    return decision.to_json()


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_case(path: Path, engine: Engine) -> None:
    case = json.loads(path.read_text())
    want = case["want"]
    overlay = case.get("bundle_overlay", {})
    if "bundle_error" in want:
        with pytest.raises(BundleError) as info:
            Engine.from_directory(POLICIES, overlay=overlay, time_limit=TIME_LIMIT)
        assert info.value.code == want["bundle_error"]
        assert [e["code"] for e in info.value.errors()] == [want["bundle_error"]]
        return
    if overlay:
        engine = Engine.from_directory(POLICIES, overlay=overlay, time_limit=TIME_LIMIT)
    golden = (CONFORMANCE / "golden" / path.name).read_text()

    got = evaluate_case(engine, case, as_text=False)
    assert got + "\n" == golden

    decision = json.loads(got)
    assert decision["outcome"] == want["outcome"]
    assert sorted(e["code"] for e in decision["errors"]) == sorted(want.get("errors", []))
    # The dict and the JSON text of the same intent give the same bytes (for the runaway policy
    # once is enough).
    if path.stem != "fail-closed-instruction-limit":
        assert evaluate_case(engine, case, as_text=True) == got
