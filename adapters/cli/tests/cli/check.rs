//! `gatehouse check`: exit codes (0 allowed, 1 denied or needs approval, 2 usage, load or
//! unreadable intent) and the verdict on every example.

use gatehouse_core::Outcome;

use crate::support::{
    APPROVALS, HISTORY, NOW, Output, assert_code, engine, gatehouse, report, run,
};

fn check(files: &[&str]) -> Output {
    run(gatehouse()
        .args([
            "check",
            "--now",
            NOW,
            "--history",
            HISTORY,
            "--approvals",
            APPROVALS,
        ])
        .args(files))
}

fn check_json(files: &[&str]) -> Output {
    run(gatehouse()
        .args([
            "check",
            "--format",
            "json",
            "--now",
            NOW,
            "--history",
            HISTORY,
            "--approvals",
            APPROVALS,
        ])
        .args(files))
}

#[test]
fn allowed_example_exits_0() {
    let out = check(&["policies/examples/payments-api-prod-allowed.yaml"]);
    assert_code(&out, 0);
    assert!(
        out.stdout
            .starts_with("ALLOW  policies/examples/payments-api-prod-allowed.yaml\n"),
        "{out}"
    );
    assert!(
        out.stdout.contains("1 file: 1 allowed, 0 need approval"),
        "{out}"
    );
    assert_eq!(out.stderr, "");
}

#[test]
fn denied_example_exits_1() {
    let out = check(&["policies/examples/payments-api-docker-hub-denied.yaml"]);
    assert_code(&out, 1);
    assert!(out.stdout.starts_with("DENY  "), "{out}");
    assert!(out.stdout.contains("artifact.registry-allowed"), "{out}");
    assert_eq!(out.stderr, "");
}

#[test]
fn needs_approval_example_exits_1() {
    let out = check(&["policies/examples/payments-api-over-budget-needs-approval.yaml"]);
    assert_code(&out, 1);
    assert!(out.stdout.starts_with("NEEDS APPROVAL  "), "{out}");
    assert!(out.stdout.contains("`finops-approver`"), "{out}");
    assert_eq!(out.stderr, "");
}

#[test]
fn missing_file_exits_2_with_a_read_error() {
    let missing = "policies/examples/no-such-intent.yaml";
    let human = check(&[missing]);
    assert_code(&human, 2);
    assert!(
        human
            .stdout
            .contains(&format!("ERROR  {missing}: cannot read `{missing}`")),
        "{human}"
    );
    assert!(human.stdout.contains("1 unreadable"), "{human}");

    let json = check_json(&[missing]);
    assert_code(&json, 2);
    let report = report(&json);
    assert_eq!(report.results.len(), 1);
    let entry = &report.results[0];
    assert_eq!(entry.file, missing);
    assert!(entry.decision.is_none());
    let errors = entry.errors.as_deref().expect("a read error");
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].code, "read_error");
    assert!(errors[0].message.contains(missing), "{json}");
}

#[test]
fn an_unreadable_intent_outranks_a_deny_and_keeps_the_other_decisions() {
    let json = check_json(&[
        "policies/examples/payments-api-docker-hub-denied.yaml",
        "policies/examples/no-such-intent.yaml",
    ]);
    assert_code(&json, 2);
    let report = report(&json);
    assert_eq!(report.results.len(), 2);
    let decision = report.results[0].decision.as_ref().expect("a decision");
    assert_eq!(decision.outcome, Outcome::Deny);
    assert!(report.results[1].errors.is_some());
}

#[test]
fn malformed_yaml_exits_2_with_line_and_column() {
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let file = tmp.path().join("bad-indent.yaml");
    std::fs::write(
        &file,
        concat!(
            "apiVersion: gatehouse.dev/v1\n",
            "kind: DeploymentIntent\n",
            "metadata:\n",
            "  name: payments-api\n",
            "   requested_by: alice@example.com\n", // one space too many
        ),
    )
    .expect("write the intent");
    let path = file.to_str().expect("a UTF-8 temp path");

    let json = check_json(&[path]);
    assert_code(&json, 2);
    let report = report(&json);
    let errors = report.results[0].errors.as_deref().expect("a syntax error");
    assert_eq!(errors[0].code, "intent_syntax");
    let span = errors[0].span.as_ref().expect("a position");
    assert_eq!((span.line, span.column), (5, 16), "{json}");

    let human = check(&[path]);
    assert_code(&human, 2);
    assert!(
        human
            .stdout
            .contains(&format!("ERROR  {path}: cannot read intent `{path}`")),
        "{human}"
    );
    assert!(
        human
            .stdout
            .contains("[intent_syntax] intent is not valid YAML at line 5, column 16"),
        "{human}"
    );
    assert!(human.stdout.contains("--> line 5, column 16"), "{human}");
}

#[test]
fn garbage_now_exits_2() {
    let out = run(gatehouse().args([
        "check",
        "--now",
        "garbage",
        "policies/examples/payments-api-prod-allowed.yaml",
    ]));
    assert_code(&out, 2);
    assert_eq!(out.stdout, "");
    assert!(
        out.stderr
            .starts_with("error: --now: `garbage` is not an RFC 3339 timestamp"),
        "{out}"
    );
}

#[test]
fn no_files_is_a_usage_error() {
    let out = run(gatehouse().args(["check", "--now", NOW]));
    assert_code(&out, 2);
    assert_eq!(out.stdout, "");
    assert!(out.stderr.contains("FILES"), "{out}");
}

