//! Malformed input: each gets a precise 4xx problem, nothing is stored, nothing panics.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::harness::*;

async fn raw(
    h: &Harness,
    path: &str,
    content_type: Option<&str>,
    body: Vec<u8>,
) -> (StatusCode, Value) {
    let mut r = h.request(Method::POST, path, Some(REQUESTER));
    if let Some(ct) = content_type {
        r = r.header("content-type", ct);
    }
    json_of(r.body(body).send().await.unwrap()).await
}

#[tokio::test]
async fn every_malformed_body_gets_its_own_status_and_code() {
    let h = Harness::start().await;
    let json = Some("application/json");
    let deep = format!("{{\"intent\":{}{}}}", "[".repeat(100), "]".repeat(100));
    let big = format!(
        "{{\"intent\":{{\"pad\":\"{}\"}}}}",
        "x".repeat(1024 * 1024 + 10)
    );
    /// (path, content type, body, status, problem code)
    type Case<'a> = (&'a str, Option<&'a str>, Vec<u8>, StatusCode, &'a str);
    let cases: Vec<Case> = vec![
        (
            "/v1/deployments",
            json,
            b"{\"intent\": ".to_vec(),
            StatusCode::BAD_REQUEST,
            "malformed_json",
        ),
        (
            "/v1/deployments",
            json,
            b"".to_vec(),
            StatusCode::BAD_REQUEST,
            "empty_body",
        ),
        (
            "/v1/deployments",
            Some("text/plain"),
            b"{}".to_vec(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        (
            "/v1/deployments",
            None,
            b"{}".to_vec(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        (
            "/v1/deployments",
            json,
            b"{\"intent\": {}, \"extra\": 1}".to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
        (
            "/v1/deployments",
            json,
            b"{}".to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
        (
            "/v1/deployments",
            json,
            b"[1, 2]".to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
        (
            "/v1/deployments",
            json,
            deep.clone().into_bytes(),
            StatusCode::BAD_REQUEST,
            "too_deep",
        ),
        (
            "/v1/deployments",
            json,
            big.clone().into_bytes(),
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
        ),
        (
            "/v1/evaluate",
            json,
            b"{\"intent\": {}, \"context\": {\"now\": \"yesterday\"}}".to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_context",
        ),
        (
            "/v1/evaluate",
            json,
            b"{\"intent\": {}, \"stage\": \"later\"}".to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
        (
            "/v1/evaluate",
            json,
            deep.into_bytes(),
            StatusCode::BAD_REQUEST,
            "too_deep",
        ),
        (
            "/v1/evaluate",
            json,
            big.into_bytes(),
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
        ),
    ];
    for (path, ct, body, status, code) in cases {
        let (got, problem) = raw(&h, path, ct, body).await;
        assert_eq!(got, status, "{path}: {problem}");
        assert_eq!(problem["code"], code, "{problem}");
        assert_eq!(problem["status"], status.as_u16());
        assert!(!problem["detail"].as_str().unwrap().is_empty());
    }
    let (_, page) = h.get("/v1/deployments", AUDITOR).await;
    assert_eq!(page["total"], 0, "a malformed request stored something");
    h.stop().await;
}

#[tokio::test]
async fn a_schema_invalid_intent_is_refused_with_field_errors_but_evaluates_to_deny() {
    let h = Harness::start().await;
    let mut intent = dev_intent();
    intent["spec"]["enviroment"] = json!("dev");
    let (status, problem) = h
        .post("/v1/deployments", REQUESTER, &json!({"intent": intent}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem["code"], "invalid_intent");
    let errors = problem["errors"].as_array().unwrap();
    assert!(
        errors.iter().any(|e| e["path"] == "spec.enviroment"),
        "{problem}"
    );
    let (status, decision) = h
        .post("/v1/evaluate", REQUESTER, &json!({"intent": intent}))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(decision["outcome"], "deny");
    h.stop().await;
}

#[tokio::test]
async fn queries_paths_and_methods_are_checked() {
    let h = Harness::start().await;
    for path in [
        "/v1/deployments?limit=0",
        "/v1/deployments?limit=500",
        "/v1/deployments?limit=abc",
        "/v1/deployments?state=DONE",
        "/v1/signals?window_days=0",
    ] {
        let (status, p) = h.get(path, AUDITOR).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {p}");
    }
    let (status, _) = h.get("/v1/deployments/dep_nope", AUDITOR).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = h.get("/v1/deployments/dep_nope/events", AUDITOR).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = h.get("/v1/nothing", AUDITOR).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = json_of(
        h.request(Method::DELETE, "/v1/deployments", Some(ADMIN))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    let (status, _) = json_of(
        h.request(Method::POST, "/v1/deployments/dep_nope/cancel", Some(ADMIN))
            .header("if-match", "\"x\"")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    h.stop().await;
}

#[tokio::test]
async fn list_filters_and_pages() {
    let h = Harness::start().await;
    for _ in 0..3 {
        h.submit(dev_intent()).await;
    }
    h.submit(example("payments-api-docker-hub-denied.yaml"))
        .await;
    let (_, page) = h.get("/v1/deployments?limit=2", AUDITOR).await;
    assert_eq!(page["total"], 4);
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    assert_eq!(page["next_offset"], 2);
    assert_eq!(page["items"][0]["service"], "payments-api", "newest first");
    let (_, page) = h.get("/v1/deployments?limit=2&offset=2", AUDITOR).await;
    assert_eq!(page["next_offset"], Value::Null);
    let (_, page) = h.get("/v1/deployments?state=REJECTED", AUDITOR).await;
    assert_eq!(page["total"], 1);
    let (_, page) = h
        .get(
            "/v1/deployments?environment=dev&service=web-frontend&cloud=aws",
            AUDITOR,
        )
        .await;
    assert_eq!(page["total"], 3);
    let (_, page) = h.get("/v1/deployments?cloud=azure", AUDITOR).await;
    assert_eq!(page["total"], 0);
    h.stop().await;
}
