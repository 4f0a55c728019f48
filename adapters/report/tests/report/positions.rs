//! Source positions checked against the intent files themselves, independently of the parser
//! that found them: the line of `region:` in the YAML, the key text at every reported column, and
//! the same fields in a JSON rendition of the same intent.

use gatehouse_core::catalog::SCHEMA_POLICY;
use gatehouse_core::path::{PathSegment, parse};
use gatehouse_core::{Violation, parse_intent};
use gatehouse_report::{CheckedFile, FileResult, Precision, SourcePosition};

use crate::support::{all_examples, check_text, example_text};

/// The 1-based line and column of the first line that, trimmed, starts with `prefix`.
fn find_line(text: &str, prefix: &str) -> (usize, usize) {
    text.lines()
        .enumerate()
        .find_map(|(i, line)| {
            let trimmed = line.trim_start();
            trimmed
                .starts_with(prefix)
                .then(|| (i + 1, line.len() - trimmed.len() + 1))
        })
        .unwrap_or_else(|| panic!("no line starts with `{prefix}`"))
}

fn located(file: &CheckedFile) -> Vec<(&Violation, &SourcePosition)> {
    match &file.result {
        FileResult::Decided {
            decision,
            violation_positions,
            ..
        } => decision
            .violations
            .iter()
            .zip(violation_positions)
            .collect(),
        FileResult::Unreadable { errors } => panic!("{} is unreadable: {errors:?}", file.file),
    }
}

/// The text at a 1-based line and column.
fn text_at(text: &str, position: &SourcePosition) -> String {
    let line = text
        .lines()
        .nth(position.line - 1)
        .unwrap_or_else(|| panic!("line {} is past the end", position.line));
    line.chars().skip(position.column - 1).collect()
}

/// Whether `path` names a value the intent holds.
fn exists(intent: &serde_json::Value, path: &str) -> bool {
    let mut node = intent;
    for segment in parse(path).expect("violation paths follow the grammar") {
        let next = match segment {
            PathSegment::Key(k) => node.get(k.as_str()),
            PathSegment::Index(i) => node.get(i),
        };
        match next {
            Some(n) => node = n,
            None => return false,
        }
    }
    true
}

#[test]
fn the_region_violation_points_at_the_region_key() {
    let name = "payments-api-us-west-2-prod-denied";
    let text = example_text(name);
    let file = check_text("x.yaml", &text);
    let (line, column) = find_line(&text, "region: us-west-2");
    let (_, position) = located(&file)
        .into_iter()
        .find(|(v, _)| v.policy == "region.allowed")
        .expect("region.allowed is violated");
    assert_eq!((position.line, position.column), (line, column));
    assert_eq!(position.precision, Precision::Exact);
    let annotations = gatehouse_report::annotations::render(&crate::support::report(&[file]));
    assert!(
        annotations.contains(&format!(
            "::error file=x.yaml,line={line},col={column},title=region.allowed::"
        )),
        "{annotations}"
    );
}

#[test]
fn every_exact_position_holds_its_key_and_every_fallback_is_a_missing_field() {
    let mut exact = 0;
    let mut fallback = 0;
    for name in all_examples() {
        let text = example_text(&name);
        let intent = parse_intent(&text).expect("examples parse");
        let file = check_text(&name, &text);
        for (v, position) in located(&file) {
            match position.precision {
                Precision::Exact => {
                    exact += 1;
                    let last = parse(&v.path).and_then(|s| s.last().cloned());
                    let at = text_at(&text, position);
                    match last {
                        Some(PathSegment::Key(key)) => assert!(
                            at.starts_with(&key) || at.starts_with(&format!("\"{key}\"")),
                            "{name}: `{}` at {position:?} reads `{at}`",
                            v.path
                        ),
                        Some(PathSegment::Index(_)) => assert!(
                            !at.trim().is_empty(),
                            "{name}: `{}` at {position:?} is blank",
                            v.path
                        ),
                        None => panic!("an exact position for the empty path"),
                    }
                }
                Precision::Ancestor | Precision::File => {
                    fallback += 1;
                    assert!(
                        !exists(&intent, &v.path),
                        "{name}: `{}` exists but was not found ({position:?})",
                        v.path
                    );
                }
            }
        }
    }
    assert!(
        exact >= 10,
        "only {exact} exact positions over the examples"
    );
    assert!(fallback >= 1, "no example exercises the ancestor fallback");
}

#[test]
fn a_missing_tag_points_at_the_tags_mapping() {
    let text = example_text("payments-api-missing-owner-denied");
    let file = check_text("x.yaml", &text);
    let (_, position) = located(&file)
        .into_iter()
        .find(|(v, _)| v.policy == "tags.required")
        .expect("tags.required is violated");
    assert_eq!(position.precision, Precision::Ancestor);
    assert_eq!((position.line, position.column), find_line(&text, "tags:"));
}

#[test]
fn json_intents_are_located_like_yaml_ones() {
    let yaml = example_text("payments-api-us-west-2-prod-denied");
    let intent = parse_intent(&yaml).expect("the example parses");
    let json = serde_json::to_string_pretty(&intent).expect("serialises");
    let file = check_text("x.json", &json);
    let (line, column) = find_line(&json, "\"region\": \"us-west-2\"");
    let (_, position) = located(&file)
        .into_iter()
        .find(|(v, _)| v.policy == "region.allowed")
        .expect("region.allowed is violated");
    assert_eq!((position.line, position.column), (line, column));
    assert_eq!(position.precision, Precision::Exact);
}

#[test]
fn a_schema_error_points_at_the_unknown_field() {
    let text = example_text("payments-api-schema-typo-denied");
    let file = check_text("x.yaml", &text);
    let (v, position) = located(&file)
        .into_iter()
        .find(|(v, _)| v.policy == SCHEMA_POLICY)
        .expect("schema.valid is violated");
    let key = v.path.rsplit('.').next().expect("a dotted path");
    assert_eq!(
        (position.line, position.column),
        find_line(&text, &format!("{key}:"))
    );
}
