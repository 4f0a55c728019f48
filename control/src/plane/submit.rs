//! Submitting an intent: evaluate it, store REQUESTED plus the decision's transition (and the
//! dispatch when allowed) in one transaction, at most once per idempotency key.

use std::sync::Arc;
use std::time::Instant;

use gatehouse_core::catalog::SCHEMA_POLICY;
use gatehouse_core::{DeploymentStatus, ErrorDetail, EventType, NewEvent, Outcome, Stage, State};
use gatehouse_store::decision_log::DecisionSource;
use gatehouse_store::deployment::DeploymentRecord;
use gatehouse_store::{IdempotencyKey, StoredResponse, Submission, SubmitResult};
use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;

use super::{ControlPlane, event_data, event_value, unshare};
use crate::access::{Permission, Principal};
use crate::deployment::DeploymentView;
use crate::error::ControlError;

/// What a submission produced.
#[derive(Debug)]
pub enum Submitted {
    /// A new deployment.
    Created(Box<DeploymentView>),
    /// The answer stored for this idempotency key: the deployment view as it was when the key
    /// was first used.
    Replayed(Replay),
}

/// The stored answer of an idempotency key, replayed as it was.
#[derive(Debug)]
pub struct Replay {
    /// The deployment's ETag in that answer (its `etag` then).
    pub etag: String,
    /// The answer: the deployment view's JSON, the stored bytes exactly (a view read back and
    /// written again might not give the same bytes).
    pub body: Box<RawValue>,
}

impl Replay {
    /// The replay of `stored`; an answer that is not a stored deployment view (JSON with an
    /// `etag`) is an internal error, never an answer without an ETag.
    fn of(stored: StoredResponse) -> Result<Self, ControlError> {
        /// The one field of a stored view a replay reads.
        #[derive(Deserialize)]
        struct Head {
            etag: String,
        }
        let unreadable = |e: serde_json::Error| {
            ControlError::internal("read the stored answer of an idempotency key", e)
        };
        let body = RawValue::from_string(stored.body).map_err(unreadable)?;
        let Head { etag } = serde_json::from_str(body.get()).map_err(unreadable)?;
        Ok(Self { etag, body })
    }
}

impl ControlPlane {
    /// Submits `intent` for `principal`: evaluates it and stores REQUESTED plus the decision's
    /// transition (and the dispatch when allowed, and the decision's log record) in one
    /// transaction that rolls back past `deadline`. The deployment's `decision_id` names the
    /// decision. With an idempotency key, the same key and body replay the first answer and
    /// another body is refused; the key is held by the database, so concurrent submissions
    /// with one key store one deployment.
    pub async fn submit(
        &self,
        principal: &Principal,
        intent: Value,
        idempotency: Option<IdempotencyKey>,
        deadline: Option<Instant>,
    ) -> Result<Submitted, ControlError> {
        principal.require(Permission::Submit)?;
        if let Some(key) = &idempotency
            && let Some(seen) = self.store.idempotent(principal.actor(), &key.key).await?
        {
            return if seen.body_sha256 == key.body_sha256 {
                Ok(Submitted::Replayed(Replay::of(seen)?))
            } else {
                Err(ControlError::IdempotencyKeyReused {
                    key: key.key.clone(),
                })
            };
        }
        let context = self.context(&intent, Vec::new()).await?;
        let now = context.now;
        let intent = Arc::new(intent);
        let judged = self
            .judge(Stage::Admission, Arc::clone(&intent), context)
            .await?;
        let intent = unshare(intent);
        let decision = &judged.decision;
        let schema_errors: Vec<ErrorDetail> = decision
            .violations
            .iter()
            .filter(|v| v.policy == SCHEMA_POLICY)
            .map(|v| {
                let mut e =
                    ErrorDetail::new("schema", v.message.clone()).with_help(v.remediation.clone());
                e.path = Some(v.path.clone());
                e
            })
            .collect();
        if !schema_errors.is_empty() {
            // Nothing is stored, but the evaluation happened: the log keeps it.
            let record = self.log_record(
                &judged,
                DecisionSource::Submit,
                principal.actor(),
                None,
                &intent,
            );
            self.log_alone(record).await?;
            return Err(ControlError::InvalidIntent {
                errors: schema_errors,
                decision_id: judged.id,
            });
        }
        let id = format!("dep_{}", uuid::Uuid::now_v7().simple());
        let (status, requested) = DeploymentStatus::start(
            &id,
            now,
            principal.actor(),
            event_data([
                ("intent", intent.clone()),
                (
                    "intent_digest",
                    Value::String(decision.intent_digest.clone()),
                ),
            ]),
        );
        let decided_data = event_data([
            ("decision", event_value("write the decision", decision)?),
            ("decision_id", Value::String(judged.id.clone())),
        ]);
        let (status, decided) = status
            .append(NewEvent {
                kind: match decision.outcome {
                    Outcome::Allow => EventType::Validated,
                    Outcome::NeedsApproval => EventType::ApprovalRequired,
                    Outcome::Deny => EventType::Rejected,
                },
                at: now,
                actor: "gatehouse".into(),
                data: decided_data,
            })
            .map_err(|e| ControlError::internal("chain the decision event", e))?;
        let decision_log = self.log_record(
            &judged,
            DecisionSource::Submit,
            principal.actor(),
            Some(&id),
            &intent,
        );
        let record = DeploymentRecord::new(
            intent,
            decision,
            &judged.id,
            &status,
            principal.actor(),
            now,
        );
        let attestation = self.attest(&judged, &record);
        let dispatch = if status.state == State::Validated {
            self.new_dispatch(&record, attestation.as_ref())
        } else {
            None
        };
        let key = idempotency.as_ref().map(|k| k.key.clone());
        let idempotency = idempotency
            .map(|k| {
                let first = DeploymentView::new(record.clone(), None);
                let body = serde_json::to_string(&first).map_err(|e| {
                    ControlError::internal("write the answer of an idempotency key", e)
                })?;
                Ok::<_, ControlError>((
                    principal.actor().to_owned(),
                    k.key,
                    StoredResponse {
                        body_sha256: k.body_sha256,
                        body,
                    },
                ))
            })
            .transpose()?;
        let has_dispatch = dispatch.is_some();
        let result = self
            .store
            .submit(Submission {
                record,
                events: vec![requested, decided],
                dispatch,
                idempotency,
                decision_log,
                attestation,
                deadline,
            })
            .await?;
        match result {
            SubmitResult::Created(record) => {
                let view = if has_dispatch {
                    self.dispatch_wake.notify_one();
                    self.view(*record).await?
                } else {
                    // No outbox entry was written: there is no dispatch to read back.
                    DeploymentView::new(*record, None)
                };
                Ok(Submitted::Created(Box::new(view)))
            }
            SubmitResult::Replayed(seen) => Ok(Submitted::Replayed(Replay::of(seen)?)),
            SubmitResult::KeyReused => Err(ControlError::IdempotencyKeyReused {
                key: key.unwrap_or_default(),
            }),
        }
    }
}
