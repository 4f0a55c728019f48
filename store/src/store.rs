//! The storage trait the control plane writes and reads through; [`crate::sqlite`] and
//! [`crate::postgres`] implement it.

use async_trait::async_trait;
use gatehouse_core::{Event, HistoryEntry, Timestamp};

use crate::attestations::AttestationRecord;
use crate::audit::AuditReport;
use crate::decision_log::{DecisionQuery, DecisionRecord};
use crate::deployment::{DeploymentPage, DeploymentRecord, ListQuery};
use crate::error::{Backend, StoreError};
use crate::outbox::{Claim, Dispatch, Renewal, Retry};
use crate::replay::StoredResponse;
use crate::replicas::{ActiveBundle, ReplicaReport};
use crate::signals::SignalData;
use crate::write::{Append, Purge, Purged, Submission, SubmitResult};

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
    async fn list(&self, query: &ListQuery) -> Result<DeploymentPage, StoreError>;
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
