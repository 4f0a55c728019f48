"""FastAPI integration: evaluate posted intents in-process and answer denials as problem responses.

::

    from fastapi import Depends, FastAPI
    from gatehouse import Decision, Engine
    from gatehouse.fastapi import Gatehouse

    gate = Gatehouse(Engine.from_directory("policies"))
    app = FastAPI()
    gate.install(app)                                   # problem+json for denials and errors
    app.include_router(gate.router(prefix="/gatehouse"))  # POST /evaluate, GET /schema, /policies

    @app.post("/deployments")
    async def deploy(decision: Decision = Depends(gate.require_allowed)):
        ...  # only reached when the posted intent is allowed

The request body is the intent, as JSON or YAML. Answers (``application/problem+json``, RFC 9457,
extended with the decision's fields: ``outcome``, ``violations``, ``errors``, ``bundle``,
``intent_digest``, ``evaluated_at``):

- ``deny`` → 403 ``.../policy-denied``;
- ``needs_approval`` where only ``allow`` may pass (:meth:`Gatehouse.require_allowed`) → 403
  ``.../approval-required``, with the ``required_roles``;
- an intent that breaks the schema → 422 ``.../invalid-intent``, its violations listing the fields;
- a body that is not JSON or YAML (:class:`~gatehouse.errors.IntentError`) → 422
  ``.../unreadable-intent`` with the error records; an invalid context → 422
  ``.../invalid-context``; an illegal lifecycle transition → 409 ``.../illegal-transition``; any
  other :class:`~gatehouse.errors.GatehouseError` → an opaque 500, its cause logged.
"""

from __future__ import annotations

import inspect
import logging
from dataclasses import asdict
from typing import Any, Awaitable, Callable, Dict, Mapping, Optional, Sequence, Union

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from gatehouse.decision import Decision
from gatehouse.engine import Engine
from gatehouse.errors import ContextError, GatehouseError, IllegalTransitionError, IntentError

__all__ = [
    "PROBLEM_JSON",
    "PROBLEM_TYPE_BASE",
    "ContextProvider",
    "Gatehouse",
    "PolicyProblem",
    "gatehouse_error_handler",
    "policy_problem_handler",
]

PROBLEM_JSON = "application/problem+json"
"""The media type of problem responses (RFC 9457)."""

PROBLEM_TYPE_BASE = "https://gatehouse.dev/problems/"
"""Prefix of the problem ``type`` URIs."""

ContextProvider = Callable[[Request], Union[Mapping[str, Any], Awaitable[Mapping[str, Any]]]]
"""Returns the evaluation context for a request, as keyword arguments of
:meth:`~gatehouse.Engine.evaluate` (``now``, ``history``, ``evidence``, ``approvals``); may be
async. Use it to pass the approvals and history the service keeps in its database."""

_SCHEMA_POLICY = "schema.valid"

logger = logging.getLogger("gatehouse")


class PolicyProblem(HTTPException):
    """A decision that stops the request. :meth:`Gatehouse.install` renders it as a problem
    response; without it FastAPI still answers with its status code."""

    def __init__(
        self,
        status_code: int,
        kind: str,
        title: str,
        detail: str,
        decision: Decision,
        extensions: Optional[Mapping[str, Any]] = None,
    ) -> None:
        super().__init__(status_code=status_code, detail=detail)
        self.kind = kind
        self.title = title
        self.decision = decision
        self.extensions: Dict[str, Any] = dict(extensions or {})

    @classmethod
    def for_decision(cls, decision: Decision, *, allow_pending: bool) -> Optional[PolicyProblem]:
        """The problem that ``decision`` raises, or ``None`` when it may pass: ``allow`` always
        passes, ``needs_approval`` only with ``allow_pending``."""
        if decision.outcome == "allow":
            return None
        blocking = decision.blocking
        if any(v.policy == _SCHEMA_POLICY for v in blocking):
            return cls(
                422,
                "invalid-intent",
                "Intent does not match the schema",
                f"{len(blocking)} schema violation(s): "
                + "; ".join(f"`{v.path}`: {v.message}" if v.path else v.message for v in blocking),
                decision,
            )
        if decision.outcome == "deny":
            policies = sorted({v.policy for v in blocking if v.status == "blocking"})
            parts = []
            if policies:
                parts.append(f"blocked by {', '.join(policies)}")
            if decision.errors:
                parts.append(f"{len(decision.errors)} evaluation error(s)")
            return cls(403, "policy-denied", "Deployment denied by policy", "; ".join(parts), decision)
        if allow_pending:
            return None
        roles = sorted({v.override_role for v in blocking if v.override_role})
        return cls(
            403,
            "approval-required",
            "Deployment needs approval",
            f"needs an approval in role(s) {', '.join(roles)} from someone other than the requester",
            decision,
            {"required_roles": roles},
        )

    def body(self) -> Dict[str, Any]:
        """The problem document: type, title, status, detail, the decision's fields and the
        extensions."""
        body: Dict[str, Any] = {
            "type": PROBLEM_TYPE_BASE + self.kind,
            "title": self.title,
            "status": self.status_code,
            "detail": self.detail,
        }
        body.update(self.decision.to_dict())
        body.update(self.extensions)
        return body


