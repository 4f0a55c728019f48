//! The SQLite store: WAL journal with `synchronous = FULL` (a committed transaction survives a
//! crash or power loss), one writer connection, a small pool of readers. rusqlite is blocking:
//! every call runs on tokio's blocking pool, never on an async worker.
//!
//! A new database file is created owner-only (0600 on Unix) before SQLite opens it; SQLite gives
//! its `-wal` and `-shm` files the database file's permissions, so the ledger, intents and
//! decisions are never readable by other local users. An existing file keeps its permissions (a
//! warning names a file others can read).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use gatehouse_core::{Decision, Event, HistoryEntry, LedgerHead, Timestamp};
use rusqlite::{
    Connection, ErrorCode, OptionalExtension, Transaction, TransactionBehavior, params,
};
use serde_json::Value;

use crate::attestations::AttestationRecord;
use crate::audit::{Audit, AuditReport};
use crate::decision_log::{DecisionQuery, DecisionRecord};
use crate::deployment::{DeploymentPage, DeploymentRecord, ListQuery};
use crate::error::{Backend, StoreError};
use crate::list::{Placeholder, list_sql};
use crate::outbox::{Claim, Dispatch, NewDispatch, Renewal, Retry};
use crate::replay::StoredResponse;
use crate::replicas::{ActiveBundle, ReplicaReport};
use crate::signals::SignalData;
use crate::store::Store;
use crate::write::{Append, Purge, Purged, Submission, SubmitResult, apply_append};
use crate::{decode, rows};

mod columns;
mod migrations;

pub use migrations::SCHEMA_VERSION;

/// Reader connections kept open between reads.
const READERS: usize = 4;
/// How long a statement waits for another process's write lock before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Why an SQLite call failed, before it is named by its operation.
pub(crate) enum Fault {
    /// The driver failed.
    Sql(rusqlite::Error),
    /// The store refused (not found, conflict, corrupt value...).
    Store(StoreError),
}

impl From<rusqlite::Error> for Fault {
    fn from(e: rusqlite::Error) -> Self {
        Self::Sql(e)
    }
}

impl From<StoreError> for Fault {
    fn from(e: StoreError) -> Self {
        Self::Store(e)
    }
}

/// Names a failure by the operation it interrupted: a busy or unopenable database is
/// [`StoreError::Unavailable`], any other driver error [`StoreError::Query`].
fn finish(operation: &'static str, fault: Fault) -> StoreError {
    match fault {
        Fault::Store(e) => e,
        Fault::Sql(e) => {
            let unavailable = matches!(
                e.sqlite_error_code(),
                Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked | ErrorCode::CannotOpen)
            );
            let source = Box::new(e);
            if unavailable {
                StoreError::Unavailable {
                    backend: Backend::Sqlite,
                    operation,
                    source,
                }
            } else {
                StoreError::Query {
                    backend: Backend::Sqlite,
                    operation,
                    source,
                }
            }
        }
    }
}

/// The SQLite store.
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    writer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
    path: PathBuf,
}

fn connect(path: &Path) -> Result<Connection, Fault> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;",
    )?;
    Ok(conn)
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and applies the migrations it lacks.
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
        Ok(Self::open_reporting(path).await?.0)
    }

    /// [`SqliteStore::open`], with the schema version found before the migrations.
    pub async fn open_reporting(path: &Path) -> Result<(Self, i64), StoreError> {
        let path = path.to_path_buf();
        run_blocking("open the database", move || Self::open_now(&path)).await
    }

    fn open_now(path: &Path) -> Result<(Self, i64), StoreError> {
        create_private(path)?;
        let mut writer = connect(path).map_err(|e| finish("open the database", e))?;
        let found = migrations::migrate(&mut writer, path)?;
        writer
            .execute(
                "INSERT OR IGNORE INTO ledger_head (id, position, link) VALUES (1, 0, ?1)",
                params![LedgerHead::default().link],
            )
            .map_err(|e| finish("create the ledger head", Fault::Sql(e)))?;
        let store = Self {
            inner: Arc::new(Inner {
                writer: Mutex::new(writer),
                readers: Mutex::new(Vec::new()),
                path: path.to_path_buf(),
            }),
        };
        Ok((store, found))
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Runs `f` in an immediate transaction on the blocking pool; past `deadline` it rolls
    /// back instead of committing ([`StoreError::DeadlineExceeded`]).
    async fn write<T: Send + 'static>(
        &self,
        operation: &'static str,
        deadline: Option<Instant>,
        f: impl FnOnce(&Transaction<'_>) -> Result<T, Fault> + Send + 'static,
    ) -> Result<T, StoreError> {
        let inner = Arc::clone(&self.inner);
        run_blocking(operation, move || {
            let mut conn = inner.writer.lock().unwrap_or_else(|p| p.into_inner());
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(|e| finish(operation, e.into()))?;
            let value = f(&tx).map_err(|e| finish(operation, e))?;
            if deadline.is_some_and(|d| Instant::now() >= d) {
                // Dropping the transaction rolls it back.
                return Err(StoreError::DeadlineExceeded);
            }
            tx.commit().map_err(|e| finish(operation, e.into()))?;
            Ok(value)
        })
        .await
    }

    /// Runs `f` on a reader connection on the blocking pool.
    async fn read<T: Send + 'static>(
        &self,
        operation: &'static str,
        f: impl FnOnce(&Connection) -> Result<T, Fault> + Send + 'static,
    ) -> Result<T, StoreError> {
        let inner = Arc::clone(&self.inner);
        run_blocking(operation, move || {
            let pooled = inner.readers.lock().ok().and_then(|mut pool| pool.pop());
            let conn = match pooled {
                Some(conn) => conn,
                None => connect(&inner.path).map_err(|e| finish(operation, e))?,
            };
            let result = f(&conn).map_err(|e| finish(operation, e));
            if let Ok(mut pool) = inner.readers.lock()
                && pool.len() < READERS
            {
                pool.push(conn);
            }
            result
        })
        .await
    }
}

