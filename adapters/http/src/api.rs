//! The v1 API handlers and their OpenAPI description. Each handler authorizes the caller,
//! reads its input strictly, calls one operation of the control plane and converts the result;
//! every refusal maps to a problem in one place (`From<ControlError> for Problem`).

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use gatehouse_control::decision_log::DecisionPage;
use gatehouse_control::deployment::DeploymentView;
use gatehouse_control::replicas::Replicas;
use gatehouse_control::requests::{ApprovalRequest, Callback, CancelRequest};
use gatehouse_control::signals::Signals;
use gatehouse_control::{ControlError, ControlPlane, Submitted};
use gatehouse_core::exemption::Exemption;
use gatehouse_core::{
    BundleInfo, EvaluateRequest, EvaluationContext, PolicyMeta, Stage, Timestamp,
};
use gatehouse_store::IdempotencyKey;
use gatehouse_store::audit::AuditReport;
use gatehouse_store::decision_log::DecisionRecord;
use gatehouse_store::deployment::{DeploymentPage, ListQuery};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use crate::auth::{
    DELIVERY_HEADER, Identity, Permission, SIGNATURE_HEADER, SignedHeaders, TIMESTAMP_HEADER,
};
use crate::body::{RawBody, parse_json, read_within_budget, require_json};
use crate::encode::{self, EncodeError};
use crate::problem::{Problem, ProblemDocument};
use crate::state::App;

/// Shared state of the handlers.
pub type AppState = State<Arc<App>>;

/// The idempotency header of submissions.
pub const IDEMPOTENCY_HEADER: &str = "idempotency-key";

/// The header naming the decision of `POST /v1/evaluate` (whose body is the decision's exact
/// bytes, so the id cannot go there).
pub const DECISION_ID_HEADER: &str = "x-gatehouse-decision-id";

/// The deadline of a mutating operation: the store rolls back instead of committing past it,
/// so a request that answers 503 `timeout` has stored nothing. Mutating routes have no outer
/// timeout (it would drop the answer of a write that goes on to commit); they wait for their
/// operation and answer what it did.
fn write_deadline(app: &App) -> Option<Instant> {
    Some(Instant::now() + app.config.limits.request_timeout())
}

/// Runs a write to its end on its own task: a client that goes away does not cut a
/// transaction short; the write commits or rolls back as it would have, unanswered.
async fn to_completion<T: Send + 'static>(
    write: impl Future<Output = Result<T, ControlError>> + Send + 'static,
) -> Result<T, Problem> {
    tokio::spawn(write)
        .await
        .map_err(Problem::internal)?
        .map_err(Problem::from)
}

fn json_response(status: StatusCode, body: String) -> Response {
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response()
}

/// The body of `POST /v1/deployments`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubmitRequest {
    /// The deployment intent (must match the DeploymentIntent schema).
    #[schema(value_type = Object)]
    pub intent: Value,
}

/// Filters of `GET /v1/deployments`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// State, e.g. `IN_PROGRESS`.
    #[param(inline)]
    pub state: Option<gatehouse_core::State>,
    /// `spec.environment`.
    pub environment: Option<String>,
    /// `spec.service`.
    pub service: Option<String>,
    /// `spec.target.cloud`.
    pub cloud: Option<String>,
    /// Page size, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// Deployments to skip, 0–2147483647.
    #[param(minimum = 0, maximum = 2147483647)]
    pub offset: Option<u32>,
}

/// The service of `GET /v1/context`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ContextParams {
    /// `spec.service` of the intent being previewed.
    #[param(max_length = 200)]
    pub service: Option<String>,
}

/// Window of `GET /v1/signals`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SignalParams {
    /// Days back from now, 1–365 (default 30).
    #[param(minimum = 1, maximum = 365)]
    pub window_days: Option<u32>,
}

fn with_etag(mut response: Response, etag: &str) -> Response {
    if let Ok(value) = HeaderValue::from_str(&format!("\"{etag}\"")) {
        response.headers_mut().insert(header::ETAG, value);
    }
    response
}

fn view_response(status: StatusCode, view: &DeploymentView) -> Result<Response, Problem> {
    let body = encode::to_json("deployment", view)?;
    Ok(with_etag(json_response(status, body), &view.etag))
}

