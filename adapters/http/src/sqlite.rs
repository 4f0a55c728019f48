//! The SQLite store: WAL journal with `synchronous = FULL` (a committed transaction survives a
//! crash or power loss), one writer connection, a small pool of readers.
//!
//! The schema is a list of numbered migrations ([`MIGRATIONS`]) applied in order when the file is
//! opened, each in its own transaction, and tracked by `PRAGMA user_version`: a database written
//! by an older gatehouse is brought up to date and keeps its rows; one written by a newer
//! gatehouse is refused.

use std::path::Path;
use std::sync::Mutex;
use std::time::Instant;

use gatehouse_core::{
    Event, EventType, HistoryEntry, LedgerEntry, LedgerHead, LedgerVerifier, State, Timestamp,
};
use rusqlite::{Connection, OptionalExtension, Row, Transaction, params};
use serde_json::Value;

use crate::store::{
    Append, AuditReport, BrokenLink, Claim, DeploymentRecord, DeploymentSummary, Dispatch,
    DispatchBrief, DispatchStatus, ListQuery, NewDispatch, Page, Retry, SignalData, Store,
    StoreError, StoredResponse, Submission, SubmitResult,
};

/// Version 1: the first schema (written with `IF NOT EXISTS`, before versioned migrations).
const SCHEMA_V1: &str = "
CREATE TABLE IF NOT EXISTS deployments (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    state TEXT NOT NULL,
    service TEXT NOT NULL,
    version TEXT NOT NULL,
    artifact TEXT NOT NULL,
    environment TEXT NOT NULL,
    cloud TEXT NOT NULL,
    account TEXT NOT NULL,
    region TEXT NOT NULL,
    requested_by TEXT NOT NULL,
    submitted_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    created_ns INTEGER NOT NULL,
    updated_at TEXT NOT NULL,
    intent TEXT NOT NULL,
    decision TEXT NOT NULL,
    bundle_digest TEXT NOT NULL,
    last_seq INTEGER NOT NULL,
    last_hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS deployments_service ON deployments(service, state);
CREATE INDEX IF NOT EXISTS deployments_created ON deployments(created_ns);
CREATE TABLE IF NOT EXISTS events (
    position INTEGER PRIMARY KEY,
    deployment_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    type TEXT NOT NULL,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    data TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL,
    link TEXT NOT NULL,
    UNIQUE (deployment_id, seq)
);
CREATE TABLE IF NOT EXISTS ledger_head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    position INTEGER NOT NULL,
    link TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    deployment_id TEXT NOT NULL,
    executor TEXT NOT NULL,
    payload TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL,
    next_attempt_at TEXT NOT NULL,
    next_attempt_ns INTEGER NOT NULL,
    last_error TEXT,
    receipt TEXT
);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox(status, next_attempt_ns);
CREATE INDEX IF NOT EXISTS outbox_deployment ON outbox(deployment_id);
CREATE TABLE IF NOT EXISTS idempotency (
    principal TEXT NOT NULL,
    key TEXT NOT NULL,
    body_sha256 TEXT NOT NULL,
    status INTEGER NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (principal, key)
);
CREATE TABLE IF NOT EXISTS deliveries (
    delivery_id TEXT PRIMARY KEY,
    body_sha256 TEXT NOT NULL,
    status INTEGER NOT NULL,
    body TEXT NOT NULL
);
";

/// Version 2: delivery ids unique per deployment (they were global, so the same id on two
/// deployments failed on the key); creation times on idempotency and delivery records (they
/// expire); outbox leases (an entry is claimed before it is delivered); the decision's outcome
/// and the policies that held or blocked each deployment, written with the decision, so lists
/// and signals read no decision JSON. Rows of version 1 are carried over: a delivery's deployment
/// is found from the event that recorded it, outcomes and policies from the stored decisions.
const SCHEMA_V2: &str = "
CREATE TABLE deliveries_v2 (
    deployment_id TEXT NOT NULL,
    delivery_id TEXT NOT NULL,
    body_sha256 TEXT NOT NULL,
    status INTEGER NOT NULL,
    body TEXT NOT NULL,
    created_ns INTEGER NOT NULL,
    PRIMARY KEY (deployment_id, delivery_id)
);
INSERT INTO deliveries_v2 (deployment_id, delivery_id, body_sha256, status, body, created_ns)
SELECT COALESCE(
        (SELECT e.deployment_id FROM events e
         WHERE e.type IN ('started', 'succeeded', 'failed') AND json_valid(e.data)
           AND json_extract(e.data, '$.delivery_id') = d.delivery_id
         ORDER BY e.position LIMIT 1),
        ''),
    d.delivery_id, d.body_sha256, d.status, d.body,
    CAST(unixepoch('subsec') * 1000000000 AS INTEGER)
FROM deliveries d;
DROP TABLE deliveries;
ALTER TABLE deliveries_v2 RENAME TO deliveries;
CREATE INDEX deliveries_created ON deliveries(created_ns);
ALTER TABLE idempotency ADD COLUMN created_ns INTEGER NOT NULL DEFAULT 0;
UPDATE idempotency SET created_ns = CAST(unixepoch('subsec') * 1000000000 AS INTEGER);
CREATE INDEX idempotency_created ON idempotency(created_ns);
ALTER TABLE outbox ADD COLUMN lease_owner TEXT;
ALTER TABLE outbox ADD COLUMN lease_until_ns INTEGER;
ALTER TABLE deployments ADD COLUMN outcome TEXT NOT NULL DEFAULT '';
UPDATE deployments SET outcome = COALESCE(
    CASE WHEN json_valid(decision) THEN json_extract(decision, '$.outcome') END, '');
