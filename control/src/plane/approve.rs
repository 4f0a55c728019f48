//! Approving a deployment that awaits approval: record the approval, judge the intent again with
//! it, and move the deployment on when the decision changes.

use std::sync::Arc;
use std::time::Instant;

use gatehouse_core::{Approval, ApprovalSource, EventType, NewEvent, Outcome, Stage};
use gatehouse_store::decision_log::DecisionSource;
use gatehouse_store::{Append, DecisionUpdate};
use serde_json::Value;

use super::{ControlPlane, event_data, event_value};
use crate::access::{Permission, Principal};
use crate::deployment::DeploymentView;
use crate::error::ControlError;
use crate::requests::ApprovalRequest;
use crate::rules::{check_approval, check_etag, has_control};

impl ControlPlane {
    /// Records `principal`'s approval of deployment `id` (whose ETag the caller read as
    /// `if_match`) and re-evaluates: allowed → VALIDATED (and dispatched), denied → REJECTED,
    /// still short of approvals → stays REQUESTED. The deployment's `decision_id` then names
    /// the re-evaluation.
    pub async fn approve(
        &self,
        principal: &Principal,
        id: &str,
        if_match: &str,
        request: ApprovalRequest,
        deadline: Option<Instant>,
    ) -> Result<DeploymentView, ControlError> {
        principal.require(Permission::Approve)?;
        if request.comment.as_deref().is_some_and(has_control) || has_control(&request.role) {
            return Err(ControlError::ControlCharacter {
                fields: "`comment` and `role`",
            });
        }
        let record = self.current(id).await?;
        check_etag(&record, if_match)?;
        let mut approvals = self.approvals(id).await?;
        check_approval(principal, &record, &request.role, &approvals)?;
        let now = self.now();
        let approval = Approval {
            by: principal.name.clone(),
            role: request.role,
            at: Some(now),
            comment: request.comment,
            source: ApprovalSource::ControlPlane,
            reference: None,
        };
        approvals.push(approval.clone());
        let context = self.context(&record.intent, approvals).await?;
        let judged = self
            .judge(Stage::Admission, Arc::new(record.intent.clone()), context)
            .await?;
        let decision = &judged.decision;
        let data = event_data([
            ("approval", event_value("write the approval", &approval)?),
            ("decision", event_value("write the decision", decision)?),
            ("decision_id", Value::String(judged.id.clone())),
        ]);
        let (status, recorded) = record
            .status()
            .append(NewEvent {
                kind: EventType::ApprovalRecorded,
                at: now,
                actor: principal.actor().to_owned(),
                data,
            })
            .map_err(|e| ControlError::internal("chain the approval event", e))?;
        let mut events = vec![recorded];
        let follow = match decision.outcome {
            Outcome::Allow => Some(EventType::Validated),
            Outcome::Deny => Some(EventType::Rejected),
            Outcome::NeedsApproval => None,
        };
        if let Some(kind) = follow {
            let (_, event) = status
                .append(NewEvent {
                    kind,
                    at: now,
                    actor: "gatehouse".into(),
                    data: event_data([
                        ("decision_after", Value::from("approval_recorded")),
                        ("outcome", Value::from(decision.outcome.as_str())),
                    ]),
                })
                .map_err(|e| ControlError::internal("chain the decision event", e))?;
            events.push(event);
        }
        let attestation = self.attest(&judged, &record);
        let dispatch = if follow == Some(EventType::Validated) {
            self.new_dispatch(&record, attestation.as_ref())
        } else {
            None
        };
        let has_dispatch = dispatch.is_some();
        let decision_log = self.log_record(
            &judged,
            DecisionSource::Approve,
            principal.actor(),
            Some(id),
            &record.intent,
        );
        let updated = self
            .store
            .append(Append {
                decision: Some(DecisionUpdate {
                    decision: decision.clone(),
                    bundle_digest: decision.bundle.digest.clone(),
                    decision_id: judged.id.clone(),
                }),
                dispatch,
                decision_log,
                attestation,
                deadline,
                ..Append::events(id, record.last_hash.clone(), events)
            })
            .await?;
        if has_dispatch {
            self.dispatch_wake.notify_one();
        }
        self.view(updated).await
    }
}
