//! Durable state behind a small trait: deployments (a projection of their events), the audit
//! ledger of hash-chained events, the dispatch outbox, idempotency keys and callback deliveries.
//! [`crate::sqlite::SqliteStore`] is the implementation; another backend implements [`Store`].
//!
//! Every write is one transaction: the events, the projection row, the outbox entry and the
//! idempotency or delivery record commit together or not at all.

use gatehouse_core::{Event, HistoryEntry, State, Timestamp};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

/// A storage failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No such deployment.
    #[error("no deployment `{0}`")]
    NotFound(String),
    /// The deployment changed since the caller read it (compare-and-swap on the last hash).
    #[error("deployment `{id}` changed: its current ETag is \"{current}\"")]
    Conflict {
        /// The deployment.
        id: String,
        /// Its last event hash now.
        current: String,
    },
    /// The database failed.
    #[error("database error: {0}")]
    Database(String),
    /// A stored value cannot be read back.
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

/// A deployment as stored: summary columns, the intent and its latest decision.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct DeploymentRecord {
    /// Id, e.g. `dep_0196f0c2...`.
    pub id: String,
    /// Current state.
    #[schema(value_type = String, example = "VALIDATED")]
    pub state: State,
    /// `spec.service`.
    pub service: String,
    /// `spec.version`.
    pub version: String,
    /// `spec.artifact`.
    pub artifact: String,
    /// `spec.environment`.
    pub environment: String,
    /// `spec.target.cloud`.
    pub cloud: String,
    /// `spec.target.account`.
    pub account: String,
    /// `spec.target.region`.
    pub region: String,
    /// `metadata.requested_by`.
    pub requested_by: String,
    /// The token that submitted it.
    pub submitted_by: String,
    /// When it was submitted.
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    /// Time of its last event.
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
    /// The intent as submitted.
    #[schema(value_type = Object)]
    pub intent: Value,
    /// The latest admission decision.
    #[schema(value_type = Object)]
    pub decision: Value,
    /// Digest of the bundle that made that decision.
    pub bundle_digest: String,
    /// Seq of its last event.
    pub last_seq: u64,
    /// Hash of its last event: the ETag.
    pub last_hash: String,
}

/// A stored HTTP response, replayed for a repeated idempotency key or callback delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    /// SHA-256 of the request body that produced it.
    pub body_sha256: String,
    /// Status code.
    pub status: u16,
    /// JSON body.
    pub body: String,
}

/// What a dispatch is at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DispatchStatus {
    /// Waiting for its next attempt.
    Pending,
    /// The executor accepted it.
    Delivered,
    /// The retry budget ran out, or the executor refused it for good.
    Failed,
}

impl DispatchStatus {
    /// Stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Failed => "failed",
        }
    }
}

/// One outbox entry: the pipeline trigger for a VALIDATED deployment.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Dispatch {
    /// Outbox id.
    pub id: i64,
    /// The deployment.
    pub deployment_id: String,
    /// The executor kind it was written for.
    pub executor: String,
    /// What the executor sends (deployment id, intent, callback URL).
    #[schema(value_type = Object)]
    pub payload: Value,
    /// Attempts so far.
    pub attempts: u32,
    /// Where it is.
    pub status: DispatchStatus,
    /// When the next attempt is due.
    #[schema(value_type = String, format = DateTime)]
    pub next_attempt_at: Timestamp,
    /// The last failure.
    pub last_error: Option<String>,
    /// What the executor returned (e.g. a commit id).
    #[schema(value_type = Object)]
    pub receipt: Option<Value>,
}

/// A new outbox entry.
#[derive(Debug, Clone, PartialEq)]
pub struct NewDispatch {
    /// The executor kind.
    pub executor: String,
    /// What it sends.
    pub payload: Value,
    /// First attempt time.
    pub due: Timestamp,
}

/// Closes an outbox entry.
#[derive(Debug, Clone, PartialEq)]
pub struct DispatchOutcome {
    /// The entry.
    pub dispatch_id: i64,
    /// Delivered or failed.
    pub status: DispatchStatus,
    /// Attempts made.
    pub attempts: u32,
    /// Failure reason.
    pub error: Option<String>,
    /// Executor receipt.
    pub receipt: Option<Value>,
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
    /// `(principal, key)` of an `Idempotency-Key` header, with the response to replay.
    pub idempotency: Option<(String, String, StoredResponse)>,
}

