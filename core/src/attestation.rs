//! Decision attestations: a decision stated as an in-toto Statement v1 whose predicate is a SLSA
//! Verification Summary (VSA v1), signed in a DSSE envelope ([`crate::dsse`]), so a deploy step
//! can check with standard tools (cosign `verify-blob-attestation`, securesystemslib, the
//! `in-toto-attestation` parsers) that Gatehouse let this artifact through for this environment.
//!
//! What a statement says, and where (field by field in `docs/attestations.md`):
//!
//! - `subject`: the artifact, by name (the reference without `@sha256:…`) and SHA-256 digest.
//!   An artifact not pinned by digest gets no statement ([`AttestationError::ArtifactNotPinned`]):
//!   a statement's subject is a digest, and a tag can be moved after the decision.
//! - `predicate` (VSA v1): `verifier.id` (who decided), `timeVerified`, `resourceUri` (the
//!   reference as the intent gives it), `policy` (its URI and the bundle's SHA-256),
//!   `verificationResult` and `verifiedLevels`.
//! - `verificationResult` is `PASSED` only when the outcome lets the deployment proceed
//!   (`allow`). `needs_approval` is `FAILED`: the deployment may not proceed yet; once the
//!   approval is recorded the decision is made again and a new attestation (PASSED if it now
//!   allows) is issued. `deny` is `FAILED`.
//! - `verifiedLevels` holds one Gatehouse level, [`LEVEL_PASSED`], when PASSED, and the VSA's
//!   own `FAILED` otherwise. Never an `SLSA_` level: a policy decision says nothing about how
//!   the artifact was built, and the VSA reserves that prefix for SLSA's tracks.
//! - The decision's own facts (decision id, outcome, environment, stage, intent digest, bundle
//!   name and revision) are in the subject's `annotations` under [`ANNOTATION_KEY`]. The VSA's
//!   predicate has no field for them, and the `in-toto-attestation` package reads the predicate
//!   with protobuf's strict JSON parser, which refuses unknown fields (checked with 0.9.3);
//!   a resource descriptor's `annotations` is the place in-toto leaves for such metadata, and
//!   every parser accepts it.
//!
//! [`verify`] checks, in order: the envelope's shape and `payloadType`, a signature by a trusted
//! key (an unknown key and a bad signature are told apart, as for bundles), `_type`,
//! `predicateType`, the subject's digest, the environment and the verifier when expected, and a
//! `PASSED` result. Each failure is its own [`AttestationError`] variant with its own code.
//! This module does no I/O and reads no clock: the time is one of the facts.

use serde::{Deserialize, Serialize};

use crate::bundle::BundleInfo;
use crate::decision::Outcome;
use crate::dsse::{self, DsseError, Envelope, SigningKey, TrustedKey};
use crate::error::{Diagnostic, ErrorDetail};
use crate::timestamp::Timestamp;

/// The statement's `_type`: in-toto Statement v1.
pub const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";

/// The statement's `predicateType`: SLSA Verification Summary v1.
pub const PREDICATE_TYPE: &str = "https://slsa.dev/verification_summary/v1";

/// The envelope's `payloadType`: an in-toto statement.
pub const PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";

/// The key of the subject's annotation that holds the decision's facts.
pub const ANNOTATION_KEY: &str = "https://gatehouse.dev/attestation/decision/v1";

/// The verified level of a PASSED attestation: the deployment intent passed Gatehouse's
/// policies (a Gatehouse track, not a SLSA one).
pub const LEVEL_PASSED: &str = "GATEHOUSE_POLICY_PASSED";

/// The VSA's verified level of a failed verification.
pub const LEVEL_FAILED: &str = "FAILED";

/// What a decision says, as the issuer knows it: the input of [`statement`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecisionFacts {
    /// Who decided: the control plane's URL (`verifier.id`), or the CLI's id.
    pub verifier_id: String,
    /// When the decision was made.
    pub time_verified: Timestamp,
    /// The intent's `spec.artifact`, e.g. `registry/repo@sha256:<64 hex>`.
    pub artifact: String,
    /// The intent's environment.
    pub environment: String,
    /// The decision's id.
    pub decision_id: String,
    /// The decision's outcome as the decision contract spells it: `allow`, `needs_approval`,
    /// `deny`.
    pub outcome: String,
    /// The decision's stage: `admission` or `gates`.
    pub stage: String,
    /// The intent's digest (`sha256:<hex>`).
    pub intent_digest: String,
    /// The bundle the decision followed.
    pub bundle: BundleInfo,
    /// `policy.uri`: where the policy can be found (e.g. the control plane's bundle URL).
    pub policy_uri: String,
}

