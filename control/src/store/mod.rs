//! Durable state behind one async trait: deployments (a projection of their events), the audit
//! ledger of hash-chained events, the dispatch outbox, idempotency keys and callback deliveries.
//! [`sqlite::SqliteStore`] is the embedded implementation (one node);
//! [`postgres::PostgresStore`] lets several servers share one database. [`open`] opens either
//! and applies the schema migrations it lacks.
//!
//! Every write is one transaction: the events, the projection row, the outbox entry and the
//! idempotency or delivery record commit together or not at all, and a write whose deadline
//! passed before it could commit is rolled back ([`StoreError::DeadlineExceeded`]).

use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use gatehouse_core::{Event, HistoryEntry, Timestamp, TransitionError};
use serde_json::Value;

use crate::attestations::AttestationRecord;
use crate::audit::AuditReport;
use crate::config::{Database, PostgresConfig};
use crate::decision_log::{DecisionQuery, DecisionRecord};
use crate::deployment::{DeploymentRecord, ListQuery, Page};
use crate::outbox::{Claim, Dispatch, DispatchOutcome, NewDispatch, Renewal, Retry};
use crate::replicas::{ActiveBundle, ReplicaReport};

mod decode;
pub mod postgres;
pub mod sqlite;

/// A boxed error from a database driver.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Which database a store writes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// An SQLite file.
    Sqlite,
    /// A PostgreSQL database.
    Postgres,
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Sqlite => "SQLite",
            Self::Postgres => "PostgreSQL",
        })
    }
}

/// A storage failure.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// No such deployment.
    #[error("no deployment `{deployment_id}`")]
    NotFound {
        /// The deployment.
        deployment_id: String,
    },
    /// The deployment changed since the caller read it (compare-and-swap on the last hash).
    #[error("deployment `{deployment_id}` changed: its current ETag is \"{current}\"")]
    Conflict {
        /// The deployment.
        deployment_id: String,
        /// Its last event hash now.
        current: String,
    },
    /// The operation's deadline passed before it committed: it was rolled back, nothing is
    /// stored.
    #[error("the operation ran past its deadline and was rolled back")]
    DeadlineExceeded,
    /// A cancel found the deployment's pending outbox entry leased: its delivery may be in
    /// flight, so nothing was changed.
    #[error(
        "deployment `{deployment_id}`: its outbox entry is leased for delivery until {lease_until}"
    )]
    DispatchInFlight {
        /// The deployment.
        deployment_id: String,
        /// When the lease ends.
        lease_until: Timestamp,
    },
    /// The callback delivery was already recorded for this deployment: its stored response.
    #[error("delivery `{delivery_id}` was already recorded for deployment `{deployment_id}`")]
    DeliveryExists {
        /// The deployment.
        deployment_id: String,
        /// The delivery id.
        delivery_id: String,
        /// What was answered then.
        stored: StoredResponse,
    },
    /// The database cannot be reached or is busy: the operation did not happen; retrying later
    /// may succeed.
    #[error("{backend} database unavailable while trying to {operation}: {}", chain(source.as_ref()))]
    Unavailable {
        /// The database.
        backend: Backend,
        /// What the store was doing, e.g. `append events`.
        operation: &'static str,
        /// The driver's error.
        #[source]
        source: BoxError,
    },
    /// The database cannot be reached at start (wrong URL, server down, wrong credentials).
    #[error(
        "cannot connect: {}; check that the database server runs and that the URL's host, port, user, password and database name are right",
        chain(source.as_ref())
    )]
    Connect {
        /// The database, without its password.
        location: String,
        /// The driver's error.
        #[source]
        source: BoxError,
    },
    /// The database refused or failed a statement.
    #[error("{backend} database failed to {operation}: {}", chain(source.as_ref()))]
    Query {
        /// The database.
        backend: Backend,
        /// What the store was doing.
        operation: &'static str,
        /// The driver's error.
        #[source]
        source: BoxError,
    },
    /// A stored value cannot be read back.
    #[error("stored {what} is corrupt: {detail}")]
    Corrupt {
        /// What was being read, e.g. `event time`.
        what: &'static str,
        /// Why it cannot be read.
        detail: String,
    },
    /// The database was written by a newer gatehouse.
    #[error(
        "{location} has schema version {found} but this gatehouse knows only up to {known}: it was written by a newer gatehouse; run that version (or newer), or restore a backup taken before the upgrade"
    )]
    NewerSchema {
        /// The database.
        location: String,
        /// Its schema version.
        found: i64,
        /// The newest version this build knows.
        known: i64,
    },
    /// A migration failed (it was rolled back; the database keeps its previous version).
    #[error(
        "{location}: migration to schema version {version} failed (rolled back): {}",
        chain(source.as_ref())
    )]
    Migration {
        /// The database.
        location: String,
        /// The version being applied.
        version: i64,
        /// The driver's error.
        #[source]
        source: BoxError,
    },
    /// An event does not follow from the deployment's state (a bug in the caller).
    #[error("deployment `{deployment_id}`: refused event: {source}")]
    RefusedEvent {
        /// The deployment.
        deployment_id: String,
        /// The transition that is not allowed.
        #[source]
        source: TransitionError,
    },
}

