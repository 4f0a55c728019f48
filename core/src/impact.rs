//! Policy-change impact: the decision of a base and a head bundle on the same intent, compared
//! (`gatehouse diff`, the GitHub Action's impact report).
//!
//! Pure and presentation-neutral: [`compare`] takes two decisions the core made and says what flipped
//! (outcome, new violations, lifted ones, violations whose status, enforcement or message
//! changed, evaluation errors that appeared or went away). Violations are matched on policy, field
//! path and message first, then on policy and field path, so a message that only quotes a new
//! bound shows as a change rather than as one lifted and one new violation.

use serde::Serialize;

use crate::decision::{Decision, Outcome, Violation};
use crate::error::ErrorDetail;

/// How a decision moved from the base bundle to the head bundle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    /// A worse outcome, or the same outcome with something new that blocks (a blocking or
    /// pending-approval violation, an evaluation error).
    Stricter,
    /// A better outcome, or the same outcome with fewer things that block and nothing new.
    Looser,
    /// Something else changed (advisory or lifted violations, messages) without blocking more or
    /// less.
    Changed,
    /// The same verdict and the same violations.
    Unchanged,
    /// The intent could not be read, so neither bundle decided.
    Unreadable,
}

/// A violation in both decisions that is not the same in both.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ViolationChange {
    /// Under the base bundle.
    pub before: Violation,
    /// Under the head bundle.
    pub after: Violation,
}

/// What changed between the base and the head decision on one intent.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DecisionDiff {
    /// The base bundle's verdict.
    pub base_outcome: Outcome,
    /// The head bundle's verdict.
    pub head_outcome: Outcome,
    /// Violations only the head bundle reports.
    pub added: Vec<Violation>,
    /// Violations only the base bundle reports.
    pub lifted: Vec<Violation>,
    /// Violations both report, with a different status, enforcement, message or other field.
    pub changed: Vec<ViolationChange>,
    /// Evaluation errors only under the head bundle.
    pub errors_added: Vec<ErrorDetail>,
    /// Evaluation errors only under the base bundle.
    pub errors_lifted: Vec<ErrorDetail>,
}

impl DecisionDiff {
    /// Whether anything differs.
    pub fn is_empty(&self) -> bool {
        self.base_outcome == self.head_outcome
            && self.added.is_empty()
            && self.lifted.is_empty()
            && self.changed.is_empty()
            && self.errors_added.is_empty()
            && self.errors_lifted.is_empty()
    }

    /// Violations that block under the head bundle and did not under the base bundle.
    pub fn new_blocking(&self) -> impl Iterator<Item = &Violation> {
        self.added.iter().filter(|v| v.blocks()).chain(
            self.changed
                .iter()
                .filter(|c| c.after.blocks() && !c.before.blocks())
                .map(|c| &c.after),
        )
    }

    /// How the decision moved.
    pub fn change(&self) -> Change {
        if self.head_outcome > self.base_outcome {
            return Change::Stricter;
        }
        if self.head_outcome < self.base_outcome {
            return Change::Looser;
        }
        let gone_blocking = self.lifted.iter().any(Violation::blocks)
            || self
                .changed
                .iter()
                .any(|c| c.before.blocks() && !c.after.blocks())
            || !self.errors_lifted.is_empty();
        if self.new_blocking().next().is_some() || !self.errors_added.is_empty() {
            Change::Stricter
        } else if gone_blocking {
            Change::Looser
        } else if self.is_empty() {
            Change::Unchanged
        } else {
            Change::Changed
        }
    }
}

