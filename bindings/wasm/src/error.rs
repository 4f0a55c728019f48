//! The one mapping from Gatehouse errors to what JavaScript is given: a [`Failure`], the contract's
//! error records (`ErrorDetail`), whose first record's stable code becomes the `code` of the JS
//! `Error` that `convert` builds from it, an instance of the exported `GatehouseError` class.
//! Never a bare string.

use gatehouse_core::{Diagnostic, ErrorDetail};

/// Codes this binding adds to the core's.
pub(crate) mod code {
    /// `evaluate` / `validateIntent` got something other than a plain object.
    pub(crate) const INTENT_NOT_OBJECT: &str = "intent_not_object";
    /// `evaluateJson` got something other than a string.
    pub(crate) const ARGUMENT_NOT_STRING: &str = "argument_not_string";
    /// A JS value that `JSON.stringify` cannot write (a `BigInt`, a cycle) or writes as nothing.
    pub(crate) const NOT_JSON: &str = "value_not_json";
    /// The core's `ContextError` code, also used when the context is not an object.
    pub(crate) const CONTEXT_INVALID: &str = "context_invalid";
    /// The bundle argument is not an object (the core's `PackedBundleError::Shape` code).
    pub(crate) const BUNDLE_FORMAT: &str = "bundle_format";
    /// An engine used after `free()`.
    pub(crate) const ENGINE_FREED: &str = "engine_freed";
    /// The core's code for an evaluation stopped at its limit; here, a worker stopped at its
    /// deadline (`GatehouseError.timeLimitExceeded`).
    pub(crate) const LIMIT_EXCEEDED: &str = "limit_exceeded";
    /// `GatehouseError.fromErrors` got something other than a non-empty list of error records.
    pub(crate) const ERROR_RECORDS_INVALID: &str = "error_records_invalid";
    /// The options of `new Engine(bundle, options)` are not `{trustedKeys?: string[]}` (an
    /// unknown option is refused, so a misspelt `trustedKeys` never skips verification).
    pub(crate) const OPTIONS_INVALID: &str = "options_invalid";
    /// An answer the binding could not write as JSON (a bug), as the HTTP server's code.
    pub(crate) const UNSERIALIZABLE_ANSWER: &str = "unserializable_answer";
}

/// Something the caller passed that cannot be used, as contract error records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Failure {
    details: Vec<ErrorDetail>,
}

impl Failure {
    /// One record.
    pub(crate) fn new(detail: ErrorDetail) -> Self {
        Self {
            details: vec![detail],
        }
    }

    /// Records given back by JavaScript (`GatehouseError.fromErrors`); at least one.
    pub(crate) fn from_records(details: Vec<ErrorDetail>) -> Option<Self> {
        (!details.is_empty()).then_some(Self { details })
    }

    /// An engine used after `free()`.
    pub(crate) fn freed() -> Self {
        Self::new(
            ErrorDetail::new(code::ENGINE_FREED, "the engine was freed")
                .with_help("create a new `Engine`; `free()` (or `using`) ends an engine's life"),
        )
    }

    /// The `what` this binding answers could not be written as JSON: a bug, never an empty
    /// answer.
    pub(crate) fn unwritable(what: &str, error: &serde_json::Error) -> Self {
        Self::new(ErrorDetail::new(
            code::UNSERIALIZABLE_ANSWER,
            format!("the {what} could not be written as JSON: {error}"),
        ))
    }

    /// An evaluation stopped after `limit_ms` milliseconds (a worker terminated at its deadline):
    /// the record the core gives when its own time limit stops a policy, with the limit in the
    /// help.
    pub(crate) fn time_limit(limit_ms: f64) -> Self {
        Self::new(
            ErrorDetail::new(
                code::LIMIT_EXCEEDED,
                "policy evaluation exceeded the time limit",
            )
            .with_help(format!(
                "the evaluation was stopped after {limit_ms} ms; simplify the policy or raise the time limit"
            )),
        )
    }