/// Creates the database file at `path` readable and writable by its owner only, unless it
/// exists (then warns if others may read it). In-memory and URI names are left to SQLite.
fn create_private(path: &Path) -> Result<(), StoreError> {
    let name = path.to_string_lossy();
    if name.is_empty() || name == ":memory:" || name.starts_with("file:") {
        return Ok(());
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            #[cfg(unix)]
            if let Ok(meta) = std::fs::metadata(path) {
                let mode = std::os::unix::fs::PermissionsExt::mode(&meta.permissions());
                if mode & 0o077 != 0 {
                    tracing::warn!(
                        database = %path.display(),
                        mode = format!("{:o}", mode & 0o777),
                        "the database file is readable by other users; `chmod 600` it (and its -wal and -shm files)"
                    );
                }
            }
            Ok(())
        }
        Err(e) => Err(StoreError::Unavailable {
            backend: Backend::Sqlite,
            operation: "create the database file",
            source: Box::new(e),
        }),
    }
}

/// Runs blocking work on tokio's blocking pool.
async fn run_blocking<T: Send + 'static>(
    operation: &'static str,
    f: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| StoreError::Query {
            backend: Backend::Sqlite,
            operation,
            source: Box::new(e),
        })?
}

fn nanos(t: Timestamp) -> i64 {
    i64::try_from(t.unix_nanos()).unwrap_or(i64::MAX)
}

/// A stored answer (`body_sha256, body`) selected by `sql`.
fn stored_response(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<Option<StoredResponse>, Fault> {
    Ok(conn
        .query_row(sql, params, |r| {
            Ok(StoredResponse {
                body_sha256: r.get(0)?,
                body: r.get(1)?,
            })
        })
        .optional()?)
}

fn get_record(conn: &Connection, id: &str) -> Result<Option<DeploymentRecord>, Fault> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {} FROM deployments WHERE id = ?1",
        rows::RECORD_COLUMNS
    ))?;
    let mut found = stmt.query(params![id])?;
    match found.next()? {
        Some(row) => rows::record(row).map(Some),
        None => Ok(None),
    }
}

fn head(tx: &Transaction<'_>) -> Result<LedgerHead, Fault> {
    let (position, link) = tx.query_row(
        "SELECT position, link FROM ledger_head WHERE id = 1",
        [],
        |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)),
    )?;
    Ok(LedgerHead {
        position: u64::try_from(position).map_err(|e| StoreError::corrupt("ledger head", e))?,
        link,
    })
}

