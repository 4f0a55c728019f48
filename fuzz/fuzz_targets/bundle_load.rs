//! Any Rego module and any data file in a bundle (next to the reference `lib.rego`): loading
//! either succeeds or fails with a clean, coded error (never a panic), and a bundle that loads
//! evaluates an intent without panicking, denying whenever a policy failed.
//!
//! Input layout: NUL-separated parts, `rego \0 data.json \0 intent \0 more.rego ...`; missing
//! parts are left out of the bundle (the intent defaults to `{}`).
#![no_main]

use gatehouse_core::{
    BundleSource, Diagnostic, Engine, EngineOptions, EvaluationContext, Limits, Outcome, Timestamp,
};
use libfuzzer_sys::fuzz_target;

const LIB: &str = include_str!("../../policies/rules/lib.rego");
const MANIFEST: &str = r#"{"name": "fuzz", "revision": "1"}"#;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut parts = text.split('\0');
    let mut source = BundleSource::default();
    source.insert("bundle.json", MANIFEST);
    source.insert("rules/lib.rego", LIB);
    source.insert("rules/fuzz.rego", parts.next().unwrap_or_default());
    if let Some(json) = parts.next().filter(|d| !d.is_empty()) {
        source.insert("data/fuzz.json", json);
    }
    let intent = parts.next().filter(|i| !i.is_empty()).unwrap_or("{}");
    for (i, module) in parts.enumerate() {
        source.insert(format!("rules/fuzz_{i}.rego"), module);
    }
    let options = EngineOptions {
        limits: Limits {
            time_limit: Some(std::time::Duration::from_secs(1)),
        },
    };
    let engine = match Engine::load_with(&source, options) {
        Ok(engine) => engine,
        Err(e) => {
            // A clean error: a code, a message and structured details.
            assert!(!e.code().is_empty());
            let details = e.details();
            assert!(!details.is_empty());
            assert!(details.iter().all(|d| !d.message.is_empty()));
            return;
        }
    };
    let context = EvaluationContext::at(Timestamp::parse("2026-11-23T12:00:00Z").expect("time"));
    let Ok(decision) = engine.evaluate_text(intent, &context) else {
        return;
    };
    if !decision.errors.is_empty() {
        assert_eq!(decision.outcome, Outcome::Deny, "{decision:?}");
    }
    let _ = engine.evaluate_stage(
        gatehouse_core::Stage::Gates,
        &serde_json::json!({}),
        &context,
        &gatehouse_core::Sequential,
    );
});
