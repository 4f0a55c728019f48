//! `gatehouse test`, `gatehouse schema` (`--decision`) and `gatehouse bundle`.

use gatehouse_core::bundle::{FileRole, file_role};
use gatehouse_core::{BundleSource, Engine, INTENT_SCHEMA};
use serde_json::Value;

use crate::support::{assert_code, bundle_copy, engine, gatehouse, root, run};

#[test]
fn rego_tests_of_the_reference_bundle_pass() {
    let out = run(gatehouse().args(["test", "policies"]));
    assert_code(&out, 0);
    assert_eq!(out.stderr, "");
    let summary = out.stdout.lines().last().expect("a summary line");
    let passed: usize = summary
        .strip_prefix("rego: ")
        .and_then(|rest| rest.strip_suffix(" passed, 0 failed"))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("unexpected summary `{summary}`\n{out}"));
    assert!(passed > 100, "only {passed} Rego tests");
    let pass_lines = out
        .stdout
        .lines()
        .filter(|l| l.starts_with("PASS "))
        .count();
    assert_eq!(pass_lines, passed, "{out}");
    assert!(!out.stdout.contains("FAIL "), "{out}");
}

#[test]
fn a_failing_rego_test_exits_1() {
    let (_tmp, bundle) = bundle_copy();
    std::fs::write(
        bundle.join("rules").join("failing_test.rego"),
        "package gatehouse.failing_test\n\ntest_one_is_two if {\n  1 == 2\n}\n",
    )
    .expect("write the failing test");
    let out = run(gatehouse().arg("test").arg(&bundle));
    assert_code(&out, 1);
    assert!(
        out.stdout
            .lines()
            .any(|l| l
                == "FAIL data.gatehouse.failing_test.test_one_is_two (rules/failing_test.rego)"),
        "{out}"
    );
    let summary = out.stdout.lines().last().expect("a summary line");
    assert!(
        summary.starts_with("rego: ") && summary.ends_with(" passed, 1 failed"),
        "{out}"
    );
}

#[test]
fn a_rego_syntax_error_in_test_exits_2_naming_the_file() {
    let (_tmp, bundle) = bundle_copy();
    std::fs::write(
        bundle.join("rules").join("broken.rego"),
        "package gatehouse.policies.broken\n\ndeny contains v if {\n  v := \n}\n",
    )
    .expect("write the broken module");
    let out = run(gatehouse().arg("test").arg(&bundle));
    assert_code(&out, 2);
    assert_eq!(out.stdout, "");
    assert!(out.stderr.contains("[rego_parse]"), "{out}");
    // Same location as `check` gives: relative to the working directory, not the bundle.
    let location = format!("--> {}:4:5", bundle.join("rules/broken.rego").display());
    assert!(out.stderr.contains(&location), "want `{location}`\n{out}");
}

#[test]
fn schema_prints_the_intent_schema() {
    let out = run(gatehouse().arg("schema"));
    assert_code(&out, 0);
    assert_eq!(out.stderr, "");
    let printed: Value = serde_json::from_str(&out.stdout).expect("the schema is JSON");
    let schema: Value = serde_json::from_str(INTENT_SCHEMA).expect("INTENT_SCHEMA is JSON");
    assert_eq!(printed, schema);
}

#[test]
fn schema_decision_prints_the_committed_decision_schema() {
    let out = run(gatehouse().args(["schema", "--decision"]));
    assert_code(&out, 0);
    assert_eq!(out.stderr, "");
    let committed = std::fs::read_to_string(root().join("docs/decision.schema.json"))
        .expect("docs/decision.schema.json exists");
    assert!(
        out.stdout == committed,
        "docs/decision.schema.json is stale: refresh it with `cargo run -p gatehouse-cli -- schema --decision > docs/decision.schema.json`"
    );
}

