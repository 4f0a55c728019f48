//! Bundles from odd places (issue 27): a named pipe at `rules/x.rego` once blocked every loader
//! forever, and a symbolic link to `/dev/zero` was read until memory ran out. Only regular files
//! are read, and the bundle's size limit holds while reading. Each attack runs where a regression
//! cannot hang the test (a thread with a deadline) or take the machine's memory (a child process
//! under `ulimit -v`).
#![cfg(unix)]
#![expect(
    clippy::unwrap_used,
    clippy::panic,
    reason = "fixtures: a broken fixture should fail the test at once"
)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use gatehouse_core::{BundleSource, Diagnostic, DirLoadError, DirOptions, load_dir};

/// Long enough for a loaded machine, short enough that a hang fails the test.
const DEADLINE: Duration = Duration::from_secs(60);

/// A fresh directory holding a small valid bundle.
fn bundle(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("gatehouse-reading-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("rules")).unwrap();
    std::fs::create_dir_all(dir.join("data")).unwrap();
    std::fs::write(dir.join("bundle.json"), r#"{"name": "t", "revision": "1"}"#).unwrap();
    std::fs::write(
        dir.join("rules/p.rego"),
        "package gatehouse.policies.p\n\ndeny contains \"x\" if { input.intent.fire }\n",
    )
    .unwrap();
    dir
}

/// `load_dir` on another thread; `None` when it has not returned by the deadline.
fn load_with_deadline(dir: &Path) -> Option<Result<(), DirLoadError>> {
    let (send, receive) = mpsc::channel();
    let dir = dir.to_path_buf();
    std::thread::spawn(move || {
        let _ = send.send(load_dir(&dir, &DirOptions::default()).map(|_| ()));
    });
    receive.recv_timeout(DEADLINE).ok()
}

#[test]
fn a_named_pipe_is_refused_without_blocking() {
    let dir = bundle("fifo");
    let fifo = dir.join("rules/x.rego");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    let outcome = load_with_deadline(&dir);
    if outcome.is_none() {
        // Let the blocked reader go (a writer opens and closes the pipe) before failing.
        let _ = std::fs::OpenOptions::new().write(true).open(&fifo);
        panic!("loading a bundle with a named pipe did not return within {DEADLINE:?}");
    }
    let err = outcome.unwrap().unwrap_err();
    assert_eq!(err.code(), "bundle_unreadable", "{err}");
    let message = err.to_string();
    assert!(message.contains(&fifo.display().to_string()), "{message}");
    assert!(
        message.contains("not a regular file (it is a named pipe)"),
        "{message}"
    );
    let detail = err.details().remove(0);
    assert!(detail.help.unwrap().contains("regular files"));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Runs the ignored test `name` of this binary in a child process whose address space is capped,
/// so that a regression fails it (allocation failure) instead of eating the machine's memory.
fn in_capped_child(name: &str) -> std::process::Output {
    let exe = std::env::current_exe().unwrap();
    let mut child = Command::new("sh")
        .arg("-c")
        .arg("ulimit -v 2000000 && exec \"$0\" --ignored --exact \"$1\" --nocapture --test-threads 1")
        .arg(exe)
        .arg(name)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > DEADLINE {
            let _ = child.kill();
            panic!("`{name}` did not finish within {DEADLINE:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

#[test]
fn a_link_to_dev_zero_is_refused_without_reading_it() {
    let out = in_capped_child("child_link_to_dev_zero");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "{:?}\n{stdout}\n{stderr}",
        out.status
    );
}

#[test]
#[ignore = "run by a_link_to_dev_zero_is_refused_without_reading_it under a memory cap"]
fn child_link_to_dev_zero() {
    let dir = bundle("zero");
    for link in ["rules/zero.rego", "data/zero.json"] {
        let path = dir.join(link);
        std::os::unix::fs::symlink("/dev/zero", &path).unwrap();
        let err = BundleSource::from_dir(&dir).unwrap_err();
        let message = err.to_string();
        assert!(message.contains(&path.display().to_string()), "{message}");
        assert!(
            message.contains("not a regular file (it is a character device)"),
            "{message}"
        );
        std::fs::remove_file(&path).unwrap();
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_link_to_a_regular_file_is_read() {
    let dir = bundle("link");
    let target = dir.join("elsewhere.txt");
    std::fs::write(&target, r#"{"limits": {"x": 1}}"#).unwrap();
    std::os::unix::fs::symlink(&target, dir.join("data/limits.json")).unwrap();
    let source = BundleSource::from_dir(&dir).unwrap();
    assert_eq!(source.files["data/limits.json"], r#"{"limits": {"x": 1}}"#);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_size_limit_holds_while_reading() {
    let dir = bundle("large");
    // 17 MiB of JSON in one data file: over the 16 MiB limit on its own.
    let big = format!("{{\"pad\": \"{}\"}}", "x".repeat(17 * 1024 * 1024));
    std::fs::write(dir.join("data/big.json"), big).unwrap();
    let err = match load_with_deadline(&dir).expect("the load returns") {
        Err(e) => e,
        Ok(()) => panic!("a 17 MiB bundle loaded"),
    };
    assert_eq!(err.code(), "bundle_too_large", "{err}");
    let message = err.to_string();
    assert!(message.contains("data/big.json"), "{message}");
    assert!(message.contains("exceed 16777216 bytes"), "{message}");
    std::fs::remove_dir_all(&dir).unwrap();
}