    /// The failure with another help text on its first record (where this binding knows a
    /// better fix than the core's).
    pub(crate) fn with_help(mut self, help: &str) -> Self {
        if let Some(first) = self.details.first_mut() {
            first.help = Some(help.to_owned());
        }
        self
    }

    /// The records of a core error about the value at `path` (an argument's field), with the
    /// path in each record and in the first record's message.
    pub(crate) fn at_path(error: &impl Diagnostic, path: &str) -> Self {
        let mut details = error.details();
        for (i, detail) in details.iter_mut().enumerate() {
            detail.path = Some(path.to_owned());
            if i == 0 {
                detail.message = format!("`{path}`: {}", detail.message);
            }
        }
        Self { details }
    }

    /// The records of a core error.
    pub(crate) fn from_diagnostic(error: &impl Diagnostic) -> Self {
        Self {
            details: error.details(),
        }
    }

    /// The first record's code.
    pub(crate) fn code(&self) -> &str {
        self.details.first().map_or("internal", |d| d.code.as_str())
    }

    /// The message of the JS `Error`: the first record's message, with its position.
    pub(crate) fn message(&self) -> String {
        let Some(first) = self.details.first() else {
            return "unknown error".to_owned();
        };
        match &first.span {
            Some(span) if !span.file.is_empty() && !first.message.contains(&span.file) => {
                format!(
                    "{}:{}:{}: {}",
                    span.file, span.line, span.column, first.message
                )
            }
            _ => first.message.clone(),
        }
    }

    /// The records as JSON text (`[]` if they somehow do not serialise).
    pub(crate) fn records_json(&self) -> String {
        serde_json::to_string(&self.details).unwrap_or_else(|_| "[]".to_owned())
    }
}

impl From<gatehouse_core::BundleError> for Failure {
    fn from(error: gatehouse_core::BundleError) -> Self {
        Self::from_diagnostic(&error)
    }
}

impl From<gatehouse_core::PackedBundleError> for Failure {
    fn from(error: gatehouse_core::PackedBundleError) -> Self {
        Self::from_diagnostic(&error)
    }
}

impl From<gatehouse_core::SignatureError> for Failure {
    fn from(error: gatehouse_core::SignatureError) -> Self {
        Self::from_diagnostic(&error)
    }
}

impl From<gatehouse_core::RequestError> for Failure {
    fn from(error: gatehouse_core::RequestError) -> Self {
        Self::from_diagnostic(&error)
    }
}

impl From<gatehouse_core::IntentError> for Failure {
    fn from(error: gatehouse_core::IntentError) -> Self {
        Self::from_diagnostic(&error)
    }
}

impl From<gatehouse_core::ContextError> for Failure {
    fn from(error: gatehouse_core::ContextError) -> Self {
        Self::from_diagnostic(&error)
    }
}

#[cfg(test)]
mod tests {
    use gatehouse_core::{BundleError, Span};

    use super::*;

    #[test]
    fn records_from_javascript_are_never_empty() {
        assert_eq!(Failure::from_records(Vec::new()), None);
        let failure = Failure::from_records(Failure::freed().details).unwrap();
        assert_eq!(failure.code(), "engine_freed");
        assert_eq!(Failure::time_limit(250.0).code(), "limit_exceeded");
        assert_eq!(
            Failure::time_limit(250.0).message(),
            "policy evaluation exceeded the time limit"
        );
    }

    #[test]
    fn message_names_the_position_once() {
        let failure = Failure::from(BundleError::RegoParse {
            message: "unexpected token".to_owned(),
            span: Some(Span {
                file: "rules/x.rego".to_owned(),
                line: 3,
                column: 7,
            }),
        });
        assert_eq!(failure.code(), "rego_parse");
        assert_eq!(failure.message(), "rules/x.rego:3:7: unexpected token");

        let already = Failure::from(BundleError::RegoParse {
            message: "rules/x.rego:3:7: unexpected token".to_owned(),
            span: Some(Span {
                file: "rules/x.rego".to_owned(),
                line: 3,
                column: 7,
            }),
        });
        assert_eq!(already.message(), "rules/x.rego:3:7: unexpected token");
    }
}
