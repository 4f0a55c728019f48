//! Any bytes as an intent (JSON or YAML): parsing, schema validation and evaluation never panic,
//! anything the schema rejects is denied, a decision with errors or blocking violations is never
//! `allow`, and evaluating the same text twice gives the same bytes.
#![no_main]

use std::sync::LazyLock;

use gatehouse_core::{
    BundleSource, Engine, EngineOptions, EvaluationContext, Limits, Outcome, Timestamp,
    ViolationStatus,
};
use libfuzzer_sys::fuzz_target;

static ENGINE: LazyLock<Engine> = LazyLock::new(|| {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../policies");
    let options = EngineOptions {
        limits: Limits {
            time_limit: Some(std::time::Duration::from_secs(2)),
        },
    };
    Engine::load_with(&BundleSource::from_dir(&dir).expect("bundle"), options)
        .expect("bundle loads")
});

static CONTEXT: LazyLock<EvaluationContext> = LazyLock::new(|| {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../policies");
    let mut context =
        EvaluationContext::at(Timestamp::parse("2026-11-23T12:00:00Z").expect("time"));
    let history =
        std::fs::read_to_string(dir.join("examples/history/deployments.json")).expect("history");
    context.history = serde_json::from_str(&history).expect("history parses");
    context
});

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(decision) = ENGINE.evaluate_text(text, &CONTEXT) else {
        return;
    };
    let invalid = decision
        .violations
        .iter()
        .any(|v| v.policy == gatehouse_core::catalog::SCHEMA_POLICY);
    let blocking = decision
        .violations
        .iter()
        .any(|v| v.status == ViolationStatus::Blocking);
    if invalid || blocking || !decision.errors.is_empty() {
        assert_eq!(decision.outcome, Outcome::Deny, "{decision:?}");
    }
    let again = ENGINE
        .evaluate_text(text, &CONTEXT)
        .expect("parsed once, parses again");
    assert_eq!(
        again.to_json().expect("a decision is JSON"),
        decision.to_json().expect("a decision is JSON"),
        "not deterministic"
    );
});
