//! The control plane: the operations a transport exposes (submit, approve, cancel, callback,
//! reads), over a store, a policy bundle and a clock. Each operation turns a request into core
//! calls (decisions, chained events) and one store transaction; its state is private, and every
//! refusal is a typed [`ControlError`].

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use gatehouse_core::{
    Approval, CacheStats, Decision, DecisionCache, Engine, EvaluationContext, EventType, Fanout,
    PackedBundle, Rayon, Sequential, Stage, Timestamp,
};
use gatehouse_store::attestations::AttestationRecord;
use gatehouse_store::decision_log::{DecisionRecord, DecisionSource};
use gatehouse_store::deployment::{DeploymentRecord, service_of};
use gatehouse_store::outbox::NewDispatch;
use gatehouse_store::{Backend, Store};
use serde_json::{Value, json};
use tokio::sync::Notify;

use crate::access::{Permission, Principal};
use crate::attestations::Attested;
use crate::bundle::{LoadedBundle, load_bundle};
use crate::clock::Clock;
use crate::config::{ControlConfig, ExecutorConfig};
use crate::decision_log::mask_decision;
use crate::deployment::DeploymentView;
use crate::error::ControlError;
use crate::evaluation::{EvaluationGate, EvaluationSlot, Overloaded};
use crate::observer::Observer;

mod approve;
mod attestation;
mod callback;
mod cancel;
mod decisions;
mod dispatch;
mod maintenance;
mod reads;
mod replicas;
mod submit;

pub use callback::{CallbackAnswer, CallbackReply, RecordedEvent, VerifiedDelivery};
pub use decisions::Evaluation;
pub use submit::{Replay, Submitted};

/// How often a write that lost a compare-and-swap to a concurrent one is tried again before the
/// caller is told the deployment is busy (pipeline callbacks and dispatch results send no
/// `If-Match`).
const CAS_RETRIES: usize = 16;

/// The control plane.
pub struct ControlPlane {
    config: ControlConfig,
    bundle: RwLock<LoadedBundle>,
    store: Arc<dyn Store>,
    clock: Clock,
    observer: Arc<dyn Observer>,
    evaluations: Arc<EvaluationGate>,
    cache: Option<Arc<DecisionCache>>,
    dispatch_wake: Notify,
    replica_id: String,
    started_at: Timestamp,
}

