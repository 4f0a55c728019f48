//! What a write carries and what it answers: a new deployment ([`Submission`]), events appended
//! to one ([`Append`]), a retention purge; and how an append moves the deployment's row, the
//! same in every backend.

use std::time::Instant;

use gatehouse_core::{Decision, Event, Timestamp};

use crate::attestations::AttestationRecord;
use crate::decision_log::DecisionRecord;
use crate::deployment::DeploymentRecord;
use crate::error::StoreError;
use crate::outbox::{DispatchOutcome, NewDispatch};
use crate::replay::StoredResponse;

/// A new deployment: its first events, the projection and what goes with them.
#[derive(Debug, Clone)]
pub struct Submission {
    /// The projection row (its `last_*` fields match the last of `events`).
    pub record: DeploymentRecord,
    /// `requested` and the decision's event(s), already chained.
    pub events: Vec<Event>,
    /// The pipeline trigger, when the decision allows.
    pub dispatch: Option<NewDispatch>,
    /// `(principal, key)` of an idempotency key, with the answer to replay.
    pub idempotency: Option<(String, String, StoredResponse)>,
    /// The admission decision's log record (with the decision log enabled).
    pub decision_log: Option<DecisionRecord>,
    /// The admission decision's attestation (with `[attestations]` configured).
    pub attestation: Option<AttestationRecord>,
    /// Past this instant the transaction rolls back instead of committing.
    pub deadline: Option<Instant>,
}

/// What became of a submission.
#[derive(Debug, Clone)]
pub enum SubmitResult {
    /// Stored.
    Created(Box<DeploymentRecord>),
    /// The key was used before with the same body: the first answer.
    Replayed(StoredResponse),
    /// The key was used before with another body.
    KeyReused,
}

/// A new admission decision on a deployment (after an approval).
#[derive(Debug, Clone)]
pub struct DecisionUpdate {
    /// The decision.
    pub decision: Decision,
    /// The digest of the bundle that made it.
    pub bundle_digest: String,
    /// Its id.
    pub decision_id: String,
}

/// Events appended to an existing deployment, and what goes with them.
#[derive(Debug, Clone)]
pub struct Append {
    /// The deployment.
    pub deployment_id: String,
    /// Its last hash when the caller read it; the append fails with
    /// [`StoreError::Conflict`] if it moved.
    pub expect_hash: String,
    /// New events, chained after `expect_hash`.
    pub events: Vec<Event>,
    /// Replaces the stored decision (after a re-evaluation).
    pub decision: Option<DecisionUpdate>,
    /// A pipeline trigger to enqueue.
    pub dispatch: Option<NewDispatch>,
    /// An outbox entry to close.
    pub dispatch_outcome: Option<DispatchOutcome>,
    /// `(delivery id, answer)` of a pipeline callback, so redelivery replays it; fails with
    /// [`StoreError::DeliveryExists`] when the deployment already has that delivery.
    pub delivery: Option<(String, StoredResponse)>,
    /// Closes the deployment's pending outbox entries as `cancelled` (a cancel at this time);
    /// fails with [`StoreError::DispatchInFlight`], changing nothing, while one is leased past
    /// it (claimed by a dispatcher, its delivery possibly in flight).
    pub close_dispatches: Option<Timestamp>,
    /// The log record of a decision made on the way (with the decision log enabled).
    pub decision_log: Option<DecisionRecord>,
    /// The attestation of that decision (with `[attestations]` configured).
    pub attestation: Option<AttestationRecord>,
    /// Past this instant the transaction rolls back instead of committing.
    pub deadline: Option<Instant>,
}

impl Append {
    /// Events for `deployment_id` after `expect_hash`, and nothing else (fill in the other
    /// fields as needed).
    pub fn events(deployment_id: &str, expect_hash: String, events: Vec<Event>) -> Self {
        Self {
            deployment_id: deployment_id.to_owned(),
            expect_hash,
            events,
            decision: None,
            dispatch: None,
            dispatch_outcome: None,
            delivery: None,
            close_dispatches: None,
            decision_log: None,
            attestation: None,
            deadline: None,
        }
    }
}

/// What a purge deletes: records created before each cut-off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Purge {
    /// Idempotency records.
    pub idempotency_before: Timestamp,
    /// Callback delivery records.
    pub deliveries_before: Timestamp,
    /// Replica reports last seen before this.
    pub replicas_before: Timestamp,
    /// Decision log records made before this.
    pub decisions_before: Timestamp,
}

/// How many records a purge deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Purged {
    /// Idempotency records.
    pub idempotency: u64,
    /// Callback delivery records.
    pub deliveries: u64,
    /// Replica reports.
    pub replicas: u64,
    /// Decision log records.
    pub decisions: u64,
}

/// Applies an append to the deployment's row as read inside the transaction: checks the hash
/// the caller read, folds the events' transitions and takes the new decision. Every store calls
/// it, so the projection moves the same way in each.
pub(crate) fn apply_append(record: &mut DeploymentRecord, a: &Append) -> Result<(), StoreError> {
    if record.last_hash != a.expect_hash {
        return Err(StoreError::Conflict {
            deployment_id: a.deployment_id.clone(),
            current: record.last_hash.clone(),
        });
    }
    if let Some(last) = a.events.last() {
        let mut state = record.head.state;
        for event in &a.events {
            state = gatehouse_core::next_state(Some(state), event.kind).map_err(|source| {
                StoreError::RefusedEvent {
                    deployment_id: a.deployment_id.clone(),
                    source,
                }
            })?;
        }
        record.head.state = state;
        record.last_seq = last.seq;
        record.last_hash = last.hash.clone();
        record.head.updated_at = last.at;
    }
    if let Some(update) = &a.decision {
        record.decision = update.decision.clone();
        record.bundle_digest = update.bundle_digest.clone();
        record.decision_id = Some(update.decision_id.clone());
    }
    Ok(())
}
