//! What the store reads out of a decision for the columns lists and signals go by: its outcome
//! and the policies that held or blocked it.

use std::collections::BTreeSet;

use serde_json::Value;

/// The outcome of a decision JSON, as the `outcome` column keeps it for lists.
pub(crate) fn outcome_of(decision: &Value) -> &str {
    decision
        .get("outcome")
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// The policies that held (`pending_approval`) or blocked (`blocking`) a decision, each once
/// with whether it blocked (its first such violation decides). Stored with the decision, so
/// signals count them without reading decisions.
pub(crate) fn held_policies(decision: &Value) -> Vec<(String, bool)> {
    let mut seen = BTreeSet::new();
    let mut held = Vec::new();
    for v in decision
        .get("violations")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let status = v.get("status").and_then(Value::as_str).unwrap_or("");
        let Some(policy) = v.get("policy").and_then(Value::as_str) else {
            continue;
        };
        if matches!(status, "blocking" | "pending_approval") && seen.insert(policy) {
            held.push((policy.to_owned(), status == "blocking"));
        }
    }
    held
}
