//! Signed bundles through the binary (issue 22): `bundle sign` and `bundle verify`, and
//! `--trusted-key` on every command that loads a bundle. Keys are made by openssl at test time,
//! as an operator makes them (`openssl genpkey -algorithm ed25519`, `openssl pkey -pubout`).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::{Output, assert_code, bundle_copy, gatehouse, run};

const INTENT: &str = "policies/examples/payments-api-near-budget-allowed.yaml";
const RULE: &str = "rules/compute/size_allowed.rego";

/// An ed25519 key pair written by openssl into `dir`: (private, public).
fn openssl_key(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    let private = dir.join(format!("{name}.pem"));
    let public = dir.join(format!("{name}.pub.pem"));
    let ok = Command::new("openssl")
        .args(["genpkey", "-algorithm", "ed25519", "-out"])
        .arg(&private)
        .status()
        .expect("openssl runs")
        .success();
    assert!(ok, "openssl genpkey failed");
    let ok = Command::new("openssl")
        .args(["pkey", "-pubout", "-in"])
        .arg(&private)
        .arg("-out")
        .arg(&public)
        .status()
        .expect("openssl runs")
        .success();
    assert!(ok, "openssl pkey -pubout failed");
    (private, public)
}

fn sign(bundle: &Path, key: &Path) -> Output {
    run(gatehouse()
        .args(["bundle", "sign", "--policies"])
        .arg(bundle)
        .arg("--key")
        .arg(key))
}

fn verify(bundle: &Path, key: &Path) -> Output {
    run(gatehouse()
        .args(["bundle", "verify", "--policies"])
        .arg(bundle)
        .arg("--trusted-key")
        .arg(key))
}

/// The decision time of every check here, so two runs decide at the same instant.
const NOW: &str = "2026-11-23T12:00:00Z";

fn check(bundle: &Path, key: &Path) -> Output {
    run(gatehouse()
        .args(["check", "--format", "json", "--now", NOW, "--policies"])
        .arg(bundle)
        .arg("--trusted-key")
        .arg(key)
        .arg(INTENT))
}

/// A signed copy of the reference bundle and its trusted public key.
fn signed() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let (tmp, bundle) = bundle_copy();
    let (private, public) = openssl_key(tmp.path(), "release");
    assert_code(&sign(&bundle, &private), 0);
    (tmp, bundle, public)
}

/// The bundle is refused by `check` (exit 2, the error's code and the file on stderr) and by
/// `bundle verify` (exit 1).
#[track_caller]
fn assert_refused(bundle: &Path, key: &Path, code: &str, file: &str) {
    let out = check(bundle, key);
    assert_code(&out, 2);
    assert!(out.stdout.is_empty(), "{out}");
    assert!(out.stderr.contains(code), "{out}");
    assert!(
        out.stderr
            .contains(&bundle.join(file).display().to_string()),
        "{out}"
    );
    let out = verify(bundle, key);
    assert_code(&out, 1);
    assert!(out.stderr.contains(code), "{out}");
}

#[test]
fn a_signed_bundle_verifies_and_decides_as_the_unsigned_one() {
    let (_tmp, bundle, public) = signed();
    let out = verify(&bundle, &public);
    assert_code(&out, 0);
    assert!(out.stdout.starts_with("verified "), "{out}");
    let with_key = check(&bundle, &public);
    let without = run(gatehouse()
        .args(["check", "--format", "json", "--now", NOW, "--policies"])
        .arg(&bundle)
        .arg(INTENT));
    // The same decision (whatever it is without the history): the signature changes nothing.
    assert_ne!(with_key.code, Some(2), "{with_key}");
    assert_eq!(with_key.code, without.code);
    assert_eq!(with_key.stdout, without.stdout);
    for args in [
        vec!["bundle", "--policies"],
        vec!["test"],
        vec!["explain", INTENT, "--policies"],
        vec![
            "diff",
            INTENT,
            "--base",
            &bundle.display().to_string(),
            "--head",
        ],
    ] {
        let out = run(gatehouse()
            .args(&args)
            .arg(&bundle)
            .arg("--trusted-key")
            .arg(&public));
        // Loaded: a verdict (0 or 1), not a load error (2).
        assert!(matches!(out.code, Some(0 | 1)), "{args:?}: {out}");
    }
}

#[test]
fn a_bundle_file_changed_after_signing_is_refused() {
    let (_tmp, bundle, public) = signed();
    let rule = bundle.join(RULE);
    let text = std::fs::read_to_string(&rule).expect("a rule");
    std::fs::write(&rule, format!("{text}\n# changed\n")).expect("write");
    assert_refused(&bundle, &public, "bundle_file_changed", RULE);
}

