//! The decision log: every evaluation the server makes (a preview through `evaluate`, a
//! submission, an approval's re-evaluation, the release gates of a reported success) gets a
//! `decision_id` (UUID v7) that the caller receives; with `[decision_log] enabled = true` it is
//! also recorded, with the decision, the bundle, the caller, the server's time (`at`: what
//! retention and time-range reads go by; the decision time the evaluation used, a caller's
//! `context.now`, is kept apart as `evaluated_at`) and the intent with the configured fields
//! masked (the stored decision then carries the masked intent's digest and no masked value, see
//! [`mask_decision`]), and can be read back by id or by time range. A submission's record
//! commits in the same transaction as its events; a preview's record commits before the answer,
//! so a decision the caller saw is a decision the log holds.

use gatehouse_core::intent_digest;
use gatehouse_store::decision_log::DecisionRecord;
use serde::Serialize;
use serde_json::Value;

/// What masked values are replaced with.
pub const MASKED: &str = "***";

/// A page of the log.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DecisionPage {
    /// The decisions, oldest first.
    pub items: Vec<DecisionRecord>,
    /// Pass as `cursor` for the next page; none when this is the last one.
    pub next_cursor: Option<String>,
}

/// Whether `path` is a mask path: dot-separated keys, `*` for any key or array item, a number
/// for an array item.
pub fn valid_mask(path: &str) -> bool {
    !path.is_empty()
        && path
            .split('.')
            .all(|segment| !segment.is_empty() && !segment.chars().any(char::is_control))
}

/// `intent` with the values at `paths` replaced by [`MASKED`], and the concrete paths masked.
pub fn mask(intent: &Value, paths: &[String]) -> (Value, Vec<String>) {
    let (masked, found, _) = mask_collecting(intent, paths);
    (masked, found)
}

/// [`mask`], and the values it replaced.
fn mask_collecting(intent: &Value, paths: &[String]) -> (Value, Vec<String>, Vec<Value>) {
    let mut masked = intent.clone();
    let mut found = Vec::new();
    let mut values = Vec::new();
    for path in paths {
        let segments: Vec<&str> = path.split('.').collect();
        mask_at(
            &mut masked,
            &segments,
            &mut String::new(),
            &mut found,
            &mut values,
        );
    }
    found.sort();
    found.dedup();
    (masked, found, values)
}

/// The intent and decision of a log record, masked at `paths`: the intent as [`mask`] makes it,
/// the concrete paths masked, and the decision with
/// - its `intent_digest` replaced by the digest of the masked intent (`sha256:` over its
///   canonical JSON), so the stored digest cannot be used to test guesses of the masked values
///   (the digest of the unmasked intent could: hashing candidate values recovered them);
/// - every masked string value replaced by [`MASKED`] wherever it appears in the decision's
///   text (violation messages, evidence, approvals).
///
/// With nothing masked the decision is kept exactly as answered.
pub fn mask_decision(
    intent: &Value,
    decision: &Value,
    paths: &[String],
) -> (Value, Vec<String>, Value) {
    let (masked, found, values) = mask_collecting(intent, paths);
    if found.is_empty() {
        return (masked, found, decision.clone());
    }
    let mut secrets: Vec<&str> = values
        .iter()
        .filter_map(Value::as_str)
        .filter(|s| !s.is_empty() && *s != MASKED)
        .collect();
    // Longest first, so a value that contains another is replaced whole.
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    secrets.dedup();
    let mut stored = decision.clone();
    scrub(&mut stored, &secrets);
    if let Some(object) = stored.as_object_mut() {
        object.insert(
            "intent_digest".to_owned(),
            Value::String(intent_digest(&masked)),
        );
    }
    (masked, found, stored)
}

/// Replaces each of `secrets` by [`MASKED`] in every string inside `value`.
fn scrub(value: &mut Value, secrets: &[&str]) {
    match value {
        Value::String(text) => {
            for secret in secrets {
                if text.contains(secret) {
                    *text = text.replace(secret, MASKED);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| scrub(v, secrets)),
        Value::Object(map) => map.values_mut().for_each(|v| scrub(v, secrets)),
        _ => {}
    }
}

fn mask_at(
    value: &mut Value,
    segments: &[&str],
    at: &mut String,
    found: &mut Vec<String>,
    values: &mut Vec<Value>,
) {
    let Some((first, rest)) = segments.split_first() else {
        values.push(std::mem::replace(value, Value::String(MASKED.to_owned())));
        found.push(at.clone());
        return;
    };
    let mut visit = |key: &str, child: &mut Value, found: &mut Vec<String>| {
        let len = at.len();
        if !at.is_empty() {
            at.push('.');
        }
        at.push_str(key);
        mask_at(child, rest, at, found, values);
        at.truncate(len);
    };
    match value {
        Value::Object(map) => {
            for (key, child) in map.iter_mut() {
                if *first == "*" || first == key {
                    visit(key, child, found);
                }
            }
        }
        Value::Array(items) => {
            for (index, child) in items.iter_mut().enumerate() {
                let key = index.to_string();
                if *first == "*" || *first == key {
                    visit(&key, child, found);
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn masks_replace_values_at_paths_and_wildcards() {
        let intent = json!({
            "spec": {
                "tags": {"owner": "team-web", "cost-center": "CC-1"},
                "resources": [{"name": "a", "size": "s"}, {"name": "b"}]
            }
        });
        let paths = [
            "spec.tags.owner".to_owned(),
            "spec.resources.*.name".to_owned(),
            "spec.missing.field".to_owned(),
        ];
        let (masked, found) = mask(&intent, &paths);
        assert_eq!(masked["spec"]["tags"]["owner"], MASKED);
        assert_eq!(masked["spec"]["tags"]["cost-center"], "CC-1");
        assert_eq!(masked["spec"]["resources"][0]["name"], MASKED);
        assert_eq!(masked["spec"]["resources"][0]["size"], "s");
        assert_eq!(masked["spec"]["resources"][1]["name"], MASKED);
        assert_eq!(
            found,
            [
                "spec.resources.0.name",
                "spec.resources.1.name",
                "spec.tags.owner"
            ]
        );
        assert!(valid_mask("spec.tags.owner") && !valid_mask("spec..owner") && !valid_mask(""));
    }

    #[test]
    fn a_masked_decision_keeps_no_trace_of_the_masked_values() {
        let intent = json!({"metadata": {"requested_by": "carol@example.com"}, "spec": {"tags": {"owner": "team-zeta"}}});
        let decision = json!({
            "intent_digest": intent_digest(&intent),
            "violations": [{"message": "requester `carol@example.com` of team-zeta", "evidence": {"requested_by": "carol@example.com"}}]
        });
        let paths = [
            "metadata.requested_by".to_owned(),
            "spec.tags.owner".to_owned(),
        ];
        let (masked, found, logged) = mask_decision(&intent, &decision, &paths);
        assert_eq!(found, ["metadata.requested_by", "spec.tags.owner"]);
        assert_eq!(logged["intent_digest"], intent_digest(&masked).as_str());
        assert_eq!(logged["violations"][0]["message"], "requester `***` of ***");
        assert_eq!(logged["violations"][0]["evidence"]["requested_by"], MASKED);
        // Nothing masked: the decision as answered.
        let (_, found, logged) = mask_decision(&intent, &decision, &["spec.none".to_owned()]);
        assert!(found.is_empty());
        assert_eq!(logged, decision);
    }
}
