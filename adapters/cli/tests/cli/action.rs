//! The GitHub Action (`adapters/github-action/action.yml`) against the CLI it drives: every flag
//! its scripts pass exists in `gatehouse check --help` / `gatehouse diff --help`, every output it
//! declares is one the CLI writes to `$GITHUB_OUTPUT`, and its defaults are values the CLI takes.
//! Its scripts are also run with a stand-in `gatehouse` that records its arguments: reviews are
//! read on pull request events only, and inputs (the token above all) reach the scripts through
//! the environment, never pasted into them.

use serde_json::Value;

use crate::support::{assert_code, gatehouse, root, run};

fn action() -> Value {
    let text = std::fs::read_to_string(root().join("adapters/github-action/action.yml"))
        .expect("action.yml is readable");
    serde_norway::from_str(&text).expect("action.yml is YAML")
}

/// `gatehouse <command> <flag>`: `--help` lists every flag, `-h` the possible values on one line.
fn help(command: &str, flag: &str) -> String {
    let out = run(gatehouse().args([command, flag]));
    assert_code(&out, 0);
    out.stdout
}

/// Every `--flag` in a script.
fn flags(script: &str) -> Vec<String> {
    script
        .split(|c: char| c.is_whitespace() || c == '(' || c == ')')
        .filter(|w| w.starts_with("--") && w.len() > 2)
        .map(str::to_owned)
        .collect()
}

fn step<'a>(action: &'a Value, id: &str) -> &'a Value {
    action
        .pointer("/runs/steps")
        .and_then(Value::as_array)
        .expect("steps")
        .iter()
        .find(|s| s["id"] == id)
        .unwrap_or_else(|| panic!("a step with id `{id}`"))
}

#[test]
fn the_action_passes_only_flags_the_cli_has() {
    let action = action();
    assert_eq!(action["runs"]["using"], "composite");
    for (id, command) in [("check", "check"), ("diff", "diff")] {
        let script = step(&action, id)["run"].as_str().expect("a run script");
        let help = help(command, "--help");
        let used = flags(script);
        assert!(!used.is_empty());
        for flag in used {
            assert!(
                help.contains(&flag),
                "`gatehouse {command}` has no `{flag}`:\n{help}"
            );
        }
    }
}

#[test]
fn every_input_reaches_the_cli_and_defaults_are_accepted() {
    let action = action();
    let inputs = action["inputs"].as_object().expect("inputs");
    let mut names: Vec<&str> = inputs.keys().map(String::as_str).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "approvals",
            "attestation-predicate",
            "base-policies",
            "build-from-source",
            "fail-on",
            "fail-on-stricter",
            "format",
            "gatehouse-version",
            "github-reviews",
            "github-token",
            "history",
            "intents",
            "now",
            "policies",
            "proposed-policies",
            "releases-url",
            "sarif-file",
        ]
    );
    let steps = serde_json::to_string(&action["runs"]["steps"]).expect("serialises");
    for name in names {
        assert!(
            steps.contains(&format!("inputs.{name} }}")),
            "input `{name}` is not used by any step"
        );
    }
    let help = help("check", "-h");
    for (input, values) in [
        ("format", "human, json, github, sarif, markdown, junit"),
        ("fail-on", "deny, needs_approval, advisory"),
    ] {
        let default = inputs[input]["default"].as_str().expect("a default");
        assert!(
            help.contains(&format!("[possible values: {values}]")),
            "`--{input}` lists [{values}]:\n{help}"
        );
        assert!(
            values.split(", ").any(|v| v == default),
            "default `{default}` of `{input}`"
        );
    }
}

#[test]
fn outputs_are_the_ones_the_cli_writes() {
    let action = action();
    let outputs = action["outputs"].as_object().expect("outputs");
    for name in gatehouse_report::outputs::NAMES {
        assert_eq!(
            outputs[name]["value"],
            format!("${{{{ steps.check.outputs.{name} }}}}"),
            "output `{name}`"
        );
    }
    assert_eq!(
        outputs["stricter"]["value"],
        "${{ steps.diff.outputs.stricter }}"
    );
    // Written by the check step's script once the CLI wrote the predicate.
    assert_eq!(
        outputs["attestation-predicate"]["value"],
        "${{ steps.check.outputs.attestation-predicate }}"
    );
    assert_eq!(outputs.len(), gatehouse_report::outputs::NAMES.len() + 2);
}

