//! Explanations: every policy of the catalogue with what it concluded for one intent.

use serde::{Deserialize, Serialize};

use crate::catalog::{Catalog, Enforcement};
use crate::decision::{Decision, ViolationStatus};
use crate::stage::Stage;

/// What one policy concluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// No violation.
    Pass,
    /// Advisory violations only.
    Advisory,
    /// Every violation was lifted by an exemption.
    Exempted,
    /// Every violation was lifted (by an override, or by overrides and exemptions).
    Overridden,
    /// Waiting for an approval in the override role.
    PendingApproval,
    /// At least one blocking violation.
    Fail,
    /// Unknown: the evaluation had errors, so a missing violation proves nothing.
    Unknown,
    /// A release gate: not evaluated at admission.
    NotEvaluated,
}

/// One line of an explanation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyVerdict {
    /// Policy id.
    pub policy: String,
    /// Title.
    pub title: String,
    /// Enforcement level in the intent's environment.
    pub enforcement: Enforcement,
    /// What it concluded.
    pub verdict: Verdict,
    /// How many violations it reported.
    pub violations: usize,
}

/// Every catalogue policy's verdict for a decision of the given stage, in policy id order.
pub fn explain(
    catalog: &Catalog,
    decision: &Decision,
    stage: Stage,
    environment: Option<&str>,
) -> Vec<PolicyVerdict> {
    catalog
        .iter()
        .map(|(id, meta)| {
            let own: Vec<_> = decision
                .violations
                .iter()
                .filter(|v| v.policy == id)
                .collect();
            let has = |s: ViolationStatus| own.iter().any(|v| v.status == s);
            let verdict = if meta.stage != stage && id != crate::catalog::SCHEMA_POLICY {
                Verdict::NotEvaluated
            } else if has(ViolationStatus::Blocking) {
                Verdict::Fail
            } else if has(ViolationStatus::PendingApproval) {
                Verdict::PendingApproval
            } else if has(ViolationStatus::Overridden) {
                Verdict::Overridden
            } else if has(ViolationStatus::Exempted) {
                Verdict::Exempted
            } else if has(ViolationStatus::Advisory) {
                Verdict::Advisory
            } else if !decision.errors.is_empty() {
                Verdict::Unknown
            } else {
                Verdict::Pass
            };
            PolicyVerdict {
                policy: id.to_owned(),
                title: meta.title.clone(),
                enforcement: meta.enforcement_in(environment),
                verdict,
                violations: own.len(),
            }
        })
        .collect()
}