CREATE TABLE deployment_policies (
    deployment_id TEXT NOT NULL,
    policy TEXT NOT NULL,
    blocking INTEGER NOT NULL,
    PRIMARY KEY (deployment_id, policy)
);
INSERT OR IGNORE INTO deployment_policies (deployment_id, policy, blocking)
SELECT d.id, json_extract(v.value, '$.policy'), json_extract(v.value, '$.status') = 'blocking'
FROM deployments d, json_each(CASE WHEN json_valid(d.decision) THEN d.decision ELSE '{}' END, '$.violations') v
WHERE json_extract(v.value, '$.status') IN ('blocking', 'pending_approval')
  AND json_type(v.value, '$.policy') = 'text'
ORDER BY d.seq, v.key;
";

/// The migrations, in order: the database's `user_version` is how many have been applied.
const MIGRATIONS: [&str; 2] = [SCHEMA_V1, SCHEMA_V2];

const SUMMARY_COLUMNS: &str = "d.id, d.state, d.service, d.version, d.artifact, d.environment, \
     d.cloud, d.account, d.region, d.requested_by, d.submitted_by, d.created_at, d.updated_at, \
     d.outcome, d.bundle_digest, d.last_hash, \
     (SELECT o.status FROM outbox o WHERE o.deployment_id = d.id ORDER BY o.id DESC LIMIT 1), \
     (SELECT o.attempts FROM outbox o WHERE o.deployment_id = d.id ORDER BY o.id DESC LIMIT 1)";

const RECORD_COLUMNS: &str = "id, state, service, version, artifact, environment, cloud, account, region, \
     requested_by, submitted_by, created_at, updated_at, intent, decision, bundle_digest, last_seq, last_hash";

const READERS: usize = 4;

/// The SQLite store.
pub struct SqliteStore {
    writer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
    path: std::path::PathBuf,
}

fn db(e: rusqlite::Error) -> StoreError {
    StoreError::Database(e.to_string())
}

fn corrupt(what: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(what.to_string())
}

fn open(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open(path).map_err(db)?;
    conn.busy_timeout(std::time::Duration::from_secs(10))
        .map_err(db)?;
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;",
    )
    .map_err(db)?;
    Ok(conn)
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and applies the migrations it lacks.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let mut writer = open(path)?;
        let known = MIGRATIONS.len() as i64;
        for (index, step) in MIGRATIONS.iter().enumerate() {
            let target = index as i64 + 1;
            // One immediate transaction per step: another server opening the same file at the
            // same moment waits, then finds the step applied.
            let tx = writer
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .map_err(db)?;
            let version: i64 = tx
                .query_row("PRAGMA user_version", [], |r| r.get(0))
                .map_err(db)?;
            if version > known {
                return Err(StoreError::Database(format!(
                    "{} was written by a newer gatehouse (schema {version}, this one knows {known})",
                    path.display()
                )));
            }
            if version >= target {
                continue;
            }
            tx.execute_batch(step).map_err(|e| {
                StoreError::Database(format!(
                    "{}: migration to schema {target} failed: {e}",
                    path.display()
                ))
            })?;
            tx.execute_batch(&format!("PRAGMA user_version = {target}"))
                .map_err(db)?;
            tx.commit().map_err(db)?;
        }
        writer
            .execute(
                "INSERT OR IGNORE INTO ledger_head (id, position, link) VALUES (1, 0, ?1)",
                params![LedgerHead::default().link],
            )
            .map_err(db)?;
        Ok(Self {
            writer: Mutex::new(writer),
            readers: Mutex::new(Vec::new()),
            path: path.to_path_buf(),
        })
    }

    /// Runs `f` in an immediate transaction; past `deadline` it rolls back instead of
    /// committing ([`StoreError::DeadlineExceeded`]).
    fn write<T>(
        &self,
        deadline: Option<Instant>,
        f: impl FnOnce(&Transaction<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut conn = self
            .writer
            .lock()
            .map_err(|_| StoreError::Database("writer lock poisoned".into()))?;
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(db)?;
        let value = f(&tx)?;
        if deadline.is_some_and(|d| Instant::now() >= d) {
            // Dropping the transaction rolls it back.
            return Err(StoreError::DeadlineExceeded);
        }
        tx.commit().map_err(db)?;
        Ok(value)
    }

    fn read<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let conn = match self.readers.lock().ok().and_then(|mut pool| pool.pop()) {
            Some(conn) => conn,
            None => open(&self.path)?,
        };
        let result = f(&conn);
        if let Ok(mut pool) = self.readers.lock()
            && pool.len() < READERS
        {
            pool.push(conn);
        }
        result
    }
}

fn record_from_row(row: &Row<'_>) -> rusqlite::Result<Result<DeploymentRecord, StoreError>> {
    let text = |i: usize| row.get::<_, String>(i);
    let state: String = text(1)?;
    let created: String = text(11)?;
    let updated: String = text(12)?;
    let intent: String = text(13)?;
    let decision: String = text(14)?;
    let last_seq: i64 = row.get(16)?;
    let build = || -> Result<DeploymentRecord, StoreError> {
        Ok(DeploymentRecord {
            id: text(0).map_err(db)?,
            state: parse_state(&state)?,
            service: text(2).map_err(db)?,
            version: text(3).map_err(db)?,
            artifact: text(4).map_err(db)?,
            environment: text(5).map_err(db)?,
            cloud: text(6).map_err(db)?,
            account: text(7).map_err(db)?,
            region: text(8).map_err(db)?,
            requested_by: text(9).map_err(db)?,
            submitted_by: text(10).map_err(db)?,
            created_at: Timestamp::parse(&created).map_err(corrupt)?,
            updated_at: Timestamp::parse(&updated).map_err(corrupt)?,
            intent: serde_json::from_str(&intent).map_err(corrupt)?,
            decision: serde_json::from_str(&decision).map_err(corrupt)?,
            bundle_digest: text(15).map_err(db)?,
            last_seq: u64::try_from(last_seq).map_err(corrupt)?,
            last_hash: text(17).map_err(db)?,
        })
    };
    Ok(build())
}

