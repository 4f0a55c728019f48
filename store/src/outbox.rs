//! The dispatch outbox: one entry per pipeline trigger, written in the transaction that makes a
//! deployment VALIDATED, claimed with a lease before it is delivered, closed with its result.

use gatehouse_core::Timestamp;
use serde::Serialize;
use serde_json::Value;

/// Where a dispatch is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DispatchStatus {
    /// Waiting for its next attempt.
    Pending,
    /// The executor accepted it.
    Delivered,
    /// The retry budget ran out, or the executor refused it for good.
    Failed,
    /// The deployment was cancelled before it was delivered.
    Cancelled,
}

impl DispatchStatus {
    /// Stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
        }
    }

    /// The status a stored spelling names.
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "pending" => Self::Pending,
            "delivered" => Self::Delivered,
            "failed" => Self::Failed,
            "cancelled" => Self::Cancelled,
            _ => return None,
        })
    }
}

/// One outbox entry: the pipeline trigger for a VALIDATED deployment.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Dispatch {
    /// Outbox id.
    pub id: i64,
    /// The deployment.
    pub deployment_id: String,
    /// The executor kind it was written for.
    pub executor: String,
    /// What the executor sends (deployment id, intent, callback URL).
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub payload: Value,
    /// Attempts so far.
    pub attempts: u32,
    /// Where it is.
    pub status: DispatchStatus,
    /// When the next attempt is due.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub next_attempt_at: Timestamp,
    /// The last failure.
    pub last_error: Option<String>,
    /// What the executor returned (e.g. a commit id).
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub receipt: Option<Value>,
}

/// A new outbox entry.
#[derive(Debug, Clone, PartialEq)]
pub struct NewDispatch {
    /// The executor kind.
    pub executor: String,
    /// What it sends.
    pub payload: Value,
    /// First attempt time.
    pub due: Timestamp,
}

/// Closes an outbox entry.
#[derive(Debug, Clone, PartialEq)]
pub struct DispatchOutcome {
    /// The entry.
    pub dispatch_id: i64,
    /// Delivered or failed.
    pub status: DispatchStatus,
    /// Attempts made.
    pub attempts: u32,
    /// Failure reason.
    pub error: Option<String>,
    /// Executor receipt.
    pub receipt: Option<Value>,
}

/// A claim on due outbox entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    /// Who claims (one id per running dispatcher).
    pub owner: String,
    /// Now.
    pub now: Timestamp,
    /// When the lease ends.
    pub lease_until: Timestamp,
    /// At most this many entries.
    pub limit: usize,
}

/// A lease renewed right before an attempt: the attempt then runs under a lease of its own
/// (`dispatch.lease_ms`, longer than `dispatch.attempt_timeout_ms`), however long the earlier
/// entries of its batch took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Renewal {
    /// The entry.
    pub dispatch_id: i64,
    /// The claimer.
    pub owner: String,
    /// Now.
    pub now: Timestamp,
    /// When the renewed lease ends.
    pub lease_until: Timestamp,
}

/// A failed attempt to record on a claimed entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retry {
    /// The entry.
    pub dispatch_id: i64,
    /// The claimer (the update is dropped if the lease passed to another).
    pub owner: String,
    /// Attempts made.
    pub attempts: u32,
    /// When to try again.
    pub next_attempt_at: Timestamp,
    /// Why it failed (redacted).
    pub error: String,
}
