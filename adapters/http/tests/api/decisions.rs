//! The decision log over HTTP: every evaluation's id goes back to the caller (a header for
//! `POST /v1/evaluate`, whose body stays the decision's exact bytes; `decision_id` in deployment
//! views, callback answers and refusals), and with the log on its record is readable by
//! auditors and admins, by id and by time range, with the configured intent fields masked.

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
    assert_eq!(record["decision"], decision);
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
    assert_eq!(record["decision"], answer["gates"]);
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
