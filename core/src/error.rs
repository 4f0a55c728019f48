//! Error types and the one serialisable error record that every front end renders.

use serde::{Deserialize, Serialize};

/// The prefix of every problem `type` URI (RFC 9457) a front end answers with, followed by the
/// error's code in kebab case, e.g. `https://gatehouse.dev/problems/stale-etag`. The HTTP server
/// and the Python package's FastAPI integration (`gatehouse._native.PROBLEM_TYPE_BASE`) both
/// take it from here.
pub const PROBLEM_TYPE_BASE: &str = "https://gatehouse.dev/problems/";

/// A position in a source file (1-based line and column).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Span {
    /// File path as given in the bundle or by the caller.
    pub file: String,
    /// Line, from 1.
    pub line: usize,
    /// Column, from 1.
    pub column: usize,
}

/// The error record of the decision contract: the same JSON from the core, CLI, HTTP, Python and
/// WASM. `code` is stable and machine-readable; `message` is for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ErrorDetail {
    /// Stable code, e.g. `rego_parse`, `limit_exceeded`, `intent_syntax`.
    pub code: String,
    /// What went wrong.
    pub message: String,
    /// How to fix it, where known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub help: Option<String>,
    /// The policy id involved, where there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub policy: Option<String>,
    /// The field path involved, where there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub path: Option<String>,
    /// The source position involved, where known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub span: Option<Span>,
}

impl ErrorDetail {
    /// A record with just a code and a message.
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        Self {
            code: code.to_owned(),
            message: message.into(),
            help: None,
            policy: None,
            path: None,
            span: None,
        }
    }

    /// Adds a fix hint.
    #[must_use]
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Adds a source position.
    #[must_use]
    pub fn with_span(mut self, span: Option<Span>) -> Self {
        self.span = span;
        self
    }

    /// Adds the policy id.
    #[must_use]
    pub fn with_policy(mut self, policy: impl Into<String>) -> Self {
        self.policy = Some(policy.into());
        self
    }
}

/// Errors that can describe themselves as [`ErrorDetail`] records.
pub trait Diagnostic: std::error::Error {
    /// The stable error code.
    fn code(&self) -> &'static str;

    /// The structured records for this error (most errors have one).
    fn details(&self) -> Vec<ErrorDetail>;
}

/// An intent text that could not be read as JSON or YAML.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IntentError {
    /// The text is not well-formed JSON or YAML.
    #[error("intent is not valid {format} at line {line}, column {column}: {message}")]
    Syntax {
        /// `JSON` or `YAML`.
        format: &'static str,
        /// 1-based line (0 when unknown).
        line: usize,
        /// 1-based column (0 when unknown).
        column: usize,
        /// The parser's description.
        message: String,
    },
    /// The text is larger than the engine accepts.
    #[error("intent is {size} bytes; the limit is {limit} bytes")]
    TooLarge {
        /// Size of the text.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// The YAML uses an alias (`*name`), which could expand a small file into gigabytes.
    #[error(
        "intent uses the YAML alias `*{name}` at line {line}, column {column}; aliases are not accepted in intents"
    )]
    YamlAlias {
        /// The anchor's name.
        name: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
    },
    /// YAML support was compiled out.
    #[error("intent looks like YAML, but this build reads JSON only")]
    YamlUnsupported,
}

impl Diagnostic for IntentError {
    fn code(&self) -> &'static str {
        match self {
            Self::Syntax { .. } => "intent_syntax",
            Self::TooLarge { .. } => "intent_too_large",
            Self::YamlAlias { .. } => "intent_yaml_alias",
            Self::YamlUnsupported => "intent_yaml_unsupported",
        }
    }

    fn details(&self) -> Vec<ErrorDetail> {
        let detail = ErrorDetail::new(self.code(), self.to_string());
        let detail = match self {
            Self::Syntax { line, column, .. } if *line > 0 => detail.with_span(Some(Span {
                file: String::new(),
                line: *line,
                column: *column,
            })),
            Self::Syntax { .. } => detail,
            Self::YamlAlias { line, column, .. } => detail
                .with_span(Some(Span {
                    file: String::new(),
                    line: *line,
                    column: *column,
                }))
                .with_help("write the value out where the alias stands (anchors and aliases, including `<<: *name` merges, are refused so that a small intent cannot expand into gigabytes)"),
            Self::TooLarge { .. } => detail.with_help("split the deployment into smaller intents"),
            Self::YamlUnsupported => detail.with_help("send the intent as JSON"),
        };
        vec![detail]
    }
}

/// An evaluation context (now, history, evidence, approvals) that does not match its format.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("evaluation context is invalid: {message}")]
pub struct ContextError {
    /// What is wrong, with the field where serde knows it.
    pub message: String,
}

impl Diagnostic for ContextError {
    fn code(&self) -> &'static str {
        "context_invalid"
    }

    fn details(&self) -> Vec<ErrorDetail> {
        vec![
            ErrorDetail::new(self.code(), self.to_string()).with_help(
                "the context is `{\"now\": \"<RFC 3339>\", \"history\": [...], \"evidence\": {...}, \"approvals\": [...]}`",
            ),
        ]
    }
}
