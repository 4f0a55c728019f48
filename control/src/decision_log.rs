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

use gatehouse_core::{Approval, BundleInfo, Decision, ErrorDetail, Violation, intent_digest};
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
///   text: every text field of its violations (their evidence included), errors, approvals and
///   bundle. Its outcome, statuses, severities and times are not text and are kept as they are,
///   so the stored decision is still a decision (a masked `low` or `12` cannot turn `allow` or
///   the decision time into something that no longer reads back).
///
/// With nothing masked the decision is kept exactly as answered.
pub fn mask_decision(
    intent: &Value,
    decision: &Decision,
    paths: &[String],
) -> (Value, Vec<String>, Decision) {
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
    scrub_decision(&mut stored, &secrets);
    stored.intent_digest = intent_digest(&masked);
    (masked, found, stored)
}

/// Replaces each of `secrets` by [`MASKED`] in every text field of `decision`. The structs are
/// taken apart field by field, without `..`: a field added to the decision does not compile here
/// until it is scrubbed or said not to be text.
fn scrub_decision(decision: &mut Decision, secrets: &[&str]) {
    let text = |field: &mut String| scrub_text(field, secrets);
    let Decision {
        outcome: _,
        violations,
        errors,
        truncated: _,
        approvals,
        bundle,
        intent_digest: _, // replaced by the masked intent's digest
        evaluated_at: _,
    } = decision;
    for violation in violations {
        let Violation {
            policy,
            title,
            severity: _,
            enforcement: _,
            status: _,
            message,
            path,
            remediation,
            override_role,
            exempted_by,
            expired_exemption,
            overridden_by,
            inherited_from,
            evidence,
        } = violation;
        [policy, title, message, path, remediation]
            .into_iter()
            .chain(
                [
                    override_role,
                    exempted_by,
                    expired_exemption,
                    overridden_by,
                    inherited_from,
                ]
                .into_iter()
                .flatten(),
            )
            .for_each(text);
        if let Some(evidence) = evidence {
            scrub(evidence, secrets);
        }
    }
    for error in errors {
        let ErrorDetail {
            code,
            message,
            help,
            policy,
            path,
            span,
        } = error;
        [code, message]
            .into_iter()
            .chain([help, policy, path].into_iter().flatten())
            .chain(span.as_mut().map(|span| &mut span.file))
            .for_each(text);
    }
    for approval in approvals {
        let Approval {
            by,
            role,
            at: _,
            comment,
            source: _,
            reference,
        } = approval;
        [by, role]
            .into_iter()
            .chain([comment, reference].into_iter().flatten())
            .for_each(text);
    }
    let BundleInfo {
        name,
        revision,
        digest,
    } = bundle;
    [name, revision, digest].into_iter().for_each(text);
}

/// Replaces each of `secrets` by [`MASKED`] in `text`.
fn scrub_text(text: &mut String, secrets: &[&str]) {
    for secret in secrets {
        if text.contains(secret) {
            *text = text.replace(secret, MASKED);
        }
    }
}

/// Replaces each of `secrets` by [`MASKED`] in every string inside `value`.
fn scrub(value: &mut Value, secrets: &[&str]) {
    match value {
        Value::String(text) => scrub_text(text, secrets),
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

    /// A decision on `intent` held by `team.owner`, whose message and evidence quote the
    /// requester and the owning team.
    fn quoting_decision(intent: &Value) -> Decision {
        use gatehouse_core::{Outcome, ViolationStatus};
        let mut decision = gatehouse_store::testing::decision(
            Outcome::NeedsApproval,
            &[("team.owner", ViolationStatus::PendingApproval)],
        );
        decision.intent_digest = intent_digest(intent);
        let violation = &mut decision.violations[0];
        violation.message = "requester `carol@example.com` of team-zeta".into();
        violation.evidence = Some(json!({"requested_by": "carol@example.com"}));
        decision
    }

    #[test]
    fn a_masked_decision_keeps_no_trace_of_the_masked_values() {
        let intent = json!({"metadata": {"requested_by": "carol@example.com"}, "spec": {"tags": {"owner": "team-zeta"}}});
        let decision = quoting_decision(&intent);
        let paths = [
            "metadata.requested_by".to_owned(),
            "spec.tags.owner".to_owned(),
        ];
        let (masked, found, logged) = mask_decision(&intent, &decision, &paths);
        assert_eq!(found, ["metadata.requested_by", "spec.tags.owner"]);
        assert_eq!(logged.intent_digest, intent_digest(&masked));
        assert_eq!(logged.violations[0].message, "requester `***` of ***");
        assert_eq!(
            logged.violations[0].evidence,
            Some(json!({"requested_by": MASKED}))
        );
        // Nothing masked: the decision as answered.
        let (_, found, logged) = mask_decision(&intent, &decision, &["spec.none".to_owned()]);
        assert!(found.is_empty());
        assert_eq!(logged, decision);
    }

    #[test]
    fn a_masked_value_inside_the_outcome_or_the_time_leaves_them_readable() {
        // `low` is inside `allow`, `11-23` inside the decision time `2026-11-23T12:00:00Z`.
        let intent = json!({"spec": {"tags": {"tier": "low", "window": "11-23"}}});
        let mut decision = quoting_decision(&intent);
        decision.outcome = gatehouse_core::Outcome::Allow;
        decision.violations[0].status = gatehouse_core::ViolationStatus::Overridden;
        decision.violations[0].message = "tier low in window 11-23".into();
        decision.violations[0].evidence = Some(json!({"tier": "low", "at": ["11-23"]}));
        let paths = ["spec.tags.*".to_owned()];
        let (_, found, logged) = mask_decision(&intent, &decision, &paths);
        assert_eq!(found, ["spec.tags.tier", "spec.tags.window"]);
        let text = serde_json::to_string(&logged).unwrap();
        let back: Decision = serde_json::from_str(&text).unwrap();
        assert_eq!(back, logged);
        assert_eq!(back.outcome, gatehouse_core::Outcome::Allow);
        assert_eq!(back.evaluated_at, decision.evaluated_at);
        assert_eq!(back.violations[0].message, "tier *** in window ***");
        // The secrets are nowhere but inside the outcome and the time, which are not text.
        let time = format!("\"evaluated_at\":\"{}\"", decision.evaluated_at);
        let rest = text.replace("\"outcome\":\"allow\"", "").replace(&time, "");
        assert_eq!(
            rest.len() + time.len() + "\"outcome\":\"allow\"".len(),
            text.len()
        );
        assert!(!rest.contains("low") && !rest.contains("11-23"), "{rest}");
    }
}
