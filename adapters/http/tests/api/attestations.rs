//! Decision attestations on the server (issue 22, part 3): with `[attestations] signing_key`
//! every decision on a deployment (admission, each approval's re-evaluation, the release gates)
//! is signed as an in-toto statement in a DSSE envelope, served by
//! `GET /v1/deployments/{id}/attestation` and `GET /v1/decisions/{id}/attestation`, carried by
//! the dispatch, served by every replica; with `require_for_truth` the deployment-truth gate
//! needs the deployed artifact's PASSED attestation for its environment, verified by the
//! control plane, never claimed by the pipeline.

use std::path::{Path, PathBuf};

use gatehouse_core::attestation::{self, DecisionFacts, Expectation, VerificationResult};
use gatehouse_core::{BundleInfo, SigningKey, Timestamp, TrustedKey};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::harness::*;

const VERIFIER: &str = "https://gatehouse.test";

/// Test-only keys of the core's tests (never trusted for anything real).
fn key(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../core/tests/fixtures/test-only-keys")
        .join(name)
}

fn trusted() -> TrustedKey {
    TrustedKey::from_pem(&std::fs::read_to_string(key("trusted.pub.pem")).unwrap()).unwrap()
}

fn signing(name: &str) -> SigningKey {
    SigningKey::from_pem(&std::fs::read_to_string(key(&format!("{name}.pem"))).unwrap()).unwrap()
}

/// `[attestations]` signing with the trusted test key, then `extra` lines of the section.
fn attesting(extra: &str) -> String {
    format!(
        "[attestations]\nsigning_key = {}\nverifier_id = \"{VERIFIER}\"\n{extra}\n",
        json!(key("trusted.pem").display().to_string())
    )
}

/// Raw text of a GET (the envelope is served as stored).
async fn get_text(h: &Harness, path: &str, token: &str) -> (StatusCode, String) {
    let r = h
        .request(Method::GET, path, Some(token))
        .send()
        .await
        .unwrap();
    (r.status(), r.text().await.unwrap())
}

/// Why a FAILED attestation does not verify (its signature holds: the result is the reason).
fn failed_because(envelope: &str, artifact: &str, environment: &str) -> String {
    let shape: Value = serde_json::from_str(envelope).unwrap();
    assert_eq!(shape["payloadType"], "application/vnd.in-toto+json");
    assert!(!shape["signatures"][0]["keyid"].as_str().unwrap().is_empty());
    attestation::verify(envelope, &[trusted()], &expect(artifact, environment))
        .unwrap_err()
        .to_string()
}

fn expect<'a>(artifact: &'a str, environment: &'a str) -> Expectation<'a> {
    Expectation {
        artifact,
        environment: Some(environment),
        verifier_id: Some(VERIFIER),
    }
}

