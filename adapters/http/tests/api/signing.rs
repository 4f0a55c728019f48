//! Signed bundles on the server (issue 22): with `[bundle] trusted_keys`, a server does not start
//! on an unsigned bundle, and `/v1/admin/reload` of a bundle changed after signing or signed by
//! an unknown key answers 422 naming the problem while the running bundle stays.

use std::path::{Path, PathBuf};

use gatehouse_core::{BundleSource, SIGNATURE_FILE, SigningKey, sign_bundle};
use gatehouse_http::{Config, Server};
use reqwest::StatusCode;
use serde_json::json;

use crate::harness::*;

/// Test-only keys of the core's tests (never trusted for a real bundle).
fn key(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../core/tests/fixtures/test-only-keys")
        .join(name)
}

fn sign(bundle: &Path, name: &str) {
    let key = SigningKey::from_pem(&std::fs::read_to_string(key(&format!("{name}.pem"))).unwrap())
        .unwrap();
    let envelope = sign_bundle(&BundleSource::from_dir(bundle).unwrap(), &key).unwrap();
    std::fs::write(bundle.join(SIGNATURE_FILE), envelope.to_json()).unwrap();
}

/// A copy of the reference bundle's decision files in `dir`.
fn bundle_in(dir: &Path) -> PathBuf {
    let bundle = dir.join("policies");
    let status = std::process::Command::new("cp")
        .arg("-R")
        .arg(policies())
        .arg(&bundle)
        .status()
        .unwrap();
    assert!(status.success());
    bundle
}

fn trusted_toml() -> String {
    format!(
        "[bundle]\ntrusted_keys = [{}]\n",
        json!(key("trusted.pub.pem").display().to_string())
    )
}

#[tokio::test]
async fn a_server_does_not_start_on_an_unsigned_bundle_when_keys_are_configured() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = bundle_in(dir.path());
    let mut config = Config::from_toml(&config_toml(&trusted_toml())).unwrap();
    config.control.database = database_for(&dir.path().join("gatehouse.db")).await;
    config.control.policies = bundle.clone();
    let error = Server::start_with(config.clone(), clock(), |_| None)
        .await
        .err()
        .expect("the server refuses the unsigned bundle");
    let text = error.to_string();
    assert!(text.contains("bundle is not signed"), "{text}");

    // A key file that is not a public key is a config error.
    let mut wrong = config.clone();
    wrong.bundle.trusted_keys = vec![key("trusted.pem")];
    let error = Server::start_with(wrong, clock(), |_| None)
        .await
        .err()
        .expect("the server refuses the key");
    assert!(
        error.to_string().contains("bundle.trusted_keys[0]"),
        "{error}"
    );
}

