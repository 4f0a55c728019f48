"""The FastAPI integration and the example control plane, through FastAPI's TestClient."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any, Dict, Iterator, Mapping

import pytest
from conftest import CONFORMANCE, POLICIES, cases_with_outcome, load_case
from fastapi import Depends, FastAPI, Request
from fastapi.testclient import TestClient

from gatehouse import MAX_INTENT_BYTES, Decision, Engine
from gatehouse.fastapi import PROBLEM_JSON, PROBLEM_TYPE_BASE, Gatehouse

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))
import control_plane  # noqa: E402

PROBLEM_KEYS = {"type", "title", "status", "detail"}


def context_header(request: Request) -> Mapping[str, Any]:
    """Tests send a case's context (``now``, ``history``, ...) as JSON in a header; without it the
    clock decides."""
    context: Dict[str, Any] = json.loads(request.headers.get("x-context", "{}"))
    return context


def headers_for(case: Dict[str, Any]) -> Dict[str, str]:
    return {"x-context": json.dumps(case["context"])}


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    with TestClient(control_plane.create_app(POLICIES, context=context_header)) as c:
        yield c


def post_case(client: TestClient, url: str, name: str) -> Any:
    case = load_case(name)
    return client.post(url, json=case["intent"], headers=headers_for(case))


def golden(name: str) -> Dict[str, Any]:
    data: Dict[str, Any] = json.loads((CONFORMANCE / "golden" / f"{name}.json").read_text())
    return data


def assert_problem(response: Any, status: int, kind: str) -> Dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    body: Dict[str, Any] = response.json()
    assert body["type"] == PROBLEM_TYPE_BASE + kind
    assert body["status"] == status
    assert body["title"] and body["detail"]
    return body


def test_allowed_deployment_runs_its_lifecycle(client: TestClient) -> None:
    name = cases_with_outcome("allow")[0]
    created = post_case(client, "/deployments", name)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["state"] == "VALIDATED"
    assert body["decision"] == golden(name)
    url = f"/deployments/{body['deployment_id']}"

    started = client.post(f"{url}/events", json={"type": "started", "actor": "pipeline"})
    assert started.status_code == 200 and started.json()["state"] == "IN_PROGRESS"
    illegal = client.post(f"{url}/events", json={"type": "validated", "actor": "pipeline"})
    problem = assert_problem(illegal, 409, "illegal-transition")
    assert problem["errors"][0]["code"] == "illegal_transition"
    malformed = client.post(f"{url}/events", json={"type": "deployed", "actor": "pipeline"})
    assert malformed.status_code == 422

    stored = client.get(url).json()
    assert stored["state"] == "IN_PROGRESS"
    assert [e["type"] for e in stored["events"]] == ["requested", "validated", "started"]
    assert stored["etag"] == stored["events"][-1]["hash"]
    assert client.get("/deployments/d-unknown").status_code == 404


def test_needs_approval_is_recorded_but_does_not_pass_the_gate(client: TestClient) -> None:
    name = cases_with_outcome("needs_approval")[0]
    created = post_case(client, "/deployments", name)
    assert created.status_code == 201, created.text
    assert created.json()["state"] == "REQUESTED"

    gate = post_case(client, "/preflight", name)
    problem = assert_problem(gate, 403, "approval-required")
    roles = sorted({v["override_role"] for v in golden(name)["violations"] if v["status"] == "pending_approval"})
    assert problem["required_roles"] == roles
    assert problem["outcome"] == "needs_approval"


def test_denial_is_a_403_problem_listing_the_violations(client: TestClient) -> None:
    name = next(
        n
        for n in cases_with_outcome("deny")
        if not golden(n)["errors"] and all(v["policy"] != "schema.valid" for v in golden(n)["violations"])
    )
    for url in ("/deployments", "/preflight", "/gatehouse/evaluate"):
        problem = assert_problem(post_case(client, url, name), 403, "policy-denied")
        decision = {k: v for k, v in problem.items() if k not in PROBLEM_KEYS}
        assert decision == golden(name)
        blocking = sorted({v["policy"] for v in decision["violations"] if v["status"] == "blocking"})
        assert problem["detail"] == f"blocked by {', '.join(blocking)}"


def test_schema_violations_are_a_422_problem(client: TestClient) -> None:
    problem = assert_problem(post_case(client, "/deployments", "schema-missing-field"), 422, "invalid-intent")
    assert problem["violations"] and all(v["policy"] == "schema.valid" for v in problem["violations"])


@pytest.mark.parametrize("body", [b"{not json", b"spec: [1, 2\n", b"\xff\xfe"])
def test_malformed_bodies_are_a_422_problem(client: TestClient, body: bytes) -> None:
    for url in ("/deployments", "/gatehouse/evaluate"):
        problem = assert_problem(client.post(url, content=body), 422, "unreadable-intent")
        assert problem["errors"][0]["code"] == "intent_syntax"


@pytest.mark.parametrize("body", [b"", b"[1, 2]", b"42"])
def test_bodies_that_are_not_objects_are_a_422_problem(client: TestClient, body: bytes) -> None:
    assert_problem(client.post("/gatehouse/evaluate", content=body), 422, "invalid-intent")


def test_router_returns_the_core_bytes(client: TestClient) -> None:
    for outcome in ("allow", "needs_approval"):
        name = cases_with_outcome(outcome)[0]
        case = load_case(name)
        want = (CONFORMANCE / "golden" / f"{name}.json").read_bytes().rstrip(b"\n")
        answer = post_case(client, "/gatehouse/evaluate", name)
        assert answer.status_code == 200
        assert answer.headers["content-type"] == "application/json"
        assert answer.content == want
        yaml = "---\n" + json.dumps(case["intent"], indent=2)
        headers = dict(headers_for(case), **{"content-type": "application/yaml"})
        assert client.post("/gatehouse/evaluate", content=yaml, headers=headers).content == want


def test_router_schema_policies_and_openapi(client: TestClient) -> None:
    schema = client.get("/gatehouse/schema").json()
    assert schema["$schema"].endswith("2020-12/schema")
    policies = client.get("/gatehouse/policies").json()
    assert policies["cost.ceiling"]["override_role"] == "finops-approver"
    openapi = client.get("/openapi.json").json()
    evaluate = openapi["paths"]["/gatehouse/evaluate"]["post"]
    assert set(evaluate["requestBody"]["content"]) == {"application/json", "application/yaml"}
    assert {"200", "403", "422"} <= set(evaluate["responses"])


def test_invalid_context_is_a_422_problem(client: TestClient) -> None:
    case = load_case(cases_with_outcome("allow")[0])
    answer = client.post("/deployments", json=case["intent"], headers={"x-context": '{"now": "yesterday"}'})
    problem = assert_problem(answer, 422, "invalid-context")
    assert problem["errors"][0]["code"] == "context_invalid"


def test_other_gatehouse_errors_are_an_opaque_500(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    created = post_case(client, "/deployments", cases_with_outcome("allow")[0]).json()
    events = client.app.state.events[created["deployment_id"]]  # type: ignore[attr-defined]
    events[0] = dict(events[0], actor="mallory")
    with caplog.at_level(logging.ERROR, logger="gatehouse"):
        problem = assert_problem(client.get(f"/deployments/{created['deployment_id']}"), 500, "internal")
    assert "errors" not in problem and "mallory" not in json.dumps(problem)
    assert "chain_hash" in caplog.text


def test_async_context_provider_and_plain_dependency() -> None:
    engine = Engine.from_directory(POLICIES)
    name = cases_with_outcome("allow")[0]
    case = load_case(name)

    async def pinned(request: Request) -> Mapping[str, Any]:
        context: Dict[str, Any] = case["context"]
        return context

    gate = Gatehouse(engine, context=pinned)
    app = FastAPI()  # no install(): a PolicyProblem is still an HTTPException

    @app.post("/decide")
    async def decide(decision: Decision = Depends(gate.decision)) -> Dict[str, Any]:
        return {"outcome": decision.outcome, "json": decision.to_json()}

    @app.post("/guarded")
    async def guarded(decision: Decision = Depends(gate.require_allowed)) -> Dict[str, Any]:
        return {"ok": True}

    with TestClient(app) as c:
        answer = c.post("/decide", json=case["intent"]).json()
        assert answer["json"] + "\n" == (CONFORMANCE / "golden" / f"{name}.json").read_text()
        denied = c.post("/guarded", json={"kind": "not an intent"})
        assert denied.status_code == 422
        assert "schema violation" in denied.json()["detail"]


ONE_MIB = 1024 * 1024


@pytest.mark.parametrize("url", ["/deployments", "/gatehouse/evaluate"])
def test_a_declared_length_over_the_limit_is_a_413_before_reading(client: TestClient, url: str) -> None:
    def body() -> Iterator[bytes]:
        for _ in range(4):
            yield b" " * ONE_MIB

    headers = {"content-length": str(4 * ONE_MIB), "content-type": "application/json"}
    problem = assert_problem(client.post(url, content=body(), headers=headers), 413, "intent-too-large")
    assert problem["errors"][0]["code"] == "intent_too_large"
    assert str(MAX_INTENT_BYTES) in problem["detail"]


@pytest.mark.parametrize("url", ["/deployments", "/gatehouse/evaluate"])
def test_a_chunked_body_over_the_limit_is_a_413(client: TestClient, url: str) -> None:
    def body() -> Iterator[bytes]:
        for _ in range(3):
            yield b" " * ONE_MIB

    problem = assert_problem(client.post(url, content=body()), 413, "intent-too-large")
    assert problem["errors"][0]["code"] == "intent_too_large"


def test_a_body_at_the_limit_is_read(client: TestClient) -> None:
    case = load_case(cases_with_outcome("allow")[0])
    text = json.dumps(case["intent"])
    body = text + " " * (MAX_INTENT_BYTES - len(text))
    answer = client.post("/gatehouse/evaluate", content=body, headers=headers_for(case))
    assert answer.status_code == 200, answer.text


def test_a_decision_is_fastapi_data() -> None:
    name = cases_with_outcome("needs_approval")[0]
    case = load_case(name)
    engine = Engine.from_directory(POLICIES)
    gate = Gatehouse(engine, context=lambda request: case["context"])
    app = FastAPI()
    gate.install(app)

    @app.post("/model", response_model=Decision)
    async def as_model(decision: Decision = Depends(gate.reject_denied)) -> Decision:
        return decision

    @app.post("/returned")
    async def returned(decision: Decision = Depends(gate.decision)) -> Decision:
        return decision

    @app.post("/inside")
    async def inside(decision: Decision = Depends(gate.decision)) -> Dict[str, Any]:
        return {"decision": decision}

    want = golden(name)
    with TestClient(app) as c:
        for url in ("/model", "/returned"):
            answer = c.post(url, json=case["intent"])
            assert answer.status_code == 200, answer.text
            assert answer.json() == want
        assert c.post("/inside", json=case["intent"]).json() == {"decision": want}
        openapi = c.get("/openapi.json").json()
    model = openapi["paths"]["/model"]["post"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert model == {"$ref": "#/components/schemas/Decision"}
    schema = openapi["components"]["schemas"]["Decision"]
    assert {"outcome", "violations", "errors", "bundle", "intent_digest"} <= set(schema["properties"])


def test_a_stored_decision_validates_as_fastapi_data() -> None:
    from pydantic import TypeAdapter, ValidationError

    name = cases_with_outcome("allow")[0]
    text = (CONFORMANCE / "golden" / f"{name}.json").read_text().rstrip("\n")
    adapter = TypeAdapter(Decision)
    assert adapter.validate_python(json.loads(text)).to_json() == Decision(text).to_json()
    assert adapter.validate_json(text) == Decision(text)
    assert adapter.dump_json(Decision(text)) == text.encode()
    with pytest.raises(ValidationError):
        adapter.validate_python({"outcome": "maybe"})


def test_guarded_routes_document_their_body_and_answers(client: TestClient) -> None:
    openapi = client.get("/openapi.json").json()
    for path in ("/deployments", "/preflight", "/gatehouse/evaluate"):
        operation = openapi["paths"][path]["post"]
        body = operation["requestBody"]
        assert body["required"] is True
        assert set(body["content"]) == {"application/json", "application/yaml"}, path
        assert body["content"]["application/json"]["schema"]["$ref"] == "#/components/schemas/DeploymentIntent"
        assert {"403", "413", "422"} <= set(operation["responses"]), (path, operation["responses"])
    assert openapi["components"]["schemas"]["DeploymentIntent"]["type"] == "object"
