//! Reading rows back into the store's records, once for both backends: each driver's row is
//! read through [`Columns`] (text and integers by index; both backends keep the same columns as
//! text and integers), and every value decodes with [`crate::decode`]; a value that does not
//! parse is [`StoreError::Corrupt`]. The column lists are those the readers read, in order.

use gatehouse_core::{Event, LedgerEntry};

use crate::decision_log::DecisionRecord;
use crate::decode::{self, dispatch_status, json, state, time, unsigned};
use crate::deployment::{DeploymentHead, DeploymentRecord, DeploymentSummary, DispatchBrief};
use crate::error::StoreError;
use crate::outbox::Dispatch;

/// The columns of a deployment record, in the order [`record`] reads them.
pub(crate) const RECORD_COLUMNS: &str = "id, state, service, version, artifact, environment, cloud, account, region, \
     requested_by, submitted_by, created_at, updated_at, intent, decision, bundle_digest, last_seq, last_hash, \
     decision_id";

/// The columns of a decision log record, in the order [`decision`] reads them.
pub(crate) const DECISION_COLUMNS: &str = "decision_id, at, stage, source, caller, deployment_id, replica_id, \
     bundle_digest, bundle_revision, outcome, intent, masked, decision, evaluated_at";

/// The columns of a ledger entry, in the order [`entry`] reads them.
pub(crate) const EVENT_COLUMNS: &str =
    "position, deployment_id, seq, type, at, actor, data, prev_hash, hash, link";

/// The columns of an outbox entry, in the order [`dispatch`] reads them.
pub(crate) const DISPATCH_COLUMNS: &str = "o.id, o.deployment_id, o.executor, o.payload, o.attempts, o.status, \
     o.next_attempt_at, o.last_error, o.receipt";

/// The columns of a list row, in the order [`summary`] reads them: the deployment `d`'s summary
/// columns, then the status and attempts of its latest outbox entry (each backend's
/// `SUMMARY_COLUMNS` writes them, a subquery in SQLite, a lateral join in PostgreSQL).
pub(crate) const SUMMARY_DEPLOYMENT_COLUMNS: &str = "d.id, d.state, d.service, d.version, d.artifact, \
     d.environment, d.cloud, d.account, d.region, d.requested_by, d.submitted_by, d.created_at, \
     d.updated_at, d.outcome, d.bundle_digest, d.last_hash";

/// A row of a database driver, read one column at a time by position.
pub(crate) trait Columns {
    /// Why a column could not be read: the backend's failure, which a corrupt value converts
    /// into.
    type Fault: From<StoreError>;

    /// A text column.
    fn text(&self, index: usize) -> Result<String, Self::Fault>;

    /// A text column that may be NULL.
    fn optional_text(&self, index: usize) -> Result<Option<String>, Self::Fault>;

    /// An integer column.
    fn integer(&self, index: usize) -> Result<i64, Self::Fault>;

    /// An integer column that may be NULL.
    fn optional_integer(&self, index: usize) -> Result<Option<i64>, Self::Fault>;
}

/// A stored attempt count.
fn attempts(n: i64) -> Result<u32, StoreError> {
    u32::try_from(n).map_err(|e| StoreError::corrupt("dispatch attempts", e))
}

/// A deployment row ([`RECORD_COLUMNS`]).
pub(crate) fn record<R: Columns>(row: &R) -> Result<DeploymentRecord, R::Fault> {
    let head = head(row)?;
    let decision = decode::decision(
        "decision",
        format_args!("deployment `{}`", head.id),
        &row.text(14)?,
    )?;
    Ok(DeploymentRecord {
        head,
        intent: json("intent", &row.text(13)?)?,
        decision,
        bundle_digest: row.text(15)?,
        last_seq: unsigned("last seq", row.integer(16)?)?,
        last_hash: row.text(17)?,
        decision_id: row.optional_text(18)?,
    })
}

