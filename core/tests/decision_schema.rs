//! The decision's JSON Schema (`decision_schema`, derived from the Rust types): the committed
//! copy in `docs/` is current, and every golden decision of the conformance corpus matches it.

use std::path::{Path, PathBuf};

use gatehouse_core::decision_schema;
use serde_json::Value;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The document exactly as `gatehouse schema --decision` prints it.
fn rendered() -> Result<String, serde_json::Error> {
    let text = serde_json::to_string_pretty(&decision_schema()?)?;
    Ok(format!("{text}\n"))
}

#[test]
fn committed_copy_is_current() {
    let path = repo_root().join("docs/decision.schema.json");
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == rendered().unwrap(),
        "{} is stale: refresh it with `cargo run -p gatehouse-cli -- schema --decision > docs/decision.schema.json`",
        path.display()
    );
}

#[test]
fn every_golden_decision_matches_the_schema() {
    let schema = decision_schema().unwrap();
    let validator = jsonschema::draft202012::new(&schema).expect("the schema compiles");
    let dir = repo_root().join("policies/conformance/golden");
    let mut checked = 0;
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .expect("the golden directory exists")
        .map(|entry| entry.expect("a directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        let text = std::fs::read_to_string(&path).expect("a golden file is readable");
        let decision: Value = serde_json::from_str(&text).expect("a golden file is JSON");
        let errors: Vec<String> = validator
            .iter_errors(&decision)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{}: {errors:#?}", path.display());
        checked += 1;
    }
    assert!(checked > 50, "only {checked} golden decisions found");
}

/// A named change to a decision document.
type Mutation = (&'static str, fn(&mut Value));

#[test]
fn the_schema_refuses_what_serde_never_writes() {
    let schema = decision_schema().unwrap();
    let validator = jsonschema::draft202012::new(&schema).expect("the schema compiles");
    let dir = repo_root().join("policies/conformance/golden");
    let text = std::fs::read_to_string(dir.join("allow-prod-reference.json"))
        .expect("the reference golden decision exists");
    let decision: Value = serde_json::from_str(&text).expect("JSON");
    assert!(validator.is_valid(&decision));
    let mutations: [Mutation; 6] = [
        ("unknown field", |d| d["extra"] = Value::Bool(true)),
        ("unknown outcome", |d| d["outcome"] = "maybe".into()),
        ("missing bundle", |d| {
            d.as_object_mut().map(|o| o.remove("bundle"));
        }),
        ("null optional field", |d| d["truncated"] = Value::Null),
        ("unknown violation status", |d| {
            d["violations"][0]["status"] = "ignored".into();
        }),
        ("approval without its source", |d| {
            d["approvals"][0]
                .as_object_mut()
                .map(|o| o.remove("source"));
        }),
    ];
    for (what, mutate) in mutations {
        let mut wrong = decision.clone();
        mutate(&mut wrong);
        assert!(!validator.is_valid(&wrong), "{what} was accepted");
    }
}
