//! Shared helpers: running the binary, the in-process engine, temporary bundles and the
//! `check --format json` report.

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::LazyLock;

use gatehouse_core::{BundleSource, Decision, Engine, ErrorDetail};
use serde::Deserialize;
use tempfile::TempDir;

/// The decision time used wherever a test does not need another.
pub const NOW: &str = "2026-11-23T12:00:00Z";

/// The earlier deployments the examples are checked with (prod needs a staging success).
pub const HISTORY: &str = "policies/examples/history/deployments.json";

/// The approvals the examples are checked with (prod needs a release approval: four-eyes).
pub const APPROVALS: &str = "policies/examples/history/approvals.json";

/// The workspace root; the binary runs there, so `policies` is the reference bundle.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The reference bundle directory.
pub fn policies() -> PathBuf {
    root().join("policies")
}

/// The reference bundle, loaded in-process once for every test that compares with it.
pub fn engine() -> &'static Engine {
    static ENGINE: LazyLock<Engine> = LazyLock::new(|| {
        let source = BundleSource::from_dir(&policies()).expect("policies/ is readable");
        Engine::load(&source).expect("the reference bundle loads")
    });
    &ENGINE
}

/// `gatehouse` with the workspace root as working directory, colours off, and outside GitHub
/// Actions whatever runs the tests (`GITHUB_ACTIONS=true` escapes the printed lines).
pub fn gatehouse() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_gatehouse"));
    command
        .current_dir(root())
        .env("NO_COLOR", "1")
        .env_remove("GITHUB_ACTIONS");
    command
}

/// What a run of the binary produced.
pub struct Output {
    /// The exit code (`None` when a signal ended the process).
    pub code: Option<i32>,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

/// Runs a command to completion and captures its exit code and output.
pub fn run(command: &mut Command) -> Output {
    let out = command.output().expect("the gatehouse binary runs");
    Output {
        code: out.status.code(),
        stdout: String::from_utf8(out.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(out.stderr).expect("stderr is UTF-8"),
    }
}

impl fmt::Display for Output {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "exit code {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// Asserts the exit code, showing the whole output when it differs.
#[track_caller]
pub fn assert_code(out: &Output, code: i32) {
    assert_eq!(out.code, Some(code), "unexpected exit code\n{out}");
}

/// `check --format json`: `{"results": [{"file", "decision"} | {"file", "errors"}]}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Report {
    /// One entry per intent file, in the order checked.
    pub results: Vec<Entry>,
}

/// One file of a [`Report`].
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// The path as the CLI printed it.
    pub file: String,
    /// The decision, when the intent could be read.
    #[serde(default)]
    pub decision: Option<Decision>,
    /// Why the intent could not be read.
    #[serde(default)]
    pub errors: Option<Vec<ErrorDetail>>,
}

impl Entry {
    /// The file name without its directory.
    pub fn name(&self) -> &str {
        Path::new(&self.file)
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or(&self.file)
    }
}

/// Parses the stdout of `check --format json`.
#[track_caller]
pub fn report(out: &Output) -> Report {
    serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is not a check report: {e}\n{out}"))
}

/// A writable copy of the reference bundle (manifest, rules and data; no examples or corpus).
/// Returns the temporary directory (dropped at the end of the test) and the bundle inside it.
pub fn bundle_copy() -> (TempDir, PathBuf) {
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let bundle = tmp.path().join("policies");
    std::fs::create_dir(&bundle).expect("create the bundle directory");
    let from = policies();
    std::fs::copy(from.join("bundle.json"), bundle.join("bundle.json")).expect("copy bundle.json");
    copy_dir(&from.join("rules"), &bundle.join("rules"));
    copy_dir(&from.join("data"), &bundle.join("data"));
    (tmp, bundle)
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create a directory");
    for entry in std::fs::read_dir(from).expect("read a bundle directory") {
        let entry = entry.expect("a directory entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("a file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy a bundle file");
        }
    }
}

/// Removes whitespace outside JSON strings, turning serde_json's pretty output into its compact
/// form byte for byte (both use the same escapes and key order).
pub fn minify(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    let mut in_string = false;
    let mut escaped = false;
    for c in json.chars() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
            out.push(c);
        } else if !c.is_ascii_whitespace() {
            out.push(c);
        }
    }
    out
}
