//! Work and memory stay bounded: stalled connections, connection cap, evaluation concurrency,
//! list summaries, signals and retention that read only what they need.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::harness::*;

/// Reads until the server closes the connection; false if it is still open after `limit`.
async fn closed_within(stream: &mut TcpStream, limit: Duration) -> bool {
    let mut buf = [0u8; 1024];
    let read = async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    };
    tokio::time::timeout(limit, read).await.is_ok()
}

#[tokio::test]
async fn a_client_that_stalls_in_its_headers_is_disconnected() {
    let h = Harness::with_config("[limits]\nheader_read_timeout_ms = 300\n").await;
    let addr = h.base.trim_start_matches("http://").to_owned();
    let mut half_line = TcpStream::connect(&addr).await.unwrap();
    half_line.write_all(b"GET /healthz HT").await.unwrap();
    let mut half_headers = TcpStream::connect(&addr).await.unwrap();
    half_headers
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: 1")
        .await
        .unwrap();
    // Generous bound: the configured timeout is 0.3 s.
    assert!(closed_within(&mut half_line, Duration::from_secs(10)).await);
    assert!(closed_within(&mut half_headers, Duration::from_secs(10)).await);
    h.stop().await;
}

#[tokio::test]
async fn connections_beyond_the_cap_wait_for_a_free_slot() {
    let h = Harness::with_config("[limits]\nmax_connections = 1\nheader_read_timeout_ms = 30000\n")
        .await;
    let addr = h.base.trim_start_matches("http://").to_owned();
    let holder = TcpStream::connect(&addr).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut waiting = TcpStream::connect(&addr).await.unwrap();
    waiting
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut buf = Vec::new();
    let early =
        tokio::time::timeout(Duration::from_millis(500), waiting.read_to_end(&mut buf)).await;
    assert!(
        early.is_err() && buf.is_empty(),
        "served beyond the cap: {}",
        String::from_utf8_lossy(&buf)
    );
    drop(holder);
    tokio::time::timeout(Duration::from_secs(10), waiting.read_to_end(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert!(String::from_utf8_lossy(&buf).starts_with("HTTP/1.1 200"));
    h.stop().await;
}

#[tokio::test]
async fn a_body_that_never_arrives_times_out() {
    let h = Harness::with_config("[limits]\nbody_read_timeout_ms = 300\n").await;
    let addr = h.base.trim_start_matches("http://").to_owned();
    let mut stream = TcpStream::connect(&addr).await.unwrap();
    stream
        .write_all(
            format!(
                "POST /v1/evaluate HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {AUDITOR}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"intent\""
            )
            .as_bytes(),
        )
        .await
        .unwrap();
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut buf)).await;
    let text = String::from_utf8_lossy(&buf);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    h.stop().await;
}

#[tokio::test]
async fn evaluations_beyond_the_limit_are_refused_as_overloaded() {
    let h = Harness::with_config("[limits]\nevaluation_concurrency = 1\nevaluation_wait_ms = 50\n")
        .await;
    let plane = std::sync::Arc::clone(&h.server.as_ref().unwrap().plane);
    let held = plane.evaluation_slot().unwrap();
    let r = h
        .request(Method::POST, "/v1/evaluate", Some(AUDITOR))
        .json(&json!({"intent": dev_intent()}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(r.headers().contains_key("retry-after"));
    let (_, p) = json_of(r).await;
    assert_eq!(p["code"], "overloaded");
    drop(held);
    let (status, _) = h
        .post("/v1/evaluate", AUDITOR, &json!({"intent": dev_intent()}))
        .await;
    assert_eq!(status, StatusCode::OK);
    h.stop().await;
}

#[tokio::test]
async fn the_list_and_signals_do_not_read_intents_or_decisions() {
    let h = Harness::start().await;
    let d = h.submit(dev_intent()).await;
    let id = d["id"].as_str().unwrap().to_owned();
    let (status, page) = h.get("/v1/deployments", AUDITOR).await;
    assert_eq!(status, StatusCode::OK);
    let item = &page["items"][0];
    assert!(item.get("intent").is_none(), "{item}");
    assert!(item.get("decision").is_none());
    assert_eq!(item["outcome"], "allow");
    assert_eq!(item["id"], id.as_str());
    assert_eq!(item["etag"], d["etag"]);
    for key in [
        "service",
        "version",
        "artifact",
        "environment",
        "cloud",
        "account",
        "region",
        "requested_by",
        "submitted_by",
        "created_at",
        "updated_at",
        "bundle_digest",
        "state",
    ] {
        assert!(item.get(key).is_some(), "{key} missing: {item}");
    }
    // Unreadable intent and decision columns: only the full view needs them.
    let db = h.dir.path().join("gatehouse.db");
    execute(
        &db,
        "UPDATE deployments SET intent = 'not json', decision = 'not json'",
    )
    .await;
    let (status, page) = h.get("/v1/deployments", AUDITOR).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page["total"], 1);
    let (status, signals) = h.get("/v1/signals", AUDITOR).await;
    assert_eq!(status, StatusCode::OK, "{signals}");
    assert_eq!(signals["total"], 1);
    assert_eq!(signals["by_state"]["VALIDATED"], 1);
    h.stop().await;
}
