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
    async def deploy(decision: Decision = Depends(gate.require_allowed)) -> Decision:
        return decision  # only reached when the posted intent is allowed; a Decision is FastAPI data

The request body is the intent, as JSON or YAML, of at most
:data:`~gatehouse.MAX_INTENT_BYTES`: a longer declared ``Content-Length`` is refused before
reading, and a body without one is read only up to the limit (413 ``.../intent-too-large``).
With :meth:`Gatehouse.install`, the OpenAPI document shows every route guarded by the
dependencies with the intent as its request body and these answers, so ``/docs`` can send one.
Answers (``application/problem+json``, RFC 9457,
extended with the decision's fields: ``outcome``, ``violations``, ``errors``, ``bundle``,
``intent_digest``, ``evaluated_at``):

- ``deny`` → 403 ``.../policy-denied``;
- ``needs_approval`` where only ``allow`` may pass (:meth:`Gatehouse.require_allowed`) → 403
  ``.../approval-required``, with the ``required_roles``;
- an intent that breaks the schema → 422 ``.../invalid-intent``, its violations listing the fields;
- a body over :data:`~gatehouse.MAX_INTENT_BYTES` → 413 ``.../intent-too-large``;
- a body that is not JSON or YAML (:class:`~gatehouse.errors.IntentError`) → 422
  ``.../unreadable-intent`` with the error records; an invalid context → 422
  ``.../invalid-context``; an illegal lifecycle transition → 409 ``.../illegal-transition``; any
  other :class:`~gatehouse.errors.GatehouseError` → an opaque 500, its cause logged.
"""

from __future__ import annotations

import inspect
import logging
from dataclasses import asdict
from typing import Any, Awaitable, Callable, Dict, Iterator, Mapping, Optional, Sequence, Tuple, Type, Union

import fastapi.routing
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request
from fastapi.dependencies.models import Dependant
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool

from gatehouse import _native
from gatehouse.decision import Decision
from gatehouse.engine import MAX_INTENT_BYTES, Engine
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

PROBLEM_TYPE_BASE: str = _native.PROBLEM_TYPE_BASE
"""Prefix of the problem ``type`` URIs, the same as the HTTP server's (from the core)."""

ContextProvider = Callable[[Request], Union[Mapping[str, Any], Awaitable[Mapping[str, Any]]]]
"""Returns the evaluation context for a request, as keyword arguments of
:meth:`~gatehouse.Engine.evaluate` (``now``, ``history``, ``evidence``, ``approvals``); may be
async. Use it to pass the approvals and history the service keeps in its database."""

_SCHEMA_POLICY: str = _native.SCHEMA_POLICY

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


_TOO_LARGE = "intent_too_large"

_ERROR_STATUS: Tuple[Tuple[Type[GatehouseError], int, str, str], ...] = (
    (ContextError, 422, "invalid-context", "Evaluation context is invalid"),
    (IllegalTransitionError, 409, "illegal-transition", "Illegal lifecycle transition"),
)


