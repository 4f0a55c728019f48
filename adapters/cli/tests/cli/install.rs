//! The GitHub Action's install step (`adapters/github-action/install.sh`) against a local HTTP
//! server laid out as GitHub's release downloads (`<base>/v<version>/<archive>` and its
//! `.sha256`), with archives made by `scripts/package.sh` from the real binary and the digests
//! pinned as the release workflow pins them in the Action (`scripts/release-digests.sh`): a
//! download is verified against the pinned digest and cached; a swapped archive (even with a
//! matching `.sha256` beside it), a tampered tool cache, a version the Action pins nothing for, a
//! plain-http download from another host, a missing asset for the runner's architecture, a
//! binary that does not run and one that reports another version are all refused. The archive
//! carries the UI's WASM package when it has been built.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::support::root;

/// The version the test binary reports.
const VERSION: &str = env!("CARGO_PKG_VERSION");
/// The release asset the tests serve for a Linux x86_64 runner.
const TARGET: &str = "x86_64-unknown-linux-musl";

/// A directory served over HTTP on 127.0.0.1, on its own thread, until dropped.
struct Releases {
    url: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

async fn file(State(dir): State<PathBuf>, request: Request) -> Response {
    let path = request.uri().path().trim_start_matches('/');
    if path.split('/').any(|part| part == ".." || part.is_empty()) {
        return StatusCode::BAD_REQUEST.into_response();
    }
    match std::fs::read(dir.join(path)) {
        Ok(bytes) => bytes.into_response(),
        Err(_) => StatusCode::NOT_FOUND.into_response(),
    }
}

impl Releases {
    fn serve(dir: &Path) -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
        listener.set_nonblocking(true).expect("non-blocking");
        let url = format!("http://{}", listener.local_addr().expect("an address"));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let dir = dir.to_path_buf();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("a listener");
                let app = Router::new().fallback(file).with_state(dir);
                axum::serve(listener, app)
                    .with_graceful_shutdown(async {
                        let _ = stopped.await;
                    })
                    .await
                    .expect("the release server serves");
            });
        });
        Self {
            url,
            stop: Some(stop),
            thread: Some(thread),
        }
    }
}

