//! The PostgreSQL store: several `gatehouse serve` processes on one database behave as one
//! control plane.
//!
//! - **Ledger.** Every append locks the ledger head row (`SELECT ... FOR UPDATE`) as the last
//!   step of its transaction, assigns the next positions and links under that lock and commits:
//!   appends are serialised, so the global chain has no gap and no fork. Everything else a
//!   write does (the deployment row, idempotency key, outbox entry, delivery record) happens
//!   before it takes the head, so the lock is held for three round trips and the commit.
//! - **Compare-and-swap.** An append locks its deployment row (`FOR UPDATE`) and checks the last
//!   hash the caller read; a concurrent change makes it a conflict, as in SQLite.
//! - **Idempotency and deliveries** are primary keys: `INSERT ... ON CONFLICT DO NOTHING` waits
//!   for a concurrent transaction holding the same key and then sees its row.
//! - **Outbox claims** take due rows `FOR UPDATE SKIP LOCKED` and lease them, so two replicas
//!   never claim one entry; an expired lease makes it claimable again.
//! - **Failures.** Serialization failures and deadlocks are retried; a lost connection, a
//!   server shutting down or a pool that cannot connect is [`StoreError::Unavailable`] (the
//!   transaction did not commit; the caller may retry). Connections come from a deadpool pool.
//! - **TLS.** `sslmode=disable|prefer|require` in the URL (tokio-postgres's default is
//!   `prefer`); TLS uses rustls with the system's root certificates, and the server's
//!   certificate is always verified.

use std::future::Future;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use deadpool_postgres::{Manager, ManagerConfig, Pool, PoolError, RecyclingMethod, Runtime};
use futures_util::TryStreamExt;
use gatehouse_core::{Event, HistoryEntry, LedgerHead, State, Timestamp};
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;

use crate::audit::{Audit, AuditReport};
use crate::config::PostgresConfig;
use crate::decision_log::{DecisionQuery, DecisionRecord};
use crate::deployment::{DeploymentRecord, ListQuery, Page};
use crate::outbox::{Claim, Dispatch, NewDispatch, Retry};
use crate::replicas::{ActiveBundle, ReplicaReport};
use crate::store::{
    Append, Backend, Purge, Purged, SignalData, Store, StoreError, StoredResponse, Submission,
    SubmitResult, apply_append, outcome_of,
};

mod migrations;
mod rows;

pub use migrations::SCHEMA_VERSION;

/// Attempts of a transaction that failed on a serialization failure or a deadlock.
const SERIALIZATION_ATTEMPTS: usize = 5;

/// Why a PostgreSQL call failed, before it is named by its operation.
pub(crate) enum Fault {
    /// The driver failed.
    Db(tokio_postgres::Error),
    /// No connection could be had from the pool.
    Pool(PoolError),
    /// The store refused (not found, conflict, corrupt value...).
    Store(StoreError),
}

impl From<tokio_postgres::Error> for Fault {
    fn from(e: tokio_postgres::Error) -> Self {
        Self::Db(e)
    }
}

impl From<PoolError> for Fault {
    fn from(e: PoolError) -> Self {
        Self::Pool(e)
    }
}

impl From<StoreError> for Fault {
    fn from(e: StoreError) -> Self {
        Self::Store(e)
    }
}

impl Fault {
    /// A serialization failure or a deadlock: the transaction may be run again.
    fn retryable(&self) -> bool {
        matches!(self, Self::Db(e) if e.code().is_some_and(|c| {
            *c == SqlState::T_R_SERIALIZATION_FAILURE || *c == SqlState::T_R_DEADLOCK_DETECTED
        }))
    }
}

/// Whether a driver error means the database could not be reached or would not serve (the
/// statement did not run): a closed connection, an I/O error, a connection exception (class
/// 08), a shutting-down or starting server (57P01-57P03), too many connections or no resources
/// (class 53), a cancelled statement, or a conflict that outlived its retries.
fn unavailable(e: &tokio_postgres::Error) -> bool {
    if e.is_closed() {
        return true;
    }
    match e.code() {
        None => true,
        Some(code) => {
            let code = code.code();
            code.starts_with("08")
                || code.starts_with("53")
                || code.starts_with("57P")
                || code == "57014"
                || code == "40001"
                || code == "40P01"
        }
    }
}

/// Names a failure by the operation it interrupted.
fn finish(operation: &'static str, fault: Fault) -> StoreError {
    let backend = Backend::Postgres;
    match fault {
        Fault::Store(e) => e,
        Fault::Pool(PoolError::Backend(e)) | Fault::Db(e) if !unavailable(&e) => {
            StoreError::Query {
                backend,
                operation,
                source: Box::new(e),
            }
        }
        Fault::Pool(PoolError::Backend(e)) | Fault::Db(e) => StoreError::Unavailable {
            backend,
            operation,
            source: Box::new(e),
        },
        Fault::Pool(e) => StoreError::Unavailable {
            backend,
            operation,
            source: Box::new(e),
        },
    }
}

/// The PostgreSQL store.
#[derive(Clone)]
pub struct PostgresStore {
    pool: Pool,
    location: String,
}