/// Appends events to the ledger and moves its head, inside the caller's transaction.
fn insert_events(tx: &Transaction<'_>, events: Vec<Event>) -> Result<(), Fault> {
    let mut current = head(tx)?;
    let mut insert = tx.prepare_cached(
        "INSERT INTO events (position, deployment_id, seq, type, at, actor, data, prev_hash, hash, link) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?;
    for event in events {
        let (entry, next) = current.append(event);
        let e = &entry.event;
        insert.execute(params![
            entry.position as i64,
            e.deployment_id,
            e.seq as i64,
            e.kind.as_str(),
            e.at.to_string(),
            e.actor,
            e.data.to_string(),
            e.prev_hash,
            e.hash,
            entry.link,
        ])?;
        current = next;
    }
    tx.execute(
        "UPDATE ledger_head SET position = ?1, link = ?2 WHERE id = 1",
        params![current.position as i64, current.link],
    )?;
    Ok(())
}

fn insert_dispatch(tx: &Transaction<'_>, id: &str, d: &NewDispatch) -> Result<(), Fault> {
    tx.execute(
        "INSERT INTO outbox (deployment_id, executor, payload, status, next_attempt_at, next_attempt_ns) \
         VALUES (?1, ?2, ?3, 'pending', ?4, ?5)",
        params![
            id,
            d.executor,
            d.payload.to_string(),
            d.due.to_string(),
            nanos(d.due)
        ],
    )?;
    Ok(())
}

/// The policies that held or blocked a deployment's decision, written with the decision (its
/// outcome goes into the deployment's row): signals count them without reading decisions.
fn write_policies(
    tx: &Transaction<'_>,
    id: &str,
    decision: &Decision,
    fresh: bool,
) -> Result<(), Fault> {
    if !fresh {
        tx.execute(
            "DELETE FROM deployment_policies WHERE deployment_id = ?1",
            params![id],
        )?;
    }
    let mut insert = tx.prepare_cached(
        "INSERT INTO deployment_policies (deployment_id, policy, blocking) VALUES (?1, ?2, ?3)",
    )?;
    for held in decision.held_policies() {
        insert.execute(params![id, held.policy, held.blocking])?;
    }
    Ok(())
}

/// Records a decision in the log, inside the caller's transaction.
fn insert_decision(tx: &Transaction<'_>, d: &DecisionRecord) -> Result<(), Fault> {
    let masked = StoreError::json_text("masked paths", &d.masked)?;
    let decision = StoreError::json_text("logged decision", &d.decision)?;
    tx.prepare_cached(
        "INSERT INTO decisions (decision_id, at, at_ns, stage, source, caller, deployment_id, replica_id, \
         bundle_digest, bundle_revision, outcome, intent, masked, decision, evaluated_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
    )?
    .execute(params![
        d.decision_id,
        d.at.to_string(),
        nanos(d.at),
        d.stage.as_str(),
        d.source.as_str(),
        d.caller,
        d.deployment_id,
        d.replica_id,
        d.bundle_digest,
        d.bundle_revision,
        d.outcome,
        d.intent.to_string(),
        masked,
        decision,
        d.evaluated_at.to_string(),
    ])?;
    Ok(())
}

/// The columns [`attestation_row`] reads, in order.
const ATTESTATION_COLUMNS: &str = "decision_id, deployment_id, at, envelope, unavailable";

/// Stores a decision's attestation, inside the caller's transaction.
fn insert_attestation(tx: &Transaction<'_>, a: &AttestationRecord) -> Result<(), Fault> {
    tx.prepare_cached(
        "INSERT INTO attestations (decision_id, deployment_id, at, at_ns, envelope, unavailable) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        a.decision_id,
        a.deployment_id,
        a.at.to_string(),
        nanos(a.at),
        a.envelope,
        a.unavailable,
    ])?;
    Ok(())
}

/// The attestation `sql` selects ([`ATTESTATION_COLUMNS`]), if any.
fn attestation_row(
    conn: &Connection,
    sql: &str,
    key: &str,
) -> Result<Option<AttestationRecord>, Fault> {
    let mut stmt = conn.prepare_cached(sql)?;
    let mut found = stmt.query(params![key])?;
    let Some(row) = found.next()? else {
        return Ok(None);
    };
    Ok(Some(AttestationRecord {
        decision_id: row.get(0)?,
        deployment_id: row.get(1)?,
        at: decode::time("attestation time", &row.get::<_, String>(2)?)?,
        envelope: row.get(3)?,
        unavailable: row.get(4)?,
    }))
}

fn submit(tx: &Transaction<'_>, s: Submission) -> Result<SubmitResult, Fault> {
    if let Some((principal, key, response)) = &s.idempotency {
        let seen = stored_response(
            tx,
            "SELECT body_sha256, body FROM idempotency WHERE principal = ?1 AND key = ?2",
            params![principal, key],
        )?;
        if let Some(seen) = seen {
            return Ok(if seen.body_sha256 == response.body_sha256 {
                SubmitResult::Replayed(seen)
            } else {
                SubmitResult::KeyReused
            });
        }
        tx.execute(
            "INSERT INTO idempotency (principal, key, body_sha256, body, created_ns) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                principal,
                key,
                response.body_sha256,
                response.body,
                nanos(s.record.head.created_at)
            ],
        )?;
    }
    let r = &s.record;
    let decision = StoreError::json_text("decision", &r.decision)?;
    tx.execute(
        "INSERT INTO deployments (id, state, service, version, artifact, environment, cloud, account, \
         region, requested_by, submitted_by, created_at, created_ns, updated_at, intent, decision, \
         bundle_digest, last_seq, last_hash, decision_id, outcome) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21)",
        params![
            r.head.id,
            r.head.state.as_str(),
            r.head.service,
            r.head.version,
            r.head.artifact,
            r.head.environment,
            r.head.cloud,
            r.head.account,
            r.head.region,
            r.head.requested_by,
            r.head.submitted_by,
            r.head.created_at.to_string(),
            nanos(r.head.created_at),
            r.head.updated_at.to_string(),
            r.intent.to_string(),
            decision,
            r.bundle_digest,
            r.last_seq as i64,
            r.last_hash,
            r.decision_id,
            r.decision.outcome.as_str(),
        ],
    )?;
    write_policies(tx, &r.head.id, &r.decision, true)?;
    if let Some(d) = &s.decision_log {
        insert_decision(tx, d)?;
    }
    if let Some(a) = &s.attestation {
        insert_attestation(tx, a)?;
    }
    insert_events(tx, s.events)?;
    if let Some(d) = &s.dispatch {
        insert_dispatch(tx, &r.head.id, d)?;
    }
    Ok(SubmitResult::Created(Box::new(s.record)))
}