#[test]
fn the_example_workflow_uses_the_action_on_the_examples() {
    let text = std::fs::read_to_string(root().join(".github/workflows/gatehouse.yml"))
        .expect("the example workflow is there");
    let workflow: Value = serde_norway::from_str(&text).expect("the workflow is YAML");
    let steps = workflow["jobs"]["policy-check"]["steps"]
        .as_array()
        .expect("steps");
    let gatehouse = steps
        .iter()
        .find(|s| s["uses"] == "./adapters/github-action")
        .expect("a step uses the action");
    assert_eq!(gatehouse["with"]["intents"], "policies/examples/*.yaml");
    // On pull request events the bundle and the approvals that judge come from the base
    // branch's checkout, which the workflow makes at the base commit.
    for input in ["policies", "approvals", "history"] {
        let value = gatehouse["with"][input].as_str().expect("an input");
        assert!(
            value.starts_with("${{ github.event_name != 'push' && '.gatehouse-base/"),
            "`{input}` is read from the base branch on pull request events: {value}"
        );
    }
    assert!(steps.iter().any(|s| {
        s["with"]["path"] == ".gatehouse-base"
            && s["with"]["ref"] == "${{ github.event.pull_request.base.sha }}"
    }));
    let inputs = action();
    for key in gatehouse["with"].as_object().expect("with").keys() {
        assert!(
            inputs["inputs"].get(key).is_some(),
            "the action has no input `{key}`"
        );
    }
    assert!(steps.iter().any(|s| {
        s["uses"]
            .as_str()
            .is_some_and(|u| u.starts_with("github/codeql-action/upload-sarif"))
    }));
}

#[test]
fn inputs_reach_the_scripts_only_through_the_environment() {
    // `${{ ... }}` inside a `run:` script is pasted in before bash reads it: an input holding
    // quotes would become code, and the token would be part of the script's text.
    let action = action();
    for step in action["runs"]["steps"].as_array().expect("steps") {
        if let Some(script) = step["run"].as_str() {
            assert!(
                !script.contains("${{"),
                "step `{}` interpolates:\n{script}",
                step["name"]
            );
        }
    }
    assert_eq!(
        action["inputs"]["github-token"]["default"],
        "${{ github.token }}"
    );
    for id in ["check", "diff"] {
        assert_eq!(
            step(&action, id)["env"]["GITHUB_TOKEN"],
            "${{ inputs.github-token }}",
            "step `{id}`"
        );
    }
}

/// Runs a step's script with a stand-in `gatehouse` on `PATH`; returns the arguments it got (one
/// per line), or `None` when the script did not call it, and the script's exit code.
fn run_step(id: &str, env: &[(&str, &str)]) -> (Option<String>, Option<i32>) {
    let action = action();
    let script = step(&action, id)["run"]
        .as_str()
        .expect("a run script")
        .to_owned();
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let bin = tmp.path().join("bin");
    std::fs::create_dir(&bin).expect("a bin directory");
    let args_file = tmp.path().join("args");
    let stub = bin.join("gatehouse");
    std::fs::write(
        &stub,
        format!(
            "#!/usr/bin/env bash\nprintf '%s\\n' \"$@\" > '{}'\n",
            args_file.display()
        ),
    )
    .expect("write the stand-in");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&stub, std::fs::Permissions::from_mode(0o755))
            .expect("make it executable");
    }
    std::fs::write(tmp.path().join("intent.yaml"), "kind: DeploymentIntent\n").expect("an intent");
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut command = std::process::Command::new("bash");
    command
        .arg("-c")
        .arg(&script)
        .current_dir(tmp.path())
        .env_clear()
        .env("PATH", path)
        .env("RUNNER_TEMP", tmp.path());
    for (name, default) in [
        ("INTENTS", "intent.yaml"),
        ("POLICIES", "policies"),
        ("BASE", "base"),
        ("PROPOSED", ""),
        ("FORMAT", "github"),
        ("FAIL_ON", "needs_approval"),
        ("FAIL_ON_STRICTER", "false"),
        ("SARIF_FILE", ""),
        ("ATTESTATION_PREDICATE", ""),
        ("NOW", ""),
        ("HISTORY", ""),
        ("APPROVALS", ""),
        ("GITHUB_REVIEWS", "true"),
        ("GITHUB_TOKEN", "ghs_token"),
    ] {
        command.env(name, default);
    }
    for (name, value) in env {
        command.env(name, value);
    }
    let out = command.output().expect("bash runs");
    let args = std::fs::read_to_string(&args_file).ok();
    (args, out.status.code())
}

fn has_line(args: &str, line: &str) -> bool {
    args.lines().any(|l| l == line)
}