fn query<T>(q: Result<Query<T>, QueryRejection>) -> Result<T, Problem> {
    q.map(|Query(v)| v).map_err(|e| {
        Problem::bad_request(
            "invalid_query",
            format!("invalid query string: {}", e.body_text()),
        )
    })
}

fn header_text<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn if_match(headers: &HeaderMap) -> Result<String, Problem> {
    header_text(headers, header::IF_MATCH.as_str())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| {
            Problem::new(
                StatusCode::PRECONDITION_REQUIRED,
                "if_match_required",
                "send `If-Match: \"<etag>\"` with the ETag of `GET /v1/deployments/{id}`, so a change made meanwhile is not overwritten",
            )
        })
}

/// Evaluates an intent; nothing is stored but, with the decision log on, the decision's record.
#[utoipa::path(
    post, path = "/v1/evaluate", tag = "decisions",
    request_body = EvaluateRequest,
    responses(
        (status = 200, description = "The decision (the same JSON as the CLI, Python and WASM front ends)", body = gatehouse_core::Decision,
         headers(("X-Gatehouse-Decision-Id" = String, description = "The decision's id in the decision log (UUID v7)"))),
        (status = 400, description = "Malformed JSON", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 422, description = "Wrong shape (unknown field, bad context)", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 503, description = "Overloaded (no evaluation slot, or no room in the budget of request bodies in flight), or the decision log's database is unavailable", body = ProblemDocument, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn evaluate(State(app): AppState, request: Request) -> Result<Response, Problem> {
    // The caller and the content type first, then the body, read only once it fits in the
    // budget of bodies in flight, which it holds until the decision is made.
    let principal = app.auth.authorize(request.headers(), Permission::Read)?;
    require_json(request.headers())?;
    let (body, _reservation) = read_within_budget(request, &app).await?;
    let request: EvaluateRequest = parse_json(&body, app.config.limits.json_depth)?;
    drop(body);
    let evaluation = app.plane.evaluate(&principal, request).await?;
    let body = encode::to_json("decision", &evaluation.decision)?;
    let mut response = json_response(StatusCode::OK, body);
    if let Ok(id) = HeaderValue::from_str(&evaluation.decision_id) {
        response.headers_mut().insert(DECISION_ID_HEADER, id);
    }
    Ok(response)
}

/// Submits an intent: stores REQUESTED and the decision's transition.
#[utoipa::path(
    post, path = "/v1/deployments", tag = "deployments",
    request_body = SubmitRequest,
    params(("Idempotency-Key" = Option<String>, Header, min_length = 1, max_length = 200, description = "Same key and body: the first response is replayed; same key, other body: 422")),
    responses(
        (status = 201, description = "Stored; its state follows the decision (VALIDATED, REQUESTED awaiting approval, or REJECTED)", body = DeploymentView,
         headers(("ETag" = String, description = "The last event hash"), ("Location" = String, description = "The deployment's URL"))),
        (status = 400, description = "Malformed JSON", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 403, description = "Role may not submit", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 422, description = "Not a valid intent, or an idempotency key reused with another body", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 503, description = "Overloaded (no evaluation slot, or no room in the budget of request bodies in flight), or the database is unavailable", body = ProblemDocument, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn submit(State(app): AppState, request: Request) -> Result<Response, Problem> {
    // As `evaluate`: the caller, the content type, then the body within the budget.
    let headers = request.headers().clone();
    let principal = app.auth.authorize(&headers, Permission::Submit)?;
    require_json(&headers)?;
    let (body, _reservation) = read_within_budget(request, &app).await?;
    let request: SubmitRequest = parse_json(&body, app.config.limits.json_depth)?;
    let key = match header_text(&headers, IDEMPOTENCY_HEADER) {
        Some(k) if k.is_empty() || k.len() > 200 => {
            return Err(Problem::bad_request(
                "invalid_idempotency_key",
                "Idempotency-Key must be 1 to 200 characters",
            ));
        }
        Some(k) => Some(IdempotencyKey::new(k, &body)),
        None if headers.contains_key(IDEMPOTENCY_HEADER) => {
            return Err(Problem::bad_request(
                "invalid_idempotency_key",
                "Idempotency-Key must be visible ASCII",
            ));
        }
        None => None,
    };
    let deadline = write_deadline(&app);
    let plane = Arc::clone(&app.plane);
    let submitted = to_completion(async move {
        plane
            .submit(&principal, request.intent, key, deadline)
            .await
    })
    .await?;
    match submitted {
        Submitted::Created(view) => {
            let mut response = view_response(StatusCode::CREATED, &view)?;
            if let Ok(location) =
                HeaderValue::from_str(&format!("/v1/deployments/{}", view.deployment.head.id))
            {
                response.headers_mut().insert(header::LOCATION, location);
            }
            Ok(response)
        }
        Submitted::Replayed(replay) => {
            // The first answer, as it was: a submission answers 201 Created.
            let status = StatusCode::CREATED;
            let body = String::from(Box::<str>::from(replay.body));
            let mut response = with_etag(json_response(status, body), &replay.etag);
            response
                .headers_mut()
                .insert("idempotent-replayed", HeaderValue::from_static("true"));
            Ok(response)
        }
    }
}

/// Lists deployments, newest first.
#[utoipa::path(
    get, path = "/v1/deployments", tag = "deployments",
    params(ListParams),
    responses(
        (status = 200, description = "A page of deployments", body = DeploymentPage),
        (status = 400, description = "Invalid filter or paging", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = ProblemDocument, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn list(
    State(app): AppState,
    headers: HeaderMap,
    params: Result<Query<ListParams>, QueryRejection>,
) -> Result<Response, Problem> {
    app.auth.authorize(&headers, Permission::Read)?;
    let params = query(params)?;
    let limit = params.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(Problem::bad_request(
            "invalid_query",
            "`limit` must be between 1 and 200",
        ));
    }
    if params.offset.is_some_and(|o| o > i32::MAX as u32) {
        return Err(Problem::bad_request(
            "invalid_query",
            "`offset` must be between 0 and 2147483647",
        ));
    }
    let q = ListQuery {
        state: params.state,
        environment: params.environment,
        service: params.service,
        cloud: params.cloud,
        limit,
        offset: u64::from(params.offset.unwrap_or(0)),
    };
    let page = app.plane.list(&q).await?;
    Ok(json_response(
        StatusCode::OK,
        encode::to_json("deployment page", &page)?,
    ))
}

/// One deployment.
#[utoipa::path(
    get, path = "/v1/deployments/{id}", tag = "deployments",
    params(("id" = String, Path, description = "Deployment id")),
    responses(
        (status = 200, description = "The deployment", body = DeploymentView, headers(("ETag" = String, description = "The last event hash"))),
        (status = 401, description = "No valid token", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 404, description = "Unknown id", body = ProblemDocument, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn get_one(
    State(app): AppState,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    app.auth.authorize(&headers, Permission::Read)?;
    let view = app.plane.deployment(&id).await?;
    view_response(StatusCode::OK, &view)
}

/// A deployment's timeline: every event, hash-chained.
#[utoipa::path(
    get, path = "/v1/deployments/{id}/events", tag = "deployments",
    params(("id" = String, Path, description = "Deployment id")),
    responses(
        (status = 200, description = "Events in order: {seq, deployment_id, type, at, actor, data, prev_hash, hash}", body = Vec<Object>),
        (status = 401, description = "No valid token", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 404, description = "Unknown id", body = ProblemDocument, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn events(
    State(app): AppState,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    app.auth.authorize(&headers, Permission::Read)?;
    let events = app.plane.events(&id).await?;
    Ok(json_response(
        StatusCode::OK,
        encode::to_json("event list", &events)?,
    ))
}

/// A DSSE envelope of a decision attestation, as the OpenAPI document describes it (the answer
/// is the stored envelope's exact bytes).
#[derive(Debug, Serialize, ToSchema)]
pub struct AttestationEnvelope {
    /// `application/vnd.in-toto+json`.
    #[serde(rename = "payloadType")]
    #[schema(example = "application/vnd.in-toto+json")]
    pub payload_type: String,
    /// The in-toto Statement v1 (a SLSA verification summary of the decision), base64.
    pub payload: String,
    /// The control plane's signature(s) over DSSE's pre-authentication encoding.
    pub signatures: Vec<AttestationSignature>,
}

/// One signature of an [`AttestationEnvelope`].
#[derive(Debug, Serialize, ToSchema)]
pub struct AttestationSignature {
    /// The signing key's id (`[attestations] key_id`, or the public key's SHA-256).
    pub keyid: String,
    /// The ed25519 signature, base64.
    pub sig: String,
}

/// The signed attestation of a deployment's latest decision.
#[utoipa::path(
    get, path = "/v1/deployments/{id}/attestation", tag = "deployments",
    params(("id" = String, Path, description = "Deployment id")),
    responses(
        (status = 200, description = "The DSSE envelope (payloadType application/vnd.in-toto+json) of the deployment's latest decision: an in-toto Statement v1 whose subject is the artifact's digest and whose predicate is a SLSA verification summary", body = AttestationEnvelope),
        (status = 401, description = "No valid token", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 404, description = "Unknown deployment (`not_found`); no attestation because this server issues none (`attestation_not_configured`) or none was issued for it (`attestation_unavailable`: an artifact not pinned by digest, a decision made before attestations were configured)", body = ProblemDocument, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn deployment_attestation(
    State(app): AppState,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    app.auth.authorize(&headers, Permission::Read)?;
    let envelope = app.plane.deployment_attestation(&id).await?;
    Ok(json_response(StatusCode::OK, envelope))
}

/// The signed attestation of one decision (auditors and admins, like the decision log).
#[utoipa::path(
    get, path = "/v1/decisions/{id}/attestation", tag = "audit",
    params(("id" = String, Path, description = "The decision id (a deployment's `decision_id`, a callback answer's `decision_id`)")),
    responses(
        (status = 200, description = "The DSSE envelope of the decision's attestation", body = AttestationEnvelope),
        (status = 401, description = "No valid token", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 403, description = "Neither auditor nor admin", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 404, description = "No attestation: this server issues none (`attestation_not_configured`), or none was issued for this decision (`attestation_unavailable`: an unpinned artifact, a preview, an unknown id, a decision made before attestations were configured)", body = ProblemDocument, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn decision_attestation(
    State(app): AppState,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    let principal = app.auth.authorize(&headers, Permission::Read)?;
    let envelope = app.plane.decision_attestation(&principal, &id).await?;
    Ok(json_response(StatusCode::OK, envelope))
}

/// Records an approval and re-evaluates the intent with it.
#[utoipa::path(
    post, path = "/v1/deployments/{id}/approvals", tag = "deployments",
    request_body = ApprovalRequest,
    params(
        ("id" = String, Path, description = "Deployment id"),
        ("If-Match" = String, Header, min_length = 1, description = "The deployment's ETag"),
    ),
    responses(
        (status = 200, description = "The deployment after re-evaluation", body = DeploymentView),
        (status = 400, description = "Malformed JSON", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 403, description = "Not an approver for this role, or the requester (four-eyes)", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 404, description = "Unknown id", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 409, description = "Not awaiting approval, or already approved", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 412, description = "Stale ETag, or not a strong ETag (`*`, `W/...`)", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 422, description = "Wrong shape, or a control character in the reason", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 428, description = "If-Match missing", body = ProblemDocument, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn approve(
    State(app): AppState,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawBody(body): RawBody,
) -> Result<Response, Problem> {
    let principal = app.auth.authorize(&headers, Permission::Approve)?;
    let etag = if_match(&headers)?;
    require_json(&headers)?;
    let request: ApprovalRequest = parse_json(&body, app.config.limits.json_depth)?;
    let deadline = write_deadline(&app);
    let plane = Arc::clone(&app.plane);
    let view = to_completion(async move {
        plane
            .approve(&principal, &id, &etag, request, deadline)
            .await
    })
    .await?;
    view_response(StatusCode::OK, &view)
}

/// Cancels a deployment that has not started.
#[utoipa::path(
    post, path = "/v1/deployments/{id}/cancel", tag = "deployments",
    request_body(content = Option<CancelRequest>, description = "Optional reason", content_type = "application/json"),
    params(
        ("id" = String, Path, description = "Deployment id"),
        ("If-Match" = String, Header, min_length = 1, description = "The deployment's ETag"),
    ),
    responses(
        (status = 200, description = "CANCELLED", body = DeploymentView),
        (status = 400, description = "Malformed JSON", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 403, description = "Role may not cancel, or a requester's cancel of someone else's deployment", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 404, description = "Unknown id", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 409, description = "Already running or finished (`illegal_transition`), or its pipeline trigger is being delivered (`dispatch_in_flight`: retry once the delivery has an outcome)", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 412, description = "Stale ETag, or not a strong ETag (`*`, `W/...`)", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 422, description = "Wrong shape, or a control character in the reason", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 428, description = "If-Match missing", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 503, description = "This server does not run the active bundle (`bundle_mismatch`), or the database is unavailable", body = ProblemDocument, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn cancel(
    State(app): AppState,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawBody(body): RawBody,
) -> Result<Response, Problem> {
    let principal = app.auth.authorize(&headers, Permission::Cancel)?;
    let etag = if_match(&headers)?;
    let request: CancelRequest = if body.trim_ascii().is_empty() || body.trim_ascii() == b"null" {
        CancelRequest::default()
    } else {
        require_json(&headers)?;
        parse_json(&body, app.config.limits.json_depth)?
    };
    let deadline = write_deadline(&app);
    let plane = Arc::clone(&app.plane);
    let view = to_completion(async move {
        plane
            .cancel(&principal, &id, &etag, request, deadline)
            .await
    })
    .await?;
    view_response(StatusCode::OK, &view)
}

/// A pipeline reports on a deployment (HMAC-signed for this deployment and delivery).
#[utoipa::path(
    post, path = "/v1/deployments/{id}/callbacks", tag = "pipeline",
    request_body = Callback,
    params(
        ("id" = String, Path, description = "Deployment id"),
        ("X-Gatehouse-Signature-256" = String, Header, description = "`sha256=` + hex HMAC-SHA256, keyed with the pipeline secret, of `gatehouse-callback-v1\\n<X-Gatehouse-Timestamp>\\n<deployment id>\\n<X-Gatehouse-Delivery>\\n<raw body>`: a signature is valid for one deployment and one delivery only"),
        ("X-Gatehouse-Delivery" = String, Header, min_length = 1, max_length = 200, description = "Unique per report and deployment (1 to 200 visible ASCII characters); a redelivery to the same deployment replays the first response"),
        ("X-Gatehouse-Timestamp" = String, Header, description = "The signing time in Unix seconds; refused further than `pipeline.timestamp_tolerance_s` (300 s by default) from the server's time"),
    ),
    responses(
        (status = 200, description = "Recorded: the new state, the event, and the gate decision for `succeeded`", body = Object),
        (status = 400, description = "Malformed JSON", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 401, description = "Missing or wrong signature, malformed delivery id, or a timestamp outside the window (the problem says the server's time)", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 404, description = "Unknown id", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 409, description = "Not allowed in the deployment's state", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 422, description = "Wrong shape, a delivery id reused with another body, a `run_url` that is not an absolute http(s) URL (`invalid_run_url`), or a control character in `reason`", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 503, description = "Overloaded, ran past the time limit, or this server does not run the active bundle (`bundle_mismatch`): nothing was stored; send it again with the same delivery id", body = ProblemDocument, content_type = "application/problem+json"),
    ),
    security(("pipeline_signature" = []))
)]
pub async fn callback(
    State(app): AppState,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawBody(body): RawBody,
) -> Result<Response, Problem> {
    let delivery = app.plane.verify_callback(
        &id,
        SignedHeaders {
            delivery: header_text(&headers, DELIVERY_HEADER),
            timestamp: header_text(&headers, TIMESTAMP_HEADER),
            signature: header_text(&headers, SIGNATURE_HEADER),
        },
        &body,
    )?;
    require_json(&headers)?;
    let report: Callback = parse_json(&body, app.config.limits.json_depth)?;
    let deadline = write_deadline(&app);
    let plane = Arc::clone(&app.plane);
    let answer =
        to_completion(async move { plane.callback(&delivery, report, deadline).await }).await?;
    Ok(json_response(
        StatusCode::OK,
        String::from(Box::<str>::from(answer.body)),
    ))
}

/// The time range and page of `GET /v1/decisions`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DecisionParams {
    /// Decisions made at or after this time (RFC 3339).
    #[param(format = DateTime)]
    pub since: Option<String>,
    /// Decisions made before this time (RFC 3339).
    #[param(format = DateTime)]
    pub until: Option<String>,
    /// Page size, 1–100 (default 50).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    #[param(max_length = 100)]
    pub cursor: Option<String>,
}

fn time_param(name: &str, value: Option<&str>) -> Result<Option<Timestamp>, Problem> {
    value
        .map(|text| {
            Timestamp::parse(text)
                .map_err(|e| Problem::bad_request("invalid_query", format!("`{name}`: {e}")))
        })
        .transpose()
}

/// One decision of the decision log (auditors and admins).
#[utoipa::path(
    get, path = "/v1/decisions/{id}", tag = "audit",
    params(("id" = String, Path, description = "The decision id (`X-Gatehouse-Decision-Id`, a deployment's `decision_id`, a callback answer's `decision_id`)")),
    responses(
        (status = 200, description = "The decision, bundle, caller, time and the intent with the configured fields masked", body = DecisionRecord),
        (status = 401, description = "No valid token", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 403, description = "Neither auditor nor admin", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 404, description = "Not in the log (`decision_not_found`), or the log is off (`decision_log_disabled`)", body = ProblemDocument, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn decision(
    State(app): AppState,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    let principal = app.auth.authorize(&headers, Permission::Read)?;
    Ok(encode::ok(
        "decision record",
        &app.plane.decision(&principal, &id).await?,
    )?)
}

/// The decision log by time range, oldest first, in pages (auditors and admins).
#[utoipa::path(
    get, path = "/v1/decisions", tag = "audit",
    params(DecisionParams),
    responses(
        (status = 200, description = "A page of decisions and the cursor of the next one", body = DecisionPage),
        (status = 400, description = "Invalid time, page size or cursor", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 403, description = "Neither auditor nor admin", body = ProblemDocument, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn decisions(
    State(app): AppState,
    headers: HeaderMap,
    params: Result<Query<DecisionParams>, QueryRejection>,
) -> Result<Response, Problem> {
    let principal = app.auth.authorize(&headers, Permission::Read)?;
    let params = query(params)?;
    let limit = params.limit.unwrap_or(50);
    if !(1..=100).contains(&limit) {
        return Err(Problem::bad_request(
            "invalid_query",
            "`limit` must be between 1 and 100",
        ));
    }
    let since = time_param("since", params.since.as_deref())?;
    let until = time_param("until", params.until.as_deref())?;
    let page = app
        .plane
        .decisions(&principal, since, until, params.cursor.as_deref(), limit)
        .await?;
    Ok(encode::ok("decision page", &page)?)
}

/// Verifies the whole ledger: every event hash, every link, every deployment row.
#[utoipa::path(
    get, path = "/v1/audit/verify", tag = "audit",
    responses(
        (status = 200, description = "The verification report; `ok` false names the first broken link", body = AuditReport),
        (status = 401, description = "No valid token", body = ProblemDocument, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn audit_verify(State(app): AppState, headers: HeaderMap) -> Result<Response, Problem> {
    app.auth.authorize(&headers, Permission::Read)?;
    let report = app.plane.verify().await?;
    Ok(encode::ok("audit report", &report)?)
}

/// Governance and operational signals over a window.
#[utoipa::path(
    get, path = "/v1/signals", tag = "audit",
    params(SignalParams),
    responses(
        (status = 200, description = "Counts, most violated policies, DORA figures per environment", body = Signals),
        (status = 400, description = "Invalid window", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = ProblemDocument, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn signals(
    State(app): AppState,
    headers: HeaderMap,
    params: Result<Query<SignalParams>, QueryRejection>,
) -> Result<Response, Problem> {
    app.auth.authorize(&headers, Permission::Read)?;
    let days = query(params)?.window_days.unwrap_or(30);
    if !(1..=365).contains(&days) {
        return Err(Problem::bad_request(
            "invalid_query",
            "`window_days` must be between 1 and 365",
        ));
    }
    let signals = app.plane.signals(days).await?;
    Ok(encode::ok("signals", &signals)?)
}

/// The loaded policy bundle and its catalogue.
#[utoipa::path(
    get, path = "/v1/policies", tag = "decisions",
    responses(
        (status = 200, description = "{bundle: {name, revision, digest}, policies: {id: metadata}, packages}", body = Object),
        (status = 401, description = "No valid token", body = ProblemDocument, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn policies(State(app): AppState, headers: HeaderMap) -> Result<Response, Problem> {
    app.auth.authorize(&headers, Permission::Read)?;
    Ok(encode::ok("policy list", &policies_document(&app.plane)?)?)
}

/// The `GET /v1/policies` document.
pub fn policies_document(plane: &ControlPlane) -> Result<Value, EncodeError> {
    /// The policy packages of each stage.
    #[derive(Serialize)]
    struct Packages<'a> {
        admission: &'a [String],
        gates: &'a [String],
    }
    /// The document.
    #[derive(Serialize)]
    struct Policies<'a> {
        bundle: &'a BundleInfo,
        policies: BTreeMap<&'a str, &'a PolicyMeta>,
        packages: Packages<'a>,
        exemptions: &'a [Exemption],
    }
    let engine = plane.engine();
    encode::to_value(
        "policy catalogue",
        Policies {
            bundle: engine.info(),
            policies: engine.catalog().iter().collect(),
            packages: Packages {
                admission: engine.packages(Stage::Admission),
                gates: engine.packages(Stage::Gates),
            },
            exemptions: engine.exemptions(),
        },
    )
}

/// The evaluation context the server would use now for an intent of a service: `{now, history}`.
/// A preview evaluated in this context (e.g. by the WASM engine over `GET /v1/bundle`) matches
/// the server's decision.
#[utoipa::path(
    get, path = "/v1/context", tag = "decisions",
    params(ContextParams),
    responses(
        (status = 200, description = "The context", body = EvaluationContext),
        (status = 400, description = "Invalid query", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = ProblemDocument, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn context(
    State(app): AppState,
    headers: HeaderMap,
    params: Result<Query<ContextParams>, QueryRejection>,
) -> Result<Response, Problem> {
    app.auth.authorize(&headers, Permission::Read)?;
    let service = query(params)?.service.unwrap_or_default();
    if service.len() > 200 {
        return Err(Problem::bad_request(
            "invalid_query",
            "`service` is at most 200 characters",
        ));
    }
    let context = app.plane.service_context(&service).await?;
    Ok(encode::ok("evaluation context", &context)?)
}

/// The loaded bundle as one document, for a browser engine (WASM) or an embedder (Python) to
/// judge with exactly the server's bundle, with its signature when the bundle directory is
/// signed. A poller sends `If-None-Match` with the ETag it has and gets `304` until the bundle
/// (or its signature) changes.
#[utoipa::path(
    get, path = "/v1/bundle", tag = "decisions",
    params(
        ("If-None-Match" = Option<String>, Header, description = "ETags already held (`\"tag\"`, `W/\"tag\"`, a comma-separated list, or `*`); when one matches, `304` without a body"),
    ),
    responses(
        (status = 200, description = "{format: gatehouse.bundle/v1, name, revision, digest, files: {path: text}, signature?: the bundle directory's DSSE envelope (bundle.sig.json) as an object, when it has one}", body = Object,
         headers(("ETag" = String, description = "The bundle digest, followed by `+sig.` and 16 hex digits of the envelope's SHA-256 when signed"))),
        (status = 304, description = "`If-None-Match` matches the current ETag (weak comparison): no body",
         headers(("ETag" = String, description = "The current ETag, as with 200"))),
        (status = 401, description = "No valid token", body = ProblemDocument, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn bundle(State(app): AppState, headers: HeaderMap) -> Result<Response, Problem> {
    app.auth.authorize(&headers, Permission::Read)?;
    let packed = app.plane.packed_bundle();
    let etag = packed.etag();
    if crate::conditional::none_match(&headers, &etag) {
        return Ok(with_etag(StatusCode::NOT_MODIFIED.into_response(), &etag));
    }
    Ok(with_etag(
        json_response(StatusCode::OK, packed.to_json(false)),
        &etag,
    ))
}

/// Reloads the policy bundle from disk (atomically; on error the running bundle stays).
#[utoipa::path(
    post, path = "/v1/admin/reload", tag = "admin",
    responses(
        (status = 200, description = "The new bundle {name, revision, digest}", body = gatehouse_core::BundleInfo),
        (status = 401, description = "No valid token", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 422, description = "The bundle on disk is invalid; the running one is kept", body = ProblemDocument, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn reload(State(app): AppState, headers: HeaderMap) -> Result<Response, Problem> {
    let principal = app.auth.authorize(&headers, Permission::Administer)?;
    let plane = Arc::clone(&app.plane);
    let engine = to_completion(async move { plane.reload(&principal).await }).await?;
    Ok(encode::ok("bundle info", engine.info())?)
}

/// Who the token belongs to, its role and approval roles, and whether the server runs on demo
/// tokens. Without a token it answers 200 naming nobody (`name` and `role` null, no approval
/// roles) with only `demo` set, on every server, so a UI can tell what to offer; a token that
/// is not valid gets 401.
#[utoipa::path(get, path = "/v1/whoami", tag = "operations",
    responses(
        (status = 200, description = "The caller; without a token, nobody (only `demo` set)", body = Identity),
        (status = 401, description = "A token that is not valid", body = ProblemDocument, content_type = "application/problem+json"),
    ))]
pub async fn whoami(State(app): AppState, headers: HeaderMap) -> Result<Response, Problem> {
    Ok(encode::ok(
        "identity",
        &app.auth.identify(&headers, app.config.demo)?,
    )?)
}

/// The version of this server: the workspace version, as `gatehouse --version` prints it.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The answer of `GET /healthz`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// Always `ok`.
    #[schema(example = "ok")]
    pub status: &'static str,
    /// The server's version, as `gatehouse --version` prints it.
    #[schema(example = "0.1.0")]
    pub version: &'static str,
}

/// The answer of `GET /readyz`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Ready {
    /// Always `ready`.
    #[schema(example = "ready")]
    pub status: &'static str,
    /// The server's version, as `gatehouse --version` prints it.
    #[schema(example = "0.1.0")]
    pub version: &'static str,
    /// The digest of the bundle this server judges with (the active one).
    pub bundle_digest: String,
    /// This server's id, new at every start.
    pub replica_id: String,
    /// The database backend: `SQLite` or `PostgreSQL`.
    pub database: String,
}

/// Liveness, and the server's version.
#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, description = "The process is up", body = Health)))]
pub async fn healthz() -> Result<Response, Problem> {
    Ok(encode::ok(
        "health",
        &Health {
            status: "ok",
            version: VERSION,
        },
    )?)
}

/// Readiness: the database answers and this server judges with the active bundle (the one last
/// loaded by any server on the same database).
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses(
        (status = 200, description = "Ready", body = Ready),
        (status = 503, description = "The database does not answer (`not_ready`), or this server's bundle is not the active one (`bundle_mismatch`: a rollout in progress)", body = ProblemDocument, content_type = "application/problem+json"),
    ))]
pub async fn readyz(State(app): AppState) -> Result<Response, Problem> {
    let ready = app.plane.readiness().await.map_err(|e| match e {
        ControlError::BundleMismatch { .. } => Problem::from(e),
        ControlError::StoreUnavailable { source } | ControlError::Store { source } => {
            Problem::unavailable(
                "not_ready",
                format!("the database does not answer: {source}"),
            )
        }
        other => Problem::unavailable(
            "not_ready",
            format!("not ready: {}", crate::refusal::detail(&other)),
        ),
    })?;
    Ok(encode::ok(
        "readiness",
        &Ready {
            status: "ready",
            version: VERSION,
            bundle_digest: ready.bundle_digest,
            replica_id: ready.replica_id,
            database: app.plane.backend().to_string(),
        },
    )?)
}

/// The servers sharing this database: the bundle each judges with, when each was last seen,
/// and the active bundle.
#[utoipa::path(get, path = "/v1/replicas", tag = "operations",
    responses(
        (status = 200, description = "The active bundle and each server's report", body = Replicas),
        (status = 401, description = "No valid token", body = ProblemDocument, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn replicas(State(app): AppState, headers: HeaderMap) -> Result<Response, Problem> {
    app.auth.authorize(&headers, Permission::Read)?;
    Ok(encode::ok("replica list", &app.plane.replicas().await?)?)
}

/// Prometheus metrics (OpenMetrics text); needs a token unless `metrics.public` (or
/// `anonymous_read`) is set.
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses(
        (status = 200, description = "OpenMetrics text", body = String, content_type = "application/openmetrics-text"),
        (status = 401, description = "No valid token", body = ProblemDocument, content_type = "application/problem+json"),
    ),
    security((), ("bearer" = [])))]
pub async fn metrics(State(app): AppState, headers: HeaderMap) -> Result<Response, Problem> {
    if !app.config.metrics.public {
        app.auth.authorize(&headers, Permission::Read)?;
    }
    Ok((
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
        )],
        app.metrics.render(),
    )
        .into_response())
}