/// An in-toto Statement v1 with a SLSA Verification Summary predicate.
///
/// Read leniently, as in-toto asks of consumers: fields this type does not know are ignored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Statement {
    /// [`STATEMENT_TYPE`].
    #[serde(rename = "_type")]
    pub statement_type: String,
    /// The artifacts the statement is about (one: the decision's artifact).
    pub subject: Vec<Subject>,
    /// [`PREDICATE_TYPE`].
    #[serde(rename = "predicateType")]
    pub predicate_type: String,
    /// The verification summary.
    pub predicate: VerificationSummary,
}

/// A statement's subject: an in-toto resource descriptor with a name and a SHA-256 digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subject {
    /// The artifact's name: its reference without the digest.
    pub name: String,
    /// Its digest.
    pub digest: Digest,
    /// Metadata about it; Gatehouse's under [`ANNOTATION_KEY`].
    #[serde(default, skip_serializing_if = "Annotations::is_empty")]
    pub annotations: Annotations,
}

/// A digest set with a SHA-256 (other algorithms are ignored).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Digest {
    /// Lowercase hex SHA-256.
    pub sha256: String,
}

/// A subject's annotations as Gatehouse reads and writes them (others are ignored).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Annotations {
    /// The decision's facts.
    #[serde(
        rename = "https://gatehouse.dev/attestation/decision/v1",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub decision: Option<DecisionAnnotation>,
}

impl Annotations {
    fn is_empty(&self) -> bool {
        self.decision.is_none()
    }
}

/// The facts of the decision an attestation states, beyond what the VSA has fields for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecisionAnnotation {
    /// The decision's id.
    #[serde(rename = "decisionId")]
    pub decision_id: String,
    /// `allow`, `needs_approval` or `deny`.
    pub outcome: String,
    /// The environment the decision is for.
    pub environment: String,
    /// `admission` or `gates`.
    pub stage: String,
    /// The intent's digest (`sha256:<hex>`).
    #[serde(rename = "intentDigest")]
    pub intent_digest: String,
    /// The bundle's name.
    #[serde(rename = "bundleName")]
    pub bundle_name: String,
    /// The bundle's revision.
    #[serde(rename = "bundleRevision")]
    pub bundle_revision: String,
}

/// A SLSA Verification Summary v1 predicate (the fields Gatehouse writes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerificationSummary {
    /// Who verified.
    pub verifier: Verifier,
    /// When (RFC 3339, UTC).
    #[serde(rename = "timeVerified")]
    pub time_verified: Timestamp,
    /// The artifact's reference as the intent gives it.
    #[serde(rename = "resourceUri")]
    pub resource_uri: String,
    /// The policy the artifact was verified against.
    pub policy: Policy,
    /// `PASSED` or `FAILED`.
    #[serde(rename = "verificationResult")]
    pub verification_result: VerificationResult,
    /// [`LEVEL_PASSED`] or [`LEVEL_FAILED`].
    #[serde(rename = "verifiedLevels")]
    pub verified_levels: Vec<String>,
}

/// The VSA's verifier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verifier {
    /// Its URI.
    pub id: String,
}

/// The VSA's policy: a URI and the bundle's digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    /// Where the policy is.
    pub uri: String,
    /// The bundle's digest.
    pub digest: Digest,
}

/// The result of a verification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum VerificationResult {
    /// The deployment may proceed.
    #[serde(rename = "PASSED")]
    Passed,
    /// It may not (denied, or waiting for an approval).
    #[serde(rename = "FAILED")]
    Failed,
}

impl VerificationResult {
    /// `PASSED` or `FAILED`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Passed => "PASSED",
            Self::Failed => "FAILED",
        }
    }
}

impl Statement {
    /// The statement as compact JSON (the bytes that are signed). Fails when a field has no
    /// JSON form (a `timeVerified` outside the years RFC 3339 can write, 0000 to 9999).
    pub fn to_json(&self) -> Result<String, AttestationError> {
        serde_json::to_string(self).map_err(|e| AttestationError::InvalidFact {
            field: "statement",
            value: e.to_string(),
            reason: "it has no JSON form",
        })
    }

    /// The decision's facts, when the statement carries them.
    pub fn decision(&self) -> Option<&DecisionAnnotation> {
        self.subject
            .iter()
            .find_map(|s| s.annotations.decision.as_ref())
    }
}

