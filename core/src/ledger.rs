//! The audit ledger: one hash chain over every stored event of every deployment.
//!
//! Each deployment keeps its own chain ([`crate::events`]): its last hash is the deployment's
//! ETag. A control plane that stores many deployments also links every event, in storage order,
//! into one global chain: entry `n` carries `link = SHA-256(canonical {"event_hash", "position",
//! "prev_link"})`, where `prev_link` is entry `n - 1`'s link ([`GENESIS_LINK`] for the first). So
//! deleting, editing or reordering any stored row, of any deployment, breaks the ledger at that
//! row; dropping the newest rows is caught by comparing with the stored head.

use std::collections::HashMap;

use crate::canonical::{sha256_hex, write_string};
use crate::events::{DeploymentStatus, Event, GENESIS_HASH};
use crate::lifecycle::{EventType, State, TransitionError};

/// `prev_link` of the ledger's first entry.
pub const GENESIS_LINK: &str = GENESIS_HASH;

/// One stored event with its place in the ledger.
#[derive(Debug, Clone, PartialEq)]
pub struct LedgerEntry {
    /// Position in the ledger, from 1.
    pub position: u64,
    /// The event.
    pub event: Event,
    /// The entry's link hash: see [`link_hash`].
    pub link: String,
}

/// The link hash of the entry at `position` holding an event with hash `event_hash`, after an
/// entry whose link is `prev_link`.
pub fn link_hash(prev_link: &str, position: u64, event_hash: &str) -> String {
    // The canonical JSON of {event_hash, position, prev_link}, written in key order.
    let mut out = Vec::with_capacity(192);
    out.extend_from_slice(b"{\"event_hash\":");
    write_string(event_hash, &mut out);
    out.extend_from_slice(b",\"position\":");
    out.extend_from_slice(position.to_string().as_bytes());
    out.extend_from_slice(b",\"prev_link\":");
    write_string(prev_link, &mut out);
    out.push(b'}');
    sha256_hex(&out)
}

/// Appends events to the ledger: tracks the head and computes each entry's link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerHead {
    /// Position of the last entry (0 when empty).
    pub position: u64,
    /// Link of the last entry ([`GENESIS_LINK`] when empty).
    pub link: String,
}

impl Default for LedgerHead {
    fn default() -> Self {
        Self {
            position: 0,
            link: GENESIS_LINK.to_owned(),
        }
    }
}

impl LedgerHead {
    /// The entry for `event` after this head, and the new head.
    pub fn append(&self, event: Event) -> (LedgerEntry, LedgerHead) {
        let position = self.position + 1;
        let link = link_hash(&self.link, position, &event.hash);
        let head = LedgerHead {
            position,
            link: link.clone(),
        };
        (
            LedgerEntry {
                position,
                event,
                link,
            },
            head,
        )
    }
}

/// What is wrong at the first broken entry of a ledger.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LedgerFault {
    /// Positions must run 1, 2, 3, ... (a row was deleted or inserted).
    #[error("position is {found}, expected {expected} (an entry is missing or was inserted)")]
    Position {
        /// Expected position.
        expected: u64,
        /// Found position.
        found: u64,
    },
    /// The link does not follow from the previous entry and this event.
    #[error(
        "link does not match the previous entry and this event (entry edited, moved or removed)"
    )]
    Link,
    /// The event's hash does not match its content.
    #[error("event hash does not match its content (altered event)")]
    Hash,
    /// The event does not continue its deployment's chain.
    #[error("event seq {seq} does not continue its deployment's chain (expected seq {expected})")]
    Sequence {
        /// Expected seq.
        expected: u64,
        /// Found seq.
        seq: u64,
    },
    /// `prev_hash` does not name the deployment's previous event.
    #[error("prev_hash does not match the deployment's previous event")]
    PrevHash,
    /// Time went backwards within the deployment.
    #[error("`at` is earlier than the deployment's previous event")]
    Time,
    /// The transition is illegal.
    #[error("{0}")]
    Transition(TransitionError),
    /// The ledger is shorter or different than its recorded head.
    #[error(
        "the ledger ends at position {position}, but the recorded head is position {head_position} (newest entries removed or head altered)"
    )]
    Head {
        /// Last position found.
        position: u64,
        /// The recorded head's position.
        head_position: u64,
    },
}

