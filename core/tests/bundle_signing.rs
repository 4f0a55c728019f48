//! Signed bundles (issue 22): with trusted keys configured, `load_dir` loads a bundle only when
//! a trusted key signed exactly the files it read. Each attack is refused with its own error,
//! located at the file (or the envelope) under the bundle directory.
#![expect(
    clippy::unwrap_used,
    clippy::panic,
    reason = "fixtures: a broken fixture should fail the test at once"
)]

use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use gatehouse_core::signing::{Envelope, PAYLOAD_TYPE, pae};
use gatehouse_core::{
    BundleSource, Diagnostic, DirLoadError, DirOptions, KeyError, SIGNATURE_FILE, SignatureError,
    SigningKey, TrustedKey, load_dir, sign_bundle,
};

/// Test-only keys (never trusted for a real bundle).
fn fixture(name: &str) -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/test-only-keys")
            .join(name),
    )
    .unwrap()
}

fn signing_key(name: &str) -> SigningKey {
    SigningKey::from_pem(&fixture(&format!("{name}.pem"))).unwrap()
}

fn trusted() -> DirOptions {
    DirOptions {
        trusted_keys: vec![TrustedKey::from_pem(&fixture("trusted.pub.pem")).unwrap()],
        ..DirOptions::default()
    }
}

