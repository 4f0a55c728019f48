//! Dispatch happens once, and cancel means cancelled.

use std::collections::BTreeMap;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::harness::*;

fn webhook(receiver: &Receiver, extra: &str) -> String {
    format!(
        "[executor]\nkind = \"webhook\"\nurl = \"{}/hooks/deploy\"\nsecret = \"webhook-secret-0123456789\"\n\n[dispatch]\n{extra}\n",
        receiver.url
    )
}

#[tokio::test]
async fn cancel_while_a_dispatch_waits_to_retry_stops_the_dispatch() {
    let receiver = Receiver::start(503).await;
    let h = Harness::with_config(&webhook(
        &receiver,
        "max_attempts = 10\ninitial_backoff_ms = 1000\nmax_backoff_ms = 1000",
    ))
    .await;
    let d = h.submit(dev_intent()).await;
    let id = d["id"].as_str().unwrap().to_owned();
    wait_until(WAIT, "no dispatch attempt arrived", async || {
        !receiver.requests().is_empty()
    })
    .await;
    let (_, d) = h.get(&format!("/v1/deployments/{id}"), REQUESTER).await;
    let (status, d) = json_of(
        h.request(
            Method::POST,
            &format!("/v1/deployments/{id}/cancel"),
            Some(REQUESTER),
        )
        .header("if-match", format!("\"{}\"", d["etag"].as_str().unwrap()))
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{d}");
    assert_eq!(d["state"], "CANCELLED");
    assert_eq!(d["dispatch"]["status"], "cancelled", "{d}");
    receiver
        .status
        .store(204, std::sync::atomic::Ordering::SeqCst);
    // A fixed wait on purpose: what is checked is that nothing arrives, for longer than the
    // 1 s backoff, so a retry that the cancel failed to stop would have been sent.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(receiver.requests().len(), 1, "delivered after the cancel");
    assert_eq!(
        h.event_types(&id).await,
        ["requested", "validated", "cancelled"]
    );
    h.assert_ledger_ok().await;
    h.stop().await;
}

#[tokio::test]
async fn two_servers_on_one_database_deliver_each_dispatch_once() {
    let receiver = Receiver::start(204).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("shared.db");
    let config = webhook(&receiver, "initial_backoff_ms = 20\nmax_backoff_ms = 50");
    let a = Harness::with_database(dir, db.clone(), &config, policies()).await;
    let b = Harness::with_database(tempfile::tempdir().unwrap(), db, &config, policies()).await;
    let mut ids = Vec::new();
    for i in 0..30 {
        let h = if i % 2 == 0 { &a } else { &b };
        ids.push(
            h.submit(dev_intent()).await["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    for id in &ids {
        a.wait_for_state(id, "IN_PROGRESS").await;
    }
    // Let any second delivery arrive before counting: a fixed wait on purpose, since what is
    // checked is that none comes (the backoff is at most 50 ms).
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut per_deployment: BTreeMap<String, usize> = BTreeMap::new();
    for r in receiver.requests() {
        let payload: Value = serde_json::from_slice(&r.body).unwrap();
        *per_deployment
            .entry(payload["deployment_id"].as_str().unwrap().to_owned())
            .or_default() += 1;
    }
    assert_eq!(per_deployment.len(), ids.len());
    let twice: Vec<_> = per_deployment.iter().filter(|(_, n)| **n != 1).collect();
    assert!(twice.is_empty(), "delivered more than once: {twice:?}");
    a.assert_ledger_ok().await;
    b.stop().await;
    a.stop().await;
}

#[tokio::test]
async fn a_timed_out_submission_is_not_stored() {
    let h = Harness::with_config("[limits]\nrequest_timeout_ms = 1\n").await;
    let db = h.dir.path().join("gatehouse.db");
    let mut timed_out = 0;
    for i in 0..5 {
        let key = format!("slow-{i}");
        let (status, body) = json_of(
            h.request(Method::POST, "/v1/deployments", Some(REQUESTER))
                .header("idempotency-key", &key)
                .json(&json!({"intent": dev_intent()}))
                .send()
                .await
                .unwrap(),
        )
        .await;
        // Whatever the blocking task still does after the answer has had time to finish: a
        // fixed wait on purpose, since after a 503 what is checked is that nothing gets stored.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let stored = count(&db, "SELECT COUNT(*) FROM idempotency WHERE key = ?1", &key).await;
        match status {
            StatusCode::CREATED => assert_eq!(stored, 1, "{body}"),
            StatusCode::SERVICE_UNAVAILABLE => {
                timed_out += 1;
                assert_eq!(stored, 0, "answered 503 but stored it: {body}");
                let detail = body["detail"].as_str().unwrap();
                assert!(detail.contains("nothing was stored"), "{detail}");
                assert!(detail.contains("Idempotency-Key"), "{detail}");
            }
            other => panic!("{other}: {body}"),
        }
    }
    assert!(timed_out > 0, "no submission ran past 1 ms");
    h.stop().await;
}