/// Compares the base and the head decision on the same intent.
pub fn compare(base: &Decision, head: &Decision) -> DecisionDiff {
    let mut base_left: Vec<Option<&Violation>> = base.violations.iter().map(Some).collect();
    let mut head_left: Vec<Option<&Violation>> = head.violations.iter().map(Some).collect();
    let mut changed = Vec::new();
    let same_finding = |a: &Violation, b: &Violation| {
        (&a.policy, &a.path, &a.message) == (&b.policy, &b.path, &b.message)
    };
    let same_place = |a: &Violation, b: &Violation| (&a.policy, &a.path) == (&b.policy, &b.path);
    for matches in [
        &same_finding as &dyn Fn(&Violation, &Violation) -> bool,
        &same_place,
    ] {
        for slot in &mut head_left {
            let Some(after) = *slot else { continue };
            let found = base_left
                .iter_mut()
                .find(|b| b.is_some_and(|before| matches(before, after)));
            if let Some(base_slot) = found {
                if let Some(before) = base_slot.take()
                    && before != after
                {
                    changed.push(ViolationChange {
                        before: before.clone(),
                        after: after.clone(),
                    });
                }
                *slot = None;
            }
        }
    }
    let same_error = |a: &ErrorDetail, b: &ErrorDetail| {
        (&a.code, &a.policy, &a.message) == (&b.code, &b.policy, &b.message)
    };
    DecisionDiff {
        base_outcome: base.outcome,
        head_outcome: head.outcome,
        added: head_left.into_iter().flatten().cloned().collect(),
        lifted: base_left.into_iter().flatten().cloned().collect(),
        changed,
        errors_added: head
            .errors
            .iter()
            .filter(|e| !base.errors.iter().any(|b| same_error(b, e)))
            .cloned()
            .collect(),
        errors_lifted: base
            .errors
            .iter()
            .filter(|e| !head.errors.iter().any(|h| same_error(h, e)))
            .cloned()
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decision::outcome_of;
    use crate::{BundleInfo, Enforcement, Severity, Timestamp, ViolationStatus};

    fn violation(policy: &str, path: &str, message: &str, status: ViolationStatus) -> Violation {
        Violation {
            policy: policy.into(),
            title: "t".into(),
            severity: Severity::High,
            enforcement: match status {
                ViolationStatus::Advisory => Enforcement::Advisory,
                ViolationStatus::PendingApproval | ViolationStatus::Overridden => {
                    Enforcement::SoftMandatory
                }
                _ => Enforcement::HardMandatory,
            },
            status,
            message: message.into(),
            path: path.into(),
            remediation: "r".into(),
            override_role: None,
            exempted_by: None,
            expired_exemption: None,
            overridden_by: None,
            inherited_from: None,
            evidence: None,
        }
    }

    fn decision(violations: Vec<Violation>) -> Decision {
        Decision {
            outcome: outcome_of(&violations, &[]),
            violations,
            errors: Vec::new(),
            truncated: None,
            approvals: Vec::new(),
            bundle: BundleInfo {
                name: "b".into(),
                revision: "1".into(),
                digest: "sha256:0".into(),
            },
            intent_digest: "sha256:1".into(),
            evaluated_at: Timestamp::parse("2026-11-23T12:00:00Z").unwrap(),
        }
    }

    #[test]
    fn same_decisions_are_unchanged() {
        let d = decision(vec![violation(
            "a.b",
            "spec.x",
            "m",
            ViolationStatus::Advisory,
        )]);
        let diff = compare(&d, &d);
        assert!(diff.is_empty());
        assert_eq!(diff.change(), Change::Unchanged);
    }

    #[test]
    fn a_new_bound_in_the_message_is_a_change_not_a_flip() {
        let base = decision(vec![violation(
            "cost.budget-warning",
            "spec.estimated_monthly_cost",
            "8500 above 80% of 10000",
            ViolationStatus::Advisory,
        )]);
        let head = decision(vec![
            violation(
                "cost.budget-warning",
                "spec.estimated_monthly_cost",
                "8500 above 80% of 9000",
                ViolationStatus::Advisory,
            ),
            violation(
                "cost.ceiling",
                "spec.estimated_monthly_cost",
                "8500 > 8000",
                ViolationStatus::PendingApproval,
            ),
        ]);
        let diff = compare(&base, &head);
        assert_eq!(diff.changed.len(), 1);
        assert_eq!(diff.added.len(), 1);
        assert_eq!(diff.added[0].policy, "cost.ceiling");
        assert!(diff.lifted.is_empty());
        assert_eq!(diff.change(), Change::Stricter);
        assert_eq!(diff.new_blocking().count(), 1);
        let back = compare(&head, &base);
        assert_eq!(back.lifted.len(), 1);
        assert_eq!(back.change(), Change::Looser);
    }

    #[test]
    fn a_new_blocking_violation_on_a_denied_intent_is_stricter() {
        let base = decision(vec![violation("a.b", "x", "m", ViolationStatus::Blocking)]);
        let head = decision(vec![
            violation("a.b", "x", "m", ViolationStatus::Blocking),
            violation("c.d", "y", "n", ViolationStatus::Blocking),
        ]);
        assert_eq!(compare(&base, &head).change(), Change::Stricter);
        assert_eq!(compare(&head, &base).change(), Change::Looser);
    }

    #[test]
    fn an_advisory_only_difference_is_changed() {
        let base = decision(vec![]);
        let head = decision(vec![violation("a.b", "x", "m", ViolationStatus::Advisory)]);
        assert_eq!(compare(&base, &head).change(), Change::Changed);
    }
}
