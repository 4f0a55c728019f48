//! `/v1/admin/reload` with a hostile bundle (issues 21 and 27): a derived rule building a huge
//! `numbers.range` and a named pipe among the bundle's files are refused with 422, naming the
//! file, and the running bundle stays. The range here is five million numbers, so that a build
//! without the bound loads it quickly (and fails the test) instead of taking the machine's memory;
//! the pipe's reload runs under a deadline, so that a regression fails instead of hanging.

use std::path::Path;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::*;

fn copy_dir(from: &Path, to: &Path) {
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

/// The reload's answer; `None` (after `unblock`) when it has not come within a minute.
async fn reload(h: &Harness, unblock: impl FnOnce()) -> Option<(StatusCode, Value)> {
    match tokio::time::timeout(
        Duration::from_secs(60),
        h.post("/v1/admin/reload", ADMIN, &json!({})),
    )
    .await
    {
        Ok(answer) => Some(answer),
        Err(_) => {
            unblock();
            None
        }
    }
}

#[tokio::test]
async fn a_reload_that_hits_a_limit_is_refused_and_the_running_bundle_stays() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("policies");
    copy_dir(&policies(), &bundle);
    let h = Harness::with_config_in(dir, "", bundle.clone()).await;
    let (_, before) = h.get("/v1/policies", AUDITOR).await;
    let digest = before["bundle"]["digest"].as_str().unwrap().to_owned();

    // A derived rule over the range limit: 422 at its line.
    let derived = bundle.join("rules/zz_derived.rego");
    std::fs::write(
        &derived,
        "package governance.derived\n\nbig := count(numbers.range(1, 5000000))\n",
    )
    .unwrap();
    let (status, p) = reload(&h, || {}).await.expect("the reload answers");
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{p}");
    let error = &p["errors"][0];
    assert_eq!(error["code"], "derived_evaluation", "{p}");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("`numbers.range` would return 5000000 numbers; the range limit is 1000000"),
        "{p}"
    );
    assert_eq!(error["span"]["line"], 3, "{p}");
    let (_, still) = h.get("/v1/policies", AUDITOR).await;
    assert_eq!(still["bundle"]["digest"], digest.as_str());
    std::fs::remove_file(&derived).unwrap();

    // A named pipe among the files: 422 at once, naming it.
    let fifo = bundle.join("rules/x.rego");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let (status, p) = reload(&h, || {
        let _ = std::fs::OpenOptions::new().write(true).open(&fifo);
    })
    .await
    .expect("the reload answers without blocking");
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{p}");
    let message = p["errors"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("not a regular file (it is a named pipe)"),
        "{p}"
    );
    assert!(message.contains("rules/x.rego"), "{p}");
    let (_, still) = h.get("/v1/policies", AUDITOR).await;
    assert_eq!(still["bundle"]["digest"], digest.as_str());

    // And decisions still come from it.
    let d = h.submit(dev_intent()).await;
    assert_eq!(d["bundle_digest"], digest.as_str());
    h.stop().await;
}
