//! Decisions for tests (with the `test-support` feature): what the store keeps is a full core
//! decision, so fixtures build one instead of writing partial JSON.

use gatehouse_core::bundle::BundleInfo;
use gatehouse_core::catalog::{Enforcement, Severity};
use gatehouse_core::{Decision, Outcome, Timestamp, Violation, ViolationStatus};

/// When every fixture decision was made: `2026-11-23T12:00:00Z`.
pub const EVALUATED_AT: &str = "2026-11-23T12:00:00Z";

/// A decision of bundle `test` (digest `sha256:x`) made at [`EVALUATED_AT`] with `outcome` and
/// one violation per `(policy, status)`, in that order (their other fields filled in from the
/// policy id).
#[expect(
    clippy::expect_used,
    reason = "test fixtures: a constant timestamp that parses"
)]
pub fn decision(outcome: Outcome, violations: &[(&str, ViolationStatus)]) -> Decision {
    Decision {
        outcome,
        violations: violations
            .iter()
            .map(|&(policy, status)| violation(policy, status))
            .collect(),
        errors: Vec::new(),
        truncated: None,
        approvals: Vec::new(),
        bundle: BundleInfo {
            name: "test".into(),
            revision: "1".into(),
            digest: "sha256:x".into(),
        },
        intent_digest: "sha256:0".into(),
        evaluated_at: Timestamp::parse(EVALUATED_AT).expect("a valid timestamp"),
    }
}

/// A violation of `policy` with `status` (soft-mandatory when it waits for approval, else
/// hard-mandatory).
pub fn violation(policy: &str, status: ViolationStatus) -> Violation {
    Violation {
        policy: policy.to_owned(),
        title: format!("{policy} title"),
        severity: Severity::High,
        enforcement: match status {
            ViolationStatus::PendingApproval | ViolationStatus::Overridden => {
                Enforcement::SoftMandatory
            }
            ViolationStatus::Advisory => Enforcement::Advisory,
            _ => Enforcement::HardMandatory,
        },
        status,
        message: format!("{policy} is violated"),
        path: String::new(),
        remediation: format!("fix {policy}"),
        override_role: None,
        exempted_by: None,
        expired_exemption: None,
        overridden_by: None,
        inherited_from: None,
        evidence: None,
    }
}
