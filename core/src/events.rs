//! The hash-chained event log of a deployment. Each event's `hash` is the SHA-256 of the canonical
//! JSON of its other fields, `prev_hash` included, so changing, dropping or reordering any stored
//! event breaks every link after it.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::canonical::{sha256_hex, write_string, write_value};
use crate::lifecycle::{EventType, State, TransitionError, next_state};
use crate::timestamp::Timestamp;

/// `prev_hash` of a deployment's first event.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One immutable lifecycle event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Event {
    /// Position in the deployment's chain, from 1.
    pub seq: u64,
    /// The deployment.
    pub deployment_id: String,
    /// What happened.
    #[serde(rename = "type")]
    pub kind: EventType,
    /// When (injected).
    pub at: Timestamp,
    /// Who or what caused it (a user, `pipeline`, `gatehouse`).
    pub actor: String,
    /// Details: the decision, the approval, the pipeline run, gate results.
    pub data: Value,
    /// `hash` of the previous event; [`GENESIS_HASH`] for the first.
    pub prev_hash: String,
    /// Lowercase hex SHA-256 of the canonical JSON of the fields above.
    pub hash: String,
}

/// The fields of an event that the caller chooses.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    /// What happened.
    pub kind: EventType,
    /// When.
    pub at: Timestamp,
    /// Who.
    pub actor: String,
    /// Details.
    pub data: Value,
}

impl Event {
    /// The hash this event should carry: SHA-256 of the canonical JSON of `{actor, at, data,
    /// deployment_id, prev_hash, seq, type}`, written straight from the fields in key order
    /// (no intermediate JSON value, no copy of `data`).
    pub fn compute_hash(&self) -> String {
        let mut out = Vec::with_capacity(256);
        out.extend_from_slice(b"{\"actor\":");
        write_string(&self.actor, &mut out);
        out.extend_from_slice(b",\"at\":");
        write_string(&self.at.to_string(), &mut out);
        out.extend_from_slice(b",\"data\":");
        write_value(&self.data, &mut out);
        out.extend_from_slice(b",\"deployment_id\":");
        write_string(&self.deployment_id, &mut out);
        out.extend_from_slice(b",\"prev_hash\":");
        write_string(&self.prev_hash, &mut out);
        out.extend_from_slice(b",\"seq\":");
        out.extend_from_slice(self.seq.to_string().as_bytes());
        out.extend_from_slice(b",\"type\":");
        write_string(self.kind.as_str(), &mut out);
        out.push(b'}');
        sha256_hex(&out)
    }
}

/// The first broken link of a chain.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ChainError {
    /// A chain must hold at least one event.
    #[error("the chain is empty")]
    Empty,
    /// Sequence numbers must run 1, 2, 3, ...
    #[error("event at position {} in the chain: seq is {found}, expected {expected}", index + 1)]
    Sequence {
        /// Position in the list, from 0 (messages count from 1).
        index: usize,
        /// Expected seq.
        expected: u64,
        /// Found seq.
        found: u64,
    },
    /// All events of a chain belong to one deployment.
    #[error("event at position {} in the chain: deployment `{found}` in the chain of `{expected}`", index + 1)]
    Deployment {
        /// Position.
        index: usize,
        /// The chain's deployment.
        expected: String,
        /// The event's.
        found: String,
    },
    /// `prev_hash` does not name the previous event.
    #[error("event seq {seq} (position {} in the chain): prev_hash does not match the previous event's hash", index + 1)]
    PrevHash {
        /// Position.
        index: usize,
        /// Its seq.
        seq: u64,
    },
    /// The stored hash does not match the content: the event was altered.
    #[error("event seq {seq} (position {} in the chain): hash does not match its content (altered event)", index + 1)]
    Hash {
        /// Position.
        index: usize,
        /// Its seq.
        seq: u64,
    },
    /// Time went backwards.
    #[error("event seq {seq} (position {} in the chain): `at` is earlier than the previous event's", index + 1)]
    Time {
        /// Position.
        index: usize,
        /// Its seq.
        seq: u64,
    },
    /// The chain is intact but holds an illegal transition.
    #[error("event seq {seq} (position {} in the chain): {source}", index + 1)]
    Transition {
        /// Position.
        index: usize,
        /// Its seq.
        seq: u64,
        /// The transition error.
        source: TransitionError,
    },
}