/// The first broken entry of a ledger.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("ledger position {position}{}: {fault}", deployment_id.as_ref().map(|d| format!(" (deployment `{d}`)")).unwrap_or_default())]
pub struct LedgerError {
    /// Position of the broken entry (for [`LedgerFault::Head`], the head's).
    pub position: u64,
    /// The deployment of the broken entry, when known.
    pub deployment_id: Option<String>,
    /// What is wrong.
    pub fault: LedgerFault,
}

impl LedgerError {
    /// Stable code for the error contract.
    pub fn code(&self) -> &'static str {
        match self.fault {
            LedgerFault::Position { .. } => "ledger_position",
            LedgerFault::Link => "ledger_link",
            LedgerFault::Hash => "chain_hash",
            LedgerFault::Sequence { .. } => "chain_sequence",
            LedgerFault::PrevHash => "chain_prev_hash",
            LedgerFault::Time => "chain_time",
            LedgerFault::Transition(_) => "illegal_transition",
            LedgerFault::Head { .. } => "ledger_head",
        }
    }
}

/// Verifies a ledger entry by entry, in position order, without holding it in memory.
#[derive(Debug, Clone, Default)]
pub struct LedgerVerifier {
    head: LedgerHead,
    deployments: HashMap<String, DeploymentStatus>,
}

impl LedgerVerifier {
    /// An empty verifier.
    pub fn new() -> Self {
        Self::default()
    }

    /// Checks the next entry: its position and link, its event hash, and that it continues its
    /// deployment's chain with a legal transition.
    pub fn push(&mut self, entry: &LedgerEntry) -> Result<(), LedgerError> {
        let event = &entry.event;
        let fail = |fault| LedgerError {
            position: entry.position,
            deployment_id: Some(event.deployment_id.clone()),
            fault,
        };
        let expected = self.head.position + 1;
        if entry.position != expected {
            return Err(fail(LedgerFault::Position {
                expected,
                found: entry.position,
            }));
        }
        if entry.link != link_hash(&self.head.link, entry.position, &event.hash) {
            return Err(fail(LedgerFault::Link));
        }
        if event.hash != event.compute_hash() {
            return Err(fail(LedgerFault::Hash));
        }
        let status = match self.deployments.get(&event.deployment_id) {
            None => {
                if event.seq != 1 {
                    return Err(fail(LedgerFault::Sequence {
                        expected: 1,
                        seq: event.seq,
                    }));
                }
                if event.prev_hash != GENESIS_HASH {
                    return Err(fail(LedgerFault::PrevHash));
                }
                if event.kind != EventType::Requested {
                    return Err(fail(LedgerFault::Transition(TransitionError::NotStarted {
                        event: event.kind,
                    })));
                }
                DeploymentStatus {
                    deployment_id: event.deployment_id.clone(),
                    state: State::Requested,
                    last_seq: 1,
                    last_hash: event.hash.clone(),
                    last_at: event.at,
                }
            }
            Some(status) => {
                if event.seq != status.last_seq + 1 {
                    return Err(fail(LedgerFault::Sequence {
                        expected: status.last_seq + 1,
                        seq: event.seq,
                    }));
                }
                if event.prev_hash != status.last_hash {
                    return Err(fail(LedgerFault::PrevHash));
                }
                if event.at < status.last_at {
                    return Err(fail(LedgerFault::Time));
                }
                status
                    .apply(event)
                    .map_err(|e| fail(LedgerFault::Transition(e)))?
            }
        };
        self.deployments.insert(event.deployment_id.clone(), status);
        self.head = LedgerHead {
            position: entry.position,
            link: entry.link.clone(),
        };
        Ok(())
    }

    /// Ends verification: the last entry must be the recorded `head` (when one is kept).
    pub fn finish(self, head: Option<&LedgerHead>) -> Result<LedgerSummary, LedgerError> {
        if let Some(recorded) = head
            && *recorded != self.head
        {
            return Err(LedgerError {
                position: recorded.position,
                deployment_id: None,
                fault: LedgerFault::Head {
                    position: self.head.position,
                    head_position: recorded.position,
                },
            });
        }
        Ok(LedgerSummary {
            head: self.head,
            deployments: self.deployments,
        })
    }
}

