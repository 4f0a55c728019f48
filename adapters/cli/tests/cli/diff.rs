//! `gatehouse diff`: the reference bundle against a copy with lower cost ceilings (dev 500 → 100,
//! prod 10000 → 8000), on the example intents.

use std::path::{Path, PathBuf};

use serde_json::Value;
use tempfile::TempDir;

use crate::support::{NOW, Output, assert_code, bundle_copy, gatehouse, run};

const DEV: &str = "policies/examples/web-frontend-dev-allowed.yaml";
const NEAR_BUDGET: &str = "policies/examples/payments-api-near-budget-allowed.yaml";
const DENIED: &str = "policies/examples/payments-api-docker-hub-denied.yaml";

/// A copy of the reference bundle with lower dev and prod cost ceilings.
fn lower_ceilings() -> (TempDir, PathBuf) {
    let (tmp, bundle) = bundle_copy();
    let path = bundle.join("data/reference.json");
    let mut data: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("reference.json"))
            .expect("reference.json is JSON");
    let ceilings = data
        .pointer_mut("/governance/reference/cost_ceilings_usd")
        .and_then(Value::as_object_mut)
        .expect("the reference data has cost ceilings");
    ceilings.insert("dev".into(), 100.into());
    ceilings.insert("prod".into(), 8000.into());
    std::fs::write(
        &path,
        serde_json::to_string_pretty(&data).expect("serialises"),
    )
    .expect("write reference.json");
    (tmp, bundle)
}

fn diff(base: &Path, head: &Path, args: &[&str]) -> Output {
    run(gatehouse()
        .env_remove("GITHUB_STEP_SUMMARY")
        .env_remove("GITHUB_OUTPUT")
        .args(["diff", "--now", NOW, "--base"])
        .arg(base)
        .arg("--head")
        .arg(head)
        .args(args))
}

fn policies() -> PathBuf {
    PathBuf::from("policies")
}

fn intent<'a>(report: &'a Value, file: &str) -> &'a Value {
    report["intents"]
        .as_array()
        .expect("intents")
        .iter()
        .find(|i| i["file"] == file)
        .unwrap_or_else(|| panic!("{file} is in the report"))
}

#[test]
fn lower_ceilings_make_decisions_stricter() {
    let (_tmp, head) = lower_ceilings();
    let out = diff(
        &policies(),
        &head,
        &["--format", "json", DEV, NEAR_BUDGET, DENIED],
    );
    assert_code(&out, 0);
    let report: Value = serde_json::from_str(&out.stdout).expect("JSON report");
    assert_ne!(report["base"]["digest"], report["head"]["digest"]);

    let dev = intent(&report, DEV);
    assert_eq!(dev["change"], "stricter");
    assert_eq!(dev["diff"]["base_outcome"], "allow");
    assert_eq!(dev["diff"]["head_outcome"], "needs_approval");
    let added = dev["diff"]["added"].as_array().expect("added");
    assert_eq!(added.len(), 1, "{out}");
    assert_eq!(added[0]["policy"], "cost.ceiling");
    assert_eq!(added[0]["status"], "pending_approval");

    let near = intent(&report, NEAR_BUDGET);
    assert_eq!(near["change"], "stricter");
    let added: Vec<&str> = near["diff"]["added"]
        .as_array()
        .expect("added")
        .iter()
        .filter_map(|v| v["policy"].as_str())
        .collect();
    assert_eq!(added, ["cost.ceiling"], "{out}");

    let denied = intent(&report, DENIED);
    assert_eq!(denied["change"], "unchanged", "{out}");
    assert_eq!(report["counts"]["stricter"], 2);
    assert_eq!(report["counts"]["unchanged"], 1);
}

#[test]
fn fail_on_stricter_exits_1_only_for_a_stricter_change() {
    let (_tmp, lowered) = lower_ceilings();
    assert_code(
        &diff(&policies(), &lowered, &["--fail-on-stricter", DEV]),
        1,
    );
    let back = diff(&lowered, &policies(), &["--fail-on-stricter", DEV]);
    assert_code(&back, 0);
    assert!(
        back.stdout
            .contains(&format!("LOOSER  {DEV}: NEEDS APPROVAL -> ALLOW")),
        "{back}"
    );
    assert!(
        back.stdout
            .contains("  - cost.ceiling at spec.estimated_monthly_cost"),
        "{back}"
    );
    let same = diff(
        &policies(),
        &policies(),
        &["--fail-on-stricter", DEV, DENIED],
    );
    assert_code(&same, 0);
    assert!(
        same.stdout
            .ends_with("2 intents: 0 stricter, 0 looser, 0 changed, 2 unchanged, 0 unreadable\n"),
        "{same}"
    );
}