fn append(tx: &Transaction<'_>, a: Append) -> Result<DeploymentRecord, Fault> {
    // A delivery already recorded answers before the hash check: a concurrent redelivery that
    // lost the race replays the winner's answer.
    if let Some((delivery_id, _)) = &a.delivery
        && let Some(stored) = stored_response(
            tx,
            "SELECT body_sha256, body FROM deliveries WHERE deployment_id = ?1 AND delivery_id = ?2",
            params![a.deployment_id, delivery_id],
        )?
    {
        return Err(StoreError::DeliveryExists {
            deployment_id: a.deployment_id.clone(),
            delivery_id: delivery_id.clone(),
            stored,
        }
        .into());
    }
    let mut record = get_record(tx, &a.deployment_id)?.ok_or_else(|| StoreError::NotFound {
        deployment_id: a.deployment_id.clone(),
    })?;
    apply_append(&mut record, &a)?;
    if let Some(now) = a.close_dispatches {
        refuse_leased(tx, &record.head.id, now)?;
    }
    let decision = StoreError::json_text("decision", &record.decision)?;
    tx.execute(
        "UPDATE deployments SET state = ?2, updated_at = ?3, decision = ?4, bundle_digest = ?5, \
         last_seq = ?6, last_hash = ?7, decision_id = ?8, outcome = ?9 WHERE id = ?1",
        params![
            record.head.id,
            record.head.state.as_str(),
            record.head.updated_at.to_string(),
            decision,
            record.bundle_digest,
            record.last_seq as i64,
            record.last_hash,
            record.decision_id,
            record.decision.outcome.as_str(),
        ],
    )?;
    if a.decision.is_some() {
        write_policies(tx, &record.head.id, &record.decision, false)?;
    }
    if let Some(d) = &a.decision_log {
        insert_decision(tx, d)?;
    }
    if let Some(attestation) = &a.attestation {
        insert_attestation(tx, attestation)?;
    }
    insert_events(tx, a.events)?;
    if a.close_dispatches.is_some() {
        tx.execute(
            "UPDATE outbox SET status = 'cancelled', lease_owner = NULL, lease_until_ns = NULL \
             WHERE deployment_id = ?1 AND status = 'pending'",
            params![record.head.id],
        )?;
    }
    if let Some(d) = &a.dispatch {
        insert_dispatch(tx, &record.head.id, d)?;
    }
    if let Some(o) = &a.dispatch_outcome {
        tx.execute(
            "UPDATE outbox SET status = ?2, attempts = ?3, last_error = ?4, receipt = ?5, \
             lease_owner = NULL, lease_until_ns = NULL WHERE id = ?1",
            params![
                o.dispatch_id,
                o.status.as_str(),
                o.attempts,
                o.error,
                o.receipt.as_ref().map(Value::to_string),
            ],
        )?;
    }
    if let Some((delivery_id, response)) = &a.delivery {
        tx.execute(
            "INSERT INTO deliveries (deployment_id, delivery_id, body_sha256, body, created_ns) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                record.head.id,
                delivery_id,
                response.body_sha256,
                response.body,
                nanos(record.head.updated_at)
            ],
        )?;
    }
    Ok(record)
}

/// Refuses a cancel while a pending outbox entry of `deployment_id` is leased past `now`: the
/// dispatcher that holds it may be delivering it.
fn refuse_leased(tx: &Transaction<'_>, deployment_id: &str, now: Timestamp) -> Result<(), Fault> {
    let leased: Option<i64> = tx.query_row(
        "SELECT MAX(lease_until_ns) FROM outbox WHERE deployment_id = ?1 AND status = 'pending' \
         AND lease_until_ns > ?2",
        params![deployment_id, nanos(now)],
        |r| r.get(0),
    )?;
    match leased {
        None => Ok(()),
        Some(ns) => Err(StoreError::DispatchInFlight {
            deployment_id: deployment_id.to_owned(),
            lease_until: Timestamp::from_unix_nanos(i128::from(ns))
                .map_err(|e| StoreError::corrupt("lease time", e))?,
        }
        .into()),
    }
}

fn list(conn: &Connection, q: &ListQuery) -> Result<DeploymentPage, Fault> {
    // The status and attempts of each row's latest outbox entry, by subqueries.
    let columns = format!(
        "{}, \
         (SELECT o.status FROM outbox o WHERE o.deployment_id = d.id ORDER BY o.id DESC LIMIT 1), \
         (SELECT o.attempts FROM outbox o WHERE o.deployment_id = d.id ORDER BY o.id DESC LIMIT 1)",
        rows::SUMMARY_DEPLOYMENT_COLUMNS
    );
    let sql = list_sql(q, Placeholder::Question, &columns, "deployments d");
    let total: i64 = conn.query_row(
        &sql.count,
        rusqlite::params_from_iter(sql.args.iter()),
        |r| r.get(0),
    )?;
    let mut stmt = conn.prepare(&sql.page)?;
    let mut found = stmt.query(rusqlite::params_from_iter(sql.args.iter()))?;
    let mut items = Vec::new();
    while let Some(row) = found.next()? {
        items.push(rows::summary(row)?);
    }
    Ok(DeploymentPage::new(items, decode::count(total), q))
}

