"""Typed views of the decision contract: :class:`Decision`, :class:`Violation` and friends.

A :class:`Decision` keeps the core's JSON text: :meth:`Decision.to_json` returns exactly the bytes
the CLI and every other front end return for the same intent, bundle and context. The typed
attributes are read from that text on first use.

A :class:`Decision` is also pydantic (and so FastAPI) data: a route may return one or declare
``response_model=Decision``; it serialises as the contract's JSON and is described in OpenAPI by
the contract's JSON Schema (``docs/decision.schema.json``, from the core). Validating one reads the
contract's JSON (text, bytes or a dict) or takes a :class:`Decision` as it is.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Dict, Literal, Mapping, Optional, Tuple, Union, cast

if TYPE_CHECKING:
    from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
    from pydantic_core import CoreSchema

__all__ = [
    "ApprovalRecord",
    "ApprovalSource",
    "BundleInfo",
    "Decision",
    "Enforcement",
    "ErrorRecord",
    "Outcome",
    "Policy",
    "PolicyStage",
    "SchemaError",
    "Severity",
    "Span",
    "Truncated",
    "Violation",
    "ViolationStatus",
]

# The literal aliases are unions of single literals (the same type to a type checker) so that
# `mypy.stubtest` can check them against the runtime objects.
Outcome = Union[
    Literal["allow"],
    Literal["needs_approval"],
    Literal["deny"],
]
"""The verdict."""
Severity = Union[
    Literal["low"],
    Literal["medium"],
    Literal["high"],
    Literal["critical"],
]
"""How bad a violation is."""
Enforcement = Union[
    Literal["advisory"],
    Literal["soft-mandatory"],
    Literal["hard-mandatory"],
]
"""What a violation does to the outcome, in the intent's environment."""
ViolationStatus = Union[
    Literal["blocking"],
    Literal["pending_approval"],
    Literal["advisory"],
    Literal["exempted"],
    Literal["overridden"],
]
"""What a violation does to this decision."""
ApprovalSource = Union[
    Literal["caller"],
    Literal["control_plane"],
    Literal["github_review"],
]
"""Who recorded an approval: the evaluating caller, the control plane's approvals endpoint, or a
pull request review read from the GitHub API."""
PolicyStage = Union[
    Literal["admission"],
    Literal["gates"],
]
"""When a policy is evaluated: when an intent is submitted (``gatehouse.policies.*``) or when a
pipeline reports success (``gatehouse.gates.*``)."""


@dataclass(frozen=True)
class Span:
    """A source position (1-based ``line`` and ``column``)."""

    file: str
    line: int
    column: int


@dataclass(frozen=True)
class ErrorRecord:
    """An evaluation error in a decision (any error denies): ``rego_error``, ``limit_exceeded``,
    ``undefined_result``, ``malformed_result``, ``malformed_violation``, ``unknown_policy``."""

    code: str
    message: str
    help: Optional[str] = None
    policy: Optional[str] = None
    path: Optional[str] = None
    span: Optional[Span] = None

    @classmethod
    def from_dict(cls, record: Mapping[str, Any]) -> ErrorRecord:
        """Reads one record of the contract's JSON shape."""
        span = record.get("span")
        return cls(
            code=record["code"],
            message=record["message"],
            help=record.get("help"),
            policy=record.get("policy"),
            path=record.get("path"),
            span=Span(**span) if span is not None else None,
        )


@dataclass(frozen=True)
class Violation:
    """One policy violation with the catalogue's metadata, and what lifted it, if anything."""

    policy: str
    """Policy id, e.g. ``tags.required``."""
    title: str
    severity: Severity
    enforcement: Enforcement
    status: ViolationStatus
    message: str
    path: str
    """Field path in the intent (``spec.resources[1].encrypted``); empty for the whole intent."""
    remediation: str
    override_role: Optional[str] = None
    """The role whose approval overrides it (soft-mandatory policies)."""
    exempted_by: Optional[str] = None
    expired_exemption: Optional[str] = None
    overridden_by: Optional[str] = None
    inherited_from: Optional[str] = None
    evidence: Any = None
    """The facts behind the violation (the value, the bound, the data entry that applied)."""

    @property
    def blocks(self) -> bool:
        """Whether it stops the deployment (denies, or waits for an approval)."""
        return self.status in ("blocking", "pending_approval")

    @classmethod
    def from_dict(cls, record: Mapping[str, Any]) -> Violation:
        """Reads one violation of the contract's JSON shape."""
        return cls(**record)

    def to_dict(self) -> Dict[str, Any]:
        """The contract's JSON shape (absent optional fields are left out)."""
        out: Dict[str, Any] = {}
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        return out


