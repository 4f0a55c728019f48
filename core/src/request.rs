//! One JSON call: an evaluation request `{intent, context?, stage?}` in, the decision's contract
//! JSON out. The front ends that take a request (the control plane's `POST /v1/evaluate`, the
//! WASM and Python bindings) read it with [`EvaluateRequest`] and evaluate it here, so reading
//! the request, reading the context and choosing the stage happen once.

use std::sync::Arc;

use serde::Deserialize;
use serde_json::Value;

use crate::cache::DecisionCache;
use crate::context::EvaluationContext;
use crate::decision::Decision;
use crate::engine::Engine;
use crate::error::{ContextError, Diagnostic, ErrorDetail};
use crate::fanout::{Fanout, Sequential};
use crate::intent::MAX_INTENT_BYTES;
use crate::stage::Stage;

/// The largest request text [`EvaluateRequest::from_json`] reads: an intent of
/// [`MAX_INTENT_BYTES`] and as much again for the context (4 MiB in all).
pub const MAX_REQUEST_BYTES: usize = 4 * MAX_INTENT_BYTES;

/// An evaluation request: `{intent, context?, stage?}`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct EvaluateRequest {
    /// The intent: any JSON value; one that does not match the schema is denied with
    /// `schema.valid` violations.
    #[cfg_attr(feature = "openapi", schema(value_type = serde_json::Value))]
    pub intent: Value,
    /// The evaluation context `{now, history?, evidence?, approvals?}`. A server may supply its
    /// own when there is none (its clock, the service's history); [`evaluate_json`] requires it.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<EvaluationContext>))]
    pub context: Option<Value>,
    /// `admission` (default) or `gates`.
    #[serde(default)]
    pub stage: Stage,
}

/// An evaluation request that cannot be evaluated. Policy errors are not request errors: they
/// deny inside the decision.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    /// More text than [`MAX_REQUEST_BYTES`].
    #[error("evaluation request is {size} bytes; the limit is {limit} bytes")]
    TooLarge {
        /// The text's size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// Text that is not JSON.
    #[error("evaluation request is not valid JSON at line {line}, column {column}: {message}")]
    Syntax {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What the parser found.
        message: String,
    },
    /// JSON that is not `{intent, context?, stage?}` (an unknown field, no `intent`, an unknown
    /// stage).
    #[error("evaluation request does not match its format: {message}")]
    Shape {
        /// What serde found.
        message: String,
    },
    /// No `context`, where the caller has none of its own to supply.
    #[error("evaluation request has no `context`")]
    MissingContext,
    /// A `context` that does not match its format.
    #[error(transparent)]
    Context(#[from] ContextError),
    /// The decision could not be written as JSON (a bug: a decision is plain data).
    #[error("the decision could not be written as JSON: {message}")]
    Unwritable {
        /// What serde found.
        message: String,
    },
}

impl Diagnostic for RequestError {
    fn code(&self) -> &'static str {
        match self {
            Self::TooLarge { .. } => "request_too_large",
            Self::Syntax { .. } => "request_syntax",
            Self::Shape { .. } => "request_invalid",
            Self::MissingContext => "context_missing",
            Self::Context(e) => e.code(),
            Self::Unwritable { .. } => "unserializable_answer",
        }
    }

    fn details(&self) -> Vec<ErrorDetail> {
        let detail = ErrorDetail::new(self.code(), self.to_string());
        let detail = match self {
            Self::Shape { .. } => detail.with_help(
                "send `{\"intent\": {...}, \"context\": {\"now\": \"<RFC 3339>\", ...}, \"stage\": \"admission\" | \"gates\"}`",
            ),
            Self::MissingContext => {
                detail.with_help("add `\"context\": {\"now\": \"<RFC 3339>\"}` to the request")
            }
            Self::Context(e) => return e.details(),
            _ => detail,
        };
        vec![detail]
    }
}

impl EvaluateRequest {
    /// A request for `intent` at `stage` in `context`.
    pub fn new(intent: Value, context: Option<Value>, stage: Stage) -> Self {
        Self {
            intent,
            context,
            stage,
        }
    }

    /// Reads a request from JSON text.
    pub fn from_json(text: &str) -> Result<Self, RequestError> {
        if text.len() > MAX_REQUEST_BYTES {
            return Err(RequestError::TooLarge {
                size: text.len(),
                limit: MAX_REQUEST_BYTES,
            });
        }
        serde_json::from_str(text).map_err(|e| {
            if e.is_data() {
                RequestError::Shape {
                    message: e.to_string(),
                }
            } else {
                let message = e.to_string();
                RequestError::Syntax {
                    line: e.line(),
                    column: e.column(),
                    message: message
                        .split(" at line ")
                        .next()
                        .unwrap_or_default()
                        .to_owned(),
                }
            }
        })
    }

