"""Signed bundles (issue 22): ``Engine.from_directory(..., trusted_keys=[...])``. The bundle is a
copy of ``policies/`` signed by the ``gatehouse`` binary (``bundle sign``), as an operator signs
it; the keys are the test-only pairs of ``core/tests/fixtures/test-only-keys/``. With keys, an
unsigned bundle, an unknown key or a file changed, added or removed after signing raises
:class:`~gatehouse.errors.BundleSignatureError` naming the file, with the refusal's code."""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any, Dict

import pytest
from conftest import POLICIES, REPO, load_case

from gatehouse import Engine
from gatehouse.errors import BundleError, BundleSignatureError

KEYS = REPO / "core" / "tests" / "fixtures" / "test-only-keys"
TRUSTED = KEYS / "trusted.pub.pem"
UNTRUSTED = KEYS / "untrusted.pub.pem"
CASE = "allow-dev-minimal"
RULE = "rules/compute/size_allowed.rego"


def gatehouse_binary() -> Path:
    """The CLI the test suite builds (``GATEHOUSE_BIN``, or ``debug/gatehouse`` under the cargo
    target directory); its absence fails the test rather than skipping it."""
    configured = os.environ.get("GATEHOUSE_BIN")
    target = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
    binary = Path(configured) if configured else target / "debug" / "gatehouse"
    if not binary.is_file():
        pytest.fail(f"`{binary}` is missing: build it with `cargo build --workspace` (or set GATEHOUSE_BIN)")
    return binary


