//! Pipeline callbacks against a caller who replays, moves or races them.

use std::sync::Arc;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::*;

async fn validated(h: &Harness) -> String {
    h.submit(dev_intent()).await["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn a_captured_callback_replayed_on_another_deployment_is_refused() {
    let h = Harness::start().await;
    let intent = dev_intent();
    let (a, b, c) = (
        validated(&h).await,
        validated(&h).await,
        validated(&h).await,
    );
    // Deployment A's real reports, as captured on the wire.
    let started = serde_json::to_vec(&json!({"status": "started"})).unwrap();
    let started_headers = signed_callback(&a, "run-a-1", now_seconds(), &started);
    let (status, _) = h.send_callback(&a, &started_headers, started.clone()).await;
    assert_eq!(status, StatusCode::OK);
    let done =
        serde_json::to_vec(&json!({"status": "succeeded", "evidence": matching_evidence(&intent)}))
            .unwrap();
    let done_headers = signed_callback(&a, "run-a-2", now_seconds(), &done);
    let (status, r) = h.send_callback(&a, &done_headers, done.clone()).await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(r["state"], "SUCCESS");

    // Replayed on B under a new delivery id (the signature stays A's).
    for (headers, body) in [(&started_headers, &started), (&done_headers, &done)] {
        let mut moved = headers.clone();
        moved[0].1 = format!("replay-{}", moved[0].1);
        let (status, p) = h.send_callback(&b, &moved, body.clone()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{p}");
        // And unchanged (same delivery id) on B.
        let (status, p) = h.send_callback(&b, headers, body.clone()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{p}");
    }
    // A `failed` report of one deployment cannot fail another.
    let failed = serde_json::to_vec(&json!({"status": "failed", "reason": "boom"})).unwrap();
    let failed_headers = signed_callback(&a, "run-a-3", now_seconds(), &failed);
    let (status, p) = h.send_callback(&c, &failed_headers, failed).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{p}");
    assert_eq!(h.event_types(&b).await, ["requested", "validated"]);
    assert_eq!(h.event_types(&c).await, ["requested", "validated"]);
    h.stop().await;
}

#[tokio::test]
async fn a_callback_outside_the_timestamp_window_is_refused_with_the_server_time() {
    let h = Harness::start().await;
    let id = validated(&h).await;
    let body = serde_json::to_vec(&json!({"status": "started"})).unwrap();
    for skew in [-301, 301, -100_000] {
        let headers = signed_callback(&id, "late", now_seconds() + skew, &body);
        let (status, p) = h.send_callback(&id, &headers, body.clone()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{skew}: {p}");
        assert_eq!(p["code"], "stale_timestamp", "{p}");
        assert!(p["detail"].as_str().unwrap().contains("server time"), "{p}");
    }
    // Without a timestamp at all.
    let mut headers = signed_callback(&id, "none", now_seconds(), &body);
    headers.remove(1);
    let (status, _) = h.send_callback(&id, &headers, body.clone()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(h.event_types(&id).await, ["requested", "validated"]);
    // Inside the window it is taken.
    let headers = signed_callback(&id, "ok", now_seconds() - 200, &body);
    let (status, p) = h.send_callback(&id, &headers, body).await;
    assert_eq!(status, StatusCode::OK, "{p}");
    h.stop().await;
}

#[tokio::test]
async fn delivery_ids_are_unique_per_deployment() {
    let h = Harness::start().await;
    let (a, b) = (validated(&h).await, validated(&h).await);
    let (status, r) = h.callback(&a, "run-1", &json!({"status": "started"})).await;
    assert_eq!(status, StatusCode::OK, "{r}");
    let (status, r) = h.callback(&b, "run-1", &json!({"status": "started"})).await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(r["deployment_id"], b.as_str());
    assert_eq!(
        h.event_types(&b).await,
        ["requested", "validated", "started"]
    );
    h.assert_ledger_ok().await;
    h.stop().await;
}

#[tokio::test]
async fn parallel_callbacks_of_one_deployment_are_all_recorded() {
    let h = Arc::new(Harness::start().await);
    let id = validated(&h).await;
    let mut tasks = Vec::new();
    for i in 0..8 {
        let (h, id) = (Arc::clone(&h), id.clone());
        tasks.push(tokio::spawn(async move {
            h.callback(&id, &format!("step-{i}"), &json!({"status": "started"}))
                .await
        }));
    }
    for task in tasks {
        let (status, r) = task.await.unwrap();
        assert_eq!(status, StatusCode::OK, "{r}");
    }
    assert_eq!(h.event_types(&id).await.len(), 2 + 8);
    h.assert_ledger_ok().await;
}

#[tokio::test]
async fn concurrent_redeliveries_get_the_same_stored_response() {
    let h = Arc::new(Harness::start().await);
    let id = validated(&h).await;
    let body = serde_json::to_vec(&json!({"status": "started"})).unwrap();
    let headers = signed_callback(&id, "same", now_seconds(), &body);
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (h, id, headers, body) = (Arc::clone(&h), id.clone(), headers.clone(), body.clone());
        tasks.push(tokio::spawn(async move {
            h.send_callback(&id, &headers, body).await
        }));
    }
    let mut answers: Vec<Value> = Vec::new();
    for task in tasks {
        let (status, r) = task.await.unwrap();
        assert_eq!(status, StatusCode::OK, "{r}");
        answers.push(r);
    }
    assert!(answers.windows(2).all(|w| w[0] == w[1]), "{answers:?}");
    assert_eq!(
        h.event_types(&id).await,
        ["requested", "validated", "started"]
    );
}