#[test]
fn a_bundle_signed_by_an_untrusted_key_is_refused() {
    let (tmp, bundle, _public) = signed();
    let (other, _) = openssl_key(tmp.path(), "other");
    let (_, trusted) = openssl_key(tmp.path(), "trusted");
    assert_code(&sign(&bundle, &other), 0);
    assert_refused(
        &bundle,
        &trusted,
        "bundle_signature_unknown_key",
        "bundle.sig.json",
    );
}

#[test]
fn an_unsigned_bundle_is_refused_by_every_loading_command_when_keys_are_configured() {
    let (tmp, bundle) = bundle_copy();
    let (_, public) = openssl_key(tmp.path(), "release");
    assert_refused(&bundle, &public, "bundle_unsigned", "bundle.sig.json");
    for args in [
        vec!["bundle", "--policies"],
        vec!["test"],
        vec!["explain", INTENT, "--policies"],
        vec!["diff", INTENT, "--base", "policies", "--head"],
    ] {
        let out = run(gatehouse()
            .args(&args)
            .arg(&bundle)
            .arg("--trusted-key")
            .arg(&public));
        assert_code(&out, 2);
        assert!(out.stderr.contains("bundle_unsigned"), "{args:?}: {out}");
    }
}

#[test]
fn a_payload_changed_after_signing_is_refused() {
    // The trusted signature kept, the payload swapped for the statement of another bundle.
    let (tmp, bundle, public) = signed();
    let path = bundle.join("bundle.sig.json");
    let read = |path: &Path| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(path).expect("read")).expect("json")
    };
    let original = read(&path);
    let rule = bundle.join(RULE);
    let text = std::fs::read_to_string(&rule).expect("a rule");
    std::fs::write(&rule, format!("{text}\n# changed\n")).expect("write");
    let (other, _) = openssl_key(tmp.path(), "other");
    assert_code(&sign(&bundle, &other), 0);
    let mut forged = read(&path);
    forged["signatures"] = original["signatures"].clone();
    std::fs::write(&path, forged.to_string()).expect("write");
    assert_refused(
        &bundle,
        &public,
        "bundle_signature_invalid",
        "bundle.sig.json",
    );
}

#[test]
fn a_file_added_or_removed_after_signing_is_refused() {
    let (_tmp, bundle, public) = signed();
    std::fs::write(
        bundle.join("rules/extra.rego"),
        "package gatehouse.lib.extra\n",
    )
    .expect("write");
    assert_refused(&bundle, &public, "bundle_file_added", "rules/extra.rego");
    std::fs::remove_file(bundle.join("rules/extra.rego")).expect("remove");
    assert_code(&verify(&bundle, &public), 0);
    std::fs::remove_file(bundle.join(RULE)).expect("remove");
    assert_refused(&bundle, &public, "bundle_file_removed", RULE);
}

#[test]
fn keys_that_cannot_be_used_are_usage_errors() {
    let (tmp, bundle, public) = signed();
    let (private, _) = openssl_key(tmp.path(), "again");
    // A private key where a public key belongs, a missing file, no key at all.
    let out = verify(&bundle, &private);
    assert_code(&out, 2);
    assert!(out.stderr.contains("not an ed25519 public key"), "{out}");
    assert_code(&check(&bundle, &tmp.path().join("missing.pem")), 2);
    let out = run(gatehouse()
        .args(["bundle", "verify", "--policies"])
        .arg(&bundle));
    assert_code(&out, 2);
    let out = sign(&bundle, &public);
    assert_code(&out, 2);
    assert!(out.stderr.contains("not an ed25519 private key"), "{out}");
    // A custom key id is written into the envelope and still verifies.
    let out = run(gatehouse()
        .args(["bundle", "sign", "--key-id", "release-2026", "--key"])
        .arg(&private)
        .arg("--policies")
        .arg(&bundle));
    assert_code(&out, 0);
    let envelope = std::fs::read_to_string(bundle.join("bundle.sig.json")).expect("read");
    assert!(
        envelope.contains("\"keyid\": \"release-2026\""),
        "{envelope}"
    );
}

#[test]
fn the_packed_bundle_carries_the_signature_that_verifies_it() {
    let (_tmp, bundle, public) = signed();
    let out = run(gatehouse()
        .args(["bundle", "--policies"])
        .arg(&bundle)
        .arg("--trusted-key")
        .arg(&public));
    assert_code(&out, 0);
    let packed = gatehouse_core::PackedBundle::from_json(&out.stdout).unwrap();
    assert!(packed.signature.is_some(), "{out}");
    // The packed document leaves the signed tests out and still verifies.
    assert!(!packed.files.keys().any(|p| p.ends_with("_test.rego")));
    let key =
        gatehouse_core::TrustedKey::from_pem(&std::fs::read_to_string(&public).unwrap()).unwrap();
    packed.verify_with(&[key]).unwrap();
}
