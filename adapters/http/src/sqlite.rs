//! The SQLite store: WAL journal with `synchronous = FULL` (a committed transaction survives a
//! crash or power loss), one writer connection, a small pool of readers.

use std::path::Path;
use std::sync::Mutex;

use gatehouse_core::{
    Event, EventType, HistoryEntry, LedgerEntry, LedgerHead, LedgerVerifier, State, Timestamp,
};
use rusqlite::{Connection, OptionalExtension, Row, Transaction, params};
use serde_json::Value;

use crate::store::{
    Append, AuditReport, BrokenLink, DeploymentRecord, Dispatch, DispatchStatus, ListQuery,
    NewDispatch, Page, Store, StoreError, StoredResponse, Submission, SubmitResult,
};

const SCHEMA_VERSION: i64 = 1;

const SCHEMA: &str = "
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
    /// Opens (creating if needed) the database at `path`.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let mut writer = open(path)?;
        let version: i64 = writer
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(db)?;
        if version > SCHEMA_VERSION {
            return Err(StoreError::Database(format!(
                "{} was written by a newer gatehouse (schema {version}, this one knows {SCHEMA_VERSION})",
                path.display()
            )));
        }
        let tx = writer.transaction().map_err(db)?;
        tx.execute_batch(SCHEMA).map_err(db)?;
        tx.execute(
            "INSERT OR IGNORE INTO ledger_head (id, position, link) VALUES (1, 0, ?1)",
            params![LedgerHead::default().link],
        )
        .map_err(db)?;
        tx.execute_batch(&format!("PRAGMA user_version = {SCHEMA_VERSION}"))
            .map_err(db)?;
        tx.commit().map_err(db)?;
        Ok(Self {
            writer: Mutex::new(writer),
            readers: Mutex::new(Vec::new()),
            path: path.to_path_buf(),
        })
    }

    fn write<T>(
        &self,
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
    let status = match get(5)?.as_str() {
        "pending" => DispatchStatus::Pending,
        "delivered" => DispatchStatus::Delivered,
        "failed" => DispatchStatus::Failed,
        other => return Err(corrupt(format!("unknown dispatch status `{other}`"))),
    };
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

const DISPATCH_COLUMNS: &str =
    "id, deployment_id, executor, payload, attempts, status, next_attempt_at, last_error, receipt";

impl Store for SqliteStore {
    fn submit(&self, s: Submission) -> Result<SubmitResult, StoreError> {
        self.write(move |tx| {
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
                    "INSERT INTO idempotency (principal, key, body_sha256, status, body) VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![principal, key, response.body_sha256, response.status, response.body],
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
            insert_events(tx, s.events)?;
            if let Some(d) = &s.dispatch {
                insert_dispatch(tx, &r.id, d)?;
            }
            Ok(SubmitResult::Created(Box::new(s.record)))
        })
    }

    fn append(&self, a: Append) -> Result<DeploymentRecord, StoreError> {
        self.write(move |tx| {
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
            insert_events(tx, a.events)?;
            if let Some(d) = &a.dispatch {
                insert_dispatch(tx, &record.id, d)?;
            }
            if let Some(o) = &a.dispatch_outcome {
                tx.execute(
                    "UPDATE outbox SET status = ?2, attempts = ?3, last_error = ?4, receipt = ?5 WHERE id = ?1",
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
                    "INSERT INTO deliveries (delivery_id, body_sha256, status, body) VALUES (?1, ?2, ?3, ?4)",
                    params![delivery_id, response.body_sha256, response.status, response.body],
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
                    "SELECT {RECORD_COLUMNS} FROM deployments {filter} ORDER BY seq DESC LIMIT {} OFFSET {}",
                    q.limit,
                    q.offset.min(i64::MAX as u64)
                ))
                .map_err(db)?;
            let items = stmt
                .query_map(rusqlite::params_from_iter(args.iter()), record_from_row)
                .map_err(db)?
                .map(|r| r.map_err(db).and_then(|x| x))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Page {
                items,
                total: u64::try_from(total).unwrap_or(0),
            })
        })
    }

    fn created_since(&self, since: Timestamp) -> Result<Vec<DeploymentRecord>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn
                .prepare(&format!(
                    "SELECT {RECORD_COLUMNS} FROM deployments WHERE created_ns >= ?1 ORDER BY seq"
                ))
                .map_err(db)?;
            stmt.query_map(params![nanos(since)], record_from_row)
                .map_err(db)?
                .map(|r| r.map_err(db).and_then(|x| x))
                .collect()
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

    fn delivery(&self, delivery_id: &str) -> Result<Option<StoredResponse>, StoreError> {
        self.read(|conn| {
            stored_response(
                conn,
                "SELECT body_sha256, status, body FROM deliveries WHERE delivery_id = ?1",
                params![delivery_id],
            )
        })
    }

    fn dispatch_of(&self, deployment_id: &str) -> Result<Option<Dispatch>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn
                .prepare_cached(&format!(
                    "SELECT {DISPATCH_COLUMNS} FROM outbox WHERE deployment_id = ?1 ORDER BY id DESC LIMIT 1"
                ))
                .map_err(db)?;
            let mut rows = stmt.query(params![deployment_id]).map_err(db)?;
            match rows.next().map_err(db)? {
                Some(row) => dispatch_from_row(row).map(Some),
                None => Ok(None),
            }
        })
    }

    fn due_dispatches(&self, now: Timestamp, limit: usize) -> Result<Vec<Dispatch>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn
                .prepare_cached(&format!(
                    "SELECT {DISPATCH_COLUMNS} FROM outbox WHERE status = 'pending' AND next_attempt_ns <= ?1 \
                     ORDER BY next_attempt_ns, id LIMIT ?2"
                ))
                .map_err(db)?;
            let mut rows = stmt
                .query(params![nanos(now), limit as i64])
                .map_err(db)?;
            let mut due = Vec::new();
            while let Some(row) = rows.next().map_err(db)? {
                due.push(dispatch_from_row(row)?);
            }
            Ok(due)
        })
    }

    fn next_due(&self) -> Result<Option<Timestamp>, StoreError> {
        self.read(|conn| {
            let next: Option<String> = conn
                .query_row(
                    "SELECT next_attempt_at FROM outbox WHERE status = 'pending' ORDER BY next_attempt_ns LIMIT 1",
                    [],
                    |r| r.get(0),
                )
                .optional()
                .map_err(db)?;
            next.map(|t| Timestamp::parse(&t).map_err(corrupt))
                .transpose()
        })
    }

    fn retry_dispatch(
        &self,
        dispatch_id: i64,
        attempts: u32,
        next_attempt_at: Timestamp,
        error: &str,
    ) -> Result<(), StoreError> {
        self.write(|tx| {
            tx.execute(
                "UPDATE outbox SET attempts = ?2, next_attempt_at = ?3, next_attempt_ns = ?4, last_error = ?5 \
                 WHERE id = ?1 AND status = 'pending'",
                params![
                    dispatch_id,
                    attempts,
                    next_attempt_at.to_string(),
                    nanos(next_attempt_at),
                    error
                ],
            )
            .map_err(db)?;
            Ok(())
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