#[test]
fn bundle_packs_the_decision_files_with_the_engine_digest() {
    let out = run(gatehouse().arg("bundle"));
    assert_code(&out, 0);
    assert_eq!(out.stderr, "");
    let doc: Value = serde_json::from_str(&out.stdout).expect("the bundle is JSON");
    let info = engine().info();
    assert_eq!(doc["format"], "gatehouse.bundle/v1");
    assert_eq!(doc["name"], info.name.as_str());
    assert_eq!(doc["revision"], info.revision.as_str());
    assert_eq!(doc["digest"], info.digest.as_str());

    let files = doc["files"].as_object().expect("`files` is an object");
    assert!(files.contains_key("bundle.json"));
    assert!(files.keys().any(|p| p.starts_with("data/")));
    assert!(files.keys().any(|p| p.ends_with(".rego")));
    let tests: Vec<&String> = files.keys().filter(|p| p.ends_with("_test.rego")).collect();
    assert!(tests.is_empty(), "test modules in the bundle: {tests:?}");

    // The packed files are the directory's decision files, and load to the same digest.
    let mut packed = BundleSource::default();
    for (path, content) in files {
        packed.insert(
            path.clone(),
            content.as_str().expect("file contents are text"),
        );
    }
    let on_disk = BundleSource::from_dir(&crate::support::policies()).expect("policies/");
    let decision_files: Vec<&String> = on_disk
        .files
        .keys()
        .filter(|p| file_role(p) != Some(FileRole::Test))
        .collect();
    assert_eq!(packed.files.keys().collect::<Vec<_>>(), decision_files);
    let reloaded = Engine::load(&packed).expect("the packed bundle loads");
    assert_eq!(reloaded.info().digest, info.digest);
}

#[test]
fn bundle_data_prints_the_merged_data_document_the_engine_sees() {
    let (_tmp, bundle) = bundle_copy();
    // A later file adds a key under an object an earlier file holds: the two merge.
    std::fs::write(
        bundle.join("data/zz_extra.json"),
        r#"{"governance": {"reference": {"extra_key": 1}}}"#,
    )
    .expect("write a data file");
    let out = run(gatehouse()
        .args(["bundle", "--data", "--policies"])
        .arg(&bundle));
    assert_code(&out, 0);
    let data: Value = serde_json::from_str(&out.stdout).expect("the data is JSON");
    let merged = BundleSource::from_dir(&bundle)
        .expect("the copy")
        .merged_data()
        .expect("the data merges");
    assert_eq!(data, merged);
    assert_eq!(data["governance"]["reference"]["extra_key"], 1);
    assert!(
        data["governance"]["reference"]["cost_ceilings_usd"].is_object(),
        "the earlier file's keys stay\n{out}"
    );

    // A value that both files set differently is a load error, not a silent replacement.
    std::fs::write(
        bundle.join("data/zz_extra.json"),
        r#"{"governance": {"reference": {"cost_ceilings_usd": 5}}}"#,
    )
    .expect("write a conflicting data file");
    let out = run(gatehouse()
        .args(["bundle", "--data", "--policies"])
        .arg(&bundle));
    assert_code(&out, 2);
    assert!(out.stderr.contains("bundle_data_conflict"), "{out}");
}

#[test]
fn coverage_lists_every_policy_file_and_enforces_the_minimum() {
    let out = run(gatehouse().args(["test", "--coverage", "--min-coverage", "90", "policies"]));
    assert_code(&out, 0);
    let source = BundleSource::from_dir(&crate::support::policies()).expect("the bundle");
    for (path, _) in source.files_of(FileRole::Policy) {
        assert!(
            out.stdout
                .lines()
                .any(|l| l.contains('%') && l.ends_with(&format!("policies/{path}"))),
            "no coverage line for {path}\n{out}"
        );
    }
    assert!(out.stdout.contains("total: "), "{out}");

    // No file can reach 101%: every file is reported below the minimum and the run fails.
    let out = run(gatehouse().args(["test", "--coverage", "--min-coverage", "101", "policies"]));
    assert_code(&out, 1);
    assert!(out.stdout.contains("BELOW THE MINIMUM"), "{out}");
}

#[test]
fn an_untested_policy_file_has_zero_coverage() {
    let (_tmp, bundle) = bundle_copy();
    std::fs::write(
        bundle.join("rules").join("untested.rego"),
        "package gatehouse.policies.untested\n\n# never reached\ndeny contains \"x\" if {\n\tinput.nothing\n}\n",
    )
    .expect("write the module");
    let out = run(gatehouse().args(["test", "--coverage"]).arg(&bundle));
    assert_code(&out, 0);
    assert!(
        out.stdout
            .lines()
            .any(|l| l.trim_start().starts_with("0.0%") && l.contains("untested.rego")),
        "{out}"
    );
}

