//! Snapshots of `gatehouse check`'s human report (the output people read), with the bundle
//! digest redacted so policy edits do not churn them. Snapshots live in `tests/snapshots/`.

use crate::support::{APPROVALS, HISTORY, NOW, assert_code, gatehouse, run};

/// Checks one example and snapshots its report under `name`.
fn snapshot(name: &str, example: &str, code: i32) {
    let file = format!("policies/examples/{example}.yaml");
    let out = run(gatehouse().args([
        "check",
        "--now",
        NOW,
        "--history",
        HISTORY,
        "--approvals",
        APPROVALS,
        &file,
    ]));
    assert_code(&out, code);
    assert_eq!(out.stderr, "");
    insta::with_settings!({
        snapshot_path => "../snapshots",
        prepend_module_to_snapshot => false,
        description => format!("gatehouse check --now {NOW} --history {HISTORY} --approvals {APPROVALS} {file}"),
        omit_expression => true,
        filters => vec![(r"sha256:[0-9a-f]{12}\b", "sha256:[digest]")],
    }, {
        insta::assert_snapshot!(name, out.stdout);
    });
}

#[test]
fn human_allowed_with_advisory() {
    snapshot(
        "check_human_allowed_with_advisory",
        "payments-api-near-budget-allowed",
        0,
    );
}

#[test]
fn human_needs_approval() {
    snapshot(
        "check_human_needs_approval",
        "payments-api-over-budget-needs-approval",
        1,
    );
}

#[test]
fn human_denied() {
    snapshot("check_human_denied", "payments-api-pii-us-east-1-denied", 1);
}