#[test]
fn human_markdown_and_github_formats() {
    let (_tmp, head) = lower_ceilings();
    let human = diff(&policies(), &head, &[DEV, DENIED]);
    assert_code(&human, 0);
    assert!(
        human
            .stdout
            .contains(&format!("STRICTER  {DEV}: ALLOW -> NEEDS APPROVAL\n  + cost.ceiling at spec.estimated_monthly_cost [soft-mandatory, pending_approval]")),
        "{human}"
    );
    assert!(
        !human.stdout.contains(&format!("  {DENIED}")),
        "unchanged intents are not listed\n{human}"
    );

    let markdown = diff(&policies(), &head, &["--format", "markdown", DEV]);
    assert_code(&markdown, 0);
    assert!(
        markdown
            .stdout
            .starts_with("## Gatehouse policy change impact\n"),
        "{markdown}"
    );
    assert!(
        markdown.stdout.contains(&format!(
            "### 🔺 stricter: `{DEV}` ✅ ALLOW → ⏳ NEEDS APPROVAL"
        )),
        "{markdown}"
    );

    let github = diff(&policies(), &head, &["--format", "github", DEV]);
    assert_code(&github, 0);
    let text = std::fs::read_to_string(crate::support::root().join(DEV)).expect("the example");
    let line = text
        .lines()
        .position(|l| l.starts_with("  estimated_monthly_cost:"))
        .expect("the example states its cost")
        + 1;
    assert!(
        github.stdout.contains(&format!(
            "::error file={DEV},line={line},col=3,title=cost.ceiling::"
        )),
        "{github}"
    );
}

#[test]
fn a_diff_in_a_step_appends_the_impact_to_the_summary() {
    let (tmp, head) = lower_ceilings();
    let summary = tmp.path().join("summary.md");
    let outputs = tmp.path().join("outputs.txt");
    let out = run(gatehouse()
        .env("GITHUB_STEP_SUMMARY", &summary)
        .env("GITHUB_OUTPUT", &outputs)
        .args(["diff", "--now", NOW, "--base", "policies", "--head"])
        .arg(&head)
        .arg(DEV));
    assert_code(&out, 0);
    let text = std::fs::read_to_string(&summary).expect("summary");
    assert!(text.contains("🔺 stricter"), "{text}");
    let outputs = std::fs::read_to_string(&outputs).expect("outputs");
    assert!(
        outputs.starts_with("stricter<<GATEHOUSE_EOF\n1\nGATEHOUSE_EOF\n"),
        "{outputs}"
    );
}

#[test]
fn a_broken_head_bundle_exits_2() {
    let (_tmp, head) = bundle_copy();
    std::fs::write(
        head.join("rules/broken.rego"),
        "package gatehouse.policies.broken\ndeny contains x if {\n",
    )
    .expect("write a broken policy");
    let out = diff(&policies(), &head, &[DEV]);
    assert_code(&out, 2);
    assert!(out.stderr.contains("is invalid"), "{out}");
}

#[test]
fn sarif_format_puts_a_result_at_each_newly_blocking_violation() {
    let (_tmp, head) = lower_ceilings();
    let out = diff(&policies(), &head, &["--format", "sarif", DEV, DENIED]);
    assert_code(&out, 0);
    let log: Value = serde_json::from_str(&out.stdout).expect("SARIF is JSON");
    assert_eq!(log["version"], "2.1.0");
    let run = &log["runs"][0];
    let results = run["results"].as_array().expect("results");
    assert_eq!(results.len(), 1, "only the dev intent newly blocks\n{out}");
    let result = &results[0];
    assert_eq!(result["ruleId"], "cost.ceiling");
    assert_eq!(
        result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        DEV
    );
    let text = std::fs::read_to_string(crate::support::root().join(DEV)).expect("the example");
    let line = text
        .lines()
        .position(|l| l.starts_with("  estimated_monthly_cost:"))
        .expect("the example states its cost")
        + 1;
    assert_eq!(
        result["locations"][0]["physicalLocation"]["region"]["startLine"],
        line
    );
    let rules = run["tool"]["driver"]["rules"].as_array().expect("rules");
    assert_eq!(rules.len(), 1);
    assert_eq!(rules[0]["id"], "cost.ceiling");
    assert_eq!(
        result["ruleIndex"], 0,
        "the result points at its rule\n{out}"
    );
    assert!(run["properties"]["base_bundle"]["digest"].is_string());
    assert!(run["properties"]["head_bundle"]["digest"].is_string());
    assert_ne!(
        run["properties"]["base_bundle"]["digest"],
        run["properties"]["head_bundle"]["digest"]
    );
}

#[test]
fn junit_format_fails_the_suite_of_a_stricter_decision_only() {
    let (_tmp, head) = lower_ceilings();
    let out = diff(&policies(), &head, &["--format", "junit", DEV, DENIED]);
    assert_code(&out, 0);
    let xml = &out.stdout;
    assert!(
        xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"),
        "{xml}"
    );
    assert!(
        xml.contains(r#"<testsuites name="gatehouse" tests="2" failures="1" errors="0">"#),
        "{xml}"
    );
    assert!(
        xml.contains(&format!(
            r#"<failure message="stricter: ALLOW -&gt; NEEDS APPROVAL" type="stricter">{DEV}:"#
        )),
        "{xml}"
    );
    assert!(
        xml.contains(&format!(
            r#"<testcase name="impact" classname="{DENIED}"/>"#
        )),
        "the unchanged intent passes\n{xml}"
    );
    assert!(xml.contains(r#"<property name="head.digest""#), "{xml}");
}
