//! Decisions end to end (intent JSON text in, decision JSON out): on the reference bundle, and
//! how they scale with the number of policies, the size of the organisation and the number of
//! resources in the intent.
#![expect(
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "a benchmark with a broken fixture should stop at once"
)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use gatehouse_benches::{
    context, example, intent_with_resources, org_with, reference_accounts, reference_bundle, sizes,
    synthetic_account, synthetic_bundle,
};
use gatehouse_core::{Engine, EngineOptions, EvaluationContext, Limits, Outcome};
use serde_json::{Value, json};

/// Times `engine.evaluate_text(intent) -> to_json()`, checking the outcome in the timed closure.
fn bench_decision(
    b: &mut criterion::Bencher<'_>,
    engine: &Engine,
    intent: &str,
    context: &EvaluationContext,
    outcome: Outcome,
) {
    b.iter(|| {
        let decision = engine
            .evaluate_text(black_box(intent), black_box(context))
            .expect("intent parses");
        assert_eq!(decision.outcome, outcome, "{decision:?}");
        black_box(decision.to_json().expect("a decision is JSON"))
    });
}

fn decision(c: &mut Criterion) {
    let engine = Engine::load(&reference_bundle()).expect("reference bundle loads");
    let context = context();
    let mut group = c.benchmark_group("decision");
    for (name, file, outcome) in [
        (
            "prod_allowed",
            "payments-api-prod-allowed.yaml",
            Outcome::Allow,
        ),
        (
            "dev_allowed",
            "web-frontend-dev-allowed.yaml",
            Outcome::Allow,
        ),
        (
            "prod_denied",
            "payments-api-public-database-denied.yaml",
            Outcome::Deny,
        ),
        (
            "schema_invalid",
            "payments-api-schema-typo-denied.yaml",
            Outcome::Deny,
        ),
    ] {
        let intent = example(file);
        group.bench_function(name, |b| {
            bench_decision(b, &engine, &intent, &context, outcome);
        });
    }
    // As the CLI, HTTP and Python front ends load it: with a wall-clock limit, which makes
    // regorus read the clock as it evaluates.
    let options = EngineOptions {
        limits: Limits {
            time_limit: Some(Duration::from_secs(2)),
        },
    };
    let limited = Engine::load_with(&reference_bundle(), options).expect("reference bundle loads");
    let intent = example("payments-api-prod-allowed.yaml");
    group.bench_function("prod_allowed_time_limit", |b| {
        bench_decision(b, &limited, &intent, &context, Outcome::Allow);
    });
    group.finish();
}

/// Synthetic bundles of 20, 100 and 1000 policies (target: 1000 costs at most 60x 20).
fn policy_scaling(c: &mut Criterion) {
    let context = context();
    let intent = intent_with_resources(10);
    let mut group = c.benchmark_group("policies");
    for n in sizes([20, 100, 1000], 2) {
        let engine = Engine::load(&synthetic_bundle(n)).expect("synthetic bundle loads");
        if n >= 1000 {
            group.sample_size(10);
            group.measurement_time(Duration::from_secs(10));
        }
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            bench_decision(b, &engine, &intent, &context, Outcome::Allow);
        });
    }
    group.finish();
}

/// Organisations of 10, 1,000 and 10,000 accounts (target: 10,000 costs at most 2x 10); the
/// intent targets a synthetic account four OU levels below the root.
fn org_scaling(c: &mut Criterion) {
    let context = context();
    let mut intent: Value =
        serde_json::from_str(&example("web-frontend-dev-allowed.yaml")).expect("JSON");
    let reference = reference_accounts();
    let mut group = c.benchmark_group("org_accounts");
    for total in sizes([10, 1_000, 10_000], 2) {
        let synthetic = total.saturating_sub(reference).max(1);
        let mut source = reference_bundle();
        source.insert("data/org.json", org_with(synthetic));
        intent["spec"]["target"]["account"] = json!(synthetic_account(synthetic - 1));
        let engine = Engine::load(&source).expect("bundle loads");
        let text = serde_json::to_string(&intent).expect("serialises");
        group.bench_with_input(
            BenchmarkId::from_parameter(reference + synthetic),
            &total,
            |b, _| bench_decision(b, &engine, &text, &context, Outcome::Allow),
        );
    }
    group.finish();
}

/// Intents with 1, 10 and 100 resources on the reference bundle (dev).
fn resource_scaling(c: &mut Criterion) {
    let engine = Engine::load(&reference_bundle()).expect("reference bundle loads");
    let context = context();
    let mut group = c.benchmark_group("resources");
    for n in [1usize, 10, 100] {
        let intent = intent_with_resources(n);
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            bench_decision(b, &engine, &intent, &context, Outcome::Allow);
        });
    }
    group.finish();
}

criterion_group!(
    benches,
    decision,
    policy_scaling,
    org_scaling,
    resource_scaling
);
criterion_main!(benches);
