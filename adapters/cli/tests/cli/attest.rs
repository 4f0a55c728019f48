//! Decision attestations through the binary (issue 22): `check --attestation` signs the
//! decision's statement with the key in the environment, `attest verify` checks it; every attack
//! exits 1 with its own code and message. Statements a trusted issuer never wrote (a swapped
//! predicate or statement type) are signed here by openssl over the DSSE pre-authentication
//! encoding, a signer that is not Gatehouse's.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::support::{APPROVALS, HISTORY, NOW, Output, assert_code, gatehouse, root, run};

const ALLOWED: &str = "policies/examples/payments-api-near-budget-allowed.yaml";
const DENIED: &str = "policies/examples/payments-api-docker-hub-denied.yaml";
const NEEDS_APPROVAL: &str = "policies/examples/payments-api-over-budget-needs-approval.yaml";
const UNPINNED: &str = "policies/examples/web-frontend-unpinned-dev-allowed.yaml";
/// The artifact of the three pinned intents above (`registry.example.com/payments/api` for two
/// of them).
const ARTIFACT: &str = "registry.example.com/payments/api@sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
const OTHER_ARTIFACT: &str = "registry.example.com/payments/api@sha256:0000000000000000000000000000000000000000000000000000000000000001";
const KEYS: &str = "core/tests/fixtures/test-only-keys";
const VERIFIER: &str = "https://gatehouse.example.com";
const PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";

fn key(name: &str) -> PathBuf {
    root().join(KEYS).join(name)
}

/// `gatehouse` without any attestation key from the environment that runs the tests.
fn bare() -> Command {
    let mut command = gatehouse();
    command
        .env_remove("GATEHOUSE_ATTESTATION_KEY")
        .env_remove("GATEHOUSE_ATTESTATION_KEY_FILE");
    command
}

/// `check` of one intent writing `--attestation` (and `--attestation-predicate`) into `dir`.
fn check(command: &mut Command, intent: &str, dir: &Path) -> Output {
    run(command
        .args([
            "check",
            "--format",
            "json",
            "--now",
            NOW,
            "--history",
            HISTORY,
            "--approvals",
            APPROVALS,
            "--verifier-id",
            VERIFIER,
            "--attestation",
        ])
        .arg(dir.join("attestation.json"))
        .arg("--attestation-predicate")
        .arg(dir.join("predicate.json"))
        .arg(intent))
}

/// The envelope `check` writes for `intent` with the key file `private` (its exit code checked).
fn signed(intent: &str, private: &str, code: i32) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().expect("temp dir");
    let out = check(
        bare().env("GATEHOUSE_ATTESTATION_KEY_FILE", key(private)),
        intent,
        tmp.path(),
    );
    assert_code(&out, code);
    let path = tmp.path().join("attestation.json");
    (tmp, path)
}

fn verify(envelope: &Path, artifact: &str, extra: &[&str]) -> Output {
    run(bare()
        .args(["attest", "verify", "--trusted-key"])
        .arg(key("trusted.pub.pem"))
        .args(["--artifact", artifact])
        .args(extra)
        .arg(envelope))
}

/// `attest verify` refuses with exit 1, naming the code and `message` on stderr.
#[track_caller]
fn assert_refused(out: &Output, code: &str, message: &str) {
    assert_code(out, 1);
    assert!(out.stdout.is_empty(), "{out}");
    assert!(out.stderr.contains(code), "{out}");
    assert!(out.stderr.contains(message), "{out}");
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("file written")).expect("JSON")
}