async def policy_problem_handler(request: Request, exc: Exception) -> Response:
    """Renders a :class:`PolicyProblem` as ``application/problem+json``."""
    if not isinstance(exc, PolicyProblem):
        raise exc
    return JSONResponse(exc.body(), status_code=exc.status_code, media_type=PROBLEM_JSON)


_ERROR_STATUS = (
    (IntentError, 422, "unreadable-intent", "Intent is not JSON or YAML"),
    (ContextError, 422, "invalid-context", "Evaluation context is invalid"),
    (IllegalTransitionError, 409, "illegal-transition", "Illegal lifecycle transition"),
)


async def gatehouse_error_handler(request: Request, exc: Exception) -> Response:
    """Renders a :class:`~gatehouse.errors.GatehouseError` as ``application/problem+json`` with its
    error records; errors that are not the caller's (a broken bundle or event chain) become an
    opaque 500 and are logged."""
    if not isinstance(exc, GatehouseError):
        raise exc
    for cls, status, kind, title in _ERROR_STATUS:
        if isinstance(exc, cls):
            body = {
                "type": PROBLEM_TYPE_BASE + kind,
                "title": title,
                "status": status,
                "detail": exc.message,
                "errors": exc.errors(),
            }
            return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON)
    logger.error("gatehouse error on %s %s: %r %s", request.method, request.url.path, exc, exc.errors())
    body = {
        "type": PROBLEM_TYPE_BASE + "internal",
        "title": "Internal error",
        "status": 500,
        "detail": "the policy engine failed; the cause is in the service's log",
    }
    return JSONResponse(body, status_code=500, media_type=PROBLEM_JSON)


class Gatehouse:
    """Gatehouse for one FastAPI app: dependencies that evaluate the posted intent, a router, and
    the exception handlers. Evaluation runs in the thread pool (it releases the GIL)."""

    def __init__(self, engine: Engine, *, context: Optional[ContextProvider] = None) -> None:
        self.engine = engine
        self._context = context

    async def _context_for(self, request: Request) -> Mapping[str, Any]:
        if self._context is None:
            return {}
        context = self._context(request)
        if inspect.isawaitable(context):
            return await context
        return context

    async def decision(self, request: Request) -> Decision:
        """Dependency: the decision for the posted intent, whatever its outcome. Raises
        :class:`~gatehouse.errors.IntentError` for a body that is not JSON or YAML."""
        body = await request.body()
        context = await self._context_for(request)
        return await run_in_threadpool(self._evaluate, body, context)

    def _evaluate(self, body: bytes, context: Mapping[str, Any]) -> Decision:
        return self.engine.evaluate(body, **context)

    async def require_allowed(self, request: Request) -> Decision:
        """Dependency: the decision when it is ``allow``; raises a :class:`PolicyProblem`
        (403 denied or approval required, 422 invalid intent) otherwise."""
        decision = await self.decision(request)
        problem = PolicyProblem.for_decision(decision, allow_pending=False)
        if problem is not None:
            raise problem
        return decision

    async def reject_denied(self, request: Request) -> Decision:
        """Dependency: the decision when it is ``allow`` or ``needs_approval``; raises a
        :class:`PolicyProblem` (403 denied, 422 invalid intent) on ``deny``."""
        decision = await self.decision(request)
        problem = PolicyProblem.for_decision(decision, allow_pending=True)
        if problem is not None:
            raise problem
        return decision

    def install(self, app: FastAPI) -> None:
        """Adds the exception handlers for :class:`PolicyProblem` and
        :class:`~gatehouse.errors.GatehouseError`."""
        app.add_exception_handler(PolicyProblem, policy_problem_handler)
        app.add_exception_handler(GatehouseError, gatehouse_error_handler)

    def router(self, *, prefix: str = "", tags: Sequence[str] = ("gatehouse",)) -> APIRouter:
        """``POST /evaluate`` (the decision's contract JSON: 200 for ``allow`` and
        ``needs_approval``, 403 problem for ``deny``, 422 problem for an invalid or unreadable
        intent), ``GET /schema`` (the intent JSON Schema) and ``GET /policies`` (the catalogue)."""
        router = APIRouter(prefix=prefix, tags=list(tags))
        problem = {"description": "Problem (RFC 9457)", "content": {PROBLEM_JSON: {}}}
        intent_body = {"type": "object", "description": "A DeploymentIntent (see GET /schema)"}

        async def evaluate(decision: Decision = Depends(self.reject_denied)) -> Response:
            return Response(decision.to_json(), media_type="application/json")

        async def schema() -> Dict[str, Any]:
            return self.engine.intent_schema()

        async def policies() -> Dict[str, Dict[str, Any]]:
            return {pid: asdict(policy) for pid, policy in self.engine.policies.items()}

        router.add_api_route(
            "/evaluate",
            evaluate,
            methods=["POST"],
            summary="Evaluate a deployment intent",
            response_class=Response,
            responses={
                200: {"description": "The decision (allow or needs_approval)", "content": {"application/json": {}}},
                403: problem,
                422: problem,
            },
            openapi_extra={
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {"schema": intent_body},
                        "application/yaml": {"schema": intent_body},
                    },
                }
            },
        )
        router.add_api_route("/schema", schema, methods=["GET"], summary="The intent JSON Schema")
        router.add_api_route("/policies", policies, methods=["GET"], summary="The policy catalogue")
        return router