impl ChainError {
    /// Stable code for the error contract.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Empty => "chain_empty",
            Self::Sequence { .. } => "chain_sequence",
            Self::Deployment { .. } => "chain_deployment",
            Self::PrevHash { .. } => "chain_prev_hash",
            Self::Hash { .. } => "chain_hash",
            Self::Time { .. } => "chain_time",
            Self::Transition { .. } => "illegal_transition",
        }
    }
}

/// A deployment's state folded from its events: enough to append the next event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeploymentStatus {
    /// The deployment.
    pub deployment_id: String,
    /// Current state.
    pub state: State,
    /// Seq of the last event.
    pub last_seq: u64,
    /// Hash of the last event (the deployment's ETag).
    pub last_hash: String,
    /// Time of the last event.
    pub last_at: Timestamp,
}

impl DeploymentStatus {
    /// Starts a deployment: its `requested` event and the resulting status.
    pub fn start(deployment_id: &str, at: Timestamp, actor: &str, data: Value) -> (Self, Event) {
        let mut event = Event {
            seq: 1,
            deployment_id: deployment_id.to_owned(),
            kind: EventType::Requested,
            at,
            actor: actor.to_owned(),
            data,
            prev_hash: GENESIS_HASH.to_owned(),
            hash: String::new(),
        };
        event.hash = event.compute_hash();
        let status = Self {
            deployment_id: deployment_id.to_owned(),
            state: State::Requested,
            last_seq: 1,
            last_hash: event.hash.clone(),
            last_at: at,
        };
        (status, event)
    }

    /// Builds the next hash-chained event, checking the transition; returns it with the new
    /// status. Times earlier than the last event's are raised to it, so the chain stays ordered.
    pub fn append(&self, new: NewEvent) -> Result<(Self, Event), TransitionError> {
        let state = next_state(Some(self.state), new.kind)?;
        let seq = self
            .last_seq
            .checked_add(1)
            .ok_or(TransitionError::SequenceExhausted { seq: self.last_seq })?;
        let at = new.at.max(self.last_at);
        let mut event = Event {
            seq,
            deployment_id: self.deployment_id.clone(),
            kind: new.kind,
            at,
            actor: new.actor,
            data: new.data,
            prev_hash: self.last_hash.clone(),
            hash: String::new(),
        };
        event.hash = event.compute_hash();
        let status = Self {
            deployment_id: self.deployment_id.clone(),
            state,
            last_seq: event.seq,
            last_hash: event.hash.clone(),
            last_at: at,
        };
        Ok((status, event))
    }

    /// Applies one stored event (already verified) to the status.
    pub fn apply(&self, event: &Event) -> Result<Self, TransitionError> {
        Ok(Self {
            deployment_id: self.deployment_id.clone(),
            state: next_state(Some(self.state), event.kind)?,
            last_seq: event.seq,
            last_hash: event.hash.clone(),
            last_at: event.at,
        })
    }
}

/// Checks the integrity of one deployment's chain: seq runs from 1, one deployment id, each
/// `prev_hash` names the previous hash, each hash matches its content, time never goes back.
/// Reports the first broken link.
pub fn verify_chain(events: &[Event]) -> Result<(), ChainError> {
    let first = events.first().ok_or(ChainError::Empty)?;
    let mut prev_hash = GENESIS_HASH;
    let mut prev_at = first.at;
    for (index, event) in events.iter().enumerate() {
        let expected = index as u64 + 1;
        if event.seq != expected {
            return Err(ChainError::Sequence {
                index,
                expected,
                found: event.seq,
            });
        }
        if event.deployment_id != first.deployment_id {
            return Err(ChainError::Deployment {
                index,
                expected: first.deployment_id.clone(),
                found: event.deployment_id.clone(),
            });
        }
        if event.prev_hash != prev_hash {
            return Err(ChainError::PrevHash {
                index,
                seq: event.seq,
            });
        }
        if event.hash != event.compute_hash() {
            return Err(ChainError::Hash {
                index,
                seq: event.seq,
            });
        }
        if event.at < prev_at {
            return Err(ChainError::Time {
                index,
                seq: event.seq,
            });
        }
        prev_hash = &event.hash;
        prev_at = event.at;
    }
    Ok(())
}