async def gatehouse_error_handler(request: Request, exc: Exception) -> Response:
    """Renders a :class:`~gatehouse.errors.GatehouseError` as ``application/problem+json`` with its
    error records; errors that are not the caller's (a broken bundle or event chain) become an
    opaque 500 and are logged."""
    if not isinstance(exc, GatehouseError):
        raise exc
    statuses = _ERROR_STATUS
    if isinstance(exc, IntentError):
        if exc.code == _TOO_LARGE:
            statuses = ((IntentError, 413, "intent-too-large", "Intent is too large"),)
        else:
            statuses = ((IntentError, 422, "unreadable-intent", "Intent is not JSON or YAML"),)
    for cls, status, kind, title in statuses:
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
        :class:`~gatehouse.errors.IntentError` for a body that is not JSON or YAML, or that is
        longer than :data:`~gatehouse.MAX_INTENT_BYTES` (``intent_too_large``: by its
        ``Content-Length`` before reading, else as soon as the limit is passed)."""
        body = await _read_intent(request)
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
        :class:`~gatehouse.errors.GatehouseError`, and documents in the app's OpenAPI document
        every route that depends on :meth:`decision`, :meth:`require_allowed` or
        :meth:`reject_denied` (routes added later included): its request body is the intent
        (``components.schemas.DeploymentIntent``, JSON or YAML), and it answers 403, 413 and 422
        problems."""
        app.add_exception_handler(PolicyProblem, policy_problem_handler)
        app.add_exception_handler(GatehouseError, gatehouse_error_handler)
        generate = app.openapi

        def openapi() -> Dict[str, Any]:
            if app.openapi_schema is not None:
                return app.openapi_schema
            document = generate()
            self._document(app, document)
            return document

        app.openapi = openapi  # type: ignore[method-assign]

    def _guards(self, dependant: Dependant) -> bool:
        """Whether ``dependant`` depends, at any depth, on one of this gate's dependencies."""
        for dependency in dependant.dependencies:
            call = dependency.call
            if getattr(call, "__self__", None) is self and getattr(call, "__func__", None) in _GUARDS:
                return True
            if self._guards(dependency):
                return True
        return False

    def _document(self, app: FastAPI, document: Dict[str, Any]) -> None:
        schemas = document.setdefault("components", {}).setdefault("schemas", {})
        for name, schema in _openapi_intent_schemas(self.engine.intent_schema()).items():
            schemas.setdefault(name, schema)
        schemas.setdefault("Problem", _PROBLEM_SCHEMA)
        intent = {"schema": {"$ref": "#/components/schemas/DeploymentIntent"}}
        problem = {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}
        for route in _api_routes(app):
            if not self._guards(route.dependant):
                continue
            for method in route.methods:
                operation = document.get("paths", {}).get(route.path_format, {}).get(method.lower())
                if operation is None:
                    continue
                operation["requestBody"] = {
                    "required": True,
                    "description": "A DeploymentIntent, as JSON or YAML",
                    "content": {"application/json": intent, "application/yaml": intent},
                }
                responses = operation.setdefault("responses", {})
                for status, description in _GUARD_ANSWERS:
                    responses.setdefault(status, {"description": description, "content": problem})

    def router(self, *, prefix: str = "", tags: Sequence[str] = ("gatehouse",)) -> APIRouter:
        """``POST /evaluate`` (the decision's contract JSON: 200 for ``allow`` and
        ``needs_approval``, 403 problem for ``deny``, 422 problem for an invalid or unreadable
        intent), ``GET /schema`` (the intent JSON Schema) and ``GET /policies`` (the catalogue)."""
        router = APIRouter(prefix=prefix, tags=list(tags))
        problem = {"description": "Problem (RFC 9457)", "content": {PROBLEM_JSON: {}}}
        too_large = {"description": "Intent too large (RFC 9457)", "content": {PROBLEM_JSON: {}}}
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
                413: too_large,
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


_GUARDS = (Gatehouse.decision, Gatehouse.require_allowed, Gatehouse.reject_denied)

_GUARD_ANSWERS = (
    ("403", "Denied by policy, or waiting for an approval (RFC 9457 problem, with the decision)"),
    ("413", "The intent is larger than the limit (RFC 9457 problem)"),
    ("422", "The intent does not match the schema or is not JSON or YAML (RFC 9457 problem)"),
)

_PROBLEM_SCHEMA: Dict[str, Any] = {
    "type": "object",
    "description": "A problem (RFC 9457); a decision's problems also carry the decision's fields.",
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
    },
    "required": ["type", "title", "status", "detail"],
}


def _api_routes(app: FastAPI) -> Iterator[Any]:
    """The app's API routes with their full paths and dependencies, routers included: through
    the route contexts of FastAPI versions that include routers lazily, else the routes."""
    contexts = getattr(fastapi.routing, "iter_route_contexts", None)
    routes = contexts(app.routes) if contexts is not None else app.routes
    for route in routes:
        if isinstance(getattr(route, "original_route", route), APIRoute):
            yield route


def _openapi_intent_schemas(schema: Mapping[str, Any]) -> Dict[str, Any]:
    """The intent JSON Schema as OpenAPI components: ``DeploymentIntent`` and each of its
    definitions as ``DeploymentIntent.<name>`` (the schema refers to itself, so its definitions
    move instead of being inlined)."""
    prefix = "#/components/schemas/DeploymentIntent."

    def move(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                node = dict(node, **{"$ref": prefix + ref[len("#/$defs/"):]})
            return {k: move(v) for k, v in node.items() if k not in ("$defs", "$schema", "$id")}
        if isinstance(node, list):
            return [move(item) for item in node]
        return node

    components = {"DeploymentIntent": move(schema)}
    for name, definition in schema.get("$defs", {}).items():
        components[f"DeploymentIntent.{name}"] = move(definition)
    return components


async def _read_intent(request: Request) -> bytes:
    """The request body, refused (``intent_too_large``) when it is longer than the intent limit:
    by its declared ``Content-Length`` before anything is read, else as soon as the chunks read
    pass the limit. Memory stays within the limit whatever the client sends."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.strip().isdigit() and int(declared) > MAX_INTENT_BYTES:
        raise _too_large(f"the request body is {int(declared)} bytes")
    chunks = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_INTENT_BYTES:
            raise _too_large("the request body is longer")
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(what: str) -> IntentError:
    message = f"{what}; the limit of an intent is {MAX_INTENT_BYTES} bytes"
    return IntentError(
        message,
        [{"code": _TOO_LARGE, "message": message, "help": "split the deployment into smaller intents"}],
    )
