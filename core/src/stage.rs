//! The stage of a decision: which set of policy packages it evaluates. One definition for every
//! front end: the catalogue's `stage`, the conformance corpus, the HTTP `stage` field, the
//! decision log and the bindings all read and write this type.

use serde::{Deserialize, Serialize};

/// Which set of packages a decision evaluates. Written `admission` / `gates` in JSON; absent
/// means [`Stage::Admission`].
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Admission policies (`gatehouse.policies.*`), evaluated when an intent is submitted (the
    /// default).
    #[default]
    Admission,
    /// Release gates (`gatehouse.gates.*`), evaluated over pipeline evidence when a deployment
    /// reports success.
    Gates,
}

impl Stage {
    /// Package prefix of this stage's packages.
    pub fn package_prefix(self) -> &'static str {
        match self {
            Self::Admission => "data.gatehouse.policies.",
            Self::Gates => "data.gatehouse.gates.",
        }
    }

    /// The JSON spelling (`admission`, `gates`), as stored and logged.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admission => "admission",
            Self::Gates => "gates",
        }
    }

    /// Whether this is the default stage (for `skip_serializing_if`).
    pub fn is_admission(&self) -> bool {
        *self == Self::Admission
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_spelling_is_as_str_and_admission_is_the_default() {
        for stage in [Stage::Admission, Stage::Gates] {
            let json = serde_json::to_string(&stage).unwrap();
            assert_eq!(json, format!("\"{}\"", stage.as_str()));
            assert_eq!(serde_json::from_str::<Stage>(&json).unwrap(), stage);
        }
        assert_eq!(Stage::default(), Stage::Admission);
        assert!(serde_json::from_str::<Stage>("\"Gates\"").is_err());
    }
}
