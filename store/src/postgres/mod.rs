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
use gatehouse_core::{Event, HistoryEntry, LedgerHead, Timestamp};
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;

use crate::attestations::AttestationRecord;
use crate::audit::AuditReport;
use crate::config::{PostgresConfig, redact};
use crate::decision_log::{DecisionQuery, DecisionRecord};
use crate::deployment::{DeploymentPage, DeploymentRecord, ListQuery};
use crate::error::{Backend, StoreError};
use crate::list::{Placeholder, list_sql};
use crate::outbox::{Claim, Dispatch, Renewal, Retry};
use crate::replay::StoredResponse;
use crate::replicas::{ActiveBundle, ReplicaReport};
use crate::signals::SignalData;
use crate::store::Store;
use crate::write::{Append, Purge, Purged, Submission, SubmitResult};
use crate::{decode, rows};

mod columns;
mod migrations;
mod snapshots;
mod writes;

use snapshots::{signal_snapshot, verify_snapshot};
use writes::insert_decision;

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

/// The columns [`attestation_row`] reads, in order.
const ATTESTATION_COLUMNS: &str = "decision_id, deployment_id, at, envelope, unavailable";

/// The attestation `sql` selects by one key ([`ATTESTATION_COLUMNS`]), if any.
async fn attestation_row(
    client: &impl deadpool_postgres::GenericClient,
    sql: &str,
    key: &str,
) -> Result<Option<AttestationRecord>, Fault> {
    let stmt = client.prepare_cached(sql).await?;
    let Some(row) = client.query_opt(&stmt, &[&key]).await? else {
        return Ok(None);
    };
    Ok(Some(AttestationRecord {
        decision_id: row.try_get(0)?,
        deployment_id: row.try_get(1)?,
        at: decode::time("attestation time", row.try_get(2)?)?,
        envelope: row.try_get(3)?,
        unavailable: row.try_get(4)?,
    }))
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

    async fn list(&self, q: &ListQuery) -> Result<DeploymentPage, StoreError> {
        // The status and attempts of each row's latest outbox entry, by a lateral join.
        let columns = format!("{}, o.status, o.attempts", rows::SUMMARY_DEPLOYMENT_COLUMNS);
        let from = "deployments d LEFT JOIN LATERAL (SELECT status, attempts FROM outbox \
             WHERE deployment_id = d.id ORDER BY id DESC LIMIT 1) o ON TRUE";
        let sql = list_sql(q, Placeholder::Dollar, &columns, from);
        self.read("list deployments", |client| async move {
            let params: Vec<&(dyn ToSql + Sync)> =
                sql.args.iter().map(|a| a as &(dyn ToSql + Sync)).collect();
            let total: i64 = client.query_one(&sql.count, &params).await?.try_get(0)?;
            let page = client.query(&sql.page, &params).await?;
            let items = page.iter().map(rows::summary).collect::<Result<_, _>>()?;
            Ok(DeploymentPage::new(items, decode::count(total), q))
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
                    finished_at: Some(decode::time("update time", row.try_get(5)?)?),
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

    async fn renew_lease(&self, renewal: &Renewal) -> Result<bool, StoreError> {
        self.read("renew a dispatch lease", |client| async move {
            let stmt = client
                .prepare_cached(
                    "UPDATE outbox o SET lease_until_ns = $4 FROM deployments d \
                     WHERE o.id = $1 AND o.lease_owner = $2 AND o.status = 'pending' \
                     AND o.lease_until_ns > $3 AND d.id = o.deployment_id AND d.state = 'VALIDATED'",
                )
                .await?;
            let renewed = client
                .execute(
                    &stmt,
                    &[
                        &renewal.dispatch_id,
                        &renewal.owner,
                        &nanos(renewal.now),
                        &nanos(renewal.lease_until),
                    ],
                )
                .await?;
            Ok(renewed == 1)
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

    async fn activate_bundle(
        &self,
        bundle: &ActiveBundle,
        replaces: Option<&str>,
    ) -> Result<bool, StoreError> {
        self.read("record the active bundle", |client| async move {
            let at = bundle.activated_at.to_string();
            let changed = match replaces {
                Some(replaces) => {
                    let stmt = client
                        .prepare_cached(
                            "UPDATE active_bundle SET digest = $1, revision = $2, activated_by = $3, \
                             activated_at = $4 WHERE id = 1 AND digest = $5",
                        )
                        .await?;
                    client
                        .execute(
                            &stmt,
                            &[
                                &bundle.digest,
                                &bundle.revision,
                                &bundle.activated_by,
                                &at,
                                &replaces,
                            ],
                        )
                        .await?
                }
                None => {
                    let stmt = client
                        .prepare_cached(
                            "INSERT INTO active_bundle (id, digest, revision, activated_by, activated_at) \
                             VALUES (1, $1, $2, $3, $4) ON CONFLICT (id) DO NOTHING",
                        )
                        .await?;
                    client
                        .execute(
                            &stmt,
                            &[&bundle.digest, &bundle.revision, &bundle.activated_by, &at],
                        )
                        .await?
                }
            };
            Ok(changed == 1)
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
                    activated_at: decode::time("activation time", row.try_get(3)?)?,
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

    async fn attestation(
        &self,
        decision_id: &str,
    ) -> Result<Option<AttestationRecord>, StoreError> {
        self.read("read an attestation", |client| async move {
            attestation_row(
                &client,
                &format!("SELECT {ATTESTATION_COLUMNS} FROM attestations WHERE decision_id = $1"),
                decision_id,
            )
            .await
        })
        .await
    }

    async fn latest_attestation(
        &self,
        deployment_id: &str,
    ) -> Result<Option<AttestationRecord>, StoreError> {
        self.read("read a deployment's attestation", |client| async move {
            attestation_row(
                &client,
                &format!(
                    "SELECT {ATTESTATION_COLUMNS} FROM attestations WHERE deployment_id = $1 \
                     ORDER BY at_ns DESC, decision_id DESC LIMIT 1"
                ),
                deployment_id,
            )
            .await
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
                    started_at: decode::time("replica start time", row.try_get(4)?)?,
                    seen_at: decode::time("replica seen time", row.try_get(5)?)?,
                });
            }
            Ok(out)
        })
        .await
    }
}