/// Why a statement cannot be made, or an attestation does not hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AttestationError {
    /// The artifact has no `@sha256:<64 hex>` digest (or, as an expectation, is not
    /// `sha256:<64 hex>` either).
    #[error("artifact `{artifact}` is not pinned by digest (`…@sha256:<64 hex>`)")]
    ArtifactNotPinned {
        /// The reference.
        artifact: String,
    },
    /// A fact cannot be stated: an outcome the decision contract does not have, a bundle digest
    /// that is not `sha256:<64 hex>`.
    #[error("decision fact {field} `{value}` cannot be stated: {reason}")]
    InvalidFact {
        /// The fact.
        field: &'static str,
        /// Its value.
        value: String,
        /// What it must be.
        reason: &'static str,
    },
    /// Not a DSSE envelope, or its payload is not a statement of this shape.
    #[error("attestation is malformed: {reason}")]
    Malformed {
        /// What is wrong.
        reason: String,
    },
    /// The envelope's payload is of another type.
    #[error("attestation has payload type `{found}`, not `{PAYLOAD_TYPE}`")]
    PayloadType {
        /// The envelope's `payloadType`.
        found: String,
    },
    /// No signature is by a trusted key.
    #[error("attestation is signed by unknown key {}", dsse::list(key_ids))]
    UnknownKey {
        /// The key ids of the envelope's signatures.
        key_ids: Vec<String>,
    },
    /// A signature names a trusted key but does not verify.
    #[error("bad signature by key `{key_id}`: the attestation was changed after signing")]
    BadSignature {
        /// The trusted key's id.
        key_id: String,
    },
    /// The statement is not an in-toto Statement v1.
    #[error("statement type is `{found}`, not `{STATEMENT_TYPE}`")]
    StatementType {
        /// The statement's `_type`.
        found: String,
    },
    /// The predicate is not a SLSA verification summary v1.
    #[error("predicate type is `{found}`, not `{PREDICATE_TYPE}`")]
    PredicateType {
        /// The statement's `predicateType`.
        found: String,
    },
    /// No subject has the artifact's digest.
    #[error(
        "attestation is for {}, not for the artifact's `sha256:{expected}`",
        digests(found)
    )]
    SubjectMismatch {
        /// The artifact's SHA-256 (hex).
        expected: String,
        /// The subjects' SHA-256 digests (hex).
        found: Vec<String>,
    },
    /// The decision was for another environment (or the statement names none).
    #[error("attestation is for environment {}, not `{expected}`", quoted(found.as_deref()))]
    EnvironmentMismatch {
        /// The expected environment.
        expected: String,
        /// The statement's, if any.
        found: Option<String>,
    },
    /// Another verifier issued it.
    #[error("attestation was issued by verifier `{found}`, not `{expected}`")]
    VerifierMismatch {
        /// The expected `verifier.id`.
        expected: String,
        /// The statement's.
        found: String,
    },
    /// The verification did not pass.
    #[error(
        "attestation result is FAILED (decision outcome {}), not PASSED",
        quoted(outcome.as_deref())
    )]
    NotPassed {
        /// The decision's outcome, when the statement names it.
        outcome: Option<String>,
    },
}

