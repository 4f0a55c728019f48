//! Reading PostgreSQL rows back into the control plane's types with the decoding and column lists
//! both stores share (`store::decode`); a value that does not parse is [`StoreError::Corrupt`].

use gatehouse_core::{Event, LedgerEntry};
use tokio_postgres::Row;

use super::Fault;
use crate::decision_log::DecisionRecord;
use crate::deployment::{DeploymentRecord, DeploymentSummary, DispatchBrief};
use crate::outbox::Dispatch;
use crate::store::decode::event_type;
pub(super) use crate::store::decode::{
    DECISION_COLUMNS, DISPATCH_COLUMNS, EVENT_COLUMNS, RECORD_COLUMNS, count, dispatch_status,
    json, state, time, unsigned,
};
use crate::store::{StoreError, decode};

/// The columns [`summary`] reads, in order.
pub(super) const SUMMARY_COLUMNS: &str = "d.id, d.state, d.service, d.version, d.artifact, d.environment, \
     d.cloud, d.account, d.region, d.requested_by, d.submitted_by, d.created_at, d.updated_at, \
     d.outcome, d.bundle_digest, d.last_hash, o.status, o.attempts";

fn attempts(n: i32) -> Result<u32, Fault> {
    u32::try_from(n).map_err(|e| StoreError::corrupt("dispatch attempts", e).into())
}

/// A deployment row ([`RECORD_COLUMNS`]).
pub(super) fn record(row: &Row) -> Result<DeploymentRecord, Fault> {
    let text = |i: usize| row.try_get::<_, String>(i);
    Ok(DeploymentRecord {
        id: text(0)?,
        state: state(&text(1)?)?,
        service: text(2)?,
        version: text(3)?,
        artifact: text(4)?,
        environment: text(5)?,
        cloud: text(6)?,
        account: text(7)?,
        region: text(8)?,
        requested_by: text(9)?,
        submitted_by: text(10)?,
        created_at: time("creation time", &text(11)?)?,
        updated_at: time("update time", &text(12)?)?,
        intent: json("intent", &text(13)?)?,
        decision: json("decision", &text(14)?)?,
        bundle_digest: text(15)?,
        last_seq: unsigned("last seq", row.try_get(16)?)?,
        last_hash: text(17)?,
        decision_id: row.try_get(18)?,
    })
}

/// A decision log row ([`DECISION_COLUMNS`]).
pub(super) fn decision(row: &Row) -> Result<DecisionRecord, Fault> {
    let text = |i: usize| row.try_get::<_, String>(i);
    Ok(DecisionRecord {
        decision_id: text(0)?,
        at: time("decision time", &text(1)?)?,
        evaluated_at: time("decision evaluated_at", &text(13)?)?,
        stage: decode::stage(&text(2)?)?,
        source: decode::source(&text(3)?)?,
        caller: text(4)?,
        deployment_id: row.try_get(5)?,
        replica_id: text(6)?,
        bundle_digest: text(7)?,
        bundle_revision: text(8)?,
        outcome: text(9)?,
        intent: json("logged intent", &text(10)?)?,
        masked: decode::masked(&text(11)?)?,
        decision: json("logged decision", &text(12)?)?,
    })
}

/// A ledger row ([`EVENT_COLUMNS`]).
pub(super) fn entry(row: &Row) -> Result<LedgerEntry, Fault> {
    let text = |i: usize| row.try_get::<_, String>(i);
    Ok(LedgerEntry {
        position: unsigned("ledger position", row.try_get(0)?)?,
        event: Event {
            seq: unsigned("event seq", row.try_get(2)?)?,
            deployment_id: text(1)?,
            kind: event_type(&text(3)?)?,
            at: time("event time", &text(4)?)?,
            actor: text(5)?,
            data: json("event data", &text(6)?)?,
            prev_hash: text(7)?,
            hash: text(8)?,
        },
        link: text(9)?,
    })
}

/// An outbox row ([`DISPATCH_COLUMNS`]).
pub(super) fn dispatch(row: &Row) -> Result<Dispatch, Fault> {
    let text = |i: usize| row.try_get::<_, String>(i);
    let receipt: Option<String> = row.try_get(8)?;
    Ok(Dispatch {
        id: row.try_get(0)?,
        deployment_id: text(1)?,
        executor: text(2)?,
        payload: json("dispatch payload", &text(3)?)?,
        attempts: attempts(row.try_get(4)?)?,
        status: dispatch_status(&text(5)?)?,
        next_attempt_at: time("next attempt time", &text(6)?)?,
        last_error: row.try_get(7)?,
        receipt: receipt.map(|r| json("dispatch receipt", &r)).transpose()?,
    })
}

/// A list row ([`SUMMARY_COLUMNS`]).
pub(super) fn summary(row: &Row) -> Result<DeploymentSummary, Fault> {
    let text = |i: usize| row.try_get::<_, String>(i);
    let status: Option<String> = row.try_get(16)?;
    let tries: Option<i32> = row.try_get(17)?;
    let dispatch = match (status, tries) {
        (Some(status), Some(tries)) => Some(DispatchBrief {
            status: dispatch_status(&status)?,
            attempts: attempts(tries)?,
        }),
        _ => None,
    };
    Ok(DeploymentSummary {
        id: text(0)?,
        state: state(&text(1)?)?,
        service: text(2)?,
        version: text(3)?,
        artifact: text(4)?,
        environment: text(5)?,
        cloud: text(6)?,
        account: text(7)?,
        region: text(8)?,
        requested_by: text(9)?,
        submitted_by: text(10)?,
        created_at: time("creation time", &text(11)?)?,
        updated_at: time("update time", &text(12)?)?,
        outcome: text(13)?,
        bundle_digest: text(14)?,
        etag: text(15)?,
        dispatch,
    })
}