@dataclass(frozen=True)
class ApprovalRecord:
    """An approval a decision took into account, with who recorded it."""

    by: str
    role: str
    source: ApprovalSource
    at: Optional[str] = None
    comment: Optional[str] = None
    reference: Optional[str] = None
    """Where to see it: a review URL, a ledger event."""

    @classmethod
    def from_dict(cls, record: Mapping[str, Any]) -> ApprovalRecord:
        """Reads one approval of the contract's JSON shape."""
        return cls(**record)


@dataclass(frozen=True)
class Truncated:
    """How many violations and errors a decision left out of its lists (it lists at most 100 of
    each; the outcome counts them all)."""

    violations: int
    errors: int


@dataclass(frozen=True)
class BundleInfo:
    """The bundle that decided: manifest name and revision, and the digest over its files."""

    name: str
    revision: str
    digest: str


@dataclass(frozen=True)
class SchemaError:
    """One way an intent fails the intent schema."""

    path: str
    """Field path of the offending value; empty for the document itself."""
    message: str
    keyword: str
    """The schema keyword that failed (``required``, ``enum``, ``pattern``, ...)."""
    expected: Optional[str] = None
    """What the field should hold, from the schema's description."""


@dataclass(frozen=True)
class Policy:
    """A policy's catalogue metadata."""

    id: str
    title: str
    severity: Severity
    enforcement: Enforcement
    """Default enforcement level."""
    remediation: str
    enforcement_by_environment: Mapping[str, Enforcement] = field(default_factory=dict)
    override_role: Optional[str] = None
    description: Optional[str] = None
    stage: PolicyStage = "admission"

    def enforcement_in(self, environment: str) -> Enforcement:
        """The enforcement level that applies in ``environment``."""
        return self.enforcement_by_environment.get(environment, self.enforcement)