/// Verifies a chain and folds its events into the deployment's status, checking every
/// transition.
pub fn replay(events: &[Event]) -> Result<DeploymentStatus, ChainError> {
    verify_chain(events)?;
    let mut status: Option<DeploymentStatus> = None;
    for (index, event) in events.iter().enumerate() {
        let transition = |source| ChainError::Transition {
            index,
            seq: event.seq,
            source,
        };
        status = Some(match status {
            None => {
                next_state(None, event.kind).map_err(transition)?;
                DeploymentStatus {
                    deployment_id: event.deployment_id.clone(),
                    state: State::Requested,
                    last_seq: event.seq,
                    last_hash: event.hash.clone(),
                    last_at: event.at,
                }
            }
            Some(s) => s.apply(event).map_err(transition)?,
        });
    }
    status.ok_or(ChainError::Empty)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_hash_is_the_sha256_of_the_canonical_json_of_the_other_fields() {
        let event = Event {
            seq: 7,
            deployment_id: "dep_\"x\"".into(),
            kind: EventType::ApprovalRecorded,
            at: t("2026-11-23T10:00:00.123Z"),
            actor: "bob@example.com\n".into(),
            data: json!({"z": [1, 2.5, {"b": null, "a": "é\u{1}"}], "a": true}),
            prev_hash: GENESIS_HASH.into(),
            hash: String::new(),
        };
        let body = json!({
            "seq": event.seq, "deployment_id": event.deployment_id, "type": event.kind,
            "at": event.at, "actor": event.actor, "data": event.data, "prev_hash": event.prev_hash,
        });
        let want = sha256_hex(crate::canonical::to_canonical_json(&body).as_bytes());
        assert_eq!(event.compute_hash(), want);
    }

    fn t(s: &str) -> Timestamp {
        Timestamp::parse(s).unwrap()
    }

    fn chain() -> Vec<Event> {
        let (mut s, first) = DeploymentStatus::start(
            "d-1",
            t("2026-11-23T10:00:00Z"),
            "alice@example.com",
            json!({}),
        );
        let mut events = vec![first];
        for (kind, at) in [
            (EventType::Validated, "2026-11-23T10:00:01Z"),
            (EventType::Started, "2026-11-23T10:05:00Z"),
            (EventType::Succeeded, "2026-11-23T10:15:00Z"),
        ] {
            let (next, e) = s
                .append(NewEvent {
                    kind,
                    at: t(at),
                    actor: "pipeline".into(),
                    data: json!({"n": 1}),
                })
                .unwrap();
            s = next;
            events.push(e);
        }
        events
    }

    #[test]
    fn replay_reaches_success() {
        let status = replay(&chain()).unwrap();
        assert_eq!(status.state, State::Success);
        assert_eq!(status.last_seq, 4);
    }

    #[test]
    fn altered_data_is_detected() {
        let mut events = chain();
        events[2].data = json!({"n": 2});
        assert_eq!(
            verify_chain(&events),
            Err(ChainError::Hash { index: 2, seq: 3 })
        );
    }

    #[test]
    fn rehashed_alteration_breaks_the_next_link() {
        let mut events = chain();
        events[1].actor = "mallory".into();
        events[1].hash = events[1].compute_hash();
        assert_eq!(
            verify_chain(&events),
            Err(ChainError::PrevHash { index: 2, seq: 3 })
        );
    }

    #[test]
    fn illegal_transition_is_typed() {
        let (s, _) = DeploymentStatus::start("d", t("2026-11-23T10:00:00Z"), "a", json!({}));
        let err = s
            .append(NewEvent {
                kind: EventType::Succeeded,
                at: t("2026-11-23T10:00:00Z"),
                actor: "p".into(),
                data: json!({}),
            })
            .unwrap_err();
        assert_eq!(
            err,
            TransitionError::Illegal {
                from: State::Requested,
                event: EventType::Succeeded
            }
        );
    }

    /// After seq `u64::MAX` no event can follow: refused, not wrapped round to seq 0.
    #[test]
    fn the_last_sequence_number_has_no_successor() {
        let (status, _) = DeploymentStatus::start("d-1", t("2026-11-23T10:00:00Z"), "a", json!({}));
        let full = DeploymentStatus {
            last_seq: u64::MAX,
            ..status
        };
        let err = full
            .append(NewEvent {
                kind: EventType::Validated,
                at: t("2026-11-23T10:00:01Z"),
                actor: "gatehouse".into(),
                data: json!({}),
            })
            .unwrap_err();
        assert_eq!(err, TransitionError::SequenceExhausted { seq: u64::MAX });
        assert_eq!(err.code(), "event_sequence_exhausted");
    }
}
