//! Evaluates one intent COUNT times on a bundle, for profilers (`perf record`, `valgrind
//! --tool=callgrind`): the instruction count of COUNT decisions minus that of 1 decision, divided
//! by COUNT - 1, is the cost of one decision, repeatable on a busy machine.
//!
//! Usage: cargo run --release -p gatehouse-benches --example decisions -- BUNDLE COUNT [INTENT]
//! [PARTS] where BUNDLE is `reference`, `synthetic-N` or a bundle directory, INTENT an example file
//! name (`policies/examples/`, default `payments-api-prod-allowed.yaml`; `-` for the default) and
//! PARTS the engines the packages are spread over (`Engine::load_split`, evaluated one after the
//! other on this thread); the context is the benchmarks' (`gatehouse_benches::context`).
#![expect(
    clippy::expect_used,
    reason = "a profiling harness with bad arguments should stop at once"
)]

use std::hint::black_box;

use gatehouse_benches::{
    context, example, intent_with_resources, reference_bundle, synthetic_bundle,
};
use gatehouse_core::{BundleSource, Engine};

fn main() {
    let mut args = std::env::args().skip(1);
    let usage = "usage: decisions reference|synthetic-N|DIR COUNT [INTENT]";
    let bundle = args.next().expect(usage);
    let count: usize = args.next().and_then(|a| a.parse().ok()).expect(usage);
    let (source, default_intent) = match bundle.strip_prefix("synthetic-") {
        Some(n) => (
            synthetic_bundle(n.parse().expect(usage)),
            intent_with_resources(10),
        ),
        None if bundle == "reference" => (
            reference_bundle(),
            example("payments-api-prod-allowed.yaml"),
        ),
        None => (
            BundleSource::from_dir(std::path::Path::new(&bundle)).expect("bundle directory"),
            example("payments-api-prod-allowed.yaml"),
        ),
    };
    let intent = args
        .next()
        .filter(|name| name != "-")
        .map_or(default_intent, |name| example(&name));
    let parts: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(1);
    let engine = Engine::load_split(&source, gatehouse_core::EngineOptions::default(), parts)
        .expect("bundle loads");
    let context = context();
    for _ in 0..count {
        let decision = engine
            .evaluate_text(black_box(&intent), black_box(&context))
            .expect("intent parses");
        black_box(decision.to_json().expect("a decision is JSON"));
    }
}
