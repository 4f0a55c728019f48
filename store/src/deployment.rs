//! Deployments as the store keeps them: the record (summary columns, the intent and its latest
//! admission decision, the ETag), built in one place from an intent; the list summary and the
//! list query with its page.

use gatehouse_core::{Decision, DeploymentStatus, State, Timestamp};
use serde::Serialize;
use serde_json::Value;

use crate::outbox::DispatchStatus;

/// The fields of an intent a deployment is listed and filtered by, read once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IntentFields {
    /// `spec.service`.
    pub service: String,
    /// `spec.version`.
    pub version: String,
    /// `spec.artifact`.
    pub artifact: String,
    /// `spec.environment`.
    pub environment: String,
    /// `spec.target.cloud`.
    pub cloud: String,
    /// `spec.target.account`.
    pub account: String,
    /// `spec.target.region`.
    pub region: String,
    /// `metadata.requested_by`.
    pub requested_by: String,
}

impl IntentFields {
    /// The fields of `intent`; a missing one is empty, a non-string one its JSON text.
    pub fn of(intent: &Value) -> Self {
        let spec = intent.get("spec");
        let target = spec.and_then(|s| s.get("target"));
        let text = |parent: Option<&Value>, key: &str| match parent.and_then(|p| p.get(key)) {
            None | Some(Value::Null) => String::new(),
            Some(Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
        };
        Self {
            service: text(spec, "service"),
            version: text(spec, "version"),
            artifact: text(spec, "artifact"),
            environment: text(spec, "environment"),
            cloud: text(target, "cloud"),
            account: text(target, "account"),
            region: text(target, "region"),
            requested_by: text(intent.get("metadata"), "requested_by"),
        }
    }
}

/// `spec.service` of an intent (empty when missing): whose history the policies see.
pub fn service_of(intent: &Value) -> String {
    IntentFields::of(intent).service
}

/// A deployment as stored: summary columns, the intent and its latest decision.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeploymentRecord {
    /// Id, e.g. `dep_0196f0c2...`.
    pub id: String,
    /// Current state.
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "VALIDATED"))]
    pub state: State,
    /// `spec.service`.
    pub service: String,
    /// `spec.version`.
    pub version: String,
    /// `spec.artifact`.
    pub artifact: String,
    /// `spec.environment`.
    pub environment: String,
    /// `spec.target.cloud`.
    pub cloud: String,
    /// `spec.target.account`.
    pub account: String,
    /// `spec.target.region`.
    pub region: String,
    /// `metadata.requested_by`.
    pub requested_by: String,
    /// The caller that submitted it.
    pub submitted_by: String,
    /// When it was submitted.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: Timestamp,
    /// Time of its last event.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub updated_at: Timestamp,
    /// The intent as submitted.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub intent: Value,
    /// The latest admission decision.
    #[cfg_attr(feature = "openapi", schema(value_type = gatehouse_core::Decision))]
    pub decision: Value,
    /// Digest of the bundle that made that decision.
    pub bundle_digest: String,
    /// The id of that decision (in the decision log); none for deployments stored before
    /// decisions had ids.
    pub decision_id: Option<String>,
    /// Seq of its last event.
    pub last_seq: u64,
    /// Hash of its last event: the ETag.
    pub last_hash: String,
}

impl DeploymentRecord {
    /// The record of a new deployment: `intent` as submitted by `submitted_by`, judged by
    /// `decision` (whose id is `decision_id`), whose events so far end in `status`.
    pub fn new(
        intent: Value,
        decision: &Decision,
        decision_id: &str,
        status: &DeploymentStatus,
        submitted_by: &str,
        created_at: Timestamp,
    ) -> Self {
        let fields = IntentFields::of(&intent);
        Self {
            id: status.deployment_id.clone(),
            state: status.state,
            service: fields.service,
            version: fields.version,
            artifact: fields.artifact,
            environment: fields.environment,
            cloud: fields.cloud,
            account: fields.account,
            region: fields.region,
            requested_by: fields.requested_by,
            submitted_by: submitted_by.to_owned(),
            created_at,
            updated_at: status.last_at,
            decision: decision.to_value(),
            bundle_digest: decision.bundle.digest.clone(),
            decision_id: Some(decision_id.to_owned()),
            last_seq: status.last_seq,
            last_hash: status.last_hash.clone(),
            intent,
        }
    }

    /// Where its event chain ends: what the next event is chained to.
    pub fn status(&self) -> DeploymentStatus {
        DeploymentStatus {
            deployment_id: self.id.clone(),
            state: self.state,
            last_seq: self.last_seq,
            last_hash: self.last_hash.clone(),
            last_at: self.updated_at,
        }
    }
}

/// A deployment in a list: the summary columns, its decision's outcome, its ETag and where its
/// dispatch is; no intent, no decision, no payload (the full view has them).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeploymentSummary {
    /// Id, e.g. `dep_0196f0c2...`.
    pub id: String,
    /// Current state.
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "VALIDATED"))]
    pub state: State,
    /// `spec.service`.
    pub service: String,
    /// `spec.version`.
    pub version: String,
    /// `spec.artifact`.
    pub artifact: String,
    /// `spec.environment`.
    pub environment: String,
    /// `spec.target.cloud`.
    pub cloud: String,
    /// `spec.target.account`.
    pub account: String,
    /// `spec.target.region`.
    pub region: String,
    /// `metadata.requested_by`.
    pub requested_by: String,
    /// The caller that submitted it.
    pub submitted_by: String,
    /// When it was submitted.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: Timestamp,
    /// Time of its last event.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub updated_at: Timestamp,
    /// The latest admission decision's outcome: `allow`, `deny` or `needs_approval`.
    pub outcome: String,
    /// Digest of the bundle that made that decision.
    pub bundle_digest: String,
    /// The value for `If-Match`: the last event's hash.
    pub etag: String,
    /// Where its latest dispatch is, once there is one.
    pub dispatch: Option<DispatchBrief>,
}

/// The status and attempts of a dispatch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DispatchBrief {
    /// Where it is.
    pub status: DispatchStatus,
    /// Attempts so far.
    pub attempts: u32,
}

/// Filters and paging of a deployment list.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    /// State.
    pub state: Option<State>,
    /// Environment.
    pub environment: Option<String>,
    /// Service.
    pub service: Option<String>,
    /// Cloud.
    pub cloud: Option<String>,
    /// Page size.
    pub limit: u32,
    /// Rows to skip (newest first).
    pub offset: u64,
}

/// A page of deployments.
#[derive(Debug, Clone)]
pub struct Page {
    /// The rows, newest first.
    pub items: Vec<DeploymentSummary>,
    /// Rows matching the filters.
    pub total: u64,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_fields_are_read_once_and_missing_ones_are_empty() {
        let intent = json!({
            "metadata": {"requested_by": "erin@example.com"},
            "spec": {"service": "web", "version": 3, "target": {"cloud": "aws", "region": null}}
        });
        let f = IntentFields::of(&intent);
        assert_eq!(f.service, "web");
        assert_eq!(f.version, "3");
        assert_eq!(f.cloud, "aws");
        assert_eq!(f.region, "");
        assert_eq!(f.account, "");
        assert_eq!(f.requested_by, "erin@example.com");
        assert_eq!(
            IntentFields::of(&json!("not an object")),
            IntentFields::default()
        );
    }
}