fn parse_state(text: &str) -> Result<State, StoreError> {
    serde_json::from_value(Value::String(text.to_owned()))
        .map_err(|_| corrupt(format!("unknown state `{text}`")))
}

fn parse_event_type(text: &str) -> Result<EventType, StoreError> {
    serde_json::from_value(Value::String(text.to_owned()))
        .map_err(|_| corrupt(format!("unknown event type `{text}`")))
}

const EVENT_COLUMNS: &str =
    "position, deployment_id, seq, type, at, actor, data, prev_hash, hash, link";

fn entry_from_row(row: &Row<'_>) -> Result<LedgerEntry, StoreError> {
    let get = |i: usize| row.get::<_, String>(i).map_err(db);
    let position: i64 = row.get(0).map_err(db)?;
    let seq: i64 = row.get(2).map_err(db)?;
    Ok(LedgerEntry {
        position: u64::try_from(position).map_err(corrupt)?,
        event: Event {
            seq: u64::try_from(seq).map_err(corrupt)?,
            deployment_id: get(1)?,
            kind: parse_event_type(&get(3)?)?,
            at: Timestamp::parse(&get(4)?).map_err(corrupt)?,
            actor: get(5)?,
            data: serde_json::from_str(&get(6)?).map_err(corrupt)?,
            prev_hash: get(7)?,
            hash: get(8)?,
        },
        link: get(9)?,
    })
}

fn head(tx: &Transaction<'_>) -> Result<LedgerHead, StoreError> {
    tx.query_row(
        "SELECT position, link FROM ledger_head WHERE id = 1",
        [],
        |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)),
    )
    .map_err(db)
    .and_then(|(position, link)| {
        Ok(LedgerHead {
            position: u64::try_from(position).map_err(corrupt)?,
            link,
        })
    })
}

/// Appends events to the ledger and moves its head, inside the caller's transaction.
fn insert_events(tx: &Transaction<'_>, events: Vec<Event>) -> Result<(), StoreError> {
    let mut current = head(tx)?;
    let mut insert = tx
        .prepare_cached(
            "INSERT INTO events (position, deployment_id, seq, type, at, actor, data, prev_hash, hash, link) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        )
        .map_err(db)?;
    for event in events {
        let (entry, next) = current.append(event);
        let e = &entry.event;
        insert
            .execute(params![
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
            ])
            .map_err(db)?;
        current = next;
    }
    tx.execute(
        "UPDATE ledger_head SET position = ?1, link = ?2 WHERE id = 1",
        params![current.position as i64, current.link],
    )
    .map_err(db)?;
    Ok(())
}

fn insert_dispatch(tx: &Transaction<'_>, id: &str, d: &NewDispatch) -> Result<(), StoreError> {
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
    )
    .map_err(db)?;
    Ok(())
}

fn nanos(t: Timestamp) -> i64 {
    i64::try_from(t.unix_nanos()).unwrap_or(i64::MAX)
}

/// A stored response (`body_sha256, status, body`) selected by `sql`.
fn stored_response(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<Option<StoredResponse>, StoreError> {
    conn.query_row(sql, params, |r| {
        Ok(StoredResponse {
            body_sha256: r.get(0)?,
            status: r.get(1)?,
            body: r.get(2)?,
        })
    })
    .optional()
    .map_err(db)
}

fn get_record(conn: &Connection, id: &str) -> Result<Option<DeploymentRecord>, StoreError> {
    conn.query_row(
        &format!("SELECT {RECORD_COLUMNS} FROM deployments WHERE id = ?1"),
        params![id],
        record_from_row,
    )
    .optional()
    .map_err(db)?
    .transpose()
}

fn dispatch_from_row(row: &Row<'_>) -> Result<Dispatch, StoreError> {
    let get = |i: usize| row.get::<_, String>(i).map_err(db);
    let status = parse_dispatch_status(&get(5)?)?;
    let receipt: Option<String> = row.get(8).map_err(db)?;
    Ok(Dispatch {
        id: row.get(0).map_err(db)?,
        deployment_id: get(1)?,
        executor: get(2)?,
        payload: serde_json::from_str(&get(3)?).map_err(corrupt)?,
        attempts: row.get(4).map_err(db)?,
        status,
        next_attempt_at: Timestamp::parse(&get(6)?).map_err(corrupt)?,
        last_error: row.get(7).map_err(db)?,
        receipt: receipt
            .map(|r| serde_json::from_str(&r))
            .transpose()
            .map_err(corrupt)?,
    })
}

const DISPATCH_COLUMNS: &str = "o.id, o.deployment_id, o.executor, o.payload, o.attempts, o.status, \
     o.next_attempt_at, o.last_error, o.receipt";

fn parse_dispatch_status(text: &str) -> Result<DispatchStatus, StoreError> {
    match text {
        "pending" => Ok(DispatchStatus::Pending),
        "delivered" => Ok(DispatchStatus::Delivered),
        "failed" => Ok(DispatchStatus::Failed),
        "cancelled" => Ok(DispatchStatus::Cancelled),
        other => Err(corrupt(format!("unknown dispatch status `{other}`"))),
    }
}

fn summary_from_row(row: &Row<'_>) -> Result<DeploymentSummary, StoreError> {
    let text = |i: usize| row.get::<_, String>(i).map_err(db);
    let status: Option<String> = row.get(16).map_err(db)?;
    let attempts: Option<u32> = row.get(17).map_err(db)?;
    let dispatch = match (status, attempts) {
        (Some(status), Some(attempts)) => Some(DispatchBrief {
            status: parse_dispatch_status(&status)?,
            attempts,
        }),
        _ => None,
    };
    Ok(DeploymentSummary {
        id: text(0)?,
        state: parse_state(&text(1)?)?,
        service: text(2)?,
        version: text(3)?,
        artifact: text(4)?,
        environment: text(5)?,
        cloud: text(6)?,
        account: text(7)?,
        region: text(8)?,
        requested_by: text(9)?,
        submitted_by: text(10)?,
        created_at: Timestamp::parse(&text(11)?).map_err(corrupt)?,
        updated_at: Timestamp::parse(&text(12)?).map_err(corrupt)?,
        outcome: text(13)?,
        bundle_digest: text(14)?,
        etag: text(15)?,
        dispatch,
    })
}

/// The decision's outcome and the policies that held or blocked it, written with the decision.
fn write_decision_facts(
    tx: &Transaction<'_>,
    id: &str,
    decision: &Value,
) -> Result<(), StoreError> {
    let outcome = decision
        .get("outcome")
        .and_then(Value::as_str)
        .unwrap_or("");
    tx.execute(
        "UPDATE deployments SET outcome = ?2 WHERE id = ?1",
        params![id, outcome],
    )
    .map_err(db)?;
    tx.execute(
        "DELETE FROM deployment_policies WHERE deployment_id = ?1",
        params![id],
    )
    .map_err(db)?;
    let mut insert = tx
        .prepare_cached(
            "INSERT INTO deployment_policies (deployment_id, policy, blocking) VALUES (?1, ?2, ?3)",
        )
        .map_err(db)?;
    for (policy, blocking) in crate::signals::held_policies(decision) {
        insert.execute(params![id, policy, blocking]).map_err(db)?;
    }
    Ok(())
}

/// `(value, count)` of one column over the window.
fn counts(conn: &Connection, column: &str, since: i64) -> Result<Vec<(String, u64)>, StoreError> {
    let mut stmt = conn
        .prepare(&format!(
            "SELECT {column}, COUNT(*) FROM deployments WHERE created_ns >= ?1 GROUP BY {column}"
        ))
        .map_err(db)?;
    let rows = stmt
        .query_map(params![since], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
        })
        .map_err(db)?;
    rows.map(|r| {
        r.map_err(db)
            .map(|(value, n)| (value, u64::try_from(n).unwrap_or(0)))
    })
    .collect()
}

