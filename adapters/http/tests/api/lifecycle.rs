//! The lifecycle over HTTP: dispatch, callbacks, gates, approvals, cancel, idempotency.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::harness::*;

fn github_config(receiver: &Receiver, attempts: u32) -> String {
    format!(
        "[executor]\nkind = \"github\"\nowner = \"acme\"\nrepo = \"deploy\"\napi_base = \"{}\"\ntoken_env = \"GATEHOUSE_TEST_GITHUB_TOKEN\"\n\n[dispatch]\nmax_attempts = {attempts}\ninitial_backoff_ms = 20\nmax_backoff_ms = 50\n",
        receiver.url
    )
}

#[tokio::test]
async fn full_lifecycle_to_success_through_a_github_dispatch() {
    let receiver = Receiver::start(204).await;
    let h = Harness::with_config(&github_config(&receiver, 3)).await;
    let intent = dev_intent();
    let d = h.submit(intent.clone()).await;
    let id = d["id"].as_str().unwrap().to_owned();
    assert_eq!(d["state"], "VALIDATED");
    assert_eq!(d["decision"]["outcome"], "allow");

    let d = h.wait_for_state(&id, "IN_PROGRESS").await;
    assert_eq!(d["dispatch"]["status"], "delivered");
    assert_eq!(d["dispatch"]["attempts"], 1);

    // What GitHub received: the real repository_dispatch call.
    let sent = receiver.requests();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].path, "/repos/acme/deploy/dispatches");
    assert_eq!(
        sent[0].headers["authorization"].to_str().unwrap(),
        "Bearer ghp_test_token"
    );
    assert_eq!(sent[0].headers["accept"], "application/vnd.github+json");
    let body: Value = serde_json::from_slice(&sent[0].body).unwrap();
    assert_eq!(body["event_type"], "gatehouse-deploy");
    assert_eq!(body["client_payload"]["deployment_id"], id.as_str());
    assert_eq!(body["client_payload"]["intent"], intent);
    assert_eq!(
        body["client_payload"]["callback_url"],
        format!("{}/v1/deployments/{id}/callbacks", h.base)
    );

    let (status, r) = h
        .callback(
            &id,
            "run-1-started",
            &json!({"status": "started", "run_url": "https://ci.example.com/run/1"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(r["state"], "IN_PROGRESS");
    let (status, r) = h
        .callback(
            &id,
            "run-1-done",
            &json!({"status": "succeeded", "run_url": "https://ci.example.com/run/1", "evidence": matching_evidence(&intent)}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(r["state"], "SUCCESS");
    assert_eq!(r["gates"]["outcome"], "allow");
    assert_eq!(
        h.event_types(&id).await,
        [
            "requested",
            "validated",
            "dispatched",
            "started",
            "succeeded"
        ]
    );
    let report = h.assert_ledger_ok().await;
    assert_eq!(report["events"], 5);

    // The success is history now: the next deployment's context sees it.
    let (_, context) = h.get("/v1/context?service=web-frontend", AUDITOR).await;
    assert_eq!(context["history"][0]["deployment_id"], id.as_str());
    assert_eq!(context["history"][0]["state"], "SUCCESS");
    let (_, signals) = h.get("/v1/signals", AUDITOR).await;
    assert_eq!(signals["by_state"]["SUCCESS"], 1);
    assert_eq!(signals["environments"]["dev"]["successes"], 1);
    assert_eq!(signals["environments"]["dev"]["change_failure_rate"], 0.0);
    h.stop().await;
}

#[tokio::test]
async fn a_gate_failure_makes_the_deployment_failed() {
    let h = Harness::start().await;
    let intent = dev_intent();
    let id = h.submit(intent.clone()).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // No executor: the external pipeline reports `started` itself.
    let (status, _) = h.callback(&id, "s", &json!({"status": "started"})).await;
    assert_eq!(status, StatusCode::OK);
    let mut evidence = matching_evidence(&intent);
    evidence["observed"]["artifact"] = json!(
        "ghcr.io/acme/web-frontend@sha256:0000000000000000000000000000000000000000000000000000000000000000"
    );
    let (status, r) = h
        .callback(
            &id,
            "d",
            &json!({"status": "succeeded", "evidence": evidence}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(r["state"], "FAILED");
    assert_eq!(r["gates"]["outcome"], "deny");
    let (_, events) = h
        .get(&format!("/v1/deployments/{id}/events"), AUDITOR)
        .await;
    let last = events.as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["type"], "failed");
    assert!(
        last["data"]["reason"]
            .as_str()
            .unwrap()
            .contains("gate.deployment-truth"),
        "{last}"
    );
    // Terminal: nothing more is accepted.
    let (status, p) = h
        .callback(&id, "again", &json!({"status": "started"}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{p}");
    h.assert_ledger_ok().await;
    h.stop().await;
}

#[tokio::test]
async fn signatures_are_checked_and_redelivery_is_harmless() {
    let h = Harness::start().await;
    let id = h.submit(dev_intent()).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let body = br#"{"status":"started"}"#.to_vec();
    let ts = now_seconds();
    let sign = |secret: &[u8], body: &[u8]| gatehouse_http::auth::sign(secret, ts, &id, "x1", body);
    let with_signature = |sig: Option<String>| {
        let mut headers = vec![
            ("x-gatehouse-delivery".to_owned(), "x1".to_owned()),
            ("x-gatehouse-timestamp".to_owned(), ts.to_string()),
        ];
        if let Some(sig) = sig {
            headers.push(("x-gatehouse-signature-256".to_owned(), sig));
        }
        headers
    };
    for sig in [
        None,
        Some("sha256=00".to_owned()),
        Some(sign(b"wrong-secret", &body)),
        Some(sign(PIPELINE_SECRET.as_bytes(), b"{\"status\":\"failed\"}")),
    ] {
        let (status, p) = h
            .send_callback(&id, &with_signature(sig), body.clone())
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{p}");
    }
    assert_eq!(h.event_types(&id).await, ["requested", "validated"]);

    let (status, first) = h
        .callback(&id, "run-7", &json!({"status": "started"}))
        .await;
    assert_eq!(status, StatusCode::OK);
    // The same delivery again: same answer, no new event.
    let (status, again) = h
        .callback(&id, "run-7", &json!({"status": "started"}))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(first, again);
    assert_eq!(
        h.event_types(&id).await,
        ["requested", "validated", "started"]
    );
    // The same delivery id with another body is refused.
    let (status, p) = h.callback(&id, "run-7", &json!({"status": "failed"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{p}");
    assert_eq!(p["code"], "delivery_reused");
    // A delivery id is required.
    let mut headers = signed_callback(&id, "x2", now_seconds(), &body);
    headers.remove(0);
    let (status, p) = h.send_callback(&id, &headers, body.clone()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{p}");
    h.stop().await;
}

#[tokio::test]
async fn idempotent_resubmission() {
    let h = Harness::start().await;
    let body = json!({"intent": dev_intent()});
    let send = |key: &str, body: &Value| {
        h.request(Method::POST, "/v1/deployments", Some(REQUESTER))
            .header("idempotency-key", key)
            .json(body)
            .send()
    };
    let first = send("k-1", &body).await.unwrap();
    assert_eq!(first.status(), StatusCode::CREATED);
    let etag = first.headers()["etag"].to_str().unwrap().to_owned();
    let first: Value = first.json().await.unwrap();
    let again = send("k-1", &body).await.unwrap();
    assert_eq!(again.status(), StatusCode::CREATED);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(again.headers()["etag"].to_str().unwrap(), etag);
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["id"], first["id"]);
    let mut other = body.clone();
    other["intent"]["spec"]["version"] = json!("2.0.1");
    let (status, p) = json_of(send("k-1", &other).await.unwrap()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(p["code"], "idempotency_key_reused");
    let (_, page) = h.get("/v1/deployments", AUDITOR).await;
    assert_eq!(page["total"], 1);
    h.stop().await;
}

/// A dev intent over the dev cost ceiling (500 USD): needs a finops approval.
fn over_budget(requested_by: &str) -> Value {
    let mut intent = dev_intent();
    intent["spec"]["estimated_monthly_cost"] = json!(640);
    intent["metadata"]["requested_by"] = json!(requested_by);
    intent
}

#[tokio::test]
async fn approvals_need_if_match_the_right_role_and_a_second_person() {
    let h = Harness::start().await;
    let d = h.submit(over_budget("erin@example.com")).await;
    let id = d["id"].as_str().unwrap().to_owned();
    assert_eq!(d["state"], "REQUESTED");
    assert_eq!(d["decision"]["outcome"], "needs_approval");
    let etag = d["etag"].as_str().unwrap().to_owned();
    let path = format!("/v1/deployments/{id}/approvals");
    let approve = |token: &'static str, if_match: Option<String>, role: &str| {
        let mut r = h
            .request(Method::POST, &path, Some(token))
            .json(&json!({"role": role, "comment": "budget ok"}));
        if let Some(m) = if_match {
            r = r.header("if-match", m);
        }
        r.send()
    };
    let (status, p) = json_of(approve(APPROVER, None, "finops-approver").await.unwrap()).await;
    assert_eq!(status, StatusCode::PRECONDITION_REQUIRED, "{p}");
    let (status, p) = json_of(
        approve(APPROVER, Some("\"0000\"".into()), "finops-approver")
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::PRECONDITION_FAILED, "{p}");
    assert_eq!(p["code"], "stale_etag");
    // A requester may not approve; an approver only in their roles.
    let (status, _) = json_of(
        approve(REQUESTER, Some(format!("\"{etag}\"")), "finops-approver")
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, p) = json_of(
        approve(APPROVER, Some(format!("\"{etag}\"")), "security-approver")
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{p}");

    let response = approve(APPROVER, Some(format!("\"{etag}\"")), "finops-approver")
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let new_etag = response.headers()["etag"].to_str().unwrap().to_owned();
    assert_ne!(new_etag, format!("\"{etag}\""));
    let d: Value = response.json().await.unwrap();
    assert_eq!(d["state"], "VALIDATED", "{d}");
    assert_eq!(d["decision"]["outcome"], "allow");
    let overridden = d["decision"]["violations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["policy"] == "cost.ceiling")
        .unwrap()
        .clone();
    assert_eq!(overridden["status"], "overridden");
    assert_eq!(overridden["overridden_by"], "approver@example.com");
    assert_eq!(
        h.event_types(&id).await,
        [
            "requested",
            "approval_required",
            "approval_recorded",
            "validated"
        ]
    );
    // The old ETag is stale now.
    let (status, _) = json_of(
        approve(APPROVER, Some(format!("\"{etag}\"")), "finops-approver")
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::PRECONDITION_FAILED);

    // Four-eyes: the approver cannot approve what they requested.
    let d = h.submit(over_budget("approver@example.com")).await;
    let (status, p) = json_of(
        h.request(
            Method::POST,
            &format!("/v1/deployments/{}/approvals", d["id"].as_str().unwrap()),
            Some(APPROVER),
        )
        .header("if-match", d["etag"].as_str().unwrap())
        .json(&json!({"role": "finops-approver"}))
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(p["detail"].as_str().unwrap().contains("four-eyes"), "{p}");
    h.assert_ledger_ok().await;
    h.stop().await;
}

#[tokio::test]
async fn cancel_needs_if_match_and_a_cancellable_state() {
    let h = Harness::start().await;
    let d = h.submit(dev_intent()).await;
    let id = d["id"].as_str().unwrap().to_owned();
    let path = format!("/v1/deployments/{id}/cancel");
    let (status, _) = json_of(
        h.request(Method::POST, &path, Some(REQUESTER))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::PRECONDITION_REQUIRED);
    let (status, d) = json_of(
        h.request(Method::POST, &path, Some(REQUESTER))
            .header("if-match", d["etag"].as_str().unwrap())
            .json(&json!({"reason": "wrong version"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{d}");
    assert_eq!(d["state"], "CANCELLED");
    let (status, p) = json_of(
        h.request(Method::POST, &path, Some(REQUESTER))
            .header("if-match", d["etag"].as_str().unwrap())
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{p}");
    h.stop().await;
}

#[tokio::test]
async fn a_denied_intent_is_stored_rejected_and_never_dispatched() {
    let receiver = Receiver::start(204).await;
    let h = Harness::with_config(&github_config(&receiver, 3)).await;
    let d = h
        .submit(example("payments-api-docker-hub-denied.yaml"))
        .await;
    assert_eq!(d["state"], "REJECTED");
    assert_eq!(d["dispatch"], Value::Null);
    // A fixed wait on purpose: what is checked is that no dispatch is ever sent.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert!(receiver.requests().is_empty());
    h.stop().await;
}

#[tokio::test]
async fn dispatch_retries_then_fails_with_the_reason() {
    let receiver = Receiver::start(502).await;
    let h = Harness::with_config(&github_config(&receiver, 3)).await;
    let id = h.submit(dev_intent()).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let d = h.wait_for_state(&id, "FAILED").await;
    assert_eq!(receiver.requests().len(), 3);
    assert_eq!(d["dispatch"]["status"], "failed");
    assert_eq!(d["dispatch"]["attempts"], 3);
    let (_, events) = h
        .get(&format!("/v1/deployments/{id}/events"), AUDITOR)
        .await;
    let reason = events[2]["data"]["reason"].as_str().unwrap().to_owned();
    assert!(
        reason.contains("502") && reason.contains("gave up after 3 attempts"),
        "{reason}"
    );
    let (_, metrics) = h.get("/metrics", AUDITOR).await;
    assert!(
        metrics
            .as_str()
            .unwrap()
            .contains("gatehouse_dispatch_failures_total{executor=\"github\"} 3"),
        "{metrics}"
    );
    h.stop().await;
}

#[tokio::test]
async fn a_refused_dispatch_fails_at_once() {
    let receiver = Receiver::start(404).await;
    let h = Harness::with_config(&github_config(&receiver, 5)).await;
    let id = h.submit(dev_intent()).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let d = h.wait_for_state(&id, "FAILED").await;
    assert_eq!(receiver.requests().len(), 1);
    assert!(
        d["dispatch"]["last_error"]
            .as_str()
            .unwrap()
            .contains("not retryable"),
        "{d}"
    );
    h.stop().await;
}

#[tokio::test]
async fn webhook_dispatches_are_signed() {
    let receiver = Receiver::start(202).await;
    let h = Harness::with_config(&format!(
        "[executor]\nkind = \"webhook\"\nurl = \"{}/hooks/deploy\"\nsecret = \"webhook-secret-0123456789\"\n",
        receiver.url
    ))
    .await;
    let id = h.submit(dev_intent()).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    h.wait_for_state(&id, "IN_PROGRESS").await;
    let sent = &receiver.requests()[0];
    assert_eq!(sent.path, "/hooks/deploy");
    let header = |name: &str| sent.headers.get(name).map(|v| v.to_str().unwrap());
    // The receiver verifies it as the server verifies callbacks, under the dispatch context.
    let delivery = gatehouse_control::signature::verify_dispatch(
        b"webhook-secret-0123456789",
        gatehouse_http::auth::SignedHeaders {
            delivery: header("x-gatehouse-delivery"),
            timestamp: header("x-gatehouse-timestamp"),
            signature: header("x-gatehouse-signature-256"),
        },
        &id,
        &sent.body,
        now_seconds(),
        300,
    )
    .unwrap();
    assert!(delivery.starts_with("dispatch-"), "{delivery}");
    let payload: Value = serde_json::from_slice(&sent.body).unwrap();
    assert_eq!(payload["deployment_id"], id.as_str());
    h.stop().await;
}

#[tokio::test]
async fn a_pending_dispatch_survives_a_restart() {
    // The receiver is down (503) while the first server runs: the entry stays pending.
    let receiver = Receiver::start(503).await;
    let config = format!(
        "[executor]\nkind = \"github\"\nowner = \"acme\"\nrepo = \"deploy\"\napi_base = \"{}\"\ntoken_env = \"GATEHOUSE_TEST_GITHUB_TOKEN\"\n\n[dispatch]\nmax_attempts = 1000\ninitial_backoff_ms = 20\nmax_backoff_ms = 20\n",
        receiver.url
    );
    let h = Harness::with_config(&config).await;
    let id = h.submit(dev_intent()).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    wait_until(WAIT, "no dispatch attempt arrived", async || {
        !receiver.requests().is_empty()
    })
    .await;
    let dir = h.stop().await;
    let attempts_before = receiver.requests().len();
    receiver
        .status
        .store(204, std::sync::atomic::Ordering::SeqCst);
    let h = Harness::with_config_in(dir, &config, policies()).await;
    let d = h.wait_for_state(&id, "IN_PROGRESS").await;
    assert_eq!(d["dispatch"]["status"], "delivered");
    assert_eq!(receiver.requests().len(), attempts_before + 1);
    assert_eq!(
        h.event_types(&id).await,
        ["requested", "validated", "dispatched"]
    );
    h.assert_ledger_ok().await;
    h.stop().await;
}