/// `url` with its password (in the user info or a `password=` option) replaced by `***`, for
/// messages and logs.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{user}:***@{host}"),
            None => format!("{userinfo}@{host}"),
        },
        None => authority.to_owned(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let options: Vec<String> = query
                .split('&')
                .map(|option| match option.split_once('=') {
                    Some((key, _)) if key.eq_ignore_ascii_case("password") => {
                        format!("{key}=***")
                    }
                    _ => option.to_owned(),
                })
                .collect();
            format!("{path}?{}", options.join("&"))
        }
        None => tail.to_owned(),
    };
    format!("{scheme}://{authority}{tail}")
}

fn tls() -> Result<tokio_postgres_rustls::MakeRustlsConnect, StoreError> {
    use rustls_platform_verifier::ConfigVerifierExt;
    // The crate's one crypto provider (ring), as for the executors.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let config = rustls::ClientConfig::with_platform_verifier().map_err(|e| StoreError::Query {
        backend: Backend::Postgres,
        operation: "set up TLS",
        source: Box::new(e),
    })?;
    Ok(tokio_postgres_rustls::MakeRustlsConnect::new(config))
}

impl PostgresStore {
    /// Connects to the database at `url` (`postgres://user:password@host:port/dbname`), applies
    /// the migrations it lacks and returns the store with the schema version found before.
    pub async fn connect(url: &str, settings: &PostgresConfig) -> Result<(Self, i64), StoreError> {
        let location = redact(url);
        let mut pg: tokio_postgres::Config = url.parse().map_err(|e| StoreError::Connect {
            location: location.clone(),
            source: Box::new(e),
        })?;
        if pg.get_connect_timeout().is_none() {
            pg.connect_timeout(Duration::from_millis(settings.connect_timeout_ms));
        }
        if pg.get_application_name().is_none() {
            pg.application_name("gatehouse");
        }
        let manager = Manager::from_config(
            pg,
            tls()?,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let connect = Duration::from_millis(settings.connect_timeout_ms);
        let pool = Pool::builder(manager)
            .max_size(settings.pool_size)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(Duration::from_millis(settings.acquire_timeout_ms)))
            .create_timeout(Some(connect))
            .recycle_timeout(Some(connect))
            .build()
            .map_err(|e| StoreError::Connect {
                location: location.clone(),
                source: Box::new(e),
            })?;
        let mut client = pool.get().await.map_err(|e| StoreError::Connect {
            location: location.clone(),
            source: Box::new(e),
        })?;
        let found = migrations::migrate(&mut client, &location).await?;
        client
            .execute(
                "INSERT INTO ledger_head (id, position, link) VALUES (1, 0, $1) ON CONFLICT (id) DO NOTHING",
                &[&LedgerHead::default().link],
            )
            .await
            .map_err(|e| finish("create the ledger head", e.into()))?;
        drop(client);
        Ok((Self { pool, location }, found))
    }

    /// The database, without its password.
    pub fn location(&self) -> &str {
        &self.location
    }

    /// Runs `attempt` until it succeeds or fails other than on a serialization failure or a
    /// deadlock.
    async fn retrying<T, F, Fut>(
        &self,
        operation: &'static str,
        mut attempt: F,
    ) -> Result<T, StoreError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, Fault>>,
    {
        let mut tries = 1;
        loop {
            match attempt().await {
                Ok(value) => return Ok(value),
                Err(fault) if fault.retryable() && tries < SERIALIZATION_ATTEMPTS => tries += 1,
                Err(fault) => return Err(finish(operation, fault)),
            }
        }
    }

