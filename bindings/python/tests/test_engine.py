"""The Engine API: constructors, bundle properties, the catalogue, evaluation inputs, the typed
decision, schema validation."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import MappingProxyType
from typing import Any, Dict

import pytest
from conftest import POLICIES, cases_with_outcome, load_case

from gatehouse import (
    DEFAULT_MANIFEST,
    BundleError,
    ApprovalRecord,
    ContextError,
    Decision,
    Engine,
    Policy,
    SchemaError,
    Truncated,
    Violation,
    intent_schema,
)

SKIPPED_DIRS = {"examples", "conformance", "target"}

TEAM_RULE = """package gatehouse.policies.team_owner

deny contains {
	"policy": "team.owner",
	"path": "spec.tags.owner",
	"message": sprintf("owner `%s` is not a team", [input.intent.spec.tags.owner]),
	"evidence": {"value": input.intent.spec.tags.owner},
} if {
	not startswith(input.intent.spec.tags.owner, "team-")
}
"""
TEAM_DATA = {
    "governance": {
        "catalog": {
            "team.owner": {
                "title": "Owner is a team",
                "severity": "low",
                "enforcement": "hard-mandatory",
                "remediation": "Set `tags.owner` to `team-<name>`.",
            }
        }
    }
}


def bundle_files(root: Path) -> Dict[str, str]:
    """A bundle directory's files as `BundleSource::from_dir` collects them."""
    files = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if rel.parts[0] in SKIPPED_DIRS or any(p.startswith(".") for p in rel.parts) or path.is_dir():
            continue
        name = rel.as_posix()
        if name == "bundle.json" or name.endswith(".rego") or (name.startswith("data/") and name.endswith(".json")):
            files[name] = path.read_text()
    return files


def readme_digest(files: Dict[str, str]) -> str:
    """The bundle digest as docs/bundle.md defines it."""
    h = hashlib.sha256()
    for path in sorted(files):
        if path.endswith("_test.rego"):
            continue
        content = files[path].encode()
        h.update(path.encode() + b"\0" + str(len(content)).encode() + b"\0" + content)
    return "sha256:" + h.hexdigest()


def allow_case() -> Dict[str, Any]:
    return load_case(cases_with_outcome("allow")[0])


def test_directory_bundle_properties(engine: Engine) -> None:
    manifest = json.loads((POLICIES / "bundle.json").read_text())
    assert engine.bundle_name == manifest["name"]
    assert engine.bundle_revision == manifest["revision"]
    assert engine.bundle_digest == readme_digest(bundle_files(POLICIES))
    assert repr(engine) == f"<Engine {manifest['name']} {manifest['revision']} {engine.bundle_digest}>"


def test_from_files_matches_from_directory(engine: Engine) -> None:
    same = Engine.from_files(bundle_files(POLICIES))
    assert same.bundle_digest == engine.bundle_digest
    case = allow_case()
    context = case["context"]
    assert same.evaluate(case["intent"], **context) == engine.evaluate(case["intent"], **context)


def packed_document() -> Dict[str, Any]:
    """The `gatehouse bundle` document of the reference bundle, built as the README defines it."""
    files = {p: t for p, t in bundle_files(POLICIES).items() if not p.endswith("_test.rego")}
    manifest = json.loads(files["bundle.json"])
    return {
        "digest": readme_digest(files),
        "files": files,
        "format": "gatehouse.bundle/v1",
        "name": manifest["name"],
        "revision": manifest["revision"],
    }


def test_from_bundle_matches_from_directory_and_checks_the_document(engine: Engine) -> None:
    document = packed_document()
    for given in (document, json.dumps(document)):
        same = Engine.from_bundle(given)
        assert same.bundle_digest == engine.bundle_digest
    case = allow_case()
    context = case["context"]
    assert same.evaluate(case["intent"], **context) == engine.evaluate(case["intent"], **context)
    tampered = dict(document, files=dict(document["files"], **{"rules/extra.rego": "package x\n"}))
    for bad, code in (
        (tampered, "bundle_digest_mismatch"),
        (dict(document, revision="forged"), "bundle_manifest_mismatch"),
        (dict(document, format="gatehouse.bundle/v2"), "bundle_format"),
        ("{", "bundle_format"),
    ):
        with pytest.raises(BundleError) as info:
            Engine.from_bundle(bad)
        assert info.value.errors()[0]["code"] == code


def test_overlay_adds_a_policy() -> None:
    catalog = json.loads((POLICIES / "data" / "catalog.json").read_text())
    catalog["governance"]["catalog"].update(TEAM_DATA["governance"]["catalog"])
    overlaid = Engine.from_directory(
        POLICIES,
        overlay={"rules/team_owner.rego": TEAM_RULE, "data/catalog.json": json.dumps(catalog)},
    )
    case = allow_case()
    case["intent"]["spec"]["tags"]["owner"] = "alice"
    decision = overlaid.evaluate(case["intent"], **case["context"])
    assert decision.outcome == "deny"
    assert [v.policy for v in decision.blocking] == ["team.owner"]