#[tokio::test]
async fn a_validated_deployment_carries_a_passed_attestation_on_both_routes() {
    let h = Harness::with_config(&attesting("")).await;
    let intent = dev_intent();
    let artifact = intent["spec"]["artifact"].as_str().unwrap().to_owned();
    let d = h.submit(intent).await;
    assert_eq!(d["state"], "VALIDATED");
    let (id, decision_id) = (
        d["id"].as_str().unwrap(),
        d["decision_id"].as_str().unwrap(),
    );
    let (status, envelope) =
        get_text(&h, &format!("/v1/deployments/{id}/attestation"), REQUESTER).await;
    assert_eq!(status, StatusCode::OK, "{envelope}");
    let statement =
        attestation::verify(&envelope, &[trusted()], &expect(&artifact, "dev")).unwrap();
    let facts = statement.decision().unwrap();
    assert_eq!(facts.decision_id, decision_id);
    assert_eq!(facts.outcome, "allow");
    assert_eq!(facts.stage, "admission");
    assert_eq!(
        facts.intent_digest,
        d["decision"]["intent_digest"].as_str().unwrap()
    );
    assert_eq!(statement.predicate.verifier.id, VERIFIER);
    assert_eq!(
        statement.predicate.verification_result,
        VerificationResult::Passed
    );
    assert_eq!(
        format!("sha256:{}", statement.predicate.policy.digest.sha256),
        d["decision"]["bundle"]["digest"].as_str().unwrap()
    );
    // The decision log's route answers the same bytes, to auditors and admins only.
    let (status, by_decision) = get_text(
        &h,
        &format!("/v1/decisions/{decision_id}/attestation"),
        AUDITOR,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(by_decision, envelope);
    let (status, problem) = h
        .get(
            &format!("/v1/decisions/{decision_id}/attestation"),
            REQUESTER,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");
    // From the network without a (valid) token: 401 on both routes, no envelope.
    for path in [
        format!("/v1/deployments/{id}/attestation"),
        format!("/v1/decisions/{decision_id}/attestation"),
    ] {
        for token in [None, Some("not-a-token")] {
            let r = h.request(Method::GET, &path, token).send().await.unwrap();
            let status = r.status();
            let text = r.text().await.unwrap();
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{path} with {token:?}");
            assert!(!text.contains("payloadType"), "{path}: {text}");
        }
    }
    // Signing changed no decision: the answer's decision is the one the log and events hold.
    let (_, events) = h
        .get(&format!("/v1/deployments/{id}/events"), AUDITOR)
        .await;
    assert_eq!(events[1]["data"]["decision"], d["decision"]);
    h.stop().await;
}

#[tokio::test]
async fn each_approval_and_each_denial_is_attested() {
    let h = Harness::with_config(&attesting("")).await;
    // Needs an approval: a FAILED attestation first (the deployment may not proceed yet).
    let d = h.submit(over_budget_dev_intent()).await;
    let id = d["id"].as_str().unwrap();
    let artifact = d["artifact"].as_str().unwrap().to_owned();
    let environment = d["environment"].as_str().unwrap().to_owned();
    let (status, first) =
        get_text(&h, &format!("/v1/deployments/{id}/attestation"), REQUESTER).await;
    assert_eq!(status, StatusCode::OK);
    let error = failed_because(&first, &artifact, &environment);
    assert!(
        error.contains("FAILED (decision outcome `needs_approval`)"),
        "{error}"
    );
    // Each approval re-evaluates; the latest decision's attestation is served.
    let mut approved = d.clone();
    for role in approval_roles(&d) {
        let r = h
            .request(
                Method::POST,
                &format!("/v1/deployments/{id}/approvals"),
                Some(APPROVER),
            )
            .header(
                "if-match",
                format!("\"{}\"", approved["etag"].as_str().unwrap()),
            )
            .json(&json!({"role": role}))
            .send()
            .await
            .unwrap();
        let (status, body) = json_of(r).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        approved = body;
    }
    assert_eq!(approved["state"], "VALIDATED", "{approved}");
    let (_, latest) = get_text(&h, &format!("/v1/deployments/{id}/attestation"), REQUESTER).await;
    let statement =
        attestation::verify(&latest, &[trusted()], &expect(&artifact, &environment)).unwrap();
    assert_eq!(
        statement.decision().unwrap().decision_id,
        approved["decision_id"].as_str().unwrap()
    );
    // The first decision keeps its own attestation.
    let first_id = d["decision_id"].as_str().unwrap();
    let (_, kept) = get_text(
        &h,
        &format!("/v1/decisions/{first_id}/attestation"),
        AUDITOR,
    )
    .await;
    assert_eq!(kept, first);

    // A denial: a FAILED attestation naming the deny outcome.
    let denied = h
        .submit(example("payments-api-public-database-denied.yaml"))
        .await;
    assert_eq!(denied["state"], "REJECTED");
    let (status, envelope) = get_text(
        &h,
        &format!(
            "/v1/deployments/{}/attestation",
            denied["id"].as_str().unwrap()
        ),
        REQUESTER,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let error = failed_because(
        &envelope,
        denied["artifact"].as_str().unwrap(),
        denied["environment"].as_str().unwrap(),
    );
    assert!(
        error.contains("FAILED (decision outcome `deny`)"),
        "{error}"
    );
    h.stop().await;
}

/// The dev intent over its cost ceiling: it waits for a `finops-approver`.
fn over_budget_dev_intent() -> Value {
    let path = policies().join("../docs/api/submit-web-frontend-dev-over-budget.json");
    let body: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    body["intent"].clone()
}

/// Reports `started` (a success is accepted only IN_PROGRESS).
async fn start(h: &Harness, id: &str) {
    let (status, body) = h
        .callback(id, &format!("{id}-started"), &json!({"status": "started"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

/// The approval roles a deployment's decision waits for.
fn approval_roles(d: &Value) -> Vec<String> {
    let mut roles: Vec<String> = d["decision"]["violations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["status"] == "pending_approval")
        .filter_map(|v| v["override_role"].as_str().map(str::to_owned))
        .collect();
    roles.sort();
    roles.dedup();
    roles
}

#[tokio::test]
async fn no_attestation_answers_a_problem_naming_why() {
    let plain = Harness::start().await;
    let d = plain.submit(dev_intent()).await;
    let id = d["id"].as_str().unwrap();
    let (status, problem) = plain
        .get(&format!("/v1/deployments/{id}/attestation"), REQUESTER)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(problem["code"], "attestation_not_configured", "{problem}");
    let (status, problem) = plain
        .get("/v1/deployments/dep_nope/attestation", REQUESTER)
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
    plain.stop().await;

    let h = Harness::with_config(&attesting("")).await;
    // An artifact not pinned by digest has no subject to attest: the reason is answered.
    let d = h
        .submit(example("payments-api-unpinned-staging-denied.yaml"))
        .await;
    let id = d["id"].as_str().unwrap();
    let (status, problem) = h
        .get(&format!("/v1/deployments/{id}/attestation"), REQUESTER)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(problem["code"], "attestation_unavailable", "{problem}");
    assert!(
        problem["detail"].as_str().unwrap().contains("not pinned"),
        "{problem}"
    );
    // A decision that was never attested (a preview) or an unknown id.
    let (status, problem) = h
        .get("/v1/decisions/0000-unknown/attestation", AUDITOR)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(problem["code"], "attestation_unavailable", "{problem}");
    h.stop().await;
}

#[tokio::test]
async fn a_key_that_is_not_an_ed25519_private_key_stops_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = gatehouse_http::Config::from_toml(&config_toml(&format!(
        "[attestations]\nsigning_key = {}\n",
        json!(key("trusted.pub.pem").display().to_string())
    )))
    .unwrap();
    config.control.database = database_for(&dir.path().join("gatehouse.db")).await;
    config.control.policies = policies();
    let error = gatehouse_http::Server::start_with(config, clock(), |_| None)
        .await
        .err()
        .expect("a public key is no signing key");
    let text = error.to_string();
    assert!(text.contains("attestations.signing_key"), "{text}");
    assert!(text.contains("not an ed25519 private key"), "{text}");
}

#[tokio::test]
async fn the_dispatch_carries_the_attestation_inside_its_signed_body() {
    let receiver = Receiver::start(200).await;
    let h = Harness::with_config(&format!(
        "{}\n[executor]\nkind = \"webhook\"\nurl = \"{}/hooks/deploy\"\nsecret = \"webhook-secret-0123456789\"\n",
        attesting(""),
        receiver.url
    ))
    .await;
    let intent = dev_intent();
    let artifact = intent["spec"]["artifact"].as_str().unwrap().to_owned();
    let d = h.submit(intent).await;
    let id = d["id"].as_str().unwrap();
    h.wait_for_state(id, "IN_PROGRESS").await;
    let received = receiver.requests();
    let body: Value = serde_json::from_slice(&received[0].body).unwrap();
    let carried = body["attestation"].to_string();
    let statement = attestation::verify(&carried, &[trusted()], &expect(&artifact, "dev")).unwrap();
    assert_eq!(
        statement.decision().unwrap().decision_id,
        d["decision_id"].as_str().unwrap()
    );
    // The signature covers the body as received, attestation included.
    let signature = received[0].headers["x-gatehouse-signature-256"]
        .to_str()
        .unwrap();
    assert!(signature.starts_with("sha256="), "{signature}");
    h.stop().await;
}

#[tokio::test]
async fn a_second_replica_serves_the_attestation_the_first_issued() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("shared.db");
    let first = Harness::with_database(
        tempfile::tempdir().unwrap(),
        db.clone(),
        &attesting(""),
        policies(),
    )
    .await;
    let second =
        Harness::with_database(tempfile::tempdir().unwrap(), db, &attesting(""), policies()).await;
    let d = first.submit(dev_intent()).await;
    let id = d["id"].as_str().unwrap();
    let (_, issued) = get_text(
        &first,
        &format!("/v1/deployments/{id}/attestation"),
        REQUESTER,
    )
    .await;
    let (status, served) = get_text(
        &second,
        &format!("/v1/deployments/{id}/attestation"),
        REQUESTER,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(served, issued);
    first.stop().await;
    second.stop().await;
}

// --- the deployment-truth gate with `require_for_truth` -----------------------------------------

/// A statement like the server's, for `artifact` in `environment` with `outcome`.
fn forged(artifact: &str, environment: &str, outcome: &str, key: &SigningKey) -> Value {
    let facts = DecisionFacts {
        verifier_id: VERIFIER.into(),
        time_verified: Timestamp::parse("2026-11-23T12:00:00Z").unwrap(),
        artifact: artifact.into(),
        environment: environment.into(),
        decision_id: "0196f0c2-0000-7000-8000-000000000000".into(),
        outcome: outcome.into(),
        stage: "admission".into(),
        intent_digest: format!("sha256:{}", "a".repeat(64)),
        bundle: BundleInfo {
            name: "gatehouse-reference".into(),
            revision: "2026.12.07-1".into(),
            digest: format!("sha256:{}", "b".repeat(64)),
        },
        policy_uri: format!("{VERIFIER}/v1/bundle"),
    };
    let envelope = attestation::sign(&attestation::statement(&facts).unwrap(), key).unwrap();
    serde_json::from_str(&envelope.to_json()).unwrap()
}

/// Submits the dev intent on a server requiring attestations for truth, reports success with
/// `attestation` on the observed deployment (none when null) plus `extra` evidence, and
/// answers the callback's status and body and the deployment.
async fn report_with(
    h: &Harness,
    attestation: Option<Value>,
    extra: Value,
) -> (StatusCode, Value, Value) {
    let intent = dev_intent();
    let d = h.submit(intent.clone()).await;
    let id = d["id"].as_str().unwrap().to_owned();
    start(h, &id).await;
    let mut evidence = matching_evidence(&intent);
    if let Some(a) = attestation {
        evidence["observed"]["attestation"] = a;
    }
    for (k, v) in extra.as_object().unwrap() {
        evidence[k] = v.clone();
    }
    let (status, body) = h
        .callback(
            &id,
            &format!("{id}-done"),
            &json!({"status": "succeeded", "evidence": evidence}),
        )
        .await;
    let (_, now) = h.get(&format!("/v1/deployments/{id}"), AUDITOR).await;
    (status, body, now)
}

/// The attestation violation of a callback answer's gate decision.
fn truth_violation(answer: &Value) -> Value {
    answer["gates"]["violations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["path"] == "evidence.observed.attestation")
        .cloned()
        .unwrap()
}

#[tokio::test]
async fn the_truth_gate_accepts_the_deployed_artifacts_own_passed_attestation() {
    let h = Harness::with_config(&attesting("require_for_truth = true")).await;
    let intent = dev_intent();
    let d = h.submit(intent.clone()).await;
    let id = d["id"].as_str().unwrap();
    let (_, envelope) = get_text(&h, &format!("/v1/deployments/{id}/attestation"), REQUESTER).await;
    start(&h, id).await;
    let mut evidence = matching_evidence(&intent);
    evidence["observed"]["attestation"] = serde_json::from_str(&envelope).unwrap();
    let (status, answer) = h
        .callback(
            id,
            "done-1",
            &json!({"status": "succeeded", "evidence": evidence}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["state"], "SUCCESS", "{answer}");
    // The release gate's decision is attested too, and is now the deployment's latest.
    let (_, latest) = get_text(&h, &format!("/v1/deployments/{id}/attestation"), REQUESTER).await;
    let artifact = intent["spec"]["artifact"].as_str().unwrap();
    let statement = attestation::verify(&latest, &[trusted()], &expect(artifact, "dev")).unwrap();
    let facts = statement.decision().unwrap();
    assert_eq!(
        (facts.stage.as_str(), facts.decision_id.as_str()),
        ("gates", answer["decision_id"].as_str().unwrap())
    );
    h.stop().await;
}

#[tokio::test]
async fn attack_a_pipeline_cannot_claim_the_attestation_verified() {
    let h = Harness::with_config(&attesting("require_for_truth = true")).await;
    for claim in [
        json!({"attestation_verified": true}),
        json!({"attestation_problem": "none"}),
    ] {
        let (status, problem, d) = report_with(&h, None, claim).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
        assert_eq!(problem["code"], "reserved_evidence");
        assert_eq!(d["state"], "IN_PROGRESS", "nothing was recorded");
    }
    // The same claim is refused on a server that does not require attestations.
    let plain = Harness::start().await;
    let (status, problem, _) =
        report_with(&plain, None, json!({"attestation_verified": true})).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("reserved_evidence"))
    );
    plain.stop().await;
    // Without an envelope, the gate denies.
    let (status, answer, d) = report_with(&h, None, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(d["state"], "FAILED", "{answer}");
    let v = truth_violation(&answer);
    assert_eq!(v["policy"], "gate.deployment-truth");
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .contains("presented no attestation"),
        "{v}"
    );
    h.stop().await;
}

#[tokio::test]
async fn attack_attestations_of_another_digest_environment_result_or_key_are_refused() {
    let h = Harness::with_config(&attesting("require_for_truth = true")).await;
    let artifact = dev_intent()["spec"]["artifact"]
        .as_str()
        .unwrap()
        .to_owned();
    let (name, _) = artifact.split_once('@').unwrap();
    let other_digest = format!("{name}@sha256:{}", "c".repeat(64));
    let trusted_key = signing("trusted");
    let cases = [
        (
            forged(&other_digest, "dev", "allow", &trusted_key),
            "not for the artifact",
        ),
        (
            forged(&artifact, "prod", "allow", &trusted_key),
            "environment `prod`, not `dev`",
        ),
        (forged(&artifact, "dev", "deny", &trusted_key), "FAILED"),
        (
            forged(&artifact, "dev", "allow", &signing("untrusted")),
            "unknown key",
        ),
    ];
    // The honest one passes: the forgeries differ in one thing each.
    let (status, answer, d) = report_with(
        &h,
        Some(forged(&artifact, "dev", "allow", &trusted_key)),
        json!({}),
    )
    .await;
    assert_eq!(
        (status, d["state"].as_str()),
        (StatusCode::OK, Some("SUCCESS")),
        "{answer}"
    );
    for (envelope, why) in cases {
        let (status, answer, d) = report_with(&h, Some(envelope), json!({})).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        assert_eq!(d["state"], "FAILED", "{why}: {answer}");
        let v = truth_violation(&answer);
        assert!(v["message"].as_str().unwrap().contains(why), "{why}: {v}");
        assert_eq!(v["evidence"]["attestation_verified"], false);
    }
    // An envelope changed after signing (the payload of another artifact under the
    // signature of this one).
    let mut swapped = forged(&artifact, "dev", "allow", &trusted_key);
    swapped["payload"] = forged(&other_digest, "dev", "allow", &trusted_key)["payload"].clone();
    let (_, answer, d) = report_with(&h, Some(swapped), json!({})).await;
    assert_eq!(d["state"], "FAILED", "{answer}");
    assert!(
        truth_violation(&answer)["message"]
            .as_str()
            .unwrap()
            .contains("bad signature"),
        "{answer}"
    );
    h.stop().await;
}