/// A fresh bundle directory, signed by `key` when given.
fn bundle(name: &str, key: Option<&str>) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("gatehouse-signing-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("rules")).unwrap();
    std::fs::create_dir_all(dir.join("data")).unwrap();
    std::fs::write(dir.join("bundle.json"), r#"{"name": "t", "revision": "1"}"#).unwrap();
    std::fs::write(
        dir.join("rules/p.rego"),
        "package gatehouse.policies.p\n\ndeny contains \"x\" if { input.intent.fire }\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("data/ref.json"),
        r#"{"governance": {"reference": {}}}"#,
    )
    .unwrap();
    if let Some(key) = key {
        sign(&dir, key);
    }
    dir
}

fn sign(dir: &Path, key: &str) {
    let source = BundleSource::from_dir(dir).unwrap();
    let envelope = sign_bundle(&source, &signing_key(key)).unwrap();
    std::fs::write(dir.join(SIGNATURE_FILE), envelope.to_json()).unwrap();
}

/// The signature error of a load, checking that its record is located under `dir`.
fn refused(dir: &Path, options: &DirOptions) -> SignatureError {
    let error = load_dir(dir, options).unwrap_err();
    let DirLoadError::Signature { source, .. } = &error else {
        panic!("not a signature error: {error}");
    };
    let detail = error.details().remove(0);
    assert_eq!(detail.code, source.code());
    assert!(detail.help.is_some(), "{detail:?}");
    assert_eq!(
        detail.span.unwrap().file,
        dir.join(source.file()).display().to_string()
    );
    source.clone()
}

#[test]
fn a_bundle_signed_by_a_trusted_key_loads_as_the_same_bundle() {
    let dir = bundle("ok", Some("trusted"));
    let signed = load_dir(&dir, &trusted()).unwrap();
    let plain = load_dir(&dir, &DirOptions::default()).unwrap();
    assert_eq!(signed.engine.info(), plain.engine.info());
    assert!(!signed.source.files.contains_key(SIGNATURE_FILE));
    // Several trusted keys: any one of them is enough.
    let mut two = trusted();
    two.trusted_keys.insert(
        0,
        TrustedKey::from_pem(&fixture("untrusted.pub.pem")).unwrap(),
    );
    load_dir(&dir, &two).unwrap();
}

#[test]
fn a_bundle_file_changed_after_signing_is_refused() {
    let dir = bundle("changed", Some("trusted"));
    std::fs::write(
        dir.join("rules/p.rego"),
        "package gatehouse.policies.p\n\ndeny contains \"x\" if { false }\n",
    )
    .unwrap();
    assert_eq!(
        refused(&dir, &trusted()),
        SignatureError::FileChanged {
            path: "rules/p.rego".to_owned()
        }
    );
}

#[test]
fn a_bundle_signed_by_an_untrusted_key_is_refused() {
    let dir = bundle("untrusted", Some("untrusted"));
    let error = refused(&dir, &trusted());
    let untrusted = signing_key("untrusted");
    assert_eq!(
        error,
        SignatureError::UnknownKey {
            key_ids: vec![untrusted.key_id().to_owned()]
        }
    );
    assert!(error.to_string().contains(untrusted.key_id()), "{error}");
}

#[test]
fn an_unsigned_bundle_is_refused_when_keys_are_configured() {
    let dir = bundle("unsigned", None);
    assert_eq!(refused(&dir, &trusted()), SignatureError::Unsigned);
    // Without trusted keys the same bundle loads, as before.
    load_dir(&dir, &DirOptions::default()).unwrap();
}

#[test]
fn a_payload_changed_after_signing_is_refused() {
    let dir = bundle("payload", Some("trusted"));
    let path = dir.join(SIGNATURE_FILE);
    let mut envelope: Envelope =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let mut statement: serde_json::Value =
        serde_json::from_slice(&STANDARD.decode(&envelope.payload).unwrap()).unwrap();
    statement["revision"] = "2".into();
    envelope.payload = STANDARD.encode(serde_json::to_vec(&statement).unwrap());
    std::fs::write(&path, envelope.to_json()).unwrap();
    assert_eq!(
        refused(&dir, &trusted()),
        SignatureError::BadSignature {
            key_id: signing_key("trusted").key_id().to_owned()
        }
    );
}

#[test]
fn a_file_added_after_signing_is_refused() {
    let dir = bundle("added", Some("trusted"));
    std::fs::write(dir.join("data/extra.json"), r#"{"extra": true}"#).unwrap();
    assert_eq!(
        refused(&dir, &trusted()),
        SignatureError::FileAdded {
            path: "data/extra.json".to_owned()
        }
    );
}

#[test]
fn a_file_removed_after_signing_is_refused() {
    let dir = bundle("removed", Some("trusted"));
    std::fs::remove_file(dir.join("data/ref.json")).unwrap();
    assert_eq!(
        refused(&dir, &trusted()),
        SignatureError::FileRemoved {
            path: "data/ref.json".to_owned()
        }
    );
}

#[test]
fn an_overlay_is_checked_like_the_files_on_disk() {
    let dir = bundle("overlay", Some("trusted"));
    let mut options = trusted();
    options.overlay.insert(
        "rules/p.rego".to_owned(),
        "package gatehouse.policies.p\n\ndeny contains \"x\" if { false }\n".to_owned(),
    );
    assert_eq!(
        refused(&dir, &options),
        SignatureError::FileChanged {
            path: "rules/p.rego".to_owned()
        }
    );
}

#[test]
fn envelopes_of_another_type_or_shape_are_refused() {
    let dir = bundle("shape", Some("trusted"));
    let path = dir.join(SIGNATURE_FILE);
    let text = std::fs::read_to_string(&path).unwrap();
    let mut envelope: Envelope = serde_json::from_str(&text).unwrap();
    envelope.payload_type = "application/vnd.in-toto+json".to_owned();
    std::fs::write(&path, envelope.to_json()).unwrap();
    assert_eq!(
        refused(&dir, &trusted()),
        SignatureError::PayloadType {
            found: "application/vnd.in-toto+json".to_owned()
        }
    );
    for broken in ["not json", r#"{"payloadType": "x"}"#] {
        std::fs::write(&path, broken).unwrap();
        assert!(
            matches!(refused(&dir, &trusted()), SignatureError::Malformed { .. }),
            "{broken}"
        );
    }
    let mut envelope: Envelope = serde_json::from_str(&text).unwrap();
    envelope.signatures.clear();
    std::fs::write(&path, envelope.to_json()).unwrap();
    assert!(matches!(
        refused(&dir, &trusted()),
        SignatureError::Malformed { .. }
    ));
}

#[test]
fn pae_is_dsse_v1() {
    // The example of the DSSE protocol document.
    assert_eq!(
        pae("http://example.com/HelloWorld", b"hello world"),
        b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
    );
    assert_eq!(PAYLOAD_TYPE, "application/vnd.gatehouse.bundle+json");
}

#[test]
fn keys_are_read_from_openssl_pem_and_identified_by_their_spki_digest() {
    let key = signing_key("trusted");
    let public = TrustedKey::from_pem(&fixture("trusted.pub.pem")).unwrap();
    assert_eq!(key.key_id(), public.key_id());
    assert_eq!(key.key_id().len(), 64);
    assert!(matches!(
        SigningKey::from_pem(&fixture("trusted.pub.pem")),
        Err(KeyError::Private { .. })
    ));
    assert!(matches!(
        TrustedKey::from_pem(&fixture("trusted.pem")),
        Err(KeyError::Public { .. })
    ));
    assert!(matches!(
        signing_key("trusted").with_key_id(""),
        Err(KeyError::EmptyKeyId)
    ));
    // A custom key id is carried in the envelope; the trusted key still verifies it.
    let dir = bundle("key-id", None);
    let source = BundleSource::from_dir(&dir).unwrap();
    let envelope = sign_bundle(
        &source,
        &signing_key("trusted").with_key_id("release-2026").unwrap(),
    )
    .unwrap();
    assert_eq!(envelope.signatures[0].keyid, "release-2026");
    std::fs::write(dir.join(SIGNATURE_FILE), envelope.to_json()).unwrap();
    load_dir(&dir, &trusted()).unwrap();
}
