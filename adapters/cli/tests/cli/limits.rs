//! Bounded evaluation and safe bundle reading through the binary (issues 21 and 27): a derived
//! rule building `numbers.range(1, 400000000)` once aborted `gatehouse check` (SIGABRT, memory
//! allocation failed), a named pipe in the bundle blocked it forever and a link to `/dev/zero` was
//! read until memory ran out. Each run is capped (`ulimit -v`, a deadline) so that a regression
//! fails the test instead of taking the machine.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{HISTORY, NOW, Output, assert_code, bundle_copy, report, root};

/// Long enough for a loaded machine; a hang fails the test.
const DEADLINE: Duration = Duration::from_secs(120);

/// `gatehouse check` of the allowed example with `bundle`, in an address space capped at about
/// 4 GB, killed at the deadline.
fn check_capped(bundle: &Path, format: &str) -> Output {
    let mut capped = Command::new("sh");
    capped
        .arg("-c")
        .arg("ulimit -v 4000000 && exec \"$0\" \"$@\"")
        .arg(env!("CARGO_BIN_EXE_gatehouse"))
        .args([
            "check",
            "--format",
            format,
            "--now",
            NOW,
            "--history",
            HISTORY,
        ])
        .arg("--policies")
        .arg(bundle)
        .arg("policies/examples/web-frontend-dev-allowed.yaml")
        .current_dir(root())
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = capped.spawn().expect("sh runs");
    let started = Instant::now();
    while child
        .try_wait()
        .expect("the child can be waited for")
        .is_none()
    {
        if started.elapsed() > DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            panic!("`gatehouse check` did not finish within {DEADLINE:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().expect("the output is read");
    Output {
        code: out.status.code(),
        stdout: String::from_utf8(out.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(out.stderr).expect("stderr is UTF-8"),
    }
}

#[test]
fn a_derived_rule_building_a_huge_range_exits_2_at_its_line() {
    let (_tmp, bundle) = bundle_copy();
    std::fs::write(
        bundle.join("rules/zz_derived.rego"),
        "package governance.derived\n\nbig := count(numbers.range(1, 400000000))\n",
    )
    .expect("write the derived module");
    let out = check_capped(&bundle, "human");
    assert_code(&out, 2);
    assert_eq!(out.stdout, "");
    assert!(out.stderr.contains("[derived_evaluation]"), "{out}");
    assert!(
        out.stderr
            .contains("`numbers.range` would return 400000000 numbers; the range limit is 1000000"),
        "{out}"
    );
    let location = format!("--> {}:3:", bundle.join("rules/zz_derived.rego").display());
    assert!(out.stderr.contains(&location), "want `{location}`\n{out}");
}

#[test]
fn a_policy_building_a_huge_range_denies_with_limit_exceeded() {
    let (_tmp, bundle) = bundle_copy();
    std::fs::write(
        bundle.join("rules/zz_range.rego"),
        "package gatehouse.policies.zz_range\n\ndeny contains {\"policy\": \"tags.required\", \"path\": \"\", \"message\": \"x\"} if {\n\tcount(numbers.range(1, 1e8)) < 0\n}\n",
    )
    .expect("write the policy");
    let out = check_capped(&bundle, "json");
    assert_code(&out, 1);
    let report = report(&out);
    let decision = report.results[0]
        .decision
        .as_ref()
        .expect("the intent was read");
    assert_eq!(decision.errors.len(), 1, "{out}");
    let error = &decision.errors[0];
    assert_eq!(error.code, "limit_exceeded", "{out}");
    let span = error.span.as_ref().expect("the error has a position");
    assert_eq!((span.file.as_str(), span.line), ("rules/zz_range.rego", 4));
}

#[test]
fn a_named_pipe_in_the_bundle_exits_2_without_blocking() {
    let (_tmp, bundle) = bundle_copy();
    let fifo = bundle.join("rules/x.rego");
    let made = Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo runs");
    assert!(made.success());
    let out = check_capped(&bundle, "human");
    assert_code(&out, 2);
    assert!(
        out.stderr.contains(&format!(
            "cannot read bundle file `{}`: not a regular file (it is a named pipe)",
            fifo.display()
        )),
        "{out}"
    );
}

#[test]
fn a_link_to_dev_zero_in_the_bundle_exits_2() {
    let (_tmp, bundle) = bundle_copy();
    let link = bundle.join("data/zero.json");
    std::os::unix::fs::symlink("/dev/zero", &link).expect("link to /dev/zero");
    let out = check_capped(&bundle, "human");
    assert_code(&out, 2);
    assert!(
        out.stderr.contains(&format!(
            "cannot read bundle file `{}`: not a regular file (it is a character device)",
            link.display()
        )),
        "{out}"
    );
}
