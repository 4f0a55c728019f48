//! The evaluation context a caller passes with each intent: the time, earlier deployments,
//! pipeline evidence and approvals recorded by the control plane.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::ContextError;
use crate::timestamp::Timestamp;

/// Who recorded an approval. An approval is evidence only when a trusted party recorded it:
/// approvals written inside an intent are refused by the schema, so every approval a decision
/// sees came through one of these routes.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ApprovalSource {
    /// Passed by the evaluating caller in its context (the CLI's `--approvals FILE`, the Python
    /// and WASM context): the caller vouches for it.
    #[default]
    Caller,
    /// Recorded by the control plane's approvals endpoint for an authenticated approver who is
    /// neither the requester nor the submitter.
    ControlPlane,
    /// An approving review of the pull request, read from the GitHub API and mapped to a role by
    /// the bundle's `governance.approvers` data.
    GithubReview,
}

impl ApprovalSource {
    /// The contract's spelling: `caller`, `control_plane`, `github_review`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Caller => "caller",
            Self::ControlPlane => "control_plane",
            Self::GithubReview => "github_review",
        }
    }

    /// Who recorded it, for people: `the caller`, `the control plane`, `a pull request review`.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Caller => "the caller",
            Self::ControlPlane => "the control plane",
            Self::GithubReview => "a pull request review",
        }
    }

    /// The only producer allowed to record this source: `the caller` for [`Self::Caller`], the
    /// control plane's approvals store, the pull request review reader.
    pub fn recorder(self) -> &'static str {
        match self {
            Self::Caller => "the caller",
            Self::ControlPlane => "the control plane",
            Self::GithubReview => {
                "the pull request review reader (`gatehouse check --github-reviews`)"
            }
        }
    }
}

/// An approval passed by a caller (a context's `approvals`, `gatehouse check --approvals`,
/// Python's `approvals=`, WASM's `context.approvals`) that claims a source only a trusted producer
/// records. Provenance is not the caller's to state: the control plane and the review reader
/// build their approvals in Rust and put them in the context themselves, out of reach of JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "`approvals[{index}]`: approval source `{}` is recorded by {} only; leave `source` out of approvals you pass",
    claimed.as_str(),
    claimed.recorder()
)]
pub struct ReservedSourceError {
    /// The approval's position in the list passed.
    pub index: usize,
    /// The source it claimed (`control_plane` or `github_review`).
    pub claimed: ApprovalSource,
}

/// Refuses approvals passed by a caller that claim a source other than `caller` (see
/// [`ReservedSourceError`]). Every front end that reads approvals from caller JSON runs this, through
/// [`EvaluationContext`]'s deserialisation or directly.
pub fn check_caller_approvals(approvals: &[Approval]) -> Result<(), ReservedSourceError> {
    match approvals
        .iter()
        .position(|a| a.source != ApprovalSource::Caller)
    {
        Some(index) => Err(ReservedSourceError {
            index,
            claimed: approvals
                .get(index)
                .map_or(ApprovalSource::Caller, |a| a.source),
        }),
        None => Ok(()),
    }
}

/// Deserialises a context's `approvals`: the caller's, so only source `caller` is accepted.
fn caller_approvals<'de, D>(deserializer: D) -> Result<Vec<Approval>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    let approvals = Vec::<Approval>::deserialize(deserializer)?;
    check_caller_approvals(&approvals).map_err(serde::de::Error::custom)?;
    Ok(approvals)
}

/// The longest approver identity accepted (an email address's limit).
pub const MAX_IDENTITY_CHARS: usize = 254;
/// The longest approval comment accepted.
pub const MAX_COMMENT_CHARS: usize = 1000;
/// The longest approval reference (a review URL, an event hash) accepted.
pub const MAX_REFERENCE_CHARS: usize = 2000;

