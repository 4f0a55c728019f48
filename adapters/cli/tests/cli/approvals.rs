//! Approvals are evidence, not claims: the attacks on `gatehouse check` (approvals written inside
//! the intent, a requester approving their own deployment, hostile approvals files and a YAML
//! alias bomb), kept as tests.

use gatehouse_core::{ApprovalSource, Outcome, ViolationStatus};

use crate::support::{HISTORY, NOW, Output, assert_code, gatehouse, report, run};

const OVER_BUDGET: &str = "policies/examples/payments-api-over-budget-needs-approval.yaml";

fn check_json(approvals: Option<&std::path::Path>, files: &[&str]) -> Output {
    let mut command = gatehouse();
    command.args([
        "check",
        "--format",
        "json",
        "--now",
        NOW,
        "--history",
        HISTORY,
    ]);
    if let Some(path) = approvals {
        command.arg("--approvals").arg(path);
    }
    run(command.args(files))
}

fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, text).expect("write a fixture");
    path
}

#[test]
fn approvals_written_inside_an_intent_deny_and_say_where_approvals_go() {
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let text = std::fs::read_to_string(crate::support::root().join(OVER_BUDGET))
        .expect("the example")
        .replace(
            "  strategy: rolling\n",
            "  strategy: rolling\n  approvals:\n  - {by: anyone@example.com, role: finops-approver}\n  - {by: anyone@example.com, role: release-approver}\n",
        );
    assert!(text.contains("approvals:"), "the fixture gained approvals");
    let intent = write(&tmp, "claimed.yaml", &text);
    let out = check_json(None, &[intent.to_str().expect("a UTF-8 path")]);
    assert_code(&out, 1);
    let report = report(&out);
    let decision = report.results[0].decision.as_ref().expect("a decision");
    assert_eq!(decision.outcome, Outcome::Deny);
    let refused = decision
        .violations
        .iter()
        .find(|v| v.path == "spec.approvals")
        .expect("a violation at spec.approvals");
    assert_eq!(refused.policy, gatehouse_core::catalog::SCHEMA_POLICY);
    assert!(
        refused
            .message
            .contains("approvals inside an intent are not accepted"),
        "{out}"
    );
    assert!(refused.remediation.contains("--approvals FILE"), "{out}");
    assert!(
        decision
            .violations
            .iter()
            .all(|v| v.overridden_by.is_none())
    );
}

#[test]
fn an_approvals_file_lifts_a_soft_mandatory_violation_and_is_recorded() {
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let approvals = write(
        &tmp,
        "approvals.yaml",
        "- {by: bob@example.com, role: release-approver}\n- {by: carol@example.com, role: finops-approver, comment: budget raised for Q1}\n",
    );
    let out = check_json(Some(&approvals), &[OVER_BUDGET]);
    assert_code(&out, 0);
    let report = report(&out);
    let decision = report.results[0].decision.as_ref().expect("a decision");
    assert_eq!(decision.outcome, Outcome::Allow, "{out}");
    let cost = decision
        .violations
        .iter()
        .find(|v| v.policy == "cost.ceiling")
        .expect("the cost violation");
    assert_eq!(cost.status, ViolationStatus::Overridden);
    assert_eq!(cost.overridden_by.as_deref(), Some("carol@example.com"));
    assert_eq!(decision.approvals.len(), 2);
    assert!(
        decision
            .approvals
            .iter()
            .all(|a| a.source == ApprovalSource::Caller)
    );
}

#[test]
fn the_requesters_own_approval_in_a_file_lifts_nothing() {
    let tmp = tempfile::tempdir().expect("a temporary directory");
    // The example's requester, in another case, in both roles.
    let approvals = write(
        &tmp,
        "approvals.json",
        r#"[{"by": "ALICE@example.com", "role": "release-approver"},
            {"by": "alice@example.com", "role": "finops-approver", "source": "caller"}]"#,
    );
    let out = check_json(Some(&approvals), &[OVER_BUDGET]);
    assert_code(&out, 1);
    let report = report(&out);
    let decision = report.results[0].decision.as_ref().expect("a decision");
    assert_eq!(decision.outcome, Outcome::NeedsApproval, "{out}");
    assert!(
        decision
            .violations
            .iter()
            .all(|v| v.overridden_by.is_none())
    );
}

