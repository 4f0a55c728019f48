//! Deployments as the store keeps them: the head every view starts with (id, state, the
//! intent's listed fields, submitter, times), read once from an intent; the record (the head,
//! the intent and its latest admission decision, the ETag) and the list summary (the head, the
//! outcome, the ETag, the dispatch) built on it; the list query and its page, with the offset
//! of the next page.

use gatehouse_core::{Decision, DeploymentStatus, State, Timestamp};
use serde::Serialize;
use serde_json::Value;

use crate::outbox::DispatchStatus;

/// The summary columns every view of a deployment starts with, in this order: its id and state,
/// the intent's fields it is listed and filtered by, who submitted it and when. The stored
/// record and the list summary both flatten it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeploymentHead {
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
}

impl DeploymentHead {
    /// The head of the deployment of `intent`, submitted by `submitted_by` at `created_at`,
    /// whose events so far end in `status`. The intent's fields are read once: a missing one is
    /// empty, a non-string one its JSON text.
    pub fn new(
        intent: &Value,
        status: &DeploymentStatus,
        submitted_by: &str,
        created_at: Timestamp,
    ) -> Self {
        let spec = intent.get("spec");
        let target = spec.and_then(|s| s.get("target"));
        Self {
            id: status.deployment_id.clone(),
            state: status.state,
            service: text(spec, "service"),
            version: text(spec, "version"),
            artifact: text(spec, "artifact"),
            environment: text(spec, "environment"),
            cloud: text(target, "cloud"),
            account: text(target, "account"),
            region: text(target, "region"),
            requested_by: text(intent.get("metadata"), "requested_by"),
            submitted_by: submitted_by.to_owned(),
            created_at,
            updated_at: status.last_at,
        }
    }
}

/// The field `key` of `parent` as listed: empty when missing or null, a string as is, any
/// other value its JSON text.
fn text(parent: Option<&Value>, key: &str) -> String {
    match parent.and_then(|p| p.get(key)) {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// `spec.service` of an intent (empty when missing): whose history the policies see.
pub fn service_of(intent: &Value) -> String {
    text(intent.get("spec"), "service")
}

/// A deployment as stored: summary columns, the intent and its latest decision.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeploymentRecord {
    /// Id, state, the intent's listed fields, submitter and times.
    #[serde(flatten)]
    pub head: DeploymentHead,
    /// The intent as submitted.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub intent: Value,
    /// The latest admission decision.
    pub decision: Decision,
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
        Self {
            head: DeploymentHead::new(&intent, status, submitted_by, created_at),
            decision: decision.clone(),
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
            deployment_id: self.head.id.clone(),
            state: self.head.state,
            last_seq: self.last_seq,
            last_hash: self.last_hash.clone(),
            last_at: self.head.updated_at,
        }
    }
}

/// A deployment in a list: the summary columns, its decision's outcome, its ETag and where its
/// dispatch is; no intent, no decision, no payload (the full view has them).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeploymentSummary {
    /// Id, state, the intent's listed fields, submitter and times.
    #[serde(flatten)]
    pub head: DeploymentHead,
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
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeploymentPage {
    /// Newest first: summaries without intent, decision or dispatch payload
    /// (`GET /v1/deployments/{id}` has them).
    pub items: Vec<DeploymentSummary>,
    /// Matching deployments.
    pub total: u64,
    /// Page size used.
    pub limit: u32,
    /// Offset used.
    pub offset: u64,
    /// Offset of the next page, if any.
    pub next_offset: Option<u64>,
}

impl DeploymentPage {
    /// The page `query` asked for: `items` of the `total` deployments matching its filters.
    /// There is a next page when this one is not empty and ends before the last match.
    pub fn new(items: Vec<DeploymentSummary>, total: u64, query: &ListQuery) -> Self {
        let next = query.offset.saturating_add(items.len() as u64);
        Self {
            next_offset: (next < total && !items.is_empty()).then_some(next),
            items,
            total,
            limit: query.limit,
            offset: query.offset,
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// `dep_1`, VALIDATED at its second event, and the time of that event.
    fn validated() -> (DeploymentStatus, Timestamp) {
        let at: Timestamp = "2026-11-23T12:00:00Z".parse().unwrap();
        let status = DeploymentStatus {
            deployment_id: "dep_1".into(),
            state: State::Validated,
            last_seq: 2,
            last_hash: "h2".into(),
            last_at: at,
        };
        (status, at)
    }

    #[test]
    fn the_intent_fields_are_read_once_and_missing_ones_are_empty() {
        let intent = json!({
            "metadata": {"requested_by": "erin@example.com"},
            "spec": {"service": "web", "version": 3, "target": {"cloud": "aws", "region": null}}
        });
        let (status, at) = validated();
        let head = DeploymentHead::new(&intent, &status, "ci@example.com", at);
        assert_eq!(head.id, "dep_1");
        assert_eq!(head.service, "web");
        assert_eq!(head.version, "3");
        assert_eq!(head.cloud, "aws");
        assert_eq!(head.region, "");
        assert_eq!(head.account, "");
        assert_eq!(head.requested_by, "erin@example.com");
        let empty = DeploymentHead::new(&json!("not an object"), &status, "ci@example.com", at);
        assert_eq!(
            [
                empty.service,
                empty.version,
                empty.cloud,
                empty.requested_by
            ],
            ["", "", "", ""]
        );
        assert_eq!(service_of(&intent), "web");
    }

    #[test]
    fn a_page_has_a_next_offset_while_matches_remain() {
        let query = ListQuery {
            limit: 2,
            offset: 4,
            ..ListQuery::default()
        };
        let (status, at) = validated();
        let row = DeploymentSummary {
            head: DeploymentHead::new(&json!({}), &status, "ci", at),
            outcome: "allow".into(),
            bundle_digest: "sha256:x".into(),
            etag: "h2".into(),
            dispatch: None,
        };
        let page = |rows: usize, total: u64| {
            DeploymentPage::new(vec![row.clone(); rows], total, &query).next_offset
        };
        assert_eq!(page(2, 7), Some(6));
        assert_eq!(page(2, 6), None);
        assert_eq!(page(0, 3), None);
        let full = DeploymentPage::new(vec![row.clone()], 9, &query);
        assert_eq!((full.limit, full.offset, full.total), (2, 4, 9));
    }

    #[test]
    fn a_record_serialises_its_head_first_in_field_order() {
        let (status, at) = validated();
        let record = DeploymentRecord {
            head: DeploymentHead::new(&json!({}), &status, "ci", at),
            intent: json!({}),
            decision: crate::testing::decision(gatehouse_core::Outcome::Allow, &[]),
            bundle_digest: "sha256:x".into(),
            decision_id: None,
            last_seq: 2,
            last_hash: "h2".into(),
        };
        // The top-level keys: the decision's own are left out.
        let decision = serde_json::to_string(&record.decision).unwrap();
        let text = serde_json::to_string(&record)
            .unwrap()
            .replace(&decision, "{}");
        let keys: Vec<&str> = text
            .split(',')
            .filter_map(|part| part.trim_start_matches('{').split('"').nth(1))
            .collect();
        assert_eq!(
            keys,
            [
                "id",
                "state",
                "service",
                "version",
                "artifact",
                "environment",
                "cloud",
                "account",
                "region",
                "requested_by",
                "submitted_by",
                "created_at",
                "updated_at",
                "intent",
                "decision",
                "bundle_digest",
                "decision_id",
                "last_seq",
                "last_hash"
            ]
        );
    }
}
