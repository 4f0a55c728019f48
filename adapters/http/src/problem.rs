//! Errors as RFC 9457 problem JSON (`application/problem+json`): every failure of the API is
//! answered as one (the control plane's refusals through `refusal`). Caller mistakes are 4xx
//! with what, where and how to fix; a server fault is an opaque 500 whose cause goes to the log
//! only.

use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use gatehouse_core::ErrorDetail;
use serde::Serialize;
use utoipa::ToSchema;

/// The problem media type.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// A failed request: serialized as `{type, title, status, detail, code, errors?}`.
#[derive(Debug, Clone)]
pub struct Problem {
    /// The HTTP status.
    pub status: StatusCode,
    /// Stable machine-readable code, e.g. `stale_etag`.
    pub code: String,
    /// What went wrong in this request, and how to fix it.
    pub detail: String,
    /// Individual errors (bundle or intent errors, each with a code, message and help).
    pub errors: Vec<ErrorDetail>,
    /// The decision that found them, when an evaluation refused the request (boxed: a
    /// problem is the error of every handler and stays small).
    pub decision_id: Option<Box<str>>,
    /// Extra response headers (`WWW-Authenticate`, `Retry-After`).
    pub headers: Vec<(HeaderName, HeaderValue)>,
}

/// The JSON form of [`Problem`] (RFC 9457), as documented in the OpenAPI document.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Problem)]
pub struct ProblemDocument {
    /// A URI naming the kind of problem.
    #[serde(rename = "type")]
    pub kind: String,
    /// Short summary of the kind (the status reason).
    pub title: String,
    /// The HTTP status.
    pub status: u16,
    /// What went wrong in this request, and how to fix it.
    pub detail: String,
    /// Stable machine-readable code, e.g. `stale_etag`.
    pub code: String,
    /// Individual errors, each `{code, message, help?, policy?, path?, span?}`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Vec<Object>)]
    pub errors: Vec<ErrorDetail>,
    /// The id of the decision that refused the request (a submitted intent that does not
    /// match the schema), in the decision log.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decision_id: Option<String>,
}

impl Problem {
    /// The JSON document.
    pub fn document(&self) -> ProblemDocument {
        ProblemDocument {
            kind: format!(
                "{}{}",
                gatehouse_core::PROBLEM_TYPE_BASE,
                self.code.replace('_', "-")
            ),
            title: self.status.canonical_reason().unwrap_or("Error").to_owned(),
            status: self.status.as_u16(),
            detail: self.detail.clone(),
            code: self.code.clone(),
            errors: self.errors.clone(),
            decision_id: self.decision_id.as_deref().map(str::to_owned),
        }
    }
}

impl Problem {
    /// A problem with a status, code and detail.
    pub fn new(status: StatusCode, code: &str, detail: impl Into<String>) -> Self {
        Self {
            status,
            code: code.to_owned(),
            detail: detail.into(),
            errors: Vec::new(),
            decision_id: None,
            headers: Vec::new(),
        }
    }

    /// Adds individual errors.
    pub fn with_errors(mut self, errors: Vec<ErrorDetail>) -> Self {
        self.errors = errors;
        self
    }

    /// Adds a response header.
    pub fn with_header(mut self, name: HeaderName, value: &'static str) -> Self {
        self.headers.push((name, HeaderValue::from_static(value)));
        self
    }

    /// 400: the request cannot be read.
    pub fn bad_request(code: &str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, detail)
    }

    /// 401 with `WWW-Authenticate: Bearer`.
    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", detail).with_status_headers()
    }

    /// 403.
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", detail)
    }

    /// 404.
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", detail)
    }

    /// 409: the request conflicts with the deployment's state.
    pub fn conflict(code: &str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, detail)
    }

    /// 422: well-formed but unacceptable.
    pub fn unprocessable(code: &str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, detail)
    }

    /// 500: the cause is logged, never sent.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(%cause, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the server failed to handle this request; nothing was changed, and the cause is in the server log",
        )
    }

    /// 503: the service is overloaded or not ready.
    pub fn unavailable(code: &str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, code, detail).with_status_headers()
    }

    /// Adds the headers its status calls for: `WWW-Authenticate: Bearer` on a 401, `Retry-After`
    /// on a 503.
    pub(crate) fn with_status_headers(self) -> Self {
        match self.status {
            StatusCode::UNAUTHORIZED => {
                self.with_header(header::WWW_AUTHENTICATE, "Bearer realm=\"gatehouse\"")
            }
            StatusCode::SERVICE_UNAVAILABLE => self.with_header(header::RETRY_AFTER, "1"),
            _ => self,
        }
    }
}

/// The body of a problem that cannot itself be written as JSON (a bug): an opaque 500, written
/// by hand so that it cannot fail in turn.
pub(crate) fn unwritable_problem(error: &serde_json::Error) -> (StatusCode, Vec<u8>) {
    tracing::error!(%error, "problem not written");
    let status = StatusCode::INTERNAL_SERVER_ERROR;
    let body = format!(
        r#"{{"type":"{}internal","title":"Internal Server Error","status":500,"detail":"the server failed to write its answer; the cause is in the server log","code":"internal"}}"#,
        gatehouse_core::PROBLEM_TYPE_BASE
    );
    (status, body.into_bytes())
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let (status, body) = match serde_json::to_vec(&self.document()) {
            Ok(body) => (self.status, body),
            Err(error) => unwritable_problem(&error),
        };
        let mut response = (
            status,
            [(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON))],
            body,
        )
            .into_response();
        for (name, value) in self.headers {
            response.headers_mut().insert(name, value);
        }
        response
    }
}