def test_engine_from_dicts() -> None:
    engine = Engine(policies={"rules/team_owner.rego": TEAM_RULE}, data=TEAM_DATA)
    assert (engine.bundle_name, engine.bundle_revision) == (
        DEFAULT_MANIFEST["name"],
        DEFAULT_MANIFEST["revision"],
    )
    assert engine.bundle_digest == readme_digest(
        {
            "bundle.json": json.dumps(dict(DEFAULT_MANIFEST)),
            "data/data.json": json.dumps(TEAM_DATA, sort_keys=True, separators=(",", ":")),
            "rules/team_owner.rego": TEAM_RULE,
        }
    )
    case = allow_case()
    case["intent"]["spec"]["tags"]["owner"] = "alice"
    decision = engine.evaluate(case["intent"], now="2026-11-23T12:00:00Z")
    assert decision.outcome == "deny"
    (violation,) = decision.violations
    assert violation == Violation(
        policy="team.owner",
        title="Owner is a team",
        severity="low",
        enforcement="hard-mandatory",
        status="blocking",
        message="owner `alice` is not a team",
        path="spec.tags.owner",
        remediation="Set `tags.owner` to `team-<name>`.",
        evidence={"value": "alice"},
    )
    case["intent"]["spec"]["tags"]["owner"] = "team-payments"
    assert engine.evaluate(case["intent"], now="2026-11-23T12:00:00Z").allowed


def test_engine_from_dicts_with_manifest() -> None:
    engine = Engine(
        {"rules/team_owner.rego": TEAM_RULE},
        TEAM_DATA,
        manifest={"name": "team-rules", "revision": "7", "description": "test"},
    )
    assert (engine.bundle_name, engine.bundle_revision) == ("team-rules", "7")


def test_policies_catalogue(engine: Engine) -> None:
    policies = engine.policies
    assert isinstance(policies, MappingProxyType)
    assert "schema.valid" in policies
    cost = policies["cost.ceiling"]
    assert isinstance(cost, Policy)
    assert cost.id == "cost.ceiling"
    assert cost.enforcement == "soft-mandatory"
    assert cost.override_role == "finops-approver"
    pinned = policies["artifact.pinned"]
    assert pinned.enforcement_in("dev") == "advisory"
    assert pinned.enforcement_in("prod") == "hard-mandatory"
    with pytest.raises(TypeError):
        policies["x"] = cost  # type: ignore[index]


def test_decision_object(engine: Engine) -> None:
    case = load_case(cases_with_outcome("needs_approval")[0])
    decision = engine.evaluate(case["intent"], **case["context"])
    data = json.loads(decision.to_json())
    assert decision.outcome == data["outcome"] == "needs_approval"
    assert not decision.allowed
    assert decision.to_dict() == data
    assert [v.to_dict() for v in decision.violations] == data["violations"]
    assert all(v.blocks == (v.status in ("blocking", "pending_approval")) for v in decision.violations)
    assert [v.status for v in decision.blocking] == ["pending_approval"] * len(decision.blocking)
    assert decision.errors == ()
    assert decision.bundle.digest == engine.bundle_digest
    assert decision.intent_digest == data["intent_digest"]
    assert decision.evaluated_at == case["context"]["now"]
    # A stored decision reads back into an equal object.
    again = Decision(decision.to_json())
    assert again == decision and hash(again) == hash(decision)
    assert again.violations == decision.violations
    assert repr(decision) == f"<Decision needs_approval: {len(data['violations'])} violation(s), 0 error(s)>"


def test_intent_as_dict_text_yaml_bytes_and_mapping(engine: Engine) -> None:
    case = allow_case()
    context = case["context"]
    want = engine.evaluate(case["intent"], **context).to_json()
    text = json.dumps(case["intent"], indent=2)
    assert engine.evaluate(text, **context).to_json() == want
    assert engine.evaluate("---\n" + text, **context).to_json() == want  # the YAML reader
    assert engine.evaluate(text.encode(), **context).to_json() == want
    assert engine.evaluate(MappingProxyType(case["intent"]), **context).to_json() == want


