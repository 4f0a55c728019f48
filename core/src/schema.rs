//! The DeploymentIntent JSON Schema (draft 2020-12) and validation against it.

use jsonschema::error::ValidationErrorKind;
use jsonschema::paths::LocationSegment;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::path::{self, PathSegment};

/// The intent schema's text, as shipped in `core/schema/intent.schema.json`.
pub const INTENT_SCHEMA: &str = include_str!("../schema/intent.schema.json");

/// One way an intent fails the schema.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchemaError {
    /// Field path of the offending value (see [`crate::path`]); empty for the document itself.
    pub path: String,
    /// What is wrong, for people.
    pub message: String,
    /// The schema keyword that failed (`required`, `enum`, `pattern`, ...).
    pub keyword: String,
    /// What the field should hold, from the schema's `description`, where it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected: Option<String>,
}

/// Fields an intent used to accept and now refuses, with why and what to do instead:
/// `(parent path, field, message, help)`.
const RETIRED_FIELDS: [(&str, &str, &str, &str); 1] = [(
    "spec",
    "approvals",
    "approvals inside an intent are not accepted: whoever writes the intent could claim any approval",
    "remove `spec.approvals`; an approval counts only when a trusted party records it: the control plane's `POST /v1/deployments/{id}/approvals` (an approver other than the requester), an approving pull request review (`gatehouse check --github-reviews`), or the caller's evaluation context (`gatehouse check --approvals FILE`, `approvals=` in Python, `context.approvals` in WASM)",
)];

/// The schema errors of an intent: at most [`crate::decision::MAX_LISTED`], and how many more
/// there were.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SchemaReport {
    /// The errors listed, sorted by path then message.
    pub errors: Vec<SchemaError>,
    /// Errors found but not listed.
    pub omitted: usize,
}

/// A compiled intent schema. Compile once and reuse: compiling costs far more than validating.
pub struct IntentSchema {
    validator: jsonschema::Validator,
    document: Value,
}

impl std::fmt::Debug for IntentSchema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IntentSchema")
    }
}

impl IntentSchema {
    /// The built-in intent schema, compiled on first use and shared by every engine of the
    /// process: compiling it costs about half a millisecond (a fifth of loading the reference
    /// bundle), and a process that loads several bundles, or warms it while a bundle loads (the
    /// CLI with `--jobs`), pays once.
    pub fn shared() -> &'static Self {
        static SHARED: std::sync::OnceLock<IntentSchema> = std::sync::OnceLock::new();
        SHARED.get_or_init(Self::new)
    }

    /// Compiles the built-in intent schema.
    pub fn new() -> Self {
        let document = Self::as_json();
        Self {
            validator: compile_builtin(&document),
            document,
        }
    }

    /// The schema as a JSON value.
    #[expect(
        clippy::expect_used,
        reason = "the schema is a constant of this crate, parsed by its tests; a null schema would hide a broken build"
    )]
    pub fn as_json() -> Value {
        serde_json::from_str(INTENT_SCHEMA).expect("the built-in intent schema is JSON")
    }

    /// The schema errors in `intent`, sorted by path then message; empty when valid. At most
    /// [`crate::decision::MAX_LISTED`] are listed: [`IntentSchema::check`] also counts the rest.
    pub fn validate(&self, intent: &Value) -> Vec<SchemaError> {
        self.check(intent).errors
    }

    /// The schema errors in `intent`: the first [`crate::decision::MAX_LISTED`] found, sorted by
    /// path then message, and the number of the others (counted, never described, so a hostile
    /// intent with hundreds of thousands of bad items costs no memory per error).
    pub fn check(&self, intent: &Value) -> SchemaReport {
        let limit = crate::decision::MAX_LISTED;
        let mut errors: Vec<SchemaError> = Vec::new();
        let mut omitted = 0usize;
        for error in self
            .validator
            .iter_errors(intent)
            .filter(|e| !matches!(e.kind(), ValidationErrorKind::FalseSchema))
        {
            if errors.len() < limit {
                errors.extend(describe(&error, &self.document));
            } else {
                omitted += 1;
            }
        }
        errors.sort_by(|a, b| (&a.path, &a.message).cmp(&(&b.path, &b.message)));
        errors.dedup();
        if errors.len() > limit {
            omitted += errors.len() - limit;
            errors.truncate(limit);
        }
        SchemaReport { errors, omitted }
    }
}

impl Default for IntentSchema {
    fn default() -> Self {
        Self::new()
    }
}

#[expect(
    clippy::expect_used,
    reason = "the schema is a compile-time constant; a unit test proves it compiles"
)]
fn compile_builtin(schema: &Value) -> jsonschema::Validator {
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .should_validate_formats(true)
        .build(schema)
        .expect("built-in schema compiles")
}