#[test]
fn explain_lists_every_policy_with_its_verdict() {
    let out = run(gatehouse().args([
        "explain",
        "--now",
        crate::support::NOW,
        "--history",
        crate::support::HISTORY,
        "policies/examples/sandbox-database-denied.yaml",
    ]));
    assert_code(&out, 1);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(
        lines.first().copied(),
        Some("policies/examples/sandbox-database-denied.yaml: deny")
    );
    let fail = lines
        .iter()
        .position(|l| l.trim_start().starts_with("FAIL") && l.contains("landing-zone.guardrail"))
        .unwrap_or_else(|| panic!("no FAIL line for the guardrail\n{out}"));
    assert!(
        lines
            .get(fail + 1)
            .is_some_and(|l| l.contains("denied by org unit `ou-sandbox`")),
        "{out}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("(release gate)") && l.contains("gate.smoke")),
        "{out}"
    );

    let out = run(gatehouse().args([
        "explain",
        "--format",
        "json",
        "--now",
        crate::support::NOW,
        "policies/examples/web-frontend-dev-allowed.yaml",
    ]));
    assert_code(&out, 0);
    let doc: Value = serde_json::from_str(&out.stdout).expect("JSON");
    let policies = doc["policies"].as_array().expect("a policy list");
    assert_eq!(policies.len(), engine().catalog().len());
    assert!(
        policies
            .iter()
            .filter(|p| p["policy"] != "gate.smoke" && p["policy"] != "gate.deployment-truth")
            .all(|p| p["verdict"] == "pass"),
        "{doc:#}"
    );
}

/// The README's policy tutorial (docs/tutorial/) works as written: its files added to the
/// reference bundle pass their Rego tests and deny the tutorial's intent.
#[test]
fn the_policy_tutorial_works() {
    fn copy_into(from: &std::path::Path, to: &std::path::Path) {
        for entry in std::fs::read_dir(from).expect("a tutorial folder") {
            let path = entry.expect("an entry").path();
            let target = to.join(path.file_name().expect("a name"));
            if path.is_dir() {
                std::fs::create_dir_all(&target).expect("a folder");
                copy_into(&path, &target);
            } else {
                std::fs::copy(&path, &target).expect("copy a file");
            }
        }
    }
    let (_tmp, bundle) = bundle_copy();
    let tutorial = root().join("docs/tutorial");
    copy_into(&tutorial.join("rules"), &bundle.join("rules"));
    copy_into(&tutorial.join("data"), &bundle.join("data"));

    let out = run(gatehouse().arg("test").arg(&bundle));
    assert_code(&out, 0);
    for name in [
        "test_within_the_limit_is_allowed",
        "test_over_the_limit_is_denied",
        "test_prod_has_a_higher_limit",
    ] {
        assert!(
            out.stdout
                .lines()
                .any(|l| l.starts_with("PASS ") && l.contains(name)),
            "{name}\n{out}"
        );
    }

    let out = run(gatehouse()
        .args([
            "check",
            "--format",
            "json",
            "--now",
            crate::support::NOW,
            "--policies",
        ])
        .arg(&bundle)
        .arg("docs/tutorial/too-many-instances.yaml"));
    assert_code(&out, 1);
    let doc: Value = serde_json::from_str(&out.stdout).expect("JSON");
    let violations = doc["results"][0]["decision"]["violations"]
        .as_array()
        .expect("violations");
    assert_eq!(violations.len(), 1, "{doc:#}");
    assert_eq!(violations[0]["policy"], "compute.max-instances");
    assert_eq!(violations[0]["path"], "spec.resources[0].count");
}

#[test]
fn migrate_applies_the_schema_once_and_refuses_a_bad_database_url() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("gatehouse.db");
    let out = run(gatehouse().arg("migrate").arg("--db").arg(&db));
    assert_code(&out, 0);
    assert!(
        out.stdout.contains("migrated from schema version 0 to"),
        "{out}"
    );
    let out = run(gatehouse().arg("migrate").arg("--db").arg(&db));
    assert_code(&out, 0);
    assert!(out.stdout.contains("is up to date"), "{out}");
    let out = run(gatehouse().args([
        "migrate",
        "--db",
        "postgres://gatehouse:s3cret@127.0.0.1:notaport/gatehouse",
    ]));
    assert_code(&out, 2);
    assert!(out.stderr.contains("is not a PostgreSQL URL"), "{out}");
    assert!(!out.stderr.contains("s3cret"), "{out}");
}
