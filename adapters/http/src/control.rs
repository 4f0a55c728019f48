//! The control plane's operations: evaluate, submit, approve, cancel, take a pipeline callback,
//! record a dispatch. Each turns a request into core calls (decisions, chained events) and one
//! store transaction. Policy logic stays in the core and the bundle: here are only the lifecycle
//! rules of the service (who may approve, what a callback may do in which state).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, RwLock};
use std::time::{Duration, Instant};

use gatehouse_core::{
    Approval, BundleSource, Decision, DeploymentStatus, Engine, EngineOptions, ErrorDetail,
    EvaluationContext, Event, EventType, Limits, NewEvent, Outcome, State, Timestamp,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::sync::Notify;
use utoipa::ToSchema;

use crate::auth::{Authenticator, Principal, Role};
use crate::config::Config;
use crate::metrics::Metrics;
use crate::problem::Problem;
use crate::store::{
    Append, DeploymentRecord, DispatchOutcome, DispatchStatus, NewDispatch, Store, StoreError,
    StoredResponse, Submission, SubmitResult,
};

/// How often a write that lost a compare-and-swap to a concurrent one is tried again before the
/// caller gets a 503 (pipeline callbacks and dispatch results send no `If-Match`).
const CAS_RETRIES: usize = 16;

/// A counting semaphore around policy evaluation: at most `limits.evaluation_concurrency`
/// evaluations run at once; a request waits at most `limits.evaluation_wait_ms` for a slot, then
/// gets a 503 `overloaded` (evaluations are CPU-bound: more at once only makes each slower).
/// Plain `std` primitives: evaluations run on blocking threads, not on the async runtime.
pub struct EvaluationGate {
    free: Mutex<usize>,
    freed: Condvar,
    wait: Duration,
}

/// A held evaluation slot; dropping it frees the slot.
pub struct EvaluationSlot<'a> {
    gate: &'a EvaluationGate,
}

/// No evaluation slot became free in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "the server is evaluating as many intents as `limits.evaluation_concurrency` ({slots}) allows and none finished within {waited_ms} ms; retry after the Retry-After delay"
)]
pub struct Overloaded {
    /// The configured slots.
    pub slots: usize,
    /// How long the request waited.
    pub waited_ms: u64,
}

impl EvaluationGate {
    /// A gate with `slots` slots and a wait of `wait`.
    pub fn new(slots: usize, wait: Duration) -> Self {
        Self {
            free: Mutex::new(slots),
            freed: Condvar::new(),
            wait,
        }
    }

    /// Takes a slot, waiting at most the configured time.
    pub fn acquire(&self, slots: usize) -> Result<EvaluationSlot<'_>, Overloaded> {
        let deadline = Instant::now() + self.wait;
        let mut free = self.free.lock().unwrap_or_else(|p| p.into_inner());
        while *free == 0 {
            let Some(left) = deadline.checked_duration_since(Instant::now()) else {
                return Err(Overloaded {
                    slots,
                    waited_ms: self.wait.as_millis() as u64,
                });
            };
            free = self
                .freed
                .wait_timeout(free, left)
                .map(|(guard, _)| guard)
                .unwrap_or_else(|p| p.into_inner().0);
        }
        *free -= 1;
        Ok(EvaluationSlot { gate: self })
    }
}

impl Drop for EvaluationSlot<'_> {
    fn drop(&mut self) {
        let mut free = self.gate.free.lock().unwrap_or_else(|p| p.into_inner());
        *free += 1;
        self.gate.freed.notify_one();
    }
}

fn overloaded(e: Overloaded) -> Problem {
    Problem::unavailable("overloaded", e.to_string())
}

/// Whether free text that is stored and shown (comments, reasons) has a control character:
/// those could forge lines in logs and terminals.
fn has_control(text: &str) -> bool {
    text.chars().any(char::is_control)
}

/// The clock (injected so tests control time).
pub type Clock = Arc<dyn Fn() -> Timestamp + Send + Sync>;

/// The system clock.
pub fn system_clock() -> Clock {
    Arc::new(|| {
        let nanos = time::OffsetDateTime::now_utc().unix_timestamp_nanos();
        // Millisecond precision keeps event times readable.
        let millis = nanos - nanos % 1_000_000;
        Timestamp::from_unix_nanos(millis).unwrap_or_else(|_| fallback_time())
    })
}

