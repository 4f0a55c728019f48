//! Signed packed bundles (issue 22, part 2): the packed document (`gatehouse bundle`,
//! `GET /v1/bundle`) carries the directory's signature, and `PackedBundle::verify_with` checks
//! it against trusted keys. The statement lists the tests, which the packer leaves out: only
//! those may be missing. Each attack is refused with the signature error a directory gets,
//! located at the file.
#![expect(
    clippy::unwrap_used,
    clippy::panic,
    reason = "fixtures: a broken fixture should fail the test at once"
)]

use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use gatehouse_core::signing::BundleStatement;
use gatehouse_core::{
    BundleSource, Diagnostic, DirOptions, PackedBundle, PackedBundleError, SIGNATURE_FILE,
    SignatureError, SigningKey, TrustedKey, load_dir, sign_bundle,
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

fn trusted() -> Vec<TrustedKey> {
    vec![TrustedKey::from_pem(&fixture("trusted.pub.pem")).unwrap()]
}

/// A fresh bundle directory with a Rego test, signed by `key` when given.
fn bundle(name: &str, key: Option<&str>) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("gatehouse-packed-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("rules")).unwrap();
    std::fs::create_dir_all(dir.join("data")).unwrap();
    for (path, text) in [
        ("bundle.json", r#"{"name": "t", "revision": "1"}"#),
        (
            "rules/p.rego",
            "package gatehouse.policies.p\n\ndeny contains \"x\" if { input.intent.fire }\n",
        ),
        (
            "rules/p_test.rego",
            "package gatehouse.policies.p_test\n\ntest_quiet if { true }\n",
        ),
        ("data/ref.json", r#"{"governance": {"reference": {}}}"#),
    ] {
        std::fs::write(dir.join(path), text).unwrap();
    }
    if let Some(key) = key {
        sign(&dir, key);
    }
    dir
}

fn sign(dir: &Path, key: &str) {
    let source = BundleSource::from_dir(dir).unwrap();
    let key = SigningKey::from_pem(&fixture(&format!("{key}.pem"))).unwrap();
    let envelope = sign_bundle(&source, &key).unwrap();
    std::fs::write(dir.join(SIGNATURE_FILE), envelope.to_json()).unwrap();
}

/// The packed document of `dir`, as `gatehouse bundle` writes it and read back.
fn packed(dir: &Path) -> PackedBundle {
    let text = load_dir(dir, &DirOptions::default())
        .unwrap()
        .packed()
        .to_json(false);
    PackedBundle::from_json(&text).unwrap()
}

/// The document with its digest made to match its files again, as an attacker who changes the
/// files would do (the digest alone is no protection).
fn redigested(mut packed: PackedBundle) -> PackedBundle {
    packed.digest = BundleSource {
        files: packed.files.clone(),
    }
    .digest();
    packed
}

/// The signature error of a verification, checking that its record is located at the file.
fn refused(packed: PackedBundle) -> SignatureError {
    let error = packed.verify_with(&trusted()).unwrap_err();
    let PackedBundleError::Signature(source) = &error else {
        panic!("not a signature error: {error}");
    };
    let detail = error.details().remove(0);
    assert_eq!(detail.code, source.code());
    assert_eq!(error.code(), source.code());
    assert!(detail.help.is_some(), "{detail:?}");
    assert_eq!(detail.span.unwrap().file, source.file());
    source.clone()
}

#[test]
fn a_signed_bundle_packs_its_signature_and_verifies_without_its_tests() {
    let dir = bundle("ok", Some("trusted"));
    let loaded = load_dir(
        &dir,
        &DirOptions {
            trusted_keys: trusted(),
            ..DirOptions::default()
        },
    )
    .unwrap();
    let text = loaded.packed().to_json(false);
    assert!(text.contains(r#""signature":{"payloadType":"#), "{text}");
    let packed = PackedBundle::from_json(&text).unwrap();
    assert!(!packed.files.contains_key("rules/p_test.rego"));
    // The digest decisions report is the same for the directory and the packed bundle.
    assert_eq!(packed.digest, loaded.engine.info().digest);
    let source = packed.clone().verify_with(&trusted()).unwrap();
    assert_eq!(source.digest(), loaded.source.digest());
    assert_eq!(source, packed.clone().verify().unwrap());
    // Any one trusted key is enough.
    let mut two = vec![TrustedKey::from_pem(&fixture("untrusted.pub.pem")).unwrap()];
    two.extend(trusted());
    packed.verify_with(&two).unwrap();
}

#[test]
fn an_unsigned_packed_bundle_is_refused_when_keys_are_given() {
    let unsigned = packed(&bundle("unsigned", None));
    assert!(unsigned.signature.is_none());
    assert_eq!(refused(unsigned.clone()), SignatureError::Unsigned);
    // Without keys the signature is not read, as a directory's is not.
    unsigned.verify().unwrap();

    let mut stripped = packed(&bundle("stripped", Some("trusted")));
    stripped.signature = None;
    assert_eq!(refused(stripped), SignatureError::Unsigned);
}

#[test]
fn a_packed_bundle_signed_by_an_untrusted_key_is_refused() {
    let packed = packed(&bundle("untrusted", Some("untrusted")));
    let key = SigningKey::from_pem(&fixture("untrusted.pem")).unwrap();
    assert_eq!(
        refused(packed),
        SignatureError::UnknownKey {
            key_ids: vec![key.key_id().to_owned()]
        }
    );
}

#[test]
fn a_packed_file_changed_after_signing_is_refused_by_name() {
    let mut changed = packed(&bundle("changed", Some("trusted")));
    changed.files.insert(
        "rules/p.rego".to_owned(),
        "package gatehouse.policies.p\n\ndeny contains \"x\" if { false }\n".to_owned(),
    );
    let expected = SignatureError::FileChanged {
        path: "rules/p.rego".to_owned(),
    };
    // Named as the changed file whether or not the digest was fixed up.
    assert_eq!(refused(changed.clone()), expected);
    assert_eq!(refused(redigested(changed)), expected);
}

#[test]
fn a_file_added_to_a_packed_bundle_after_signing_is_refused() {
    let mut added = packed(&bundle("added", Some("trusted")));
    added.files.insert(
        "rules/q.rego".to_owned(),
        "package gatehouse.policies.q\n\ndeny contains \"y\" if { false }\n".to_owned(),
    );
    assert_eq!(
        refused(redigested(added)),
        SignatureError::FileAdded {
            path: "rules/q.rego".to_owned()
        }
    );
}

#[test]
fn a_signed_file_missing_from_a_packed_bundle_is_refused_unless_it_is_a_test() {
    let dir = bundle("removed", Some("trusted"));
    let mut removed = packed(&dir);
    removed.files.remove("data/ref.json");
    assert_eq!(
        refused(redigested(removed)),
        SignatureError::FileRemoved {
            path: "data/ref.json".to_owned()
        }
    );
    // A test file in the document is checked like any other file.
    let mut with_test = packed(&dir);
    with_test.files.insert(
        "rules/p_test.rego".to_owned(),
        "package gatehouse.policies.p_test\n\ntest_quiet if { false }\n".to_owned(),
    );
    assert_eq!(
        refused(with_test),
        SignatureError::FileChanged {
            path: "rules/p_test.rego".to_owned()
        }
    );
    let mut extra_test = packed(&dir);
    extra_test.files.insert(
        "rules/q_test.rego".to_owned(),
        "package gatehouse.policies.q_test\n".to_owned(),
    );
    assert_eq!(
        refused(extra_test),
        SignatureError::FileAdded {
            path: "rules/q_test.rego".to_owned()
        }
    );
}

#[test]
fn a_packed_bundle_under_another_name_or_revision_is_refused() {
    let signed = packed(&bundle("renamed", Some("trusted")));
    let mut renamed = signed.clone();
    renamed.revision = "2".to_owned();
    assert_eq!(
        refused(renamed),
        SignatureError::BundleMismatch {
            field: "revision",
            stated: "1".to_owned(),
            actual: "2".to_owned()
        }
    );
    let mut other = signed;
    other.name = "other".to_owned();
    assert!(matches!(
        refused(other),
        SignatureError::BundleMismatch { field: "name", .. }
    ));
}

#[test]
fn a_signature_moved_from_another_bundle_or_revision_is_refused() {
    // Revision 1 signed; revision 2 packed with revision 1's signature.
    let dir = bundle("replayed", Some("trusted"));
    let old = packed(&dir).signature;
    std::fs::write(dir.join("bundle.json"), r#"{"name": "t", "revision": "2"}"#).unwrap();
    let mut newer = packed(&dir);
    newer.signature = old;
    assert_eq!(
        refused(newer),
        SignatureError::FileChanged {
            path: "bundle.json".to_owned()
        }
    );
}

#[test]
fn a_payload_changed_after_signing_is_refused() {
    let mut forged = packed(&bundle("forged", Some("trusted")));
    forged.files.insert(
        "rules/p.rego".to_owned(),
        "package gatehouse.policies.p\n\ndeny contains \"x\" if { false }\n".to_owned(),
    );
    let mut forged = redigested(forged);
    // The statement rewritten to the new files, the signature kept.
    let envelope = forged.signature.as_mut().unwrap();
    let mut statement: BundleStatement =
        serde_json::from_slice(&STANDARD.decode(&envelope.payload).unwrap()).unwrap();
    for file in &mut statement.files {
        if let Some(text) = forged.files.get(&file.path) {
            file.sha256 = sha256_hex(text);
        }
    }
    statement.digest = forged.digest.clone();
    envelope.payload = STANDARD.encode(serde_json::to_vec(&statement).unwrap());
    let key = SigningKey::from_pem(&fixture("trusted.pem")).unwrap();
    assert_eq!(
        refused(forged),
        SignatureError::BadSignature {
            key_id: key.key_id().to_owned()
        }
    );
}

#[test]
fn the_etag_changes_with_the_signature_not_only_with_the_files() {
    let dir = bundle("etag", None);
    let unsigned = packed(&dir);
    assert_eq!(unsigned.etag(), unsigned.digest);
    sign(&dir, "trusted");
    let trusted_signed = packed(&dir);
    sign(&dir, "untrusted");
    let untrusted_signed = packed(&dir);
    assert_eq!(trusted_signed.digest, unsigned.digest);
    assert_ne!(trusted_signed.etag(), unsigned.etag());
    assert_ne!(trusted_signed.etag(), untrusted_signed.etag());
    assert!(trusted_signed.etag().starts_with(&unsigned.digest));
    // A validator: no quote, no space (RFC 9110 etagc).
    assert!(
        trusted_signed
            .etag()
            .bytes()
            .all(|b| b.is_ascii_graphic() && b != b'"')
    );
}

fn sha256_hex(text: &str) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
