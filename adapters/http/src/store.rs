//! Durable state behind a small trait: deployments (a projection of their events), the audit
//! ledger of hash-chained events, the dispatch outbox, idempotency keys and callback deliveries.
//! [`crate::sqlite::SqliteStore`] is the implementation; another backend implements [`Store`].
//!
//! Every write is one transaction: the events, the projection row, the outbox entry and the
//! idempotency or delivery record commit together or not at all.

use std::time::Instant;

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
    /// The operation's deadline passed before it committed: it was rolled back, nothing is
    /// stored.
    #[error("the operation ran past its deadline and was rolled back")]
    DeadlineExceeded,
    /// The callback delivery was already recorded for this deployment: its stored response.
    #[error("delivery `{delivery_id}` was already recorded")]
    DeliveryExists {
        /// The delivery id.
        delivery_id: String,
        /// What was answered then.
        stored: StoredResponse,
    },
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

/// A deployment in a list: the summary columns, its decision's outcome, its ETag and where its
/// dispatch is; no intent, no decision, no payload (`GET /v1/deployments/{id}` has them).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct DeploymentSummary {
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
    /// The latest admission decision's outcome: `allow`, `deny` or `needs_approval`.
    pub outcome: String,
    /// Digest of the bundle that made that decision.
    pub bundle_digest: String,
    /// The value for `If-Match`: the last event's hash.
    pub etag: String,
    /// Where its latest dispatch is, once there is one.
    pub dispatch: Option<DispatchBrief>,
}

/// The status and attempts of a dispatch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct DispatchBrief {
    /// Where it is.
    pub status: DispatchStatus,
    /// Attempts so far.
    pub attempts: u32,
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
    /// The deployment was cancelled before it was delivered.
    Cancelled,
}

impl DispatchStatus {
    /// Stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
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
    /// Past this instant the transaction rolls back instead of committing.
    pub deadline: Option<Instant>,
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
    /// `(delivery id, response)` of a pipeline callback, so redelivery replays it; fails with
    /// [`StoreError::DeliveryExists`] when the deployment already has that delivery.
    pub delivery: Option<(String, StoredResponse)>,
    /// Closes the deployment's pending outbox entries as `cancelled` (a cancel).
    pub close_dispatches: bool,
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
            close_dispatches: false,
            deadline: None,
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
    pub items: Vec<DeploymentSummary>,
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

/// A claim on due outbox entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    /// Who claims (one id per running dispatcher).
    pub owner: String,
    /// Now.
    pub now: Timestamp,
    /// When the lease ends.
    pub lease_until: Timestamp,
    /// At most this many entries.
    pub limit: usize,
}

/// A failed attempt to record on a claimed entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retry {
    /// The entry.
    pub dispatch_id: i64,
    /// The claimer (the update is dropped if the lease passed to another).
    pub owner: String,
    /// Attempts made.
    pub attempts: u32,
    /// When to try again.
    pub next_attempt_at: Timestamp,
    /// Why it failed (redacted).
    pub error: String,
}

/// The control plane's storage.
pub trait Store: Send + Sync + 'static {
    /// Stores a new deployment (or answers for an idempotency key seen before).
    fn submit(&self, submission: Submission) -> Result<SubmitResult, StoreError>;
    /// Appends events to a deployment if its last hash is still `expect_hash`.
    fn append(&self, append: Append) -> Result<DeploymentRecord, StoreError>;
    /// One deployment.
    fn get(&self, id: &str) -> Result<Option<DeploymentRecord>, StoreError>;
    /// A filtered page of deployment summaries (reads no intent or decision).
    fn list(&self, query: &ListQuery) -> Result<Page, StoreError>;
    /// Aggregates of the deployments created at or after `since`, for signals; `top` limits
    /// the policies.
    fn signal_data(&self, since: Timestamp, top: usize) -> Result<SignalData, StoreError>;
    /// A deployment's events, in order.
    fn events(&self, id: &str) -> Result<Vec<Event>, StoreError>;
    /// Finished deployments of a service, newest first: the policies' `context.history`.
    fn history(&self, service: &str) -> Result<Vec<HistoryEntry>, StoreError>;
    /// The response stored for an idempotency key.
    fn idempotent(&self, principal: &str, key: &str) -> Result<Option<StoredResponse>, StoreError>;
    /// The response stored for a callback delivery id of a deployment.
    fn delivery(
        &self,
        deployment_id: &str,
        delivery_id: &str,
    ) -> Result<Option<StoredResponse>, StoreError>;
    /// A deployment's latest outbox entry.
    fn dispatch_of(&self, deployment_id: &str) -> Result<Option<Dispatch>, StoreError>;
    /// Claims due entries in one transaction: pending, unleased or lease expired, of VALIDATED
    /// deployments; oldest first. Pending entries of deployments that can no longer be
    /// dispatched (cancelled, rejected) are closed as `cancelled` on the way.
    fn claim_dispatches(&self, claim: &Claim) -> Result<Vec<Dispatch>, StoreError>;
    /// When the next pending entry is due or its lease ends.
    fn next_due(&self) -> Result<Option<Timestamp>, StoreError>;
    /// Records a failed attempt on a claimed entry and when to retry; releases the lease.
    fn retry_dispatch(&self, retry: &Retry) -> Result<(), StoreError>;
    /// Deletes idempotency records created before `idempotency_before` and delivery records
    /// created before `deliveries_before`; returns how many of each.
    fn purge(
        &self,
        idempotency_before: Timestamp,
        deliveries_before: Timestamp,
    ) -> Result<(u64, u64), StoreError>;
    /// Verifies the whole ledger, then every projection row against its events.
    fn verify(&self) -> Result<AuditReport, StoreError>;
    /// Checks the database answers.
    fn ping(&self) -> Result<(), StoreError>;
}