fn fallback_time() -> Timestamp {
    Timestamp::from_unix_seconds(0).unwrap_or_else(|_| fallback_time())
}

/// Everything a request handler needs.
pub struct ControlPlane {
    /// The configuration.
    pub config: Config,
    bundle: RwLock<(Arc<Engine>, Arc<Value>)>,
    /// Storage.
    pub store: Arc<dyn Store>,
    /// Token checks.
    pub auth: Authenticator,
    /// Metrics.
    pub metrics: Metrics,
    /// Wakes the dispatcher when an outbox entry is written.
    pub dispatch_wake: Notify,
    /// The clock.
    pub clock: Clock,
    evaluations: EvaluationGate,
}

/// Which evaluation `POST /v1/evaluate` runs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EvaluateStage {
    /// The admission policies (the default).
    #[default]
    Admission,
    /// The release gates over `context.evidence`.
    Gates,
}

/// A bundle that cannot be loaded.
#[derive(Debug, thiserror::Error)]
#[error("policy bundle {dir}: {message}")]
pub struct BundleLoadError {
    /// The directory.
    pub dir: PathBuf,
    /// What is wrong.
    pub message: String,
    /// Each error.
    pub errors: Vec<ErrorDetail>,
}

/// A loaded bundle: its engine and its packed document (`GET /v1/bundle`).
pub struct LoadedBundle {
    /// The engine.
    pub engine: Arc<Engine>,
    /// `{format, name, revision, digest, files}`.
    pub packed: Arc<Value>,
}

/// Loads the bundle at `dir` with the configured evaluation time limit.
pub fn load_bundle(dir: &Path, config: &Config) -> Result<LoadedBundle, BundleLoadError> {
    let fail = |message: String, errors| BundleLoadError {
        dir: dir.to_path_buf(),
        message,
        errors,
    };
    let source = BundleSource::from_dir(dir).map_err(|e| fail(e.to_string(), Vec::new()))?;
    let options = EngineOptions {
        limits: Limits {
            time_limit: Some(std::time::Duration::from_millis(
                config.limits.evaluation_timeout_ms,
            )),
        },
    };
    let engine = Engine::load_with(&source, options).map_err(|e| {
        let errors = gatehouse_core::Diagnostic::details(&e);
        fail(e.to_string(), errors)
    })?;
    Ok(LoadedBundle {
        packed: Arc::new(source.packed(engine.info())),
        engine: Arc::new(engine),
    })
}

/// A pipeline's report, the body of `POST /v1/deployments/{id}/callbacks`.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Callback {
    /// What happened.
    pub status: CallbackStatus,
    /// The pipeline run.
    #[serde(default)]
    pub run_url: Option<String>,
    /// Smoke results and the observed deployment, checked by the release gates:
    /// `{"smoke": [{"name", "passed", "details"?}], "observed": {"artifact", "account", "region"}}`.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub evidence: Option<Value>,
    /// Why it failed.
    #[serde(default)]
    pub reason: Option<String>,
}

/// What a pipeline reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CallbackStatus {
    /// The run began.
    Started,
    /// The run finished; the release gates decide SUCCESS or FAILED.
    Succeeded,
    /// The run failed.
    Failed,
}

impl CallbackStatus {
    fn as_str(self) -> &'static str {
        match self {
            Self::Started => "started",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
        }
    }
}

/// An approval, the body of `POST /v1/deployments/{id}/approvals`.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApprovalRequest {
    /// The approval role, e.g. `finops-approver` (must be one of the token's approval roles).
    #[schema(pattern = "^[^\\x00-\\x1f\\x7f-\\x9f]*$")]
    pub role: String,
    /// Free text on one line (control characters are refused).
    #[serde(default)]
    #[schema(pattern = "^[^\\x00-\\x1f\\x7f-\\x9f]*$")]
    pub comment: Option<String>,
}

/// A cancellation, the body of `POST /v1/deployments/{id}/cancel`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelRequest {
    /// Why, on one line (control characters are refused).
    #[serde(default)]
    #[schema(pattern = "^[^\\x00-\\x1f\\x7f-\\x9f]*$")]
    pub reason: Option<String>,
}

/// What a submission produced.
pub enum Submitted {
    /// A new deployment.
    Created(Box<DeploymentRecord>),
    /// The first response for this idempotency key.
    Replayed(StoredResponse),
}

