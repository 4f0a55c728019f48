//! Bounded evaluation: the attacks of issues 21 and 27 on evaluation, kept as tests. A derived
//! rule `count(numbers.range(1, 400000000))` aborted the process while the bundle loaded (the
//! builtin reserves the whole array at once), and `numbers.range(1, 1e8)` ran 4.2 s past a 0.5 s
//! time limit (no check inside a builtin). Ranges above a million numbers now fail closed with
//! `limit_exceeded` at the call, in decisions and at load. The ranges here are a few million
//! numbers, so that a build without the bound still finishes (and fails the test) quickly.
#![expect(
    clippy::unwrap_used,
    reason = "fixtures: a broken fixture should fail the test at once"
)]

use std::path::Path;
use std::time::Duration;

use gatehouse_core::{
    BundleError, BundleSource, Diagnostic, Engine, EngineOptions, EvaluationContext, Limits,
    Outcome, Stage, Timestamp,
};
use serde_json::{Value, json};

fn reference_source() -> BundleSource {
    BundleSource::from_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../policies")).unwrap()
}

fn options() -> EngineOptions {
    EngineOptions {
        limits: Limits {
            time_limit: Some(Duration::from_secs(5)),
        },
    }
}

fn with_file(path: &str, text: &str) -> BundleSource {
    let mut source = reference_source();
    source.insert(path, text);
    source
}

fn now() -> EvaluationContext {
    EvaluationContext::at(Timestamp::parse("2026-11-23T12:00:00Z").unwrap())
}

/// An allowed dev intent (the fixture the core's tests share).
fn dev_intent() -> Value {
    serde_json::from_str(include_str!("fixtures/dev-intent.json")).unwrap()
}

/// A policy whose `deny` calls `call` (an expression giving a number) on line 4.
fn policy(call: &str) -> String {
    format!(
        "package gatehouse.policies.zz_range\n\ndeny contains {{\"policy\": \"tags.required\", \"path\": \"\", \"message\": \"x\"}} if {{\n\t{call} < 0\n}}\n"
    )
}

fn decide(source: &BundleSource) -> gatehouse_core::Decision {
    let engine = Engine::load_with(source, options()).unwrap();
    engine.evaluate_stage(
        Stage::Admission,
        &dev_intent(),
        &now(),
        &gatehouse_core::Sequential,
    )
}

#[test]
fn a_huge_range_in_a_policy_denies_with_limit_exceeded_at_the_call() {
    for call in [
        "count(numbers.range(1, 5000000))",
        "count(numbers.range(5000000, 1))",
        "count(numbers.range_step(1, 50000000, 10))",
        "count(numbers.range(1, 1e8))",
        "count(numbers.range(0, 1e30))",
    ] {
        let decision = decide(&with_file("rules/zz_range.rego", &policy(call)));
        assert_eq!(
            decision.outcome,
            Outcome::Deny,
            "{call}: {}",
            decision.to_json().unwrap()
        );
        assert_eq!(
            decision.errors.len(),
            1,
            "{call}: {}",
            decision.to_json().unwrap()
        );
        let error = &decision.errors[0];
        assert_eq!(error.code, "limit_exceeded", "{call}: {error:?}");
        assert!(
            error.message.contains("the range limit is 1000000"),
            "{error:?}"
        );
        let span = error.span.as_ref().unwrap();
        assert_eq!((span.file.as_str(), span.line), ("rules/zz_range.rego", 4));
    }
}

#[test]
fn a_huge_range_in_a_derived_rule_stops_the_load_at_its_line() {
    let source = with_file(
        "rules/zz_derived.rego",
        "package governance.derived\n\nbig := count(numbers.range(1, 5000000))\n",
    );
    let err = Engine::load_with(&source, options()).unwrap_err();
    assert_eq!(err.code(), "derived_evaluation", "{err}");
    let BundleError::DerivedEvaluation { message, span } = &err else {
        panic!("{err:?}")
    };
    assert!(message.contains("the range limit is 1000000"), "{message}");
    let span = span.as_ref().unwrap();
    assert_eq!(
        (span.file.as_str(), span.line),
        ("rules/zz_derived.rego", 3)
    );
}