class Decision:
    """A governed decision: ``allow``, ``needs_approval`` or ``deny``, with every violation and
    evaluation error. Immutable; equal when their JSON is equal."""

    __slots__ = ("_json", "_outcome", "_parsed", "_violations", "_errors")

    __pydantic_serializer__: ClassVar[Any]
    """Set when pydantic is installed: how pydantic serialises a decision inside other data."""

    def __init__(self, json_text: str) -> None:
        """Reads a decision from its contract JSON (e.g. one stored earlier)."""
        parsed = json.loads(json_text)
        self._json = json_text
        self._outcome = cast(Outcome, parsed["outcome"])
        self._parsed: Optional[Dict[str, Any]] = parsed
        self._violations: Optional[Tuple[Violation, ...]] = None
        self._errors: Optional[Tuple[ErrorRecord, ...]] = None

    @classmethod
    def _from_core(cls, outcome: str, json_text: str) -> Decision:
        decision = cls.__new__(cls)
        decision._json = json_text
        decision._outcome = cast(Outcome, outcome)
        decision._parsed = None
        decision._violations = None
        decision._errors = None
        return decision

    def _data(self) -> Dict[str, Any]:
        if self._parsed is None:
            self._parsed = json.loads(self._json)
        return self._parsed

    @property
    def outcome(self) -> Outcome:
        """``allow``, ``needs_approval`` or ``deny``."""
        return self._outcome

    @property
    def allowed(self) -> bool:
        """Whether the deployment may proceed now (``outcome == "allow"``)."""
        return self._outcome == "allow"

    @property
    def violations(self) -> Tuple[Violation, ...]:
        """Every violation, sorted by policy, path and message."""
        if self._violations is None:
            self._violations = tuple(Violation.from_dict(v) for v in self._data()["violations"])
        return self._violations

    @property
    def blocking(self) -> Tuple[Violation, ...]:
        """The violations that stop the deployment (``blocking`` or ``pending_approval``)."""
        return tuple(v for v in self.violations if v.blocks)

    @property
    def errors(self) -> Tuple[ErrorRecord, ...]:
        """Evaluation errors; any error denies."""
        if self._errors is None:
            self._errors = tuple(ErrorRecord.from_dict(e) for e in self._data()["errors"])
        return self._errors

    @property
    def truncated(self) -> Optional[Truncated]:
        """What the lists above left out, if anything."""
        record = self._data().get("truncated")
        return Truncated(**record) if record is not None else None

    @property
    def approvals(self) -> Tuple[ApprovalRecord, ...]:
        """The approvals the decision took into account, each with its ``source``."""
        return tuple(ApprovalRecord.from_dict(a) for a in self._data().get("approvals", ()))

    @property
    def bundle(self) -> BundleInfo:
        """The bundle that decided."""
        return BundleInfo(**self._data()["bundle"])

    @property
    def intent_digest(self) -> str:
        """``sha256:<hex>`` of the intent's canonical JSON."""
        return cast(str, self._data()["intent_digest"])

    @property
    def evaluated_at(self) -> str:
        """The decision time (RFC 3339, UTC)."""
        return cast(str, self._data()["evaluated_at"])

    def to_json(self) -> str:
        """The decision as the core's compact JSON, byte for byte."""
        return self._json

    def to_dict(self) -> Dict[str, Any]:
        """The decision as plain JSON data (a fresh copy)."""
        return cast(Dict[str, Any], json.loads(self._json))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Decision) and other._json == self._json

    @classmethod
    def _validate(cls, value: Any) -> Decision:
        """A decision from what pydantic is given: a :class:`Decision`, or the contract's JSON as
        text, bytes or a dict (whose fields are checked for their presence and the outcome)."""
        if isinstance(value, Decision):
            return value
        if isinstance(value, (str, bytes, bytearray)):
            value = json.loads(value)
        if not isinstance(value, Mapping):
            raise ValueError(f"a decision is the contract's JSON object, not {type(value).__name__}")
        missing = sorted(_REQUIRED - set(value))
        if missing:
            raise ValueError(f"a decision needs the fields {', '.join(missing)}")
        if value["outcome"] not in ("allow", "needs_approval", "deny"):
            raise ValueError(f"`outcome` must be allow, needs_approval or deny, not {value['outcome']!r}")
        return cls(json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False))

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        from pydantic_core import core_schema

        to_dict: Callable[[Decision], Dict[str, Any]] = Decision.to_dict
        return core_schema.no_info_plain_validator_function(
            cls._validate,
            ref="gatehouse.Decision",
            serialization=core_schema.plain_serializer_function_ser_schema(to_dict),
        )

    @classmethod
    def __get_pydantic_json_schema__(cls, schema: CoreSchema, handler: GetJsonSchemaHandler) -> Dict[str, Any]:
        return decision_json_schema()

    def __hash__(self) -> int:
        return hash(self._json)

    def __repr__(self) -> str:
        return (
            f"<Decision {self._outcome}: {len(self.violations)} violation(s), "
            f"{len(self.errors)} error(s)>"
        )


_REQUIRED = frozenset(("outcome", "violations", "errors", "bundle", "intent_digest", "evaluated_at"))


def inline_defs(schema: Mapping[str, Any]) -> Dict[str, Any]:
    """``schema`` with every ``#/$defs/...`` reference replaced by the definition (the schema must
    not refer to itself), without ``$defs``, ``$schema`` and ``$id``: a schema that can sit
    anywhere in another document, such as an OpenAPI component."""
    defs: Mapping[str, Any] = schema.get("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                rest = {k: v for k, v in node.items() if k != "$ref"}
                return dict(resolve(defs[ref[len("#/$defs/"):]]), **resolve(rest))
            return {k: resolve(v) for k, v in node.items() if k not in ("$defs", "$schema", "$id")}
        if isinstance(node, list):
            return [resolve(item) for item in node]
        return node

    return cast(Dict[str, Any], resolve(schema))


_DECISION_SCHEMA: Optional[Dict[str, Any]] = None


def decision_json_schema() -> Dict[str, Any]:
    """The decision's JSON Schema, the core's (``docs/decision.schema.json``), with its
    definitions inlined (a fresh copy)."""
    global _DECISION_SCHEMA
    if _DECISION_SCHEMA is None:
        from gatehouse import _native

        _DECISION_SCHEMA = inline_defs(_native.decision_schema())
    return copy.deepcopy(_DECISION_SCHEMA)


def _pydantic_serializer() -> None:
    """Lets pydantic (and so FastAPI) serialise a :class:`Decision` found inside other data (a
    dict a route returns) as the contract's JSON, when pydantic is installed."""
    try:
        from pydantic_core import SchemaSerializer, core_schema
    except ImportError:
        return
    serialization = core_schema.plain_serializer_function_ser_schema(Decision.to_dict)
    setattr(Decision, "__pydantic_serializer__", SchemaSerializer(core_schema.any_schema(serialization=serialization)))


_pydantic_serializer()