/// `(value, count)` of one column over the window.
fn counts(conn: &Connection, column: &str, since: i64) -> Result<Vec<(String, u64)>, Fault> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {column}, COUNT(*) FROM deployments WHERE created_ns >= ?1 GROUP BY {column}"
    ))?;
    let found = stmt.query_map(params![since], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
    })?;
    let mut out = Vec::new();
    for row in found {
        let (value, n) = row?;
        out.push((value, decode::count(n)));
    }
    Ok(out)
}

fn signal_snapshot(conn: &Connection, since: i64, top: usize) -> Result<SignalData, Fault> {
    let total: i64 = conn.query_row(
        "SELECT COUNT(*) FROM deployments WHERE created_ns >= ?1",
        params![since],
        |r| r.get(0),
    )?;
    let mut data = SignalData {
        total: decode::count(total),
        by_state: counts(conn, "state", since)?,
        by_environment: counts(conn, "environment", since)?,
        by_cloud: counts(conn, "cloud", since)?,
        by_service: counts(conn, "service", since)?,
        ..SignalData::default()
    };
    let mut stmt = conn.prepare(
        "SELECT environment, SUM(state = 'SUCCESS'), SUM(state = 'FAILED') FROM deployments \
         WHERE created_ns >= ?1 GROUP BY environment",
    )?;
    let mut found = stmt.query(params![since])?;
    while let Some(row) = found.next()? {
        data.finished.push((
            row.get(0)?,
            decode::count(row.get(1)?),
            decode::count(row.get(2)?),
        ));
    }
    let mut stmt = conn.prepare(
        "SELECT environment, created_at, updated_at FROM deployments \
         WHERE created_ns >= ?1 AND state = 'SUCCESS'",
    )?;
    let mut found = stmt.query(params![since])?;
    while let Some(row) = found.next()? {
        let created = decode::time("creation time", &row.get::<_, String>(1)?)?;
        let updated = decode::time("update time", &row.get::<_, String>(2)?)?;
        let seconds = (updated.unix_nanos() - created.unix_nanos()) as f64 / 1e9;
        data.lead_times.push((row.get(0)?, seconds));
    }
    let mut stmt = conn.prepare(
        "SELECT p.policy, COUNT(*), SUM(p.blocking) FROM deployment_policies p \
         JOIN deployments d ON d.id = p.deployment_id WHERE d.created_ns >= ?1 \
         GROUP BY p.policy ORDER BY COUNT(*) DESC, p.policy LIMIT ?2",
    )?;
    let mut found = stmt.query(params![since, top as i64])?;
    while let Some(row) = found.next()? {
        data.policies.push((
            row.get(0)?,
            decode::count(row.get(1)?),
            decode::count(row.get(2)?),
        ));
    }
    Ok(data)
}

