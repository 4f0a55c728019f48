//! The GitHub Action (`adapters/github-action/action.yml`) against the CLI it drives: every flag
//! its scripts pass exists in `gatehouse check --help` / `gatehouse diff --help`, every output it
//! declares is one the CLI writes to `$GITHUB_OUTPUT`, and its defaults are values the CLI takes.

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
            "base-policies",
            "fail-on",
            "fail-on-stricter",
            "format",
            "gatehouse-version",
            "history",
            "intents",
            "now",
            "policies",
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
    for name in gatehouse_action::outputs::NAMES {
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
    assert_eq!(outputs.len(), gatehouse_action::outputs::NAMES.len() + 1);
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
