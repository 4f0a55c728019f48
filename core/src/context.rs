//! The evaluation context a caller passes with each intent: the time, earlier deployments,
//! pipeline evidence and approvals recorded by the control plane.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::ContextError;
use crate::timestamp::Timestamp;

/// An approval of a deployment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Approval {
    /// Who approved (email).
    pub by: String,
    /// The role they approved in, e.g. `release-approver`, `finops-approver`.
    pub role: String,
    /// When, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub at: Option<Timestamp>,
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// One earlier deployment, as the control plane or `--history` reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct HistoryEntry {
    /// The deployment id.
    pub deployment_id: String,
    /// `spec.service`.
    pub service: String,
    /// `spec.environment`.
    pub environment: String,
    /// `spec.artifact`.
    pub artifact: String,
    /// Lifecycle state (`SUCCESS`, `FAILED`, ...).
    pub state: String,
    /// When it reached that state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub finished_at: Option<Timestamp>,
}

/// Everything besides the intent and the bundle that a decision depends on. Two evaluations with
/// the same intent, bundle and context give byte-identical decisions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct EvaluationContext {
    /// The decision time (injected; the core never reads a clock).
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub now: Timestamp,
    /// Earlier deployments.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<HistoryEntry>,
    /// Evidence reported by a pipeline (smoke checks, observed artefact), for release gates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<serde_json::Value>))]
    pub evidence: Option<Value>,
    /// Approvals recorded outside the intent (e.g. by the control plane's approval endpoint).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub approvals: Vec<Approval>,
}

impl EvaluationContext {
    /// A context with only the decision time.
    pub fn at(now: Timestamp) -> Self {
        Self {
            now,
            history: Vec::new(),
            evidence: None,
            approvals: Vec::new(),
        }
    }

    /// Reads a context from its JSON form.
    pub fn from_json_value(value: Value) -> Result<Self, ContextError> {
        serde_json::from_value(value).map_err(|e| ContextError {
            message: e.to_string(),
        })
    }

    /// The context as policies see it at `input.context`.
    pub fn to_input_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}