impl Store for SqliteStore {
    fn submit(&self, s: Submission) -> Result<SubmitResult, StoreError> {
        let deadline = s.deadline;
        self.write(deadline, move |tx| {
            if let Some((principal, key, response)) = &s.idempotency {
                let seen = stored_response(
                    tx,
                    "SELECT body_sha256, status, body FROM idempotency WHERE principal = ?1 AND key = ?2",
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
                    "INSERT INTO idempotency (principal, key, body_sha256, status, body, created_ns) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![principal, key, response.body_sha256, response.status, response.body, nanos(s.record.created_at)],
                )
                .map_err(db)?;
            }
            let r = &s.record;
            tx.execute(
                "INSERT INTO deployments (id, state, service, version, artifact, environment, cloud, account, \
                 region, requested_by, submitted_by, created_at, created_ns, updated_at, intent, decision, \
                 bundle_digest, last_seq, last_hash) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)",
                params![
                    r.id,
                    r.state.as_str(),
                    r.service,
                    r.version,
                    r.artifact,
                    r.environment,
                    r.cloud,
                    r.account,
                    r.region,
                    r.requested_by,
                    r.submitted_by,
                    r.created_at.to_string(),
                    nanos(r.created_at),
                    r.updated_at.to_string(),
                    r.intent.to_string(),
                    r.decision.to_string(),
                    r.bundle_digest,
                    r.last_seq as i64,
                    r.last_hash,
                ],
            )
            .map_err(db)?;
            write_decision_facts(tx, &r.id, &r.decision)?;
            insert_events(tx, s.events)?;
            if let Some(d) = &s.dispatch {
                insert_dispatch(tx, &r.id, d)?;
            }
            Ok(SubmitResult::Created(Box::new(s.record)))
        })
    }

