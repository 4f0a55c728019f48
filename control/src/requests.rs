//! What callers send to the operations: approvals, cancellations and pipeline reports. Each is
//! read strictly (`deny_unknown_fields`); free text that is stored and shown is checked for
//! control characters by the operation.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// An approval of a deployment that awaits one.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ApprovalRequest {
    /// The approval role, e.g. `finops-approver` (must be one of the caller's approval roles).
    #[cfg_attr(feature = "openapi", schema(pattern = "^[^\\x00-\\x1f\\x7f-\\x9f]*$"))]
    pub role: String,
    /// Free text on one line (control characters are refused).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(pattern = "^[^\\x00-\\x1f\\x7f-\\x9f]*$"))]
    pub comment: Option<String>,
}

/// A cancellation.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CancelRequest {
    /// Why, on one line (control characters are refused).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(pattern = "^[^\\x00-\\x1f\\x7f-\\x9f]*$"))]
    pub reason: Option<String>,
}

/// A pipeline's report on a deployment.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Callback {
    /// What happened.
    pub status: CallbackStatus,
    /// The pipeline run.
    #[serde(default)]
    pub run_url: Option<String>,
    /// Smoke results and the observed deployment, checked by the release gates:
    /// `{"smoke": [{"name", "passed", "details"?}], "observed": {"artifact", "account", "region"}}`.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub evidence: Option<Value>,
    /// Why it failed.
    #[serde(default)]
    pub reason: Option<String>,
}

/// What a pipeline reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum CallbackStatus {
    /// The run began.
    Started,
    /// The run finished; the release gates decide SUCCESS or FAILED.
    Succeeded,
    /// The run failed.
    Failed,
}

impl CallbackStatus {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Started => "started",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
        }
    }
}