def sign(bundle: Path, key: Path) -> None:
    result = subprocess.run(
        [str(gatehouse_binary()), "bundle", "sign", "--policies", str(bundle), "--key", str(key)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr


@pytest.fixture
def unsigned(tmp_path: Path) -> Path:
    bundle = tmp_path / "policies"
    shutil.copytree(POLICIES, bundle)
    return bundle


@pytest.fixture
def signed(unsigned: Path) -> Path:
    sign(unsigned, KEYS / "trusted.pem")
    assert (unsigned / "bundle.sig.json").is_file()
    return unsigned


def decide(engine: Engine) -> str:
    case = load_case(CASE)
    return engine.evaluate(case["intent"], **case["context"]).to_json()


def refusal(path: Path, **kwargs: Any) -> BundleSignatureError:
    with pytest.raises(BundleSignatureError) as caught:
        Engine.from_directory(path, **kwargs)
    return caught.value


def test_a_signed_bundle_loads_and_decides_as_the_unsigned_one(signed: Path) -> None:
    verified = Engine.from_directory(signed, trusted_keys=[TRUSTED])
    plain = Engine.from_directory(POLICIES)
    assert verified.bundle_digest == plain.bundle_digest
    assert decide(verified) == decide(plain)
    golden = (POLICIES / "conformance" / "golden" / f"{CASE}.json").read_text().rstrip("\n")
    assert decide(verified) == golden


def test_keys_are_pem_text_or_paths(signed: Path) -> None:
    text = TRUSTED.read_text()
    for key in (text, text.encode(), TRUSTED):
        engine = Engine.from_directory(signed, trusted_keys=[key])
        assert engine.bundle_name
    # Any one trusted key that signed it is enough.
    Engine.from_directory(signed, trusted_keys=[UNTRUSTED, TRUSTED])


def test_without_keys_the_signature_is_not_required(unsigned: Path) -> None:
    assert Engine.from_directory(unsigned, trusted_keys=[]).bundle_digest


def test_an_unsigned_bundle_is_refused_when_keys_are_given(unsigned: Path) -> None:
    error = refusal(unsigned, trusted_keys=[TRUSTED])
    assert isinstance(error, BundleError)
    assert error.code == "bundle_unsigned"
    assert "bundle.sig.json" in str(error)
    [record] = error.errors()
    assert record["span"]["file"] == str(unsigned / "bundle.sig.json")
    assert "gatehouse bundle sign" in record["help"]


def test_a_file_changed_after_signing_is_refused_by_name(signed: Path) -> None:
    rule = signed / RULE
    rule.write_text(rule.read_text() + "\n# changed after signing\n")
    error = refusal(signed, trusted_keys=[TRUSTED])
    assert error.code == "bundle_file_changed"
    assert f"`{RULE}` changed after signing" in str(error)
    [record] = error.errors()
    assert record["span"]["file"] == str(signed / RULE)


def test_a_file_added_or_removed_after_signing_is_refused_by_name(signed: Path) -> None:
    added = "rules/late.rego"
    (signed / added).write_text("package gatehouse.policies.late\n\ndeny contains msg if {\n\tfalse\n\tmsg := \"x\"\n}\n")
    error = refusal(signed, trusted_keys=[TRUSTED])
    assert (error.code, error.errors()[0]["span"]["file"]) == ("bundle_file_added", str(signed / added))
    (signed / added).unlink()
    (signed / RULE).unlink()
    error = refusal(signed, trusted_keys=[TRUSTED])
    assert (error.code, error.errors()[0]["span"]["file"]) == ("bundle_file_removed", str(signed / RULE))


def test_an_overlay_is_part_of_what_is_verified(signed: Path) -> None:
    error = refusal(signed, trusted_keys=[TRUSTED], overlay={RULE: "package gatehouse.policies.size\n"})
    assert error.code == "bundle_file_changed"


def test_a_bundle_signed_by_an_untrusted_key_is_refused(signed: Path) -> None:
    error = refusal(signed, trusted_keys=[UNTRUSTED])
    assert error.code == "bundle_signature_unknown_key"
    assert "unknown key" in str(error)
    assert error.errors()[0]["span"]["file"] == str(signed / "bundle.sig.json")


def test_a_tampered_signature_is_refused(signed: Path) -> None:
    envelope_path = signed / "bundle.sig.json"
    envelope: Dict[str, Any] = json.loads(envelope_path.read_text())
    statement = json.loads(base64.b64decode(envelope["payload"]))
    statement["revision"] = "forged"
    envelope["payload"] = base64.b64encode(json.dumps(statement).encode()).decode()
    envelope_path.write_text(json.dumps(envelope))
    error = refusal(signed, trusted_keys=[TRUSTED])
    assert error.code == "bundle_signature_invalid"


def test_a_key_that_is_not_an_ed25519_public_key_is_a_bundle_error(signed: Path) -> None:
    with pytest.raises(BundleError) as caught:
        Engine.from_directory(signed, trusted_keys=[KEYS / "trusted.pem"])
    assert not isinstance(caught.value, BundleSignatureError)
    [record] = caught.value.errors()
    assert record["code"] == "signing_key_invalid"
    assert record["path"] == "trusted_keys[0]"
    assert "openssl pkey" in record["help"]


def test_a_key_argument_of_another_type_is_a_type_error(signed: Path) -> None:
    with pytest.raises(TypeError, match="trusted_keys"):
        Engine.from_directory(signed, trusted_keys=[42])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="wrap a single key in a list"):
        Engine.from_directory(signed, trusted_keys=TRUSTED)  # type: ignore[arg-type]


def test_the_envelope_verifies_with_securesystemslib(signed: Path) -> None:
    """A DSSE verifier nobody here wrote accepts what `gatehouse bundle sign` writes."""
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat, load_pem_public_key
    from securesystemslib.dsse import Envelope
    from securesystemslib.exceptions import VerificationError
    from securesystemslib.signer import SSlibKey

    envelope = json.loads((signed / "bundle.sig.json").read_text())
    [signature] = envelope["signatures"]
    public_key = load_pem_public_key(TRUSTED.read_bytes())
    # The default key id: the SHA-256 of the public key's SubjectPublicKeyInfo DER.
    der = public_key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    assert signature["keyid"] == hashlib.sha256(der).hexdigest()
    key = SSlibKey.from_crypto(public_key, keyid=signature["keyid"])
    # `from_dict` consumes the dict it is given.
    verified = Envelope.from_dict(copy.deepcopy(envelope)).verify([key], 1)
    assert set(verified) == {signature["keyid"]}
    other = SSlibKey.from_crypto(load_pem_public_key(UNTRUSTED.read_bytes()), keyid=signature["keyid"])
    with pytest.raises(VerificationError):
        Envelope.from_dict(copy.deepcopy(envelope)).verify([other], 1)
    statement = json.loads(base64.b64decode(envelope["payload"]))
    assert statement["digest"] == Engine.from_directory(POLICIES).bundle_digest
