//! What callers send to the operations: approvals, cancellations and pipeline reports. Each is
//! read strictly (`deny_unknown_fields`); free text that is stored and shown is checked for
//! control and invisible formatting characters by the operation (`rules::has_control`). The
//! OpenAPI patterns name the formatting characters of the Basic Multilingual Plane; the few
//! outside it (Unicode category Cf above U+FFFF) are refused all the same, and a JSON Schema
//! pattern has no escape for them that every regex dialect reads alike.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// An approval of a deployment that awaits one.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ApprovalRequest {
    /// The approval role, e.g. `finops-approver` (must be one of the caller's approval roles).
    #[cfg_attr(
        feature = "openapi",
        schema(
            pattern = "^[^\\x00-\\x1f\\x7f-\\x9f\\u00ad\\u0600-\\u0605\\u061c\\u06dd\\u070f\\u0890-\\u0891\\u08e2\\u180e\\u200b-\\u200f\\u202a-\\u202e\\u2060-\\u2064\\u2066-\\u206f\\ufeff\\ufff9-\\ufffb]*$"
        )
    )]
    pub role: String,
    /// Free text on one line (control characters and invisible formatting characters, Unicode
    /// category Cf such as U+202E or U+200B, are refused).
    #[serde(default)]
    #[cfg_attr(
        feature = "openapi",
        schema(
            pattern = "^[^\\x00-\\x1f\\x7f-\\x9f\\u00ad\\u0600-\\u0605\\u061c\\u06dd\\u070f\\u0890-\\u0891\\u08e2\\u180e\\u200b-\\u200f\\u202a-\\u202e\\u2060-\\u2064\\u2066-\\u206f\\ufeff\\ufff9-\\ufffb]*$"
        )
    )]
    pub comment: Option<String>,
}

/// A cancellation.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CancelRequest {
    /// Why, on one line (control characters and invisible formatting characters, Unicode
    /// category Cf, are refused).
    #[serde(default)]
    #[cfg_attr(
        feature = "openapi",
        schema(
            pattern = "^[^\\x00-\\x1f\\x7f-\\x9f\\u00ad\\u0600-\\u0605\\u061c\\u06dd\\u070f\\u0890-\\u0891\\u08e2\\u180e\\u200b-\\u200f\\u202a-\\u202e\\u2060-\\u2064\\u2066-\\u206f\\ufeff\\ufff9-\\ufffb]*$"
        )
    )]
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
    /// Why it failed, on one line (control characters and invisible formatting characters,
    /// Unicode category Cf, are refused).
    #[serde(default)]
    #[cfg_attr(
        feature = "openapi",
        schema(
            pattern = "^[^\\x00-\\x1f\\x7f-\\x9f\\u00ad\\u0600-\\u0605\\u061c\\u06dd\\u070f\\u0890-\\u0891\\u08e2\\u180e\\u200b-\\u200f\\u202a-\\u202e\\u2060-\\u2064\\u2066-\\u206f\\ufeff\\ufff9-\\ufffb]*$"
        )
    )]
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
