//! Trust at every boundary: a cancel never hides a pipeline already triggered, dispatches are
//! signed apart from callbacks, a stale replica neither writes nor takes the active bundle back,
//! callback text is checked before it is stored and shown, the SQLite file is private.

use gatehouse_http::{Config, Server};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::harness::*;

const WEBHOOK_SECRET: &str = "webhook-secret-0123456789";

fn webhook(receiver: &Receiver, secret: &str) -> String {
    format!(
        "[executor]\nkind = \"webhook\"\nurl = \"{}/hooks/deploy\"\nsecret = \"{secret}\"\n",
        receiver.url
    )
}

/// Polls until the receiver holds at least one request ([`WAIT`] at most).
async fn first_request(receiver: &Receiver) -> Received {
    wait_for(WAIT, "no dispatch arrived", async || {
        receiver
            .requests()
            .into_iter()
            .next()
            .ok_or("no request yet")
    })
    .await
}

/// Cancels `id` with its current ETag, as its requester.
async fn cancel(h: &Harness, id: &str) -> (StatusCode, Value) {
    let (_, d) = h.get(&format!("/v1/deployments/{id}"), REQUESTER).await;
    json_of(
        h.request(
            Method::POST,
            &format!("/v1/deployments/{id}/cancel"),
            Some(REQUESTER),
        )
        .header("if-match", format!("\"{}\"", d["etag"].as_str().unwrap()))
        .json(&json!({"reason": "changed my mind"}))
        .send()
        .await
        .unwrap(),
    )
    .await
}

