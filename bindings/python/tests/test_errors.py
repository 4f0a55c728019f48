"""Every exception type, with its codes and records, and bad input of every kind."""

from __future__ import annotations

import hashlib
import json
import pickle
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, List

import pytest
from conftest import POLICIES, cases_with_outcome, load_case

from gatehouse import (
    BundleError,
    ChainError,
    ContextError,
    DeploymentStatus,
    Engine,
    GatehouseError,
    IllegalTransitionError,
    IntentError,
    LifecycleError,
    next_state,
    replay,
    start_deployment,
    verify_chain,
)

BROKEN_REGO = "package gatehouse.policies.zz_broken\n\ndeny contains x if {\n"


def intent() -> Dict[str, Any]:
    case: Dict[str, Any] = load_case(cases_with_outcome("allow")[0])
    return dict(case["intent"])


def test_hierarchy() -> None:
    for cls in (BundleError, IntentError, ContextError, LifecycleError):
        assert issubclass(cls, GatehouseError)
    for cls in (ChainError, IllegalTransitionError):
        assert issubclass(cls, LifecycleError)
    assert issubclass(GatehouseError, ValueError)


def test_records_are_copies_and_survive_pickling() -> None:
    with pytest.raises(BundleError) as info:
        Engine.from_directory(POLICIES / "no-such-bundle")
    error = info.value
    error.errors()[0]["code"] = "changed"
    assert error.code == "bundle_unreadable"
    again = pickle.loads(pickle.dumps(error))
    assert type(again) is BundleError
    assert (str(again), again.errors()) == (str(error), error.errors())


def test_missing_bundle_directory() -> None:
    missing = POLICIES / "no-such-bundle"
    with pytest.raises(BundleError) as info:
        Engine.from_directory(missing)
    (record,) = info.value.errors()
    assert record["code"] == "bundle_unreadable"
    assert str(missing) in record["message"]
    assert "help" in record


def test_empty_directory_has_no_manifest(tmp_path: Path) -> None:
    with pytest.raises(BundleError) as info:
        Engine.from_directory(tmp_path)
    assert info.value.code == "bundle_manifest_missing"


def test_broken_rego_points_at_the_file() -> None:
    with pytest.raises(BundleError) as info:
        Engine.from_directory(POLICIES, overlay={"rules/zz_broken.rego": BROKEN_REGO})
    (record,) = info.value.errors()
    assert record["code"] == "rego_parse"
    assert record["span"]["file"] == str(POLICIES / "rules" / "zz_broken.rego")
    assert record["span"]["line"] >= 3


def test_broken_rego_in_dicts() -> None:
    with pytest.raises(BundleError) as info:
        Engine(policies={"rules/zz_broken.rego": BROKEN_REGO})
    assert info.value.errors()[0]["span"]["file"] == "rules/zz_broken.rego"


@pytest.mark.parametrize(
    ("files", "code"),
    [
        ({"bundle.json": '{"name": "x", "revision": "1"}'}, "bundle_no_policies"),
        ({"bundle.json": "{", "a.rego": "package a"}, "bundle_invalid_json"),
        ({"bundle.json": '{"name": "x", "revision": "1"}', "notes.txt": ""}, "bundle_unexpected_file"),
        ({"bundle.json": '{"name": "x", "revision": "1"}', "../a.rego": ""}, "bundle_bad_path"),
    ],
)
def test_bundle_files_that_do_not_load(files: Dict[str, str], code: str) -> None:
    with pytest.raises(BundleError) as info:
        Engine.from_files(files)
    assert info.value.code == code


def test_dict_policies_take_only_rego() -> None:
    with pytest.raises(BundleError) as info:
        Engine(policies={"bundle.json": "{}"})
    assert info.value.code == "bundle_unexpected_file"


@pytest.mark.parametrize("limit", [0, -1.0, float("nan")])
def test_time_limit_must_be_positive(limit: float) -> None:
    with pytest.raises(ValueError, match="time_limit"):
        Engine.from_directory(POLICIES, time_limit=limit)


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("apiVersion: gatehouse.dev/v1\nspec: [1, 2\n", 3),  # invalid YAML
        ('{\n  "apiVersion": ,\n}', 2),  # invalid JSON
    ],
)
def test_unreadable_intent_text(engine: Engine, text: str, line: int) -> None:
    with pytest.raises(IntentError) as info:
        engine.evaluate(text, now="2026-11-23T12:00:00Z")
    (record,) = info.value.errors()
    assert record["code"] == "intent_syntax"
    assert record["span"]["line"] == line
    with pytest.raises(IntentError):
        engine.validate_intent(text)