    fn append(&self, a: Append) -> Result<DeploymentRecord, StoreError> {
        let deadline = a.deadline;
        self.write(deadline, move |tx| {
            // A delivery already recorded answers before the hash check: a concurrent redelivery
            // that lost the race replays the winner's response.
            if let Some((delivery_id, _)) = &a.delivery
                && let Some(stored) = stored_response(
                    tx,
                    "SELECT body_sha256, status, body FROM deliveries WHERE deployment_id = ?1 AND delivery_id = ?2",
                    params![a.deployment_id, delivery_id],
                )?
            {
                return Err(StoreError::DeliveryExists {
                    delivery_id: delivery_id.clone(),
                    stored,
                });
            }
            let mut record = get_record(tx, &a.deployment_id)?
                .ok_or_else(|| StoreError::NotFound(a.deployment_id.clone()))?;
            if record.last_hash != a.expect_hash {
                return Err(StoreError::Conflict {
                    id: a.deployment_id.clone(),
                    current: record.last_hash,
                });
            }
            if let Some(last) = a.events.last() {
                let mut state = record.state;
                for event in &a.events {
                    state = gatehouse_core::next_state(Some(state), event.kind)
                        .map_err(|e| StoreError::Database(format!("refused event: {e}")))?;
                }
                record.state = state;
                record.last_seq = last.seq;
                record.last_hash = last.hash.clone();
                record.updated_at = last.at;
            }
            if let Some((decision, digest)) = &a.decision {
                record.decision = decision.clone();
                record.bundle_digest = digest.clone();
            }
            tx.execute(
                "UPDATE deployments SET state = ?2, updated_at = ?3, decision = ?4, bundle_digest = ?5, \
                 last_seq = ?6, last_hash = ?7 WHERE id = ?1",
                params![
                    record.id,
                    record.state.as_str(),
                    record.updated_at.to_string(),
                    record.decision.to_string(),
                    record.bundle_digest,
                    record.last_seq as i64,
                    record.last_hash,
                ],
            )
            .map_err(db)?;
            if a.decision.is_some() {
                write_decision_facts(tx, &record.id, &record.decision)?;
            }
            insert_events(tx, a.events)?;
            if a.close_dispatches {
                tx.execute(
                    "UPDATE outbox SET status = 'cancelled', lease_owner = NULL, lease_until_ns = NULL \
                     WHERE deployment_id = ?1 AND status = 'pending'",
                    params![record.id],
                )
                .map_err(db)?;
            }
            if let Some(d) = &a.dispatch {
                insert_dispatch(tx, &record.id, d)?;
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
                )
                .map_err(db)?;
            }
            if let Some((delivery_id, response)) = &a.delivery {
                tx.execute(
                    "INSERT INTO deliveries (deployment_id, delivery_id, body_sha256, status, body, created_ns) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![record.id, delivery_id, response.body_sha256, response.status, response.body, nanos(record.updated_at)],
                )
                .map_err(db)?;
            }
            Ok(record)
        })
    }

    fn get(&self, id: &str) -> Result<Option<DeploymentRecord>, StoreError> {
        self.read(|conn| get_record(conn, id))
    }

    fn list(&self, q: &ListQuery) -> Result<Page, StoreError> {
        self.read(|conn| {
            let mut clauses = Vec::new();
            let mut args: Vec<String> = Vec::new();
            let mut filter = |column: &str, value: Option<&str>| {
                if let Some(v) = value {
                    args.push(v.to_owned());
                    clauses.push(format!("{column} = ?{}", args.len()));
                }
            };
            filter("state", q.state.map(State::as_str));
            filter("environment", q.environment.as_deref());
            filter("service", q.service.as_deref());
            filter("cloud", q.cloud.as_deref());
            let filter = if clauses.is_empty() {
                String::new()
            } else {
                format!("WHERE {}", clauses.join(" AND "))
            };
            let total: i64 = conn
                .query_row(
                    &format!("SELECT COUNT(*) FROM deployments {filter}"),
                    rusqlite::params_from_iter(args.iter()),
                    |r| r.get(0),
                )
                .map_err(db)?;
            let mut stmt = conn
                .prepare(&format!(
                    "SELECT {SUMMARY_COLUMNS} FROM deployments d {filter} ORDER BY d.seq DESC LIMIT {} OFFSET {}",
                    q.limit,
                    q.offset.min(i64::MAX as u64)
                ))
                .map_err(db)?;
            let mut rows = stmt
                .query(rusqlite::params_from_iter(args.iter()))
                .map_err(db)?;
            let mut items = Vec::new();
            while let Some(row) = rows.next().map_err(db)? {
                items.push(summary_from_row(row)?);
            }
            Ok(Page {
                items,
                total: u64::try_from(total).unwrap_or(0),
            })
        })
    }

    fn signal_data(&self, since: Timestamp, top: usize) -> Result<SignalData, StoreError> {
        self.read(|conn| {
            // One read transaction: every aggregate sees the same snapshot.
            conn.execute_batch("BEGIN").map_err(db)?;
            let data = signal_snapshot(conn, nanos(since), top);
            conn.execute_batch("COMMIT").map_err(db)?;
            data
        })
    }

    fn events(&self, id: &str) -> Result<Vec<Event>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn
                .prepare(&format!(
                    "SELECT {EVENT_COLUMNS} FROM events WHERE deployment_id = ?1 ORDER BY seq"
                ))
                .map_err(db)?;
            let mut rows = stmt.query(params![id]).map_err(db)?;
            let mut events = Vec::new();
            while let Some(row) = rows.next().map_err(db)? {
                events.push(entry_from_row(row)?.event);
            }
            Ok(events)
        })
    }

    fn history(&self, service: &str) -> Result<Vec<HistoryEntry>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn
                .prepare(
                    "SELECT id, service, environment, artifact, state, updated_at FROM deployments \
                     WHERE service = ?1 AND state IN ('SUCCESS', 'FAILED') ORDER BY seq DESC LIMIT 100",
                )
                .map_err(db)?;
            let mut rows = stmt.query(params![service]).map_err(db)?;
            let mut history = Vec::new();
            while let Some(row) = rows.next().map_err(db)? {
                let get = |i: usize| row.get::<_, String>(i).map_err(db);
                history.push(HistoryEntry {
                    deployment_id: get(0)?,
                    service: get(1)?,
                    environment: get(2)?,
                    artifact: get(3)?,
                    state: get(4)?,
                    finished_at: Some(Timestamp::parse(&get(5)?).map_err(corrupt)?),
                });
            }
            Ok(history)
        })
    }

    fn idempotent(&self, principal: &str, key: &str) -> Result<Option<StoredResponse>, StoreError> {
        self.read(|conn| {
            stored_response(
                conn,
                "SELECT body_sha256, status, body FROM idempotency WHERE principal = ?1 AND key = ?2",
                params![principal, key],
            )
        })
    }

    fn delivery(
        &self,
        deployment_id: &str,
        delivery_id: &str,
    ) -> Result<Option<StoredResponse>, StoreError> {
        self.read(|conn| {
            stored_response(
                conn,
                "SELECT body_sha256, status, body FROM deliveries WHERE deployment_id = ?1 AND delivery_id = ?2",
                params![deployment_id, delivery_id],
            )
        })
    }

    fn dispatch_of(&self, deployment_id: &str) -> Result<Option<Dispatch>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn
                .prepare_cached(&format!(
                    "SELECT {DISPATCH_COLUMNS} FROM outbox o WHERE o.deployment_id = ?1 ORDER BY o.id DESC LIMIT 1"
                ))
                .map_err(db)?;
            let mut rows = stmt.query(params![deployment_id]).map_err(db)?;
            match rows.next().map_err(db)? {
                Some(row) => dispatch_from_row(row).map(Some),
                None => Ok(None),
            }
        })
    }

    fn claim_dispatches(&self, claim: &Claim) -> Result<Vec<Dispatch>, StoreError> {
        self.write(None, |tx| {
            tx.execute(
                "UPDATE outbox SET status = 'cancelled', lease_owner = NULL, lease_until_ns = NULL \
                 WHERE status = 'pending' AND deployment_id IN \
                 (SELECT id FROM deployments WHERE state IN ('CANCELLED', 'REJECTED'))",
                [],
            )
            .map_err(db)?;
            let now = nanos(claim.now);
            let mut claimed = Vec::new();
            {
                let mut stmt = tx
                    .prepare_cached(&format!(
                        "SELECT {DISPATCH_COLUMNS} FROM outbox o JOIN deployments d ON d.id = o.deployment_id \
                         WHERE o.status = 'pending' AND o.next_attempt_ns <= ?1 \
                         AND (o.lease_until_ns IS NULL OR o.lease_until_ns <= ?1) AND d.state = 'VALIDATED' \
                         ORDER BY o.next_attempt_ns, o.id LIMIT ?2"
                    ))
                    .map_err(db)?;
                let mut rows = stmt
                    .query(params![now, claim.limit as i64])
                    .map_err(db)?;
                while let Some(row) = rows.next().map_err(db)? {
                    claimed.push(dispatch_from_row(row)?);
                }
            }
            let mut lease = tx
                .prepare_cached("UPDATE outbox SET lease_owner = ?2, lease_until_ns = ?3 WHERE id = ?1")
                .map_err(db)?;
            for d in &claimed {
                lease
                    .execute(params![d.id, claim.owner, nanos(claim.lease_until)])
                    .map_err(db)?;
            }
            Ok(claimed)
        })
    }

    fn next_due(&self) -> Result<Option<Timestamp>, StoreError> {
        self.read(|conn| {
            let next: Option<i64> = conn
                .query_row(
                    "SELECT MIN(MAX(o.next_attempt_ns, COALESCE(o.lease_until_ns, 0))) FROM outbox o \
                     JOIN deployments d ON d.id = o.deployment_id \
                     WHERE o.status = 'pending' AND d.state = 'VALIDATED'",
                    [],
                    |r| r.get(0),
                )
                .map_err(db)?;
            next.map(|ns| Timestamp::from_unix_nanos(i128::from(ns)).map_err(corrupt))
                .transpose()
        })
    }

    fn retry_dispatch(&self, retry: &Retry) -> Result<(), StoreError> {
        self.write(None, |tx| {
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
            )
            .map_err(db)?;
            Ok(())
        })
    }

    fn purge(
        &self,
        idempotency_before: Timestamp,
        deliveries_before: Timestamp,
    ) -> Result<(u64, u64), StoreError> {
        self.write(None, |tx| {
            let keys = tx
                .execute(
                    "DELETE FROM idempotency WHERE created_ns < ?1",
                    params![nanos(idempotency_before)],
                )
                .map_err(db)?;
            let deliveries = tx
                .execute(
                    "DELETE FROM deliveries WHERE created_ns < ?1",
                    params![nanos(deliveries_before)],
                )
                .map_err(db)?;
            Ok((keys as u64, deliveries as u64))
        })
    }

    fn verify(&self) -> Result<AuditReport, StoreError> {
        self.read(|conn| {
            // One read transaction: the events, head and rows are one snapshot.
            conn.execute_batch("BEGIN").map_err(db)?;
            let report = verify_snapshot(conn);
            conn.execute_batch("COMMIT").map_err(db)?;
            report
        })
    }

    fn ping(&self) -> Result<(), StoreError> {
        self.read(|conn| conn.query_row("SELECT 1", [], |_| Ok(())).map_err(db))
    }
}

