//! JSON answers: each value converted once, and a value that cannot be converted an error (a
//! 500 problem with the code `unserializable_answer`, its cause in the log), never an empty body.
//! Answers are plain data, so this is a bug when it happens; the point is that it shows.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::Value;

use crate::problem::Problem;

/// A value the server could not convert to or from JSON.
#[derive(Debug, thiserror::Error)]
#[error("the {what} could not be converted to JSON: {source}")]
pub struct EncodeError {
    /// What was being converted, e.g. `deployment page`.
    pub what: &'static str,
    /// Why.
    #[source]
    pub source: serde_json::Error,
}

/// `value` as JSON text; `what` names it in the error.
pub fn to_json<T: Serialize + ?Sized>(
    what: &'static str,
    value: &T,
) -> Result<String, EncodeError> {
    serde_json::to_string(value).map_err(|source| EncodeError { what, source })
}

/// `value` as a `200 OK` answer of type `application/json`; `what` names it in the error. The
/// handlers' one way to answer a value (axum's `Json` would answer a failure as a plain-text 500).
pub fn ok<T: Serialize + ?Sized>(what: &'static str, value: &T) -> Result<Response, EncodeError> {
    let body = to_json(what, value)?;
    Ok((
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response())
}

/// `value` as a JSON value; `what` names it in the error.
pub fn to_value<T: Serialize>(what: &'static str, value: T) -> Result<Value, EncodeError> {
    serde_json::to_value(value).map_err(|source| EncodeError { what, source })
}

/// The JSON document `text` (a constant of the build); `what` names it in the error.
pub fn parse(what: &'static str, text: &str) -> Result<Value, EncodeError> {
    serde_json::from_str(text).map_err(|source| EncodeError { what, source })
}

impl From<EncodeError> for Problem {
    fn from(error: EncodeError) -> Self {
        tracing::error!(%error, "answer not written");
        Problem::new(
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            "unserializable_answer",
            "the server could not write its answer as JSON, and the cause is in the server log; \
             the request may have taken effect, so read the resource before retrying it",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn a_value_that_cannot_be_converted_is_a_500_problem_with_a_code() {
        // JSON object keys are strings: a map keyed by numbers pairs cannot be written.
        let map = BTreeMap::from([((1, 2), "x")]);
        let error = to_json("test map", &map).unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("the test map could not be converted to JSON")
        );
        let problem = Problem::from(error);
        assert_eq!(
            problem.status,
            axum::http::StatusCode::INTERNAL_SERVER_ERROR
        );
        assert_eq!(problem.code, "unserializable_answer");
        assert!(to_value("test map", &map).is_err());
        assert!(parse("test document", "{").is_err());
        assert_eq!(to_json("number", &1).unwrap(), "1");
        assert!(ok("test map", &map).is_err());
        let answer = ok("number", &1).unwrap();
        assert_eq!(answer.status(), axum::http::StatusCode::OK);
        assert_eq!(answer.headers()["content-type"], "application/json");
    }

    #[test]
    fn a_problem_that_cannot_be_written_is_answered_as_a_fixed_500_problem() {
        let error = serde_json::from_str::<Value>("{").unwrap_err();
        let (status, body) = crate::problem::unwritable_problem(&error);
        assert_eq!(status, axum::http::StatusCode::INTERNAL_SERVER_ERROR);
        let body: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["code"], "internal");
        assert_eq!(body["status"], 500);
        assert_eq!(
            body["type"],
            format!("{}internal", gatehouse_core::PROBLEM_TYPE_BASE)
        );
    }
}
