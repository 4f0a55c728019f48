//! Policy metadata kept as bundle data (`data.governance.catalog`): title, severity, enforcement
//! level, remediation and override role for every policy id.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::stage::Stage;

/// The id of the built-in schema policy; it is always hard-mandatory and cannot be exempted.
pub const SCHEMA_POLICY: &str = "schema.valid";

/// How bad a violation is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Informational.
    Low,
    /// Worth fixing soon.
    Medium,
    /// Must be fixed.
    High,
    /// Security or compliance breach.
    Critical,
}

/// What a violation does to the outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "kebab-case")]
pub enum Enforcement {
    /// Reported, never blocks.
    Advisory,
    /// Blocks until someone other than the requester holding the override role approves.
    SoftMandatory,
    /// Blocks.
    HardMandatory,
}

impl fmt::Display for Enforcement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Advisory => "advisory",
            Self::SoftMandatory => "soft-mandatory",
            Self::HardMandatory => "hard-mandatory",
        })
    }
}

/// Metadata of one policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyMeta {
    /// Short title.
    pub title: String,
    /// Severity.
    pub severity: Severity,
    /// Default enforcement level.
    pub enforcement: Enforcement,
    /// Enforcement per environment, overriding the default (e.g. advisory in `dev`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub enforcement_by_environment: BTreeMap<String, Enforcement>,
    /// How to fix a violation.
    pub remediation: String,
    /// Role whose approval overrides a soft-mandatory violation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub override_role: Option<String>,
    /// Longer description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// When the policy is evaluated: at admission (the default) or as a release gate.
    #[serde(default, skip_serializing_if = "Stage::is_admission")]
    pub stage: Stage,
}

impl PolicyMeta {
    /// The enforcement level that applies in `environment`.
    pub fn enforcement_in(&self, environment: Option<&str>) -> Enforcement {
        environment
            .and_then(|env| self.enforcement_by_environment.get(env))
            .copied()
            .unwrap_or(self.enforcement)
    }

    fn schema_default() -> Self {
        Self {
            title: "Intent conforms to the schema".to_owned(),
            severity: Severity::Critical,
            enforcement: Enforcement::HardMandatory,
            enforcement_by_environment: BTreeMap::new(),
            remediation: "Fix the field named in `path` so the intent matches the DeploymentIntent schema (`gatehouse schema` prints it).".to_owned(),
            override_role: None,
            description: None,
            stage: Stage::Admission,
        }
    }
}

/// Catalogue problems found while loading a bundle.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CatalogError {
    /// An entry does not match the metadata format.
    #[error("catalogue entry `{policy}` is invalid: {message}")]
    InvalidEntry {
        /// The policy id.
        policy: String,
        /// What serde found.
        message: String,
    },
    /// A soft-mandatory policy without a role that can override it could never be approved.
    #[error("policy `{policy}` is soft-mandatory in {where_} but has no `override_role`")]
    SoftWithoutOverrideRole {
        /// The policy id.
        policy: String,
        /// `by default` or `in <env>`.
        where_: String,
    },
    /// `schema.valid` must stay hard-mandatory.
    #[error("policy `{SCHEMA_POLICY}` must be hard-mandatory everywhere")]
    SchemaPolicyWeakened,
    /// `data.governance.catalog` is not an object.
    #[error("`data.governance.catalog` must be an object of policy id to metadata")]
    NotAnObject,
}

/// All policy metadata of a bundle.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Catalog {
    policies: BTreeMap<String, PolicyMeta>,
}

impl Catalog {
    /// Reads the catalogue from bundle data (`data.governance.catalog`) and checks it.
    pub fn from_data(catalog: Option<&serde_json::Value>) -> Result<Self, CatalogError> {
        let mut policies = BTreeMap::new();
        match catalog {
            None => {}
            Some(serde_json::Value::Object(map)) => {
                for (id, entry) in map {
                    let meta: PolicyMeta = serde_json::from_value(entry.clone()).map_err(|e| {
                        CatalogError::InvalidEntry {
                            policy: id.clone(),
                            message: e.to_string(),
                        }
                    })?;
                    policies.insert(id.clone(), meta);
                }
            }
            Some(_) => return Err(CatalogError::NotAnObject),
        }
        let schema = policies
            .entry(SCHEMA_POLICY.to_owned())
            .or_insert_with(PolicyMeta::schema_default);
        if schema.enforcement != Enforcement::HardMandatory
            || schema
                .enforcement_by_environment
                .values()
                .any(|e| *e != Enforcement::HardMandatory)
        {
            return Err(CatalogError::SchemaPolicyWeakened);
        }
        for (id, meta) in &policies {
            if meta.override_role.is_some() {
                continue;
            }
            if meta.enforcement == Enforcement::SoftMandatory {
                return Err(CatalogError::SoftWithoutOverrideRole {
                    policy: id.clone(),
                    where_: "by default".to_owned(),
                });
            }
            if let Some((env, _)) = meta
                .enforcement_by_environment
                .iter()
                .find(|(_, e)| **e == Enforcement::SoftMandatory)
            {
                return Err(CatalogError::SoftWithoutOverrideRole {
                    policy: id.clone(),
                    where_: format!("`{env}`"),
                });
            }
        }
        Ok(Self { policies })
    }

    /// Metadata of one policy.
    pub fn get(&self, id: &str) -> Option<&PolicyMeta> {
        self.policies.get(id)
    }

    /// Every policy, by id.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &PolicyMeta)> {
        self.policies.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Number of policies, `schema.valid` included.
    pub fn len(&self) -> usize {
        self.policies.len()
    }

    /// Never true: `schema.valid` is always there.
    pub fn is_empty(&self) -> bool {
        self.policies.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn soft_mandatory_needs_an_override_role() {
        let err = Catalog::from_data(Some(&json!({"cost.x": {"title": "t", "severity": "low",
            "enforcement": "soft-mandatory", "remediation": "r"}})))
        .unwrap_err();
        assert!(matches!(err, CatalogError::SoftWithoutOverrideRole { .. }));
    }

    #[test]
    fn schema_policy_is_always_present() {
        let catalog = Catalog::from_data(None).unwrap();
        assert!(catalog.get(SCHEMA_POLICY).is_some());
    }

    #[test]
    fn per_environment_enforcement() {
        let catalog = Catalog::from_data(Some(&json!({"a.b": {"title": "t", "severity": "high",
            "enforcement": "hard-mandatory", "enforcement_by_environment": {"dev": "advisory"},
            "remediation": "r"}})))
        .unwrap();
        let meta = catalog.get("a.b").unwrap();
        assert_eq!(meta.enforcement_in(Some("dev")), Enforcement::Advisory);
        assert_eq!(
            meta.enforcement_in(Some("prod")),
            Enforcement::HardMandatory
        );
    }
}