/// The head of a deployment row: its first thirteen columns, the same in [`RECORD_COLUMNS`] and
/// [`SUMMARY_DEPLOYMENT_COLUMNS`].
fn head<R: Columns>(row: &R) -> Result<DeploymentHead, R::Fault> {
    Ok(DeploymentHead {
        id: row.text(0)?,
        state: state(&row.text(1)?)?,
        service: row.text(2)?,
        version: row.text(3)?,
        artifact: row.text(4)?,
        environment: row.text(5)?,
        cloud: row.text(6)?,
        account: row.text(7)?,
        region: row.text(8)?,
        requested_by: row.text(9)?,
        submitted_by: row.text(10)?,
        created_at: time("creation time", &row.text(11)?)?,
        updated_at: time("update time", &row.text(12)?)?,
    })
}

/// A decision log row ([`DECISION_COLUMNS`]).
pub(crate) fn decision<R: Columns>(row: &R) -> Result<DecisionRecord, R::Fault> {
    let decision_id = row.text(0)?;
    let decision = decode::decision(
        "logged decision",
        format_args!("decision `{decision_id}`"),
        &row.text(12)?,
    )?;
    Ok(DecisionRecord {
        decision_id,
        at: time("decision time", &row.text(1)?)?,
        evaluated_at: time("decision evaluated_at", &row.text(13)?)?,
        stage: decode::stage(&row.text(2)?)?,
        source: decode::source(&row.text(3)?)?,
        caller: row.text(4)?,
        deployment_id: row.optional_text(5)?,
        replica_id: row.text(6)?,
        bundle_digest: row.text(7)?,
        bundle_revision: row.text(8)?,
        outcome: row.text(9)?,
        intent: json("logged intent", &row.text(10)?)?,
        masked: decode::masked(&row.text(11)?)?,
        decision,
    })
}

/// A ledger row ([`EVENT_COLUMNS`]).
pub(crate) fn entry<R: Columns>(row: &R) -> Result<LedgerEntry, R::Fault> {
    Ok(LedgerEntry {
        position: unsigned("ledger position", row.integer(0)?)?,
        event: Event {
            seq: unsigned("event seq", row.integer(2)?)?,
            deployment_id: row.text(1)?,
            kind: decode::event_type(&row.text(3)?)?,
            at: time("event time", &row.text(4)?)?,
            actor: row.text(5)?,
            data: json("event data", &row.text(6)?)?,
            prev_hash: row.text(7)?,
            hash: row.text(8)?,
        },
        link: row.text(9)?,
    })
}

/// An outbox row ([`DISPATCH_COLUMNS`]).
pub(crate) fn dispatch<R: Columns>(row: &R) -> Result<Dispatch, R::Fault> {
    Ok(Dispatch {
        id: row.integer(0)?,
        deployment_id: row.text(1)?,
        executor: row.text(2)?,
        payload: json("dispatch payload", &row.text(3)?)?,
        attempts: attempts(row.integer(4)?)?,
        status: dispatch_status(&row.text(5)?)?,
        next_attempt_at: time("next attempt time", &row.text(6)?)?,
        last_error: row.optional_text(7)?,
        receipt: row
            .optional_text(8)?
            .map(|r| json("dispatch receipt", &r))
            .transpose()?,
    })
}

/// A list row ([`SUMMARY_DEPLOYMENT_COLUMNS`], then its latest dispatch's status and attempts).
pub(crate) fn summary<R: Columns>(row: &R) -> Result<DeploymentSummary, R::Fault> {
    let dispatch = match (row.optional_text(16)?, row.optional_integer(17)?) {
        (Some(status), Some(tries)) => Some(DispatchBrief {
            status: dispatch_status(&status)?,
            attempts: attempts(tries)?,
        }),
        _ => None,
    };
    Ok(DeploymentSummary {
        head: head(row)?,
        outcome: row.text(13)?,
        bundle_digest: row.text(14)?,
        etag: row.text(15)?,
        dispatch,
    })
}
