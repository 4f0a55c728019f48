//! Prometheus metrics (`GET /metrics`, OpenMetrics text): decisions by outcome, evaluation
//! latency, decision cache hits and misses, violations by policy, dispatches and their failures, callbacks. The control plane
//! reports them through its [`Observer`] trait.

use std::time::Duration;

use gatehouse_control::observer::Observer;
use gatehouse_control::requests::CallbackStatus;
use gatehouse_core::{Decision, Stage, ViolationStatus};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: String,
    stage: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CacheLabels {
    result: String,
    stage: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PolicyLabels {
    policy: String,
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ExecutorLabels {
    executor: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CallbackLabels {
    status: String,
}

/// The server's metrics.
pub struct Metrics {
    registry: Registry,
    decisions: Family<OutcomeLabels, Counter>,
    evaluation_seconds: Histogram,
    decision_cache: Family<CacheLabels, Counter>,
    violations: Family<PolicyLabels, Counter>,
    dispatches: Family<ExecutorLabels, Counter>,
    dispatch_failures: Family<ExecutorLabels, Counter>,
    callbacks: Family<CallbackLabels, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Registers every metric.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("gatehouse");
        let decisions = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "decisions",
            "Decisions made, by outcome and stage (admission or gates)",
            decisions.clone(),
        );
        // 50 µs .. ~1.6 s
        let evaluation_seconds = Histogram::new(exponential_buckets(0.000_05, 2.0, 16));
        registry.register(
            "evaluation_seconds",
            "Policy evaluation latency",
            evaluation_seconds.clone(),
        );
        let decision_cache = Family::<CacheLabels, Counter>::default();
        registry.register(
            "decision_cache_lookups",
            "Decision cache lookups (limits.decision_cache_entries), by result (hit or miss) and stage",
            decision_cache.clone(),
        );
        let violations = Family::<PolicyLabels, Counter>::default();
        registry.register(
            "violations",
            "Violations reported, by policy id and status",
            violations.clone(),
        );
        let dispatches = Family::<ExecutorLabels, Counter>::default();
        registry.register(
            "dispatches",
            "Pipeline dispatches delivered, by executor",
            dispatches.clone(),
        );
        let dispatch_failures = Family::<ExecutorLabels, Counter>::default();
        registry.register(
            "dispatch_failures",
            "Failed dispatch attempts, by executor",
            dispatch_failures.clone(),
        );
        let callbacks = Family::<CallbackLabels, Counter>::default();
        registry.register(
            "callbacks",
            "Pipeline callbacks accepted, by reported status",
            callbacks.clone(),
        );
        Self {
            registry,
            decisions,
            evaluation_seconds,
            decision_cache,
            violations,
            dispatches,
            dispatch_failures,
            callbacks,
        }
    }

    /// The OpenMetrics text.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}

impl Observer for Metrics {
    /// Counts a decision cache lookup.
    fn decision_cache(&self, stage: Stage, hit: bool) {
        self.decision_cache
            .get_or_create(&CacheLabels {
                result: if hit { "hit" } else { "miss" }.to_owned(),
                stage: stage.as_str().to_owned(),
            })
            .inc();
    }

    /// Counts a decision and its violations.
    fn decision(&self, stage: Stage, decision: &Decision, took: Duration) {
        self.decisions
            .get_or_create(&OutcomeLabels {
                outcome: decision.outcome.as_str().to_owned(),
                stage: stage.as_str().to_owned(),
            })
            .inc();
        self.evaluation_seconds.observe(took.as_secs_f64());
        for v in &decision.violations {
            let status = match v.status {
                ViolationStatus::Blocking => "blocking",
                ViolationStatus::PendingApproval => "pending_approval",
                ViolationStatus::Advisory => "advisory",
                ViolationStatus::Exempted => "exempted",
                ViolationStatus::Overridden => "overridden",
            };
            self.violations
                .get_or_create(&PolicyLabels {
                    policy: v.policy.clone(),
                    status: status.to_owned(),
                })
                .inc();
        }
    }

    /// Counts a delivered dispatch.
    fn dispatched(&self, executor: &str) {
        self.dispatches
            .get_or_create(&ExecutorLabels {
                executor: executor.to_owned(),
            })
            .inc();
    }

    /// Counts a failed dispatch attempt.
    fn dispatch_failed(&self, executor: &str) {
        self.dispatch_failures
            .get_or_create(&ExecutorLabels {
                executor: executor.to_owned(),
            })
            .inc();
    }

    /// Counts an accepted callback.
    fn callback(&self, status: CallbackStatus) {
        self.callbacks
            .get_or_create(&CallbackLabels {
                status: status.as_str().to_owned(),
            })
            .inc();
    }
}
