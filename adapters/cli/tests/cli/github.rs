//! `gatehouse check` in a GitHub Actions step: the GitHub formats, `--fail-on`, `--sarif-file`,
//! `--summary-file`, and the files GitHub hands a step (`GITHUB_STEP_SUMMARY`, `GITHUB_OUTPUT`).

use std::collections::BTreeMap;

use crate::support::{NOW, Output, assert_code, gatehouse, run};

const DENIED: &str = "policies/examples/payments-api-us-west-2-prod-denied.yaml";
const ADVISORY: &str = "policies/examples/web-frontend-unpinned-dev-allowed.yaml";
const CLEAN: &str = "policies/examples/web-frontend-dev-allowed.yaml";

fn check(args: &[&str]) -> Output {
    run(gatehouse()
        .env_remove("GITHUB_STEP_SUMMARY")
        .env_remove("GITHUB_OUTPUT")
        .args(["check", "--now", NOW])
        .args(args))
}

/// Parses `$GITHUB_OUTPUT` heredoc entries (`name<<DELIM`, lines, `DELIM`).
fn parse_outputs(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let (name, delimiter) = line
            .split_once("<<")
            .unwrap_or_else(|| panic!("not a heredoc output: `{line}`\n{text}"));
        let mut value = Vec::new();
        for line in lines.by_ref() {
            if line == delimiter {
                break;
            }
            value.push(line);
        }
        out.insert(name.to_owned(), value.join("\n"));
    }
    out
}

#[test]
fn github_format_in_a_step_writes_the_summary_and_the_outputs() {
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let summary = tmp.path().join("step_summary.md");
    let outputs = tmp.path().join("output.txt");
    std::fs::write(&summary, "# earlier step content\n").expect("seed the summary");
    std::fs::write(&outputs, "earlier<<EOF\nx\nEOF\n").expect("seed the outputs");
    let out = run(gatehouse()
        .env("GITHUB_STEP_SUMMARY", &summary)
        .env("GITHUB_OUTPUT", &outputs)
        .args([
            "check", "--now", NOW, "--format", "github", DENIED, ADVISORY,
        ]));
    assert_code(&out, 1);
    assert_eq!(out.stderr, "");
    assert!(
        out.stdout.contains(&format!("::group::DENY {DENIED}")),
        "{out}"
    );
    assert!(
        out.stdout.contains(&format!(
            "::error file={DENIED},line=17,col=5,title=region.allowed::"
        )),
        "{out}"
    );
    assert!(
        out.stdout.contains(&format!(
            "::warning file={ADVISORY},line=11,col=3,title=artifact.pinned::"
        )),
        "{out}"
    );

    let summary_text = std::fs::read_to_string(&summary).expect("the summary is there");
    assert!(
        summary_text.starts_with("# earlier step content\n## Gatehouse policy check: ❌ DENY\n"),
        "appended, not replaced:\n{summary_text}"
    );
    assert!(
        summary_text.contains(&format!("### ❌ DENY `{DENIED}`")),
        "{summary_text}"
    );
    assert!(summary_text.contains("| `region.allowed` | hard-mandatory | blocking |"));
    assert!(
        summary_text.contains("(`sha256:"),
        "the bundle digest is named"
    );

    let output_text = std::fs::read_to_string(&outputs).expect("the outputs are there");
    let values = parse_outputs(&output_text);
    assert_eq!(values["earlier"], "x", "appended, not replaced");
    assert_eq!(values["outcome"], "deny");
    assert_eq!(values["denied"], "1");
    assert_eq!(values["needs-approval"], "0");
    assert!(values["violations"].parse::<usize>().expect("a count") >= 1);
    assert_eq!(values["summary-path"], summary.display().to_string());
}

#[test]
fn an_unreadable_intent_exits_2_with_outcome_error() {
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let outputs = tmp.path().join("output.txt");
    let broken = tmp.path().join("broken.yaml");
    std::fs::write(&broken, "spec: [1, 2\n").expect("write the intent");
    let broken = broken.display().to_string();
    let out = run(gatehouse()
        .env_remove("GITHUB_STEP_SUMMARY")
        .env("GITHUB_OUTPUT", &outputs)
        .args(["check", "--now", NOW, "--format", "github", CLEAN, &broken]));
    assert_code(&out, 2);
    assert!(
        out.stdout.contains(&format!(
            "::error file={},line=2,col=1,title=intent_syntax::",
            broken.replace(':', "%3A").replace(',', "%2C")
        )),
        "{out}"
    );
    let values = parse_outputs(&std::fs::read_to_string(&outputs).expect("outputs"));
    assert_eq!(values["outcome"], "error");
    assert_eq!(values["summary-path"], "");
}

#[test]
fn fail_on_moves_the_exit_code() {
    assert_code(&check(&[ADVISORY]), 0);
    assert_code(&check(&["--fail-on", "advisory", ADVISORY]), 1);
    assert_code(&check(&["--fail-on", "advisory", CLEAN]), 0);
    assert_code(&check(&["--fail-on", "deny", DENIED]), 1);
    assert_code(&check(&["--fail-on", "needs_approval", DENIED]), 1);
    let bad = check(&["--fail-on", "sometimes", CLEAN]);
    assert_code(&bad, 2);
    assert!(bad.stderr.contains("needs_approval"), "{bad}");
}

#[test]
fn fail_on_deny_lets_a_needs_approval_pass() {
    // A dev intent over the dev ceiling (500 USD) needs a finops approval.
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let text = std::fs::read_to_string(crate::support::root().join(CLEAN)).expect("the example");
    let over = text.replace("estimated_monthly_cost: 120", "estimated_monthly_cost: 900");
    assert_ne!(over, text, "the example states its cost");
    let intent = tmp.path().join("over.yaml");
    std::fs::write(&intent, over).expect("write the intent");
    let intent = intent.display().to_string();
    let default = check(&["--format", "json", &intent]);
    assert_code(&default, 1);
    assert!(
        default.stdout.contains("\"outcome\": \"needs_approval\""),
        "{default}"
    );
    assert_code(&check(&["--fail-on", "deny", &intent]), 0);
}

#[test]
fn sarif_and_summary_files_are_written_beside_any_format() {
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let sarif = tmp.path().join("out.sarif");
    let summary = tmp.path().join("summary.md");
    let out = check(&[
        "--sarif-file",
        &sarif.display().to_string(),
        "--summary-file",
        &summary.display().to_string(),
        DENIED,
    ]);
    assert_code(&out, 1);
    assert!(
        out.stdout.starts_with("DENY  "),
        "human stays on stdout\n{out}"
    );
    let log: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&sarif).expect("SARIF written"))
            .expect("SARIF is JSON");
    assert_eq!(log["version"], "2.1.0");
    let results = log["runs"][0]["results"].as_array().expect("results");
    assert!(results.iter().any(|r| r["ruleId"] == "region.allowed"));
    let text = std::fs::read_to_string(&summary).expect("summary written");
    assert!(text.starts_with("## Gatehouse policy check"), "{text}");
}

#[test]
fn every_format_renders_the_same_files() {
    for format in ["sarif", "markdown", "junit", "github"] {
        let out = check(&["--format", format, DENIED, CLEAN]);
        assert_code(&out, 1);
        assert!(out.stdout.contains(DENIED), "{format}: {out}");
        if format != "sarif" {
            // SARIF lists results only, and the clean intent has none.
            assert!(out.stdout.contains(CLEAN), "{format}: {out}");
        }
    }
    let junit = check(&["--format", "junit", CLEAN]);
    assert_code(&junit, 0);
    assert!(junit.stdout.starts_with("<?xml"), "{junit}");
}