fn signal_snapshot(conn: &Connection, since: i64, top: usize) -> Result<SignalData, StoreError> {
    let total: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM deployments WHERE created_ns >= ?1",
            params![since],
            |r| r.get(0),
        )
        .map_err(db)?;
    let mut data = SignalData {
        total: u64::try_from(total).unwrap_or(0),
        by_state: counts(conn, "state", since)?,
        by_environment: counts(conn, "environment", since)?,
        by_cloud: counts(conn, "cloud", since)?,
        by_service: counts(conn, "service", since)?,
        ..SignalData::default()
    };
    let count = |n: i64| u64::try_from(n).unwrap_or(0);
    let mut stmt = conn
        .prepare(
            "SELECT environment, SUM(state = 'SUCCESS'), SUM(state = 'FAILED') FROM deployments \
             WHERE created_ns >= ?1 GROUP BY environment",
        )
        .map_err(db)?;
    let mut rows = stmt.query(params![since]).map_err(db)?;
    while let Some(row) = rows.next().map_err(db)? {
        data.finished.push((
            row.get(0).map_err(db)?,
            count(row.get(1).map_err(db)?),
            count(row.get(2).map_err(db)?),
        ));
    }
    let mut stmt = conn
        .prepare(
            "SELECT environment, created_at, updated_at FROM deployments \
             WHERE created_ns >= ?1 AND state = 'SUCCESS'",
        )
        .map_err(db)?;
    let mut rows = stmt.query(params![since]).map_err(db)?;
    while let Some(row) = rows.next().map_err(db)? {
        let at = |i: usize| -> Result<Timestamp, StoreError> {
            Timestamp::parse(&row.get::<_, String>(i).map_err(db)?).map_err(corrupt)
        };
        let seconds = (at(2)?.unix_nanos() - at(1)?.unix_nanos()) as f64 / 1e9;
        data.lead_times.push((row.get(0).map_err(db)?, seconds));
    }
    let mut stmt = conn
        .prepare(
            "SELECT p.policy, COUNT(*), SUM(p.blocking) FROM deployment_policies p \
             JOIN deployments d ON d.id = p.deployment_id WHERE d.created_ns >= ?1 \
             GROUP BY p.policy ORDER BY COUNT(*) DESC, p.policy LIMIT ?2",
        )
        .map_err(db)?;
    let mut rows = stmt.query(params![since, top as i64]).map_err(db)?;
    while let Some(row) = rows.next().map_err(db)? {
        data.policies.push((
            row.get(0).map_err(db)?,
            count(row.get(1).map_err(db)?),
            count(row.get(2).map_err(db)?),
        ));
    }
    Ok(data)
}

