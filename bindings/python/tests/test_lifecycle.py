"""Lifecycle helpers: starting and appending hash-chained events, replaying, the next-state
function."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import get_args

import pytest

from gatehouse import DeploymentStatus, _native, next_state, replay, start_deployment, verify_chain
from gatehouse.errors import IllegalTransitionError
from gatehouse.lifecycle import EventType, State


def test_a_deployment_from_request_to_success() -> None:
    status, first = start_deployment(
        "d-42", actor="alice@example.com", data={"intent_digest": "sha256:x"}, at="2026-11-23T10:00:00Z"
    )
    assert status == DeploymentStatus("d-42", "REQUESTED", 1, first["hash"], "2026-11-23T10:00:00Z")
    assert first["prev_hash"] == "0" * 64
    assert set(first) == {"seq", "deployment_id", "type", "at", "actor", "data", "prev_hash", "hash"}
    events = [first]
    for kind in ("validated", "started", "succeeded"):
        status, event = status.append(kind, actor="pipeline", at=datetime(2026, 11, 23, 10, 5, tzinfo=timezone.utc))
        assert event["prev_hash"] == events[-1]["hash"]
        assert event["data"] == {}
        events.append(event)
    assert status.state == "SUCCESS" and status.terminal
    assert status.last_seq == 4
    verify_chain(events)
    assert replay(events) == status
    assert status.to_dict() == {
        "deployment_id": "d-42",
        "state": "SUCCESS",
        "last_seq": 4,
        "last_hash": events[-1]["hash"],
        "last_at": "2026-11-23T10:05:00Z",
    }


def test_times_never_go_back() -> None:
    status, _ = start_deployment("d-1", actor="a", at="2026-11-23T10:00:00Z")
    status, event = status.append("cancelled", actor="a", at="2026-11-23T09:00:00Z")
    assert event["at"] == "2026-11-23T10:00:00Z"
    assert status.state == "CANCELLED"


def test_default_time_is_now() -> None:
    before = datetime.now(timezone.utc).replace(microsecond=0)
    _, event = start_deployment("d-1", actor="a")
    at = datetime.fromisoformat(event["at"].replace("Z", "+00:00"))
    assert before <= at <= datetime.now(timezone.utc)


@pytest.mark.parametrize(
    ("state", "event", "after"),
    [
        (None, "requested", "REQUESTED"),
        ("REQUESTED", "validated", "VALIDATED"),
        ("REQUESTED", "rejected", "REJECTED"),
        ("REQUESTED", "approval_required", "REQUESTED"),
        ("REQUESTED", "approval_recorded", "REQUESTED"),
        ("VALIDATED", "cancelled", "CANCELLED"),
        ("VALIDATED", "started", "IN_PROGRESS"),
        ("VALIDATED", "dispatched", "IN_PROGRESS"),
        ("IN_PROGRESS", "started", "IN_PROGRESS"),
        ("VALIDATED", "failed", "FAILED"),
        ("IN_PROGRESS", "failed", "FAILED"),
    ],
)
def test_next_state(state: str, event: str, after: str) -> None:
    assert next_state(state, event) == after  # type: ignore[arg-type]


def test_the_state_type_lists_the_cores_states() -> None:
    # `State` is a static type, so it spells the states; the native module's list comes from the
    # core, and this test fails when the two drift apart.
    spelled = [arg for literal in get_args(State) for arg in get_args(literal)]
    assert sorted(spelled) == sorted(_native.STATES)


@pytest.mark.parametrize("state", _native.STATES)
def test_terminal_means_no_event_is_accepted(state: str) -> None:
    status = DeploymentStatus("d-1", state, 1, "0" * 64, "2026-11-23T10:00:00Z")  # type: ignore[arg-type]
    accepted = []
    for event in get_args(EventType):
        (kind,) = get_args(event)
        try:
            next_state(status.state, kind)
            accepted.append(kind)
        except IllegalTransitionError:
            pass
    assert status.terminal == (not accepted), accepted
