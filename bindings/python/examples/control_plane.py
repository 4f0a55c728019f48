"""A small deployment control plane on FastAPI with Gatehouse in-process.

Run it from the repository root (after ``pip install ./bindings/python fastapi uvicorn``)::

    uvicorn control_plane:create_app --factory --app-dir bindings/python/examples

    curl -s localhost:8000/deployments -H 'content-type: application/yaml' \\
        --data-binary @policies/examples/<intent>.yaml

Endpoints:

- ``POST /gatehouse/evaluate``, ``GET /gatehouse/schema``, ``GET /gatehouse/policies``: the
  Gatehouse router.
- ``POST /deployments``: evaluates the posted intent (JSON or YAML); ``deny`` → 403 problem,
  invalid → 422 problem; otherwise records the deployment's first events (``requested``, then
  ``validated`` or ``approval_required``) and answers 201 with its state and ETag.
- ``POST /deployments/{id}/events``: appends a lifecycle event (``started``, ``succeeded``, ...);
  an illegal transition → 409 problem.
- ``GET /deployments/{id}``: replays and verifies the deployment's hash chain.
- ``POST /preflight``: a pipeline gate that only an ``allow`` decision passes.

The events live in a dict here; a real service keeps them in its database.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any, Dict, List, Optional

from fastapi import Depends, FastAPI, HTTPException
from pydantic import BaseModel

from gatehouse import Decision, Engine, Event, EventType, replay, start_deployment
from gatehouse.fastapi import ContextProvider, Gatehouse

DEFAULT_POLICIES = Path(__file__).resolve().parents[3] / "policies"
"""The repository's reference bundle; ``GATEHOUSE_POLICIES`` overrides it."""


class EventIn(BaseModel):
    """A lifecycle event posted by the pipeline or an operator."""

    type: EventType
    actor: str
    data: Dict[str, Any] = {}


def create_app(
    policies: Optional[Path] = None, *, context: Optional[ContextProvider] = None
) -> FastAPI:
    """The app, with the bundle in ``policies`` (default: ``GATEHOUSE_POLICIES`` or the
    repository's ``policies/``) and an optional evaluation context provider."""
    bundle = policies or Path(os.environ.get("GATEHOUSE_POLICIES", DEFAULT_POLICIES))
    gate = Gatehouse(Engine.from_directory(bundle), context=context)
    app = FastAPI(title="Example control plane")
    gate.install(app)
    app.include_router(gate.router(prefix="/gatehouse"))
    events: Dict[str, List[Event]] = {}

    def chain(deployment_id: str) -> List[Event]:
        if deployment_id not in events:
            raise HTTPException(404, f"no deployment `{deployment_id}`")
        return events[deployment_id]

    @app.post("/deployments", status_code=201)
    async def request_deployment(
        decision: Decision = Depends(gate.reject_denied),
    ) -> Dict[str, Any]:
        deployment_id = f"d-{uuid.uuid4().hex[:12]}"
        status, requested = start_deployment(
            deployment_id, actor="control-plane", data={"intent_digest": decision.intent_digest}
        )
        kind: EventType = "validated" if decision.allowed else "approval_required"
        status, decided = status.append(
            kind, actor="gatehouse", data={"decision": decision.to_dict()}
        )
        events[deployment_id] = [requested, decided]
        return {
            "deployment_id": deployment_id,
            "state": status.state,
            "etag": status.last_hash,
            "decision": decision.to_dict(),
        }

    @app.post("/deployments/{deployment_id}/events")
    async def append_event(deployment_id: str, event: EventIn) -> Dict[str, Any]:
        stored = chain(deployment_id)
        status, new = replay(stored).append(event.type, actor=event.actor, data=event.data)
        stored.append(new)
        return {"state": status.state, "etag": status.last_hash, "event": new}

    @app.get("/deployments/{deployment_id}")
    async def get_deployment(deployment_id: str) -> Dict[str, Any]:
        stored = chain(deployment_id)
        status = replay(stored)
        return {"state": status.state, "etag": status.last_hash, "events": stored}

    @app.post("/preflight")
    async def preflight(decision: Decision = Depends(gate.require_allowed)) -> Dict[str, Any]:
        return {"go": True, "intent_digest": decision.intent_digest}

    app.state.events = events
    return app


if __name__ == "__main__":
    import uvicorn

    uvicorn.run(create_app())
