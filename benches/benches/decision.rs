//! Decisions end to end on the reference bundle (intent JSON text in, decision JSON out), and how
//! they scale with the size of the organisation's landing zone.
#![expect(
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "a benchmark with a broken fixture should stop at once"
)]

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use gatehouse_core::{BundleSource, Engine, EvaluationContext, Outcome, Timestamp};
use serde_json::{Value, json};

fn reference_bundle() -> BundleSource {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../policies");
    BundleSource::from_dir(&dir).expect("policies/ is readable")
}

fn example(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../policies/examples")
        .join(name);
    let text = std::fs::read_to_string(path).expect("example exists");
    let value = gatehouse_core::parse_intent(&text).expect("example parses");
    serde_json::to_string(&value).expect("serialises")
}

fn context() -> EvaluationContext {
    let history =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../policies/examples/history/deployments.json");
    let mut context =
        EvaluationContext::at(Timestamp::parse("2026-11-23T12:00:00Z").expect("time"));
    context.history = serde_json::from_str(&std::fs::read_to_string(history).expect("history"))
        .expect("history parses");
    context
}

/// The reference org with `accounts` workload accounts added under `accounts / 100` OUs, nested
/// four levels deep (root / region OU / business-unit OU / team OU), keeping the reference
/// accounts where they are.
fn org_with(accounts: usize) -> String {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../policies/data/org.json");
    let mut org: Value =
        serde_json::from_str(&std::fs::read_to_string(dir).expect("org.json")).expect("JSON");
    let teams = (accounts / 100).max(1);
    let units = org["governance"]["org"]["units"]
        .as_object_mut()
        .expect("units");
    for region in 0..4 {
        units.insert(
            format!("ou-r{region}"),
            json!({"name": format!("Region {region}"), "parent": "ou-workloads"}),
        );
        for bu in 0..5 {
            units.insert(
                format!("ou-r{region}-bu{bu}"),
                json!({"name": "BU", "parent": format!("ou-r{region}"),
                       "guardrails": {"denied_regions": ["me-*"]}}),
            );
        }
    }
    for team in 0..teams {
        let parent = format!("ou-r{}-bu{}", team % 4, (team / 4) % 5);
        units.insert(
            format!("ou-team-{team}"),
            json!({"name": "Team", "parent": parent,
                   "guardrails": {"allowed_environments": ["dev", "staging", "prod"]}}),
        );
    }
    let list = org["governance"]["org"]["accounts"]
        .as_object_mut()
        .expect("accounts");
    for i in 0..accounts {
        list.insert(
            format!("{:012}", 700_000_000_000u64 + i as u64),
            json!({"name": format!("team-{i}"), "cloud": "aws", "kind": "workload",
                   "parent": format!("ou-team-{}", i % teams)}),
        );
    }
    serde_json::to_string(&org).expect("serialises")
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
    ] {
        let intent = example(file);
        group.bench_function(name, |b| {
            b.iter(|| {
                let decision = engine
                    .evaluate_text(black_box(&intent), black_box(&context))
                    .expect("intent parses");
                assert_eq!(decision.outcome, outcome);
                black_box(decision.to_json())
            });
        });
    }
    group.finish();
}

fn org_scaling(c: &mut Criterion) {
    let context = context();
    // A deployment into one of the synthetic accounts, four OU levels below the root.
    let mut intent: Value =
        serde_json::from_str(&example("web-frontend-dev-allowed.yaml")).expect("JSON");
    let mut group = c.benchmark_group("org_accounts");
    for accounts in [0usize, 1_000, 10_000] {
        let mut source = reference_bundle();
        if accounts > 0 {
            source.insert("data/org.json", org_with(accounts));
            intent["spec"]["target"]["account"] =
                json!(format!("{:012}", 700_000_000_000u64 + accounts as u64 - 1));
        }
        let engine = Engine::load(&source).expect("bundle loads");
        let text = serde_json::to_string(&intent).expect("serialises");
        let label = if accounts == 0 {
            "reference_9".to_owned()
        } else {
            accounts.to_string()
        };
        group.bench_function(label, |b| {
            b.iter(|| {
                let decision = engine
                    .evaluate_text(black_box(&text), black_box(&context))
                    .expect("intent parses");
                assert_eq!(decision.outcome, Outcome::Allow, "{}", decision.to_json());
                black_box(decision.to_json())
            });
        });
    }
    group.finish();
}

criterion_group!(benches, decision, org_scaling);
criterion_main!(benches);
