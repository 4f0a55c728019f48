//! The conformance corpus through the CLI: every case the CLI can express (admission, no bundle
//! overlay, a context holding only `now`, `history` and `approvals`) gives the same decision
//! bytes as the engine in-process.

use std::collections::BTreeMap;
use std::fmt;

use gatehouse_core::Stage;
use gatehouse_core::conformance::ConformanceCase;
use gatehouse_core::{EvaluationContext, Outcome};
use serde::Deserialize;
use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};

use crate::support::{assert_code, engine, gatehouse, minify, policies, report, run};

/// The contract's field order of a decision; `truncated` and `approvals` appear only when they
/// have something to say.
const DECISION_KEYS: [&str; 8] = [
    "outcome",
    "violations",
    "errors",
    "truncated",
    "approvals",
    "bundle",
    "intent_digest",
    "evaluated_at",
];

/// The keys a decision may leave out.
const OPTIONAL_KEYS: [&str; 2] = ["truncated", "approvals"];

/// The keys of a JSON object in the order they appear in the text.
struct Keys(Vec<String>);

impl<'de> Deserialize<'de> for Keys {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeysVisitor;
        impl<'de> Visitor<'de> for KeysVisitor {
            type Value = Keys;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Keys, A::Error> {
                let mut keys = Vec::new();
                while let Some(key) = map.next_key::<String>()? {
                    map.next_value::<IgnoredAny>()?;
                    keys.push(key);
                }
                Ok(Keys(keys))
            }
        }
        deserializer.deserialize_map(KeysVisitor)
    }
}

/// `check --format json` read for the key order of each decision.
#[derive(Deserialize)]
struct KeyReport {
    results: Vec<KeyEntry>,
}

#[derive(Deserialize)]
struct KeyEntry {
    decision: Option<Keys>,
}

/// The cases the CLI can run: the reference bundle as is, and nothing in the context but `now`,
/// `history` and `approvals` (`--now`, `--history`, `--approvals`).
fn cli_cases() -> Vec<(String, ConformanceCase)> {
    let dir = policies().join("conformance");
    let mut cases = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("policies/conformance exists") {
        let path = entry.expect("a directory entry").path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("read a case");
        let case =
            ConformanceCase::from_json(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let expressible = EvaluationContext {
            history: case.context.history.clone(),
            approvals: case.context.approvals.clone(),
            ..EvaluationContext::at(case.context.now)
        };
        if case.bundle_overlay.is_empty()
            && case.stage == Stage::Admission
            && case.context == expressible
        {
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .expect("a UTF-8 name")
                .to_owned();
            cases.push((name, case));
        }
    }
    cases.sort_by(|a, b| a.0.cmp(&b.0));
    cases
}

#[test]
fn cli_decisions_are_byte_identical_to_the_engine() {
    let cases = cli_cases();
    assert!(
        cases.len() >= 40,
        "only {} conformance cases run through the CLI",
        cases.len()
    );

    // One run per distinct `now`, history and approvals, each over a directory of that group's
    // intents.
    type Group<'a> = Vec<&'a (String, ConformanceCase)>;
    let mut groups: BTreeMap<(String, String, String), Group<'_>> = BTreeMap::new();
    for case in &cases {
        let history = serde_json::to_string(&case.1.context.history).expect("history as JSON");
        let approvals =
            serde_json::to_string(&case.1.context.approvals).expect("approvals as JSON");
        groups
            .entry((case.1.context.now.to_string(), history, approvals))
            .or_default()
            .push(case);
    }

    let mut problems = Vec::new();
    let mut compared = 0;
    for ((now, history, approvals), group) in &groups {
        let tmp = tempfile::tempdir().expect("a temporary directory");
        let intents = tmp.path().join("intents");
        std::fs::create_dir(&intents).expect("an intents directory");
        for (name, case) in group {
            let text = serde_json::to_string_pretty(&case.intent).expect("an intent as JSON");
            std::fs::write(intents.join(name), text).expect("write an intent");
        }
        let history_file = tmp.path().join("history.json");
        std::fs::write(&history_file, history).expect("write the history");
        let approvals_file = tmp.path().join("approvals.json");
        std::fs::write(&approvals_file, approvals).expect("write the approvals");
        let out = run(gatehouse()
            .args(["check", "--format", "json", "--now", now, "--history"])
            .arg(&history_file)
            .arg("--approvals")
            .arg(&approvals_file)
            .arg(&intents));
        let report = report(&out);
        assert_eq!(report.results.len(), group.len(), "{out}");

        let worst = group
            .iter()
            .filter_map(|(_, case)| case.want.outcome)
            .max()
            .unwrap_or(Outcome::Allow);
        assert_code(&out, if worst == Outcome::Allow { 0 } else { 1 });
        assert_eq!(out.stderr, "");

        // The whole document is the pretty form of `{"file", "decision"}` entries whose
        // decisions are the engine's compact bytes.
        let mut expected = Vec::new();
        for ((name, case), entry) in group.iter().zip(&report.results) {
            assert_eq!(entry.name(), name, "files are checked in name order");
            let want = engine()
                .evaluate(&case.intent, &case.context)
                .to_json()
                .unwrap();
            let golden = std::fs::read_to_string(policies().join("conformance/golden").join(name))
                .expect("a golden decision");
            if golden.trim_end() != want {
                problems.push(format!("{name}: the engine differs from the golden file"));
            }
            let Some(decision) = &entry.decision else {
                problems.push(format!("{name}: no decision: {:?}", entry.errors));
                continue;
            };
            compared += 1;
            if decision.to_json().unwrap() != want {
                problems.push(format!(
                    "{name}: decision differs\n  cli:    {}\n  engine: {want}",
                    decision.to_json().unwrap()
                ));
            }
            if let Err(why) = case.want.check(decision) {
                problems.push(format!("{name}: {}\n{why}", case.note));
            }
            let file = serde_json::to_string(&entry.file).expect("a JSON string");
            expected.push(format!(r#"{{"file":{file},"decision":{want}}}"#));
        }
        let expected = format!(r#"{{"results":[{}]}}"#, expected.join(","));
        if minify(&out.stdout) != expected {
            problems.push(format!(
                "now {now}: the report's bytes (whitespace aside) differ from the engine's"
            ));
        }

        let keys: KeyReport = serde_json::from_str(&out.stdout).expect("a check report");
        for ((name, _), entry) in group.iter().zip(&keys.results) {
            let found: Vec<&str> = entry
                .decision
                .as_ref()
                .map(|k| k.0.iter().map(String::as_str).collect())
                .unwrap_or_default();
            let want: Vec<&str> = DECISION_KEYS
                .iter()
                .copied()
                .filter(|k| !OPTIONAL_KEYS.contains(k) || found.contains(k))
                .collect();
            if found != want {
                problems.push(format!(
                    "{name}: decision keys are {found:?}, want {want:?} (the order of {DECISION_KEYS:?})"
                ));
            }
        }
    }
    assert_eq!(compared, cases.len());
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
