//! The dispatcher: delivers outbox entries with retry and exponential backoff, exactly once per
//! entry as long as no server dies mid-delivery.
//!
//! - An entry is written in the same transaction that makes a deployment VALIDATED, so a crash
//!   never loses one, and closed as `cancelled` in the same transaction as a cancel, so nothing
//!   is delivered after it.
//! - Before an entry is delivered it is *claimed*: one transaction takes only pending entries
//!   of VALIDATED deployments that no live lease holds, and leases them to this dispatcher for
//!   `dispatch.lease_ms`. Right before each attempt the lease is renewed for another
//!   `dispatch.lease_ms` (longer than an attempt may take), on the condition that it is still
//!   this dispatcher's, the entry still pending and its deployment still VALIDATED: a batch
//!   whose earlier attempts were slow never delivers an entry whose lease passed to another
//!   server, nor one cancelled after the claim. Two servers on one database never deliver the
//!   same entry; a server that dies mid-dispatch leaves a lease that expires, and the entry is
//!   claimable again (that one case delivers twice, with the same delivery id: payloads carry
//!   the deployment id so receivers dedupe, and the GitOps executor finds its manifest already
//!   committed).
//! - A delivered entry whose result cannot be recorded (store locked, disk full) is not
//!   delivered again: the result is kept and recording is retried with backoff. Store errors
//!   back off instead of spinning.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use gatehouse_core::Timestamp;
use gatehouse_store::outbox::{Claim, Dispatch, Renewal, Retry};
use serde_json::Value;
use tokio::sync::watch;

use crate::clock::shift;
use crate::config::DispatchConfig;
use crate::error::ControlError;
use crate::executor::{DispatchError, Executor};
use crate::plane::ControlPlane;

/// Longest sleep between outbox scans when nothing is due.
const IDLE_SCAN: Duration = Duration::from_secs(5);
/// First wait after a store error; doubles up to [`MAX_STORE_BACKOFF`].
const STORE_BACKOFF: Duration = Duration::from_millis(100);
/// Longest wait after store errors.
const MAX_STORE_BACKOFF: Duration = Duration::from_secs(5);
/// Entries claimed at once.
const CLAIM_BATCH: usize = 32;

/// What an attempt came to, kept until it is recorded.
#[derive(Debug, Clone)]
enum Outcome {
    /// Delivered: record `dispatched`.
    Delivered(Value),
    /// Failed for good: record `failed` with the reason.
    GaveUp(String),
    /// Failed, to be tried again at the given time.
    Retry(Timestamp, String),
}

/// A result not yet recorded.
#[derive(Debug, Clone)]
struct Unrecorded {
    dispatch: Dispatch,
    attempts: u32,
    outcome: Outcome,
}

/// The dispatcher's state: who it is, and the results it still has to record.
struct Dispatcher {
    plane: Arc<ControlPlane>,
    executor: Arc<Executor>,
    owner: String,
    unrecorded: BTreeMap<i64, Unrecorded>,
    backoff: Duration,
}

/// Runs until `shutdown` turns true.
pub(crate) async fn run(
    plane: Arc<ControlPlane>,
    executor: Arc<Executor>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut d = Dispatcher {
        plane,
        executor,
        owner: format!("dispatcher-{}", uuid::Uuid::now_v7().simple()),
        unrecorded: BTreeMap::new(),
        backoff: Duration::ZERO,
    };
    loop {
        if *shutdown.borrow() {
            return;
        }
        let store_ok = d.record_pending().await && d.deliver_due().await;
        let wait = if !store_ok {
            d.backoff = (d.backoff * 2).clamp(STORE_BACKOFF, MAX_STORE_BACKOFF);
            d.backoff
        } else if !d.unrecorded.is_empty() {
            d.backoff
        } else {
            d.backoff = Duration::ZERO;
            d.idle_wait().await
        };
        if wait.is_zero() {
            continue;
        }
        tokio::select! {
            () = d.plane.dispatch_written(), if store_ok => {}
            () = tokio::time::sleep(wait) => {}
            _ = shutdown.changed() => {}
        }
    }
}

impl Dispatcher {
    /// How long to sleep when nothing is due now.
    async fn idle_wait(&self) -> Duration {
        match self.plane.next_due().await {
            Ok(Some(due)) => {
                let now = self.plane.now();
                let nanos =
                    (due.unix_nanos() - now.unix_nanos()).clamp(0, IDLE_SCAN.as_nanos() as i128);
                // Never spin: a due entry another server holds is retried after a short pause.
                Duration::from_nanos(u64::try_from(nanos).unwrap_or(0))
                    .max(Duration::from_millis(10))
            }
            Ok(None) => IDLE_SCAN,
            Err(e) => {
                tracing::error!(error = %e, "cannot read the outbox");
                STORE_BACKOFF
            }
        }
    }