/// What became of a submission.
#[derive(Debug, Clone)]
pub enum SubmitResult {
    /// Stored.
    Created(Box<DeploymentRecord>),
    /// The key was used before with the same body: the first response.
    Replayed(StoredResponse),
    /// The key was used before with another body.
    KeyReused,
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
    pub decision: Option<(Value, String)>,
    /// A pipeline trigger to enqueue.
    pub dispatch: Option<NewDispatch>,
    /// An outbox entry to close.
    pub dispatch_outcome: Option<DispatchOutcome>,
    /// `(delivery id, response)` of a pipeline callback, so redelivery replays it.
    pub delivery: Option<(String, StoredResponse)>,
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
        }
    }
}

/// Filters and paging of `GET /v1/deployments`.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    /// State.
    pub state: Option<State>,
    /// Environment.
    pub environment: Option<String>,
    /// Service.
    pub service: Option<String>,
    /// Cloud.
    pub cloud: Option<String>,
    /// Page size.
    pub limit: u32,
    /// Rows to skip (newest first).
    pub offset: u64,
}

/// A page of deployments.
#[derive(Debug, Clone)]
pub struct Page {
    /// The rows, newest first.
    pub items: Vec<DeploymentRecord>,
    /// Rows matching the filters.
    pub total: u64,
}

/// Result of verifying the whole ledger and the projection.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct AuditReport {
    /// True when every link holds and every deployment row matches its events.
    pub ok: bool,
    /// Events checked.
    pub events: u64,
    /// Deployments found in the ledger.
    pub deployments: u64,
    /// Head position recorded.
    pub head_position: u64,
    /// Head link recorded.
    pub head_link: String,
    /// The first broken link, if any.
    pub first_broken: Option<BrokenLink>,
}

/// Where the ledger breaks.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct BrokenLink {
    /// Ledger position (0 for a projection mismatch).
    pub position: u64,
    /// The deployment concerned.
    pub deployment_id: Option<String>,
    /// Stable code, e.g. `ledger_link`, `chain_hash`, `projection_mismatch`.
    pub code: String,
    /// What is wrong.
    pub message: String,
}

/// The control plane's storage.
pub trait Store: Send + Sync + 'static {
    /// Stores a new deployment (or answers for an idempotency key seen before).
    fn submit(&self, submission: Submission) -> Result<SubmitResult, StoreError>;
    /// Appends events to a deployment if its last hash is still `expect_hash`.
    fn append(&self, append: Append) -> Result<DeploymentRecord, StoreError>;
    /// One deployment.
    fn get(&self, id: &str) -> Result<Option<DeploymentRecord>, StoreError>;
    /// A filtered page of deployments.
    fn list(&self, query: &ListQuery) -> Result<Page, StoreError>;
    /// Deployments created at or after `since`, oldest first (for signals).
    fn created_since(&self, since: Timestamp) -> Result<Vec<DeploymentRecord>, StoreError>;
    /// A deployment's events, in order.
    fn events(&self, id: &str) -> Result<Vec<Event>, StoreError>;
    /// Finished deployments of a service, newest first: the policies' `context.history`.
    fn history(&self, service: &str) -> Result<Vec<HistoryEntry>, StoreError>;
    /// The response stored for an idempotency key.
    fn idempotent(&self, principal: &str, key: &str) -> Result<Option<StoredResponse>, StoreError>;
    /// The response stored for a callback delivery id.
    fn delivery(&self, delivery_id: &str) -> Result<Option<StoredResponse>, StoreError>;
    /// A deployment's latest outbox entry.
    fn dispatch_of(&self, deployment_id: &str) -> Result<Option<Dispatch>, StoreError>;
    /// Pending outbox entries due at `now`, oldest first.
    fn due_dispatches(&self, now: Timestamp, limit: usize) -> Result<Vec<Dispatch>, StoreError>;
    /// When the next pending entry is due.
    fn next_due(&self) -> Result<Option<Timestamp>, StoreError>;
    /// Records a failed attempt and when to retry.
    fn retry_dispatch(
        &self,
        dispatch_id: i64,
        attempts: u32,
        next_attempt_at: Timestamp,
        error: &str,
    ) -> Result<(), StoreError>;
    /// Verifies the whole ledger, then every projection row against its events.
    fn verify(&self) -> Result<AuditReport, StoreError>;
    /// Checks the database answers.
    fn ping(&self) -> Result<(), StoreError>;
}
