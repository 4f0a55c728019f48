//! The control plane's refusals and failures as problems: the one place that holds the HTTP
//! status of each [`ControlErrorCode`], and the wording of remedies that are HTTP steps. The
//! control plane's messages speak of ETags, idempotency keys and reloads; here they become the
//! `If-Match` and `Idempotency-Key` headers, `Retry-After` and the endpoints to call. Every other
//! message is sent as the control plane words it.

use axum::http::StatusCode;
use gatehouse_control::{ControlError, ControlErrorCode, PermissionDenied};
use gatehouse_core::Diagnostic;

use crate::problem::Problem;

/// The HTTP status a code is answered with.
fn status(code: ControlErrorCode) -> StatusCode {
    use ControlErrorCode as Code;
    match code {
        Code::NotFound
        | Code::DecisionNotFound
        | Code::DecisionLogDisabled
        | Code::AttestationNotConfigured
        | Code::AttestationUnavailable => StatusCode::NOT_FOUND,
        Code::InvalidQuery => StatusCode::BAD_REQUEST,
        Code::StaleEtag | Code::StrongEtagRequired => StatusCode::PRECONDITION_FAILED,
        Code::NotAwaitingApproval
        | Code::AlreadyApproved
        | Code::IllegalTransition
        | Code::DispatchInFlight => StatusCode::CONFLICT,
        Code::Forbidden => StatusCode::FORBIDDEN,
        Code::InvalidIntent
        | Code::InvalidContext
        | Code::ControlCharacter
        | Code::InvalidRunUrl
        | Code::ReservedEvidence
        | Code::IdempotencyKeyReused
        | Code::DeliveryReused
        | Code::InvalidBundle => StatusCode::UNPROCESSABLE_ENTITY,
        Code::Unsigned | Code::StaleTimestamp | Code::BadSignature | Code::Unauthorized => {
            StatusCode::UNAUTHORIZED
        }
        Code::Overloaded
        | Code::Timeout
        | Code::Busy
        | Code::BundleMismatch
        | Code::DatabaseUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        Code::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// The problem's `detail`: the control plane's message, with a remedy that is an HTTP step
/// (a header to send, a delay to wait, an endpoint to call) said in HTTP terms.
pub(crate) fn detail(e: &ControlError) -> String {
    match e {
        ControlError::StaleEtag {
            deployment_id,
            current,
        } => format!(
            "If-Match does not match deployment `{deployment_id}`: its current ETag is \"{current}\"; GET it again, check its state, and retry"
        ),
        ControlError::ChangedMeanwhile {
            deployment_id,
            current,
        } => format!(
            "deployment `{deployment_id}` changed since you read it; its current ETag is \"{current}\": GET it again and retry with that If-Match"
        ),
        ControlError::StrongEtagRequired {
            deployment_id,
            current,
        } => format!(
            "If-Match must be the strong ETag of deployment `{deployment_id}` (its current one is \"{current}\"); `*` and weak ETags (`W/...`) are not accepted"
        ),
        ControlError::DispatchInFlight {
            deployment_id,
            lease_until,
        } => format!(
            "deployment `{deployment_id}` cannot be cancelled now: its pipeline trigger is being delivered (the dispatcher holds it until {lease_until}); once delivered the deployment is IN_PROGRESS and its pipeline reports the outcome, and if the delivery fails it can be cancelled: GET it again in a moment and retry"
        ),
        ControlError::InvalidIntent { errors, .. } => format!(
            "the intent does not match the DeploymentIntent schema ({} error{}); nothing was stored. `POST /v1/evaluate` shows the same errors as a decision",
            errors.len(),
            if errors.len() == 1 { "" } else { "s" }
        ),
        ControlError::IdempotencyKeyReused { key } => format!(
            "Idempotency-Key `{key}` was already used with a different body; use a new key for a new intent"
        ),
        ControlError::Overloaded(overloaded) => format!(
            "the server is evaluating as many intents as `limits.evaluation_concurrency` ({}) allows and none finished within {} ms; retry after the Retry-After delay",
            overloaded.slots, overloaded.waited_ms
        ),
        ControlError::DeadlineExceeded => "the request ran past the server's limit (`limits.request_timeout_ms`) and was rolled back: nothing was stored. Retry it; a submission retried with the same `Idempotency-Key` header is stored at most once".to_owned(),
        ControlError::BundleMismatch {
            replica_id,
            digest,
            revision,
            active,
        } => format!(
            "this server ({replica_id}) judges with bundle {digest} (revision `{revision}`) but the active bundle is {} (revision `{}`, loaded by {} at {}), so it judges nothing and takes no writes: load the active bundle here (SIGHUP or POST /v1/admin/reload after updating its directory) or send the request to a server that runs it; the active bundle changes only to a higher revision, so to roll back publish the older rules under a higher revision",
            active.digest, active.revision, active.activated_by, active.activated_at
        ),
        ControlError::StoreUnavailable { .. } => "the database is unavailable, so nothing was changed; retry after the Retry-After delay (the server log has the cause)".to_owned(),
        other => other.to_string(),
    }
}

/// Every refusal of the control plane as the problem it is answered with: the status its code
/// maps to, the headers that status calls for, and the individual errors it carries. A fault of
/// the server is the opaque 500, its cause logged.
impl From<ControlError> for Problem {
    fn from(e: ControlError) -> Self {
        let code = e.code();
        if code == ControlErrorCode::Internal {
            return Self::internal(e);
        }
        let mut problem = Self::new(status(code), code.as_str(), detail(&e)).with_status_headers();
        match e {
            ControlError::InvalidIntent {
                errors,
                decision_id,
            } => {
                problem.errors = errors;
                problem.decision_id = Some(decision_id.into_boxed_str());
            }
            ControlError::InvalidBundle { source } => problem.errors = source.details(),
            ControlError::StoreUnavailable { source } => {
                tracing::warn!(error = %source, "the database is unavailable");
            }
            _ => {}
        }
        problem
    }
}

/// A role that does not grant the request, refused before any operation runs (the token check).
impl From<PermissionDenied> for Problem {
    fn from(e: PermissionDenied) -> Self {
        ControlError::from(e).into()
    }
}

#[cfg(test)]
mod tests {
    use axum::http::header;

    use super::*;

    #[test]
    fn the_control_plane_names_no_http_step_and_the_problem_does() {
        let stale = ControlError::StaleEtag {
            deployment_id: "dep_1".into(),
            current: "abc".into(),
        };
        let message = stale.to_string();
        assert!(
            !message.contains("If-Match") && !message.contains("GET"),
            "{message}"
        );
        let problem = Problem::from(stale);
        assert_eq!(problem.status, StatusCode::PRECONDITION_FAILED);
        assert_eq!(problem.code, "stale_etag");
        assert_eq!(
            problem.detail,
            "If-Match does not match deployment `dep_1`: its current ETag is \"abc\"; GET it again, check its state, and retry"
        );

        let busy = Problem::from(ControlError::Busy {
            deployment_id: "dep_1".into(),
        });
        assert_eq!(busy.status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(
            busy.headers
                .iter()
                .any(|(name, _)| name == header::RETRY_AFTER)
        );
        let closed = Problem::from(ControlError::CallbacksDisabled);
        assert_eq!(
            (closed.status, closed.code.as_str()),
            (StatusCode::UNAUTHORIZED, "unauthorized")
        );
        assert!(
            closed
                .headers
                .iter()
                .any(|(name, _)| name == header::WWW_AUTHENTICATE)
        );
        let fault = Problem::from(ControlError::Internal {
            what: "test",
            detail: "secret cause".into(),
        });
        assert_eq!(fault.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!fault.detail.contains("secret cause"), "{}", fault.detail);
    }
}
