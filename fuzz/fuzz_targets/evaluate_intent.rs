//! Any bytes as an intent (JSON or YAML): parsing, schema validation and evaluation never panic,
//! and anything that is not a valid intent is never allowed.
#![no_main]

use std::sync::LazyLock;

use gatehouse_core::{BundleSource, Engine, EvaluationContext, Outcome, Timestamp};
use libfuzzer_sys::fuzz_target;

static ENGINE: LazyLock<Engine> = LazyLock::new(|| {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../policies");
    Engine::load(&BundleSource::from_dir(&dir).expect("bundle")).expect("bundle loads")
});

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let context = EvaluationContext::at(Timestamp::parse("2026-11-23T12:00:00Z").expect("time"));
    if let Ok(decision) = ENGINE.evaluate_text(text, &context) {
        let invalid = decision.violations.iter().any(|v| v.policy == "schema.valid");
        assert!(!(invalid && decision.outcome == Outcome::Allow));
        assert_eq!(ENGINE.evaluate_text(text, &context).map(|d| d.to_json()).ok(), Some(decision.to_json()));
    }
});
