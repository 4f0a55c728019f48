//! The stable machine codes of the control plane's refusals and failures
//! ([`crate::ControlError::code`]). A code names a kind of refusal for programs: a transport
//! sends it as is (`gatehouse-http` puts it in the problem JSON's `code` and derives the HTTP
//! status from it), and callers branch on it rather than on the message, which is for people.
//! Several refusals can share a code when a caller handles them alike (every refusal by role or
//! ownership is `forbidden`).
//!
//! The enum is exhaustive on purpose: a new code makes every transport's mapping stop compiling
//! until it says how to answer it. Each code is spelled once, by its variant's name in
//! snake_case (strum); `Display`, [`ControlErrorCode::as_str`] and serde all use that spelling.

use serde::Serialize;

/// A stable machine code, spelled in snake_case (`stale_etag`) on the wire.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, strum::IntoStaticStr, strum::Display,
)]
#[serde(into = "&'static str")]
#[strum(serialize_all = "snake_case")]
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
        self.into()
    }
}

#[cfg(test)]
mod tests {
    use super::ControlErrorCode;

    #[test]
    fn codes_are_their_names_in_snake_case_everywhere() {
        // Pins the wire spelling of multi-word names: a renamed variant changes a code callers
        // branch on, and this test says so.
        for (code, wire) in [
            (ControlErrorCode::StaleEtag, "stale_etag"),
            (ControlErrorCode::StrongEtagRequired, "strong_etag_required"),
            (
                ControlErrorCode::IdempotencyKeyReused,
                "idempotency_key_reused",
            ),
            (
                ControlErrorCode::AttestationNotConfigured,
                "attestation_not_configured",
            ),
            (ControlErrorCode::Internal, "internal"),
        ] {
            assert_eq!(code.as_str(), wire);
            assert_eq!(code.to_string(), wire);
            assert_eq!(serde_json::to_value(code).unwrap(), wire);
        }
    }
}
