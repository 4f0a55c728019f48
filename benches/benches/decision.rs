//! One decision end to end on the reference bundle: intent JSON text in, decision JSON out.
#![expect(
    clippy::expect_used,
    reason = "a benchmark with a broken fixture should stop at once"
)]

use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use gatehouse_core::{BundleSource, Engine, EvaluationContext, Outcome, Timestamp};
use std::hint::black_box;

fn reference_bundle() -> BundleSource {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../policies");
    BundleSource::from_dir(&dir).expect("policies/ is readable")
}

fn typical_intent() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../policies/examples/payments-api-prod-allowed.yaml");
    let text = std::fs::read_to_string(path).expect("example exists");
    let value = gatehouse_core::parse_intent(&text).expect("example parses");
    serde_json::to_string(&value).expect("serialises")
}

fn decision(c: &mut Criterion) {
    let source = reference_bundle();
    let intent = typical_intent();
    let context = EvaluationContext::at(Timestamp::parse("2026-11-23T12:00:00Z").expect("time"));
    let mut group = c.benchmark_group("decision");
    {
        let engine = Engine::load(&source).expect("reference bundle loads");
        group.bench_function("typical_prod_intent", |b| {
            b.iter(|| {
                let decision = engine
                    .evaluate_text(black_box(&intent), black_box(&context))
                    .expect("intent parses");
                assert_eq!(decision.outcome, Outcome::Allow);
                black_box(decision.to_json())
            });
        });
    }
    group.finish();
}

criterion_group!(benches, decision);
criterion_main!(benches);