impl ControlPlane {
    /// A control plane over a loaded bundle and a store; `observer` hears of decisions,
    /// dispatches and callbacks (metrics).
    pub fn new(
        config: ControlConfig,
        bundle: LoadedBundle,
        store: Arc<dyn Store>,
        clock: Clock,
        observer: Arc<dyn Observer>,
    ) -> Self {
        let evaluations = Arc::new(EvaluationGate::new(
            config.evaluation.concurrency,
            Duration::from_millis(config.evaluation.wait_ms),
        ));
        let started_at = clock();
        let cache = std::num::NonZeroUsize::new(config.evaluation.decision_cache)
            .map(|entries| Arc::new(DecisionCache::new(entries)));
        Self {
            evaluations,
            cache,
            config,
            bundle: RwLock::new(bundle),
            store,
            clock,
            observer,
            dispatch_wake: Notify::new(),
            replica_id: format!("replica_{}", uuid::Uuid::now_v7().simple()),
            started_at,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &ControlConfig {
        &self.config
    }

    /// Which database the store writes to.
    pub fn backend(&self) -> Backend {
        self.store.backend()
    }

    /// The engine in use now.
    pub fn engine(&self) -> Arc<Engine> {
        match self.bundle.read() {
            Ok(guard) => Arc::clone(&guard.engine),
            Err(poisoned) => Arc::clone(&poisoned.into_inner().engine),
        }
    }

    /// The packed document of the bundle in use.
    pub fn packed_bundle(&self) -> Arc<PackedBundle> {
        match self.bundle.read() {
            Ok(guard) => Arc::clone(&guard.packed),
            Err(poisoned) => Arc::clone(&poisoned.into_inner().packed),
        }
    }

    /// The decision cache's counters (`None` with `limits.decision_cache_entries = 0`).
    pub fn cache_stats(&self) -> Option<CacheStats> {
        self.cache.as_ref().map(|cache| cache.stats())
    }

    /// The current time.
    pub fn now(&self) -> Timestamp {
        (self.clock)()
    }

    /// Takes an evaluation slot, waiting at most `limits.evaluation_wait_ms`; evaluations hold
    /// one while they run.
    pub fn evaluation_slot(&self) -> Result<EvaluationSlot<'_>, Overloaded> {
        self.evaluations.acquire()
    }

    /// Reloads the bundle from the configured directory for `principal` (an admin); on error
    /// the running bundle stays.
    pub async fn reload(&self, principal: &Principal) -> Result<Arc<Engine>, ControlError> {
        principal.require(Permission::Administer)?;
        self.reload_from_disk().await
    }

    /// Reloads the bundle from the configured directory (the operator's signal); on error the
    /// running bundle stays.
    pub async fn reload_from_disk(&self) -> Result<Arc<Engine>, ControlError> {
        let dir = self.config.settings.policies.clone();
        let limits = self.config.evaluation.clone();
        let keys = self.config.trusted_keys.clone();
        let loaded = tokio::task::spawn_blocking(move || load_bundle(&dir, &limits, &keys))
            .await
            .map_err(|e| ControlError::internal("load the bundle", e))?
            .map_err(|source| ControlError::InvalidBundle { source })?;
        let engine = Arc::clone(&loaded.engine);
        match self.bundle.write() {
            Ok(mut guard) => *guard = loaded,
            Err(poisoned) => *poisoned.into_inner() = loaded,
        }
        tracing::info!(
            digest = %engine.info().digest,
            revision = %engine.info().revision,
            "policy bundle loaded"
        );
        self.announce().await?;
        Ok(engine)
    }

    /// Evaluates on a blocking thread, holding an evaluation slot; reports the decision and
    /// gives it an id. Refused ([`ControlError::BundleMismatch`]) while this server's bundle is
    /// not the active one: no decision, preview or write is judged on rules not in force.
    async fn judge(
        &self,
        stage: Stage,
        intent: Arc<Value>,
        context: EvaluationContext,
    ) -> Result<Judged, ControlError> {
        let engine = self.engine();
        self.require_active(&engine).await?;
        let gate = Arc::clone(&self.evaluations);
        let observer = Arc::clone(&self.observer);
        let cache = self.cache.clone();
        let parallel = self.config.evaluation.split > 1;
        tokio::task::spawn_blocking(move || {
            let _slot = gate.acquire()?;
            let started = Instant::now();
            let fanout: &dyn Fanout = if parallel { &Rayon } else { &Sequential };
            let decision = match &cache {
                Some(cache) => {
                    let (decision, hit) =
                        cache.decide_reporting(&engine, stage, &intent, &context, fanout);
                    observer.decision_cache(stage, hit);
                    Decision::clone(&decision)
                }
                None => engine.evaluate_stage(stage, &intent, &context, fanout),
            };
            observer.decision(stage, &decision, started.elapsed());
            Ok(Judged {
                decision,
                id: uuid::Uuid::now_v7().to_string(),
                stage,
            })
        })
        .await
        .map_err(|e| ControlError::internal("evaluate", e))?
    }

    /// The log record of `judged` (`None` with the decision log off): made by `source` for
    /// `caller`, on `intent` (masked as configured), about `deployment_id`.
    fn log_record(
        &self,
        judged: &Judged,
        source: DecisionSource,
        caller: &str,
        deployment_id: Option<&str>,
        intent: &Value,
    ) -> Option<DecisionRecord> {
        let log = &self.config.settings.decision_log;
        if !log.enabled {
            return None;
        }
        let decision = &judged.decision;
        let (intent, masked, logged) = mask_decision(intent, decision, &log.mask);
        Some(DecisionRecord {
            decision_id: judged.id.clone(),
            // The server's clock, never the caller's `context.now` (kept as `evaluated_at`):
            // retention and time-range reads go by it.
            at: self.now(),
            evaluated_at: decision.evaluated_at,
            stage: judged.stage,
            source,
            caller: caller.to_owned(),
            deployment_id: deployment_id.map(str::to_owned),
            replica_id: self.replica_id.clone(),
            bundle_digest: decision.bundle.digest.clone(),
            bundle_revision: decision.bundle.revision.clone(),
            outcome: decision.outcome.as_str().to_owned(),
            intent,
            masked,
            decision: logged,
        })
    }

    /// Logs a decision made outside any other write (a preview, a refused submission).
    async fn log_alone(&self, record: Option<DecisionRecord>) -> Result<(), ControlError> {
        if let Some(record) = record {
            self.store.log_decision(&record).await?;
        }
        Ok(())
    }

    /// The context the server builds for `intent`: now, the service's finished deployments, the
    /// approvals given.
    async fn context(
        &self,
        intent: &Value,
        approvals: Vec<Approval>,
    ) -> Result<EvaluationContext, ControlError> {
        let mut context = self.service_context(&service_of(intent)).await?;
        context.approvals = approvals;
        Ok(context)
    }

    /// The context the server would judge an intent of `service` in now: the time and the
    /// service's finished deployments (for previews that must match the server's decision).
    pub async fn service_context(&self, service: &str) -> Result<EvaluationContext, ControlError> {
        let mut context = EvaluationContext::at(self.now());
        if !service.is_empty() {
            context.history = self.store.history(service).await?;
        }
        Ok(context)
    }

    /// The deployment `id`, or [`ControlError::DeploymentNotFound`].
    async fn current(&self, id: &str) -> Result<DeploymentRecord, ControlError> {
        self.store
            .get(id)
            .await?
            .ok_or_else(|| ControlError::DeploymentNotFound {
                deployment_id: id.to_owned(),
            })
    }

    /// `record` with its latest dispatch.
    async fn view(&self, record: DeploymentRecord) -> Result<DeploymentView, ControlError> {
        let dispatch = self.store.dispatch_of(&record.head.id).await?;
        Ok(DeploymentView::new(record, dispatch))
    }

    /// The attestation of `judged`, made on `record` (`None` without `[attestations]`).
    fn attest(&self, judged: &Judged, record: &DeploymentRecord) -> Option<AttestationRecord> {
        let config = self.config.attestations.as_ref()?;
        let policy_uri = format!("{}/v1/bundle", self.config.public_url.trim_end_matches('/'));
        config.issue(
            Attested {
                decision: &judged.decision,
                decision_id: &judged.id,
                stage: judged.stage,
                deployment_id: &record.head.id,
                artifact: &record.head.artifact,
                environment: &record.head.environment,
            },
            &policy_uri,
            self.now(),
        )
    }

    /// The outbox entry for a deployment that became VALIDATED, carrying the attestation of
    /// the decision that allowed it (`attestation`, null without one); none with the `none`
    /// executor (an external pipeline reports `started` on its own).
    fn new_dispatch(
        &self,
        record: &DeploymentRecord,
        attestation: Option<&AttestationRecord>,
    ) -> Option<NewDispatch> {
        if matches!(self.config.settings.executor, ExecutorConfig::None) {
            return None;
        }
        Some(NewDispatch {
            executor: self.config.settings.executor.kind().to_owned(),
            payload: json!({
                "deployment_id": record.head.id,
                "service": record.head.service,
                "version": record.head.version,
                "environment": record.head.environment,
                "intent": record.intent,
                "decision_digest": record.decision.intent_digest,
                "bundle_digest": record.bundle_digest,
                "callback_url": format!("{}/v1/deployments/{}/callbacks", self.config.public_url.trim_end_matches('/'), record.head.id),
                "attestation": attestation.and_then(AttestationRecord::envelope_value),
            }),
            due: self.now(),
        })
    }

    /// Approvals recorded on a deployment so far.
    async fn approvals(&self, id: &str) -> Result<Vec<Approval>, ControlError> {
        let events = self.store.events(id).await?;
        Ok(events
            .iter()
            .filter(|e| e.kind == EventType::ApprovalRecorded)
            .filter_map(|e| e.data.get("approval"))
            .filter_map(|a| serde_json::from_value(a.clone()).ok())
            .collect())
    }
}

/// A decision and its id.
struct Judged {
    decision: Decision,
    id: String,
    stage: Stage,
}

/// `value` as a field of an event's data; a value that cannot be written (a bug) is an internal
/// error naming `what`, never a null.
fn event_value<T: serde::Serialize + ?Sized>(
    what: &'static str,
    value: &T,
) -> Result<Value, ControlError> {
    serde_json::to_value(value).map_err(|e| ControlError::internal(what, e))
}

/// An event's data: the object of `fields`.
fn event_data<const N: usize>(fields: [(&str, Value); N]) -> Value {
    Value::Object(
        fields
            .into_iter()
            .map(|(key, value)| (key.to_owned(), value))
            .collect(),
    )
}

/// `value` out of its `Arc` (a clone only if someone else still holds it).
fn unshare(value: Arc<Value>) -> Value {
    Arc::try_unwrap(value).unwrap_or_else(|shared| (*shared).clone())
}
