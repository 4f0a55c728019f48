//! `gatehouse serve` configured by the environment, as a container runs it, and installed with
//! its UI package beside it; `gatehouse smoke` against a real `gatehouse serve` (the binary, on
//! loopback, demo tokens): the
//! reference server passes every check and reports its version; a server with another bundle
//! fails the bundle check and names it, another expected version fails the health check; an unreachable URL fails every check; bad flags exit 2.

use std::io::{Read as _, Write as _};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{Output, assert_code, bundle_copy, gatehouse, run};

/// A `gatehouse serve` child process, killed when dropped.
struct Served {
    child: Child,
    url: String,
    /// The database's directory, removed when dropped.
    dir: tempfile::TempDir,
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
    let mut command = gatehouse();
    command
        .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--db"])
        .arg(dir.path().join("gatehouse.db"))
        .arg("--policies")
        .arg(policies)
        .stderr(Stdio::null());
    spawn(command, port, dir)
}

/// Runs a `serve` command and waits until it listens on `port`.
fn spawn(mut command: Command, port: u16, dir: tempfile::TempDir) -> Served {
    let mut child = command
        .stdout(Stdio::null())
        .spawn()
        .expect("gatehouse serve starts");
    let url = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("gatehouse serve exited with {status}");
        }
        assert!(Instant::now() < deadline, "gatehouse serve did not listen");
        std::thread::sleep(Duration::from_millis(50));
    }
    Served { child, url, dir }
}

/// The status line and body of `GET path` (HTTP/1.1 over a plain socket).
fn http_get(url: &str, path: &str) -> (String, String) {
    let addr = url.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(addr).expect("the server accepts");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .expect("the request is sent");
    let mut answer = String::new();
    stream
        .read_to_string(&mut answer)
        .expect("the answer is read");
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    (
        head.lines().next().unwrap_or("").to_owned(),
        body.to_owned(),
    )
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

/// Credentials in `--url` (`http://user:password@host`) are never printed: not in the summary,
/// not in the JSON report, not in a check's error, not in a usage error.
#[test]
fn credentials_in_the_url_never_appear_in_the_output() {
    let secret = "pa55-w0rd-s3cr3t";
    let reference = serve(&crate::support::policies());
    let with_credentials = reference
        .url
        .replace("http://", &format!("http://smoke-user:{secret}@"));
    // The checks that need no token (the user name and password go as basic authentication).
    let unauthenticated = ["--check", "health", "--check", "readiness", "--format"];
    for format in ["human", "json"] {
        let out = smoke(
            &with_credentials,
            &[&unauthenticated[..], &[format]].concat(),
        );
        assert_code(&out, 0);
        assert!(out.stdout.contains("127.0.0.1"), "{out}");
        assert!(
            !out.stdout.contains(secret) && !out.stderr.contains(secret),
            "{out}"
        );
    }
    let unreachable = format!("http://smoke-user:{secret}@127.0.0.1:{}", free_port());
    for format in ["human", "json"] {
        let out = smoke(&unreachable, &["--timeout", "2", "--format", format]);
        assert_code(&out, 1);
        assert!(
            !out.stdout.contains(secret) && !out.stderr.contains(secret),
            "{out}"
        );
    }
    let out = smoke(&format!("ftp://smoke-user:{secret}@127.0.0.1/"), &[]);
    assert_code(&out, 2);
    assert!(
        !out.stdout.contains(secret) && !out.stderr.contains(secret),
        "{out}"
    );
}

/// `scripts/post_deploy_smoke.sh` names the URL it waited for without its credentials.
#[test]
fn the_post_deploy_script_never_prints_url_credentials() {
    let secret = "pa55-w0rd-s3cr3t";
    let out = run(std::process::Command::new("bash")
        .arg(crate::support::root().join("scripts/post_deploy_smoke.sh"))
        .env(
            "GATEHOUSE_URL",
            format!("http://smoke-user:{secret}@127.0.0.1:{}", free_port()),
        )
        .env("GATEHOUSE_SMOKE_WAIT", "0")
        .env("GATEHOUSE_BIN", env!("CARGO_BIN_EXE_gatehouse")));
    assert_code(&out, 2);
    assert!(out.stderr.contains("did not answer"), "{out}");
    assert!(
        !out.stdout.contains(secret) && !out.stderr.contains(secret),
        "{out}"
    );
}

/// A bearer token goes over plain http only to a loopback host unless `--allow-insecure-http`
/// says so: otherwise exit 2 before any request (`.invalid` never resolves, so nothing is sent
/// either way).
#[test]
fn a_token_is_not_sent_over_plain_http_to_another_host() {
    let out = smoke("http://gatehouse.invalid", &["--timeout", "2"]);
    assert_code(&out, 2);
    assert!(out.stderr.contains("--allow-insecure-http"), "{out}");
    assert!(out.stderr.contains("gatehouse.invalid"), "{out}");
    assert_eq!(out.stdout, "", "no check ran\n{out}");

    // Opting in: the checks run (and fail: the name does not resolve).
    let out = smoke(
        "http://gatehouse.invalid",
        &["--timeout", "2", "--allow-insecure-http"],
    );
    assert_code(&out, 1);
    assert!(out.stdout.contains("FAIL  health"), "{out}");

    // No token: nothing to protect (a container health check over plain http).
    let out = run(gatehouse().env_remove("GATEHOUSE_TOKEN").args([
        "smoke",
        "--url",
        "http://gatehouse.invalid",
        "--timeout",
        "2",
        "--check",
        "health",
    ]));
    assert_code(&out, 1);
    assert!(out.stdout.contains("FAIL  health"), "{out}");
}

#[test]
fn serve_reads_its_configuration_from_the_environment_under_its_flags() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let (from_env, from_flag) = (free_port(), free_port());
    // No flags but --listen: the database, the bundle and (overridden) the address come from the
    // environment, as a container passes them.
    let mut command = gatehouse();
    command
        .env("GATEHOUSE_LISTEN", format!("127.0.0.1:{from_env}"))
        .env("GATEHOUSE_DATABASE", dir.path().join("from-env.db"))
        .env("GATEHOUSE_POLICIES", crate::support::policies())
        .args(["serve", "--listen", &format!("127.0.0.1:{from_flag}")])
        .stderr(Stdio::null());
    let served = spawn(command, from_flag, dir);
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", from_env)).is_err(),
        "the flag's address wins over GATEHOUSE_LISTEN"
    );
    assert!(served.dir.path().join("from-env.db").is_file());
    let out = smoke(
        &served.url,
        &[
            "--check",
            "health",
            "--check",
            "readiness",
            "--check",
            "bundle",
        ],
    );
    assert_code(&out, 0);
    assert!(out.stdout.contains("gatehouse-reference"), "{out}");

    // A value that cannot be used stops the server before it starts, naming the variable.
    for (name, value, says) in [
        (
            "GATEHOUSE_LISTEN",
            "localhost",
            "`localhost` is not an address",
        ),
        (
            "GATEHOUSE_DATABASE",
            "postgres://gh@db:x/gatehouse",
            "is not a PostgreSQL URL",
        ),
        (
            "GATEHOUSE_CONFIG",
            "/nonexistent/gatehouse.toml",
            "cannot read config file",
        ),
    ] {
        // A bundle that does not exist: a variable that were ignored fails too, not hangs.
        let out = run(gatehouse().env(name, value).args([
            "serve",
            "--policies",
            "/nonexistent/policies",
        ]));
        assert_code(&out, 2);
        assert!(
            out.stderr
                .contains(&format!("environment variable {name}: "))
                && out.stderr.contains(says),
            "{name}: {out}"
        );
    }
}

