"""``gatehouse.decision`` against the decision's JSON Schema that the core emits
(``docs/decision.schema.json``, ``gatehouse schema --decision``): every schema type has its Python
class, every property its field (same name, required exactly when the Python field has no default),
every enum its literal values; and every golden decision reads back through the typed classes to
the same JSON."""

from __future__ import annotations

import dataclasses
import json
import typing
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Tuple, Union

import pytest

from gatehouse import decision as d

REPO = Path(__file__).resolve().parents[3]
SCHEMA: Dict[str, Any] = json.loads((REPO / "docs" / "decision.schema.json").read_text())
GOLDEN = sorted((REPO / "policies" / "conformance" / "golden").glob("*.json"))
# A decision with a violation and an approval (no golden decision is truncated).
REFERENCE = REPO / "policies" / "conformance" / "golden" / "allow-prod-reference.json"

# Schema name (the Rust type) -> the Python class or literal alias that mirrors it.
CLASSES: Dict[str, Any] = {
    "Decision": d.Decision,
    "Violation": d.Violation,
    "ErrorDetail": d.ErrorRecord,
    "Span": d.Span,
    "ApprovalRecord": d.ApprovalRecord,
    "Truncated": d.Truncated,
    "BundleInfo": d.BundleInfo,
}
ENUMS: Dict[str, Any] = {
    "Outcome": d.Outcome,
    "Severity": d.Severity,
    "Enforcement": d.Enforcement,
    "ViolationStatus": d.ViolationStatus,
    "ApprovalSource": d.ApprovalSource,
}
MISSING = object()


def definitions() -> Dict[str, Dict[str, Any]]:
    """Every named schema of the document, the root as ``Decision``."""
    defs: Dict[str, Dict[str, Any]] = dict(SCHEMA["$defs"])
    defs["Decision"] = SCHEMA
    return defs


def literal_values(alias: Any) -> List[str]:
    """The strings of a union of literals."""
    return [value for arg in typing.get_args(alias) for value in typing.get_args(arg)]


def strip_optional(hint: Any) -> Tuple[Any, bool]:
    """``(T, True)`` for ``Optional[T]``, ``(hint, False)`` otherwise."""
    args = typing.get_args(hint)
    if typing.get_origin(hint) is Union and type(None) in args:
        rest = [a for a in args if a is not type(None)]
        return (rest[0] if len(rest) == 1 else Union[tuple(rest)]), True
    return hint, False


def fields_of(cls: Any) -> Dict[str, Tuple[Any, bool, Any]]:
    """Field name -> (type hint, has a default, the default). For :class:`Decision`, its public
    properties (a property is defaulted when it still answers for a JSON without that key)."""
    if dataclasses.is_dataclass(cls):
        hints = typing.get_type_hints(cls)
        return {
            f.name: (
                hints[f.name],
                f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING,
                f.default,
            )
            for f in dataclasses.fields(cls)
        }
    out: Dict[str, Tuple[Any, bool, Any]] = {}
    for name, member in vars(cls).items():
        if isinstance(member, property) and name in SCHEMA["properties"]:
            hint = typing.get_type_hints(member.fget, vars(d))["return"]
            answer = read_without(name)
            out[name] = (hint, answer is not MISSING, answer)
    return out


def read_without(key: str) -> Any:
    """What a :class:`Decision` whose JSON lacks ``key`` answers for that attribute (``MISSING``
    when it raises)."""
    data = json.loads(REFERENCE.read_text())
    data.pop(key, None)
    try:
        return getattr(d.Decision(json.dumps(data)), key)
    except KeyError:
        return MISSING


def expected_hint(prop: Mapping[str, Any]) -> Any:
    """The Python type a schema property maps to (``MISSING`` when any type goes)."""
    if "$ref" in prop:
        name = prop["$ref"].removeprefix("#/$defs/")
        return CLASSES.get(name, ENUMS.get(name))
    kind = prop.get("type")
    if kind == "string":
        return str
    if kind == "integer":
        return int
    if kind == "array":
        return Tuple[expected_hint(prop["items"]), ...]
    return MISSING


def test_every_schema_type_has_a_python_counterpart() -> None:
    assert set(definitions()) == set(CLASSES) | set(ENUMS)


@pytest.mark.parametrize("name", sorted(ENUMS))
def test_enum_values_agree(name: str) -> None:
    assert literal_values(ENUMS[name]) == definitions()[name]["enum"]


@pytest.mark.parametrize("name", sorted(CLASSES))
def test_fields_agree(name: str) -> None:
    schema = definitions()[name]
    fields = fields_of(CLASSES[name])
    properties: Dict[str, Any] = schema["properties"]
    assert sorted(fields) == sorted(properties), "fields and schema properties differ"
    required = set(schema.get("required", ()))
    for field_name, prop in properties.items():
        hint, defaulted, default = fields[field_name]
        assert defaulted == (field_name not in required), (
            f"{name}.{field_name}: schema says {'required' if field_name in required else 'optional'}"
        )
        want = expected_hint(prop)
        if want is MISSING:
            assert hint is Any, f"{name}.{field_name} holds any JSON value"
            continue
        inner, optional = strip_optional(hint)
        assert inner == want, f"{name}.{field_name}: {inner} != {want}"
        assert optional == (defaulted and default is None), (
            f"{name}.{field_name}: Optional exactly when absent means None"
        )


def dump(value: Any) -> Any:
    """A typed value back to the contract's JSON data (absent optional fields left out)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: dump(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if getattr(value, f.name) is not None
        }
    if isinstance(value, tuple):
        return [dump(item) for item in value]
    return value


def decision_data(decision: d.Decision) -> Dict[str, Any]:
    """Every typed attribute of ``decision``, as the contract's JSON data."""
    data: Dict[str, Any] = {}
    for name in SCHEMA["properties"]:
        value: Optional[Any] = getattr(decision, name)
        if value is None or (name == "approvals" and value == ()):
            continue
        data[name] = dump(value)
    return data


@pytest.mark.parametrize("path", GOLDEN, ids=[p.stem for p in GOLDEN])
def test_golden_decisions_round_trip(path: Path) -> None:
    text = path.read_text().rstrip("\n")
    decision = d.Decision(text)
    assert decision_data(decision) == json.loads(text)
    assert decision.to_json() == text