/// An error and its causes, `outer: inner: innermost` (drivers keep the server's message in a
/// cause: tokio-postgres says `db error`, its cause says what the server refused).
pub fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(e) = cause {
        let next = e.to_string();
        if !text.ends_with(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        cause = e.source();
    }
    text
}

impl StoreError {
    /// Whether the database could not be reached or was busy (retrying later may succeed).
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::Unavailable { .. } | Self::Connect { .. })
    }

    pub(crate) fn corrupt(what: &'static str, detail: impl std::fmt::Display) -> Self {
        Self::Corrupt {
            what,
            detail: detail.to_string(),
        }
    }
}

/// What the signals need of the deployments created in a window, aggregated by the store.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SignalData {
    /// Deployments in the window.
    pub total: u64,
    /// Counts by state.
    pub by_state: Vec<(String, u64)>,
    /// Counts by environment.
    pub by_environment: Vec<(String, u64)>,
    /// Counts by cloud.
    pub by_cloud: Vec<(String, u64)>,
    /// Counts by service.
    pub by_service: Vec<(String, u64)>,
    /// Per environment: successes and failures.
    pub finished: Vec<(String, u64, u64)>,
    /// Per environment: the lead times (created → last event) of successful deployments, in
    /// seconds.
    pub lead_times: Vec<(String, f64)>,
    /// Policies with the deployments they held or blocked, and how many of those they blocked,
    /// most first (at most `top` of them).
    pub policies: Vec<(String, u64, u64)>,
}

/// A stored answer, replayed for a repeated idempotency key or callback delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    /// SHA-256 of the request body that produced it.
    pub body_sha256: String,
    /// The JSON answer.
    pub body: String,
}

/// An idempotency key of a submission: the key and the SHA-256 of the request body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey {
    /// The key the caller chose.
    pub key: String,
    /// SHA-256 (hex) of the body submitted with it.
    pub body_sha256: String,
}

impl IdempotencyKey {
    /// The key `key` of a request whose body is `body`.
    pub fn new(key: &str, body: &[u8]) -> Self {
        use sha2::{Digest, Sha256};
        Self {
            key: key.to_owned(),
            body_sha256: hex::encode(Sha256::digest(body)),
        }
    }
}

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
    /// The decision JSON.
    pub decision: Value,
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

/// The outcome of a decision JSON, as the `outcome` column keeps it for lists.
pub(crate) fn outcome_of(decision: &Value) -> &str {
    decision
        .get("outcome")
        .and_then(Value::as_str)
        .unwrap_or("")
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
        let mut state = record.state;
        for event in &a.events {
            state = gatehouse_core::next_state(Some(state), event.kind).map_err(|source| {
                StoreError::RefusedEvent {
                    deployment_id: a.deployment_id.clone(),
                    source,
                }
            })?;
        }
        record.state = state;
        record.last_seq = last.seq;
        record.last_hash = last.hash.clone();
        record.updated_at = last.at;
    }
    if let Some(update) = &a.decision {
        record.decision = update.decision.clone();
        record.bundle_digest = update.bundle_digest.clone();
        record.decision_id = Some(update.decision_id.clone());
    }
    Ok(())
}

/// An opened store and the schema versions before and after its migrations.
pub struct Opened {
    /// The store.
    pub store: Arc<dyn Store>,
    /// The schema version found (0 for a new database).
    pub schema_before: i64,
    /// The schema version now.
    pub schema_now: i64,
}

/// Opens the store `database` names (creating an SQLite file if needed) and applies the schema
/// migrations it lacks; a database written by a newer gatehouse is refused.
pub async fn open(database: &Database, pool: &PostgresConfig) -> Result<Opened, StoreError> {
    Ok(match database {
        Database::Sqlite(path) => {
            let (store, before) = sqlite::SqliteStore::open_reporting(path).await?;
            Opened {
                store: Arc::new(store),
                schema_before: before,
                schema_now: sqlite::SCHEMA_VERSION,
            }
        }
        Database::Postgres(url) => {
            let (store, before) = postgres::PostgresStore::connect(url, pool).await?;
            Opened {
                store: Arc::new(store),
                schema_before: before,
                schema_now: postgres::SCHEMA_VERSION,
            }
        }
    })
}