#[test]
fn broken_bundle_exits_2_naming_the_file_line_and_column() {
    let (_tmp, bundle) = crate::support::bundle_copy();
    let module = bundle.join("rules").join("broken.rego");
    std::fs::write(
        &module,
        "package gatehouse.policies.broken\n\ndeny contains v if {\n  v := \n}\n",
    )
    .expect("write the broken module");
    let out = run(gatehouse()
        .args(["check", "--now", NOW, "--history", HISTORY, "--policies"])
        .arg(&bundle)
        .arg("policies/examples/payments-api-prod-allowed.yaml"));
    assert_code(&out, 2);
    assert_eq!(out.stdout, "");
    assert!(
        out.stderr
            .starts_with(&format!("error: bundle `{}` is invalid", bundle.display())),
        "{out}"
    );
    assert!(out.stderr.contains("[rego_parse]"), "{out}");
    let location = format!("--> {}:4:5", bundle.join("rules/broken.rego").display());
    assert!(out.stderr.contains(&location), "want `{location}`\n{out}");
}

/// Every example's verdict matches its name: `-allowed`, `-denied` or `-needs-approval`; the
/// decisions are the ones the engine gives in-process for the same YAML.
#[test]
fn every_example_matches_its_name() {
    let out = check_json(&["policies/examples"]);
    assert_code(&out, 1);
    assert_eq!(out.stderr, "");
    let report = report(&out);

    let dir = crate::support::policies().join("examples");
    let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
        .expect("policies/examples exists")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".yaml"))
        .collect();
    on_disk.sort();
    let checked: Vec<&str> = report.results.iter().map(|e| e.name()).collect();
    assert_eq!(checked, on_disk, "check reads every example, in name order");

    let mut context = gatehouse_core::EvaluationContext::at(NOW.parse().expect("a timestamp"));
    context.history = serde_json::from_str(
        &std::fs::read_to_string(crate::support::root().join(HISTORY)).expect("the history"),
    )
    .expect("a history list");
    context.approvals = serde_json::from_str(
        &std::fs::read_to_string(crate::support::root().join(APPROVALS)).expect("the approvals"),
    )
    .expect("an approvals list");
    let mut problems = Vec::new();
    for entry in &report.results {
        let stem = entry.name().trim_end_matches(".yaml");
        let want = if stem.ends_with("-needs-approval") {
            Outcome::NeedsApproval
        } else if stem.ends_with("-allowed") {
            Outcome::Allow
        } else if stem.ends_with("-denied") {
            Outcome::Deny
        } else {
            problems.push(format!(
                "{}: name ends in neither -allowed, -denied nor -needs-approval",
                entry.file
            ));
            continue;
        };
        let Some(decision) = &entry.decision else {
            problems.push(format!("{}: no decision: {:?}", entry.file, entry.errors));
            continue;
        };
        if decision.outcome != want {
            problems.push(format!(
                "{}: outcome `{}`, want `{}`",
                entry.file,
                decision.outcome.as_str(),
                want.as_str()
            ));
        }
        let text = std::fs::read_to_string(dir.join(entry.name())).expect("read the example");
        let local = engine()
            .evaluate_text(&text, &context)
            .expect("the example parses");
        if local.to_json().unwrap() != decision.to_json().unwrap() {
            problems.push(format!(
                "{}: the CLI's decision differs from the engine's",
                entry.file
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

fn check_examples_json(extra: &[&str], files: &[&str]) -> Output {
    run(gatehouse()
        .args([
            "check",
            "--format",
            "json",
            "--now",
            NOW,
            "--history",
            HISTORY,
            "--approvals",
            APPROVALS,
        ])
        .args(extra)
        .args(files))
}

/// Threads, decisions split in parts and the decision cache change nothing in the report: the
/// same bytes, the files in the order given.
#[test]
fn jobs_split_and_cache_give_the_same_report() {
    let one = check_examples_json(&["--jobs", "1"], &["policies/examples"]);
    assert_code(&one, 1);
    for extra in [
        &["--jobs", "3"][..],
        &["--jobs", "2", "--split", "4"],
        &["--split", "2", "--decision-cache", "8"],
    ] {
        let other = check_examples_json(extra, &["policies/examples"]);
        assert_eq!(other.code, one.code, "{extra:?}: {other}");
        assert_eq!(other.stdout, one.stdout, "{extra:?}");
    }
}

/// The cache serves the second evaluation of each file and says so on stderr.
#[test]
fn the_decision_cache_serves_repeats() {
    let files = std::fs::read_dir(crate::support::policies().join("examples"))
        .expect("examples")
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "yaml"))
        })
        .count();
    let twice = check_examples_json(
        &["--jobs", "1", "--decision-cache", "1000"],
        &["policies/examples", "policies/examples"],
    );
    assert_code(&twice, 1);
    assert_eq!(
        twice.stderr,
        format!("decision cache: {files} hits, {files} misses, {files} of 1000 entries held\n")
    );
    let once = check_examples_json(&[], &["policies/examples"]);
    let report: serde_json::Value = serde_json::from_str(&twice.stdout).expect("JSON");
    let single: serde_json::Value = serde_json::from_str(&once.stdout).expect("JSON");
    let results = report["results"].as_array().expect("results");
    assert_eq!(results.len(), 2 * files);
    assert_eq!(
        results[..files],
        single["results"].as_array().expect("results")[..]
    );
    assert_eq!(results[..files], results[files..]);
}