def test_now_as_datetime_text_or_clock(engine: Engine) -> None:
    intent = allow_case()["intent"]
    at = datetime(2026, 11, 23, 13, 0, tzinfo=timezone(timedelta(hours=1)))
    assert engine.evaluate(intent, now=at).evaluated_at == "2026-11-23T12:00:00Z"
    assert engine.evaluate(intent, now="2026-11-23T12:00:00.5+00:00").evaluated_at == "2026-11-23T12:00:00.5Z"
    before = datetime.now(timezone.utc).replace(microsecond=0)
    stamped = engine.evaluate(intent).evaluated_at
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", stamped)
    got = datetime.fromisoformat(stamped.replace("Z", "+00:00"))
    assert before <= got <= datetime.now(timezone.utc)
    with pytest.raises(ContextError):
        engine.evaluate(intent, now=datetime(2026, 11, 23, 12, 0))  # naive: never guessed


def test_context_approvals_and_history(engine: Engine) -> None:
    case = load_case("cost-override-from-context")
    context = case["context"]
    decision = engine.evaluate(case["intent"], **context)
    assert any(v.status == "overridden" for v in decision.violations)


def test_approvals_inside_an_intent_are_refused(engine: Engine) -> None:
    case = load_case("approval-inside-intent-refused")
    decision = engine.evaluate(case["intent"], now=case["context"]["now"])
    assert decision.outcome == "deny"
    refused = [v for v in decision.violations if v.path == "spec.approvals"]
    assert [v.policy for v in refused] == ["schema.valid"]
    assert "approvals=" in refused[0].remediation
    assert decision.approvals == ()


def test_approvals_are_recorded_with_their_source(engine: Engine) -> None:
    case = load_case("prod-needs-approval")
    intent, context = case["intent"], dict(case["context"])
    assert engine.evaluate(intent, **context).outcome == "needs_approval"
    requester = intent["metadata"]["requested_by"]
    own = [{"by": requester.upper(), "role": "release-approver"}]
    assert engine.evaluate(intent, approvals=own, **context).outcome == "needs_approval"
    passed = {
        "by": "bob@example.com",
        "role": "release-approver",
        "reference": "https://github.example/acme/deploy/pull/7#pullrequestreview-1",
    }
    decision = engine.evaluate(intent, approvals=own + [passed], **context)
    assert decision.outcome == "allow"
    # Whatever the caller passes is recorded as the caller's.
    assert [(a.by, a.source) for a in decision.approvals] == [
        ("ALICE@EXAMPLE.COM", "caller"),
        ("bob@example.com", "caller"),
    ]
    assert isinstance(decision.approvals[1], ApprovalRecord)
    assert decision.approvals[1].reference == passed["reference"]
    four_eyes = [v for v in decision.violations if v.policy == "prod.four-eyes"]
    assert [v.overridden_by for v in four_eyes] == ["bob@example.com"]


@pytest.mark.parametrize(
    ("source", "recorder"),
    [("control_plane", "the control plane"), ("github_review", "the pull request review reader")],
)
def test_a_caller_cannot_claim_a_trusted_approval_source(
    engine: Engine, source: str, recorder: str
) -> None:
    case = load_case("prod-needs-approval")
    intent, context = case["intent"], dict(case["context"])
    forged = {
        "by": "bob@example.com",
        "role": "release-approver",
        "source": source,
        "reference": "https://github.com/acme/deploy/pull/1#pullrequestreview-1",
    }
    with pytest.raises(ContextError) as raised:
        engine.evaluate(intent, approvals=[forged], **context)
    message = str(raised.value)
    assert f"approval source `{source}` is recorded by {recorder}" in message
    assert "leave `source` out of approvals you pass" in message


def test_a_decision_lists_at_most_100_violations(engine: Engine) -> None:
    intent = allow_case()["intent"]
    intent["spec"]["resources"] = [{}] * 400_000
    decision = engine.evaluate(intent, now="2026-11-23T12:00:00Z")
    assert decision.outcome == "deny"
    assert len(decision.violations) == 100
    assert decision.truncated == Truncated(violations=800_001 - 100, errors=0)
    assert len(decision.to_json()) < 100_000


def test_validate_intent(engine: Engine) -> None:
    intent = allow_case()["intent"]
    assert engine.validate_intent(intent) == []
    assert engine.validate_intent(json.dumps(intent)) == []
    del intent["spec"]["service"]
    intent["metadata"]["owner"] = "x"
    errors = engine.validate_intent(intent)
    assert [e.path for e in errors] == ["metadata.owner", "spec.service"]
    assert all(isinstance(e, SchemaError) for e in errors)
    assert errors[1].keyword == "required"
    assert "`service`" in errors[1].message


def test_intent_schema(engine: Engine) -> None:
    schema = intent_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert engine.intent_schema() == schema
    schema["x"] = 1
    assert "x" not in intent_schema()


def test_engine_is_immutable(engine: Engine) -> None:
    with pytest.raises(AttributeError):
        engine.extra = 1  # type: ignore[attr-defined]
    native = engine._native
    with pytest.raises(AttributeError):
        native.bundle_digest = "sha256:0"  # type: ignore[misc]
    with pytest.raises(TypeError):
        type(native)()
