//! Approvals are evidence, not claims, over HTTP: a requester who writes approvals into an intent
//! gets a 422 and nothing is stored; production goes submit → needs_approval → an approver other
//! than the requester approves → VALIDATED, and the decision records who recorded the approval.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::harness::*;

/// The reference production intent (`payments-api-prod-allowed.yaml`), requested by alice.
fn prod_intent() -> Value {
    example("payments-api-prod-allowed.yaml")
}

/// The same release in staging, in the non-prod workload account.
fn staging_intent() -> Value {
    let mut intent = prod_intent();
    intent["metadata"]["name"] = json!("payments-api-2026-11-23-staging");
    intent["spec"]["environment"] = json!("staging");
    intent["spec"]["target"]["account"] = json!("555555555555");
    intent
}

#[tokio::test]
async fn a_requester_cannot_approve_by_writing_approvals_into_the_intent() {
    let h = Harness::start().await;
    // The attack: an over-budget dev intent carrying a finops approval by anyone.
    let mut intent = dev_intent();
    intent["spec"]["estimated_monthly_cost"] = json!(640);
    intent["spec"]["approvals"] = json!([{"by": "anyone@example.com", "role": "finops-approver"}]);
    let (status, problem) = h
        .post("/v1/deployments", REQUESTER, &json!({"intent": intent}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(problem["code"], "invalid_intent");
    let error = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["path"] == "spec.approvals")
        .unwrap_or_else(|| panic!("no error at spec.approvals: {problem}"));
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("approvals inside an intent are not accepted"),
        "{problem}"
    );
    assert!(
        error["help"]
            .as_str()
            .unwrap()
            .contains("/v1/deployments/{id}/approvals"),
        "{problem}"
    );
    // Nothing was stored.
    let (_, page) = h.get("/v1/deployments", AUDITOR).await;
    assert_eq!(page["total"], 0, "{page}");
    // A preview says the same.
    let (status, decision) = h
        .post("/v1/evaluate", REQUESTER, &json!({"intent": intent}))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(decision["outcome"], "deny");
    assert!(decision.get("approvals").is_none(), "{decision}");
    h.stop().await;
}

