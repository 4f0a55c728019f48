//! Several servers on one database: each reports the bundle it judges with; a server whose
//! bundle is not the active one (the one last loaded) answers `/readyz` 503 until it loads it.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::harness::*;

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
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

async fn ready(h: &Harness) -> (StatusCode, serde_json::Value) {
    json_of(
        h.request(Method::GET, "/readyz", None)
            .send()
            .await
            .unwrap(),
    )
    .await
}

#[tokio::test]
async fn a_half_rolled_out_bundle_shows_in_readiness_until_every_server_has_it() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("shared.db");
    let (current, bundle) = (
        dir.path().join("policies"),
        dir.path().join("policies-next"),
    );
    copy_dir(&policies(), &current);
    copy_dir(&policies(), &bundle);
    let old = Harness::with_database(
        tempfile::tempdir().unwrap(),
        db.clone(),
        "",
        current.clone(),
    )
    .await;
    assert_eq!(ready(&old).await.0, StatusCode::OK);
    // A new revision reaches one server: it becomes the active bundle.
    let manifest = bundle.join("bundle.json");
    let mut m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&manifest).unwrap()).unwrap();
    m["revision"] = json!("next");
    std::fs::write(&manifest, m.to_string()).unwrap();
    let new = Harness::with_database(tempfile::tempdir().unwrap(), db, "", bundle.clone()).await;
    let (status, body) = ready(&new).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, problem) = ready(&old).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{problem}");
    assert_eq!(problem["code"], "bundle_mismatch");
    assert!(
        problem["detail"].as_str().unwrap().contains("`next`"),
        "{problem}"
    );
    let (status, replicas) = old.get("/v1/replicas", AUDITOR).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(replicas["active_bundle"]["revision"], "next");
    let servers = replicas["replicas"].as_array().unwrap();
    assert_eq!(servers.len(), 2, "{replicas}");
    for server in servers {
        assert_eq!(
            server["in_step"].as_bool().unwrap(),
            server["bundle_revision"] == "next",
            "{replicas}"
        );
    }
    // The old server is given the new bundle and reloads: ready again, and in step.
    std::fs::copy(&manifest, current.join("bundle.json")).unwrap();
    let (status, info) = old.post("/v1/admin/reload", ADMIN, &json!({})).await;
    assert_eq!(status, StatusCode::OK, "{info}");
    assert_eq!(ready(&old).await.0, StatusCode::OK);
    assert_eq!(ready(&new).await.0, StatusCode::OK);
    new.stop().await;
    old.stop().await;
}