fn verify_snapshot(conn: &Connection) -> Result<AuditReport, StoreError> {
    let (head_position, head_link): (i64, String) = conn
        .query_row(
            "SELECT position, link FROM ledger_head WHERE id = 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .map_err(db)?;
    let recorded = LedgerHead {
        position: u64::try_from(head_position).map_err(corrupt)?,
        link: head_link.clone(),
    };
    let mut report = AuditReport {
        ok: false,
        events: 0,
        deployments: 0,
        head_position: recorded.position,
        head_link,
        first_broken: None,
    };
    let mut verifier = LedgerVerifier::new();
    let mut stmt = conn
        .prepare(&format!(
            "SELECT {EVENT_COLUMNS} FROM events ORDER BY position"
        ))
        .map_err(db)?;
    let mut rows = stmt.query([]).map_err(db)?;
    while let Some(row) = rows.next().map_err(db)? {
        let entry = match entry_from_row(row) {
            Ok(entry) => entry,
            Err(e) => {
                let position: i64 = row.get(0).unwrap_or(0);
                report.first_broken = Some(BrokenLink {
                    position: u64::try_from(position).unwrap_or(0),
                    deployment_id: row.get(1).ok(),
                    code: "unreadable_event".into(),
                    message: e.to_string(),
                });
                return Ok(report);
            }
        };
        if let Err(e) = verifier.push(&entry) {
            report.first_broken = Some(BrokenLink {
                position: e.position,
                deployment_id: e.deployment_id.clone(),
                code: e.code().into(),
                message: e.to_string(),
            });
            return Ok(report);
        }
        report.events += 1;
    }
    let summary = match verifier.finish(Some(&recorded)) {
        Ok(summary) => summary,
        Err(e) => {
            report.first_broken = Some(BrokenLink {
                position: e.position,
                deployment_id: None,
                code: e.code().into(),
                message: e.to_string(),
            });
            return Ok(report);
        }
    };
    report.deployments = summary.deployments.len() as u64;
    // The projection must agree with the ledger: same deployments, same state and last hash.
    let mut stmt = conn
        .prepare("SELECT id, state, last_seq, last_hash FROM deployments ORDER BY seq")
        .map_err(db)?;
    let mut rows = stmt.query([]).map_err(db)?;
    let mut seen = 0usize;
    while let Some(row) = rows.next().map_err(db)? {
        let id: String = row.get(0).map_err(db)?;
        let state: String = row.get(1).map_err(db)?;
        let last_hash: String = row.get(3).map_err(db)?;
        seen += 1;
        let mismatch = match summary.deployments.get(&id) {
            None => Some("has a row but no events in the ledger".to_owned()),
            Some(s) if s.state.as_str() != state => {
                Some(format!("row says {state}, its events say {}", s.state))
            }
            Some(s) if s.last_hash != last_hash => {
                Some("row's last hash is not its last event's".to_owned())
            }
            Some(_) => None,
        };
        if let Some(message) = mismatch {
            report.first_broken = Some(BrokenLink {
                position: 0,
                deployment_id: Some(id.clone()),
                code: "projection_mismatch".into(),
                message: format!("deployment `{id}`: {message}"),
            });
            return Ok(report);
        }
    }
    if seen != summary.deployments.len() {
        report.first_broken = Some(BrokenLink {
            position: 0,
            deployment_id: None,
            code: "projection_mismatch".into(),
            message: format!(
                "the ledger holds {} deployments but the table has {seen} rows (a row was deleted)",
                summary.deployments.len()
            ),
        });
        return Ok(report);
    }
    report.ok = true;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    /// A database file as version 1 wrote it: one deployment held by `cost.ceiling`, one
    /// callback delivery recorded by its `started` event, an idempotency key, a pending dispatch.
    fn version_1_file(path: &Path) {
        let conn = Connection::open(path).unwrap();
        conn.execute_batch(SCHEMA_V1).unwrap();
        let decision = json!({"outcome": "needs_approval", "violations": [
            {"policy": "cost.ceiling", "status": "pending_approval"},
            {"policy": "tags.required", "status": "blocking"},
            {"policy": "cost.ceiling", "status": "blocking"}
        ]});
        conn.execute(
            "INSERT INTO deployments (id, state, service, version, artifact, environment, cloud, account, \
             region, requested_by, submitted_by, created_at, created_ns, updated_at, intent, decision, \
             bundle_digest, last_seq, last_hash) VALUES ('dep_1', 'VALIDATED', 'svc', '1', 'a', 'dev', 'aws', \
             '1', 'r', 'erin', 'dev', '2026-11-23T10:00:00Z', ?1, '2026-11-23T10:00:00Z', '{}', ?2, 'sha256:x', 3, 'h3')",
            params![nanos(t("2026-11-23T10:00:00Z")), decision.to_string()],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO events (position, deployment_id, seq, type, at, actor, data, prev_hash, hash, link) \
             VALUES (3, 'dep_1', 3, 'started', '2026-11-23T10:00:00Z', 'pipeline', ?1, 'h2', 'h3', 'l3')",
            params![json!({"delivery_id": "run-1"}).to_string()],
        )
        .unwrap();
        conn.execute_batch(
            "INSERT INTO deliveries VALUES ('run-1', 'sha', 200, '{\"state\":\"IN_PROGRESS\"}');
             INSERT INTO idempotency VALUES ('dev', 'k-1', 'sha', 201, '{}');
             INSERT INTO outbox (deployment_id, executor, payload, status, next_attempt_at, next_attempt_ns) \
                VALUES ('dep_1', 'webhook', '{}', 'pending', '2026-11-23T10:00:00Z', 0);
             INSERT INTO ledger_head VALUES (1, 3, 'l3');
             PRAGMA user_version = 1;",
        )
        .unwrap();
    }

    #[test]
    fn a_version_1_database_is_migrated_and_keeps_its_rows() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v1.db");
        version_1_file(&path);
        let store = SqliteStore::open(&path).unwrap();
        let version: i64 = Connection::open(&path)
            .unwrap()
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version, MIGRATIONS.len() as i64);
        // The delivery now belongs to its deployment; the same id is free on another one.
        let seen = store.delivery("dep_1", "run-1").unwrap().unwrap();
        assert_eq!(seen.status, 200);
        assert!(store.delivery("dep_2", "run-1").unwrap().is_none());
        assert!(store.idempotent("dev", "k-1").unwrap().is_some());
        let page = store
            .list(&ListQuery {
                limit: 10,
                ..ListQuery::default()
            })
            .unwrap();
        assert_eq!(page.total, 1);
        assert_eq!(page.items[0].outcome, "needs_approval");
        assert_eq!(page.items[0].etag, "h3");
        assert_eq!(
            page.items[0].dispatch,
            Some(DispatchBrief {
                status: DispatchStatus::Pending,
                attempts: 0
            })
        );
        let data = store.signal_data(t("2026-11-01T00:00:00Z"), 10).unwrap();
        assert_eq!(
            data.policies,
            vec![
                ("cost.ceiling".to_owned(), 1, 0),
                ("tags.required".to_owned(), 1, 1)
            ]
        );
        drop(store);
        // Opening again applies nothing and keeps everything.
        let store = SqliteStore::open(&path).unwrap();
        assert!(store.delivery("dep_1", "run-1").unwrap().is_some());
    }

    #[test]
    fn a_newer_database_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("new.db");
        Connection::open(&path)
            .unwrap()
            .execute_batch("PRAGMA user_version = 99")
            .unwrap();
        let err = SqliteStore::open(&path).err().unwrap().to_string();
        assert!(err.contains("newer gatehouse"), "{err}");
    }

    #[test]
    fn a_lease_holds_until_it_expires_and_only_validated_deployments_are_claimed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lease.db");
        version_1_file(&path);
        let store = SqliteStore::open(&path).unwrap();
        let claim = |owner: &str, now: &str, until: &str| {
            store
                .claim_dispatches(&Claim {
                    owner: owner.into(),
                    now: t(now),
                    lease_until: t(until),
                    limit: 10,
                })
                .unwrap()
        };
        assert_eq!(
            claim("a", "2026-11-23T10:00:00Z", "2026-11-23T10:01:00Z").len(),
            1
        );
        // Held by `a`: nobody else gets it, `a` included, until the lease ends.
        assert!(claim("b", "2026-11-23T10:00:30Z", "2026-11-23T10:01:30Z").is_empty());
        assert_eq!(store.next_due().unwrap(), Some(t("2026-11-23T10:01:00Z")));
        // `a` died: after the lease the entry is claimable again.
        assert_eq!(
            claim("b", "2026-11-23T10:01:00Z", "2026-11-23T10:02:00Z").len(),
            1
        );
        // A retry recorded by a former holder is dropped.
        store
            .retry_dispatch(&Retry {
                dispatch_id: 1,
                owner: "a".into(),
                attempts: 1,
                next_attempt_at: t("2026-11-23T10:05:00Z"),
                error: "late".into(),
            })
            .unwrap();
        assert_eq!(store.dispatch_of("dep_1").unwrap().unwrap().attempts, 0);
        // A deployment that is not VALIDATED is not dispatched.
        Connection::open(&path)
            .unwrap()
            .execute("UPDATE deployments SET state = 'CANCELLED'", [])
            .unwrap();
        assert!(claim("c", "2026-11-23T11:00:00Z", "2026-11-23T11:01:00Z").is_empty());
        assert_eq!(
            store.dispatch_of("dep_1").unwrap().unwrap().status,
            DispatchStatus::Cancelled
        );
        assert_eq!(store.next_due().unwrap(), None);
    }

    #[test]
    fn expired_idempotency_and_delivery_records_are_purged() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("purge.db");
        version_1_file(&path);
        let store = SqliteStore::open(&path).unwrap();
        Connection::open(&path)
            .unwrap()
            .execute_batch(&format!(
                "UPDATE idempotency SET created_ns = {}; UPDATE deliveries SET created_ns = {};",
                nanos(t("2026-11-23T10:00:00Z")),
                nanos(t("2026-11-20T10:00:00Z"))
            ))
            .unwrap();
        // Neither is old enough yet.
        let kept = store
            .purge(t("2026-11-23T09:00:00Z"), t("2026-11-20T09:00:00Z"))
            .unwrap();
        assert_eq!(kept, (0, 0));
        let purged = store
            .purge(t("2026-11-24T10:00:01Z"), t("2026-11-27T10:00:01Z"))
            .unwrap();
        assert_eq!(purged, (1, 1));
        assert!(store.idempotent("dev", "k-1").unwrap().is_none());
        assert!(store.delivery("dep_1", "run-1").unwrap().is_none());
    }
}
