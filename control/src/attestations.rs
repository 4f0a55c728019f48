//! Decision attestations on the control plane (`[attestations]`): every decision the control
//! plane makes on a deployment (its admission at submission, each approval's re-evaluation, the
//! release gates of a reported success) is issued as an in-toto Statement with a SLSA
//! verification summary, signed in a DSSE envelope with the server's key
//! ([`gatehouse_core::attestation`]), stored with the decision in the same transaction, carried
//! by the dispatch to the pipeline, and served by the API.
//!
//! - Signing never touches the decision: the envelope is made from the decision after it is
//!   final, and stored beside it (the decision's bytes are those of every other front end).
//! - An artifact not pinned by digest gets no attestation (a statement's subject is a digest):
//!   the reason is stored instead, and the API answers it.
//! - With `require_for_truth`, the deployment-truth gate needs the attestation the pipeline found
//!   on the artifact it deployed (`evidence.observed.attestation`), verified here against the
//!   trusted keys for the observed artifact's digest, the deployment's environment and this
//!   server's verifier id; the verdict reaches the policies as `evidence.attestation_verified`
//!   (and `evidence.attestation_problem`), fields a pipeline may never set itself.

use std::sync::Arc;

use gatehouse_core::{SigningKey, Timestamp, TrustedKey};
use gatehouse_store::attestations::AttestationRecord;
use serde_json::Value;

/// The evidence field through which the control plane tells the deployment-truth gate whether
/// the attestation of the deployed artifact verified (set only with `require_for_truth`).
pub const VERIFIED_FIELD: &str = "attestation_verified";

/// The evidence field naming why it did not verify.
pub const PROBLEM_FIELD: &str = "attestation_problem";

/// The evidence fields only the control plane writes; a report that carries one is refused.
pub const RESERVED_FIELDS: [&str; 2] = [VERIFIED_FIELD, PROBLEM_FIELD];

/// How the control plane issues and checks attestations.
#[derive(Debug, Clone)]
pub struct AttestationConfig {
    /// The key decisions are signed with; none: no attestation is issued.
    pub signing_key: Option<Arc<SigningKey>>,
    /// `verifier.id` of every statement (the server's public URL by default).
    pub verifier_id: String,
    /// The keys an attestation presented to the deployment-truth gate must be signed by (the
    /// signing key's own public key by default).
    pub trusted_keys: Vec<TrustedKey>,
    /// The deployment-truth gate requires a verified PASSED attestation of the deployed
    /// artifact for the deployment's environment.
    pub require_for_truth: bool,
}

/// What a decision on a deployment is attested with.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Attested<'a> {
    /// The decision.
    pub decision: &'a gatehouse_core::Decision,
    /// Its id.
    pub decision_id: &'a str,
    /// Admission or gates.
    pub stage: gatehouse_core::Stage,
    /// The deployment.
    pub deployment_id: &'a str,
    /// `spec.artifact` of its intent.
    pub artifact: &'a str,
    /// `spec.environment` of its intent.
    pub environment: &'a str,
}

impl AttestationConfig {
    /// The attestation of `attested` at `now`: the signed envelope, or why none is issued (an
    /// artifact not pinned by digest). `None` without a signing key.
    pub(crate) fn issue(
        &self,
        attested: Attested<'_>,
        policy_uri: &str,
        now: Timestamp,
    ) -> Option<AttestationRecord> {
        let key = self.signing_key.as_deref()?;
        let facts = gatehouse_core::attestation::DecisionFacts {
            verifier_id: self.verifier_id.clone(),
            time_verified: now,
            artifact: attested.artifact.to_owned(),
            environment: attested.environment.to_owned(),
            decision_id: attested.decision_id.to_owned(),
            outcome: attested.decision.outcome.as_str().to_owned(),
            stage: attested.stage.as_str().to_owned(),
            intent_digest: attested.decision.intent_digest.clone(),
            bundle: attested.decision.bundle.clone(),
            policy_uri: policy_uri.to_owned(),
        };
        let signed = gatehouse_core::attestation::statement(&facts)
            .and_then(|statement| gatehouse_core::attestation::sign(&statement, key));
        let (envelope, unavailable) = match signed {
            Ok(envelope) => (Some(envelope.to_json()), None),
            Err(e) => (None, Some(e.to_string())),
        };
        Some(AttestationRecord {
            decision_id: attested.decision_id.to_owned(),
            deployment_id: attested.deployment_id.to_owned(),
            at: now,
            envelope,
            unavailable,
        })
    }

    /// Checks the envelope a pipeline presented for the artifact it deployed: signed by a
    /// trusted key, about `artifact`'s digest in `environment`, by this verifier, PASSED.
    /// `Err` says why not.
    pub(crate) fn verify_presented(
        &self,
        envelope: Option<&Value>,
        artifact: Option<&str>,
        environment: &str,
    ) -> Result<(), String> {
        let Some(envelope) = envelope else {
            return Err("the pipeline presented no attestation (`evidence.observed.attestation`) for the deployed artifact".into());
        };
        let Some(artifact) = artifact else {
            return Err(
                "the pipeline reported no observed artifact to check the attestation against"
                    .into(),
            );
        };
        // The envelope as an object, or as the JSON text of one.
        let text = match envelope {
            Value::String(text) => text.clone(),
            other => other.to_string(),
        };
        let expectation = gatehouse_core::attestation::Expectation {
            artifact,
            environment: Some(environment),
            verifier_id: Some(&self.verifier_id),
        };
        gatehouse_core::attestation::verify(&text, &self.trusted_keys, &expectation)
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}