/// The `description` of the subschema whose keyword failed, following `$ref`s on the way.
fn description_of(error: &jsonschema::ValidationError<'_>, root: &Value) -> Option<String> {
    let mut node = root;
    let segments: Vec<LocationSegment<'_>> = error.schema_path().iter().collect();
    let (_keyword, parents) = segments.split_last()?;
    for segment in parents {
        node = match segment {
            LocationSegment::Property(p) if p == "$ref" => {
                let target = node.get("$ref")?.as_str()?.strip_prefix('#')?;
                root.pointer(target)?
            }
            LocationSegment::Property(p) => node.get(p.as_ref())?,
            LocationSegment::Index(i) => node.get(*i)?,
        };
    }
    if let Some(target) = node.get("$ref").and_then(Value::as_str)
        && node.get("description").is_none()
    {
        node = root.pointer(target.strip_prefix('#')?)?;
    }
    node.get("description")?.as_str().map(str::to_owned)
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// The errors one validation error stands for: one, except that retired fields named among
/// unknown ones get an error of their own that says why they went.
fn describe(error: &jsonschema::ValidationError<'_>, root: &Value) -> Vec<SchemaError> {
    if let ValidationErrorKind::AdditionalProperties { unexpected } = error.kind() {
        let parent = path::render(&instance_segments(error));
        let (retired, others): (Vec<&String>, Vec<&String>) = unexpected.iter().partition(|name| {
            RETIRED_FIELDS
                .iter()
                .any(|(at, field, _, _)| *at == parent && field == name)
        });
        if !retired.is_empty() {
            let mut out: Vec<SchemaError> = RETIRED_FIELDS
                .iter()
                .filter(|(at, field, _, _)| *at == parent && retired.iter().any(|r| r == field))
                .map(|(at, field, message, help)| SchemaError {
                    path: format!("{at}.{field}"),
                    message: (*message).to_owned(),
                    keyword: error.kind().keyword().to_owned(),
                    expected: Some((*help).to_owned()),
                })
                .collect();
            if !others.is_empty() {
                let mut rest = describe_one(error, root);
                rest.message = unknown_fields_message(&others);
                if let [only] = others.as_slice() {
                    rest.path = path::render(
                        &instance_segments(error)
                            .into_iter()
                            .chain([PathSegment::Key((*only).clone())])
                            .collect::<Vec<_>>(),
                    );
                }
                out.push(rest);
            }
            return out;
        }
    }
    vec![describe_one(error, root)]
}

fn instance_segments(error: &jsonschema::ValidationError<'_>) -> Vec<PathSegment> {
    error
        .instance_path()
        .iter()
        .map(|s| match s {
            LocationSegment::Property(p) => PathSegment::Key(p.into_owned()),
            LocationSegment::Index(i) => PathSegment::Index(i),
        })
        .collect()
}

fn unknown_fields_message(names: &[&String]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    format!(
        "unknown field{} {} (check the spelling; `gatehouse schema` lists the fields)",
        if quoted.len() == 1 { "" } else { "s" },
        quoted.join(", ")
    )
}

fn describe_one(error: &jsonschema::ValidationError<'_>, root: &Value) -> SchemaError {
    let mut segments = instance_segments(error);
    let keyword = error.kind().keyword().to_owned();
    let message = match error.kind() {
        ValidationErrorKind::Required { property } => {
            let name = property.as_str().unwrap_or_default().to_owned();
            segments.push(PathSegment::Key(name.clone()));
            format!("required field `{name}` is missing")
        }
        ValidationErrorKind::AdditionalProperties { unexpected } => {
            if let [only] = unexpected.as_slice() {
                segments.push(PathSegment::Key(only.clone()));
            }
            unknown_fields_message(&unexpected.iter().collect::<Vec<_>>())
        }
        ValidationErrorKind::Enum { options } => {
            format!("{} is not one of {}", short(error.instance()), options)
        }
        ValidationErrorKind::Constant { expected_value } => {
            format!("{} must be {}", short(error.instance()), expected_value)
        }
        ValidationErrorKind::Type { kind } => {
            let wanted = match kind {
                jsonschema::error::TypeKind::Single(t) => format!("{t}"),
                jsonschema::error::TypeKind::Multiple(ts) => format!("{ts:?}"),
            };
            match &**error.instance() {
                Value::Null if segments.is_empty() => {
                    "the intent is empty: expected an object, a DeploymentIntent document"
                        .to_owned()
                }
                Value::Null => format!("expected {wanted}, got null"),
                instance => format!(
                    "expected {wanted}, got {} {}",
                    type_name(instance),
                    short(instance)
                ),
            }
        }
        ValidationErrorKind::Pattern { .. } => {
            format!("{} is not in the expected format", short(error.instance()))
        }
        ValidationErrorKind::MinItems { limit } => {
            format!(
                "needs at least {limit} item{}",
                if *limit == 1 { "" } else { "s" }
            )
        }
        _ => error.masked().to_string(),
    };
    SchemaError {
        path: path::render(&segments),
        message,
        keyword,
        expected: description_of(error, root),
    }
}

fn short(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() > 80 {
        let cut: String = text.chars().take(77).collect();
        format!("{cut}...")
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn builtin_schema_compiles() {
        let _ = IntentSchema::new();
    }

    #[test]
    fn missing_fields_point_at_the_field() {
        let errors = IntentSchema::new().validate(&json!({
            "apiVersion": "gatehouse.dev/v1", "kind": "DeploymentIntent",
            "metadata": {"name": "x"}, "spec": {}
        }));
        let paths: Vec<&str> = errors.iter().map(|e| e.path.as_str()).collect();
        assert!(paths.contains(&"metadata.requested_by"), "{paths:?}");
        assert!(paths.contains(&"spec.service"), "{paths:?}");
    }

    #[test]
    fn unknown_field_is_named() {
        let errors = IntentSchema::new().validate(&json!({"apiVersion": "gatehouse.dev/v1", "kind": "DeploymentIntent", "metadata": {"name": "x", "requested_by": "a@b.co", "owner": 1}, "spec": {}}));
        assert!(
            errors
                .iter()
                .any(|e| e.path == "metadata.owner" && e.message.contains("`owner`")),
            "{errors:?}"
        );
    }
}
