//! Exemptions: bundle data (`data.governance.exemptions`) that lifts one policy's violations for
//! a scope until an expiry time.

use serde::{Deserialize, Serialize};

use crate::catalog::SCHEMA_POLICY;
use crate::timestamp::Timestamp;

/// Where an exemption applies. Every field that is set must match the intent; at least one must
/// be set.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExemptionScope {
    /// `spec.service`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// AWS account id or Azure subscription id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// `spec.environment`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
}

/// One exemption.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Exemption {
    /// Unique id, reported as `exempted_by`.
    pub id: String,
    /// The policy id it lifts.
    pub policy: String,
    /// Where it applies.
    pub scope: ExemptionScope,
    /// Why it was granted.
    pub reason: String,
    /// Who granted it.
    pub approved_by: String,
    /// When it stops applying.
    pub expires: Timestamp,
}

/// The facts of an intent that scopes match against.
#[derive(Debug, Clone, Copy, Default)]
pub struct ScopeFacts<'a> {
    /// `spec.service`.
    pub service: Option<&'a str>,
    /// The target account or subscription.
    pub account: Option<&'a str>,
    /// `spec.environment`.
    pub environment: Option<&'a str>,
}

impl Exemption {
    /// Whether this exemption's policy and scope cover a violation of `policy` for `facts`
    /// (ignoring expiry).
    pub fn covers(&self, policy: &str, facts: &ScopeFacts<'_>) -> bool {
        fn matches(want: Option<&String>, have: Option<&str>) -> bool {
            want.is_none_or(|w| have == Some(w.as_str()))
        }
        self.policy == policy
            && matches(self.scope.service.as_ref(), facts.service)
            && matches(self.scope.account.as_ref(), facts.account)
            && matches(self.scope.environment.as_ref(), facts.environment)
    }

    /// Whether it still applies at `now`.
    pub fn active_at(&self, now: Timestamp) -> bool {
        now < self.expires
    }
}

/// Exemption problems found while loading a bundle.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ExemptionError {
    /// An entry does not match the format.
    #[error("exemption #{index} is invalid: {message}")]
    Invalid {
        /// Position in the list, from 0.
        index: usize,
        /// What serde found.
        message: String,
    },
    /// Two exemptions share an id.
    #[error("exemption id `{id}` is used twice")]
    DuplicateId {
        /// The id.
        id: String,
    },
    /// An empty scope would exempt every deployment.
    #[error("exemption `{id}` has an empty scope; set service, account or environment")]
    EmptyScope {
        /// The id.
        id: String,
    },
    /// The schema policy cannot be exempted.
    #[error("exemption `{id}` targets `{SCHEMA_POLICY}`, which cannot be exempted")]
    SchemaPolicy {
        /// The id.
        id: String,
    },
    /// `data.governance.exemptions` is not a list.
    #[error("`data.governance.exemptions` must be a list")]
    NotAList,
}

/// Reads and checks the exemption list; sorted by id so that matching is deterministic.
pub fn exemptions_from_data(
    value: Option<&serde_json::Value>,
) -> Result<Vec<Exemption>, ExemptionError> {
    let items = match value {
        None => return Ok(Vec::new()),
        Some(serde_json::Value::Array(items)) => items,
        Some(_) => return Err(ExemptionError::NotAList),
    };
    let mut out: Vec<Exemption> = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        let exemption: Exemption =
            serde_json::from_value(item.clone()).map_err(|e| ExemptionError::Invalid {
                index,
                message: e.to_string(),
            })?;
        if exemption.scope == ExemptionScope::default() {
            return Err(ExemptionError::EmptyScope { id: exemption.id });
        }
        if exemption.policy == SCHEMA_POLICY {
            return Err(ExemptionError::SchemaPolicy { id: exemption.id });
        }
        if out.iter().any(|e| e.id == exemption.id) {
            return Err(ExemptionError::DuplicateId { id: exemption.id });
        }
        out.push(exemption);
    }
    out.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(out)
}
