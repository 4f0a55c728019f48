//! A bounded cache of decisions, for front ends that see the same evaluation again (a re-run of
//! a pipeline, an approval that re-evaluates the intent it approves, a preview refreshed without
//! a change).
//!
//! A decision is a pure function of the bundle, the stage, the intent and the context (the core
//! reads no clock and no environment: `evaluated_at` is the context's `now`), so the key is
//! `(bundle digest, stage, intent digest, context digest)` and a hit returns the very bytes an
//! evaluation would. The digests are SHA-256 over canonical JSON, as the decision's
//! `intent_digest`; computing them costs a few microseconds, a small part of an evaluation.
//! Decisions that hit the wall-clock limit (`limit_exceeded`) are not kept: on a less busy
//! machine the same evaluation may finish.
//!
//! The cache is owned by the front end (one per process, or per engine), takes `&self`, and is
//! `Send + Sync`: one mutex around a least-recently-used map, held only to look up or insert (a
//! few hundred nanoseconds), never while evaluating. Two threads that miss on the same key both
//! evaluate; the second insert replaces the first with identical bytes.
//!
//! The map grows as decisions arrive, up to the capacity: nothing is reserved up front, so a
//! large capacity costs memory only once that many decisions are held (a map sized for
//! `capacity` at the start took 2 GB for a capacity of 10⁹ and aborted the process for 2³²).
//! Front ends check the setting against [`DecisionCache::MAX_CAPACITY`].

use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use serde::Serialize;
use serde_json::Value;

use crate::canonical::digest_of_value;
use crate::context::EvaluationContext;
use crate::decision::Decision;
use crate::engine::Engine;
use crate::error::ContextError;
use crate::fanout::Fanout;
use crate::intent::intent_digest;
use crate::stage::Stage;

/// What identifies a decision.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CacheKey {
    bundle: String,
    stage: Stage,
    intent: String,
    context: String,
}

impl CacheKey {
    /// The key of evaluating `intent` in `context` at `stage` with `engine`'s bundle.
    /// Fails when the context has no JSON form (see [`EvaluationContext::to_input_value`]).
    pub fn new(
        engine: &Engine,
        stage: Stage,
        intent: &Value,
        context: &EvaluationContext,
    ) -> Result<Self, ContextError> {
        Ok(Self {
            bundle: engine.info().digest.clone(),
            stage,
            intent: intent_digest(intent),
            context: context_digest(context)?,
        })
    }

    /// The intent's digest (`sha256:<hex>`, the decision's `intent_digest`).
    pub fn intent_digest(&self) -> &str {
        &self.intent
    }
}

/// `sha256:<hex>` over the canonical JSON of the context as policies see it.
pub fn context_digest(context: &EvaluationContext) -> Result<String, ContextError> {
    Ok(digest_of_value(&context.to_input_value()?))
}

/// Counters of a [`DecisionCache`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct CacheStats {
    /// Evaluations served from the cache.
    pub hits: u64,
    /// Evaluations that had to run.
    pub misses: u64,
    /// Decisions dropped to make room.
    pub evictions: u64,
    /// Decisions held now.
    pub entries: usize,
    /// The most it holds.
    pub capacity: usize,
}

/// A bounded, least-recently-used cache of decisions (see the module documentation).
#[derive(Debug)]
pub struct DecisionCache {
    entries: Mutex<lru::LruCache<CacheKey, Arc<Decision>>>,
    capacity: NonZeroUsize,
    hits: AtomicU64,
    misses: AtomicU64,
    evictions: AtomicU64,
}

impl DecisionCache {
    /// The largest capacity front ends accept as a setting (2²⁰ decisions: a few GB of decisions
    /// at most, far more than a service sees again).
    pub const MAX_CAPACITY: usize = 1 << 20;

    /// A cache holding at most `capacity` decisions. Memory is taken as decisions are kept, not
    /// for the capacity.
    pub fn new(capacity: NonZeroUsize) -> Self {
        Self {
            entries: Mutex::new(lru::LruCache::sparse(capacity)),
            capacity,
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            evictions: AtomicU64::new(0),
        }
    }

    /// `stage` evaluated with its parts run by `fanout` ([`Engine::evaluate_stage`]) on a miss.
    pub fn decide(
        &self,
        engine: &Engine,
        stage: Stage,
        intent: &Value,
        context: &EvaluationContext,
        fanout: &dyn Fanout,
    ) -> Arc<Decision> {
        self.decide_reporting(engine, stage, intent, context, fanout)
            .0
    }

    /// [`Self::decide`], also saying whether the decision came from the cache (`true`) or was
    /// evaluated (`false`), for a front end's metrics.
    pub fn decide_reporting(
        &self,
        engine: &Engine,
        stage: Stage,
        intent: &Value,
        context: &EvaluationContext,
        fanout: &dyn Fanout,
    ) -> (Arc<Decision>, bool) {
        let Ok(key) = CacheKey::new(engine, stage, intent, context) else {
            // A context without a JSON form has no key to share: the engine decides alone (and
            // denies, saying why).
            return (
                Arc::new(engine.evaluate_stage(stage, intent, context, fanout)),
                false,
            );
        };
        if let Some(decision) = self.get(&key) {
            return (decision, true);
        }
        let decision = Arc::new(engine.decide_with_intent_digest(
            stage,
            intent,
            context,
            fanout,
            key.intent_digest(),
        ));
        self.insert(key, Arc::clone(&decision));
        (decision, false)
    }