def test_oversized_and_non_utf8_intents(engine: Engine) -> None:
    with pytest.raises(IntentError) as info:
        engine.evaluate(" " * (1024 * 1024 + 1))
    assert info.value.code == "intent_too_large"
    with pytest.raises(IntentError) as info:
        engine.evaluate(b'{"a": "\xff"}')
    assert info.value.code == "intent_syntax"


@pytest.mark.parametrize("bad", [["a list"], 42, None, 1.5])
def test_intent_must_be_a_dict_or_text(engine: Engine, bad: Any) -> None:
    with pytest.raises(TypeError, match="intent must be a dict"):
        engine.evaluate(bad)


def deep(levels: int) -> Dict[str, Any]:
    root: Dict[str, Any] = {}
    node = root
    for _ in range(levels):
        node["a"] = {}
        node = node["a"]
    return root


def cyclic() -> Dict[str, Any]:
    node: Dict[str, Any] = {}
    node["self"] = [node]
    return node


# Values a Python dict can hold that JSON cannot: each is an IntentError (a GatehouseError) whose
# message says what and where, and whose record has a code and a help text.
BAD_VALUES = [
    ({"n": 2**64}, "intent_value", "64-bit"),
    ({"n": -(2**63) - 1}, "intent_value", "64-bit"),
    ({"n": float("inf")}, "intent_value", "JSON cannot represent"),
    ({"n": float("nan")}, "intent_value", "JSON cannot represent"),
    ({"s": "x\ud800"}, "intent_value", "not valid Unicode"),
    ({"x\udfff": 1}, "intent_value", "not valid Unicode"),
    ({"at": datetime.now(timezone.utc)}, "intent_value", "only dict, list"),
    ({1: "x"}, "intent_value", "keys must be strings"),
    (deep(200), "intent_too_deep", "nested deeper than 128"),
    (cyclic(), "intent_too_deep", "nested deeper than 128"),
]


@pytest.mark.parametrize(("value", "code", "message"), BAD_VALUES)
def test_intent_values_must_be_json(engine: Engine, value: Dict[str, Any], code: str, message: str) -> None:
    for call in (engine.evaluate, engine.evaluate_gates, engine.validate_intent):
        with pytest.raises(IntentError, match=message) as info:
            call(value)
        assert info.value.code == code
        assert info.value.errors()[0].get("help")
        # Short enough to read: a deep path is cut, not repeated 128 times.
        assert len(str(info.value)) < 300, str(info.value)


def test_where_a_bad_value_is_is_named(engine: Engine) -> None:
    bad = intent()
    bad["spec"] = dict(bad["spec"], resources=[{"type": "a.b", "name": "x", "config": {"at": datetime.now(timezone.utc)}}])
    with pytest.raises(IntentError, match=r"`spec\.resources\[0\]\.config\.at`"):
        engine.evaluate(bad)


@pytest.mark.parametrize(
    ("context", "message"),
    [
        ({"evidence": {"n": float("nan")}}, "JSON cannot represent"),
        ({"evidence": {"n": 2**70}}, "64-bit"),
        ({"evidence": cyclic()}, "nested deeper"),
        ({"evidence": {"s": "\ud800"}}, "not valid Unicode"),
        ({"approvals": {"by": "bob@example.com", "role": "release-approver"}}, "`approvals` must be a list"),
        ({"history": {"deployment_id": "d-1"}}, "`history` must be a list"),
        ({"approvals": "bob@example.com"}, "`approvals` must be a list"),
    ],
)
def test_context_values_must_be_json(engine: Engine, context: Dict[str, Any], message: str) -> None:
    with pytest.raises(ContextError, match=message) as info:
        engine.evaluate(intent(), **context)
    assert info.value.errors()[0].get("help")


@pytest.mark.parametrize("empty", ["", "   \n", b"", "null", "~"])
def test_an_empty_intent_says_so(engine: Engine, empty: Any) -> None:
    decision = engine.evaluate(empty, now="2026-11-23T12:00:00Z")
    assert decision.outcome == "deny"
    (violation,) = decision.blocking
    assert "null" not in violation.message, violation.message
    assert "empty" in violation.message, violation.message


def test_lifecycle_data_must_be_json() -> None:
    with pytest.raises(LifecycleError, match="JSON cannot represent"):
        start_deployment("d-1", actor="a", data={"n": float("nan")})
    status, _ = start_deployment("d-1", actor="a")
    with pytest.raises(LifecycleError, match="nested deeper"):
        status.append("validated", actor="gatehouse", data=cyclic())


def test_schema_violations_are_a_decision_not_an_error(engine: Engine) -> None:
    decision = engine.evaluate('"deploy everything"', now="2026-11-23T12:00:00Z")
    assert decision.outcome == "deny"
    assert [v.policy for v in decision.violations] == ["schema.valid"]