#[tokio::test]
async fn a_reload_of_an_altered_or_untrusted_bundle_is_refused_and_the_running_bundle_stays() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = bundle_in(dir.path());
    sign(&bundle, "trusted");
    let h = Harness::with_config_in(dir, &trusted_toml(), bundle.clone()).await;
    let (_, before) = h.get("/v1/policies", AUDITOR).await;
    let digest = before["bundle"]["digest"].as_str().unwrap().to_owned();

    // A file changed after signing.
    let manifest = bundle.join("bundle.json");
    let mut m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&manifest).unwrap()).unwrap();
    m["revision"] = json!("2099.01.01-1");
    std::fs::write(&manifest, m.to_string()).unwrap();
    let (status, p) = h.post("/v1/admin/reload", ADMIN, &json!({})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{p}");
    assert_eq!(p["errors"][0]["code"], "bundle_file_changed", "{p}");
    let (_, still) = h.get("/v1/policies", AUDITOR).await;
    assert_eq!(still["bundle"]["digest"], digest.as_str());

    // Signed again, by a key the server does not trust.
    sign(&bundle, "untrusted");
    let (status, p) = h.post("/v1/admin/reload", ADMIN, &json!({})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{p}");
    assert_eq!(
        p["errors"][0]["code"], "bundle_signature_unknown_key",
        "{p}"
    );
    let (_, still) = h.get("/v1/policies", AUDITOR).await;
    assert_eq!(still["bundle"]["digest"], digest.as_str());
    let d = h.submit(dev_intent()).await;
    assert_eq!(d["bundle_digest"], digest.as_str());

    // Signed by the trusted key: the new revision loads.
    sign(&bundle, "trusted");
    let (status, p) = h.post("/v1/admin/reload", ADMIN, &json!({})).await;
    assert_eq!(status, StatusCode::OK, "{p}");
    let (_, after) = h.get("/v1/policies", AUDITOR).await;
    assert_ne!(after["bundle"]["digest"], digest.as_str());
    assert_eq!(after["bundle"]["revision"], "2099.01.01-1");
    h.stop().await;
}

/// `GET /v1/bundle` with its ETag: `304` without a body to a matching `If-None-Match`.
async fn bundle_with(h: &Harness, if_none_match: Option<&str>) -> (StatusCode, String, String) {
    let mut request = h.request(reqwest::Method::GET, "/v1/bundle", Some(AUDITOR));
    if let Some(tags) = if_none_match {
        request = request.header("If-None-Match", tags);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let etag = response.headers()["etag"].to_str().unwrap().to_owned();
    (status, etag, response.text().await.unwrap())
}

#[tokio::test]
async fn the_packed_bundle_carries_its_signature_and_answers_304_to_a_matching_if_none_match() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = bundle_in(dir.path());
    sign(&bundle, "trusted");
    let h = Harness::with_config_in(dir, &trusted_toml(), bundle.clone()).await;
    let trusted = vec![
        gatehouse_core::TrustedKey::from_pem(
            &std::fs::read_to_string(key("trusted.pub.pem")).unwrap(),
        )
        .unwrap(),
    ];

    let (status, etag, body) = bundle_with(&h, None).await;
    assert_eq!(status, StatusCode::OK);
    let packed = gatehouse_core::PackedBundle::from_json(&body).unwrap();
    assert!(packed.signature.is_some(), "{body}");
    assert_eq!(etag, format!("\"{}\"", packed.etag()));
    let (_, policies) = h.get("/v1/policies", AUDITOR).await;
    assert_eq!(policies["bundle"]["digest"], packed.digest.as_str());
    packed.verify_with(&trusted).unwrap();

    // Matching: the tag, weak, in a list, `*`: 304, no body, the same ETag.
    let weak = format!("W/{etag}");
    let listed = format!("\"sha256:old\", {weak}");
    for tags in [etag.as_str(), weak.as_str(), listed.as_str(), "*"] {
        let (status, again, body) = bundle_with(&h, Some(tags)).await;
        assert_eq!(status, StatusCode::NOT_MODIFIED, "{tags}");
        assert_eq!(again, etag, "{tags}");
        assert!(body.is_empty(), "{tags}: {body}");
    }
    // Not matching: the whole document.
    for tags in ["\"sha256:old\"", "W/\"sha256:old\", \"other\""] {
        let (status, again, body) = bundle_with(&h, Some(tags)).await;
        assert_eq!(status, StatusCode::OK, "{tags}");
        assert_eq!(again, etag);
        assert_eq!(body, packed_text(&body));
    }

    // Signed again by the trusted key (the same files): another document, another ETag.
    sign(&bundle, "trusted");
    let (status, p) = h.post("/v1/admin/reload", ADMIN, &json!({})).await;
    assert_eq!(status, StatusCode::OK, "{p}");
    let (status, resigned, body) = bundle_with(&h, Some(&etag)).await;
    // ed25519 signatures are deterministic: the same key over the same statement is the same
    // envelope, so nothing changed.
    assert_eq!(
        (status, resigned.as_str()),
        (StatusCode::NOT_MODIFIED, etag.as_str()),
        "{body}"
    );

    // A new revision, signed: the old ETag gets it.
    let manifest = bundle.join("bundle.json");
    let mut m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&manifest).unwrap()).unwrap();
    m["revision"] = json!("2099.01.01-1");
    std::fs::write(&manifest, m.to_string()).unwrap();
    sign(&bundle, "trusted");
    let (status, p) = h.post("/v1/admin/reload", ADMIN, &json!({})).await;
    assert_eq!(status, StatusCode::OK, "{p}");
    let (status, newer, body) = bundle_with(&h, Some(&etag)).await;
    assert_eq!(status, StatusCode::OK);
    assert_ne!(newer, etag);
    let packed = gatehouse_core::PackedBundle::from_json(&body).unwrap();
    assert_eq!(packed.revision, "2099.01.01-1");
    packed.verify_with(&trusted).unwrap();
    h.stop().await;
}

/// The body as the server sends it (compact JSON of the packed document).
fn packed_text(body: &str) -> String {
    gatehouse_core::PackedBundle::from_json(body)
        .unwrap()
        .to_json(false)
}

#[tokio::test]
async fn an_unsigned_bundle_is_served_without_a_signature_under_its_digest() {
    let h = Harness::start().await;
    let (status, etag, body) = bundle_with(&h, None).await;
    assert_eq!(status, StatusCode::OK);
    let packed = gatehouse_core::PackedBundle::from_json(&body).unwrap();
    assert!(packed.signature.is_none());
    assert!(!body.contains("\"signature\""));
    assert_eq!(etag, format!("\"{}\"", packed.digest));
    let (status, _, body) = bundle_with(&h, Some(&etag)).await;
    assert_eq!(status, StatusCode::NOT_MODIFIED);
    assert!(body.is_empty(), "{} bytes", body.len());
    h.stop().await;
}