fn verify_snapshot(conn: &Connection) -> Result<AuditReport, Fault> {
    let (position, link): (i64, String) = conn.query_row(
        "SELECT position, link FROM ledger_head WHERE id = 1",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let recorded = LedgerHead {
        position: u64::try_from(position).map_err(|e| StoreError::corrupt("ledger head", e))?,
        link,
    };
    let mut audit = Audit::new(recorded);
    let mut stmt = conn.prepare(&format!(
        "SELECT {} FROM events ORDER BY position",
        rows::EVENT_COLUMNS
    ))?;
    let mut found = stmt.query([])?;
    let mut going = true;
    while going && let Some(row) = found.next()? {
        going = match rows::entry(row) {
            Ok(entry) => audit.entry(&entry),
            Err(Fault::Store(e)) => {
                let position: i64 = row.get(0).unwrap_or(0);
                audit.unreadable(
                    u64::try_from(position).unwrap_or(0),
                    row.get(1).ok(),
                    e.to_string(),
                )
            }
            Err(e) => return Err(e),
        };
    }
    if going && audit.end_of_ledger() {
        let mut stmt = conn.prepare("SELECT id, state, last_hash FROM deployments ORDER BY seq")?;
        let mut found = stmt.query([])?;
        while let Some(row) = found.next()? {
            let (id, state, last_hash): (String, String, String) =
                (row.get(0)?, row.get(1)?, row.get(2)?);
            if !audit.row(&id, &state, &last_hash) {
                break;
            }
        }
    }
    Ok(audit.finish())
}

#[async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> Backend {
        Backend::Sqlite
    }

    async fn submit(&self, s: Submission) -> Result<SubmitResult, StoreError> {
        let deadline = s.deadline;
        self.write("store a submission", deadline, move |tx| submit(tx, s))
            .await
    }

    async fn append(&self, a: Append) -> Result<DeploymentRecord, StoreError> {
        let deadline = a.deadline;
        self.write("append events", deadline, move |tx| append(tx, a))
            .await
    }

    async fn get(&self, id: &str) -> Result<Option<DeploymentRecord>, StoreError> {
        let id = id.to_owned();
        self.read("read a deployment", move |conn| get_record(conn, &id))
            .await
    }

    async fn list(&self, q: &ListQuery) -> Result<DeploymentPage, StoreError> {
        let q = q.clone();
        self.read("list deployments", move |conn| list(conn, &q))
            .await
    }

    async fn signal_data(&self, since: Timestamp, top: usize) -> Result<SignalData, StoreError> {
        self.read("aggregate signals", move |conn| {
            // One read transaction: every aggregate sees the same snapshot.
            conn.execute_batch("BEGIN")?;
            let data = signal_snapshot(conn, nanos(since), top);
            conn.execute_batch("COMMIT")?;
            data
        })
        .await
    }

    async fn events(&self, id: &str) -> Result<Vec<Event>, StoreError> {
        let id = id.to_owned();
        self.read("read events", move |conn| {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {} FROM events WHERE deployment_id = ?1 ORDER BY seq",
                rows::EVENT_COLUMNS
            ))?;
            let mut found = stmt.query(params![id])?;
            let mut events = Vec::new();
            while let Some(row) = found.next()? {
                events.push(rows::entry(row)?.event);
            }
            Ok(events)
        })
        .await
    }

    async fn history(&self, service: &str) -> Result<Vec<HistoryEntry>, StoreError> {
        let service = service.to_owned();
        self.read("read a service's history", move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT id, service, environment, artifact, state, updated_at FROM deployments \
                 WHERE service = ?1 AND state IN ('SUCCESS', 'FAILED') ORDER BY seq DESC LIMIT 100",
            )?;
            let mut found = stmt.query(params![service])?;
            let mut history = Vec::new();
            while let Some(row) = found.next()? {
                let text = |i: usize| row.get::<_, String>(i);
                history.push(HistoryEntry {
                    deployment_id: text(0)?,
                    service: text(1)?,
                    environment: text(2)?,
                    artifact: text(3)?,
                    state: text(4)?,
                    finished_at: Some(decode::time("update time", &text(5)?)?),
                });
            }
            Ok(history)
        })
        .await
    }

    async fn idempotent(
        &self,
        principal: &str,
        key: &str,
    ) -> Result<Option<StoredResponse>, StoreError> {
        let (principal, key) = (principal.to_owned(), key.to_owned());
        self.read("read an idempotency key", move |conn| {
            stored_response(
                conn,
                "SELECT body_sha256, body FROM idempotency WHERE principal = ?1 AND key = ?2",
                params![principal, key],
            )
        })
        .await
    }

    async fn delivery(
        &self,
        deployment_id: &str,
        delivery_id: &str,
    ) -> Result<Option<StoredResponse>, StoreError> {
        let (deployment_id, delivery_id) = (deployment_id.to_owned(), delivery_id.to_owned());
        self.read("read a callback delivery", move |conn| {
            stored_response(
                conn,
                "SELECT body_sha256, body FROM deliveries WHERE deployment_id = ?1 AND delivery_id = ?2",
                params![deployment_id, delivery_id],
            )
        })
        .await
    }

    async fn dispatch_of(&self, deployment_id: &str) -> Result<Option<Dispatch>, StoreError> {
        let deployment_id = deployment_id.to_owned();
        self.read("read a dispatch", move |conn| {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {} FROM outbox o WHERE o.deployment_id = ?1 ORDER BY o.id DESC LIMIT 1",
                rows::DISPATCH_COLUMNS
            ))?;
            let mut found = stmt.query(params![deployment_id])?;
            match found.next()? {
                Some(row) => rows::dispatch(row).map(Some),
                None => Ok(None),
            }
        })
        .await
    }

    async fn claim_dispatches(&self, claim: &Claim) -> Result<Vec<Dispatch>, StoreError> {
        let claim = claim.clone();
        self.write("claim outbox entries", None, move |tx| {
            tx.execute(
                "UPDATE outbox SET status = 'cancelled', lease_owner = NULL, lease_until_ns = NULL \
                 WHERE status = 'pending' AND deployment_id IN \
                 (SELECT id FROM deployments WHERE state IN ('CANCELLED', 'REJECTED'))",
                [],
            )?;
            let now = nanos(claim.now);
            let mut claimed = Vec::new();
            {
                let mut stmt = tx.prepare_cached(&format!(
                    "SELECT {} FROM outbox o JOIN deployments d ON d.id = o.deployment_id \
                     WHERE o.status = 'pending' AND o.next_attempt_ns <= ?1 \
                     AND (o.lease_until_ns IS NULL OR o.lease_until_ns <= ?1) AND d.state = 'VALIDATED' \
                     ORDER BY o.next_attempt_ns, o.id LIMIT ?2",
                    rows::DISPATCH_COLUMNS
                ))?;
                let mut found = stmt.query(params![now, claim.limit as i64])?;
                while let Some(row) = found.next()? {
                    claimed.push(rows::dispatch(row)?);
                }
            }
            let mut lease = tx.prepare_cached(
                "UPDATE outbox SET lease_owner = ?2, lease_until_ns = ?3 WHERE id = ?1",
            )?;
            for d in &claimed {
                lease.execute(params![d.id, claim.owner, nanos(claim.lease_until)])?;
            }
            Ok(claimed)
        })
        .await
    }

    async fn next_due(&self) -> Result<Option<Timestamp>, StoreError> {
        self.read("find the next due dispatch", |conn| {
            let next: Option<i64> = conn.query_row(
                "SELECT MIN(MAX(o.next_attempt_ns, COALESCE(o.lease_until_ns, 0))) FROM outbox o \
                 JOIN deployments d ON d.id = o.deployment_id \
                 WHERE o.status = 'pending' AND d.state = 'VALIDATED'",
                [],
                |r| r.get(0),
            )?;
            next.map(|ns| {
                Timestamp::from_unix_nanos(i128::from(ns))
                    .map_err(|e| StoreError::corrupt("next attempt time", e).into())
            })
            .transpose()
        })
        .await
    }

    async fn renew_lease(&self, renewal: &Renewal) -> Result<bool, StoreError> {
        let r = renewal.clone();
        self.write("renew a dispatch lease", None, move |tx| {
            let renewed = tx.execute(
                "UPDATE outbox SET lease_until_ns = ?4 WHERE id = ?1 AND lease_owner = ?2 \
                 AND status = 'pending' AND lease_until_ns > ?3 AND deployment_id IN \
                 (SELECT id FROM deployments WHERE state = 'VALIDATED')",
                params![r.dispatch_id, r.owner, nanos(r.now), nanos(r.lease_until)],
            )?;
            Ok(renewed == 1)
        })
        .await
    }

    async fn retry_dispatch(&self, retry: &Retry) -> Result<(), StoreError> {
        let retry = retry.clone();
        self.write("record a failed dispatch attempt", None, move |tx| {
            tx.execute(
                "UPDATE outbox SET attempts = ?2, next_attempt_at = ?3, next_attempt_ns = ?4, last_error = ?5, \
                 lease_owner = NULL, lease_until_ns = NULL \
                 WHERE id = ?1 AND status = 'pending' AND lease_owner = ?6",
                params![
                    retry.dispatch_id,
                    retry.attempts,
                    retry.next_attempt_at.to_string(),
                    nanos(retry.next_attempt_at),
                    retry.error,
                    retry.owner,
                ],
            )?;
            Ok(())
        })
        .await
    }

    async fn purge(&self, purge: &Purge) -> Result<Purged, StoreError> {
        let purge = purge.clone();
        self.write("purge expired records", None, move |tx| {
            let idempotency = tx.execute(
                "DELETE FROM idempotency WHERE created_ns < ?1",
                params![nanos(purge.idempotency_before)],
            )?;
            let deliveries = tx.execute(
                "DELETE FROM deliveries WHERE created_ns < ?1",
                params![nanos(purge.deliveries_before)],
            )?;
            let replicas = tx.execute(
                "DELETE FROM replicas WHERE seen_ns < ?1",
                params![nanos(purge.replicas_before)],
            )?;
            let decisions = tx.execute(
                "DELETE FROM decisions WHERE at_ns < ?1",
                params![nanos(purge.decisions_before)],
            )?;
            Ok(Purged {
                idempotency: idempotency as u64,
                deliveries: deliveries as u64,
                replicas: replicas as u64,
                decisions: decisions as u64,
            })
        })
        .await
    }

    async fn verify(&self) -> Result<AuditReport, StoreError> {
        self.read("verify the ledger", |conn| {
            // One read transaction: the events, head and rows are one snapshot.
            conn.execute_batch("BEGIN")?;
            let report = verify_snapshot(conn);
            conn.execute_batch("COMMIT")?;
            report
        })
        .await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.read("answer a ping", |conn| {
            Ok(conn.query_row("SELECT 1", [], |_| Ok(()))?)
        })
        .await
    }

    async fn report_replica(&self, report: &ReplicaReport) -> Result<(), StoreError> {
        let report = report.clone();
        self.write("report this replica", None, move |tx| {
            tx.execute(
                "INSERT INTO replicas (replica_id, address, bundle_digest, bundle_revision, started_at, seen_at, seen_ns) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (replica_id) DO UPDATE SET \
                 address = excluded.address, bundle_digest = excluded.bundle_digest, \
                 bundle_revision = excluded.bundle_revision, seen_at = excluded.seen_at, seen_ns = excluded.seen_ns",
                params![
                    report.replica_id,
                    report.address,
                    report.bundle_digest,
                    report.bundle_revision,
                    report.started_at.to_string(),
                    report.seen_at.to_string(),
                    nanos(report.seen_at),
                ],
            )?;
            Ok(())
        })
        .await
    }

    async fn activate_bundle(
        &self,
        bundle: &ActiveBundle,
        replaces: Option<&str>,
    ) -> Result<bool, StoreError> {
        let bundle = bundle.clone();
        let replaces = replaces.map(str::to_owned);
        self.write("record the active bundle", None, move |tx| {
            let at = bundle.activated_at.to_string();
            let changed = match &replaces {
                Some(replaces) => tx.execute(
                    "UPDATE active_bundle SET digest = ?1, revision = ?2, activated_by = ?3, \
                     activated_at = ?4 WHERE id = 1 AND digest = ?5",
                    params![
                        bundle.digest,
                        bundle.revision,
                        bundle.activated_by,
                        at,
                        replaces
                    ],
                )?,
                None => tx.execute(
                    "INSERT INTO active_bundle (id, digest, revision, activated_by, activated_at) \
                     VALUES (1, ?1, ?2, ?3, ?4) ON CONFLICT (id) DO NOTHING",
                    params![bundle.digest, bundle.revision, bundle.activated_by, at],
                )?,
            };
            Ok(changed == 1)
        })
        .await
    }

    async fn active_bundle(&self) -> Result<Option<ActiveBundle>, StoreError> {
        self.read("read the active bundle", |conn| {
            let row = conn
                .query_row(
                    "SELECT digest, revision, activated_by, activated_at FROM active_bundle WHERE id = 1",
                    [],
                    |r| {
                        Ok((
                            r.get::<_, String>(0)?,
                            r.get::<_, String>(1)?,
                            r.get::<_, String>(2)?,
                            r.get::<_, String>(3)?,
                        ))
                    },
                )
                .optional()?;
            row.map(|(digest, revision, activated_by, at)| {
                Ok(ActiveBundle {
                    digest,
                    revision,
                    activated_by,
                    activated_at: decode::time("activation time", &at)?,
                })
            })
            .transpose()
        })
        .await
    }

    async fn log_decision(&self, record: &DecisionRecord) -> Result<(), StoreError> {
        let record = record.clone();
        self.write("log a decision", None, move |tx| {
            insert_decision(tx, &record)
        })
        .await
    }

    async fn decision(&self, decision_id: &str) -> Result<Option<DecisionRecord>, StoreError> {
        let decision_id = decision_id.to_owned();
        self.read("read a logged decision", move |conn| {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {} FROM decisions WHERE decision_id = ?1",
                rows::DECISION_COLUMNS
            ))?;
            let mut found = stmt.query(params![decision_id])?;
            match found.next()? {
                Some(row) => rows::decision(row).map(Some),
                None => Ok(None),
            }
        })
        .await
    }

    async fn decisions(&self, q: &DecisionQuery) -> Result<Vec<DecisionRecord>, StoreError> {
        let q = q.clone();
        self.read("read the decision log", move |conn| {
            let (after_ns, after_id) = q
                .after
                .map_or((i64::MIN, String::new()), |c| (c.at_ns, c.decision_id));
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {} FROM decisions WHERE at_ns >= ?1 AND at_ns < ?2 AND (at_ns, decision_id) > (?3, ?4) \
                 ORDER BY at_ns, decision_id LIMIT ?5",
                rows::DECISION_COLUMNS
            ))?;
            let mut found = stmt.query(params![
                q.since.map_or(i64::MIN, nanos),
                q.until.map_or(i64::MAX, nanos),
                after_ns,
                after_id,
                i64::from(q.limit),
            ])?;
            let mut out = Vec::new();
            while let Some(row) = found.next()? {
                out.push(rows::decision(row)?);
            }
            Ok(out)
        })
        .await
    }

    async fn attestation(
        &self,
        decision_id: &str,
    ) -> Result<Option<AttestationRecord>, StoreError> {
        let decision_id = decision_id.to_owned();
        self.read("read an attestation", move |conn| {
            attestation_row(
                conn,
                &format!("SELECT {ATTESTATION_COLUMNS} FROM attestations WHERE decision_id = ?1"),
                &decision_id,
            )
        })
        .await
    }

    async fn latest_attestation(
        &self,
        deployment_id: &str,
    ) -> Result<Option<AttestationRecord>, StoreError> {
        let deployment_id = deployment_id.to_owned();
        self.read("read a deployment's attestation", move |conn| {
            attestation_row(
                conn,
                &format!(
                    "SELECT {ATTESTATION_COLUMNS} FROM attestations WHERE deployment_id = ?1 \
                     ORDER BY at_ns DESC, decision_id DESC LIMIT 1"
                ),
                &deployment_id,
            )
        })
        .await
    }

    async fn replicas(&self) -> Result<Vec<ReplicaReport>, StoreError> {
        self.read("list the replicas", |conn| {
            let mut stmt = conn.prepare(
                "SELECT replica_id, address, bundle_digest, bundle_revision, started_at, seen_at \
                 FROM replicas ORDER BY started_at, replica_id",
            )?;
            let mut found = stmt.query([])?;
            let mut out = Vec::new();
            while let Some(row) = found.next()? {
                let text = |i: usize| row.get::<_, String>(i);
                out.push(ReplicaReport {
                    replica_id: text(0)?,
                    address: text(1)?,
                    bundle_digest: text(2)?,
                    bundle_revision: text(3)?,
                    started_at: decode::time("replica start time", &text(4)?)?,
                    seen_at: decode::time("replica seen time", &text(5)?)?,
                });
            }
            Ok(out)
        })
        .await
    }
}

#[cfg(test)]
mod tests;
