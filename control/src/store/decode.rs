//! Column lists and value decoding shared by the SQLite and PostgreSQL stores: both keep the
//! same columns as text and integers, so reading a value back (a timestamp, JSON, a state, an
//! event type, a dispatch status) is one function for both; a value that does not parse is
//! [`StoreError::Corrupt`]. Each backend's `rows` module reads its driver's rows with these.

use gatehouse_core::{EventType, Stage, State, Timestamp};

use crate::decision_log::DecisionSource;
use crate::outbox::DispatchStatus;
use crate::store::StoreError;

/// The columns of a deployment record, in the order the backends' `record` reads them.
pub(crate) const RECORD_COLUMNS: &str = "id, state, service, version, artifact, environment, cloud, account, region, \
     requested_by, submitted_by, created_at, updated_at, intent, decision, bundle_digest, last_seq, last_hash, \
     decision_id";

/// The columns of a decision log record, in the order the backends' `decision` reads them.
pub(crate) const DECISION_COLUMNS: &str = "decision_id, at, stage, source, caller, deployment_id, replica_id, \
     bundle_digest, bundle_revision, outcome, intent, masked, decision, evaluated_at";

/// The columns of a ledger entry, in the order the backends' `entry` reads them.
pub(crate) const EVENT_COLUMNS: &str =
    "position, deployment_id, seq, type, at, actor, data, prev_hash, hash, link";

/// The columns of an outbox entry, in the order the backends' `dispatch` reads them.
pub(crate) const DISPATCH_COLUMNS: &str = "o.id, o.deployment_id, o.executor, o.payload, o.attempts, o.status, \
     o.next_attempt_at, o.last_error, o.receipt";

/// A stored RFC 3339 timestamp; `what` names the column in the error.
pub(crate) fn time(what: &'static str, text: &str) -> Result<Timestamp, StoreError> {
    Timestamp::parse(text).map_err(|e| StoreError::corrupt(what, e))
}

/// A stored JSON document.
pub(crate) fn json(what: &'static str, text: &str) -> Result<serde_json::Value, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::corrupt(what, e))
}

/// A `COUNT(*)` (never negative).
pub(crate) fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// A stored non-negative integer.
pub(crate) fn unsigned(what: &'static str, n: i64) -> Result<u64, StoreError> {
    u64::try_from(n).map_err(|e| StoreError::corrupt(what, e))
}

/// A stored deployment state (`VALIDATED`...).
pub(crate) fn state(text: &str) -> Result<State, StoreError> {
    serde_json::from_value(serde_json::Value::String(text.to_owned()))
        .map_err(|_| StoreError::corrupt("deployment state", format!("unknown state `{text}`")))
}

/// A stored event type.
pub(crate) fn event_type(text: &str) -> Result<EventType, StoreError> {
    serde_json::from_value(serde_json::Value::String(text.to_owned()))
        .map_err(|_| StoreError::corrupt("event type", format!("unknown event type `{text}`")))
}

/// A stored dispatch status.
pub(crate) fn dispatch_status(text: &str) -> Result<DispatchStatus, StoreError> {
    DispatchStatus::parse(text).ok_or_else(|| {
        StoreError::corrupt(
            "dispatch status",
            format!("unknown dispatch status `{text}`"),
        )
    })
}

/// A logged decision's stage.
pub(crate) fn stage(text: &str) -> Result<Stage, StoreError> {
    serde_json::from_value(serde_json::Value::String(text.to_owned()))
        .map_err(|_| StoreError::corrupt("decision stage", format!("unknown stage `{text}`")))
}

/// A logged decision's source.
pub(crate) fn source(text: &str) -> Result<DecisionSource, StoreError> {
    DecisionSource::parse(text)
        .ok_or_else(|| StoreError::corrupt("decision source", format!("unknown source `{text}`")))
}

/// The paths a logged intent had masked.
pub(crate) fn masked(text: &str) -> Result<Vec<String>, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::corrupt("masked paths", e))
}