/// An approval of a deployment, recorded by a trusted party (see [`ApprovalSource`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(try_from = "RawApproval", deny_unknown_fields)]
pub struct Approval {
    /// Who approved: an email, or `github:<login>` for an unmapped reviewer (no format characters).
    #[cfg_attr(
        feature = "openapi",
        schema(
            min_length = 1,
            max_length = 254,
            pattern = "^[^\\s\\x00-\\x1f\\x7f-\\x9f\\u00ad\\u0600-\\u0605\\u061c\\u06dd\\u070f\\u0890-\\u0891\\u08e2\\u180e\\u200b-\\u200f\\u202a-\\u202e\\u2060-\\u2064\\u2066-\\u206f\\ufeff\\ufff9-\\ufffb]([^\\x00-\\x1f\\x7f-\\x9f\\u00ad\\u0600-\\u0605\\u061c\\u06dd\\u070f\\u0890-\\u0891\\u08e2\\u180e\\u200b-\\u200f\\u202a-\\u202e\\u2060-\\u2064\\u2066-\\u206f\\ufeff\\ufff9-\\ufffb]*[^\\s\\x00-\\x1f\\x7f-\\x9f\\u00ad\\u0600-\\u0605\\u061c\\u06dd\\u070f\\u0890-\\u0891\\u08e2\\u180e\\u200b-\\u200f\\u202a-\\u202e\\u2060-\\u2064\\u2066-\\u206f\\ufeff\\ufff9-\\ufffb])?$"
        )
    )]
    pub by: String,
    /// The role they approved in, e.g. `release-approver`, `finops-approver`.
    #[cfg_attr(feature = "openapi", schema(pattern = "^[a-z][a-z0-9-]{0,62}$"))]
    pub role: String,
    /// When, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub at: Option<Timestamp>,
    /// Free text (line breaks and tabs allowed, no other control characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "openapi",
        schema(value_type = String, max_length = 1000, pattern = "^[^\\x00-\\x08\\x0b-\\x1f\\x7f-\\x9f]*$")
    )]
    pub comment: Option<String>,
    /// Who recorded it (`caller` when not given).
    #[serde(default)]
    pub source: ApprovalSource,
    /// Where to see it: a review URL, a ledger event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "openapi",
        schema(value_type = String, min_length = 1, max_length = 2000, pattern = "^[^\\x00-\\x1f\\x7f-\\x9f]*$")
    )]
    pub reference: Option<String>,
}

/// The schema of an [`Approval`] as a decision lists it: the same object with `source` required,
/// because serialisation always writes it (an approval passed in only defaults to `caller`). Built
/// from [`Approval`]'s schema, so the two cannot drift; there is no value of this type.
#[cfg(feature = "openapi")]
pub enum ApprovalRecord {}

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for ApprovalRecord {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::RefOr;
        use utoipa::openapi::schema::Schema;

        let mut schema = <Approval as utoipa::PartialSchema>::schema();
        if let RefOr::T(Schema::Object(object)) = &mut schema {
            object.description = Some(
                "An approval as a decision lists it: who approved, in which role, and who recorded it."
                    .into(),
            );
            if !object.required.iter().any(|name| name == "source") {
                object.required.push("source".into());
            }
        }
        schema
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for ApprovalRecord {
    fn schemas(
        schemas: &mut Vec<(
            String,
            utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
        )>,
    ) {
        <Approval as utoipa::ToSchema>::schemas(schemas);
    }
}

/// The wire form of [`Approval`], checked by `TryFrom`. Optional fields are left out when
/// unknown; an explicit `null` is refused, as the documented schema says.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawApproval {
    by: String,
    role: String,
    #[serde(default, deserialize_with = "present")]
    at: Option<Timestamp>,
    #[serde(default, deserialize_with = "present")]
    comment: Option<String>,
    #[serde(default)]
    source: ApprovalSource,
    #[serde(default, deserialize_with = "present")]
    reference: Option<String>,
}

/// An optional field that, when present, holds a value (not `null`).
fn present<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(deserializer).map(Some)
}

impl TryFrom<RawApproval> for Approval {
    type Error = String;

