"""The deployment lifecycle and its hash-chained events, for services that keep the events in
their own database.

States ``REQUESTED``, ``VALIDATED``, ``REJECTED``, ``IN_PROGRESS``, ``SUCCESS``, ``FAILED``,
``CANCELLED``. Each event is a plain dict ``{seq, deployment_id, type, at, actor, data, prev_hash,
hash}`` (store it as JSON); ``hash`` covers the other fields and ``prev_hash`` names the previous
event, so changing, reordering or dropping a stored event (except the newest) breaks the chain.
Keep :attr:`DeploymentStatus.last_hash` (the deployment's ETag) to detect a dropped newest event.

::

    status, first = start_deployment("d-42", actor="alice@example.com", data={"decision": ...})
    status, second = status.append("validated", actor="gatehouse")
    assert replay([first, second]) == status
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Dict, Iterable, Literal, Mapping, Optional, Tuple, TypedDict, Union, cast

from gatehouse import _native
from gatehouse._time import TimeLike, rfc3339

__all__ = [
    "DeploymentStatus",
    "Event",
    "EventType",
    "State",
    "next_state",
    "replay",
    "start_deployment",
    "verify_chain",
]

# Unions of single literals, as in `gatehouse.decision`, so `mypy.stubtest` can check them.
State = Union[
    Literal["REQUESTED"],
    Literal["VALIDATED"],
    Literal["REJECTED"],
    Literal["IN_PROGRESS"],
    Literal["SUCCESS"],
    Literal["FAILED"],
    Literal["CANCELLED"],
]
"""Where a deployment is (the core's states: ``gatehouse._native.STATES``, which a test checks
against this list)."""

EventType = Union[
    Literal["requested"],
    Literal["validated"],
    Literal["rejected"],
    Literal["approval_required"],
    Literal["approval_recorded"],
    Literal["dispatched"],
    Literal["started"],
    Literal["succeeded"],
    Literal["failed"],
    Literal["cancelled"],
]
"""What happened."""

Event = TypedDict(
    "Event",
    {
        "seq": int,
        "deployment_id": str,
        "type": EventType,
        "at": str,
        "actor": str,
        "data": Any,
        "prev_hash": str,
        "hash": str,
    },
)
"""One immutable lifecycle event, in the JSON shape the CLI's ``events verify`` reads."""


@dataclass(frozen=True)
class DeploymentStatus:
    """A deployment's state folded from its events: enough to append the next one."""

    deployment_id: str
    state: State
    last_seq: int
    """``seq`` of the newest event."""
    last_hash: str
    """``hash`` of the newest event: the deployment's ETag."""
    last_at: str
    """Time of the newest event (RFC 3339)."""

    @classmethod
    def _from_core(cls, status: Mapping[str, Any]) -> DeploymentStatus:
        return cls(**status)

    @property
    def terminal(self) -> bool:
        """Whether the state accepts no more events."""
        return self.state in _native.TERMINAL_STATES

    def append(
        self,
        event_type: EventType,
        *,
        actor: str,
        data: Any = None,
        at: TimeLike = None,
    ) -> Tuple[DeploymentStatus, Event]:
        """Builds the next hash-chained event and the status it leads to. ``data`` defaults to
        ``{}``; ``at`` to the current UTC time, and a time earlier than the newest event's is
        raised to it. Raises :class:`~gatehouse.errors.IllegalTransitionError` when the state does
        not accept ``event_type``."""
        status, event = _native.append_event(
            self.to_dict(), event_type, rfc3339(at), actor, {} if data is None else data
        )
        return DeploymentStatus._from_core(status), cast(Event, event)

    def to_dict(self) -> Dict[str, Any]:
        """The status as plain JSON data."""
        return asdict(self)


def start_deployment(
    deployment_id: str, *, actor: str, data: Any = None, at: TimeLike = None
) -> Tuple[DeploymentStatus, Event]:
    """Starts a deployment: its first (``requested``) event and the ``REQUESTED`` status.
    ``data`` defaults to ``{}``; ``at`` to the current UTC time."""
    status, event = _native.start_deployment(
        deployment_id, rfc3339(at), actor, {} if data is None else data
    )
    return DeploymentStatus._from_core(status), cast(Event, event)


def verify_chain(events: Iterable[Mapping[str, Any]]) -> None:
    """Checks one deployment's chain: ``seq`` runs from 1, one deployment id, each ``prev_hash``
    names the previous hash, each hash matches its event, time never goes back. Raises
    :class:`~gatehouse.errors.ChainError` for the first broken link and
    :class:`~gatehouse.errors.LifecycleError` for a record that is not an event."""
    _native.verify_chain([dict(e) for e in events])


def replay(events: Iterable[Mapping[str, Any]]) -> DeploymentStatus:
    """Verifies a chain (as :func:`verify_chain`) and folds it into the deployment's status,
    checking every transition: raises :class:`~gatehouse.errors.IllegalTransitionError` for an
    intact chain with an illegal transition. Catch :class:`~gatehouse.errors.LifecycleError`
    for both."""
    return DeploymentStatus._from_core(_native.replay([dict(e) for e in events]))


def next_state(state: Optional[State], event_type: EventType) -> State:
    """The state after ``event_type`` from ``state`` (``None`` before the first event). Raises
    :class:`~gatehouse.errors.IllegalTransitionError` when the state does not accept it."""
    return cast(State, _native.next_state(state, event_type))
