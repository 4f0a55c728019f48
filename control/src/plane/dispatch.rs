//! What the dispatcher asks of the control plane: claiming due outbox entries, recording
//! failed attempts, and recording a finished dispatch as the deployment's next event.

use gatehouse_core::{EventType, NewEvent, Timestamp};
use gatehouse_store::outbox::{Claim, Dispatch, DispatchOutcome, DispatchStatus, Renewal, Retry};
use gatehouse_store::{Append, StoreError};
use serde_json::{Value, json};

use super::{CAS_RETRIES, ControlPlane};
use crate::error::ControlError;
use crate::observer::Observer;

impl ControlPlane {
    /// Waits until an outbox entry is written (by this process).
    pub(crate) async fn dispatch_written(&self) {
        self.dispatch_wake.notified().await;
    }

    /// The observer.
    pub(crate) fn observer(&self) -> &dyn Observer {
        self.observer.as_ref()
    }

    pub(crate) async fn claim_dispatches(
        &self,
        claim: &Claim,
    ) -> Result<Vec<Dispatch>, StoreError> {
        self.store.claim_dispatches(claim).await
    }

    pub(crate) async fn next_due(&self) -> Result<Option<Timestamp>, StoreError> {
        self.store.next_due().await
    }

    pub(crate) async fn renew_lease(&self, renewal: &Renewal) -> Result<bool, StoreError> {
        self.store.renew_lease(renewal).await
    }

    pub(crate) async fn retry_dispatch(&self, retry: &Retry) -> Result<(), StoreError> {
        self.store.retry_dispatch(retry).await
    }

    /// Records a finished dispatch: delivered → `dispatched` (IN_PROGRESS) unless the pipeline
    /// already moved the deployment on; failed for good → `failed` (FAILED) with the reason.
    pub(crate) async fn finish_dispatch(
        &self,
        dispatch_id: i64,
        deployment_id: &str,
        attempts: u32,
        result: Result<Value, String>,
    ) -> Result<(), ControlError> {
        let executor = self.config.settings.executor.kind();
        for _ in 0..CAS_RETRIES {
            let record = self.current(deployment_id).await?;
            let (kind, data, outcome) = match &result {
                Ok(receipt) => (
                    EventType::Dispatched,
                    json!({"executor": executor, "attempts": attempts, "receipt": receipt}),
                    DispatchOutcome {
                        dispatch_id,
                        status: DispatchStatus::Delivered,
                        attempts,
                        error: None,
                        receipt: Some(receipt.clone()),
                    },
                ),
                Err(error) => (
                    EventType::Failed,
                    json!({"executor": executor, "attempts": attempts, "reason": format!("dispatch failed: {error}")}),
                    DispatchOutcome {
                        dispatch_id,
                        status: DispatchStatus::Failed,
                        attempts,
                        error: Some(error.clone()),
                        receipt: None,
                    },
                ),
            };
            // A deployment cancelled or finished meanwhile only closes the outbox entry.
            let events = match record.status().append(NewEvent {
                kind,
                at: self.now(),
                actor: "gatehouse".into(),
                data,
            }) {
                Ok((_, event)) => vec![event],
                Err(_) => Vec::new(),
            };
            match self
                .store
                .append(Append {
                    dispatch_outcome: Some(outcome),
                    ..Append::events(deployment_id, record.last_hash, events)
                })
                .await
            {
                Err(StoreError::Conflict { .. }) => continue,
                other => return other.map(|_| ()).map_err(ControlError::from),
            }
        }
        Err(ControlError::Busy {
            deployment_id: deployment_id.to_owned(),
        })
    }
}
