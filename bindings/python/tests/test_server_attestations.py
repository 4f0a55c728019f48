"""The control plane's decision attestations (issue 22, part 3) checked by a verifier nobody here
wrote: a real ``gatehouse serve`` with ``[attestations] signing_key`` (the test-only key) takes a
submission over HTTP; the DSSE envelope ``GET /v1/deployments/{id}/attestation`` answers is
verified by securesystemslib with the ed25519 public key, and a copy whose payload was changed
after signing is refused."""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import socket
import subprocess
import time
from typing import Any, Dict, Iterator

import httpx
import pytest
from conftest import REPO
from test_signing import KEYS, TRUSTED, UNTRUSTED, gatehouse_binary

TOKEN = "attestation-test-requester"
VERIFIER = "https://gatehouse.test"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A `gatehouse serve` signing its decisions with the test-only key; its base URL."""
    tmp = tmp_path_factory.mktemp("serve")
    port = free_port()
    token_hash = hashlib.sha256(TOKEN.encode()).hexdigest()
    config = tmp / "gatehouse.toml"
    config.write_text(
        f'listen = "127.0.0.1:{port}"\n'
        f"database = {json.dumps(str(tmp / 'gatehouse.db'))}\n"
        f"policies = {json.dumps(str(REPO / 'policies'))}\n\n"
        "[[tokens]]\nname = \"dev@example.com\"\nrole = \"requester\"\n"
        f'sha256 = "{token_hash}"\n\n'
        f"[attestations]\nsigning_key = {json.dumps(str(KEYS / 'trusted.pem'))}\n"
        f'verifier_id = "{VERIFIER}"\n'
    )
    log = tmp / "serve.log"
    # The server's log goes to a file: a pipe nobody reads would fill up and block the server,
    # and would be left open at teardown.
    with log.open("wb") as log_file:
        process = subprocess.Popen(
            [str(gatehouse_binary()), "serve", "--config", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=log_file,
            cwd=REPO,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"gatehouse serve did not start: {log.read_text(errors='replace')}")
            time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)


def submitted_envelope(base: str) -> Dict[str, Any]:
    body = json.loads((REPO / "docs" / "api" / "submit-web-frontend-dev.json").read_text())
    headers = {"Authorization": f"Bearer {TOKEN}"}
    created = httpx.post(f"{base}/v1/deployments", json=body, headers=headers, timeout=30)
    assert created.status_code == 201, created.text
    deployment = created.json()
    assert deployment["state"] == "VALIDATED"
    answer = httpx.get(f"{base}/v1/deployments/{deployment['id']}/attestation", headers=headers, timeout=30)
    assert answer.status_code == 200, answer.text
    envelope: Dict[str, Any] = answer.json()
    envelope["_deployment"] = deployment
    return envelope


def test_securesystemslib_verifies_the_servers_envelope(server: str) -> None:
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat, load_pem_public_key
    from securesystemslib.dsse import Envelope
    from securesystemslib.exceptions import VerificationError
    from securesystemslib.signer import SSlibKey

    envelope = submitted_envelope(server)
    deployment = envelope.pop("_deployment")
    assert envelope["payloadType"] == "application/vnd.in-toto+json"
    [signature] = envelope["signatures"]
    public_key = load_pem_public_key(TRUSTED.read_bytes())
    der = public_key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    assert signature["keyid"] == hashlib.sha256(der).hexdigest()
    key = SSlibKey.from_crypto(public_key, keyid=signature["keyid"])
    verified = Envelope.from_dict(copy.deepcopy(envelope)).verify([key], 1)
    assert set(verified) == {signature["keyid"]}

    statement = json.loads(base64.b64decode(envelope["payload"]))
    assert statement["_type"] == "https://in-toto.io/Statement/v1"
    assert statement["predicateType"] == "https://slsa.dev/verification_summary/v1"
    artifact = deployment["artifact"]
    name, digest = artifact.split("@sha256:")
    assert statement["subject"][0]["name"] == name
    assert statement["subject"][0]["digest"] == {"sha256": digest}
    predicate = statement["predicate"]
    assert predicate["verifier"]["id"] == VERIFIER
    assert predicate["verificationResult"] == "PASSED"
    assert predicate["resourceUri"] == artifact

    # Another key does not verify it, and neither does a payload changed after signing.
    other = SSlibKey.from_crypto(load_pem_public_key(UNTRUSTED.read_bytes()), keyid=signature["keyid"])
    with pytest.raises(VerificationError):
        Envelope.from_dict(copy.deepcopy(envelope)).verify([other], 1)
    tampered = copy.deepcopy(envelope)
    statement["predicate"]["verificationResult"] = "FAILED"
    tampered["payload"] = base64.b64encode(json.dumps(statement).encode()).decode()
    with pytest.raises(VerificationError):
        Envelope.from_dict(tampered).verify([key], 1)


def test_in_toto_attestation_parses_the_servers_statement(server: str) -> None:
    statement_pb2 = pytest.importorskip("in_toto_attestation.v1.statement_pb2")
    from google.protobuf import json_format

    envelope = submitted_envelope(server)
    payload = base64.b64decode(envelope["payload"]).decode()
    statement = json_format.Parse(payload, statement_pb2.Statement())
    assert statement.predicate_type == "https://slsa.dev/verification_summary/v1"
    assert statement.subject[0].digest["sha256"]


def test_the_server_and_the_fastapi_integration_name_problems_alike(server: str) -> None:
    # Both take the problem type base from the core; this server is at hand to check it.
    from gatehouse.fastapi import PROBLEM_TYPE_BASE

    headers = {"Authorization": f"Bearer {TOKEN}"}
    answer = httpx.get(f"{server}/v1/deployments/no-such-deployment", headers=headers, timeout=30)
    assert answer.status_code == 404, answer.text
    assert answer.json()["type"] == PROBLEM_TYPE_BASE + "not-found"
