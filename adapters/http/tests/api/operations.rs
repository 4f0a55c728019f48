//! CORS, bundle reload, metrics, OpenAPI, health, and tamper detection of the ledger.

use std::path::Path;

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::harness::*;

#[tokio::test]
async fn cors_preflight_allows_listed_origins_only() {
    let h =
        Harness::with_config("[cors]\nallowed_origins = [\"https://portal.example.com\"]\n").await;
    let preflight = |origin: &str| {
        h.request(Method::OPTIONS, "/v1/deployments", None)
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "authorization, content-type, idempotency-key",
            )
            .send()
    };
    let ok = preflight("https://portal.example.com").await.unwrap();
    assert!(ok.status().is_success(), "{}", ok.status());
    assert_eq!(
        ok.headers()["access-control-allow-origin"],
        "https://portal.example.com"
    );
    let methods = ok.headers()["access-control-allow-methods"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(methods.contains("POST"), "{methods}");
    let headers = ok.headers()["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_lowercase();
    assert!(
        headers.contains("authorization") && headers.contains("idempotency-key"),
        "{headers}"
    );
    let evil = preflight("https://evil.example.com").await.unwrap();
    assert!(evil.headers().get("access-control-allow-origin").is_none());
    // A simple request from the portal carries the header and exposes the ETag.
    let r = h
        .request(Method::GET, "/healthz", None)
        .header("origin", "https://portal.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.headers()["access-control-allow-origin"],
        "https://portal.example.com"
    );
    h.stop().await;
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[tokio::test]
async fn the_bundle_reloads_atomically_and_a_broken_one_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("policies");
    copy_dir(&policies(), &bundle);
    let h = Harness::with_config_in(dir, "", bundle.clone()).await;
    let (_, before) = h.get("/v1/policies", AUDITOR).await;
    let digest = before["bundle"]["digest"].as_str().unwrap().to_owned();
    assert!(before["policies"]["tags.required"].is_object());

    // A bundle that does not compile is refused; the running one stays.
    std::fs::write(
        bundle.join("rules/broken.rego"),
        "package gatehouse.policies.broken\ndeny contains x if {",
    )
    .unwrap();
    let (status, p) = h.post("/v1/admin/reload", ADMIN, &json!({})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{p}");
    assert!(!p["errors"].as_array().unwrap().is_empty(), "{p}");
    let (_, still) = h.get("/v1/policies", AUDITOR).await;
    assert_eq!(still["bundle"]["digest"], digest.as_str());

    // A valid change is picked up, and decisions record the new digest.
    std::fs::remove_file(bundle.join("rules/broken.rego")).unwrap();
    let manifest = bundle.join("bundle.json");
    let text = std::fs::read_to_string(&manifest).unwrap();
    let mut m: serde_json::Value = serde_json::from_str(&text).unwrap();
    m["revision"] = json!("test-reload");
    std::fs::write(&manifest, m.to_string()).unwrap();
    let (status, info) = h.post("/v1/admin/reload", ADMIN, &json!({})).await;
    assert_eq!(status, StatusCode::OK, "{info}");
    assert_eq!(info["revision"], "test-reload");
    let d = h.submit(dev_intent()).await;
    assert_eq!(d["bundle_digest"], info["digest"]);
    assert_ne!(d["bundle_digest"], digest.as_str());
    h.stop().await;
}

#[tokio::test]
async fn operations_endpoints() {
    let h = Harness::start().await;
    h.submit(dev_intent()).await;
    h.submit(example("payments-api-docker-hub-denied.yaml"))
        .await;
    let (status, health) = json_of(
        h.request(Method::GET, "/healthz", None)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    // The version `gatehouse --version` prints (the workspace's).
    assert_eq!(
        health,
        json!({"status": "ok", "version": env!("CARGO_PKG_VERSION")})
    );
    let (status, ready) = json_of(
        h.request(Method::GET, "/readyz", None)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ready["version"], env!("CARGO_PKG_VERSION"));
    assert!(
        ready["bundle_digest"]
            .as_str()
            .unwrap()
            .starts_with("sha256:")
    );
    let metrics = h
        .request(Method::GET, "/metrics", Some(AUDITOR))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for needle in [
        "gatehouse_decisions_total{outcome=\"allow\",stage=\"admission\"} 1",
        "gatehouse_evaluation_seconds_bucket",
        "gatehouse_decisions_total{outcome=\"deny\",stage=\"admission\"} 1",
        "gatehouse_violations_total{policy=\"artifact.registry-allowed\",status=\"blocking\"} 1",
    ] {
        assert!(
            metrics.contains(needle),
            "{needle} missing from:\n{metrics}"
        );
    }
    let (status, doc) = json_of(
        h.request(Method::GET, "/openapi.json", None)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    h.stop().await;
}

#[tokio::test]
async fn audit_verify_finds_any_edited_or_deleted_row() {
    let h = Harness::start().await;
    for _ in 0..3 {
        h.submit(dev_intent()).await;
    }
    let db = h.dir.path().join("gatehouse.db");
    h.assert_ledger_ok().await;
    let dir = h.stop().await;
    for (sql, code) in [
        (
            "UPDATE events SET actor = 'mallory' WHERE position = 3",
            "chain_hash",
        ),
        ("DELETE FROM events WHERE position = 2", "ledger_position"),
        ("DELETE FROM events WHERE position = 6", "ledger_head"),
        (
            "UPDATE deployments SET state = 'SUCCESS' WHERE seq = 2",
            "projection_mismatch",
        ),
        (
            "DELETE FROM deployments WHERE seq = 1",
            "projection_mismatch",
        ),
    ] {
        let backup = snapshot(&db).await;
        execute(&db, sql).await;
        let report = verify_store(&db).await;
        assert!(!report.ok, "{sql} went unnoticed");
        assert_eq!(
            report.first_broken.as_ref().unwrap().code,
            code,
            "{sql}: {report:?}"
        );
        restore(&db, backup).await;
    }
    drop(dir);
}

#[tokio::test]
async fn the_readme_request_bodies_work() {
    let h = Harness::start().await;
    let docs = policies().join("../docs/api");
    let body = |name: &str| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(docs.join(name)).unwrap()).unwrap()
    };
    let (status, d) = h
        .post(
            "/v1/deployments",
            REQUESTER,
            &body("submit-web-frontend-dev.json"),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{d}");
    assert_eq!(d["state"], "VALIDATED");
    let (status, d) = h
        .post(
            "/v1/deployments",
            REQUESTER,
            &body("submit-web-frontend-dev-over-budget.json"),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{d}");
    assert_eq!(d["state"], "REQUESTED");
    assert_eq!(d["decision"]["outcome"], "needs_approval");
    h.stop().await;
}