#[test]
fn reviews_are_read_on_pull_request_events_only() {
    for id in ["check", "diff"] {
        for event in ["pull_request", "pull_request_target", "pull_request_review"] {
            let (args, code) = run_step(id, &[("GITHUB_EVENT_NAME", event)]);
            assert_eq!(code, Some(0), "{id} on {event}");
            let args = args.expect("gatehouse ran");
            assert!(
                has_line(&args, "--github-reviews"),
                "{id} on {event}:\n{args}"
            );
            assert!(
                !args.contains("ghs_token"),
                "the token is an argument:\n{args}"
            );
        }
        for event in ["push", "workflow_dispatch", "schedule", ""] {
            let (args, code) = run_step(id, &[("GITHUB_EVENT_NAME", event)]);
            assert_eq!(code, Some(0), "{id} on {event}");
            assert!(
                !has_line(&args.expect("gatehouse ran"), "--github-reviews"),
                "{id} on {event}"
            );
        }
        let (args, _) = run_step(
            id,
            &[
                ("GITHUB_EVENT_NAME", "pull_request"),
                ("GITHUB_REVIEWS", "false"),
            ],
        );
        assert!(!has_line(&args.expect("gatehouse ran"), "--github-reviews"));
        let (args, code) = run_step(
            id,
            &[
                ("GITHUB_EVENT_NAME", "pull_request"),
                ("GITHUB_REVIEWS", "yes"),
            ],
        );
        assert_eq!(
            code,
            Some(2),
            "{id}: a github-reviews value that is not true or false"
        );
        assert_eq!(args, None);
        let (args, _) = run_step(id, &[("APPROVALS", "approvals file.yaml")]);
        let args = args.expect("gatehouse ran");
        assert!(
            args.contains("--approvals\napprovals file.yaml\n"),
            "{args}"
        );
    }
}

#[test]
fn the_attestation_predicate_input_passes_its_flag() {
    let (args, code) = run_step("check", &[("ATTESTATION_PREDICATE", "predicate file.json")]);
    assert_eq!(code, Some(0));
    let args = args.expect("gatehouse ran");
    assert!(
        args.contains("--attestation-predicate\npredicate file.json\n"),
        "{args}"
    );
    let (args, _) = run_step("check", &[]);
    assert!(!args.expect("gatehouse ran").contains("--attestation"));
}

/// A git checkout at `dir` whose HEAD is a new commit; returns that commit.
fn checkout(dir: &std::path::Path) -> String {
    std::fs::create_dir_all(dir.join("policies")).expect("a bundle directory");
    std::fs::write(dir.join("policies/bundle.json"), "{}").expect("a bundle file");
    std::fs::write(
        dir.join("approvals.yaml"),
        format!("# {}\n[]\n", dir.display()),
    )
    .expect("an approvals file");
    let git = |args: &[&str]| {
        let out = std::process::Command::new("git")
            .args(args)
            .current_dir(dir)
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@example.com")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@example.com")
            .output()
            .expect("git runs");
        assert!(out.status.success(), "git {args:?}: {out:?}");
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    };
    git(&["init", "-q"]);
    git(&["add", "."]);
    git(&["commit", "-q", "-m", "pull request head"]);
    git(&["rev-parse", "HEAD"])
}

/// On pull request events, the bundle (whose `governance.approvers` maps reviewers to roles) and
/// the approvals file that gate the pull request must not come from the pull request's own
/// checkout: the step refuses (exit 2, before running gatehouse) when the checkout they are in is
/// at the pull request's head or merge commit; from another checkout (the base branch) it runs.
#[test]
fn a_pull_requests_own_governance_is_refused_on_pull_request_events() {
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let pr = tmp.path().join("pr");
    let head = checkout(&pr);
    let base = tmp.path().join("base");
    let base_head = checkout(&base);
    assert_ne!(head, base_head, "two commits");
    let event = tmp.path().join("event.json");
    std::fs::write(
        &event,
        format!(
            r#"{{"pull_request": {{"number": 7, "head": {{"sha": "{head}"}}, "merge_commit_sha": "0000000000000000000000000000000000000000"}}}}"#
        ),
    )
    .expect("an event payload");
    let event = event.to_str().expect("a UTF-8 path");
    let in_pr = |path: &str| pr.join(path).to_str().expect("a UTF-8 path").to_owned();
    let in_base = |path: &str| base.join(path).to_str().expect("a UTF-8 path").to_owned();
    for name in ["pull_request_target", "pull_request", "pull_request_review"] {
        // The bundle of the pull request's head, with reviews read.
        let (args, code) = run_step(
            "check",
            &[
                ("GITHUB_EVENT_NAME", name),
                ("GITHUB_EVENT_PATH", event),
                ("POLICIES", &in_pr("policies")),
            ],
        );
        assert_eq!(code, Some(2), "{name}: the head's bundle");
        assert_eq!(args, None, "{name}: gatehouse did not run");
        // The approvals file of the pull request's head, reviews off.
        let (args, code) = run_step(
            "check",
            &[
                ("GITHUB_EVENT_NAME", name),
                ("GITHUB_EVENT_PATH", event),
                ("POLICIES", &in_base("policies")),
                ("APPROVALS", &in_pr("approvals.yaml")),
                ("GITHUB_REVIEWS", "false"),
            ],
        );
        assert_eq!(code, Some(2), "{name}: the head's approvals");
        assert_eq!(args, None, "{name}: gatehouse did not run");
        // Both from the base checkout: the check runs and reads the reviews.
        let (args, code) = run_step(
            "check",
            &[
                ("GITHUB_EVENT_NAME", name),
                ("GITHUB_EVENT_PATH", event),
                ("POLICIES", &in_base("policies")),
                ("APPROVALS", &in_base("approvals.yaml")),
            ],
        );
        assert_eq!(code, Some(0), "{name}: the base's bundle and approvals");
        assert!(has_line(&args.expect("gatehouse ran"), "--github-reviews"));
    }
    // Not a pull request event: the checkout is the code under test, nothing to refuse.
    let (args, code) = run_step(
        "check",
        &[
            ("GITHUB_EVENT_NAME", "push"),
            ("GITHUB_EVENT_PATH", event),
            ("POLICIES", &in_pr("policies")),
        ],
    );
    assert_eq!(code, Some(0));
    assert!(args.is_some());
}

