"""Typed views of the decision contract: :class:`Decision`, :class:`Violation` and friends.

A :class:`Decision` keeps the core's JSON text: :meth:`Decision.to_json` returns exactly the bytes
the CLI and every other front end return for the same intent, bundle and context. The typed
attributes are read from that text on first use.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Dict, Literal, Mapping, Optional, Tuple, Union, cast

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

    def __hash__(self) -> int:
        return hash(self._json)

    def __repr__(self) -> str:
        return (
            f"<Decision {self._outcome}: {len(self.violations)} violation(s), "
            f"{len(self.errors)} error(s)>"
        )