    /// The decision under `key`, counting a hit or a miss.
    pub fn get(&self, key: &CacheKey) -> Option<Arc<Decision>> {
        let found = self
            .entries
            .lock()
            .ok()
            .and_then(|mut entries| entries.get(key).cloned());
        let counter = if found.is_some() {
            &self.hits
        } else {
            &self.misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
        found
    }

    /// Keeps `decision` under `key`, unless it hit the wall-clock limit.
    pub fn insert(&self, key: CacheKey, decision: Arc<Decision>) {
        if decision.errors.iter().any(|e| e.code == "limit_exceeded") {
            return;
        }
        if let Ok(mut entries) = self.entries.lock()
            && let Some((evicted, _)) = entries.push(key.clone(), decision)
            && evicted != key
        {
            self.evictions.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The counters and the number of decisions held.
    pub fn stats(&self) -> CacheStats {
        CacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            evictions: self.evictions.load(Ordering::Relaxed),
            entries: self.entries.lock().map_or(0, |entries| entries.len()),
            capacity: self.capacity.get(),
        }
    }

    /// Drops every decision (the counters stay).
    pub fn clear(&self) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bundle::BundleSource;
    use crate::fanout::Sequential;
    use crate::timestamp::Timestamp;

    fn engine(policy: &str) -> Engine {
        let mut source = BundleSource::default();
        source.insert("bundle.json", r#"{"name": "t", "revision": "1"}"#);
        source.insert(
            "data/catalog.json",
            r#"{"governance": {"catalog": {"t.p": {"title": "T", "severity": "low",
                "enforcement": "hard-mandatory", "remediation": "None."}}}}"#,
        );
        source.insert("p.rego", policy);
        Engine::load(&source).unwrap()
    }

    const POLICY: &str = "package gatehouse.policies.p\n\ndeny contains {\"policy\": \"t.p\", \"message\": \"m\"} if { input.intent.x == 1 }\n";

    #[test]
    fn a_hit_returns_the_same_bytes_and_is_counted() {
        let engine = engine(POLICY);
        let cache = DecisionCache::new(NonZeroUsize::MIN.saturating_add(1));
        let now = EvaluationContext::at(Timestamp::parse("2026-11-23T12:00:00Z").unwrap());
        let later = EvaluationContext::at(Timestamp::parse("2026-11-23T12:00:01Z").unwrap());
        let intent = serde_json::json!({"x": 1});
        let first = cache.decide(&engine, Stage::Admission, &intent, &now, &Sequential);
        assert_eq!(
            first.to_json().unwrap(),
            engine.evaluate(&intent, &now).to_json().unwrap()
        );
        let again = cache.decide(&engine, Stage::Admission, &intent, &now, &Sequential);
        assert!(Arc::ptr_eq(&first, &again));
        // Another context, another stage, another intent: misses.
        cache.decide(&engine, Stage::Admission, &intent, &later, &Sequential);
        cache.decide(&engine, Stage::Gates, &intent, &now, &Sequential);
        cache.decide(
            &engine,
            Stage::Admission,
            &serde_json::json!({"x": 2}),
            &now,
            &Sequential,
        );
        let stats = cache.stats();
        assert_eq!(
            (stats.hits, stats.misses, stats.entries, stats.capacity),
            (1, 4, 2, 2)
        );
        assert_eq!(stats.evictions, 2);
    }

    /// The attack: a decision cached for one context served to a caller whose context differs
    /// only in its approvals (the same `now`). The approvals are part of the key: a miss, and the
    /// bytes of a fresh evaluation in that context.
    #[test]
    fn a_context_with_other_approvals_is_another_key() {
        let engine = engine(POLICY);
        let cache = DecisionCache::new(NonZeroUsize::MIN.saturating_add(1));
        let at = "2026-11-23T12:00:00Z";
        let plain = EvaluationContext::from_json_value(serde_json::json!({"now": at})).unwrap();
        let approved = EvaluationContext::from_json_value(serde_json::json!({
            "now": at,
            "approvals": [{"by": "bob@example.com", "role": "release-approver"}],
        }))
        .unwrap();
        let intent = serde_json::json!({"x": 1});
        cache.decide(&engine, Stage::Admission, &intent, &plain, &Sequential);
        let served = cache.decide(&engine, Stage::Admission, &intent, &approved, &Sequential);
        assert_eq!(
            served.to_json().unwrap(),
            engine.evaluate(&intent, &approved).to_json().unwrap()
        );
        let stats = cache.stats();
        assert_eq!((stats.hits, stats.misses), (0, 2));
    }

    /// A capacity far beyond memory is taken on use: the cache is built and used without
    /// reserving room for it (sized up front, this aborted: capacity overflow).
    #[test]
    fn a_huge_capacity_takes_memory_only_for_what_it_holds() {
        let engine = engine(POLICY);
        let cache = DecisionCache::new(NonZeroUsize::MAX);
        let now = EvaluationContext::at(Timestamp::parse("2026-11-23T12:00:00Z").unwrap());
        for x in 0..3 {
            let intent = serde_json::json!({"x": x});
            cache.decide(&engine, Stage::Admission, &intent, &now, &Sequential);
        }
        let stats = cache.stats();
        assert_eq!(
            (stats.entries, stats.evictions, stats.capacity),
            (3, 0, usize::MAX)
        );
    }

    #[test]
    fn decisions_that_hit_the_time_limit_are_not_kept() {
        let engine = engine(POLICY);
        let cache = DecisionCache::new(NonZeroUsize::MIN);
        let now = EvaluationContext::at(Timestamp::parse("2026-11-23T12:00:00Z").unwrap());
        let intent = serde_json::json!({"x": 1});
        let mut decision = engine.evaluate(&intent, &now);
        decision
            .errors
            .push(crate::ErrorDetail::new("limit_exceeded", "slow"));
        let key = CacheKey::new(&engine, Stage::Admission, &intent, &now).unwrap();
        cache.insert(key.clone(), Arc::new(decision));
        assert!(cache.get(&key).is_none());
    }
}
