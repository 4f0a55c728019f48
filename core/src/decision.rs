//! The decision contract: the JSON every front end returns for an evaluated intent.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::bundle::BundleInfo;
use crate::catalog::{Enforcement, Severity};
use crate::context::Approval;
use crate::error::ErrorDetail;
use crate::timestamp::Timestamp;

/// The verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Nothing blocks.
    Allow,
    /// Only soft-mandatory violations block; the right approval lifts them.
    NeedsApproval,
    /// A hard-mandatory violation, a schema error or an evaluation error blocks.
    Deny,
}

impl Outcome {
    /// The contract's spelling: `allow`, `needs_approval`, `deny`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Allow => "allow",
            Self::NeedsApproval => "needs_approval",
            Self::Deny => "deny",
        }
    }
}

/// What a violation does to this decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ViolationStatus {
    /// Hard-mandatory and not exempted: denies.
    Blocking,
    /// Soft-mandatory without a valid override: needs approval.
    PendingApproval,
    /// Advisory: reported only.
    Advisory,
    /// Lifted by an unexpired exemption.
    Exempted,
    /// Soft-mandatory, lifted by an approval in the override role.
    Overridden,
}

/// One policy violation, with the catalogue's metadata and what lifted it, if anything.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Violation {
    /// Policy id, e.g. `tags.required`.
    pub policy: String,
    /// Policy title.
    pub title: String,
    /// Severity.
    pub severity: Severity,
    /// Enforcement level in the intent's environment.
    pub enforcement: Enforcement,
    /// What this violation does to the decision.
    pub status: ViolationStatus,
    /// What is wrong, with the value and the bound it broke.
    pub message: String,
    /// Field path in the intent (`spec.resources[1].encrypted`); empty for the whole intent.
    pub path: String,
    /// How to fix it.
    pub remediation: String,
    /// The role whose approval overrides it (soft-mandatory policies).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub override_role: Option<String>,
    /// The exemption that lifts it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub exempted_by: Option<String>,
    /// An exemption that matches but has expired (so it does not lift the violation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub expired_exemption: Option<String>,
    /// Who approved the override (one of the decision's `approvals`, which says who recorded
    /// it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub overridden_by: Option<String>,
    /// The org unit a guardrail was inherited from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub inherited_from: Option<String>,
    /// The facts behind the violation (input value, the bound, the data entry that applied).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = serde_json::Value))]
    pub evidence: Option<Value>,
}

impl Violation {
    /// Whether this violation stops the deployment (denies or waits for approval).
    pub fn blocks(&self) -> bool {
        matches!(
            self.status,
            ViolationStatus::Blocking | ViolationStatus::PendingApproval
        )
    }
}

/// A governed decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Decision {
    /// The verdict.
    pub outcome: Outcome,
    /// Every violation, sorted by policy, path and message.
    pub violations: Vec<Violation>,
    /// Evaluation errors (any error denies).
    pub errors: Vec<ErrorDetail>,
    /// How many violations and errors were left out of the lists above (a decision lists at
    /// most [`MAX_LISTED`] of each; the outcome counts them all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub truncated: Option<Truncated>,
    /// The approvals the decision took into account, each with who recorded it (`source`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<crate::context::ApprovalRecord>))]
    pub approvals: Vec<Approval>,
    /// The bundle that decided.
    pub bundle: BundleInfo,
    /// `sha256:<hex>` of the intent's canonical JSON.
    pub intent_digest: String,
    /// The injected decision time.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub evaluated_at: Timestamp,
}

/// The most violations, and the most errors, a decision lists: a hostile intent (hundreds of
/// thousands of array items) must not turn into a response hundreds of times its size.
pub const MAX_LISTED: usize = 100;

/// What a decision left out of its lists.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Truncated {
    /// Violations not listed.
    pub violations: usize,
    /// Errors not listed.
    pub errors: usize,
}

impl Decision {
    /// Whether the deployment may proceed now.
    pub fn allowed(&self) -> bool {
        self.outcome == Outcome::Allow
    }

    /// The decision as compact JSON, the contract's byte form. A decision is plain data, so
    /// this fails only on a bug; the error says what could not be written.
    pub fn to_json(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string(self)
    }

    /// The decision as a JSON value (fails as [`Decision::to_json`] does).
    pub fn to_value(&self) -> Result<Value, serde_json::Error> {
        serde_json::to_value(self)
    }

    /// The policies that hold (`pending_approval`) or block (`blocking`) the deployment this
    /// decision judged, in the order of its violations: each policy once, its first such
    /// violation deciding whether it blocks.
    pub fn held_policies(&self) -> Vec<HeldPolicy<'_>> {
        let mut held: Vec<HeldPolicy<'_>> = Vec::new();
        for v in self.violations.iter().filter(|v| v.blocks()) {
            if held.iter().all(|h| h.policy != v.policy) {
                held.push(HeldPolicy {
                    policy: &v.policy,
                    blocking: v.status == ViolationStatus::Blocking,
                });
            }
        }
        held
    }
}