    fn try_from(raw: RawApproval) -> Result<Self, Self::Error> {
        check_text("by", &raw.by, MAX_IDENTITY_CHARS, false)?;
        if raw.by.trim() != raw.by {
            return Err(format!(
                "approval `by` {:?} has leading or trailing white space",
                raw.by
            ));
        }
        if let Some(c) = crate::identity::format_character(&raw.by) {
            return Err(format!(
                "approval `by` {:?} contains the invisible format character U+{:04X}; write the identity without it",
                raw.by,
                u32::from(c)
            ));
        }
        if !is_role(&raw.role) {
            return Err(format!(
                "approval `role` {:?} is not a role name (lowercase letters, digits and '-', starting with a letter, at most 63 characters)",
                raw.role
            ));
        }
        if let Some(comment) = &raw.comment {
            check_text("comment", comment, MAX_COMMENT_CHARS, true)?;
        }
        if let Some(reference) = &raw.reference {
            check_text("reference", reference, MAX_REFERENCE_CHARS, false)?;
        }
        Ok(Self {
            by: raw.by,
            role: raw.role,
            at: raw.at,
            comment: raw.comment,
            source: raw.source,
            reference: raw.reference,
        })
    }
}

/// Whether `role` is a role name: `^[a-z][a-z0-9-]{0,62}$`, as the intent schema spells roles.
pub fn is_role(role: &str) -> bool {
    let mut chars = role.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && role.len() <= 63
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// The first control character in `text` (`\n` and `\t` allowed where `multiline`).
pub fn control_character(text: &str, multiline: bool) -> Option<char> {
    text.chars()
        .find(|c| c.is_control() && !(multiline && matches!(c, '\n' | '\t')))
}

fn check_text(field: &str, text: &str, max_chars: usize, multiline: bool) -> Result<(), String> {
    if !multiline && text.is_empty() {
        return Err(format!("approval `{field}` is empty"));
    }
    if text.chars().count() > max_chars {
        return Err(format!(
            "approval `{field}` is longer than {max_chars} characters"
        ));
    }
    if let Some(c) = control_character(text, multiline) {
        return Err(format!(
            "approval `{field}` contains the control character U+{:04X}; identities and notes are printable text",
            u32::from(c)
        ));
    }
    Ok(())
}

/// One earlier deployment, as the control plane or `--history` reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct HistoryEntry {
    /// The deployment id.
    pub deployment_id: String,
    /// `spec.service`.
    pub service: String,
    /// `spec.environment`.
    pub environment: String,
    /// `spec.artifact`.
    pub artifact: String,
    /// Lifecycle state (`SUCCESS`, `FAILED`, ...).
    pub state: String,
    /// When it reached that state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub finished_at: Option<Timestamp>,
}

/// Everything besides the intent and the bundle that a decision depends on. Two evaluations with
/// the same intent, bundle and context give byte-identical decisions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct EvaluationContext {
    /// The decision time (injected; the core never reads a clock).
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub now: Timestamp,
    /// Earlier deployments.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<HistoryEntry>,
    /// Evidence reported by a pipeline (smoke checks, observed artefact), for release gates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<serde_json::Value>))]
    pub evidence: Option<Value>,
    /// Approvals recorded by a trusted party (the control plane's approvals endpoint, a pull
    /// request review, the caller); the only approvals that override anything. Read from JSON,
    /// every approval must have source `caller` ([`ReservedSourceError`] otherwise): the control
    /// plane and the review reader set their approvals here in Rust.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "caller_approvals"
    )]
    pub approvals: Vec<Approval>,
}

impl EvaluationContext {
    /// A context with only the decision time.
    pub fn at(now: Timestamp) -> Self {
        Self {
            now,
            history: Vec::new(),
            evidence: None,
            approvals: Vec::new(),
        }
    }

    /// Reads a context from its JSON form.
    pub fn from_json_value(value: Value) -> Result<Self, ContextError> {
        serde_json::from_value(value).map_err(|e| ContextError {
            message: e.to_string(),
        })
    }

    /// The context as policies see it at `input.context`. Fails only if a value had no JSON
    /// form; the engine then denies with the reason instead of showing policies `null`.
    pub fn to_input_value(&self) -> Result<Value, ContextError> {
        serde_json::to_value(self).map_err(|e| ContextError {
            message: e.to_string(),
        })
    }
}
