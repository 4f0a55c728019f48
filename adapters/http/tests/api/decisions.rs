//! The decision log over HTTP: every evaluation's id goes back to the caller (a header for
//! `POST /v1/evaluate`, whose body stays the decision's exact bytes; `decision_id` in deployment
//! views, callback answers and refusals), and with the log on its record is readable by
//! auditors and admins, by id and by time range, with the configured intent fields masked.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::harness::*;

const LOG: &str = "[decision_log]\nenabled = true\nmask = [\"spec.tags.owner\"]\n";

async fn evaluate(h: &Harness, token: &str, intent: &Value) -> (String, Value) {
    let r = h
        .request(Method::POST, "/v1/evaluate", Some(token))
        .json(&json!({"intent": intent}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let id = r.headers()["x-gatehouse-decision-id"]
        .to_str()
        .unwrap()
        .to_owned();
    (id, r.json().await.unwrap())
}

/// `decision` without its `intent_digest` (the log stores the masked intent's).
fn without_digest(decision: &Value) -> Value {
    let mut decision = decision.clone();
    decision.as_object_mut().unwrap().remove("intent_digest");
    decision
}

#[tokio::test]
async fn every_decision_names_its_log_record() {
    let h = Harness::with_config(LOG).await;
    // A preview.
    let (id, decision) = evaluate(&h, REQUESTER, &dev_intent()).await;
    let (status, record) = h.get(&format!("/v1/decisions/{id}"), AUDITOR).await;
    assert_eq!(status, StatusCode::OK, "{record}");
    assert_eq!(record["source"], "evaluate");
    assert_eq!(record["stage"], "admission");
    assert_eq!(record["caller"], "dev@example.com");
    assert_eq!(
        without_digest(&record["decision"]),
        without_digest(&decision)
    );
    assert_eq!(record["intent"]["spec"]["tags"]["owner"], "***");
    assert_eq!(record["masked"], json!(["spec.tags.owner"]));
    assert!(
        record["bundle_digest"]
            .as_str()
            .unwrap()
            .starts_with("sha256:")
    );
    // Requesters and approvers do not read the log.
    for token in [REQUESTER, APPROVER] {
        let (status, p) = h.get(&format!("/v1/decisions/{id}"), token).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{p}");
    }
    // A submission, then its approval: the view names the latest admission decision.
    let mut intent = dev_intent();
    intent["spec"]["estimated_monthly_cost"] = json!(640);
    let d = h.submit(intent).await;
    let submitted = d["decision_id"].as_str().unwrap().to_owned();
    let (_, record) = h.get(&format!("/v1/decisions/{submitted}"), ADMIN).await;
    assert_eq!(record["source"], "submit");
    assert_eq!(record["deployment_id"], d["id"]);
    assert_eq!(record["outcome"], "needs_approval");
    let (status, approved) = json_of(
        h.request(
            Method::POST,
            &format!("/v1/deployments/{}/approvals", d["id"].as_str().unwrap()),
            Some(APPROVER),
        )
        .header("if-match", format!("\"{}\"", d["etag"].as_str().unwrap()))
        .json(&json!({"role": "finops-approver"}))
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{approved}");
    assert_eq!(approved["state"], "VALIDATED");
    let approval = approved["decision_id"].as_str().unwrap().to_owned();
    assert_ne!(approval, submitted);
    let (_, record) = h.get(&format!("/v1/decisions/{approval}"), AUDITOR).await;
    assert_eq!(record["source"], "approve");
    assert_eq!(record["caller"], "approver@example.com");
    assert_eq!(record["outcome"], "allow");
    // The release gates of a reported success.
    let id = d["id"].as_str().unwrap();
    let (status, _) = h.callback(id, "run-1", &json!({"status": "started"})).await;
    assert_eq!(status, StatusCode::OK);
    let report = json!({"status": "succeeded", "evidence": matching_evidence(&dev_intent())});
    let (status, answer) = h.callback(id, "run-2", &report).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let gates = answer["decision_id"].as_str().unwrap();
    let (_, record) = h.get(&format!("/v1/decisions/{gates}"), AUDITOR).await;
    assert_eq!(record["source"], "callback");
    assert_eq!(record["stage"], "gates");
    assert_eq!(record["caller"], "pipeline");
    assert_eq!(
        without_digest(&record["decision"]),
        without_digest(&answer["gates"])
    );
    // A refused submission names the decision that refused it.
    let (status, problem) = h
        .post(
            "/v1/deployments",
            REQUESTER,
            &json!({"intent": {"spec": {}}}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let refused = problem["decision_id"].as_str().unwrap();
    let (_, record) = h.get(&format!("/v1/decisions/{refused}"), AUDITOR).await;
    assert_eq!(record["outcome"], "deny");
    assert_eq!(record["deployment_id"], Value::Null);
    h.assert_ledger_ok().await;
    h.stop().await;
}

#[tokio::test]
async fn the_log_pages_by_time_range() {
    let h = Harness::with_config(LOG).await;
    let mut ids = Vec::new();
    for _ in 0..5 {
        ids.push(evaluate(&h, AUDITOR, &dev_intent()).await.0);
    }
    let mut read = Vec::new();
    let mut path = "/v1/decisions?since=2026-11-23T00:00:00Z&limit=2".to_owned();
    loop {
        let (status, page) = h.get(&path, AUDITOR).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        assert!(page["items"].as_array().unwrap().len() <= 2);
        read.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["decision_id"].as_str().unwrap().to_owned()),
        );
        match page["next_cursor"].as_str() {
            Some(cursor) => {
                path = format!("/v1/decisions?since=2026-11-23T00:00:00Z&limit=2&cursor={cursor}")
            }
            None => break,
        }
    }
    assert_eq!(read, ids, "every decision once, oldest first");
    let (_, empty) = h
        .get("/v1/decisions?until=2026-11-23T00:00:00Z", AUDITOR)
        .await;
    assert_eq!(empty["items"], json!([]));
    for bad in [
        "/v1/decisions?since=yesterday",
        "/v1/decisions?limit=0",
        "/v1/decisions?cursor=forged",
    ] {
        let (status, p) = h.get(bad, AUDITOR).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {p}");
        assert_eq!(p["code"], "invalid_query");
    }
    h.stop().await;
}

#[tokio::test]
async fn with_the_log_off_decisions_have_ids_and_no_records() {
    let h = Harness::start().await;
    let (id, _) = evaluate(&h, REQUESTER, &dev_intent()).await;
    let (status, p) = h.get(&format!("/v1/decisions/{id}"), AUDITOR).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(p["code"], "decision_log_disabled");
    let d = h.submit(dev_intent()).await;
    assert!(d["decision_id"].is_string(), "{d}");
    h.stop().await;
}

/// A server whose clock is the test clock moved on by `shift` (nanoseconds).
async fn server_with_shifted_clock(extra: &str, shift: Arc<AtomicI64>) -> Harness {
    let base = clock();
    let shifted: gatehouse_control::Clock = Arc::new(move || {
        let now = base().unix_nanos() + i128::from(shift.load(Ordering::SeqCst));
        gatehouse_core::Timestamp::from_unix_nanos(now).unwrap()
    });
    let dir = tempfile::tempdir().unwrap();
    let mut config = gatehouse_http::Config::from_toml(&config_toml(extra)).unwrap();
    config.control.database = database_for(&dir.path().join("gatehouse.db")).await;
    config.control.policies = policies();
    let server = gatehouse_http::Server::start_with(config, shifted, |_| None)
        .await
        .unwrap();
    Harness {
        base: format!("http://{}", server.addr),
        server: Some(server),
        client: reqwest::Client::new(),
        dir,
    }
}

/// The stamp attack: a preview's record was stamped with the caller's `context.now`, so records
/// dated 2020 or 2999 were accepted and a 2999 record was never purged. The record's `at` is the
/// server's clock now, the caller's `now` is kept as `evaluated_at`, and retention goes by `at`.
#[tokio::test]
async fn log_records_are_stamped_by_the_server_and_purged_by_that_stamp() {
    let shift = Arc::new(AtomicI64::new(0));
    let h = server_with_shifted_clock(
        "[decision_log]\nenabled = true\nretention_hours = 1\n[retention]\npurge_interval_s = 1\n",
        Arc::clone(&shift),
    )
    .await;
    let mut ids = Vec::new();
    for now in ["2020-01-01T00:00:00Z", "2999-01-01T00:00:00Z"] {
        let r = h
            .request(Method::POST, "/v1/evaluate", Some(REQUESTER))
            .json(&json!({"intent": dev_intent(), "context": {"now": now}}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let id = r.headers()["x-gatehouse-decision-id"]
            .to_str()
            .unwrap()
            .to_owned();
        let (status, record) = h.get(&format!("/v1/decisions/{id}"), AUDITOR).await;
        assert_eq!(status, StatusCode::OK, "{record}");
        let at = record["at"].as_str().unwrap();
        assert!(at.starts_with("2026-11-23T"), "stamped {at}: {record}");
        assert_eq!(record["evaluated_at"], now, "{record}");
        assert_eq!(record["decision"]["evaluated_at"], now, "{record}");
        ids.push(id);
    }
    // Both are in the log's present, not in 2020 or 2999.
    let (_, page) = h
        .get("/v1/decisions?since=2026-11-23T00:00:00Z", AUDITOR)
        .await;
    assert_eq!(page["items"].as_array().unwrap().len(), 2, "{page}");
    // Two hours later (retention is one), the purge removes both, the 2999 one included.
    shift.store(2 * 3600 * 1_000_000_000, Ordering::SeqCst);
    for id in &ids {
        let what = format!("{id} not purged");
        wait_for(std::time::Duration::from_secs(30), &what, async || {
            let (status, record) = h.get(&format!("/v1/decisions/{id}"), AUDITOR).await;
            if status == StatusCode::NOT_FOUND {
                Ok(())
            } else {
                Err(record)
            }
        })
        .await;
    }
    h.stop().await;
}

/// The masking attack: with `spec.tags.owner` and `metadata.requested_by` masked, the stored
/// record kept `intent_digest`, the SHA-256 of the unmasked intent, and hashing candidate pairs
/// recovered the values. The stored digest is that of the masked intent, and the masked values
/// appear nowhere in the record.
#[tokio::test]
async fn masked_values_cannot_be_recovered_from_the_log() {
    let h = Harness::with_config(
        "[decision_log]\nenabled = true\nmask = [\"spec.tags.owner\", \"metadata.requested_by\"]\n",
    )
    .await;
    let mut intent = example("payments-api-prod-allowed.yaml");
    intent["spec"]["tags"]["owner"] = json!("team-zeta");
    intent["metadata"]["requested_by"] = json!("carol@example.com");
    let r = h
        .request(Method::POST, "/v1/evaluate", Some(REQUESTER))
        .json(&json!({"intent": intent}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let id = r.headers()["x-gatehouse-decision-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let answered: Value = r.json().await.unwrap();
    let (status, record) = h.get(&format!("/v1/decisions/{id}"), AUDITOR).await;
    assert_eq!(status, StatusCode::OK, "{record}");
    let stored = record["decision"]["intent_digest"].as_str().unwrap();
    // The attack: hash candidate pairs against the stored digest.
    let teams = ["team-alpha", "team-payments", "team-zeta", "team-web"];
    let people = [
        "alice@example.com",
        "bob@example.com",
        "carol@example.com",
        "dev@example.com",
        "erin@example.com",
    ];
    for team in teams {
        for person in people {
            let mut guess = intent.clone();
            guess["spec"]["tags"]["owner"] = json!(team);
            guess["metadata"]["requested_by"] = json!(person);
            assert_ne!(
                gatehouse_core::intent_digest(&guess),
                stored,
                "recovered ({team}, {person})"
            );
        }
    }
    assert_eq!(
        answered["intent_digest"],
        json!(gatehouse_core::intent_digest(&intent))
    );
    assert_eq!(stored, gatehouse_core::intent_digest(&record["intent"]));
    assert_eq!(record["intent"]["metadata"]["requested_by"], "***");
    // The values appear nowhere in the record (the four-eyes message names the requester).
    let text = record.to_string();
    assert!(
        !text.contains("carol@example.com") && !text.contains("team-zeta"),
        "{record}"
    );
    assert!(
        answered.to_string().contains("carol@example.com"),
        "{answered}"
    );
    h.stop().await;
}
