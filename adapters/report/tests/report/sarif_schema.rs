//! Every SARIF log the renderer produces validates against the official SARIF 2.1.0 JSON Schema
//! (`tests/data/sarif-schema-2.1.0.json`; see `tests/data/README.md` for where it comes from).

use std::sync::LazyLock;

use gatehouse_core::{Decision, ErrorDetail};
use gatehouse_report::{CheckedFile, sarif};
use serde_json::Value;

use crate::support::{all_examples, check_text, example_text, report};

fn validator() -> &'static jsonschema::Validator {
    static VALIDATOR: LazyLock<jsonschema::Validator> = LazyLock::new(|| {
        let mut schema: Value =
            serde_json::from_str(include_str!("../data/sarif-schema-2.1.0.json"))
                .expect("the schema is JSON");
        // The published schema's pattern for `language` (on `run` and `toolComponent`) has an
        // unbalanced `]`, which ECMA-262 reads as a literal character and Rust's regex engines
        // reject. Escape it: the same language, and the file on disk stays the official text.
        assert_eq!(escape_language_patterns(&mut schema), 2);
        jsonschema::validator_for(&schema).expect("the schema compiles")
    });
    &VALIDATOR
}

const LANGUAGE_PATTERN: &str = "^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$";

/// Replaces every [`LANGUAGE_PATTERN`] by its escaped form; returns how many there were.
fn escape_language_patterns(node: &mut Value) -> usize {
    match node {
        Value::Object(map) => map
            .iter_mut()
            .map(|(key, value)| {
                if key == "pattern" && value == LANGUAGE_PATTERN {
                    *value = Value::from(r"^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}\]?$");
                    1
                } else {
                    escape_language_patterns(value)
                }
            })
            .sum(),
        Value::Array(items) => items.iter_mut().map(escape_language_patterns).sum(),
        _ => 0,
    }
}

#[track_caller]
fn assert_valid(files: &[CheckedFile]) -> Value {
    let text = sarif::render(&report(files)).expect("SARIF renders");
    let log: Value = serde_json::from_str(&text).expect("SARIF is JSON");
    let errors: Vec<String> = validator()
        .iter_errors(&log)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{}\n{text}", errors.join("\n"));
    log
}

#[test]
fn the_schema_rejects_a_broken_log() {
    let mut log = assert_valid(&[]);
    log["version"] = Value::from("2.0.0");
    assert!(!validator().is_valid(&log));
}

#[test]
fn every_example_gives_a_valid_log_with_one_rule_per_policy() {
    let files: Vec<CheckedFile> = all_examples()
        .iter()
        .map(|name| {
            check_text(
                &format!("policies/examples/{name}.yaml"),
                &example_text(name),
            )
        })
        .collect();
    let log = assert_valid(&files);
    let run = &log["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().expect("rules");
    assert_eq!(rules.len(), crate::support::engine().catalog().len());
    let violations: usize = files
        .iter()
        .filter_map(CheckedFile::decision)
        .map(|d| d.violations.len())
        .sum();
    let results = run["results"].as_array().expect("results");
    assert_eq!(results.len(), violations);
    for result in results {
        let index = result["ruleIndex"].as_u64().expect("a rule index") as usize;
        assert_eq!(rules[index]["id"], result["ruleId"]);
        let region = &result["locations"][0]["physicalLocation"]["region"];
        assert!(region["startLine"].as_u64().is_some_and(|l| l >= 1));
    }
}

#[test]
fn errors_and_unreadable_files_give_a_valid_log() {
    let mut decided = check_text(
        "policies/examples/web-frontend-dev-allowed.yaml",
        &example_text("web-frontend-dev-allowed"),
    );
    let decision: &mut Decision = match &mut decided.result {
        gatehouse_report::FileResult::Decided {
            decision,
            error_positions,
            ..
        } => {
            error_positions.push(gatehouse_report::SourcePosition::FILE);
            decision
        }
        gatehouse_report::FileResult::Unreadable { .. } => panic!("the example reads"),
    };
    decision.errors.push(
        ErrorDetail::new("rego_error", "package `gatehouse.policies.x`: boom")
            .with_policy("x.y")
            .with_help("fix the policy"),
    );
    let broken = check_text("intents/broken.yaml", "a: [1, 2\n");
    let log = assert_valid(&[decided, broken]);
    let run = &log["runs"][0];
    let ids: Vec<&str> = run["results"]
        .as_array()
        .expect("results")
        .iter()
        .filter_map(|r| r["ruleId"].as_str())
        .collect();
    assert_eq!(
        ids,
        [sarif::EVALUATION_ERROR_RULE, sarif::UNREADABLE_RULE],
        "one result each"
    );
    assert_eq!(run["invocations"][0]["executionSuccessful"], false);
}
