//! The stable machine codes of the control plane's refusals and failures
//! ([`crate::ControlError::code`]). A code names a kind of refusal for programs: a transport
//! sends it as is (`gatehouse-http` puts it in the problem JSON's `code` and derives the HTTP
//! status from it), and callers branch on it rather than on the message, which is for people.
//! Several refusals can share a code when a caller handles them alike (every refusal by role or
//! ownership is `forbidden`).
//!
//! The enum is exhaustive on purpose: a new code makes every transport's mapping stop compiling
//! until it says how to answer it.

use serde::Serialize;

/// A stable machine code, spelled in snake_case (`stale_etag`) on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ControlErrorCode {
    /// No deployment has the id asked for.
    NotFound,
    /// No logged decision has the id asked for.
    DecisionNotFound,
    /// The decision log is off and holds nothing to read.
    DecisionLogDisabled,
    /// No attestation is issued: no signing key is configured.
    AttestationNotConfigured,
    /// No attestation is stored for the decision or deployment.
    AttestationUnavailable,
    /// A paging cursor that this server did not hand out.
    InvalidQuery,
    /// The ETag a change names is not the deployment's current one.
    StaleEtag,
    /// A change names `*` or a weak ETag instead of the deployment's ETag.
    StrongEtagRequired,
    /// An approval of a deployment that does not await one.
    NotAwaitingApproval,
    /// The approver already approved in this role.
    AlreadyApproved,
    /// The deployment's state does not allow the operation.
    IllegalTransition,
    /// A cancel while the deployment's pipeline trigger is being delivered.
    DispatchInFlight,
    /// The caller's role, approval roles or ownership do not allow the operation.
    Forbidden,
    /// The intent does not match the DeploymentIntent schema.
    InvalidIntent,
    /// The evaluation context is malformed.
    InvalidContext,
    /// Free text with a control or invisible formatting character.
    ControlCharacter,
    /// A pipeline's `run_url` that is not an absolute http(s) URL.
    InvalidRunUrl,
    /// A pipeline report sets an evidence field only the control plane writes.
    ReservedEvidence,
    /// An idempotency key used before with another body.
    IdempotencyKeyReused,
    /// A callback delivery id used before with another body.
    DeliveryReused,
    /// A signed request lacks a signature header, or one is malformed.
    Unsigned,
    /// A signed request's timestamp is outside the accepted window.
    StaleTimestamp,
    /// A signed request's signature does not match.
    BadSignature,
    /// The caller cannot be authenticated (callbacks without a pipeline secret).
    Unauthorized,
    /// Every evaluation slot stayed busy.
    Overloaded,
    /// The operation ran past its deadline and was rolled back.
    Timeout,
    /// The deployment kept changing while a report was recorded.
    Busy,
    /// The bundle on disk does not load.
    InvalidBundle,
    /// This server judges with another bundle than the active one.
    BundleMismatch,
    /// The database cannot be reached or is busy.
    DatabaseUnavailable,
    /// A fault of the server (the store failed, or a bug); its cause is for the log only.
    Internal,
}

impl ControlErrorCode {
    /// The code as sent, e.g. `stale_etag`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotFound => "not_found",
            Self::DecisionNotFound => "decision_not_found",
            Self::DecisionLogDisabled => "decision_log_disabled",
            Self::AttestationNotConfigured => "attestation_not_configured",
            Self::AttestationUnavailable => "attestation_unavailable",
            Self::InvalidQuery => "invalid_query",
            Self::StaleEtag => "stale_etag",
            Self::StrongEtagRequired => "strong_etag_required",
            Self::NotAwaitingApproval => "not_awaiting_approval",
            Self::AlreadyApproved => "already_approved",
            Self::IllegalTransition => "illegal_transition",
            Self::DispatchInFlight => "dispatch_in_flight",
            Self::Forbidden => "forbidden",
            Self::InvalidIntent => "invalid_intent",
            Self::InvalidContext => "invalid_context",
            Self::ControlCharacter => "control_character",
            Self::InvalidRunUrl => "invalid_run_url",
            Self::ReservedEvidence => "reserved_evidence",
            Self::IdempotencyKeyReused => "idempotency_key_reused",
            Self::DeliveryReused => "delivery_reused",
            Self::Unsigned => "unsigned",
            Self::StaleTimestamp => "stale_timestamp",
            Self::BadSignature => "bad_signature",
            Self::Unauthorized => "unauthorized",
            Self::Overloaded => "overloaded",
            Self::Timeout => "timeout",
            Self::Busy => "busy",
            Self::InvalidBundle => "invalid_bundle",
            Self::BundleMismatch => "bundle_mismatch",
            Self::DatabaseUnavailable => "database_unavailable",
            Self::Internal => "internal",
        }
    }
}

impl std::fmt::Display for ControlErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::ControlErrorCode::{self, *};

    #[test]
    fn the_wire_spelling_is_the_serde_spelling() {
        let every = [
            NotFound,
            DecisionNotFound,
            DecisionLogDisabled,
            AttestationNotConfigured,
            AttestationUnavailable,
            InvalidQuery,
            StaleEtag,
            StrongEtagRequired,
            NotAwaitingApproval,
            AlreadyApproved,
            IllegalTransition,
            DispatchInFlight,
            Forbidden,
            InvalidIntent,
            InvalidContext,
            ControlCharacter,
            InvalidRunUrl,
            ReservedEvidence,
            IdempotencyKeyReused,
            DeliveryReused,
            Unsigned,
            StaleTimestamp,
            BadSignature,
            Unauthorized,
            Overloaded,
            Timeout,
            Busy,
            InvalidBundle,
            BundleMismatch,
            DatabaseUnavailable,
            Internal,
        ];
        for code in every {
            assert_eq!(
                serde_json::to_value(code).unwrap(),
                code.as_str(),
                "{code:?}"
            );
        }
        assert_eq!(ControlErrorCode::StaleEtag.to_string(), "stale_etag");
    }
}
