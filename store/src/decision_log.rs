//! The decision log as the store keeps it: one record per evaluation (its id, the server's time,
//! the stage, the operation that made it, the caller, the bundle, the masked intent and the
//! decision), and the time-range query that reads them back with its cursor.

use gatehouse_core::{Decision, Stage, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Which operation made a decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DecisionSource {
    /// A preview: nothing else was stored.
    Evaluate,
    /// A submission (its admission decision).
    Submit,
    /// An approval (the re-evaluation with it).
    Approve,
    /// A pipeline's report of success (the release gates).
    Callback,
}

impl DecisionSource {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Evaluate => "evaluate",
            Self::Submit => "submit",
            Self::Approve => "approve",
            Self::Callback => "callback",
        }
    }

    /// The source a stored spelling names.
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "evaluate" => Self::Evaluate,
            "submit" => Self::Submit,
            "approve" => Self::Approve,
            "callback" => Self::Callback,
            _ => return None,
        })
    }
}

/// One logged decision.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DecisionRecord {
    /// Its id (UUID v7), as returned to the caller.
    pub decision_id: String,
    /// When it was logged, by the server's clock: never the caller's `context.now`. Retention
    /// (`decision_log.retention_hours`) and the time-range reads go by it.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub at: Timestamp,
    /// The decision time the evaluation used (the decision's `evaluated_at`): the caller's
    /// `context.now` for a preview that passed a context, else the server's clock.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub evaluated_at: Timestamp,
    /// `admission` or `gates`.
    pub stage: Stage,
    /// The operation that made it.
    pub source: DecisionSource,
    /// Who asked: the principal's name, or `pipeline` for a gate decision.
    pub caller: String,
    /// The deployment it concerns (none for a preview).
    pub deployment_id: Option<String>,
    /// The server that made it.
    pub replica_id: String,
    /// The digest of the bundle that judged.
    pub bundle_digest: String,
    /// That bundle's revision.
    pub bundle_revision: String,
    /// `allow`, `deny` or `needs_approval`.
    pub outcome: String,
    /// The intent judged, with the configured fields replaced by `***`.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub intent: Value,
    /// The paths that were masked in `intent` (e.g. `spec.tags.owner`).
    pub masked: Vec<String>,
    /// The decision as answered; when fields were masked, as [`mask_decision`] stores it (its
    /// `intent_digest` that of the masked intent, the masked text replaced by `***`).
    #[allow(
        rustdoc::broken_intra_doc_links,
        reason = "the OpenAPI document carries this text; `mask_decision` is the control plane's"
    )]
    pub decision: Decision,
}

/// A query of the log by time range, oldest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecisionQuery {
    /// At or after this time.
    pub since: Option<Timestamp>,
    /// Before this time.
    pub until: Option<Timestamp>,
    /// After this position (the `next_cursor` of the previous page).
    pub after: Option<Cursor>,
    /// At most this many.
    pub limit: u32,
}

/// A position in the log: a decision's time and id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    /// Nanoseconds since the Unix epoch.
    pub at_ns: i64,
    /// The decision id.
    pub decision_id: String,
}

impl Cursor {
    /// The position of `record`.
    pub fn of(record: &DecisionRecord) -> Self {
        Self {
            at_ns: i64::try_from(record.at.unix_nanos()).unwrap_or(i64::MAX),
            decision_id: record.decision_id.clone(),
        }
    }

    /// The opaque text a caller passes back (`<nanoseconds>.<decision id>`).
    pub fn encode(&self) -> String {
        format!("{}.{}", self.at_ns, self.decision_id)
    }

    /// Reads a cursor made by [`Cursor::encode`].
    pub fn decode(text: &str) -> Option<Self> {
        let (at, id) = text.split_once('.')?;
        let at_ns = at.parse().ok()?;
        let valid = !id.is_empty()
            && id.len() <= 64
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        valid.then(|| Self {
            at_ns,
            decision_id: id.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_garbage() {
        let c = Cursor {
            at_ns: 1_795_435_200_000_000_000,
            decision_id: "0196f0c2-aaaa".into(),
        };
        assert_eq!(Cursor::decode(&c.encode()), Some(c));
        for bad in ["", "x.y", "12", "12.", "12.a b", "12.a'"] {
            assert_eq!(Cursor::decode(bad), None, "{bad}");
        }
    }
}