/// The control plane's storage.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Which database this is.
    fn backend(&self) -> Backend;
    /// Stores a new deployment (or answers for an idempotency key seen before).
    async fn submit(&self, submission: Submission) -> Result<SubmitResult, StoreError>;
    /// Appends events to a deployment if its last hash is still `expect_hash`.
    async fn append(&self, append: Append) -> Result<DeploymentRecord, StoreError>;
    /// One deployment.
    async fn get(&self, id: &str) -> Result<Option<DeploymentRecord>, StoreError>;
    /// A filtered page of deployment summaries (reads no intent or decision).
    async fn list(&self, query: &ListQuery) -> Result<Page, StoreError>;
    /// Aggregates of the deployments created at or after `since`, for signals; `top` limits
    /// the policies.
    async fn signal_data(&self, since: Timestamp, top: usize) -> Result<SignalData, StoreError>;
    /// A deployment's events, in order.
    async fn events(&self, id: &str) -> Result<Vec<Event>, StoreError>;
    /// Finished deployments of a service, newest first: the policies' `context.history`.
    async fn history(&self, service: &str) -> Result<Vec<HistoryEntry>, StoreError>;
    /// The answer stored for an idempotency key.
    async fn idempotent(
        &self,
        principal: &str,
        key: &str,
    ) -> Result<Option<StoredResponse>, StoreError>;
    /// The answer stored for a callback delivery id of a deployment.
    async fn delivery(
        &self,
        deployment_id: &str,
        delivery_id: &str,
    ) -> Result<Option<StoredResponse>, StoreError>;
    /// A deployment's latest outbox entry.
    async fn dispatch_of(&self, deployment_id: &str) -> Result<Option<Dispatch>, StoreError>;
    /// Claims due entries in one transaction: pending, unleased or lease expired, of VALIDATED
    /// deployments; oldest first. Pending entries of deployments that can no longer be
    /// dispatched (cancelled, rejected) are closed as `cancelled` on the way.
    async fn claim_dispatches(&self, claim: &Claim) -> Result<Vec<Dispatch>, StoreError>;
    /// When the next pending entry is due or its lease ends.
    async fn next_due(&self) -> Result<Option<Timestamp>, StoreError>;
    /// Extends a claimed entry's lease right before an attempt; false (nothing changed) when the
    /// entry is no longer this claimer's to deliver: its lease passed to another or ended, it
    /// was closed, or its deployment is no longer VALIDATED (cancelled meanwhile).
    async fn renew_lease(&self, renewal: &Renewal) -> Result<bool, StoreError>;
    /// Records a failed attempt on a claimed entry and when to retry; releases the lease.
    async fn retry_dispatch(&self, retry: &Retry) -> Result<(), StoreError>;
    /// Deletes the records created before the cut-offs; returns how many of each.
    async fn purge(&self, purge: &Purge) -> Result<Purged, StoreError>;
    /// Verifies the whole ledger, then every projection row against its events.
    async fn verify(&self) -> Result<AuditReport, StoreError>;
    /// Checks the database answers.
    async fn ping(&self) -> Result<(), StoreError>;
    /// Records (or refreshes) what a running server judges with.
    async fn report_replica(&self, report: &ReplicaReport) -> Result<(), StoreError>;
    /// Makes `bundle` the active one if the active bundle's digest is still `replaces` (`None`:
    /// there is none yet); false, changing nothing, when another server changed it meanwhile.
    async fn activate_bundle(
        &self,
        bundle: &ActiveBundle,
        replaces: Option<&str>,
    ) -> Result<bool, StoreError>;
    /// The bundle last activated, if any.
    async fn active_bundle(&self) -> Result<Option<ActiveBundle>, StoreError>;
    /// What each server reported, oldest first.
    async fn replicas(&self) -> Result<Vec<ReplicaReport>, StoreError>;
    /// Records a decision made outside any other write (a preview).
    async fn log_decision(&self, record: &DecisionRecord) -> Result<(), StoreError>;
    /// One logged decision.
    async fn decision(&self, decision_id: &str) -> Result<Option<DecisionRecord>, StoreError>;
    /// Logged decisions in a time range after a cursor, oldest first, at most `query.limit`.
    async fn decisions(&self, query: &DecisionQuery) -> Result<Vec<DecisionRecord>, StoreError>;
    /// The attestation stored for a decision.
    async fn attestation(&self, decision_id: &str)
    -> Result<Option<AttestationRecord>, StoreError>;
    /// The attestation of a deployment's latest attested decision.
    async fn latest_attestation(
        &self,
        deployment_id: &str,
    ) -> Result<Option<AttestationRecord>, StoreError>;
}