#[tokio::test]
async fn a_cancel_during_an_in_flight_dispatch_is_refused_and_the_pipeline_stays_visible() {
    let receiver = Receiver::start(202).await;
    receiver.open.send_replace(false);
    let h = Harness::with_config(&webhook(&receiver, WEBHOOK_SECRET)).await;
    let id = h.submit(dev_intent()).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // The trigger reached the pipeline and its answer is held: the POST is in flight.
    first_request(&receiver).await;
    let (status, problem) = cancel(&h, &id).await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    assert_eq!(problem["code"], "dispatch_in_flight", "{problem}");
    let detail = problem["detail"].as_str().unwrap();
    assert!(detail.contains(&format!("`{id}`")), "{detail}");
    assert_eq!(h.event_types(&id).await, ["requested", "validated"]);
    // The delivery completes: the triggered pipeline is visible and its reports are taken.
    receiver.open.send_replace(true);
    let d = h.wait_for_state(&id, "IN_PROGRESS").await;
    assert_eq!(d["dispatch"]["status"], "delivered", "{d}");
    let (status, r) = h
        .callback(&id, "run-1", &json!({"status": "started"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{r}");
    // After delivery a cancel is refused as documented: the pipeline owns the deployment now.
    let (status, problem) = cancel(&h, &id).await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    assert_eq!(problem["code"], "illegal_transition", "{problem}");
    assert_eq!(
        h.event_types(&id).await,
        ["requested", "validated", "dispatched", "started"]
    );
    assert_eq!(receiver.requests().len(), 1);
    h.assert_ledger_ok().await;
    h.stop().await;
}

#[tokio::test]
async fn a_dispatch_replayed_as_a_callback_is_refused_even_with_one_secret_for_both() {
    let receiver = Receiver::start(202).await;
    // The operator reuses the pipeline secret for the webhook.
    let h = Harness::with_config(&webhook(&receiver, PIPELINE_SECRET)).await;
    let id = h.submit(dev_intent()).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    h.wait_for_state(&id, "IN_PROGRESS").await;
    let sent = first_request(&receiver).await;
    let header = |name: &str| {
        sent.headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap()
    };
    let captured: Vec<(String, String)> = [
        "x-gatehouse-delivery",
        "x-gatehouse-timestamp",
        "x-gatehouse-signature-256",
    ]
    .iter()
    .map(|name| ((*name).to_owned(), header(name)))
    .collect();
    // As captured, and with a body the callback endpoint would take.
    let (status, problem) = h.send_callback(&id, &captured, sent.body.clone()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{problem}");
    assert_eq!(problem["code"], "bad_signature", "{problem}");
    // The receiver verifies it with the dispatch context, never with the callback one.
    let timestamp: i64 = header("x-gatehouse-timestamp").parse().unwrap();
    let delivery = header("x-gatehouse-delivery");
    assert_eq!(
        header("x-gatehouse-signature-256"),
        gatehouse_control::signature::sign_dispatch(
            PIPELINE_SECRET.as_bytes(),
            timestamp,
            &id,
            &delivery,
            &sent.body
        )
    );
    assert_ne!(
        header("x-gatehouse-signature-256"),
        gatehouse_control::signature::sign(
            PIPELINE_SECRET.as_bytes(),
            timestamp,
            &id,
            &delivery,
            &sent.body
        )
    );
    assert_eq!(
        h.event_types(&id).await,
        ["requested", "validated", "dispatched"]
    );
    h.stop().await;
}

#[tokio::test]
async fn a_webhook_executor_without_a_secret_of_16_characters_does_not_start() {
    let receiver = Receiver::start(202).await;
    for secret in [None, Some("x"), Some("fifteen-chars-x")] {
        let executor = match secret {
            None => format!(
                "[executor]\nkind = \"webhook\"\nurl = \"{}/hooks\"\n",
                receiver.url
            ),
            Some(secret) => webhook(&receiver, secret),
        };
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::from_toml(&config_toml(&executor)).unwrap();
        config.control.database = dir.path().join("gatehouse.db").into();
        config.control.policies = policies();
        let err = match Server::start_with(config, clock(), |_| None).await {
            Ok(server) => {
                server.shutdown().await.unwrap();
                panic!("started with webhook secret {secret:?}");
            }
            Err(e) => e.to_string(),
        };
        assert!(err.contains("executor.secret"), "{err}");
        assert!(err.contains("16 characters"), "{err}");
        assert!(err.contains("GATEHOUSE_WEBHOOK_SECRET"), "{err}");
    }
    assert!(receiver.requests().is_empty());
}

#[tokio::test]
async fn a_callback_run_url_must_be_http_and_its_reason_one_line() {
    let h = Harness::start().await;
    let id = h.submit(dev_intent()).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for (n, run_url) in [
        "javascript:alert(1)",
        "JavaScript:alert(document.cookie)",
        "data:text/html,<script>alert(1)</script>",
        "/relative/run/1",
        "https://ci.example.com/run/1\u{1b}[31m",
        "ftp://ci.example.com/run/1",
    ]
    .iter()
    .enumerate()
    {
        let (status, problem) = h
            .callback(
                &id,
                &format!("bad-url-{n}"),
                &json!({"status": "started", "run_url": run_url}),
            )
            .await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{run_url}: {problem}"
        );
        assert_eq!(problem["code"], "invalid_run_url", "{problem}");
        assert!(
            problem["detail"].as_str().unwrap().contains("http"),
            "{problem}"
        );
    }
    for (n, reason) in ["boom\u{1b}[2J", "boom\r\nINFO forged log line"]
        .iter()
        .enumerate()
    {
        let (status, problem) = h
            .callback(
                &id,
                &format!("bad-reason-{n}"),
                &json!({"status": "failed", "reason": reason}),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
        assert_eq!(problem["code"], "control_character", "{problem}");
        assert!(
            problem["detail"].as_str().unwrap().contains("`reason`"),
            "{problem}"
        );
    }
    assert_eq!(h.event_types(&id).await, ["requested", "validated"]);
    let (status, r) = h
        .callback(
            &id,
            "good",
            &json!({"status": "started", "run_url": "https://ci.example.com/run/1"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{r}");
    let (status, r) = h
        .callback(
            &id,
            "good-failed",
            &json!({"status": "failed", "reason": "smoke test `health` failed"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{r}");
    h.stop().await;
}

#[cfg(unix)]
#[tokio::test]
async fn the_sqlite_database_and_its_journal_files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    if std::env::var("GATEHOUSE_TEST_DATABASE_URL").is_ok_and(|u| !u.is_empty()) {
        return; // PostgreSQL run: no database file.
    }
    let h = Harness::start().await;
    h.submit(dev_intent()).await;
    let db = h.dir.path().join("gatehouse.db");
    for file in [
        db.clone(),
        db.with_extension("db-wal"),
        db.with_extension("db-shm"),
    ] {
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}: {mode:o}", file.display());
    }
    h.stop().await;
}

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

/// A copy of the reference bundle at `revision`; `stricter` lowers the dev cost ceiling so the
/// allowed dev intent needs an approval.
fn bundle_at(dir: &std::path::Path, revision: &str, stricter: bool) {
    copy_dir(&policies(), dir);
    let manifest = dir.join("bundle.json");
    let mut m: Value = serde_json::from_str(&std::fs::read_to_string(&manifest).unwrap()).unwrap();
    m["revision"] = json!(revision);
    std::fs::write(&manifest, m.to_string()).unwrap();
    if stricter {
        let data = dir.join("data/reference.json");
        let text = std::fs::read_to_string(&data).unwrap();
        assert!(text.contains("\"dev\": 500"));
        std::fs::write(&data, text.replace("\"dev\": 500", "\"dev\": 100")).unwrap();
    }
}

#[tokio::test]
async fn a_stale_replica_refuses_writes_and_cannot_take_the_active_bundle_back() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("shared.db");
    let (old, a_dir) = (dir.path().join("old"), dir.path().join("a"));
    bundle_at(&old, "2026.12.04-1", false);
    bundle_at(&a_dir, "2026.12.04-1", false);
    let b = Harness::with_database(tempfile::tempdir().unwrap(), db.clone(), "", old.clone()).await;
    let a =
        Harness::with_database(tempfile::tempdir().unwrap(), db.clone(), "", a_dir.clone()).await;
    // A reloads a stricter bundle at a higher revision: it becomes the active one.
    std::fs::remove_dir_all(&a_dir).unwrap();
    bundle_at(&a_dir, "2026.12.04-2", true);
    let (status, info) = a.post("/v1/admin/reload", ADMIN, &json!({})).await;
    assert_eq!(status, StatusCode::OK, "{info}");
    let d = a.submit(dev_intent()).await;
    assert_eq!(d["state"], "REQUESTED", "{d}");
    // B, still on the old rules, judges nothing.
    let stale = |h: &Harness| {
        let h = h.request(Method::POST, "/v1/deployments", Some(REQUESTER));
        async move {
            json_of(
                h.json(&json!({"intent": dev_intent()}))
                    .send()
                    .await
                    .unwrap(),
            )
            .await
        }
    };
    let (status, problem) = stale(&b).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{problem}");
    assert_eq!(problem["code"], "bundle_mismatch", "{problem}");
    assert!(
        problem["detail"].as_str().unwrap().contains("2026.12.04-2"),
        "{problem}"
    );
    // Nor does it approve on them.
    let (status, problem) = json_of(
        b.request(
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
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{problem}");
    assert_eq!(problem["code"], "bundle_mismatch", "{problem}");
    // B restarts on the old bundle: the active bundle stays A's, and B still refuses.
    b.stop().await;
    let b = Harness::with_database(tempfile::tempdir().unwrap(), db.clone(), "", old.clone()).await;
    let (status, replicas) = b.get("/v1/replicas", AUDITOR).await;
    assert_eq!(status, StatusCode::OK, "{replicas}");
    assert_eq!(
        replicas["active_bundle"]["revision"], "2026.12.04-2",
        "{replicas}"
    );
    // Every replica reports what it runs.
    let runs: Vec<(String, bool)> = replicas["replicas"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["bundle_revision"].as_str().unwrap().to_owned(),
                r["in_step"].as_bool().unwrap(),
            )
        })
        .collect();
    assert!(
        runs.contains(&("2026.12.04-2".to_owned(), true)),
        "{replicas}"
    );
    assert!(
        runs.contains(&("2026.12.04-1".to_owned(), false)),
        "{replicas}"
    );
    let (status, problem) = stale(&b).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{problem}");
    assert_eq!(problem["code"], "bundle_mismatch", "{problem}");
    let d = a.submit(dev_intent()).await;
    assert_eq!(d["state"], "REQUESTED", "{d}");
    // Given the active bundle, B writes again.
    std::fs::remove_dir_all(&old).unwrap();
    bundle_at(&old, "2026.12.04-2", true);
    let (status, info) = b.post("/v1/admin/reload", ADMIN, &json!({})).await;
    assert_eq!(status, StatusCode::OK, "{info}");
    let d = b.submit(dev_intent()).await;
    assert_eq!(d["state"], "REQUESTED", "{d}");
    b.stop().await;
    a.stop().await;
}