#[test]
fn an_installed_binary_serves_the_ui_package_from_its_prefix() {
    // <prefix>/bin/gatehouse with <prefix>/share/gatehouse/ui/pkg, as the container image and a
    // release archive copied into /usr/local lay them out; a hard link keeps the copy cheap.
    let binary = Path::new(env!("CARGO_BIN_EXE_gatehouse"));
    let prefix = tempfile::tempdir_in(binary.parent().expect("the binary's directory"))
        .expect("a temporary prefix");
    std::fs::create_dir_all(prefix.path().join("bin")).expect("bin/");
    let installed = prefix.path().join("bin/gatehouse");
    if std::fs::hard_link(binary, &installed).is_err() {
        std::fs::copy(binary, &installed).expect("a copy of the binary");
    }
    let pkg = prefix.path().join("share/gatehouse/ui/pkg");
    std::fs::create_dir_all(&pkg).expect("share/gatehouse/ui/pkg");
    std::fs::write(pkg.join("gatehouse_wasm.js"), "// the installed engine").expect("a js file");
    std::fs::write(pkg.join("gatehouse_wasm_bg.wasm"), b"\0asm\x01\0\0\0").expect("a wasm file");

    let dir = tempfile::tempdir().expect("a temporary directory");
    let log = dir.path().join("serve.log");
    let port = free_port();
    let mut command = Command::new(&installed);
    command
        .current_dir(dir.path())
        .env_remove("GATEHOUSE_UI_WASM_DIR")
        .env_remove("GATEHOUSE_CONFIG")
        .env("NO_COLOR", "1")
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--policies",
        ])
        .arg(crate::support::policies())
        .stderr(std::fs::File::create(&log).expect("a log file"));
    let served = spawn(command, port, dir);
    let (status, body) = http_get(&served.url, "/ui/pkg/gatehouse_wasm.js");
    assert!(status.contains(" 200 "), "{status}\n{body}");
    assert_eq!(body, "// the installed engine");
    let (status, page) = http_get(&served.url, "/ui/");
    assert!(status.contains(" 200 "), "{status}");
    assert!(!page.contains("wasm-notice"), "{page}");
    // The log says which directory it serves.
    let text = std::fs::read_to_string(&log).expect("the log");
    let canonical = pkg.canonicalize().expect("the package directory");
    assert!(
        text.contains(&format!(
            "UI: in-browser previews with the WASM engine package in {}",
            canonical.display()
        )),
        "{text}"
    );
}