@pytest.mark.parametrize(
    "context",
    [
        {"now": "yesterday"},
        {"history": [{"deployment_id": "d-1"}]},
        {"approvals": [{"by": "a@b.c"}]},
        {"approvals": [{"by": "a@b.c", "role": "r", "extra": 1}]},
        {"approvals": [{"by": "bob\u001b[2J@example.com", "role": "release-approver"}]},
        {"approvals": [{"by": "bob@example.com", "role": "release-approver", "source": "intent"}]},
    ],
)
def test_invalid_context(engine: Engine, context: Dict[str, Any]) -> None:
    with pytest.raises(ContextError) as info:
        engine.evaluate(intent(), **context)
    assert info.value.code == "context_invalid"
    assert "help" in info.value.errors()[0]


def test_time_of_the_wrong_type(engine: Engine) -> None:
    with pytest.raises(TypeError, match="a time must be"):
        engine.evaluate(intent(), now=1700000000)  # type: ignore[arg-type]


def canonical_hash(event: Dict[str, Any]) -> str:
    """The README's event hash: SHA-256 of the canonical JSON of the other fields."""
    body = {k: v for k, v in event.items() if k != "hash"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def chain() -> List[Dict[str, Any]]:
    status, first = start_deployment("d-1", actor="alice@example.com", at="2026-11-23T10:00:00Z")
    status, second = status.append("validated", actor="gatehouse", at="2026-11-23T10:00:01Z")
    status, third = status.append("started", actor="pipeline", at="2026-11-23T10:05:00Z")
    return [dict(first), dict(second), dict(third)]


def test_event_hash_is_documented() -> None:
    for event in chain():
        assert event["hash"] == canonical_hash(event)


@pytest.mark.parametrize(
    ("mutate", "code"),
    [
        (lambda es: es.__setitem__(1, dict(es[1], data={"forged": True})), "chain_hash"),
        (lambda es: es.__setitem__(slice(None), [es[0], es[2], es[1]]), "chain_sequence"),
        (lambda es: es.__setitem__(slice(None), []), "chain_empty"),
        (lambda es: es.__setitem__(2, dict(es[2], deployment_id="d-2")), "chain_deployment"),
    ],
)
def test_broken_chains(mutate: Any, code: str) -> None:
    events = chain()
    mutate(events)
    for check in (verify_chain, replay):
        with pytest.raises(ChainError) as info:
            check(events)
        assert info.value.code == code


def test_intact_chain_with_an_illegal_transition() -> None:
    events = chain()
    forged = dict(events[1], type="succeeded")
    forged["hash"] = canonical_hash(forged)
    third = dict(events[2], prev_hash=forged["hash"])
    third["hash"] = canonical_hash(third)
    verify_chain([events[0], forged, third])  # the links hold
    with pytest.raises(IllegalTransitionError) as info:
        replay([events[0], forged, third])
    assert info.value.code == "illegal_transition"


def test_illegal_transitions() -> None:
    with pytest.raises(IllegalTransitionError) as info:
        next_state("SUCCESS", "started")
    assert "terminal" in str(info.value)
    with pytest.raises(IllegalTransitionError):
        next_state(None, "validated")
    status = replay(chain())
    with pytest.raises(IllegalTransitionError):
        status.append("validated", actor="x")


def test_invalid_lifecycle_records() -> None:
    events = chain()
    del events[0]["hash"]
    with pytest.raises(LifecycleError) as info:
        verify_chain(events)
    assert type(info.value) is LifecycleError
    assert info.value.code == "event_invalid"
    with pytest.raises(LifecycleError) as info:
        next_state("REQUESTED", "deployed")  # type: ignore[arg-type]
    assert info.value.code == "event_invalid"
    with pytest.raises(LifecycleError) as info:
        next_state("DONE", "started")  # type: ignore[arg-type]
    assert info.value.code == "status_invalid"
    with pytest.raises(LifecycleError) as info:
        start_deployment("d-1", actor="a", at="yesterday")
    assert info.value.code == "timestamp_invalid"


def test_the_last_sequence_number_is_refused() -> None:
    status, _ = start_deployment("d-1", actor="a", at="2026-11-23T10:00:00Z")
    full = DeploymentStatus(**dict(status.to_dict(), last_seq=2**64 - 1))
    with pytest.raises(LifecycleError, match="sequence") as info:
        full.append("validated", actor="gatehouse")
    assert info.value.code == "event_sequence_exhausted"
    beyond = DeploymentStatus(**dict(status.to_dict(), last_seq=2**64))
    with pytest.raises(LifecycleError):
        beyond.append("validated", actor="gatehouse")