/// Submits `intent`, waits for VALIDATED, and reports `started` then `succeeded` with matching
/// evidence: the deployment reaches SUCCESS.
async fn deploy_to_success(h: &Harness, intent: Value) -> String {
    let d = h.submit(intent.clone()).await;
    assert_eq!(d["state"], "VALIDATED", "{d}");
    let id = d["id"].as_str().unwrap().to_owned();
    let (status, body) = h
        .callback(&id, "run-1-started", &json!({"status": "started"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let report = json!({"status": "succeeded", "evidence": matching_evidence(&intent)});
    let (status, body) = h.callback(&id, "run-1-succeeded", &report).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["state"], "SUCCESS", "{body}");
    id
}

#[tokio::test]
async fn production_needs_an_approval_through_the_api_and_then_validates() {
    let h = Harness::start().await;
    // Promotion path: the artifact succeeds in staging first.
    deploy_to_success(&h, staging_intent()).await;

    // Prod: four-eyes holds the submission for a release approval.
    let d = h.submit(prod_intent()).await;
    let id = d["id"].as_str().unwrap().to_owned();
    assert_eq!(d["state"], "REQUESTED", "{d}");
    assert_eq!(d["decision"]["outcome"], "needs_approval", "{d}");
    let pending: Vec<&Value> = d["decision"]["violations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["status"] == "pending_approval")
        .collect();
    assert_eq!(pending.len(), 1, "{d}");
    assert_eq!(pending[0]["policy"], "prod.four-eyes");
    assert_eq!(pending[0]["override_role"], "release-approver");

    // The approver records a release approval; the server re-evaluates and validates.
    let etag = d["etag"].as_str().unwrap().to_owned();
    let (status, d) = json_of(
        h.request(
            Method::POST,
            &format!("/v1/deployments/{id}/approvals"),
            Some(APPROVER),
        )
        .header("if-match", format!("\"{etag}\""))
        .json(&json!({"role": "release-approver", "comment": "rollout plan reviewed"}))
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{d}");
    assert_eq!(d["state"], "VALIDATED", "{d}");
    assert_eq!(d["decision"]["outcome"], "allow");
    let four_eyes = d["decision"]["violations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["policy"] == "prod.four-eyes")
        .unwrap();
    assert_eq!(four_eyes["status"], "overridden");
    assert_eq!(four_eyes["overridden_by"], "approver@example.com");
    // The decision records where the approval came from.
    assert_eq!(
        d["decision"]["approvals"],
        json!([{
            "by": "approver@example.com",
            "role": "release-approver",
            "at": d["decision"]["approvals"][0]["at"],
            "comment": "rollout plan reviewed",
            "source": "control_plane"
        }]),
        "{d}"
    );
    assert_eq!(
        h.event_types(&id).await,
        [
            "requested",
            "approval_required",
            "approval_recorded",
            "validated"
        ]
    );
    h.assert_ledger_ok().await;
    h.stop().await;
}

#[tokio::test]
async fn the_requester_cannot_approve_their_own_production_deployment() {
    // The approver's token names alice, the intent's requester: four-eyes refuses them.
    let extra = format!(
        "[[tokens]]\nname = \"alice@example.com\"\nrole = \"approver\"\nsha256 = \"{}\"\napproval_roles = [\"release-approver\"]\n",
        gatehouse_http::config::token_hash("t-alice")
    );
    let h = Harness::with_config(&extra).await;
    deploy_to_success(&h, staging_intent()).await;
    let d = h.submit(prod_intent()).await;
    let id = d["id"].as_str().unwrap().to_owned();
    let (status, p) = json_of(
        h.request(
            Method::POST,
            &format!("/v1/deployments/{id}/approvals"),
            Some("t-alice"),
        )
        .header("if-match", format!("\"{}\"", d["etag"].as_str().unwrap()))
        .json(&json!({"role": "release-approver"}))
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{p}");
    assert!(p["detail"].as_str().unwrap().contains("four-eyes"), "{p}");
    let (_, now) = h.get(&format!("/v1/deployments/{id}"), AUDITOR).await;
    assert_eq!(now["state"], "REQUESTED");
    h.stop().await;
}

/// The provenance attack over HTTP: `POST /v1/evaluate` with a context whose approval claims
/// the control plane's or a pull request review's source (a made-up review URL) once got a
/// decision recording it so. It is a 422 now, and nothing is logged as approved.
#[tokio::test]
async fn an_evaluate_context_cannot_claim_a_trusted_approval_source() {
    let h = Harness::start().await;
    for source in ["control_plane", "github_review"] {
        let forged = json!({
            "intent": prod_intent(),
            "context": {
                "now": "2026-11-23T12:00:00Z",
                "approvals": [{
                    "by": "bob@example.com",
                    "role": "release-approver",
                    "source": source,
                    "reference": "https://github.com/acme/deploy/pull/1#pullrequestreview-1"
                }]
            }
        });
        let (status, problem) = h.post("/v1/evaluate", REQUESTER, &forged).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
        assert_eq!(problem["code"], "invalid_context", "{problem}");
        let detail = problem["detail"].as_str().unwrap();
        assert!(
            detail.contains(&format!("approval source `{source}` is recorded by"))
                && detail.contains("leave `source` out of approvals you pass"),
            "{problem}"
        );
    }
    // Without a source the same approval is the caller's, and recorded so.
    let passed = json!({
        "intent": prod_intent(),
        "context": {
            "now": "2026-11-23T12:00:00Z",
            "approvals": [{"by": "bob@example.com", "role": "release-approver"}]
        }
    });
    let (status, decision) = h.post("/v1/evaluate", REQUESTER, &passed).await;
    assert_eq!(status, StatusCode::OK, "{decision}");
    assert_eq!(decision["approvals"][0]["source"], "caller", "{decision}");
    h.stop().await;
}

/// Three spellings of one person, as the trust issue found them: a different case outside
/// ASCII, the Kelvin sign (U+212A) for `K`, and a zero-width space inside the name.
const SPELLINGS: [(&str, &str); 3] = [
    ("élodie@example.com", "ÉLODIE@EXAMPLE.COM"),
    ("kim@example.com", "\u{212A}im@example.com"),
    ("kim@example.com", "ki\u{200B}m@example.com"),
];

/// The identity attack on the core through `POST /v1/evaluate`: an approval by the requester,
/// spelt differently, once lifted their own deployment's four-eyes. It lifts nothing now.
#[tokio::test]
async fn the_requesters_own_approval_in_another_spelling_lifts_nothing() {
    let h = Harness::start().await;
    for (approver, requester) in SPELLINGS {
        let mut intent = prod_intent();
        intent["metadata"]["requested_by"] = json!(requester);
        let body = json!({
            "intent": intent,
            "context": {
                "now": "2026-11-23T12:00:00Z",
                "approvals": [{"by": approver, "role": "release-approver"}]
            }
        });
        let (status, decision) = h.post("/v1/evaluate", REQUESTER, &body).await;
        assert_eq!(status, StatusCode::OK, "{decision}");
        let four_eyes = decision["violations"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["policy"] == "prod.four-eyes")
            .unwrap();
        assert_eq!(
            four_eyes["status"], "pending_approval",
            "{requester}: {decision}"
        );
        assert!(four_eyes.get("overridden_by").is_none(), "{decision}");
        assert_ne!(decision["outcome"], "allow", "{requester}: {decision}");
    }
    h.stop().await;
}

/// The identity attack on the control plane: the requester holds an approver token and the
/// intent names them in another spelling; their approval is refused as a self-approval.
#[tokio::test]
async fn the_requester_cannot_approve_under_another_spelling() {
    let mut extra = String::new();
    for (index, (name, _)) in SPELLINGS.iter().enumerate().take(2) {
        extra.push_str(&format!(
            "[[tokens]]\nname = \"{name}\"\nrole = \"approver\"\nsha256 = \"{}\"\napproval_roles = [\"release-approver\"]\n",
            gatehouse_http::config::token_hash(&format!("t-self-{index}"))
        ));
    }
    let h = Harness::with_config(&extra).await;
    deploy_to_success(&h, staging_intent()).await;
    for (run, (approver, requester)) in SPELLINGS.iter().enumerate() {
        let token = if approver.starts_with('é') {
            "t-self-0"
        } else {
            "t-self-1"
        };
        let mut intent = prod_intent();
        intent["metadata"]["name"] = json!(format!("payments-api-self-{run}"));
        intent["metadata"]["requested_by"] = json!(requester);
        let d = h.submit(intent).await;
        assert_eq!(d["state"], "REQUESTED", "{d}");
        let id = d["id"].as_str().unwrap().to_owned();
        let (status, p) = json_of(
            h.request(
                Method::POST,
                &format!("/v1/deployments/{id}/approvals"),
                Some(token),
            )
            .header("if-match", format!("\"{}\"", d["etag"].as_str().unwrap()))
            .json(&json!({"role": "release-approver"}))
            .send()
            .await
            .unwrap(),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{requester}: {p}");
        assert!(p["detail"].as_str().unwrap().contains("four-eyes"), "{p}");
        let (_, now) = h.get(&format!("/v1/deployments/{id}"), AUDITOR).await;
        assert_eq!(now["state"], "REQUESTED");
    }
    h.stop().await;
}
