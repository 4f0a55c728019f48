//! What a pull request writes cannot become a workflow command. The runner reads every line of a
//! step's stdout and stderr, trims its leading whitespace and runs it when it starts with `::`;
//! a file name or an intent value holding a line break followed by `::warning …` must not start
//! such a line, whatever the format, when the CLI runs under GitHub Actions.

use std::path::Path;

use crate::support::{APPROVALS, HISTORY, NOW, Output, gatehouse, run};

/// The text an attacker would like the runner to run.
const INJECTED: &str = "::warning title=INJECTED::spoofed";

/// `gatehouse check` under GitHub Actions (`GITHUB_ACTIONS=true`), no step files.
fn check_in_actions(format: &str, file: &Path) -> Output {
    run(gatehouse()
        .env("GITHUB_ACTIONS", "true")
        .env_remove("GITHUB_STEP_SUMMARY")
        .env_remove("GITHUB_OUTPUT")
        .args([
            "check",
            "--now",
            NOW,
            "--history",
            HISTORY,
            "--approvals",
            APPROVALS,
            "--format",
            format,
        ])
        .arg(file))
}

/// Fails when a line of stdout or stderr would be read as the injected command, or when the
/// injected text was dropped rather than shown (escaped) somewhere.
#[track_caller]
fn assert_not_injected(out: &Output) {
    for line in out.stdout.lines().chain(out.stderr.lines()) {
        assert!(
            !line.trim_start().starts_with("::warning title=INJECTED"),
            "a line the runner would run as a command: {line:?}\n{out}"
        );
    }
    assert!(
        out.stdout.contains("%0A::warning title=INJECTED")
            || out.stdout.contains("%0D::warning title=INJECTED")
            || out.stderr.contains("INJECTED"),
        "the text is shown, escaped\n{out}"
    );
}

/// An intent file whose name holds line breaks around a workflow command.
fn injected_file_name(tmp: &Path) -> std::path::PathBuf {
    let path = tmp.join(format!("a\n{INJECTED}\n.yaml"));
    std::fs::copy(
        crate::support::root().join("policies/examples/payments-api-no-change-ticket-denied.yaml"),
        &path,
    )
    .expect("copy an example under a hostile name");
    path
}

#[test]
fn a_file_name_cannot_write_a_workflow_command() {
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let file = injected_file_name(tmp.path());
    for format in ["github", "human"] {
        let out = check_in_actions(format, &file);
        assert_eq!(out.code, Some(1), "{format}: the intent is denied\n{out}");
        assert_not_injected(&out);
    }
}

#[test]
fn an_unreadable_file_name_cannot_write_a_workflow_command() {
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let file = tmp.path().join(format!("missing\n{INJECTED}\n.yaml"));
    for format in ["github", "human"] {
        let out = check_in_actions(format, &file);
        assert_eq!(
            out.code,
            Some(2),
            "{format}: the file cannot be read\n{out}"
        );
        assert_not_injected(&out);
    }
}

#[test]
fn an_intent_value_cannot_write_a_workflow_command() {
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let example = std::fs::read_to_string(
        crate::support::root().join("policies/examples/payments-api-prod-allowed.yaml"),
    )
    .expect("read an example");
    // A line feed, then a carriage return (the runner ends a line at either).
    for (name, ticket) in [("lf", "CHG-1\\n"), ("cr", "CHG-1\\r")] {
        let text = example.replace(
            "change_ticket: CHG-12345",
            &format!("change_ticket: \"{ticket}{INJECTED}\""),
        );
        assert_ne!(text, example, "the example names a change ticket");
        let file = tmp.path().join(format!("{name}.yaml"));
        std::fs::write(&file, text).expect("write the intent");
        assert_value_not_injected(&file);
    }
}

fn assert_value_not_injected(file: &Path) {
    for format in ["github", "human"] {
        let out = check_in_actions(format, file);
        assert_eq!(
            out.code,
            Some(1),
            "{format}: the ticket is malformed\n{out}"
        );
        assert!(
            out.stdout.contains("does not match"),
            "{format}: the value is shown\n{out}"
        );
        assert_not_injected(&out);
        assert!(
            !out.stdout.contains('\r'),
            "{format}: a carriage return also ends a line for the runner\n{out}"
        );
    }
}

#[test]
fn outside_actions_the_human_text_keeps_its_line_breaks() {
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let file = injected_file_name(tmp.path());
    let out = run(gatehouse()
        .env_remove("GITHUB_ACTIONS")
        .args(["check", "--now", NOW, "--history", HISTORY])
        .args(["--approvals", APPROVALS])
        .arg(&file));
    assert_eq!(out.code, Some(1), "{out}");
    assert!(
        out.stdout.contains(&format!("a\n{INJECTED}\n.yaml")),
        "a terminal shows the name as it is\n{out}"
    );
}