/// The release workflow: what publishes waits behind a protected environment; the OIDC token
/// (`id-token`) and attestation rights are only in jobs that build nothing (no dependency's build
/// script runs where a signing identity can be minted); the Action's digests are pinned from the
/// archives built; every `cargo install` is `--locked`.
#[test]
fn the_release_workflow_signs_apart_from_builds_and_publishes_behind_environments() {
    let text = std::fs::read_to_string(root().join(".github/workflows/release.yml"))
        .expect("release.yml is readable");
    let workflow: Value = serde_norway::from_str(&text).expect("release.yml is YAML");
    let jobs = workflow["jobs"].as_object().expect("jobs");
    let publishes = |script: &str| {
        [
            "gh release create",
            "npm publish",
            "cargo publish",
            "git push",
        ]
        .iter()
        .any(|p| script.contains(p))
    };
    let builds = |step: &Value| {
        let script = step["run"].as_str().unwrap_or_default();
        let uses = step["uses"].as_str().unwrap_or_default();
        [
            "cargo build",
            "cargo install",
            "build.sh",
            "npm ci",
            "npm install",
            "maturin build",
        ]
        .iter()
        .any(|b| script.contains(b))
            || (uses.starts_with("PyO3/maturin-action") && step["with"]["command"] != "upload")
    };
    let mut pinned = false;
    for (name, job) in jobs {
        let steps = job["steps"].as_array().expect("steps");
        let signs = ["id-token", "attestations"]
            .iter()
            .any(|p| job["permissions"][p] == "write");
        let publishing = steps.iter().any(|s| {
            publishes(s["run"].as_str().unwrap_or_default())
                || s["with"]["push"] == true
                || s["with"]["command"] == "upload"
        });
        if publishing {
            assert!(
                job["environment"].is_string(),
                "job `{name}` publishes without a protected environment"
            );
        }
        let building = steps.iter().any(builds);
        if signs {
            assert!(
                !building,
                "job `{name}` can mint an OIDC token or attest while it builds"
            );
        }
        for step in steps {
            let script = step["run"].as_str().unwrap_or_default();
            for line in script.lines().filter(|l| l.contains("cargo install")) {
                assert!(line.contains("--locked"), "job `{name}`: {line}");
            }
            pinned |= script.contains("scripts/release-digests.sh")
                && script.contains("adapters/github-action/digests.txt");
        }
    }
    assert!(pinned, "a job pins the archives' digests in the Action");
}

#[test]
fn every_action_used_is_pinned_to_a_commit_and_nothing_writes_github_path() {
    // A tag can be moved to other code; a commit cannot. Local actions (`./...`) are this
    // repository's own.
    let mut files = vec![root().join("adapters/github-action/action.yml")];
    for entry in std::fs::read_dir(root().join(".github/workflows")).expect("workflows") {
        files.push(entry.expect("an entry").path());
    }
    for file in files {
        let text = std::fs::read_to_string(&file).expect("readable");
        for line in text.lines() {
            let Some(uses) = line.trim().trim_start_matches("- ").strip_prefix("uses:") else {
                continue;
            };
            let uses = uses.trim();
            if uses.starts_with("./") {
                continue;
            }
            let (_, rest) = uses
                .split_once('@')
                .unwrap_or_else(|| panic!("{}: `{uses}` has no ref", file.display()));
            let sha = rest.split_whitespace().next().unwrap_or("");
            assert!(
                sha.len() == 40 && sha.bytes().all(|b| b.is_ascii_hexdigit()),
                "{}: `{uses}` is not pinned to a commit",
                file.display()
            );
        }
        assert!(
            !text.contains("GITHUB_PATH"),
            "{} writes GITHUB_PATH",
            file.display()
        );
    }
}
