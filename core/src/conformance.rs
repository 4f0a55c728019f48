//! The conformance corpus format: data files `{note, intent, context, want}` that every front end
//! (core, CLI, HTTP, Python, WASM) runs against the reference bundle.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::catalog::Enforcement;
use crate::context::EvaluationContext;
use crate::decision::{Decision, Outcome, ViolationStatus};
use crate::stage::Stage;

/// One conformance case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConformanceCase {
    /// What the case shows.
    pub note: String,
    /// The intent (any JSON: invalid intents are cases too).
    pub intent: Value,
    /// The evaluation context.
    pub context: EvaluationContext,
    /// What is evaluated: admission policies (the default) or the release gates over
    /// `context.evidence`.
    #[serde(default, skip_serializing_if = "Stage::is_admission")]
    pub stage: Stage,
    /// Files added to (or replacing files of) the reference bundle for this case, e.g. a policy
    /// with a bug to show that evaluation fails closed.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub bundle_overlay: BTreeMap<String, String>,
    /// The expected result.
    pub want: Want,
}

/// The expected result of a case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Want {
    /// Expected outcome; absent when the bundle must fail to load.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Outcome>,
    /// Exactly these violations (in any order), each checked on the fields given.
    #[serde(default)]
    pub violations: Vec<WantViolation>,
    /// Exactly these evaluation error codes (in any order).
    #[serde(default)]
    pub errors: Vec<String>,
    /// The bundle (with the overlay) must fail to load with this error code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bundle_error: Option<String>,
}

/// An expected violation: `policy` always, other fields when given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WantViolation {
    /// Policy id.
    pub policy: String,
    /// Field path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Enforcement level.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enforcement: Option<Enforcement>,
    /// Status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<ViolationStatus>,
    /// Exemption that lifts it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exempted_by: Option<String>,
    /// Expired exemption that matched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expired_exemption: Option<String>,
    /// Approver who overrode it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overridden_by: Option<String>,
    /// Org unit whose guardrail it comes from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inherited_from: Option<String>,
    /// A substring the message must contain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_contains: Option<String>,
}

impl ConformanceCase {
    /// Parses a case file.
    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }
}

impl Want {
    /// Compares a decision with the expectation; the error lists every difference.
    pub fn check(&self, decision: &Decision) -> Result<(), String> {
        let mut problems = Vec::new();
        match self.outcome {
            Some(outcome) if outcome != decision.outcome => problems.push(format!(
                "outcome is `{}`, want `{}`",
                decision.outcome.as_str(),
                outcome.as_str()
            )),
            None => problems.push("want has no outcome but the bundle loaded".to_owned()),
            _ => {}
        }
        let mut remaining: Vec<&crate::Violation> = decision.violations.iter().collect();
        for want in &self.violations {
            let found = remaining.iter().position(|v| {
                v.policy == want.policy
                    && want.path.as_ref().is_none_or(|p| *p == v.path)
                    && want.enforcement.is_none_or(|e| e == v.enforcement)
                    && want.status.is_none_or(|s| s == v.status)
                    && want.exempted_by == v.exempted_by
                    && want.expired_exemption == v.expired_exemption
                    && want.overridden_by == v.overridden_by
                    && want.inherited_from == v.inherited_from
                    && want
                        .message_contains
                        .as_ref()
                        .is_none_or(|m| v.message.contains(m.as_str()))
            });
            match found {
                Some(i) => {
                    remaining.remove(i);
                }
                None => problems.push(format!("missing violation {}", compact(want)?)),
            }
        }
        for extra in remaining {
            problems.push(format!(
                "unexpected violation `{}` at `{}` ({:?}): {}",
                extra.policy, extra.path, extra.status, extra.message
            ));
        }
        let mut got: Vec<&str> = decision.errors.iter().map(|e| e.code.as_str()).collect();
        let mut want: Vec<&str> = self.errors.iter().map(String::as_str).collect();
        got.sort_unstable();
        want.sort_unstable();
        if got != want {
            let errors = serde_json::to_string(&decision.errors).map_err(|e| e.to_string())?;
            problems.push(format!(
                "error codes are {got:?}, want {want:?}; errors: {errors}"
            ));
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.join("\n"))
        }
    }
}

fn compact(v: &WantViolation) -> Result<String, String> {
    serde_json::to_string(v).map_err(|e| e.to_string())
}
