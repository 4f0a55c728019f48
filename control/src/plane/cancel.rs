//! Cancelling a deployment that has not started; its pending dispatch is closed in the same
//! transaction, so nothing is delivered after a cancel. A cancel while a dispatcher holds the
//! dispatch (claimed, its delivery possibly in flight) is refused
//! ([`ControlError::DispatchInFlight`]): a pipeline that was triggered is never hidden behind a
//! CANCELLED deployment whose callbacks would be refused.

use std::time::Instant;

use gatehouse_core::{EventType, NewEvent};
use gatehouse_store::Append;
use serde_json::json;

use super::ControlPlane;
use crate::access::{Permission, Principal};
use crate::deployment::DeploymentView;
use crate::error::ControlError;
use crate::requests::CancelRequest;
use crate::rules::{cancel_refused, check_cancel, check_etag, has_control};

impl ControlPlane {
    /// Cancels deployment `id` (whose ETag the caller read as `if_match`) for `principal`: a
    /// requester cancels only their own deployments; approvers and admins cancel any. Only
    /// REQUESTED or VALIDATED deployments can be cancelled, and not while their dispatch is
    /// being delivered.
    pub async fn cancel(
        &self,
        principal: &Principal,
        id: &str,
        if_match: &str,
        request: CancelRequest,
        deadline: Option<Instant>,
    ) -> Result<DeploymentView, ControlError> {
        principal.require(Permission::Cancel)?;
        if request.reason.as_deref().is_some_and(has_control) {
            return Err(ControlError::ControlCharacter { fields: "`reason`" });
        }
        self.in_step().await?;
        let record = self.current(id).await?;
        check_cancel(principal, &record)?;
        check_etag(&record, if_match)?;
        let (_, event) = record
            .status()
            .append(NewEvent {
                kind: EventType::Cancelled,
                at: self.now(),
                actor: principal.actor().to_owned(),
                data: json!({"reason": request.reason}),
            })
            .map_err(|_| cancel_refused(&record))?;
        let updated = self
            .store
            .append(Append {
                close_dispatches: Some(self.now()),
                deadline,
                ..Append::events(id, record.last_hash.clone(), vec![event])
            })
            .await?;
        self.view(updated).await
    }
}
