//! Reading attestations back: a deployment's latest, or a decision's. Each answers the DSSE
//! envelope's JSON as it was signed and stored, or says why there is none.

use gatehouse_store::attestations::AttestationRecord;

use super::ControlPlane;
use crate::access::{Permission, Principal};
use crate::error::ControlError;

impl ControlPlane {
    /// The envelope of deployment `id`'s latest attested decision (any reader).
    pub async fn deployment_attestation(&self, id: &str) -> Result<String, ControlError> {
        self.current(id).await?;
        let stored = self.store.latest_attestation(id).await?;
        self.envelope_of(format!("deployment `{id}`"), stored)
    }

    /// The envelope of decision `decision_id`, for an auditor or admin (like the decision log).
    pub async fn decision_attestation(
        &self,
        principal: &Principal,
        decision_id: &str,
    ) -> Result<String, ControlError> {
        principal.require(Permission::Audit)?;
        let stored = self.store.attestation(decision_id).await?;
        self.envelope_of(format!("decision `{decision_id}`"), stored)
    }

    /// The stored envelope, or why there is none: no key configured, the decision was not
    /// attested (made before attestations, not a decision on a deployment, unknown), or the
    /// reason stored with it (an artifact not pinned by digest).
    fn envelope_of(
        &self,
        subject: String,
        stored: Option<AttestationRecord>,
    ) -> Result<String, ControlError> {
        let configured = self
            .config
            .attestations
            .as_ref()
            .is_some_and(|c| c.signing_key.is_some());
        match stored {
            Some(AttestationRecord {
                envelope: Some(envelope),
                ..
            }) => Ok(envelope),
            Some(AttestationRecord { unavailable, .. }) => {
                Err(ControlError::AttestationUnavailable {
                    subject,
                    reason: unavailable.unwrap_or_else(|| "none was issued".into()),
                })
            }
            None if !configured => Err(ControlError::AttestationNotConfigured { subject }),
            None => Err(ControlError::AttestationUnavailable {
                subject,
                reason: "no attestation was issued for it (a decision made before attestations were configured, a preview, or an unknown id)".into(),
            }),
        }
    }
}