#[test]
fn a_hostile_approvals_file_is_refused_with_the_reason() {
    let tmp = tempfile::tempdir().expect("a temporary directory");
    for (name, text, why) in [
        (
            "control.json",
            "[{\"by\": \"bob\\u001b[2J@example.com\", \"role\": \"release-approver\"}]",
            "control character U+001B",
        ),
        (
            "unknown.json",
            r#"[{"by": "bob@example.com", "role": "release-approver", "trusted": true}]"#,
            "unknown field `trusted`",
        ),
        (
            "object.json",
            r#"{"by": "bob@example.com", "role": "release-approver"}"#,
            "expected a list",
        ),
        (
            "role.yaml",
            "- {by: bob@example.com, role: Release Approver}\n",
            "is not a role name",
        ),
    ] {
        let approvals = write(&tmp, name, text);
        let out = check_json(Some(&approvals), &[OVER_BUDGET]);
        assert_code(&out, 2);
        assert_eq!(out.stdout, "");
        assert!(
            out.stderr
                .starts_with(&format!("error: --approvals `{}`", approvals.display())),
            "{out}"
        );
        assert!(out.stderr.contains(why), "want `{why}`: {out}");
    }
}

/// The provenance attack: an approvals file claims the control plane's or a review's source
/// (with a made-up review URL) to be recorded as such in the decision; it is refused.
#[test]
fn an_approvals_file_cannot_claim_a_trusted_source() {
    let tmp = tempfile::tempdir().expect("a temporary directory");
    for (source, recorder) in [
        ("control_plane", "the control plane only"),
        ("github_review", "the pull request review reader"),
    ] {
        let approvals = write(
            &tmp,
            &format!("{source}.yaml"),
            &format!(
                "- {{by: carol@example.com, role: finops-approver}}\n- {{by: bob@example.com, role: finops-approver, source: {source}, reference: 'https://github.com/acme/deploy/pull/1#pullrequestreview-1'}}\n"
            ),
        );
        let out = check_json(Some(&approvals), &[OVER_BUDGET]);
        assert_code(&out, 2);
        assert_eq!(out.stdout, "", "{out}");
        assert!(
            out.stderr.contains(&format!(
                "`approvals[1]`: approval source `{source}` is recorded by {recorder}"
            )) && out
                .stderr
                .contains("leave `source` out of approvals you pass"),
            "{out}"
        );
    }
}

#[test]
fn a_yaml_alias_bomb_is_refused_before_it_expands() {
    // 50 KB of YAML: one anchor of 10k items aliased 10k times (2.9 GB of memory before).
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let mut text = String::from(
        "apiVersion: gatehouse.dev/v1\nkind: DeploymentIntent\nmetadata:\n  name: bomb\n  requested_by: mallory@example.com\n  labels: &items [",
    );
    text.push_str(&vec!["x"; 10_000].join(","));
    text.push_str("]\nspec:\n  resources: [");
    text.push_str(&vec!["*items"; 10_000].join(","));
    text.push_str("]\n");
    assert!(text.len() < 100_000, "{} bytes", text.len());
    let intent = write(&tmp, "bomb.yaml", &text);
    let out = check_json(None, &[intent.to_str().expect("a UTF-8 path")]);
    assert_code(&out, 2);
    let report = report(&out);
    let errors = report.results[0]
        .errors
        .as_deref()
        .expect("an intent error");
    assert_eq!(errors[0].code, "intent_yaml_alias", "{out}");
    assert!(errors[0].message.contains("`*items`"), "{out}");
    let span = errors[0].span.as_ref().expect("a position");
    assert_eq!(span.line, 8, "{out}");
}