fn b64(args: &[&str], input: &[u8]) -> Vec<u8> {
    use std::io::Write as _;
    let mut child = Command::new("base64")
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("base64 runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input)
        .expect("write");
    let out = child.wait_with_output().expect("base64 ends");
    assert!(out.status.success());
    out.stdout
}

/// The statement inside an envelope.
fn payload(envelope: &Value) -> Value {
    let text = envelope["payload"].as_str().expect("payload");
    serde_json::from_slice(&b64(&["-d"], text.as_bytes())).expect("payload is JSON")
}

/// The envelope with its payload replaced, the signature kept.
fn with_payload(envelope: &Value, statement: &Value) -> Value {
    let mut envelope = envelope.clone();
    let encoded = b64(&["-w0"], statement.to_string().as_bytes());
    envelope
        .as_object_mut()
        .expect("an envelope is an object")
        .insert(
            "payload".to_owned(),
            Value::String(String::from_utf8(encoded).expect("base64 is ASCII")),
        );
    envelope
}

/// An envelope of `statement` signed by openssl with `private` over DSSE's PAE.
fn openssl_signed(dir: &Path, statement: &Value, private: &Path) -> PathBuf {
    let body = statement.to_string();
    let mut pae = format!(
        "DSSEv1 {} {PAYLOAD_TYPE} {} ",
        PAYLOAD_TYPE.len(),
        body.len()
    )
    .into_bytes();
    pae.extend_from_slice(body.as_bytes());
    let pae_path = dir.join("pae.bin");
    let sig_path = dir.join("sig.bin");
    std::fs::write(&pae_path, &pae).expect("write PAE");
    let ok = Command::new("openssl")
        .args(["pkeyutl", "-sign", "-rawin", "-inkey"])
        .arg(private)
        .arg("-in")
        .arg(&pae_path)
        .arg("-out")
        .arg(&sig_path)
        .status()
        .expect("openssl runs")
        .success();
    assert!(ok, "openssl pkeyutl -sign failed");
    let sig = std::fs::read(&sig_path).expect("signature");
    let envelope = serde_json::json!({
        "payloadType": PAYLOAD_TYPE,
        "payload": String::from_utf8(b64(&["-w0"], body.as_bytes())).expect("ASCII"),
        "signatures": [{"keyid": "", "sig": String::from_utf8(b64(&["-w0"], &sig)).expect("ASCII")}],
    });
    let path = dir.join("forged.json");
    std::fs::write(&path, envelope.to_string()).expect("write envelope");
    path
}

#[test]
fn check_signs_with_the_key_from_the_environment_and_attest_verify_accepts_it() {
    let (tmp, envelope) = signed(ALLOWED, "trusted.pem", 0);
    let out = verify(
        &envelope,
        ARTIFACT,
        &["--environment", "prod", "--verifier", VERIFIER],
    );
    assert_code(&out, 0);
    assert!(
        out.stdout
            .starts_with(&format!("verified: {ARTIFACT} PASSED (allow in `prod`")),
        "{out}"
    );
    assert_eq!(out.stdout.lines().count(), 1, "{out}");
    // By bare digest too, and as JSON.
    let digest = ARTIFACT.split_once('@').expect("pinned").1;
    let out = verify(&envelope, digest, &["--format", "json"]);
    assert_code(&out, 0);
    let json: Value = serde_json::from_str(&out.stdout).expect("JSON");
    assert_eq!(json["verified"], true);
    assert_eq!(
        json["statement"]["predicate"]["verificationResult"],
        "PASSED"
    );
    // The predicate file is the statement's predicate.
    let statement = payload(&read_json(&envelope));
    assert_eq!(
        read_json(&tmp.path().join("predicate.json")),
        statement["predicate"]
    );
    assert_eq!(statement["predicate"]["verifier"]["id"], VERIFIER);
    assert_eq!(
        statement["subject"][0]["name"],
        "registry.example.com/payments/api"
    );
    // The key as PEM text in GATEHOUSE_ATTESTATION_KEY signs the same bytes (ed25519 is
    // deterministic, and the decision time is fixed).
    let tmp2 = tempfile::tempdir().expect("temp dir");
    let pem = std::fs::read_to_string(key("trusted.pem")).expect("key");
    assert_code(
        &check(
            bare().env("GATEHOUSE_ATTESTATION_KEY", pem),
            ALLOWED,
            tmp2.path(),
        ),
        0,
    );
    assert_eq!(
        std::fs::read(tmp2.path().join("attestation.json")).expect("written"),
        std::fs::read(&envelope).expect("written")
    );
}

#[test]
fn without_a_key_check_writes_the_unsigned_statement() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let out = check(&mut bare(), NEEDS_APPROVAL, tmp.path());
    assert_code(&out, 1);
    let statement = read_json(&tmp.path().join("attestation.json"));
    assert_eq!(statement["_type"], "https://in-toto.io/Statement/v1");
    assert_eq!(
        statement["predicateType"],
        "https://slsa.dev/verification_summary/v1"
    );
    assert_eq!(statement["predicate"]["verificationResult"], "FAILED");
    assert_eq!(
        statement["subject"][0]["annotations"]["https://gatehouse.dev/attestation/decision/v1"]["outcome"],
        "needs_approval"
    );
    // An unsigned statement is not an attestation.
    let out = verify(&tmp.path().join("attestation.json"), ARTIFACT, &[]);
    assert_refused(&out, "attestation_malformed", "attestation is malformed");
}

#[test]
fn a_payload_changed_after_signing_is_refused() {
    let (tmp, envelope) = signed(DENIED, "trusted.pem", 1);
    let original = read_json(&envelope);
    let mut statement = payload(&original);
    // A FAILED decision presented as PASSED.
    statement["predicate"]["verificationResult"] = "PASSED".into();
    let edited = tmp.path().join("edited.json");
    std::fs::write(&edited, with_payload(&original, &statement).to_string()).expect("write");
    let out = verify(
        &edited,
        "docker.io/library/nginx@sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        &[],
    );
    assert_refused(
        &out,
        "attestation_signature_invalid",
        "the attestation was changed after signing",
    );
}

#[test]
fn a_genuinely_signed_failed_result_is_refused() {
    let (_tmp, envelope) = signed(NEEDS_APPROVAL, "trusted.pem", 1);
    let out = verify(&envelope, ARTIFACT, &["--environment", "prod"]);
    assert_refused(
        &out,
        "attestation_not_passed",
        "attestation result is FAILED (decision outcome `needs_approval`), not PASSED",
    );
}