fn digests(found: &[String]) -> String {
    if found.is_empty() {
        return "no sha256 digest".to_owned();
    }
    found
        .iter()
        .map(|d| format!("`sha256:{d}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn quoted(value: Option<&str>) -> String {
    value.map_or_else(|| "(none)".to_owned(), |v| format!("`{v}`"))
}

impl Diagnostic for AttestationError {
    fn code(&self) -> &'static str {
        match self {
            Self::ArtifactNotPinned { .. } => "attestation_artifact_not_pinned",
            Self::InvalidFact { .. } => "attestation_fact_invalid",
            Self::Malformed { .. } => "attestation_malformed",
            Self::PayloadType { .. } => "attestation_payload_type",
            Self::UnknownKey { .. } => "attestation_unknown_key",
            Self::BadSignature { .. } => "attestation_signature_invalid",
            Self::StatementType { .. } => "attestation_statement_type",
            Self::PredicateType { .. } => "attestation_predicate_type",
            Self::SubjectMismatch { .. } => "attestation_subject_mismatch",
            Self::EnvironmentMismatch { .. } => "attestation_environment_mismatch",
            Self::VerifierMismatch { .. } => "attestation_verifier_mismatch",
            Self::NotPassed { .. } => "attestation_not_passed",
        }
    }

    fn details(&self) -> Vec<ErrorDetail> {
        let help = match self {
            Self::ArtifactNotPinned { .. } => {
                Some("pin the artifact by digest: `registry/repo@sha256:<64 hex>`")
            }
            Self::UnknownKey { .. } => Some(
                "trust the issuer's public key with `--trusted-key`, or ask for an attestation signed by a trusted key",
            ),
            Self::NotPassed { .. } => Some(
                "do not deploy: the decision did not allow it (an approval gives a new attestation)",
            ),
            _ => None,
        };
        let detail = ErrorDetail::new(self.code(), self.to_string());
        vec![match help {
            Some(help) => detail.with_help(help),
            None => detail,
        }]
    }
}

/// The name and SHA-256 (hex) of a pinned reference `name@sha256:<64 hex>`; a bare
/// `sha256:<64 hex>` has an empty name.
fn split_pinned(artifact: &str) -> Result<(&str, &str), AttestationError> {
    let not_pinned = || AttestationError::ArtifactNotPinned {
        artifact: artifact.to_owned(),
    };
    let (name, hex) = match artifact.rsplit_once("@sha256:") {
        Some((name, hex)) if !name.is_empty() => (name, hex),
        Some(_) => return Err(not_pinned()),
        None => ("", artifact.strip_prefix("sha256:").ok_or_else(not_pinned)?),
    };
    if !is_sha256_hex(hex) {
        return Err(not_pinned());
    }
    Ok((name, hex))
}

fn is_sha256_hex(hex: &str) -> bool {
    hex.len() == 64 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// The statement of a decision. Fails when the artifact is not pinned by a SHA-256 digest, the
/// outcome is not one of the decision contract's, or the bundle digest is not `sha256:<hex>`.
pub fn statement(facts: &DecisionFacts) -> Result<Statement, AttestationError> {
    let (name, hex) = split_pinned(&facts.artifact)?;
    if name.is_empty() {
        // A bare digest names no artifact; an intent's artifact is always a reference.
        return Err(AttestationError::ArtifactNotPinned {
            artifact: facts.artifact.clone(),
        });
    }
    let outcome: Outcome = serde_json::from_value(serde_json::Value::String(facts.outcome.clone()))
        .map_err(|_| AttestationError::InvalidFact {
            field: "outcome",
            value: facts.outcome.clone(),
            reason: "one of `allow`, `needs_approval`, `deny`",
        })?;
    let bundle_hex = facts
        .bundle
        .digest
        .strip_prefix("sha256:")
        .filter(|hex| is_sha256_hex(hex))
        .ok_or_else(|| AttestationError::InvalidFact {
            field: "bundle digest",
            value: facts.bundle.digest.clone(),
            reason: "`sha256:<64 hex>`",
        })?;
    let (result, level) = match outcome {
        Outcome::Allow => (VerificationResult::Passed, LEVEL_PASSED),
        Outcome::NeedsApproval | Outcome::Deny => (VerificationResult::Failed, LEVEL_FAILED),
    };
    Ok(Statement {
        statement_type: STATEMENT_TYPE.to_owned(),
        subject: vec![Subject {
            name: name.to_owned(),
            digest: Digest {
                sha256: hex.to_owned(),
            },
            annotations: Annotations {
                decision: Some(DecisionAnnotation {
                    decision_id: facts.decision_id.clone(),
                    outcome: outcome.as_str().to_owned(),
                    environment: facts.environment.clone(),
                    stage: facts.stage.clone(),
                    intent_digest: facts.intent_digest.clone(),
                    bundle_name: facts.bundle.name.clone(),
                    bundle_revision: facts.bundle.revision.clone(),
                }),
            },
        }],
        predicate_type: PREDICATE_TYPE.to_owned(),
        predicate: VerificationSummary {
            verifier: Verifier {
                id: facts.verifier_id.clone(),
            },
            time_verified: facts.time_verified,
            resource_uri: facts.artifact.clone(),
            policy: Policy {
                uri: facts.policy_uri.clone(),
                digest: Digest {
                    sha256: bundle_hex.to_owned(),
                },
            },
            verification_result: result,
            verified_levels: vec![level.to_owned()],
        },
    })
}

/// Signs a statement: a DSSE envelope of its JSON, payload type [`PAYLOAD_TYPE`], with the
/// key's id in the signature. Fails only when the statement has no JSON form
/// ([`Statement::to_json`]).
pub fn sign(statement: &Statement, key: &SigningKey) -> Result<Envelope, AttestationError> {
    Ok(dsse::sign(
        PAYLOAD_TYPE,
        statement.to_json()?.as_bytes(),
        key,
    ))
}

/// What an attestation must say to be accepted by [`verify`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expectation<'a> {
    /// The artifact about to be deployed: a pinned reference (`name@sha256:<64 hex>`, only the
    /// digest is compared) or `sha256:<64 hex>`.
    pub artifact: &'a str,
    /// The environment it is deployed to, when checked.
    pub environment: Option<&'a str>,
    /// The issuer's `verifier.id`, when checked.
    pub verifier_id: Option<&'a str>,
}

/// Verifies an attestation (a DSSE envelope's JSON) before a deployment: signed by a trusted
/// key, an in-toto Statement v1 of a SLSA verification summary v1 whose subject has the
/// artifact's digest, for the expected environment and verifier when given, with a PASSED
/// result. Returns the statement.
pub fn verify(
    envelope_json: &str,
    trusted: &[TrustedKey],
    expect: &Expectation<'_>,
) -> Result<Statement, AttestationError> {
    let (_, expected_hex) = split_pinned(expect.artifact)?;
    let envelope = Envelope::from_json(envelope_json).map_err(from_dsse)?;
    let (payload, _key_id) = dsse::verify(&envelope, PAYLOAD_TYPE, trusted).map_err(from_dsse)?;
    // The types first, from the bare JSON: a statement of another type is named as such, not
    // reported as a shape this module does not know.
    let value: serde_json::Value =
        serde_json::from_slice(&payload).map_err(|e| AttestationError::Malformed {
            reason: format!("the payload is not JSON: {e}"),
        })?;
    let type_of = |field: &str| {
        value
            .get(field)
            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
            .unwrap_or_default()
    };
    let statement_type = type_of("_type");
    if statement_type != STATEMENT_TYPE {
        return Err(AttestationError::StatementType {
            found: statement_type,
        });
    }
    let predicate_type = type_of("predicateType");
    if predicate_type != PREDICATE_TYPE {
        return Err(AttestationError::PredicateType {
            found: predicate_type,
        });
    }
    let statement: Statement =
        serde_json::from_value(value).map_err(|e| AttestationError::Malformed {
            reason: format!("the payload is not a verification summary statement: {e}"),
        })?;
    if !statement
        .subject
        .iter()
        .any(|s| s.digest.sha256 == expected_hex)
    {
        return Err(AttestationError::SubjectMismatch {
            expected: expected_hex.to_owned(),
            found: statement
                .subject
                .iter()
                .map(|s| s.digest.sha256.clone())
                .collect(),
        });
    }
    let decision = statement.decision();
    if let Some(expected) = expect.environment {
        let found = decision.map(|d| d.environment.as_str());
        if found != Some(expected) {
            return Err(AttestationError::EnvironmentMismatch {
                expected: expected.to_owned(),
                found: found.map(str::to_owned),
            });
        }
    }
    if let Some(expected) = expect.verifier_id
        && statement.predicate.verifier.id != expected
    {
        return Err(AttestationError::VerifierMismatch {
            expected: expected.to_owned(),
            found: statement.predicate.verifier.id.clone(),
        });
    }
    if statement.predicate.verification_result != VerificationResult::Passed {
        return Err(AttestationError::NotPassed {
            outcome: decision.map(|d| d.outcome.clone()),
        });
    }
    Ok(statement)
}

fn from_dsse(error: DsseError) -> AttestationError {
    match error {
        DsseError::Malformed { reason } => AttestationError::Malformed { reason },
        DsseError::PayloadType { found, .. } => AttestationError::PayloadType { found },
        DsseError::UnknownKey { key_ids } => AttestationError::UnknownKey { key_ids },
        DsseError::BadSignature { key_id } => AttestationError::BadSignature { key_id },
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;

    use super::*;

    const TRUSTED: &str = include_str!("../tests/fixtures/test-only-keys/trusted.pem");
    const UNTRUSTED: &str = include_str!("../tests/fixtures/test-only-keys/untrusted.pem");
    const TRUSTED_PUB: &str = include_str!("../tests/fixtures/test-only-keys/trusted.pub.pem");
    const HEX: &str = "4f3c2b1a0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b";
    const OTHER_HEX: &str = "0000000000000000000000000000000000000000000000000000000000000001";
    const BUNDLE_HEX: &str = "aa3c2b1a0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4cff";

    fn facts(outcome: &str) -> DecisionFacts {
        DecisionFacts {
            verifier_id: "https://gatehouse.example.com".to_owned(),
            time_verified: Timestamp::parse("2026-12-07T10:00:00Z").unwrap(),
            artifact: format!("registry.example.com/payments-api@sha256:{HEX}"),
            environment: "prod".to_owned(),
            decision_id: "dec_1".to_owned(),
            outcome: outcome.to_owned(),
            stage: "admission".to_owned(),
            intent_digest: "sha256:1234".to_owned(),
            bundle: BundleInfo {
                name: "reference".to_owned(),
                revision: "2026.12.1".to_owned(),
                digest: format!("sha256:{BUNDLE_HEX}"),
            },
            policy_uri: "https://gatehouse.example.com/v1/bundle".to_owned(),
        }
    }

    fn key(pem: &str) -> SigningKey {
        SigningKey::from_pem(pem).unwrap()
    }

    fn trusted() -> Vec<TrustedKey> {
        vec![TrustedKey::from_pem(TRUSTED_PUB).unwrap()]
    }

    fn signed(outcome: &str) -> String {
        sign(&statement(&facts(outcome)).unwrap(), &key(TRUSTED))
            .unwrap()
            .to_json()
    }

    fn expect(artifact: &str) -> Expectation<'_> {
        Expectation {
            artifact,
            environment: Some("prod"),
            verifier_id: Some("https://gatehouse.example.com"),
        }
    }

    fn pinned() -> String {
        format!("registry.example.com/payments-api@sha256:{HEX}")
    }

    /// The envelope with its payload's JSON edited (signature untouched).
    fn edit_payload(envelope: &str, edit: impl FnOnce(&mut serde_json::Value)) -> String {
        let mut envelope: Envelope = serde_json::from_str(envelope).unwrap();
        let mut value: serde_json::Value =
            serde_json::from_slice(&STANDARD.decode(&envelope.payload).unwrap()).unwrap();
        edit(&mut value);
        envelope.payload = STANDARD.encode(serde_json::to_vec(&value).unwrap());
        envelope.to_json()
    }

    /// A statement edited, then signed by the trusted key (what a trusted issuer with a bug, or
    /// a stolen key, would produce).
    fn resigned(outcome: &str, edit: impl FnOnce(&mut serde_json::Value)) -> String {
        let mut value = serde_json::to_value(statement(&facts(outcome)).unwrap()).unwrap();
        edit(&mut value);
        dsse::sign(
            PAYLOAD_TYPE,
            &serde_json::to_vec(&value).unwrap(),
            &key(TRUSTED),
        )
        .to_json()
    }

    #[test]
    fn the_statement_is_an_in_toto_vsa_with_the_decision_facts() {
        let value = serde_json::to_value(statement(&facts("allow")).unwrap()).unwrap();
        assert_eq!(
            value,
            serde_json::json!({
                "_type": "https://in-toto.io/Statement/v1",
                "subject": [{
                    "name": "registry.example.com/payments-api",
                    "digest": {"sha256": HEX},
                    "annotations": {"https://gatehouse.dev/attestation/decision/v1": {
                        "decisionId": "dec_1", "outcome": "allow", "environment": "prod",
                        "stage": "admission", "intentDigest": "sha256:1234",
                        "bundleName": "reference", "bundleRevision": "2026.12.1"
                    }}
                }],
                "predicateType": "https://slsa.dev/verification_summary/v1",
                "predicate": {
                    "verifier": {"id": "https://gatehouse.example.com"},
                    "timeVerified": "2026-12-07T10:00:00Z",
                    "resourceUri": format!("registry.example.com/payments-api@sha256:{HEX}"),
                    "policy": {"uri": "https://gatehouse.example.com/v1/bundle",
                               "digest": {"sha256": BUNDLE_HEX}},
                    "verificationResult": "PASSED",
                    "verifiedLevels": ["GATEHOUSE_POLICY_PASSED"]
                }
            })
        );
        assert!(
            value["subject"][0]["annotations"]
                .get(ANNOTATION_KEY)
                .is_some()
        );
    }

    #[test]
    fn only_allow_passes() {
        for (outcome, result, level) in [
            ("allow", VerificationResult::Passed, LEVEL_PASSED),
            ("needs_approval", VerificationResult::Failed, LEVEL_FAILED),
            ("deny", VerificationResult::Failed, LEVEL_FAILED),
        ] {
            let statement = statement(&facts(outcome)).unwrap();
            assert_eq!(statement.predicate.verification_result, result);
            assert_eq!(statement.predicate.verified_levels, vec![level.to_owned()]);
            assert!(!level.starts_with("SLSA_"));
        }
        assert_eq!(
            statement(&facts("maybe")).unwrap_err().code(),
            "attestation_fact_invalid"
        );
    }

    #[test]
    fn an_unpinned_artifact_has_no_statement() {
        for artifact in [
            "registry.example.com/payments-api:1.4.2",
            "registry.example.com/payments-api@sha256:abc",
            &format!("sha256:{HEX}"),
            &format!("@sha256:{HEX}"),
            &format!(
                "registry.example.com/payments-api@sha256:{}",
                HEX.to_uppercase()
            ),
        ] {
            let mut facts = facts("allow");
            facts.artifact = artifact.to_owned();
            assert_eq!(
                statement(&facts),
                Err(AttestationError::ArtifactNotPinned {
                    artifact: artifact.to_owned()
                }),
                "{artifact}"
            );
        }
    }

    #[test]
    fn a_signed_passed_attestation_verifies_by_ref_or_by_digest() {
        let envelope = signed("allow");
        let statement = verify(&envelope, &trusted(), &expect(&pinned())).unwrap();
        assert_eq!(statement.decision().unwrap().decision_id, "dec_1");
        let bare = format!("sha256:{HEX}");
        let loose = Expectation {
            artifact: &bare,
            environment: None,
            verifier_id: None,
        };
        verify(&envelope, &trusted(), &loose).unwrap();
        // The signature names its key, and the envelope is DSSE's in-toto type.
        let parsed: Envelope = serde_json::from_str(&envelope).unwrap();
        assert_eq!(parsed.payload_type, "application/vnd.in-toto+json");
        assert_eq!(parsed.signatures[0].keyid, trusted()[0].key_id());
    }

    #[test]
    fn a_payload_changed_after_signing_is_a_bad_signature() {
        // The attack: a FAILED attestation edited to say PASSED.
        let envelope = edit_payload(&signed("deny"), |v| {
            v["predicate"]["verificationResult"] = "PASSED".into();
        });
        let err = verify(&envelope, &trusted(), &expect(&pinned())).unwrap_err();
        assert_eq!(
            err,
            AttestationError::BadSignature {
                key_id: trusted()[0].key_id().to_owned()
            }
        );
        assert_eq!(err.code(), "attestation_signature_invalid");
        // And another artifact's digest put in the subject.
        let envelope = edit_payload(&signed("allow"), |v| {
            v["subject"][0]["digest"]["sha256"] = OTHER_HEX.into();
        });
        let other = format!("registry.example.com/payments-api@sha256:{OTHER_HEX}");
        assert_eq!(
            verify(&envelope, &trusted(), &expect(&other))
                .unwrap_err()
                .code(),
            "attestation_signature_invalid"
        );
    }

    #[test]
    fn a_signature_by_another_key_is_an_unknown_key() {
        let other = key(UNTRUSTED);
        let envelope = sign(&statement(&facts("allow")).unwrap(), &other)
            .unwrap()
            .to_json();
        let err = verify(&envelope, &trusted(), &expect(&pinned())).unwrap_err();
        assert_eq!(
            err,
            AttestationError::UnknownKey {
                key_ids: vec![other.key_id().to_owned()]
            }
        );
        assert!(err.to_string().contains(other.key_id()), "{err}");
        // Another key under the trusted key's id: a bad signature, not an unknown key.
        let impostor = key(UNTRUSTED).with_key_id(trusted()[0].key_id()).unwrap();
        let envelope = sign(&statement(&facts("allow")).unwrap(), &impostor)
            .unwrap()
            .to_json();
        assert_eq!(
            verify(&envelope, &trusted(), &expect(&pinned()))
                .unwrap_err()
                .code(),
            "attestation_signature_invalid"
        );
        // Several trusted keys (a rotation): either verifies.
        let both = vec![
            key(UNTRUSTED).trusted_key(),
            TrustedKey::from_pem(TRUSTED_PUB).unwrap(),
        ];
        verify(&signed("allow"), &both, &expect(&pinned())).unwrap();
    }

    #[test]
    fn an_attestation_for_another_artifact_digest_is_refused() {
        let other = format!("registry.example.com/payments-api@sha256:{OTHER_HEX}");
        let err = verify(&signed("allow"), &trusted(), &expect(&other)).unwrap_err();
        assert_eq!(
            err,
            AttestationError::SubjectMismatch {
                expected: OTHER_HEX.to_owned(),
                found: vec![HEX.to_owned()]
            }
        );
        assert_eq!(err.code(), "attestation_subject_mismatch");
        assert!(err.to_string().contains(OTHER_HEX), "{err}");
        // The same name, another digest: the name is not what is compared.
        let err = verify(
            &signed("allow"),
            &trusted(),
            &expect("registry.example.com/payments-api:1.4.2"),
        )
        .unwrap_err();
        assert_eq!(err.code(), "attestation_artifact_not_pinned");
    }

    #[test]
    fn an_attestation_for_another_environment_is_refused() {
        let pinned = pinned();
        let expectation = Expectation {
            environment: Some("dev"),
            ..expect(&pinned)
        };
        let err = verify(&signed("allow"), &trusted(), &expectation).unwrap_err();
        assert_eq!(
            err,
            AttestationError::EnvironmentMismatch {
                expected: "dev".to_owned(),
                found: Some("prod".to_owned())
            }
        );
        assert_eq!(
            err.to_string(),
            "attestation is for environment `prod`, not `dev`"
        );
        // A statement with no decision facts names no environment: refused when one is expected.
        let envelope = resigned("allow", |v| {
            v["subject"][0]
                .as_object_mut()
                .unwrap()
                .remove("annotations");
        });
        assert_eq!(
            verify(&envelope, &trusted(), &expect(&pinned))
                .unwrap_err()
                .code(),
            "attestation_environment_mismatch"
        );
    }

    #[test]
    fn an_attestation_by_another_verifier_is_refused() {
        let pinned = pinned();
        let expectation = Expectation {
            verifier_id: Some("https://other.example.com"),
            ..expect(&pinned)
        };
        assert_eq!(
            verify(&signed("allow"), &trusted(), &expectation).unwrap_err(),
            AttestationError::VerifierMismatch {
                expected: "https://other.example.com".to_owned(),
                found: "https://gatehouse.example.com".to_owned()
            }
        );
    }

    #[test]
    fn a_genuinely_signed_failed_result_is_refused() {
        for outcome in ["deny", "needs_approval"] {
            let err = verify(&signed(outcome), &trusted(), &expect(&pinned())).unwrap_err();
            assert_eq!(
                err,
                AttestationError::NotPassed {
                    outcome: Some(outcome.to_owned())
                }
            );
            assert_eq!(err.code(), "attestation_not_passed");
        }
    }

    #[test]
    fn a_swapped_predicate_type_is_refused() {
        let envelope = resigned("allow", |v| {
            v["predicateType"] = "https://slsa.dev/provenance/v1".into();
        });
        let err = verify(&envelope, &trusted(), &expect(&pinned())).unwrap_err();
        assert_eq!(
            err,
            AttestationError::PredicateType {
                found: "https://slsa.dev/provenance/v1".to_owned()
            }
        );
        // And edited after signing: the signature fails first.
        let envelope = edit_payload(&signed("allow"), |v| {
            v["predicateType"] = "https://slsa.dev/provenance/v1".into();
        });
        assert_eq!(
            verify(&envelope, &trusted(), &expect(&pinned()))
                .unwrap_err()
                .code(),
            "attestation_signature_invalid"
        );
    }

    #[test]
    fn a_swapped_statement_type_is_refused() {
        let envelope = resigned("allow", |v| {
            v["_type"] = "https://in-toto.io/Statement/v0.1".into();
        });
        let err = verify(&envelope, &trusted(), &expect(&pinned())).unwrap_err();
        assert_eq!(
            err,
            AttestationError::StatementType {
                found: "https://in-toto.io/Statement/v0.1".to_owned()
            }
        );
        assert_eq!(err.code(), "attestation_statement_type");
    }

    #[test]
    fn another_payload_type_or_a_malformed_envelope_is_refused() {
        let mut envelope: Envelope = serde_json::from_str(&signed("allow")).unwrap();
        envelope.payload_type = "application/vnd.gatehouse.bundle+json".to_owned();
        assert_eq!(
            verify(&envelope.to_json(), &trusted(), &expect(&pinned())).unwrap_err(),
            AttestationError::PayloadType {
                found: "application/vnd.gatehouse.bundle+json".to_owned()
            }
        );
        for text in ["", "{}", "[]", r#"{"payloadType": 1}"#] {
            assert_eq!(
                verify(text, &trusted(), &expect(&pinned()))
                    .unwrap_err()
                    .code(),
                "attestation_malformed",
                "{text}"
            );
        }
        // A bundle statement signed by the trusted key is not an attestation.
        let bundle = dsse::sign(
            "application/vnd.gatehouse.bundle+json",
            b"{}",
            &key(TRUSTED),
        );
        assert_eq!(
            verify(&bundle.to_json(), &trusted(), &expect(&pinned()))
                .unwrap_err()
                .code(),
            "attestation_payload_type"
        );
    }
}