impl Drop for Releases {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Packs `binary` as the `target` asset of release `v<version>` under `releases`.
fn publish(releases: &Path, binary: &Path, target: &str, version: &str) -> PathBuf {
    let dir = releases.join(format!("v{version}"));
    std::fs::create_dir_all(&dir).expect("a release directory");
    let out = std::process::Command::new("bash")
        .arg(root().join("scripts/package.sh"))
        .arg(binary)
        .arg(target)
        .arg(&dir)
        .env("GATEHOUSE_VERSION", version)
        .output()
        .expect("package.sh runs");
    assert!(
        out.status.success(),
        "package.sh failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

/// Pins the digests of `archives` as the release workflow does: the manifest install.sh reads
/// (`DIGESTS`, here `<work>/digests.txt`).
fn pin(work: &Path, archives: &[&Path]) {
    let out = std::process::Command::new("bash")
        .arg(root().join("scripts/release-digests.sh"))
        .args(archives)
        .output()
        .expect("release-digests.sh runs");
    assert!(
        out.status.success(),
        "release-digests.sh failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::write(work.join("digests.txt"), out.stdout).expect("write the manifest");
}

/// What a run of install.sh produced.
struct Installed {
    code: Option<i32>,
    stdout: String,
    outputs: BTreeMap<String, String>,
}

fn install(releases: &Releases, work: &Path, env: &[(&str, &str)]) -> Installed {
    let outputs = work.join("github-output");
    let _ = std::fs::remove_file(&outputs);
    let mut command = std::process::Command::new("bash");
    command
        .arg(root().join("adapters/github-action/install.sh"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", work)
        .env("GITHUB_OUTPUT", &outputs)
        .env("RUNNER_TEMP", work)
        .env("RUNNER_OS", "Linux")
        .env("RUNNER_ARCH", "X64")
        .env("RELEASES_URL", &releases.url)
        .env("INSTALL_ROOT", work.join("tool-cache"))
        .env("DIGESTS", work.join("digests.txt"))
        .env("SOURCE", root())
        .env("BUILD_FROM_SOURCE", "false");
    for (name, value) in env {
        command.env(name, value);
    }
    let out = command.output().expect("install.sh runs");
    let outputs = std::fs::read_to_string(&outputs)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    Installed {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        outputs,
    }
}

fn executable(path: &Path, text: &str) {
    std::fs::write(path, text).expect("write a stand-in binary");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
            .expect("make it executable");
    }
}

#[test]
fn a_release_is_downloaded_verified_and_cached() {
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let releases = tmp.path().join("releases");
    let archive = publish(
        &releases,
        Path::new(env!("CARGO_BIN_EXE_gatehouse")),
        TARGET,
        VERSION,
    );
    let server = Releases::serve(&releases);
    let work = tmp.path().join("runner");
    std::fs::create_dir(&work).expect("a runner directory");
    pin(&work, &[&archive]);

    // The version comes from the action's own tag.
    let started = Instant::now();
    let first = install(&server, &work, &[("ACTION_REF", &format!("v{VERSION}"))]);
    let took = started.elapsed();
    assert_eq!(first.code, Some(0), "{}", first.stdout);
    assert_eq!(first.outputs["how"], "download");
    assert_eq!(first.outputs["version"], VERSION);
    let bin = PathBuf::from(&first.outputs["bin"]);
    assert!(bin.starts_with(work.join("tool-cache")));
    let version = std::process::Command::new(&bin)
        .arg("--version")
        .output()
        .expect("the installed binary runs");
    assert_eq!(
        String::from_utf8_lossy(&version.stdout).trim(),
        format!("gatehouse {VERSION}")
    );
    assert!(
        first.stdout.contains("checksum verified"),
        "{}",
        first.stdout
    );
    // Not a timing assertion: the setup time is reported for the release notes.
    println!(
        "install.sh download + verify + unpack: {} ms",
        took.as_millis()
    );

    // The next run finds it in the (cached) install root.
    let again = install(&server, &work, &[("WANT_VERSION", VERSION)]);
    assert_eq!(again.code, Some(0), "{}", again.stdout);
    assert_eq!(again.outputs["how"], "cache");
    // The tag the release workflow pins the digests at names the version too.
    let tagged = install(
        &server,
        &work,
        &[("ACTION_REF", &format!("action/v{VERSION}"))],
    );
    assert_eq!(tagged.code, Some(0), "{}", tagged.stdout);
    assert_eq!(tagged.outputs["version"], VERSION);
}

#[test]
fn a_checksum_mismatch_is_refused() {
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let releases = tmp.path().join("releases");
    let archive = publish(
        &releases,
        Path::new(env!("CARGO_BIN_EXE_gatehouse")),
        TARGET,
        VERSION,
    );
    let work = tmp.path().join("runner");
    std::fs::create_dir(&work).expect("a runner directory");
    pin(&work, &[&archive]);
    // The attack: the archive is swapped after its checksum was published.
    let mut bytes = std::fs::read(&archive).expect("the archive");
    bytes.extend_from_slice(b"tampered");
    std::fs::write(&archive, bytes).expect("tamper");
    let server = Releases::serve(&releases);
    let out = install(&server, &work, &[("WANT_VERSION", VERSION)]);
    assert_eq!(out.code, Some(1), "{}", out.stdout);
    assert!(
        out.stdout
            .contains("::error title=gatehouse install::checksum mismatch"),
        "{}",
        out.stdout
    );
    assert!(
        out.outputs.is_empty(),
        "nothing was installed: {:?}",
        out.outputs
    );
    assert!(
        !work
            .join("tool-cache")
            .join(VERSION)
            .join(TARGET)
            .join("gatehouse")
            .exists()
    );
}

/// A release whose archive was swapped for a trojan that reports the right version, with a
/// `.sha256` beside it that matches the trojan (what a swapped release, or a `releases-url`
/// pointing elsewhere, serves): refused, since only the digest pinned in the Action counts.
#[test]
fn a_swapped_release_with_a_matching_checksum_is_refused() {
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let releases = tmp.path().join("releases");
    let archive = publish(
        &releases,
        Path::new(env!("CARGO_BIN_EXE_gatehouse")),
        TARGET,
        VERSION,
    );
    let work = tmp.path().join("runner");
    std::fs::create_dir(&work).expect("a runner directory");
    pin(&work, &[&archive]);
    let trojan_dir = tmp.path().join("trojan");
    std::fs::create_dir(&trojan_dir).expect("a directory");
    let trojan = trojan_dir.join("gatehouse");
    executable(&trojan, &format!("#!/bin/sh\necho 'gatehouse {VERSION}'\n"));
    let swapped = publish(&tmp.path().join("swap"), &trojan, TARGET, VERSION);
    std::fs::copy(&swapped, &archive).expect("swap the archive");
    let sha = std::fs::read_to_string(swapped.with_extension("gz.sha256"))
        .expect("the trojan's own checksum");
    std::fs::write(archive.with_extension("gz.sha256"), sha).expect("swap the checksum");
    let server = Releases::serve(&releases);
    let out = install(&server, &work, &[("WANT_VERSION", VERSION)]);
    assert_eq!(out.code, Some(1), "{}", out.stdout);
    assert!(
        out.stdout
            .contains("::error title=gatehouse install::checksum mismatch"),
        "{}",
        out.stdout
    );
    assert!(out.outputs.is_empty(), "{:?}", out.outputs);
}

/// A tool cache seeded with another binary under the right version: not trusted; the release is
/// downloaded again and verified.
#[test]
fn a_tampered_tool_cache_is_not_trusted() {
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let releases = tmp.path().join("releases");
    let real = Path::new(env!("CARGO_BIN_EXE_gatehouse"));
    let archive = publish(&releases, real, TARGET, VERSION);
    let server = Releases::serve(&releases);
    let work = tmp.path().join("runner");
    let cached = work.join("tool-cache").join(VERSION).join(TARGET);
    std::fs::create_dir_all(&cached).expect("a cache directory");
    pin(&work, &[&archive]);
    executable(
        &cached.join("gatehouse"),
        &format!("#!/bin/sh\necho 'gatehouse {VERSION}'\n"),
    );
    let out = install(&server, &work, &[("WANT_VERSION", VERSION)]);
    assert_eq!(out.code, Some(0), "{}", out.stdout);
    assert_eq!(out.outputs["how"], "download", "{}", out.stdout);
    assert!(out.stdout.contains("does not match"), "{}", out.stdout);
    let installed = std::fs::read(&out.outputs["bin"]).expect("the installed binary");
    assert!(
        installed == std::fs::read(real).expect("the real binary"),
        "the cached stand-in was replaced by the verified release"
    );
    // Now the cache holds the verified binary, and a cache hit is verified too.
    let again = install(&server, &work, &[("WANT_VERSION", VERSION)]);
    assert_eq!(again.outputs["how"], "cache", "{}", again.stdout);
}

/// A version the Action pins no digest for is not downloaded at all; nor is anything over
/// plain http from a host other than loopback (`.invalid` never resolves: nothing is sent).
#[test]
fn unpinned_versions_and_plain_http_elsewhere_are_refused() {
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let releases = tmp.path().join("releases");
    let archive = publish(
        &releases,
        Path::new(env!("CARGO_BIN_EXE_gatehouse")),
        TARGET,
        VERSION,
    );
    let server = Releases::serve(&releases);
    let work = tmp.path().join("runner");
    std::fs::create_dir(&work).expect("a runner directory");
    std::fs::copy(
        root().join("adapters/github-action/digests.txt"),
        work.join("digests.txt"),
    )
    .expect("the manifest of a branch (no digests)");
    let out = install(&server, &work, &[("WANT_VERSION", VERSION)]);
    assert_eq!(out.code, Some(1), "{}", out.stdout);
    assert!(out.stdout.contains("pins no digest"), "{}", out.stdout);
    assert!(out.outputs.is_empty(), "{:?}", out.outputs);

    pin(&work, &[&archive]);
    for url in [
        "http://gatehouse.invalid/releases/download",
        "ftp://127.0.0.1/releases",
    ] {
        let out = install(
            &server,
            &work,
            &[("WANT_VERSION", VERSION), ("RELEASES_URL", url)],
        );
        assert_eq!(out.code, Some(1), "{url}: {}", out.stdout);
        assert!(out.stdout.contains("https"), "{url}: {}", out.stdout);
        assert!(out.outputs.is_empty(), "{:?}", out.outputs);
    }
}

#[test]
fn another_architecture_and_broken_binaries_are_refused() {
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let releases = tmp.path().join("releases");
    let real = publish(
        &releases,
        Path::new(env!("CARGO_BIN_EXE_gatehouse")),
        TARGET,
        VERSION,
    );
    // An aarch64 asset whose binary cannot run here (not an executable format this machine
    // runs), and a version whose binary says it is another version.
    let stand_ins = tmp.path().join("stand-ins");
    std::fs::create_dir(&stand_ins).expect("a directory");
    let foreign = stand_ins.join("gatehouse");
    std::fs::write(
        &foreign,
        [0x7f, b'E', b'L', b'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    )
    .expect("write");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&foreign, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    let foreign = publish(&releases, &foreign, "aarch64-unknown-linux-musl", VERSION);
    let liar = stand_ins.join("liar");
    std::fs::create_dir(&liar).expect("a directory");
    let liar = liar.join("gatehouse");
    executable(&liar, "#!/bin/sh\necho 'gatehouse 0.0.1'\n");
    let liar = publish(&releases, &liar, TARGET, "9.9.9");
    let server = Releases::serve(&releases);
    let work = tmp.path().join("runner");
    std::fs::create_dir(&work).expect("a runner directory");
    pin(&work, &[&real, &foreign, &liar]);

    // A macOS x86_64 runner: this release has no asset for it, so the Action pins none.
    let out = install(
        &server,
        &work,
        &[
            ("WANT_VERSION", VERSION),
            ("RUNNER_OS", "macOS"),
            ("RUNNER_ARCH", "X64"),
        ],
    );
    assert_eq!(out.code, Some(1), "{}", out.stdout);
    assert!(
        out.stdout.contains(&format!(
            "pins no digest for `gatehouse-{VERSION}-x86_64-apple-darwin.tar.gz`"
        )),
        "{}",
        out.stdout
    );
    // An ARM64 Linux runner gets the aarch64 archive, whose binary does not run here.
    let out = install(
        &server,
        &work,
        &[("WANT_VERSION", VERSION), ("RUNNER_ARCH", "ARM64")],
    );
    assert_eq!(out.code, Some(1), "{}", out.stdout);
    assert!(
        out.stdout.contains("does not run on this runner"),
        "{}",
        out.stdout
    );
    // A binary that reports another version than the release it came in.
    let out = install(&server, &work, &[("WANT_VERSION", "9.9.9")]);
    assert_eq!(out.code, Some(1), "{}", out.stdout);
    assert!(
        out.stdout.contains("reports version 0.0.1, not 9.9.9"),
        "{}",
        out.stdout
    );
    // A runner no release is built for, and a version that is no version.
    let out = install(
        &server,
        &work,
        &[("WANT_VERSION", VERSION), ("RUNNER_ARCH", "ARM")],
    );
    assert_eq!(out.code, Some(1));
    assert!(
        out.stdout.contains("set build-from-source: true"),
        "{}",
        out.stdout
    );
    let out = install(&server, &work, &[("WANT_VERSION", "latest; rm -rf /")]);
    assert_eq!(out.code, Some(1));
    assert!(out.stdout.contains("is not a version"), "{}", out.stdout);
    assert!(out.outputs.is_empty());
}

#[test]
fn without_a_release_ref_a_gatehouse_on_path_is_used() {
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let server = Releases::serve(tmp.path());
    let bin = tmp.path().join("bin");
    std::fs::create_dir(&bin).expect("a bin directory");
    executable(
        &bin.join("gatehouse"),
        "#!/bin/sh\necho 'gatehouse 1.2.3'\n",
    );
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = install(
        &server,
        tmp.path(),
        &[("ACTION_REF", "main"), ("PATH", &path)],
    );
    assert_eq!(out.code, Some(0), "{}", out.stdout);
    assert_eq!(out.outputs["how"], "path");
    assert_eq!(out.outputs["version"], "1.2.3");
    let out = install(&server, tmp.path(), &[("BUILD_FROM_SOURCE", "maybe")]);
    assert_eq!(out.code, Some(1));
    assert!(
        out.stdout.contains("must be true or false"),
        "{}",
        out.stdout
    );
}

/// Runs `scripts/package.sh` on the test binary with `env`; returns the exit code, the archive
/// path it printed and its stderr.
fn package(out: &Path, env: &[(&str, &str)]) -> (Option<i32>, PathBuf, String) {
    let mut command = std::process::Command::new("bash");
    command
        .arg(root().join("scripts/package.sh"))
        .arg(env!("CARGO_BIN_EXE_gatehouse"))
        .arg(TARGET)
        .arg(out)
        .env("GATEHOUSE_VERSION", VERSION)
        .env_remove("REQUIRE_UI_PKG");
    for (name, value) in env {
        command.env(name, value);
    }
    let run = command.output().expect("package.sh runs");
    (
        run.status.code(),
        PathBuf::from(String::from_utf8_lossy(&run.stdout).trim()),
        String::from_utf8_lossy(&run.stderr).into_owned(),
    )
}

/// The names in a .tar.gz archive.
fn listing(archive: &Path) -> Vec<String> {
    let out = std::process::Command::new("tar")
        .arg("-tzf")
        .arg(archive)
        .output()
        .expect("tar runs");
    assert!(out.status.success(), "tar -tzf {}", archive.display());
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_archive_carries_the_ui_package_when_it_has_been_built() {
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let pkg = tmp.path().join("pkg");
    std::fs::create_dir(&pkg).expect("a package directory");
    for file in [
        "gatehouse_wasm.js",
        "gatehouse_wasm_bg.wasm",
        "gatehouse_wasm.d.ts",
        "gatehouse_wasm_bg.wasm.d.ts",
        "package.json",
    ] {
        std::fs::write(pkg.join(file), file).expect("a package file");
    }
    let pkg_dir = pkg.to_str().expect("a UTF-8 path");
    let (code, archive, stderr) = package(
        &tmp.path().join("with"),
        &[("GATEHOUSE_UI_PKG_DIR", pkg_dir), ("REQUIRE_UI_PKG", "1")],
    );
    assert_eq!(code, Some(0), "{stderr}");
    let names = listing(&archive);
    let top = format!("gatehouse-{VERSION}-{TARGET}");
    for file in [
        "gatehouse_wasm.js",
        "gatehouse_wasm_bg.wasm",
        "gatehouse_wasm.d.ts",
        "gatehouse_wasm_bg.wasm.d.ts",
    ] {
        let name = format!("{top}/share/gatehouse/ui/pkg/{file}");
        assert!(names.contains(&name), "{name} missing: {names:?}");
    }
    assert!(names.contains(&format!("{top}/gatehouse")), "{names:?}");
    assert!(
        !names.iter().any(|n| n.ends_with("package.json")),
        "{names:?}"
    );

    // Not built: an archive without it and a note, or an error when the release requires it.
    let missing = tmp.path().join("missing");
    let missing = missing.to_str().expect("a UTF-8 path");
    let (code, archive, stderr) = package(
        &tmp.path().join("without"),
        &[("GATEHOUSE_UI_PKG_DIR", missing)],
    );
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("note: no WASM UI package"), "{stderr}");
    assert!(
        !listing(&archive).iter().any(|n| n.contains("/share/")),
        "{archive:?}"
    );
    let (code, _, stderr) = package(
        &tmp.path().join("required"),
        &[("GATEHOUSE_UI_PKG_DIR", missing), ("REQUIRE_UI_PKG", "1")],
    );
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("bindings/wasm/build.sh"), "{stderr}");
}