#[test]
fn a_signature_by_another_key_is_refused() {
    let (_tmp, envelope) = signed(ALLOWED, "untrusted.pem", 0);
    let out = verify(&envelope, ARTIFACT, &[]);
    assert_refused(
        &out,
        "attestation_unknown_key",
        "attestation is signed by unknown key",
    );
    // Trusting both keys (a rotation) accepts it.
    let out = run(bare()
        .args(["attest", "verify", "--trusted-key"])
        .arg(key("trusted.pub.pem"))
        .arg("--trusted-key")
        .arg(key("untrusted.pub.pem"))
        .args(["--artifact", ARTIFACT])
        .arg(&envelope));
    assert_code(&out, 0);
}

#[test]
fn an_attestation_for_another_artifact_or_environment_or_verifier_is_refused() {
    let (_tmp, envelope) = signed(ALLOWED, "trusted.pem", 0);
    assert_refused(
        &verify(&envelope, OTHER_ARTIFACT, &[]),
        "attestation_subject_mismatch",
        "not for the artifact's `sha256:0000000000000000000000000000000000000000000000000000000000000001`",
    );
    assert_refused(
        &verify(&envelope, ARTIFACT, &["--environment", "dev"]),
        "attestation_environment_mismatch",
        "attestation is for environment `prod`, not `dev`",
    );
    assert_refused(
        &verify(
            &envelope,
            ARTIFACT,
            &["--verifier", "https://other.example.com"],
        ),
        "attestation_verifier_mismatch",
        "not `https://other.example.com`",
    );
}

#[test]
fn swapped_statement_and_predicate_types_are_refused() {
    let (tmp, envelope) = signed(ALLOWED, "trusted.pem", 0);
    let statement = payload(&read_json(&envelope));
    // Edited after signing: the signature fails.
    let mut edited = statement.clone();
    edited["predicateType"] = "https://slsa.dev/provenance/v1".into();
    let path = tmp.path().join("edited.json");
    std::fs::write(
        &path,
        with_payload(&read_json(&envelope), &edited).to_string(),
    )
    .expect("write");
    assert_refused(
        &verify(&path, ARTIFACT, &[]),
        "attestation_signature_invalid",
        "changed after signing",
    );
    // Signed by the trusted key (a signer that is not Gatehouse's): the type is named.
    let forged = openssl_signed(tmp.path(), &edited, &key("trusted.pem"));
    assert_refused(
        &verify(&forged, ARTIFACT, &[]),
        "attestation_predicate_type",
        "predicate type is `https://slsa.dev/provenance/v1`, not `https://slsa.dev/verification_summary/v1`",
    );
    let mut edited = statement.clone();
    edited["_type"] = "https://in-toto.io/Statement/v0.1".into();
    let forged = openssl_signed(tmp.path(), &edited, &key("trusted.pem"));
    assert_refused(
        &verify(&forged, ARTIFACT, &[]),
        "attestation_statement_type",
        "statement type is `https://in-toto.io/Statement/v0.1`, not `https://in-toto.io/Statement/v1`",
    );
    // The unedited statement signed the same way verifies: the refusals above are the types'.
    let forged = openssl_signed(tmp.path(), &statement, &key("trusted.pem"));
    assert_code(&verify(&forged, ARTIFACT, &[]), 0);
}

#[test]
fn an_unpinned_artifact_is_a_usage_error() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let out = check(
        bare().env("GATEHOUSE_ATTESTATION_KEY_FILE", key("trusted.pem")),
        UNPINNED,
        tmp.path(),
    );
    assert_code(&out, 2);
    assert!(
        out.stderr.contains("attestation_artifact_not_pinned"),
        "{out}"
    );
    assert!(
        out.stderr
            .contains("artifact `ghcr.io/acme/web-frontend:latest` is not pinned by digest"),
        "{out}"
    );
    assert!(!tmp.path().join("attestation.json").exists());
    // Without the attestation flags the same intent checks as before.
    let out = run(bare()
        .args([
            "check",
            "--now",
            NOW,
            "--history",
            HISTORY,
            "--approvals",
            APPROVALS,
        ])
        .arg(UNPINNED));
    assert_code(&out, 0);
    // `attest verify --artifact` with a tag.
    let (_tmp, envelope) = signed(ALLOWED, "trusted.pem", 0);
    let out = verify(&envelope, "registry.example.com/payments/api:1.4.2", &[]);
    assert_code(&out, 2);
    assert!(
        out.stderr.contains("attestation_artifact_not_pinned"),
        "{out}"
    );
}

#[test]
fn usage_errors_exit_2() {
    let tmp = tempfile::tempdir().expect("temp dir");
    // An unreadable envelope.
    assert_code(&verify(&tmp.path().join("missing.json"), ARTIFACT, &[]), 2);
    // A key that is not a key.
    let out = check(
        bare().env("GATEHOUSE_ATTESTATION_KEY", "not a key"),
        ALLOWED,
        tmp.path(),
    );
    assert_code(&out, 2);
    assert!(out.stderr.contains("signing_key_invalid"), "{out}");
    assert!(!tmp.path().join("attestation.json").exists());
    // Several intents for one attestation.
    let out = check(&mut bare(), "policies/examples", tmp.path());
    assert_code(&out, 2);
    assert!(out.stderr.contains("give one intent file"), "{out}");
}