/// A verified ledger: its head and every deployment's folded status.
#[derive(Debug, Clone)]
pub struct LedgerSummary {
    /// The last entry.
    pub head: LedgerHead,
    /// Each deployment's status after its last event.
    pub deployments: HashMap<String, DeploymentStatus>,
}

/// Verifies a whole ledger held in memory; see [`LedgerVerifier`].
pub fn verify_ledger<'a>(
    entries: impl IntoIterator<Item = &'a LedgerEntry>,
    head: Option<&LedgerHead>,
) -> Result<LedgerSummary, LedgerError> {
    let mut verifier = LedgerVerifier::new();
    for entry in entries {
        verifier.push(entry)?;
    }
    verifier.finish(head)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::events::NewEvent;
    use crate::timestamp::Timestamp;

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    /// Two interleaved deployments: a requested, b requested, a validated, b rejected, a started.
    fn ledger() -> (Vec<LedgerEntry>, LedgerHead) {
        let at = t("2026-11-23T10:00:00Z");
        let (a, a1) = DeploymentStatus::start("a", at, "alice", json!({}));
        let (b, b1) = DeploymentStatus::start("b", at, "bob", json!({}));
        let next = |kind| NewEvent {
            kind,
            at,
            actor: "gatehouse".into(),
            data: json!({}),
        };
        let (a, a2) = a.append(next(EventType::Validated)).unwrap();
        let (_, b2) = b.append(next(EventType::Rejected)).unwrap();
        let (_, a3) = a.append(next(EventType::Started)).unwrap();
        let mut head = LedgerHead::default();
        let mut entries = Vec::new();
        for event in [a1, b1, a2, b2, a3] {
            let (entry, next) = head.append(event);
            entries.push(entry);
            head = next;
        }
        (entries, head)
    }

    #[test]
    fn the_link_is_the_sha256_of_canonical_json() {
        let body = json!({"event_hash": "ab", "position": 3, "prev_link": GENESIS_LINK});
        let want = sha256_hex(crate::canonical::to_canonical_json(&body).as_bytes());
        assert_eq!(link_hash(GENESIS_LINK, 3, "ab"), want);
    }

    #[test]
    fn an_intact_ledger_verifies_and_folds_each_deployment() {
        let (entries, head) = ledger();
        let summary = verify_ledger(&entries, Some(&head)).unwrap();
        assert_eq!(summary.head, head);
        assert_eq!(summary.deployments["a"].state, State::InProgress);
        assert_eq!(summary.deployments["b"].state, State::Rejected);
    }

    #[test]
    fn a_deleted_row_is_caught_at_its_position() {
        let (mut entries, head) = ledger();
        entries.remove(2);
        let err = verify_ledger(&entries, Some(&head)).unwrap_err();
        assert_eq!(err.position, 4);
        assert_eq!(err.code(), "ledger_position");
    }

    #[test]
    fn an_edited_event_is_caught() {
        let (mut entries, head) = ledger();
        entries[3].event.actor = "mallory".into();
        let err = verify_ledger(&entries, Some(&head)).unwrap_err();
        assert_eq!((err.position, err.code()), (4, "chain_hash"));
    }

    #[test]
    fn a_rehashed_event_still_breaks_the_link() {
        let (mut entries, head) = ledger();
        entries[1].event.actor = "mallory".into();
        entries[1].event.hash = entries[1].event.compute_hash();
        let err = verify_ledger(&entries, Some(&head)).unwrap_err();
        assert_eq!((err.position, err.code()), (2, "ledger_link"));
    }

    #[test]
    fn dropping_the_newest_entry_is_caught_by_the_head() {
        let (mut entries, head) = ledger();
        entries.pop();
        let err = verify_ledger(&entries, Some(&head)).unwrap_err();
        assert_eq!(err.code(), "ledger_head");
        assert!(err.to_string().contains("ends at position 4"), "{err}");
        assert!(verify_ledger(&entries, None).is_ok());
    }

    #[test]
    fn an_empty_ledger_matches_an_empty_head() {
        let summary = verify_ledger(&[], Some(&LedgerHead::default())).unwrap();
        assert_eq!(summary.head.position, 0);
    }
}
