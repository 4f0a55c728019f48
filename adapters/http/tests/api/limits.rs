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
    // The holder takes the only slot: once it has been answered, the server has accepted it
    // (it keeps the connection open, so the slot stays taken).
    let mut holder = TcpStream::connect(&addr).await.unwrap();
    holder
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut answer = [0u8; 12];
    tokio::time::timeout(WAIT, holder.read_exact(&mut answer))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&answer, b"HTTP/1.1 200");
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

/// A connection to the server from the local address `127.0.0.2` (Linux routes 127.0.0.0/8 to
/// loopback): another client as the server sees it.
async fn connect_from_other_address(h: &Harness) -> TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.2:0".parse().unwrap()).unwrap();
    socket
        .connect(h.base.trim_start_matches("http://").parse().unwrap())
        .await
        .unwrap()
}

/// Sends the head of `POST /v1/evaluate` declaring `length` bytes of body, and no body.
async fn declare_body(stream: &mut TcpStream, length: usize) {
    stream
        .write_all(
            format!(
                "POST /v1/evaluate HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {AUDITOR}\r\nContent-Type: application/json\r\nContent-Length: {length}\r\n\r\n"
            )
            .as_bytes(),
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn bodies_beyond_a_clients_budget_are_refused_unread_and_other_clients_are_served() {
    // One client may have 64 KiB of bodies in flight, all clients 128 KiB.
    let h = Harness::with_config(
        "[limits]\nbody_bytes = 65536\nbody_bytes_in_flight = 131072\nbody_bytes_in_flight_per_client = 65536\nevaluation_wait_ms = 200\nbody_read_timeout_ms = 60000\n",
    )
    .await;
    // Two requests of 127.0.0.2 declare 64 KiB each and send none of it: one holds the
    // client's budget while it waits for its body; the other is answered 503 `overloaded`
    // without its body being read.
    let mut first = connect_from_other_address(&h).await;
    let mut second = connect_from_other_address(&h).await;
    declare_body(&mut first, 65536).await;
    declare_body(&mut second, 65536).await;
    let read = |mut stream: TcpStream| async move {
        let mut buf = Vec::new();
        let _ = stream.read_to_end(&mut buf).await;
        String::from_utf8_lossy(&buf).into_owned()
    };
    let answered = tokio::time::timeout(Duration::from_secs(15), async {
        tokio::select! {
            a = read(first) => a,
            b = read(second) => b,
        }
    })
    .await;
    assert!(answered.is_ok(), "neither request was answered");
    let answer = answered.unwrap().to_ascii_lowercase();
    assert!(answer.starts_with("http/1.1 503"), "{answer}");
    assert!(answer.contains("retry-after: 1"), "{answer}");
    assert!(answer.contains("\"code\":\"overloaded\""), "{answer}");
    assert!(answer.contains("body_bytes_in_flight"), "{answer}");
    // 127.0.0.1 is another client: its budget and the shared one have room.
    let (status, decision) = h
        .post("/v1/evaluate", AUDITOR, &json!({"intent": dev_intent()}))
        .await;
    assert_eq!(status, StatusCode::OK, "{decision}");
    h.stop().await;
}

#[tokio::test]
async fn a_body_with_too_many_items_is_refused_before_it_is_parsed() {
    let h = Harness::with_config("[limits]\njson_items = 1000\n").await;
    let mut intent = dev_intent();
    // Within every per-list cap of the schema: 10 lists of 100 in a resource's config.
    intent["spec"]["resources"][0]["config"] = json!({"matrix": vec![vec![0; 100]; 10]});
    for path in ["/v1/evaluate", "/v1/deployments"] {
        let (status, problem) = h.post(path, REQUESTER, &json!({"intent": intent})).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{path}: {problem}");
        assert_eq!(problem["code"], "too_many_items", "{problem}");
        assert!(
            problem["detail"]
                .as_str()
                .unwrap()
                .contains("`limits.json_items`"),
            "{problem}"
        );
    }
    let (_, page) = h.get("/v1/deployments", AUDITOR).await;
    assert_eq!(page["total"], 0);
    h.stop().await;
}
