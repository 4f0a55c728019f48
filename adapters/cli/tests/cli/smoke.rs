//! `gatehouse smoke` against a real `gatehouse serve` (the binary, on loopback, demo tokens): the
//! reference server passes every check and reports its version; a server with another bundle
//! fails the bundle check and names it, another expected version fails the health check; an unreachable URL fails every check; bad flags exit 2.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{Output, assert_code, bundle_copy, gatehouse, run};

/// A `gatehouse serve` child process, killed when dropped.
struct Served {
    child: Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// Starts `gatehouse serve` on embedded defaults (demo tokens) over `policies`.
fn serve(policies: &Path) -> Served {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let port = free_port();
    let child = gatehouse()
        .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--db"])
        .arg(dir.path().join("gatehouse.db"))
        .arg("--policies")
        .arg(policies)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("gatehouse serve starts");
    let url = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "gatehouse serve did not listen");
        std::thread::sleep(Duration::from_millis(50));
    }
    Served {
        child,
        url,
        _dir: dir,
    }
}

fn smoke(url: &str, extra: &[&str]) -> Output {
    run(gatehouse()
        .env("GATEHOUSE_TOKEN", "demo-auditor")
        .args(["smoke", "--url", url])
        .args(extra))
}

fn reference_digest() -> String {
    let out = run(gatehouse().args(["bundle"]));
    assert_code(&out, 0);
    let packed: Value = serde_json::from_str(&out.stdout).expect("a packed bundle");
    packed
        .get("digest")
        .and_then(Value::as_str)
        .expect("a digest")
        .to_owned()
}

#[test]
fn a_reference_server_passes_and_another_bundle_fails_naming_the_check() {
    let digest = reference_digest();
    let reference = serve(&crate::support::policies());
    let version = env!("CARGO_PKG_VERSION");
    let out = smoke(
        &reference.url,
        &[
            "--expect-bundle-digest",
            &digest,
            "--expect-version",
            version,
        ],
    );
    assert_code(&out, 0);
    assert!(
        out.stdout
            .contains(&format!("ok    health: up, gatehouse {version} (")),
        "{out}"
    );
    for check in [
        "health",
        "readiness",
        "openapi",
        "bundle",
        "audit",
        "metrics",
    ] {
        assert!(
            out.stdout.contains(&format!("ok    {check}: ")),
            "want `{check}` to pass\n{out}"
        );
    }
    assert!(
        out.stdout
            .contains("ok    evaluate reference denied intent: deny by"),
        "{out}"
    );
    assert!(out.stdout.contains("all 8 checks passed"), "{out}");

    // The JSON report says the same.
    let json = smoke(&reference.url, &["--format", "json"]);
    assert_code(&json, 0);
    let report: Value = serde_json::from_str(&json.stdout).expect("a JSON report");
    assert_eq!(report.get("passed"), Some(&Value::Bool(true)));
    let checks = report
        .get("checks")
        .and_then(Value::as_array)
        .expect("checks");
    assert_eq!(checks.len(), 8);

    // A server judging with another bundle: the bundle check fails, and says why.
    let (_tmp, bundle) = bundle_copy();
    let manifest = bundle.join("bundle.json");
    let text = std::fs::read_to_string(&manifest).expect("the manifest");
    std::fs::write(
        &manifest,
        text.replace("gatehouse-reference", "gatehouse-drifted"),
    )
    .expect("write the manifest");
    let drifted = serve(&bundle);
    let out = smoke(&drifted.url, &["--expect-bundle-digest", &digest]);
    assert_code(&out, 1);
    assert!(
        out.stdout
            .contains("FAIL  bundle: the server judges with gatehouse-drifted"),
        "{out}"
    );
    assert!(
        out.stdout.contains(&format!("expected digest {digest}")),
        "{out}"
    );
    assert!(out.stdout.contains("1 of "), "{out}");
}

#[test]
fn another_expected_version_fails_the_health_check_naming_both() {
    let reference = serve(&crate::support::policies());
    let version = env!("CARGO_PKG_VERSION");
    // A tag name works too.
    let out = smoke(
        &reference.url,
        &[
            "--check",
            "health",
            "--expect-version",
            &format!("v{version}"),
        ],
    );
    assert_code(&out, 0);
    let out = smoke(
        &reference.url,
        &["--check", "health", "--expect-version", "99.0.0"],
    );
    assert_code(&out, 1);
    assert!(
        out.stdout.contains(&format!(
            "FAIL  health: the server runs gatehouse {version}, expected 99.0.0"
        )),
        "{out}"
    );
    assert!(out.stdout.contains("1 of 1 checks failed"), "{out}");
}

#[test]
fn cases_check_outcomes_and_policies() {
    let reference = serve(&crate::support::policies());
    let denied = "policies/examples/web-frontend-ap-region-denied.yaml";
    let out = smoke(
        &reference.url,
        &["--case", &format!("{denied}=deny:region.allowed")],
    );
    assert_code(&out, 0);
    // The wrong expectation fails and shows what the server decided.
    let out = smoke(
        &reference.url,
        &[
            "--case",
            &format!("{denied}=allow"),
            "--case",
            &format!("{denied}=deny:tags.required"),
        ],
    );
    assert_code(&out, 1);
    assert!(
        out.stdout
            .contains(&format!("FAIL  evaluate {denied}: deny (blocking: ")),
        "{out}"
    );
    assert!(out.stdout.contains("expected allow"), "{out}");
    assert!(
        out.stdout.contains("expected deny with tags.required"),
        "{out}"
    );
}

#[test]
fn an_unreachable_server_fails_every_check_and_bad_flags_exit_2() {
    let port = free_port();
    let out = smoke(&format!("http://127.0.0.1:{port}"), &["--timeout", "2"]);
    assert_code(&out, 1);
    assert!(out.stdout.contains("FAIL  health: cannot connect"), "{out}");
    assert!(!out.stdout.contains("ok  "), "{out}");

    // A container health check: liveness and readiness only, no token needed.
    let reference = serve(&crate::support::policies());
    let out = run(gatehouse().args([
        "smoke",
        "--url",
        &reference.url,
        "--check",
        "health",
        "--check",
        "readiness",
    ]));
    assert_code(&out, 0);
    assert!(out.stdout.contains("all 2 checks passed"), "{out}");

    let out = smoke("ftp://example.com", &[]);
    assert_code(&out, 2);
    assert!(out.stderr.contains("only http and https"), "{out}");
    let out = smoke("http://127.0.0.1:1", &["--case", "x.yaml=maybe"]);
    assert_code(&out, 2);
    assert!(out.stderr.contains("`maybe` is not an outcome"), "{out}");
}

#[test]
fn a_token_never_appears_in_the_output() {
    let reference = serve(&crate::support::policies());
    let out = run(gatehouse()
        .env("SMOKE_TOKEN_UNDER_TEST", "not-a-valid-token-s3cr3t")
        .args([
            "smoke",
            "--url",
            &reference.url,
            "--token-env",
            "SMOKE_TOKEN_UNDER_TEST",
        ]));
    // A wrong token: the authenticated checks fail with the server's 401, the token is not shown.
    assert_code(&out, 1);
    assert!(out.stdout.contains("401"), "{out}");
    assert!(
        !out.stdout.contains("s3cr3t") && !out.stderr.contains("s3cr3t"),
        "{out}"
    );
}
