//! The dispatcher: delivers outbox entries with retry and exponential backoff. An entry is
//! written in the same transaction that makes a deployment VALIDATED, so a crash never loses
//! one; it is closed in the same transaction that records `dispatched` (or `failed`), so a
//! restart resumes exactly the entries still pending. An entry delivered just before a crash,
//! but not yet recorded, is delivered again: payloads carry the deployment id so receivers
//! dedupe, and the GitOps executor finds its manifest already committed.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::control::ControlPlane;
use crate::executor::Executor;
use crate::store::StoreError;

/// Longest sleep between outbox scans when nothing is due.
const IDLE_SCAN: Duration = Duration::from_secs(5);

/// Runs `f` on the blocking pool (SQLite reads and fsyncing writes stay off the async workers).
async fn store_call<T: Send + 'static>(
    plane: &Arc<ControlPlane>,
    f: impl FnOnce(&ControlPlane) -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    let plane = Arc::clone(plane);
    tokio::task::spawn_blocking(move || f(&plane))
        .await
        .map_err(|e| StoreError::Database(format!("store task failed: {e}")))?
}

/// Runs until `shutdown` turns true.
pub async fn run(
    plane: Arc<ControlPlane>,
    executor: Arc<Executor>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        if *shutdown.borrow() {
            return;
        }
        let worked = deliver_due(&plane, &executor).await;
        if worked {
            continue;
        }
        let wait = match store_call(&plane, |p| p.store.next_due()).await {
            Ok(Some(due)) => {
                let now = plane.now();
                let nanos =
                    (due.unix_nanos() - now.unix_nanos()).clamp(0, IDLE_SCAN.as_nanos() as i128);
                Duration::from_nanos(u64::try_from(nanos).unwrap_or(0))
            }
            Ok(None) => IDLE_SCAN,
            Err(e) => {
                tracing::error!(error = %e, "cannot read the outbox");
                IDLE_SCAN
            }
        };
        tokio::select! {
            () = plane.dispatch_wake.notified() => {}
            () = tokio::time::sleep(wait) => {}
            _ = shutdown.changed() => {}
        }
    }
}

/// Attempts every due entry once; true if there were any.
async fn deliver_due(plane: &Arc<ControlPlane>, executor: &Arc<Executor>) -> bool {
    let due = match store_call(plane, |p| p.store.due_dispatches(p.now(), 32)).await {
        Ok(due) => due,
        Err(e) => {
            tracing::error!(error = %e, "cannot read the outbox");
            return false;
        }
    };
    if due.is_empty() {
        return false;
    }
    let config = &plane.config.dispatch;
    for dispatch in due {
        let attempts = dispatch.attempts + 1;
        let result = executor.deliver(&dispatch).await;
        let record = match result {
            Ok(receipt) => {
                plane.metrics.dispatched(&dispatch.executor);
                tracing::info!(deployment = %dispatch.deployment_id, attempts, "dispatched");
                let (id, deployment) = (dispatch.id, dispatch.deployment_id.clone());
                store_call(plane, move |p| {
                    p.finish_dispatch(id, &deployment, attempts, Ok(receipt))
                })
                .await
            }
            Err(error) => {
                plane.metrics.dispatch_failed(&dispatch.executor);
                if error.retryable && attempts < config.max_attempts {
                    let wait = config.backoff(attempts);
                    let next = gatehouse_core::Timestamp::from_unix_nanos(
                        plane.now().unix_nanos() + wait.as_nanos() as i128,
                    )
                    .unwrap_or_else(|_| plane.now());
                    tracing::warn!(deployment = %dispatch.deployment_id, attempts, error = %error, retry_in_ms = wait.as_millis() as u64, "dispatch failed; will retry");
                    plane
                        .store
                        .retry_dispatch(dispatch.id, attempts, next, &error.message)
                } else {
                    let reason = if error.retryable {
                        format!("{} (gave up after {attempts} attempts)", error.message)
                    } else {
                        format!("{} (not retryable)", error.message)
                    };
                    tracing::warn!(deployment = %dispatch.deployment_id, attempts, %reason, "dispatch failed for good");
                    plane.finish_dispatch(
                        dispatch.id,
                        &dispatch.deployment_id,
                        attempts,
                        Err(reason),
                    )
                }
            }
        };
        if let Err(e) = record {
            tracing::error!(deployment = %dispatch.deployment_id, error = %e, "cannot record the dispatch result");
        }
    }
    true
}