fn store_problem(e: StoreError) -> Problem {
    match e {
        StoreError::NotFound(id) => Problem::not_found(format!("no deployment `{id}`")),
        StoreError::Conflict { id, current } => Problem::new(
            axum::http::StatusCode::PRECONDITION_FAILED,
            "stale_etag",
            format!(
                "deployment `{id}` changed since you read it; its current ETag is \"{current}\": GET it again and retry with that If-Match"
            ),
        ),
        StoreError::DeadlineExceeded => Problem::unavailable(
            "timeout",
            "the request ran past the server's limit (`limits.request_timeout_ms`) and was rolled back: nothing was stored. Retry it; a submission retried with the same `Idempotency-Key` header is stored at most once",
        ),
        other => Problem::internal(other),
    }
}

/// SHA-256 hex of a request body.
pub fn body_sha256(body: &[u8]) -> String {
    hex::encode(Sha256::digest(body))
}

fn text_at(intent: &Value, path: &[&str]) -> String {
    let mut v = intent;
    for key in path {
        match v.get(key) {
            Some(next) => v = next,
            None => return String::new(),
        }
    }
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

impl ControlPlane {
    /// A control plane over a loaded engine and a store.
    pub fn new(config: Config, bundle: LoadedBundle, store: Arc<dyn Store>, clock: Clock) -> Self {
        let auth = Authenticator::new(&config.tokens, config.anonymous_read);
        let evaluations = EvaluationGate::new(
            config.limits.evaluation_concurrency,
            Duration::from_millis(config.limits.evaluation_wait_ms),
        );
        Self {
            evaluations,
            config,
            bundle: RwLock::new((bundle.engine, bundle.packed)),
            store,
            auth,
            metrics: Metrics::new(),
            dispatch_wake: Notify::new(),
            clock,
        }
    }

    /// The engine in use now.
    pub fn engine(&self) -> Arc<Engine> {
        match self.bundle.read() {
            Ok(guard) => Arc::clone(&guard.0),
            Err(poisoned) => Arc::clone(&poisoned.into_inner().0),
        }
    }

    /// The packed document of the bundle in use.
    pub fn packed_bundle(&self) -> Arc<Value> {
        match self.bundle.read() {
            Ok(guard) => Arc::clone(&guard.1),
            Err(poisoned) => Arc::clone(&poisoned.into_inner().1),
        }
    }

    /// Reloads the bundle from the configured directory; on error the running bundle stays.
    pub fn reload(&self) -> Result<Arc<Engine>, BundleLoadError> {
        let loaded = load_bundle(&self.config.policies, &self.config)?;
        let engine = Arc::clone(&loaded.engine);
        let swap = (loaded.engine, loaded.packed);
        match self.bundle.write() {
            Ok(mut guard) => *guard = swap,
            Err(poisoned) => *poisoned.into_inner() = swap,
        }
        tracing::info!(
            digest = %engine.info().digest,
            revision = %engine.info().revision,
            "policy bundle loaded"
        );
        Ok(engine)
    }

    /// The current time.
    pub fn now(&self) -> Timestamp {
        (self.clock)()
    }

    /// Takes an evaluation slot (see [`EvaluationGate`]); evaluations hold one while they run.
    pub fn evaluation_slot(&self) -> Result<EvaluationSlot<'_>, Overloaded> {
        self.evaluations
            .acquire(self.config.limits.evaluation_concurrency)
    }

    fn decide(
        &self,
        engine: &Engine,
        stage: EvaluateStage,
        intent: &Value,
        context: &EvaluationContext,
    ) -> Result<Decision, Problem> {
        let _slot = self.evaluation_slot().map_err(overloaded)?;
        let started = Instant::now();
        let decision = match stage {
            EvaluateStage::Admission => engine.evaluate(intent, context),
            EvaluateStage::Gates => engine.evaluate_gates(intent, context),
        };
        let stage = match stage {
            EvaluateStage::Admission => "admission",
            EvaluateStage::Gates => "gates",
        };
        self.metrics.decision(stage, &decision, started.elapsed());
        Ok(decision)
    }

    /// The context the server builds: now, the service's finished deployments, approvals.
    fn context(
        &self,
        intent: &Value,
        approvals: Vec<Approval>,
    ) -> Result<EvaluationContext, Problem> {
        let mut context = self.service_context(&text_at(intent, &["spec", "service"]))?;
        context.approvals = approvals;
        Ok(context)
    }

    /// The context the server would judge an intent of `service` in now: the time and the
    /// service's finished deployments (`GET /v1/context`, for previews that must match).
    pub fn service_context(&self, service: &str) -> Result<EvaluationContext, Problem> {
        let mut context = EvaluationContext::at(self.now());
        if !service.is_empty() {
            context.history = self.store.history(service).map_err(store_problem)?;
        }
        Ok(context)
    }

    /// `POST /v1/evaluate`: a decision, nothing stored. Without a context the server's (now,
    /// the service's history) is used.
    pub fn evaluate(
        &self,
        intent: &Value,
        context: Option<EvaluationContext>,
        stage: EvaluateStage,
    ) -> Result<Decision, Problem> {
        let context = match context {
            Some(context) => context,
            None => self.context(intent, Vec::new())?,
        };
        let engine = self.engine();
        self.decide(&engine, stage, intent, &context)
    }

    /// `POST /v1/deployments`: evaluates the intent and stores REQUESTED plus the decision's
    /// transition (and the dispatch when allowed) in one transaction.
    pub fn submit(
        &self,
        principal: &Principal,
        intent: Value,
        idempotency: Option<(String, String)>,
        deadline: Option<Instant>,
        respond: impl FnOnce(&DeploymentRecord) -> String,
    ) -> Result<Submitted, Problem> {
        if let Some((key, sha)) = &idempotency
            && let Some(seen) = self
                .store
                .idempotent(principal.actor(), key)
                .map_err(store_problem)?
        {
            return if &seen.body_sha256 == sha {
                Ok(Submitted::Replayed(seen))
            } else {
                Err(key_reused(key))
            };
        }
        let engine = self.engine();
        let context = self.context(&intent, Vec::new())?;
        let decision = self.decide(&engine, EvaluateStage::Admission, &intent, &context)?;
        let schema_errors: Vec<ErrorDetail> = decision
            .violations
            .iter()
            .filter(|v| v.policy == "schema.valid")
            .map(|v| {
                let mut e =
                    ErrorDetail::new("schema", v.message.clone()).with_help(v.remediation.clone());
                e.path = Some(v.path.clone());
                e
            })
            .collect();
        if !schema_errors.is_empty() {
            return Err(Problem::unprocessable(
                "invalid_intent",
                format!(
                    "the intent does not match the DeploymentIntent schema ({} error{}); nothing was stored. `POST /v1/evaluate` shows the same errors as a decision",
                    schema_errors.len(),
                    if schema_errors.len() == 1 { "" } else { "s" }
                ),
            )
            .with_errors(schema_errors));
        }
        let now = context.now;
        let id = format!("dep_{}", uuid::Uuid::now_v7().simple());
        let (status, requested) = DeploymentStatus::start(
            &id,
            now,
            principal.actor(),
            json!({"intent": intent, "intent_digest": decision.intent_digest}),
        );
        let (status, decided) = status
            .append(NewEvent {
                kind: match decision.outcome {
                    Outcome::Allow => EventType::Validated,
                    Outcome::NeedsApproval => EventType::ApprovalRequired,
                    Outcome::Deny => EventType::Rejected,
                },
                at: now,
                actor: "gatehouse".into(),
                data: json!({"decision": decision.to_value()}),
            })
            .map_err(Problem::internal)?;
        let record = DeploymentRecord {
            id: id.clone(),
            state: status.state,
            service: text_at(&intent, &["spec", "service"]),
            version: text_at(&intent, &["spec", "version"]),
            artifact: text_at(&intent, &["spec", "artifact"]),
            environment: text_at(&intent, &["spec", "environment"]),
            cloud: text_at(&intent, &["spec", "target", "cloud"]),
            account: text_at(&intent, &["spec", "target", "account"]),
            region: text_at(&intent, &["spec", "target", "region"]),
            requested_by: text_at(&intent, &["metadata", "requested_by"]),
            submitted_by: principal.actor().to_owned(),
            created_at: now,
            updated_at: status.last_at,
            decision: decision.to_value(),
            bundle_digest: decision.bundle.digest.clone(),
            last_seq: status.last_seq,
            last_hash: status.last_hash.clone(),
            intent,
        };
        let dispatch = if status.state == State::Validated {
            self.new_dispatch(&record)
        } else {
            None
        };
        let idempotency = idempotency.map(|(key, sha)| {
            (
                principal.actor().to_owned(),
                key,
                StoredResponse {
                    body_sha256: sha,
                    status: 201,
                    body: respond(&record),
                },
            )
        });
        let key = idempotency.as_ref().map(|(_, k, _)| k.clone());
        let has_dispatch = dispatch.is_some();
        let result = self
            .store
            .submit(Submission {
                record,
                events: vec![requested, decided],
                dispatch,
                idempotency,
                deadline,
            })
            .map_err(store_problem)?;
        match result {
            SubmitResult::Created(record) => {
                if has_dispatch {
                    self.dispatch_wake.notify_one();
                }
                Ok(Submitted::Created(record))
            }
            SubmitResult::Replayed(seen) => Ok(Submitted::Replayed(seen)),
            SubmitResult::KeyReused => Err(key_reused(key.as_deref().unwrap_or(""))),
        }
    }

    /// The outbox entry for a deployment that became VALIDATED; none with the `none` executor
    /// (an external pipeline reports `started` on its own).
    fn new_dispatch(&self, record: &DeploymentRecord) -> Option<NewDispatch> {
        if matches!(self.config.executor, crate::config::ExecutorConfig::None) {
            return None;
        }
        Some(NewDispatch {
            executor: self.config.executor.kind().to_owned(),
            payload: json!({
                "deployment_id": record.id,
                "service": record.service,
                "version": record.version,
                "environment": record.environment,
                "intent": record.intent,
                "decision_digest": record.decision.get("intent_digest"),
                "bundle_digest": record.bundle_digest,
                "callback_url": format!("{}/v1/deployments/{}/callbacks", self.config.public_url(), record.id),
            }),
            due: self.now(),
        })
    }

    fn current(&self, id: &str) -> Result<DeploymentRecord, Problem> {
        self.store
            .get(id)
            .map_err(store_problem)?
            .ok_or_else(|| Problem::not_found(format!("no deployment `{id}`")))
    }

    fn status_of(record: &DeploymentRecord) -> Result<DeploymentStatus, Problem> {
        Ok(DeploymentStatus {
            deployment_id: record.id.clone(),
            state: record.state,
            last_seq: record.last_seq,
            last_hash: record.last_hash.clone(),
            last_at: record.updated_at,
        })
    }

    /// Approvals recorded on a deployment so far.
    fn approvals(&self, id: &str) -> Result<Vec<Approval>, Problem> {
        let events = self.store.events(id).map_err(store_problem)?;
        Ok(events
            .iter()
            .filter(|e| e.kind == EventType::ApprovalRecorded)
            .filter_map(|e| e.data.get("approval"))
            .filter_map(|a| serde_json::from_value(a.clone()).ok())
            .collect())
    }

    /// `POST /v1/deployments/{id}/approvals`: records the approval and re-evaluates.
    pub fn approve(
        &self,
        principal: &Principal,
        id: &str,
        if_match: &str,
        request: ApprovalRequest,
        deadline: Option<Instant>,
    ) -> Result<DeploymentRecord, Problem> {
        if request.comment.as_deref().is_some_and(has_control) || has_control(&request.role) {
            return Err(Problem::unprocessable(
                "control_character",
                "`comment` and `role` may not contain control characters (line breaks, escape sequences); write the comment on one line",
            ));
        }
        let record = self.current(id)?;
        check_etag(&record, if_match)?;
        if record.state != State::Requested {
            return Err(Problem::conflict(
                "not_awaiting_approval",
                format!(
                    "deployment `{id}` is {}; only REQUESTED deployments take approvals",
                    record.state
                ),
            ));
        }
        if !principal.approval_roles.iter().any(|r| r == &request.role) {
            return Err(Problem::forbidden(format!(
                "`{}` may not approve as `{}`; their approval roles are: {}",
                principal.name,
                request.role,
                if principal.approval_roles.is_empty() {
                    "none".to_owned()
                } else {
                    principal.approval_roles.join(", ")
                }
            )));
        }
        let me = principal.name.to_lowercase();
        if me == record.requested_by.to_lowercase() || me == record.submitted_by.to_lowercase() {
            return Err(Problem::forbidden(format!(
                "four-eyes: `{}` requested or submitted deployment `{id}` and cannot approve it",
                principal.name
            )));
        }
        let mut approvals = self.approvals(id)?;
        if approvals
            .iter()
            .any(|a| a.by.to_lowercase() == me && a.role == request.role)
        {
            return Err(Problem::conflict(
                "already_approved",
                format!(
                    "`{}` already approved `{id}` as `{}`",
                    principal.name, request.role
                ),
            ));
        }
        let now = self.now();
        let approval = Approval {
            by: principal.name.clone(),
            role: request.role,
            at: Some(now),
            comment: request.comment,
            source: gatehouse_core::ApprovalSource::ControlPlane,
            reference: None,
        };
        approvals.push(approval.clone());
        let engine = self.engine();
        let context = self.context(&record.intent, approvals)?;
        let decision = self.decide(&engine, EvaluateStage::Admission, &record.intent, &context)?;
        let status = Self::status_of(&record)?;
        let (status, recorded) = status
            .append(NewEvent {
                kind: EventType::ApprovalRecorded,
                at: now,
                actor: principal.actor().to_owned(),
                data: json!({"approval": approval, "decision": decision.to_value()}),
            })
            .map_err(Problem::internal)?;
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
                    data: json!({"decision_after": "approval_recorded", "outcome": decision.outcome}),
                })
                .map_err(Problem::internal)?;
            events.push(event);
        }
        let dispatch = if follow == Some(EventType::Validated) {
            self.new_dispatch(&record)
        } else {
            None
        };
        let has_dispatch = dispatch.is_some();
        let updated = self
            .store
            .append(Append {
                decision: Some((decision.to_value(), decision.bundle.digest.clone())),
                dispatch,
                deadline,
                ..Append::events(id, record.last_hash.clone(), events)
            })
            .map_err(store_problem)?;
        if has_dispatch {
            self.dispatch_wake.notify_one();
        }
        Ok(updated)
    }

    /// `POST /v1/deployments/{id}/cancel`. A requester cancels only their own deployments (the
    /// ones their token submitted, or whose `metadata.requested_by` is their name); approvers
    /// and admins cancel any. Pending dispatches are closed in the same transaction, so nothing
    /// is delivered after a cancel.
    pub fn cancel(
        &self,
        principal: &Principal,
        id: &str,
        if_match: &str,
        request: CancelRequest,
        deadline: Option<Instant>,
    ) -> Result<DeploymentRecord, Problem> {
        if request.reason.as_deref().is_some_and(has_control) {
            return Err(Problem::unprocessable(
                "control_character",
                "`reason` may not contain control characters (line breaks, escape sequences); write it on one line",
            ));
        }
        let record = self.current(id)?;
        if principal.role == Some(Role::Requester) {
            let me = &principal.name;
            let own = record.submitted_by == *me
                || record.requested_by.to_lowercase() == me.to_lowercase();
            if !own {
                return Err(Problem::forbidden(format!(
                    "`{me}` may cancel only their own deployments; `{id}` was submitted by `{}` for `{}`: ask them, an approver or an admin",
                    record.submitted_by, record.requested_by
                )));
            }
        }
        check_etag(&record, if_match)?;
        let (_, event) = Self::status_of(&record)?
            .append(NewEvent {
                kind: EventType::Cancelled,
                at: self.now(),
                actor: principal.actor().to_owned(),
                data: json!({"reason": request.reason}),
            })
            .map_err(|e| {
                Problem::conflict(
                    "illegal_transition",
                    format!("cannot cancel `{id}`: {e}; only REQUESTED or VALIDATED deployments can be cancelled"),
                )
            })?;
        self.store
            .append(Append {
                close_dispatches: true,
                deadline,
                ..Append::events(id, record.last_hash, vec![event])
            })
            .map_err(store_problem)
    }

    /// `POST /v1/deployments/{id}/callbacks`, after the signature was checked: records the
    /// pipeline's report; `succeeded` passes the release gates first. Returns the status and
    /// JSON body, which a redelivery of `delivery_id` to the same deployment replays. A report
    /// that loses a race with another one for the same deployment is judged again on the new
    /// state (pipelines send no `If-Match`); a redelivery racing its first delivery gets the
    /// response the first one stored.
    pub fn callback(
        &self,
        id: &str,
        delivery_id: &str,
        body_sha: &str,
        callback: Callback,
        deadline: Option<Instant>,
    ) -> Result<(u16, String), Problem> {
        let replay = |seen: StoredResponse| {
            if seen.body_sha256 == body_sha {
                Ok((seen.status, seen.body))
            } else {
                Err(Problem::unprocessable(
                    "delivery_reused",
                    format!(
                        "delivery `{delivery_id}` was already received for `{id}` with another body; use a new delivery id for a new report"
                    ),
                ))
            }
        };
        for _ in 0..CAS_RETRIES {
            if let Some(seen) = self
                .store
                .delivery(id, delivery_id)
                .map_err(store_problem)?
            {
                return replay(seen);
            }
            let record = self.current(id)?;
            let (append, body) = self.callback_append(&record, delivery_id, body_sha, &callback)?;
            match self.store.append(Append { deadline, ..append }) {
                Ok(_) => {
                    self.metrics.callback(callback.status.as_str());
                    return Ok((200, body));
                }
                Err(StoreError::DeliveryExists { stored, .. }) => return replay(stored),
                Err(StoreError::Conflict { .. }) => continue,
                Err(e) => return Err(store_problem(e)),
            }
        }
        Err(Problem::unavailable(
            "busy",
            format!(
                "deployment `{id}` kept changing while this report was recorded; nothing was stored: send it again with the same delivery id"
            ),
        ))
    }

    /// The append a callback makes on `record`, and the response body it stores.
    fn callback_append(
        &self,
        record: &DeploymentRecord,
        delivery_id: &str,
        body_sha: &str,
        callback: &Callback,
    ) -> Result<(Append, String), Problem> {
        let id = record.id.as_str();
        let now = self.now();
        let mut data = serde_json::Map::new();
        data.insert("run_url".into(), json!(callback.run_url));
        data.insert("evidence".into(), json!(callback.evidence));
        data.insert("delivery_id".into(), json!(delivery_id));
        let (kind, gates) = match callback.status {
            CallbackStatus::Started => (EventType::Started, None),
            CallbackStatus::Failed => {
                let reason = callback
                    .reason
                    .clone()
                    .unwrap_or_else(|| "the pipeline reported failure".into());
                data.insert("reason".into(), json!(reason));
                (EventType::Failed, None)
            }
            CallbackStatus::Succeeded => {
                if record.state != State::InProgress {
                    return Err(Problem::conflict(
                        "illegal_transition",
                        format!(
                            "deployment `{id}` is {}: `succeeded` is accepted only IN_PROGRESS (report `started` first)",
                            record.state
                        ),
                    ));
                }
                let engine = self.engine();
                let mut context = self.context(&record.intent, self.approvals(id)?)?;
                context.evidence = callback.evidence.clone();
                let gates = self.decide(&engine, EvaluateStage::Gates, &record.intent, &context)?;
                if gates.allowed() {
                    (EventType::Succeeded, Some(gates))
                } else {
                    data.insert(
                        "reason".into(),
                        json!(format!(
                            "release gates blocked: {}",
                            gates
                                .violations
                                .iter()
                                .filter(|v| v.blocks())
                                .map(|v| v.policy.as_str())
                                .chain(gates.errors.iter().map(|e| e.code.as_str()))
                                .collect::<Vec<_>>()
                                .join(", ")
                        )),
                    );
                    (EventType::Failed, Some(gates))
                }
            }
        };
        if let Some(gates) = &gates {
            data.insert("gates".into(), gates.to_value());
        }
        data.insert("reported".into(), json!(callback.status.as_str()));
        let (status, event) = Self::status_of(record)?
            .append(NewEvent {
                kind,
                at: now,
                actor: "pipeline".into(),
                data: Value::Object(data),
            })
            .map_err(|e| {
                Problem::conflict(
                    "illegal_transition",
                    format!(
                        "deployment `{id}` cannot take `{}`: {e}",
                        callback.status.as_str()
                    ),
                )
            })?;
        let body = json!({
            "deployment_id": id,
            "state": status.state,
            "event": {"seq": event.seq, "type": event.kind, "hash": event.hash},
            "gates": gates.as_ref().map(Decision::to_value),
        })
        .to_string();
        let append = Append {
            delivery: Some((
                delivery_id.to_owned(),
                StoredResponse {
                    body_sha256: body_sha.to_owned(),
                    status: 200,
                    body: body.clone(),
                },
            )),
            ..Append::events(id, record.last_hash.clone(), vec![event])
        };
        Ok((append, body))
    }

    /// Records a finished dispatch: delivered → `dispatched` (IN_PROGRESS) unless the pipeline
    /// already moved the deployment on; failed for good → `failed` (FAILED) with the reason.
    pub fn finish_dispatch(
        &self,
        dispatch_id: i64,
        deployment_id: &str,
        attempts: u32,
        result: Result<Value, String>,
    ) -> Result<(), StoreError> {
        for _ in 0..CAS_RETRIES {
            let Some(record) = self.store.get(deployment_id)? else {
                return Err(StoreError::NotFound(deployment_id.to_owned()));
            };
            let (kind, data, outcome) = match &result {
                Ok(receipt) => (
                    EventType::Dispatched,
                    json!({"executor": self.config.executor.kind(), "attempts": attempts, "receipt": receipt}),
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
                    json!({"executor": self.config.executor.kind(), "attempts": attempts, "reason": format!("dispatch failed: {error}")}),
                    DispatchOutcome {
                        dispatch_id,
                        status: DispatchStatus::Failed,
                        attempts,
                        error: Some(error.clone()),
                        receipt: None,
                    },
                ),
            };
            let status = DeploymentStatus {
                deployment_id: record.id.clone(),
                state: record.state,
                last_seq: record.last_seq,
                last_hash: record.last_hash.clone(),
                last_at: record.updated_at,
            };
            // A deployment cancelled or finished meanwhile only closes the outbox entry.
            let events = match status.append(NewEvent {
                kind,
                at: self.now(),
                actor: "gatehouse".into(),
                data,
            }) {
                Ok((_, event)) => vec![event],
                Err(_) => Vec::new(),
            };
            match self.store.append(Append {
                dispatch_outcome: Some(outcome),
                ..Append::events(deployment_id, record.last_hash, events)
            }) {
                Err(StoreError::Conflict { .. }) => continue,
                other => return other.map(|_| ()),
            }
        }
        Err(StoreError::Database(format!(
            "deployment `{deployment_id}` kept changing while its dispatch was recorded"
        )))
    }

    /// Deletes idempotency and delivery records older than the configured retention
    /// (`retention.idempotency_hours`, `retention.delivery_hours`); returns how many of each.
    pub fn purge_expired(&self) -> Result<(u64, u64), StoreError> {
        let now = self.now().unix_nanos();
        let before = |hours: u64| {
            Timestamp::from_unix_nanos(now - i128::from(hours) * 3_600_000_000_000)
                .map_err(|e| StoreError::Database(format!("retention cut-off: {e}")))
        };
        let retention = &self.config.retention;
        self.store.purge(
            before(retention.idempotency_hours)?,
            before(retention.delivery_hours)?,
        )
    }

    /// The events of a deployment (404 if unknown).
    pub fn events(&self, id: &str) -> Result<Vec<Event>, Problem> {
        self.current(id)?;
        self.store.events(id).map_err(store_problem)
    }

    /// One deployment (404 if unknown).
    pub fn deployment(&self, id: &str) -> Result<DeploymentRecord, Problem> {
        self.current(id)
    }

    /// Maps a store error to a problem.
    pub fn store_problem(e: StoreError) -> Problem {
        store_problem(e)
    }
}