    /// Runs a read on a pooled connection.
    async fn read<T, F, Fut>(&self, operation: &'static str, f: F) -> Result<T, StoreError>
    where
        F: FnOnce(deadpool_postgres::Object) -> Fut,
        Fut: Future<Output = Result<T, Fault>>,
    {
        let client = self
            .pool
            .get()
            .await
            .map_err(|e| finish(operation, e.into()))?;
        f(client).await.map_err(|e| finish(operation, e))
    }
}

fn nanos(t: Timestamp) -> i64 {
    i64::try_from(t.unix_nanos()).unwrap_or(i64::MAX)
}

fn signed(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn past(deadline: Option<Instant>) -> Result<(), Fault> {
    if deadline.is_some_and(|d| Instant::now() >= d) {
        Err(StoreError::DeadlineExceeded.into())
    } else {
        Ok(())
    }
}

/// A stored answer (`body_sha256, body`) selected by `sql`.
async fn stored_response(
    client: &impl deadpool_postgres::GenericClient,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<Option<StoredResponse>, Fault> {
    let stmt = client.prepare_cached(sql).await?;
    let row = client.query_opt(&stmt, params).await?;
    Ok(match row {
        Some(row) => Some(StoredResponse {
            body_sha256: row.try_get(0)?,
            body: row.try_get(1)?,
        }),
        None => None,
    })
}

/// Appends events to the ledger under the head lock, inside the caller's transaction: the
/// head row is locked, the entries chained after it, inserted and the head moved in one
/// statement. The lock is held until the caller commits.
async fn insert_events(
    tx: &deadpool_postgres::Transaction<'_>,
    events: &[Event],
) -> Result<(), Fault> {
    if events.is_empty() {
        return Ok(());
    }
    let lock = tx
        .prepare_cached("SELECT position, link FROM ledger_head WHERE id = 1 FOR UPDATE")
        .await?;
    let row = tx.query_one(&lock, &[]).await?;
    let mut current = LedgerHead {
        position: rows::unsigned("ledger head", row.try_get(0)?)?,
        link: row.try_get(1)?,
    };
    let mut position = Vec::with_capacity(events.len());
    let mut deployment = Vec::with_capacity(events.len());
    let mut seq = Vec::with_capacity(events.len());
    let mut kind = Vec::with_capacity(events.len());
    let mut at = Vec::with_capacity(events.len());
    let mut actor = Vec::with_capacity(events.len());
    let mut data = Vec::with_capacity(events.len());
    let mut prev = Vec::with_capacity(events.len());
    let mut hash = Vec::with_capacity(events.len());
    let mut link = Vec::with_capacity(events.len());
    for event in events {
        let (entry, next) = current.append(event.clone());
        let e = entry.event;
        position.push(signed(entry.position));
        deployment.push(e.deployment_id);
        seq.push(signed(e.seq));
        kind.push(e.kind.as_str().to_owned());
        at.push(e.at.to_string());
        actor.push(e.actor);
        data.push(e.data.to_string());
        prev.push(e.prev_hash);
        hash.push(e.hash);
        link.push(entry.link);
        current = next;
    }
    let insert = tx
        .prepare_cached(
            "WITH appended AS (\
                 INSERT INTO events (position, deployment_id, seq, type, at, actor, data, prev_hash, hash, link) \
                 SELECT * FROM unnest($1::BIGINT[], $2::TEXT[], $3::BIGINT[], $4::TEXT[], $5::TEXT[], \
                                      $6::TEXT[], $7::TEXT[], $8::TEXT[], $9::TEXT[], $10::TEXT[])) \
             UPDATE ledger_head SET position = $11, link = $12 WHERE id = 1",
        )
        .await?;
    tx.execute(
        &insert,
        &[
            &position,
            &deployment,
            &seq,
            &kind,
            &at,
            &actor,
            &data,
            &prev,
            &hash,
            &link,
            &signed(current.position),
            &current.link,
        ],
    )
    .await?;
    Ok(())
}

async fn insert_dispatch(
    tx: &deadpool_postgres::Transaction<'_>,
    id: &str,
    d: &NewDispatch,
) -> Result<(), Fault> {
    let stmt = tx
        .prepare_cached(
            "INSERT INTO outbox (deployment_id, executor, payload, status, next_attempt_at, next_attempt_ns) \
             VALUES ($1, $2, $3, 'pending', $4, $5)",
        )
        .await?;
    tx.execute(
        &stmt,
        &[
            &id,
            &d.executor,
            &d.payload.to_string(),
            &d.due.to_string(),
            &nanos(d.due),
        ],
    )
    .await?;
    Ok(())
}

/// The policies that held or blocked a deployment's decision, written with the decision (its
/// outcome goes into the deployment's row): signals count them without reading decisions.
async fn write_policies(
    tx: &deadpool_postgres::Transaction<'_>,
    id: &str,
    decision: &serde_json::Value,
    fresh: bool,
) -> Result<(), Fault> {
    if !fresh {
        let stmt = tx
            .prepare_cached("DELETE FROM deployment_policies WHERE deployment_id = $1")
            .await?;
        tx.execute(&stmt, &[&id]).await?;
    }
    let (policies, blocking): (Vec<String>, Vec<bool>) =
        crate::signals::held_policies(decision).into_iter().unzip();
    if !policies.is_empty() {
        let stmt = tx
            .prepare_cached(
                "INSERT INTO deployment_policies (deployment_id, policy, blocking) \
                 SELECT $1, p, b FROM unnest($2::TEXT[], $3::BOOLEAN[]) AS t (p, b)",
            )
            .await?;
        tx.execute(&stmt, &[&id, &policies, &blocking]).await?;
    }
    Ok(())
}

/// Records a decision in the log, inside the caller's transaction or on its own.
async fn insert_decision(
    client: &impl deadpool_postgres::GenericClient,
    d: &DecisionRecord,
) -> Result<(), Fault> {
    let stmt = client
        .prepare_cached(
            "INSERT INTO decisions (decision_id, at, at_ns, stage, source, caller, deployment_id, replica_id, \
             bundle_digest, bundle_revision, outcome, intent, masked, decision) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        )
        .await?;
    client
        .execute(
            &stmt,
            &[
                &d.decision_id,
                &d.at.to_string(),
                &nanos(d.at),
                &d.stage.as_str(),
                &d.source.as_str(),
                &d.caller,
                &d.deployment_id,
                &d.replica_id,
                &d.bundle_digest,
                &d.bundle_revision,
                &d.outcome,
                &d.intent.to_string(),
                &serde_json::to_string(&d.masked).unwrap_or_default(),
                &d.decision.to_string(),
            ],
        )
        .await?;
    Ok(())
}

impl PostgresStore {
    async fn try_submit(&self, s: &Submission) -> Result<SubmitResult, Fault> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let r = &s.record;
        if let Some((principal, key, response)) = &s.idempotency {
            let claim = tx
                .prepare_cached(
                    "INSERT INTO idempotency (principal, key, body_sha256, body, created_ns) \
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (principal, key) DO NOTHING",
                )
                .await?;
            let inserted = tx
                .execute(
                    &claim,
                    &[
                        principal,
                        key,
                        &response.body_sha256,
                        &response.body,
                        &nanos(r.created_at),
                    ],
                )
                .await?;
            if inserted == 0 {
                // Another transaction holds the key (committed, or it committed while this one
                // waited on it): answer as it did.
                let seen = stored_response(
                    &tx,
                    "SELECT body_sha256, body FROM idempotency WHERE principal = $1 AND key = $2",
                    &[principal, key],
                )
                .await?;
                return Ok(match seen {
                    Some(seen) if seen.body_sha256 == response.body_sha256 => {
                        SubmitResult::Replayed(seen)
                    }
                    _ => SubmitResult::KeyReused,
                });
            }
        }
        let insert = tx
            .prepare_cached(
                "INSERT INTO deployments (id, state, service, version, artifact, environment, cloud, account, \
                 region, requested_by, submitted_by, created_at, created_ns, updated_at, intent, decision, \
                 bundle_digest, last_seq, last_hash, decision_id, outcome) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)",
            )
            .await?;
        tx.execute(
            &insert,
            &[
                &r.id,
                &r.state.as_str(),
                &r.service,
                &r.version,
                &r.artifact,
                &r.environment,
                &r.cloud,
                &r.account,
                &r.region,
                &r.requested_by,
                &r.submitted_by,
                &r.created_at.to_string(),
                &nanos(r.created_at),
                &r.updated_at.to_string(),
                &r.intent.to_string(),
                &r.decision.to_string(),
                &r.bundle_digest,
                &signed(r.last_seq),
                &r.last_hash,
                &r.decision_id,
                &outcome_of(&r.decision),
            ],
        )
        .await?;
        write_policies(&tx, &r.id, &r.decision, true).await?;
        if let Some(d) = &s.decision_log {
            insert_decision(&tx, d).await?;
        }
        if let Some(d) = &s.dispatch {
            insert_dispatch(&tx, &r.id, d).await?;
        }
        insert_events(&tx, &s.events).await?;
        past(s.deadline)?;
        tx.commit().await?;
        Ok(SubmitResult::Created(Box::new(s.record.clone())))
    }

    async fn try_append(&self, a: &Append) -> Result<DeploymentRecord, Fault> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        // A delivery already recorded answers before the hash check: a concurrent redelivery
        // that lost the race replays the winner's answer.
        if let Some((delivery_id, _)) = &a.delivery
            && let Some(stored) = stored_response(
                &tx,
                "SELECT body_sha256, body FROM deliveries WHERE deployment_id = $1 AND delivery_id = $2",
                &[&a.deployment_id, delivery_id],
            )
            .await?
        {
            return Err(StoreError::DeliveryExists {
                deployment_id: a.deployment_id.clone(),
                delivery_id: delivery_id.clone(),
                stored,
            }
            .into());
        }
        let lock = tx
            .prepare_cached(&format!(
                "SELECT {} FROM deployments WHERE id = $1 FOR UPDATE",
                rows::RECORD_COLUMNS
            ))
            .await?;
        let row = tx
            .query_opt(&lock, &[&a.deployment_id])
            .await?
            .ok_or_else(|| StoreError::NotFound {
                deployment_id: a.deployment_id.clone(),
            })?;
        let mut record = rows::record(&row)?;
        apply_append(&mut record, a)?;
        let update = tx
            .prepare_cached(
                "UPDATE deployments SET state = $2, updated_at = $3, decision = $4, bundle_digest = $5, \
                 last_seq = $6, last_hash = $7, decision_id = $8, outcome = $9 WHERE id = $1",
            )
            .await?;
        tx.execute(
            &update,
            &[
                &record.id,
                &record.state.as_str(),
                &record.updated_at.to_string(),
                &record.decision.to_string(),
                &record.bundle_digest,
                &signed(record.last_seq),
                &record.last_hash,
                &record.decision_id,
                &outcome_of(&record.decision),
            ],
        )
        .await?;
        if a.decision.is_some() {
            write_policies(&tx, &record.id, &record.decision, false).await?;
        }
        if let Some(d) = &a.decision_log {
            insert_decision(&tx, d).await?;
        }
        if a.close_dispatches {
            let close = tx
                .prepare_cached(
                    "UPDATE outbox SET status = 'cancelled', lease_owner = NULL, lease_until_ns = NULL \
                     WHERE deployment_id = $1 AND status = 'pending'",
                )
                .await?;
            tx.execute(&close, &[&record.id]).await?;
        }
        if let Some(d) = &a.dispatch {
            insert_dispatch(&tx, &record.id, d).await?;
        }
        if let Some(o) = &a.dispatch_outcome {
            let close = tx
                .prepare_cached(
                    "UPDATE outbox SET status = $2, attempts = $3, last_error = $4, receipt = $5, \
                     lease_owner = NULL, lease_until_ns = NULL WHERE id = $1",
                )
                .await?;
            tx.execute(
                &close,
                &[
                    &o.dispatch_id,
                    &o.status.as_str(),
                    &i32::try_from(o.attempts).unwrap_or(i32::MAX),
                    &o.error,
                    &o.receipt.as_ref().map(serde_json::Value::to_string),
                ],
            )
            .await?;
        }
        if let Some((delivery_id, response)) = &a.delivery {
            let record_delivery = tx
                .prepare_cached(
                    "INSERT INTO deliveries (deployment_id, delivery_id, body_sha256, body, created_ns) \
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .await?;
            tx.execute(
                &record_delivery,
                &[
                    &record.id,
                    delivery_id,
                    &response.body_sha256,
                    &response.body,
                    &nanos(record.updated_at),
                ],
            )
            .await?;
        }
        insert_events(&tx, &a.events).await?;
        past(a.deadline)?;
        tx.commit().await?;
        Ok(record)
    }

    async fn try_claim(&self, claim: &Claim) -> Result<Vec<Dispatch>, Fault> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let close = tx
            .prepare_cached(
                "UPDATE outbox o SET status = 'cancelled', lease_owner = NULL, lease_until_ns = NULL \
                 FROM deployments d WHERE o.status = 'pending' AND d.id = o.deployment_id \
                 AND d.state IN ('CANCELLED', 'REJECTED')",
            )
            .await?;
        tx.execute(&close, &[]).await?;
        let take = tx
            .prepare_cached(&format!(
                "WITH due AS (\
                     SELECT o.id FROM outbox o JOIN deployments d ON d.id = o.deployment_id \
                     WHERE o.status = 'pending' AND o.next_attempt_ns <= $1 \
                     AND (o.lease_until_ns IS NULL OR o.lease_until_ns <= $1) AND d.state = 'VALIDATED' \
                     ORDER BY o.next_attempt_ns, o.id LIMIT $2 \
                     FOR UPDATE OF o SKIP LOCKED) \
                 UPDATE outbox o SET lease_owner = $3, lease_until_ns = $4 FROM due WHERE o.id = due.id \
                 RETURNING {}",
                rows::DISPATCH_COLUMNS
            ))
            .await?;
        let now = nanos(claim.now);
        let limit = i64::try_from(claim.limit).unwrap_or(i64::MAX);
        let found = tx
            .query(
                &take,
                &[&now, &limit, &claim.owner, &nanos(claim.lease_until)],
            )
            .await?;
        let mut claimed = found
            .iter()
            .map(rows::dispatch)
            .collect::<Result<Vec<_>, _>>()?;
        tx.commit().await?;
        claimed.sort_by_key(|d| (d.next_attempt_at, d.id));
        Ok(claimed)
    }
}

/// `(value, count)` of one column over the window.
async fn counts(
    tx: &deadpool_postgres::Transaction<'_>,
    column: &str,
    since: i64,
) -> Result<Vec<(String, u64)>, Fault> {
    let stmt = tx
        .prepare_cached(&format!(
            "SELECT {column}, COUNT(*) FROM deployments WHERE created_ns >= $1 GROUP BY {column}"
        ))
        .await?;
    let mut out = Vec::new();
    for row in tx.query(&stmt, &[&since]).await? {
        out.push((row.try_get(0)?, rows::count(row.try_get(1)?)));
    }
    Ok(out)
}

async fn signal_snapshot(
    tx: &deadpool_postgres::Transaction<'_>,
    since: i64,
    top: usize,
) -> Result<SignalData, Fault> {
    let total: i64 = tx
        .query_one(
            "SELECT COUNT(*) FROM deployments WHERE created_ns >= $1",
            &[&since],
        )
        .await?
        .try_get(0)?;
    let mut data = SignalData {
        total: rows::count(total),
        by_state: counts(tx, "state", since).await?,
        by_environment: counts(tx, "environment", since).await?,
        by_cloud: counts(tx, "cloud", since).await?,
        by_service: counts(tx, "service", since).await?,
        ..SignalData::default()
    };
    let finished = tx
        .query(
            "SELECT environment, COUNT(*) FILTER (WHERE state = 'SUCCESS'), \
             COUNT(*) FILTER (WHERE state = 'FAILED') FROM deployments \
             WHERE created_ns >= $1 GROUP BY environment",
            &[&since],
        )
        .await?;
    for row in finished {
        data.finished.push((
            row.try_get(0)?,
            rows::count(row.try_get(1)?),
            rows::count(row.try_get(2)?),
        ));
    }
    let successes = tx
        .query(
            "SELECT environment, created_at, updated_at FROM deployments \
             WHERE created_ns >= $1 AND state = 'SUCCESS'",
            &[&since],
        )
        .await?;
    for row in successes {
        let created = rows::time("creation time", row.try_get(1)?)?;
        let updated = rows::time("update time", row.try_get(2)?)?;
        let seconds = (updated.unix_nanos() - created.unix_nanos()) as f64 / 1e9;
        data.lead_times.push((row.try_get(0)?, seconds));
    }
    let top = i64::try_from(top).unwrap_or(i64::MAX);
    let policies = tx
        .query(
            "SELECT p.policy, COUNT(*), COUNT(*) FILTER (WHERE p.blocking) FROM deployment_policies p \
             JOIN deployments d ON d.id = p.deployment_id WHERE d.created_ns >= $1 \
             GROUP BY p.policy ORDER BY COUNT(*) DESC, p.policy LIMIT $2",
            &[&since, &top],
        )
        .await?;
    for row in policies {
        data.policies.push((
            row.try_get(0)?,
            rows::count(row.try_get(1)?),
            rows::count(row.try_get(2)?),
        ));
    }
    Ok(data)
}

fn no_params() -> std::iter::Empty<&'static (dyn ToSql + Sync)> {
    std::iter::empty()
}

async fn verify_snapshot(tx: &deadpool_postgres::Transaction<'_>) -> Result<AuditReport, Fault> {
    let head = tx
        .query_one("SELECT position, link FROM ledger_head WHERE id = 1", &[])
        .await?;
    let recorded = LedgerHead {
        position: rows::unsigned("ledger head", head.try_get(0)?)?,
        link: head.try_get(1)?,
    };
    let mut audit = Audit::new(recorded);
    let events = tx
        .query_raw(
            &format!(
                "SELECT {} FROM events ORDER BY position",
                rows::EVENT_COLUMNS
            ),
            no_params(),
        )
        .await?;
    let mut events = std::pin::pin!(events);
    let mut going = true;
    while going && let Some(row) = events.try_next().await? {
        going = match rows::entry(&row) {
            Ok(entry) => audit.entry(&entry),
            Err(Fault::Store(e)) => {
                let position: i64 = row.try_get(0).unwrap_or(0);
                audit.unreadable(
                    u64::try_from(position).unwrap_or(0),
                    row.try_get(1).ok(),
                    e.to_string(),
                )
            }
            Err(e) => return Err(e),
        };
    }
    if going && audit.end_of_ledger() {
        let deployments = tx
            .query_raw(
                "SELECT id, state, last_hash FROM deployments ORDER BY seq",
                no_params(),
            )
            .await?;
        let mut deployments = std::pin::pin!(deployments);
        while let Some(row) = deployments.try_next().await? {
            let (id, state, last_hash): (String, String, String) =
                (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?);
            if !audit.row(&id, &state, &last_hash) {
                break;
            }
        }
    }
    Ok(audit.finish())
}

fn list_sql(q: &ListQuery) -> (String, Vec<String>) {
    let mut clauses = Vec::new();
    let mut args = Vec::new();
    let mut filter = |column: &str, value: Option<&str>| {
        if let Some(v) = value {
            args.push(v.to_owned());
            clauses.push(format!("d.{column} = ${}", args.len()));
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
    (filter, args)
}

#[async_trait]
impl Store for PostgresStore {
    fn backend(&self) -> Backend {
        Backend::Postgres
    }

    async fn submit(&self, s: Submission) -> Result<SubmitResult, StoreError> {
        self.retrying("store a submission", || self.try_submit(&s))
            .await
    }

    async fn append(&self, a: Append) -> Result<DeploymentRecord, StoreError> {
        self.retrying("append events", || self.try_append(&a)).await
    }

    async fn get(&self, id: &str) -> Result<Option<DeploymentRecord>, StoreError> {
        self.read("read a deployment", |client| async move {
            let stmt = client
                .prepare_cached(&format!(
                    "SELECT {} FROM deployments WHERE id = $1",
                    rows::RECORD_COLUMNS
                ))
                .await?;
            match client.query_opt(&stmt, &[&id]).await? {
                Some(row) => rows::record(&row).map(Some),
                None => Ok(None),
            }
        })
        .await
    }

    async fn list(&self, q: &ListQuery) -> Result<Page, StoreError> {
        let (filter, args) = list_sql(q);
        self.read("list deployments", |client| async move {
            let params: Vec<&(dyn ToSql + Sync)> =
                args.iter().map(|a| a as &(dyn ToSql + Sync)).collect();
            let total: i64 = client
                .query_one(
                    &format!("SELECT COUNT(*) FROM deployments d {filter}"),
                    &params,
                )
                .await?
                .try_get(0)?;
            let page = client
                .query(
                    &format!(
                        "SELECT {} FROM deployments d \
                         LEFT JOIN LATERAL (SELECT status, attempts FROM outbox \
                             WHERE deployment_id = d.id ORDER BY id DESC LIMIT 1) o ON TRUE \
                         {filter} ORDER BY d.seq DESC LIMIT {} OFFSET {}",
                        rows::SUMMARY_COLUMNS,
                        q.limit,
                        q.offset.min(i64::MAX as u64)
                    ),
                    &params,
                )
                .await?;
            Ok(Page {
                items: page.iter().map(rows::summary).collect::<Result<_, _>>()?,
                total: rows::count(total),
            })
        })
        .await
    }

    async fn signal_data(&self, since: Timestamp, top: usize) -> Result<SignalData, StoreError> {
        self.read("aggregate signals", |mut client| async move {
            // One snapshot: every aggregate sees the same deployments.
            let tx = client
                .build_transaction()
                .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
                .read_only(true)
                .start()
                .await?;
            let data = signal_snapshot(&tx, nanos(since), top).await?;
            tx.commit().await?;
            Ok(data)
        })
        .await
    }

    async fn events(&self, id: &str) -> Result<Vec<Event>, StoreError> {
        self.read("read events", |client| async move {
            let stmt = client
                .prepare_cached(&format!(
                    "SELECT {} FROM events WHERE deployment_id = $1 ORDER BY seq",
                    rows::EVENT_COLUMNS
                ))
                .await?;
            client
                .query(&stmt, &[&id])
                .await?
                .iter()
                .map(|row| rows::entry(row).map(|e| e.event))
                .collect()
        })
        .await
    }

    async fn history(&self, service: &str) -> Result<Vec<HistoryEntry>, StoreError> {
        self.read("read a service's history", |client| async move {
            let stmt = client
                .prepare_cached(
                    "SELECT id, service, environment, artifact, state, updated_at FROM deployments \
                     WHERE service = $1 AND state IN ('SUCCESS', 'FAILED') ORDER BY seq DESC LIMIT 100",
                )
                .await?;
            let mut history = Vec::new();
            for row in client.query(&stmt, &[&service]).await? {
                history.push(HistoryEntry {
                    deployment_id: row.try_get(0)?,
                    service: row.try_get(1)?,
                    environment: row.try_get(2)?,
                    artifact: row.try_get(3)?,
                    state: row.try_get(4)?,
                    finished_at: Some(rows::time("update time", row.try_get(5)?)?),
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
        self.read("read an idempotency key", |client| async move {
            stored_response(
                &client,
                "SELECT body_sha256, body FROM idempotency WHERE principal = $1 AND key = $2",
                &[&principal, &key],
            )
            .await
        })
        .await
    }

    async fn delivery(
        &self,
        deployment_id: &str,
        delivery_id: &str,
    ) -> Result<Option<StoredResponse>, StoreError> {
        self.read("read a callback delivery", |client| async move {
            stored_response(
                &client,
                "SELECT body_sha256, body FROM deliveries WHERE deployment_id = $1 AND delivery_id = $2",
                &[&deployment_id, &delivery_id],
            )
            .await
        })
        .await
    }

    async fn dispatch_of(&self, deployment_id: &str) -> Result<Option<Dispatch>, StoreError> {
        self.read("read a dispatch", |client| async move {
            let stmt = client
                .prepare_cached(&format!(
                    "SELECT {} FROM outbox o WHERE o.deployment_id = $1 ORDER BY o.id DESC LIMIT 1",
                    rows::DISPATCH_COLUMNS
                ))
                .await?;
            match client.query_opt(&stmt, &[&deployment_id]).await? {
                Some(row) => rows::dispatch(&row).map(Some),
                None => Ok(None),
            }
        })
        .await
    }

    async fn claim_dispatches(&self, claim: &Claim) -> Result<Vec<Dispatch>, StoreError> {
        self.retrying("claim outbox entries", || self.try_claim(claim))
            .await
    }

    async fn next_due(&self) -> Result<Option<Timestamp>, StoreError> {
        self.read("find the next due dispatch", |client| async move {
            let stmt = client
                .prepare_cached(
                    "SELECT MIN(GREATEST(o.next_attempt_ns, COALESCE(o.lease_until_ns, 0))) FROM outbox o \
                     JOIN deployments d ON d.id = o.deployment_id \
                     WHERE o.status = 'pending' AND d.state = 'VALIDATED'",
                )
                .await?;
            let next: Option<i64> = client.query_one(&stmt, &[]).await?.try_get(0)?;
            next.map(|ns| {
                Timestamp::from_unix_nanos(i128::from(ns))
                    .map_err(|e| StoreError::corrupt("next attempt time", e).into())
            })
            .transpose()
        })
        .await
    }

    async fn retry_dispatch(&self, retry: &Retry) -> Result<(), StoreError> {
        self.read("record a failed dispatch attempt", |client| async move {
            let stmt = client
                .prepare_cached(
                    "UPDATE outbox SET attempts = $2, next_attempt_at = $3, next_attempt_ns = $4, last_error = $5, \
                     lease_owner = NULL, lease_until_ns = NULL \
                     WHERE id = $1 AND status = 'pending' AND lease_owner = $6",
                )
                .await?;
            client
                .execute(
                    &stmt,
                    &[
                        &retry.dispatch_id,
                        &i32::try_from(retry.attempts).unwrap_or(i32::MAX),
                        &retry.next_attempt_at.to_string(),
                        &nanos(retry.next_attempt_at),
                        &retry.error,
                        &retry.owner,
                    ],
                )
                .await?;
            Ok(())
        })
        .await
    }

    async fn purge(&self, purge: &Purge) -> Result<Purged, StoreError> {
        self.read("purge expired records", |client| async move {
            let idempotency = client
                .execute(
                    "DELETE FROM idempotency WHERE created_ns < $1",
                    &[&nanos(purge.idempotency_before)],
                )
                .await?;
            let deliveries = client
                .execute(
                    "DELETE FROM deliveries WHERE created_ns < $1",
                    &[&nanos(purge.deliveries_before)],
                )
                .await?;
            let replicas = client
                .execute(
                    "DELETE FROM replicas WHERE seen_ns < $1",
                    &[&nanos(purge.replicas_before)],
                )
                .await?;
            let decisions = client
                .execute(
                    "DELETE FROM decisions WHERE at_ns < $1",
                    &[&nanos(purge.decisions_before)],
                )
                .await?;
            Ok(Purged {
                idempotency,
                deliveries,
                replicas,
                decisions,
            })
        })
        .await
    }

    async fn verify(&self) -> Result<AuditReport, StoreError> {
        self.read("verify the ledger", |mut client| async move {
            // One snapshot: the events, head and rows as of one moment.
            let tx = client
                .build_transaction()
                .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
                .read_only(true)
                .start()
                .await?;
            let report = verify_snapshot(&tx).await?;
            tx.commit().await?;
            Ok(report)
        })
        .await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.read("answer a ping", |client| async move {
            client.simple_query("SELECT 1").await?;
            Ok(())
        })
        .await
    }

    async fn report_replica(&self, report: &ReplicaReport) -> Result<(), StoreError> {
        self.read("report this replica", |client| async move {
            let stmt = client
                .prepare_cached(
                    "INSERT INTO replicas (replica_id, address, bundle_digest, bundle_revision, started_at, seen_at, seen_ns) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (replica_id) DO UPDATE SET \
                     address = EXCLUDED.address, bundle_digest = EXCLUDED.bundle_digest, \
                     bundle_revision = EXCLUDED.bundle_revision, seen_at = EXCLUDED.seen_at, seen_ns = EXCLUDED.seen_ns",
                )
                .await?;
            client
                .execute(
                    &stmt,
                    &[
                        &report.replica_id,
                        &report.address,
                        &report.bundle_digest,
                        &report.bundle_revision,
                        &report.started_at.to_string(),
                        &report.seen_at.to_string(),
                        &nanos(report.seen_at),
                    ],
                )
                .await?;
            Ok(())
        })
        .await
    }

    async fn activate_bundle(&self, bundle: &ActiveBundle) -> Result<(), StoreError> {
        self.read("record the active bundle", |client| async move {
            let stmt = client
                .prepare_cached(
                    "INSERT INTO active_bundle (id, digest, revision, activated_by, activated_at) \
                     VALUES (1, $1, $2, $3, $4) ON CONFLICT (id) DO UPDATE SET digest = EXCLUDED.digest, \
                     revision = EXCLUDED.revision, activated_by = EXCLUDED.activated_by, \
                     activated_at = EXCLUDED.activated_at",
                )
                .await?;
            client
                .execute(
                    &stmt,
                    &[
                        &bundle.digest,
                        &bundle.revision,
                        &bundle.activated_by,
                        &bundle.activated_at.to_string(),
                    ],
                )
                .await?;
            Ok(())
        })
        .await
    }

    async fn active_bundle(&self) -> Result<Option<ActiveBundle>, StoreError> {
        self.read("read the active bundle", |client| async move {
            let stmt = client
                .prepare_cached(
                    "SELECT digest, revision, activated_by, activated_at FROM active_bundle WHERE id = 1",
                )
                .await?;
            match client.query_opt(&stmt, &[]).await? {
                Some(row) => Ok(Some(ActiveBundle {
                    digest: row.try_get(0)?,
                    revision: row.try_get(1)?,
                    activated_by: row.try_get(2)?,
                    activated_at: rows::time("activation time", row.try_get(3)?)?,
                })),
                None => Ok(None),
            }
        })
        .await
    }

    async fn log_decision(&self, record: &DecisionRecord) -> Result<(), StoreError> {
        self.read("log a decision", |client| async move {
            insert_decision(&client, record).await
        })
        .await
    }

    async fn decision(&self, decision_id: &str) -> Result<Option<DecisionRecord>, StoreError> {
        self.read("read a logged decision", |client| async move {
            let stmt = client
                .prepare_cached(&format!(
                    "SELECT {} FROM decisions WHERE decision_id = $1",
                    rows::DECISION_COLUMNS
                ))
                .await?;
            match client.query_opt(&stmt, &[&decision_id]).await? {
                Some(row) => rows::decision(&row).map(Some),
                None => Ok(None),
            }
        })
        .await
    }

    async fn decisions(&self, q: &DecisionQuery) -> Result<Vec<DecisionRecord>, StoreError> {
        self.read("read the decision log", |client| async move {
            let (after_ns, after_id) = q.after.as_ref().map_or((i64::MIN, String::new()), |c| {
                (c.at_ns, c.decision_id.clone())
            });
            let stmt = client
                .prepare_cached(&format!(
                    "SELECT {} FROM decisions WHERE at_ns >= $1 AND at_ns < $2 \
                     AND (at_ns, decision_id) > ($3, $4) ORDER BY at_ns, decision_id LIMIT $5",
                    rows::DECISION_COLUMNS
                ))
                .await?;
            client
                .query(
                    &stmt,
                    &[
                        &q.since.map_or(i64::MIN, nanos),
                        &q.until.map_or(i64::MAX, nanos),
                        &after_ns,
                        &after_id,
                        &i64::from(q.limit),
                    ],
                )
                .await?
                .iter()
                .map(rows::decision)
                .collect()
        })
        .await
    }

    async fn replicas(&self) -> Result<Vec<ReplicaReport>, StoreError> {
        self.read("list the replicas", |client| async move {
            let mut out = Vec::new();
            for row in client
                .query(
                    "SELECT replica_id, address, bundle_digest, bundle_revision, started_at, seen_at \
                     FROM replicas ORDER BY started_at, replica_id",
                    &[],
                )
                .await?
            {
                out.push(ReplicaReport {
                    replica_id: row.try_get(0)?,
                    address: row.try_get(1)?,
                    bundle_digest: row.try_get(2)?,
                    bundle_revision: row.try_get(3)?,
                    started_at: rows::time("replica start time", row.try_get(4)?)?,
                    seen_at: rows::time("replica seen time", row.try_get(5)?)?,
                });
            }
            Ok(out)
        })
        .await
    }
}