    /// The intent, the context read (`None` when the request has none) and the stage.
    pub fn into_parts(self) -> Result<(Value, Option<EvaluationContext>, Stage), ContextError> {
        let context = self
            .context
            .map(EvaluationContext::from_json_value)
            .transpose()?;
        Ok((self.intent, context, self.stage))
    }

    /// Evaluates the request: through `cache` when there is one, with the decision's parts run
    /// by `fanout`. The request must have a context.
    pub fn evaluate(
        self,
        engine: &Engine,
        cache: Option<&DecisionCache>,
        fanout: &dyn Fanout,
    ) -> Result<Arc<Decision>, RequestError> {
        let (intent, context, stage) = self.into_parts()?;
        let context = context.ok_or(RequestError::MissingContext)?;
        Ok(match cache {
            Some(cache) => cache.decide(engine, stage, &intent, &context, fanout),
            None => Arc::new(engine.evaluate_stage(stage, &intent, &context, fanout)),
        })
    }
}

/// Evaluates a request given as JSON text `{intent, context, stage?}` and returns the decision's
/// contract JSON: the same bytes from every front end.
pub fn evaluate_json(engine: &Engine, request_json: &str) -> Result<String, RequestError> {
    let request = EvaluateRequest::from_json(request_json)?;
    request
        .evaluate(engine, None, &Sequential)?
        .to_json()
        .map_err(|e| RequestError::Unwritable {
            message: e.to_string(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bundle::BundleSource;

    fn engine() -> Engine {
        let mut source = BundleSource::default();
        source.insert("bundle.json", r#"{"name": "t", "revision": "1"}"#);
        source.insert(
            "data/catalog.json",
            r#"{"governance": {"catalog": {"t.p": {"title": "T", "severity": "low",
                "enforcement": "hard-mandatory", "remediation": "None."},
                "t.g": {"title": "G", "severity": "low", "enforcement": "hard-mandatory",
                "remediation": "None.", "stage": "gates"}}}}"#,
        );
        source.insert(
            "p.rego",
            "package gatehouse.policies.p\n\ndeny contains {\"policy\": \"t.p\", \"message\": \"m\"} if { input.intent.x == 1 }\n",
        );
        source.insert(
            "g.rego",
            "package gatehouse.gates.g\n\ndeny contains {\"policy\": \"t.g\", \"message\": \"g\"} if { input.intent.x == 1 }\n",
        );
        Engine::load(&source).unwrap()
    }

    const NOW: &str = r#"{"now": "2026-11-23T12:00:00Z"}"#;

    #[test]
    fn a_request_gives_the_bytes_of_its_stage() {
        let engine = engine();
        let context =
            EvaluationContext::from_json_value(serde_json::from_str(NOW).unwrap()).unwrap();
        let intent = serde_json::json!({"x": 1});
        for (stage, field) in [
            (Stage::Admission, ""),
            (Stage::Gates, r#", "stage": "gates""#),
        ] {
            let text = format!(r#"{{"intent": {{"x": 1}}, "context": {NOW}{field}}}"#);
            let want = engine
                .evaluate_stage(stage, &intent, &context, &Sequential)
                .to_json()
                .unwrap();
            assert_eq!(evaluate_json(&engine, &text).unwrap(), want);
        }
    }

    #[test]
    fn bad_requests_are_typed() {
        let engine = engine();
        let code = |text: &str| evaluate_json(&engine, text).unwrap_err().code();
        assert_eq!(code("{"), "request_syntax");
        assert_eq!(code(r#"{"context": {}}"#), "request_invalid");
        assert_eq!(code(r#"{"intent": {}, "extra": 1}"#), "request_invalid");
        assert_eq!(
            code(r#"{"intent": {}, "stage": "later"}"#),
            "request_invalid"
        );
        assert_eq!(code(r#"{"intent": {}}"#), "context_missing");
        assert_eq!(
            code(r#"{"intent": {}, "context": {"now": "yesterday"}}"#),
            "context_invalid"
        );
        let big = format!(r#"{{"intent": "{}"}}"#, "x".repeat(MAX_REQUEST_BYTES));
        assert_eq!(code(&big), "request_too_large");
        let syntax = EvaluateRequest::from_json("{\n  \"intent\": ,").unwrap_err();
        assert_eq!(
            syntax,
            RequestError::Syntax {
                line: 2,
                column: 13,
                message: "expected value".to_owned()
            }
        );
    }
}