/// A policy that holds or blocks a deployment (see [`Decision::held_policies`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeldPolicy<'a> {
    /// The policy id.
    pub policy: &'a str,
    /// Whether it blocks (`blocking`) rather than waits for an approval (`pending_approval`).
    pub blocking: bool,
}

/// The outcome implied by violations and errors: deny on any error or blocking violation, else
/// needs approval on any pending soft-mandatory violation, else allow.
pub fn outcome_of(violations: &[Violation], errors: &[ErrorDetail]) -> Outcome {
    if !errors.is_empty()
        || violations
            .iter()
            .any(|v| v.status == ViolationStatus::Blocking)
    {
        Outcome::Deny
    } else if violations
        .iter()
        .any(|v| v.status == ViolationStatus::PendingApproval)
    {
        Outcome::NeedsApproval
    } else {
        Outcome::Allow
    }
}

/// The `$id` of [`decision_schema`]'s document.
#[cfg(feature = "openapi")]
pub const DECISION_SCHEMA_ID: &str = "https://gatehouse.dev/schemas/v1/decision.json";

/// The JSON Schema (draft 2020-12) of the decision document, derived from these types' `ToSchema`
/// implementations: [`Decision`] at the root and every type it uses under `$defs`, named as in the
/// OpenAPI document's `components.schemas`. `docs/decision.schema.json` is a copy (`gatehouse
/// schema --decision`), from which the Python and TypeScript types are checked or generated.
///
/// The schemas are plain data, so this fails only on a bug; the error says what could not be
/// written.
#[cfg(feature = "openapi")]
pub fn decision_schema() -> Result<Value, serde_json::Error> {
    use utoipa::{PartialSchema, ToSchema};

    let mut components = Vec::new();
    <Decision as ToSchema>::schemas(&mut components);
    let mut defs = serde_json::Map::new();
    for (name, schema) in components {
        defs.insert(name, serde_json::to_value(schema)?);
    }
    let mut root = match serde_json::to_value(<Decision as PartialSchema>::schema())? {
        Value::Object(root) => root,
        _ => serde_json::Map::new(),
    };
    let mut document = serde_json::Map::new();
    document.insert(
        "$schema".into(),
        "https://json-schema.org/draft/2020-12/schema".into(),
    );
    document.insert("$id".into(), DECISION_SCHEMA_ID.into());
    document.insert("title".into(), "Decision".into());
    document.append(&mut root);
    document.insert("$defs".into(), Value::Object(defs));
    let mut document = Value::Object(document);
    components_to_defs(&mut document);
    Ok(document)
}

/// Rewrites OpenAPI's `#/components/schemas/X` references to the document's `#/$defs/X`.
#[cfg(feature = "openapi")]
fn components_to_defs(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get_mut("$ref")
                && let Some(name) = r.strip_prefix("#/components/schemas/")
            {
                *r = format!("#/$defs/{name}");
            }
            map.values_mut().for_each(components_to_defs);
        }
        Value::Array(items) => items.iter_mut().for_each(components_to_defs),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn violation(policy: &str, status: ViolationStatus) -> Violation {
        Violation {
            policy: policy.into(),
            title: String::new(),
            severity: Severity::High,
            enforcement: Enforcement::HardMandatory,
            status,
            message: String::new(),
            path: String::new(),
            remediation: String::new(),
            override_role: None,
            exempted_by: None,
            expired_exemption: None,
            overridden_by: None,
            inherited_from: None,
            evidence: None,
        }
    }

    #[test]
    fn held_policies_are_listed_once_as_their_first_holding_violation_says() {
        use ViolationStatus::*;
        let decision = Decision {
            outcome: Outcome::Deny,
            violations: vec![
                violation("cost.ceiling", PendingApproval),
                violation("tags.advice", Advisory),
                violation("tags.required", Blocking),
                violation("cost.ceiling", Blocking),
                violation("net.open", Exempted),
                violation("prod.four-eyes", Overridden),
            ],
            errors: Vec::new(),
            truncated: None,
            approvals: Vec::new(),
            bundle: BundleInfo {
                name: "t".into(),
                revision: "1".into(),
                digest: "sha256:x".into(),
            },
            intent_digest: "sha256:0".into(),
            evaluated_at: Timestamp::parse("2026-12-07T12:00:00Z").unwrap(),
        };
        let held: Vec<(&str, bool)> = decision
            .held_policies()
            .into_iter()
            .map(|h| (h.policy, h.blocking))
            .collect();
        assert_eq!(held, [("cost.ceiling", false), ("tags.required", true)]);
        let text = decision.to_json().unwrap();
        assert_eq!(
            serde_json::from_str::<Decision>(&text).unwrap(),
            decision,
            "{text}"
        );
        assert_eq!(decision.to_value().unwrap()["outcome"], "deny");
    }
}