fn key_reused(key: &str) -> Problem {
    Problem::unprocessable(
        "idempotency_key_reused",
        format!(
            "Idempotency-Key `{key}` was already used with a different body; use a new key for a new intent"
        ),
    )
}

/// `If-Match` must name the deployment's current ETag, as a strong ETag (`"<hash>"`, or the bare
/// hash): `*` and weak ETags (`W/"..."`) would let a change go through without the caller having
/// seen the current state (412 otherwise).
fn check_etag(record: &DeploymentRecord, if_match: &str) -> Result<(), Problem> {
    let value = if_match.trim();
    if value == "*" || value.starts_with("W/") {
        return Err(Problem::new(
            axum::http::StatusCode::PRECONDITION_FAILED,
            "strong_etag_required",
            format!(
                "If-Match must be the strong ETag of deployment `{}` (its current one is \"{}\"); `*` and weak ETags (`W/...`) are not accepted",
                record.id, record.last_hash
            ),
        ));
    }
    let wanted = value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or(value);
    if wanted == record.last_hash {
        Ok(())
    } else {
        Err(Problem::new(
            axum::http::StatusCode::PRECONDITION_FAILED,
            "stale_etag",
            format!(
                "If-Match does not match deployment `{}`: its current ETag is \"{}\"; GET it again, check its state, and retry",
                record.id, record.last_hash
            ),
        ))
    }
}
