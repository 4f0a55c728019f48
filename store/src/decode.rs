//! Value decoding shared by the SQLite and PostgreSQL stores: both keep the same columns as text
//! and integers, so reading a value back (a timestamp, JSON, a state, an event type, a dispatch
//! status) is one function for both; a value that does not parse is [`StoreError::Corrupt`].
//! The row readers (`rows`) use these, and so do the backends for single values.

use gatehouse_core::{Decision, EventType, Stage, State, Timestamp};

use crate::decision_log::DecisionSource;
use crate::error::StoreError;
use crate::outbox::DispatchStatus;

/// A stored RFC 3339 timestamp; `what` names the column in the error.
pub(crate) fn time(what: &'static str, text: &str) -> Result<Timestamp, StoreError> {
    Timestamp::parse(text).map_err(|e| StoreError::corrupt(what, e))
}

/// A stored JSON document.
pub(crate) fn json(what: &'static str, text: &str) -> Result<serde_json::Value, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::corrupt(what, e))
}

/// A stored decision of `owner` (e.g. ``deployment `dep_1` ``), which the error names with the
/// column `what`: a stored decision that is not a full core decision is corrupt, never a default.
pub(crate) fn decision(
    what: &'static str,
    owner: impl std::fmt::Display,
    text: &str,
) -> Result<Decision, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::corrupt(what, format!("{owner}: {e}")))
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