    /// Records the results kept from earlier; false if the store still fails.
    async fn record_pending(&mut self) -> bool {
        let ids: Vec<i64> = self.unrecorded.keys().copied().collect();
        for id in ids {
            let Some(entry) = self.unrecorded.get(&id).cloned() else {
                continue;
            };
            if let Err(e) = self.record(&entry).await {
                tracing::error!(deployment = %entry.dispatch.deployment_id, error = %e, "cannot record the dispatch result yet; will retry (it is not delivered again)");
                return false;
            }
            self.unrecorded.remove(&id);
        }
        true
    }

    /// Claims due entries and delivers each once; false if the store failed.
    async fn deliver_due(&mut self) -> bool {
        let now = self.plane.now();
        let lease = Duration::from_millis(self.plane.config().settings.dispatch.lease_ms);
        let claim = Claim {
            owner: self.owner.clone(),
            now,
            lease_until: shift(now, lease, true),
            limit: CLAIM_BATCH,
        };
        let due = match self.plane.claim_dispatches(&claim).await {
            Ok(due) => due,
            Err(e) => {
                tracing::error!(error = %e, "cannot claim outbox entries");
                return false;
            }
        };
        let config = self.plane.config().settings.dispatch.clone();
        for dispatch in due {
            if self.unrecorded.contains_key(&dispatch.id) {
                // Delivered already; only its record is missing.
                continue;
            }
            // The batch's earlier attempts may have used up its lease: renew it for this
            // attempt, or leave the entry to whoever holds it now (or to nobody: cancelled).
            let now = self.plane.now();
            let renewal = Renewal {
                dispatch_id: dispatch.id,
                owner: self.owner.clone(),
                now,
                lease_until: shift(now, lease, true),
            };
            match self.plane.renew_lease(&renewal).await {
                Ok(true) => {}
                Ok(false) => {
                    tracing::info!(deployment = %dispatch.deployment_id, "not delivered: the entry's lease passed to another server, or it was cancelled meanwhile");
                    continue;
                }
                Err(e) => {
                    tracing::error!(error = %e, "cannot renew an outbox lease");
                    return false;
                }
            }
            let attempts = dispatch.attempts + 1;
            let outcome = match self.executor.deliver(&dispatch, self.plane.now()).await {
                Ok(receipt) => {
                    self.plane.observer().dispatched(&dispatch.executor);
                    tracing::info!(deployment = %dispatch.deployment_id, attempts, "dispatched");
                    Outcome::Delivered(receipt)
                }
                Err(error) => {
                    self.plane.observer().dispatch_failed(&dispatch.executor);
                    failed_outcome(&self.plane, &config, &dispatch, attempts, &error)
                }
            };
            let entry = Unrecorded {
                dispatch,
                attempts,
                outcome,
            };
            if let Err(e) = self.record(&entry).await {
                tracing::error!(deployment = %entry.dispatch.deployment_id, error = %e, "cannot record the dispatch result; keeping it to record later (it is not delivered again)");
                self.unrecorded.insert(entry.dispatch.id, entry);
                return false;
            }
        }
        true
    }

    async fn record(&self, entry: &Unrecorded) -> Result<(), ControlError> {
        let (id, deployment) = (entry.dispatch.id, entry.dispatch.deployment_id.as_str());
        match &entry.outcome {
            Outcome::Delivered(receipt) => {
                self.plane
                    .finish_dispatch(id, deployment, entry.attempts, Ok(receipt.clone()))
                    .await
            }
            Outcome::GaveUp(reason) => {
                self.plane
                    .finish_dispatch(id, deployment, entry.attempts, Err(reason.clone()))
                    .await
            }
            Outcome::Retry(next_attempt_at, error) => Ok(self
                .plane
                .retry_dispatch(&Retry {
                    dispatch_id: id,
                    owner: self.owner.clone(),
                    attempts: entry.attempts,
                    next_attempt_at: *next_attempt_at,
                    error: error.clone(),
                })
                .await?),
        }
    }
}

fn failed_outcome(
    plane: &ControlPlane,
    config: &DispatchConfig,
    dispatch: &Dispatch,
    attempts: u32,
    error: &DispatchError,
) -> Outcome {
    if error.retryable && attempts < config.max_attempts {
        let wait = config.backoff(attempts);
        let next = shift(plane.now(), wait, true);
        tracing::warn!(deployment = %dispatch.deployment_id, attempts, error = %error, retry_in_ms = wait.as_millis() as u64, "dispatch failed; will retry");
        Outcome::Retry(next, error.message.clone())
    } else {
        let reason = if error.retryable {
            format!("{} (gave up after {attempts} attempts)", error.message)
        } else {
            format!("{} (not retryable)", error.message)
        };
        tracing::warn!(deployment = %dispatch.deployment_id, attempts, %reason, "dispatch failed for good");
        Outcome::GaveUp(reason)
    }
}
