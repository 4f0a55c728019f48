"""Decision attestations (issue 22) checked by verifiers nobody here wrote: ``gatehouse check
--attestation`` signs the decision's in-toto Statement with the test-only key from the
environment (``GATEHOUSE_ATTESTATION_KEY_FILE``); securesystemslib verifies the DSSE envelope
with the ed25519 public key, and the ``in-toto-attestation`` package parses the Statement v1 and
its SLSA verification summary v1 predicate with protobuf's strict JSON parser (an unknown field
anywhere is an error) and runs its own Statement validation."""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import os
import subprocess
from pathlib import Path
from typing import Any, Dict, List, Tuple

import pytest
from conftest import REPO
from test_signing import KEYS, TRUSTED, UNTRUSTED, gatehouse_binary

EXAMPLES = REPO / "policies" / "examples"
HISTORY = EXAMPLES / "history" / "deployments.json"
APPROVALS = EXAMPLES / "history" / "approvals.json"
ALLOWED = EXAMPLES / "payments-api-near-budget-allowed.yaml"
DENIED = EXAMPLES / "payments-api-docker-hub-denied.yaml"
DIGEST = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
VERIFIER = "https://gatehouse.example.com"
PREDICATE_TYPE = "https://slsa.dev/verification_summary/v1"


def check(intent: Path, out: Path, key: Path | None = KEYS / "trusted.pem") -> Tuple[int, Path, Path]:
    """Runs ``gatehouse check --attestation`` on one intent; returns the exit code and the two
    files it writes (the attestation and the predicate)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEHOUSE_ATTESTATION_KEY")}
    if key is not None:
        env["GATEHOUSE_ATTESTATION_KEY_FILE"] = str(key)
    attestation, predicate = out / "attestation.json", out / "predicate.json"
    result = subprocess.run(
        [
            str(gatehouse_binary()), "check", "--format", "json", "--now", "2026-11-23T12:00:00Z",
            "--history", str(HISTORY), "--approvals", str(APPROVALS), "--verifier-id", VERIFIER,
            "--attestation", str(attestation), "--attestation-predicate", str(predicate), str(intent),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
        env=env,
    )
    assert result.returncode in (0, 1), result.stderr
    return result.returncode, attestation, predicate


def verify_with_securesystemslib(envelope: Dict[str, Any], public: Path) -> bytes:
    """The payload of an envelope verified by securesystemslib's DSSE implementation with the
    ed25519 public key (raises ``VerificationError`` when it does not verify)."""
    from cryptography.hazmat.primitives.serialization import load_pem_public_key
    from securesystemslib.dsse import Envelope
    from securesystemslib.signer import SSlibKey

    keyid = envelope["signatures"][0]["keyid"]
    key = SSlibKey.from_crypto(load_pem_public_key(public.read_bytes()), keyid=keyid)
    parsed = Envelope.from_dict(copy.deepcopy(envelope))
    verified = parsed.verify([key], 1)
    assert keyid in verified
    return bytes(parsed.payload)


def parse_vsa(predicate: Dict[str, Any]) -> Tuple[Any, List[str]]:
    """The predicate parsed strictly by in-toto-attestation's VSA v1 message, and its
    ``verifiedLevels``. The package's ``vsa.proto`` (0.9.3) declares ``verifiedLevels`` a single
    string where the VSA spec requires a list (in-toto/attestation#425; the fix, #429, is not in
    a release): while it does, the list is checked against the spec here and every other field
    is parsed strictly; once the field is repeated, the whole predicate is."""
    from google.protobuf import json_format
    from in_toto_attestation.predicates.vsa.v1 import vsa_pb2

    levels = predicate["verifiedLevels"]
    assert isinstance(levels, list) and all(isinstance(level, str) for level in levels), levels
    field = vsa_pb2.VerificationSummary.DESCRIPTOR.fields_by_name["verified_levels"]
    if not field.is_repeated:
        predicate = {k: v for k, v in predicate.items() if k != "verifiedLevels"}
    return json_format.ParseDict(predicate, vsa_pb2.VerificationSummary()), levels


@pytest.fixture
def allowed(tmp_path: Path) -> Tuple[Dict[str, Any], Path]:
    code, attestation, predicate = check(ALLOWED, tmp_path)
    assert code == 0
    return json.loads(attestation.read_text()), predicate


def test_securesystemslib_verifies_the_envelope_with_the_public_key(allowed: Tuple[Dict[str, Any], Path]) -> None:
    from securesystemslib.exceptions import VerificationError

    envelope, _ = allowed
    payload = verify_with_securesystemslib(envelope, TRUSTED)
    assert payload == base64.b64decode(envelope["payload"])
    assert envelope["payloadType"] == "application/vnd.in-toto+json"
    with pytest.raises(VerificationError):
        verify_with_securesystemslib(envelope, UNTRUSTED)
    # A payload changed after signing does not verify.
    statement = json.loads(payload)
    statement["subject"][0]["digest"]["sha256"] = "0" * 64
    edited = dict(envelope, payload=base64.b64encode(json.dumps(statement).encode()).decode())
    with pytest.raises(VerificationError):
        verify_with_securesystemslib(edited, TRUSTED)


def test_in_toto_attestation_parses_the_statement_and_the_vsa_predicate(allowed: Tuple[Dict[str, Any], Path]) -> None:
    from google.protobuf import json_format
    from in_toto_attestation.v1 import statement_pb2
    from in_toto_attestation.v1.statement import Statement

    envelope, predicate_file = allowed
    payload = verify_with_securesystemslib(envelope, TRUSTED)
    # Strict: an unknown field anywhere in the statement or the predicate raises ParseError.
    statement_pb = json_format.Parse(payload, statement_pb2.Statement())
    Statement.copy_from_pb(statement_pb).validate()
    assert statement_pb.type == "https://in-toto.io/Statement/v1"
    assert statement_pb.predicate_type == PREDICATE_TYPE
    (subject,) = statement_pb.subject
    assert subject.name == "registry.example.com/payments/api"
    assert dict(subject.digest) == {"sha256": DIGEST}
    facts = json_format.MessageToDict(subject.annotations)["https://gatehouse.dev/attestation/decision/v1"]
    assert facts["outcome"] == "allow" and facts["environment"] == "prod" and facts["stage"] == "admission"

    predicate = json.loads(payload)["predicate"]
    vsa, levels = parse_vsa(predicate)
    assert vsa.verifier.id == VERIFIER
    assert vsa.resource_uri == f"registry.example.com/payments/api@sha256:{DIGEST}"
    assert vsa.verification_result == "PASSED"
    assert levels == ["GATEHOUSE_POLICY_PASSED"]
    assert not any(level.startswith("SLSA_") for level in levels)
    assert len(vsa.policy.digest["sha256"]) == 64
    assert vsa.time_verified.ToJsonString() == "2026-11-23T12:00:00Z"
    # The predicate file (what `actions/attest` takes) is the same predicate, and parses too.
    assert json.loads(predicate_file.read_text()) == predicate
    parse_vsa(json.loads(predicate_file.read_text()))
    # The parser is strict indeed: a field the VSA does not define is refused.
    with pytest.raises(json_format.ParseError):
        parse_vsa(dict(predicate, decisionId="x"))


def test_a_denied_decision_is_a_signed_failed_summary(tmp_path: Path) -> None:
    code, attestation, _ = check(DENIED, tmp_path)
    assert code == 1
    payload = verify_with_securesystemslib(json.loads(attestation.read_text()), TRUSTED)
    vsa, levels = parse_vsa(json.loads(payload)["predicate"])
    assert vsa.verification_result == "FAILED"
    assert levels == ["FAILED"]


def test_the_envelope_has_the_shape_cosign_reads(allowed: Tuple[Dict[str, Any], Path]) -> None:
    """cosign ``verify-blob-attestation --key PUB --type https://slsa.dev/verification_summary/v1``
    reads a DSSE envelope with exactly these fields, standard base64, an in-toto payload type
    and a statement whose subject digest is the hex SHA-256 it compares with the blob's. (cosign
    itself is not run here.)"""
    envelope, _ = allowed
    assert set(envelope) == {"payloadType", "payload", "signatures"}
    assert envelope["payloadType"] == "application/vnd.in-toto+json"
    (signature,) = envelope["signatures"]
    assert set(signature) == {"keyid", "sig"}
    assert len(base64.b64decode(signature["sig"], validate=True)) == 64
    statement = json.loads(base64.b64decode(envelope["payload"], validate=True))
    assert statement["predicateType"] == PREDICATE_TYPE
    digest = statement["subject"][0]["digest"]["sha256"]
    assert len(digest) == 64 and digest == digest.lower()
    # The default key id is the hex SHA-256 of the public key's SubjectPublicKeyInfo DER.
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat, load_pem_public_key

    der = load_pem_public_key(TRUSTED.read_bytes()).public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    assert signature["keyid"] == hashlib.sha256(der).hexdigest()


def test_without_a_key_the_statement_is_written_unsigned(tmp_path: Path) -> None:
    from google.protobuf import json_format
    from in_toto_attestation.v1 import statement_pb2

    code, attestation, _ = check(ALLOWED, tmp_path, key=None)
    assert code == 0
    statement = json.loads(attestation.read_text())
    assert "payloadType" not in statement
    json_format.ParseDict(statement, statement_pb2.Statement())