#[test]
fn ranges_within_the_limit_keep_their_values() {
    let cases = [
        ("numbers.range(1, 3)", json!([1, 2, 3])),
        ("numbers.range(3, 1)", json!([3, 2, 1])),
        ("numbers.range(-1, 1)", json!([-1, 0, 1])),
        ("numbers.range(2, 2)", json!([2])),
        ("numbers.range_step(1, 10, 3)", json!([1, 4, 7, 10])),
        ("numbers.range_step(10, 1, 3)", json!([10, 7, 4, 1])),
        ("numbers.range_step(1, 9, 3)", json!([1, 4, 7])),
        ("count(numbers.range(1, 1000000))", json!(1_000_000)),
    ];
    for (call, want) in cases {
        let text = format!("package governance.derived\n\nvalue := {call}\n");
        let mut probe = with_file("rules/zz_derived.rego", &text);
        // A policy reports the derived value as its message.
        probe.insert(
            "rules/zz_probe.rego",
            "package gatehouse.policies.zz_probe\n\ndeny contains {\"policy\": \"tags.required\", \"path\": \"\", \"message\": json.marshal(data.governance.derived.value)} if { true }\n",
        );
        let decision = decide(&probe);
        let got: Vec<&str> = decision
            .violations
            .iter()
            .filter(|v| v.policy == "tags.required")
            .map(|v| v.message.as_str())
            .collect();
        assert!(
            got.contains(&want.to_string().as_str()),
            "{call}: {}",
            decision.to_json().unwrap()
        );
    }
}

#[test]
fn invalid_range_arguments_stay_rego_errors() {
    for call in [
        "count(numbers.range(1.5, 3))",
        "count(numbers.range(\"a\", 3))",
        "count(numbers.range_step(1, 3, 0))",
        "count(numbers.range_step(1, 3, -1))",
    ] {
        let decision = decide(&with_file("rules/zz_range.rego", &policy(call)));
        assert_eq!(decision.outcome, Outcome::Deny, "{call}");
        assert_eq!(
            decision.errors[0].code, "rego_error",
            "{call}: {:?}",
            decision.errors
        );
    }
}

/// A policy package that runs until the time limit stops it.
fn runaway(name: &str) -> String {
    format!(
        "package gatehouse.policies.{name}\n\ndeny contains {{\"policy\": \"tags.required\", \"path\": \"\", \"message\": \"x\"}} if {{\n\tsome i in numbers.range(1, 1000000)\n\tsome j in numbers.range(1, 1000000)\n\ti * j < 0\n}}\n"
    )
}

#[test]
fn runaway_packages_cost_a_decision_one_more_limit_not_one_each() {
    // Three runaway packages: the gathering evaluation runs out of time, then the packages are
    // evaluated one by one to say which failed. The first runaway one runs out of time again;
    // the packages after it are not evaluated (each would take the whole limit once more).
    let mut source = reference_source();
    for name in ["zz_a", "zz_b", "zz_c"] {
        source.insert(format!("rules/{name}.rego"), runaway(name));
    }
    let limits = EngineOptions {
        limits: Limits {
            time_limit: Some(Duration::from_millis(500)),
        },
    };
    let engine = Engine::load_with(&source, limits).unwrap();
    let decision = engine.evaluate_stage(
        Stage::Admission,
        &dev_intent(),
        &now(),
        &gatehouse_core::Sequential,
    );
    assert_eq!(decision.outcome, Outcome::Deny);
    let messages: Vec<&str> = decision
        .errors
        .iter()
        .map(|e| {
            assert_eq!(e.code, "limit_exceeded", "{e:?}");
            e.message.as_str()
        })
        .collect();
    assert_eq!(
        messages,
        [
            "package `gatehouse.policies.zz_a`: policy evaluation exceeded the time limit",
            "package `gatehouse.policies.zz_b`: not evaluated: an earlier package used up the time limit",
            "package `gatehouse.policies.zz_c`: not evaluated: an earlier package used up the time limit",
        ],
        "{}",
        decision.to_json().unwrap()
    );
}
