//! `gatehouse --help` and every subcommand's `--help`, snapshotted under `tests/cli/help/`, and
//! the CLI reference `docs/cli.md`, whose part after its marker line is built from the same help
//! texts, so neither can drift from the binary. The subcommands are found by walking the `Commands:` sections, so a new one gets its
//! snapshot without touching this file.
//!
//! After a deliberate change to the CLI, run `UPDATE_HELP=1 cargo test -p gatehouse-cli --test cli
//! help` and review the diff.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

use crate::support::root;

const UPDATE_HINT: &str =
    "run `UPDATE_HELP=1 cargo test -p gatehouse-cli --test cli help` and review the diff";

fn help_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/cli/help")
}

/// `gatehouse ARGS --help` in an empty environment (clap shows `[env: …]` values that are set).
fn help_of(path: &[String]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_gatehouse"))
        .env_clear()
        .args(path)
        .arg("--help")
        .output()
        .expect("the gatehouse binary runs");
    assert!(out.status.success(), "`gatehouse {path:?} --help` failed");
    String::from_utf8(out.stdout).expect("help is UTF-8")
}

/// The subcommands a help text lists (`help` itself left out).
fn subcommands(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|l| *l != "Commands:")
        .skip(1)
        .take_while(|l| !l.is_empty())
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_owned)
        .collect()
}

/// Every command's help, keyed by its path (`gatehouse`, `gatehouse events verify`), in the
/// order `gatehouse --help` lists them.
fn every_help() -> Vec<(Vec<String>, String)> {
    let mut out = Vec::new();
    let mut todo = vec![Vec::new()];
    while let Some(path) = todo.pop() {
        let help = help_of(&path);
        for name in subcommands(&help).into_iter().rev() {
            let mut sub = path.clone();
            sub.push(name);
            todo.push(sub);
        }
        out.push((path, help));
    }
    out
}

fn file_name(path: &[String]) -> String {
    let mut name = String::from("gatehouse");
    for part in path {
        name.push('-');
        name.push_str(part);
    }
    name + ".txt"
}

/// The line of `docs/cli.md` after which everything is generated; the prose above it is written
/// by hand and kept as is.
const MARKER: &str = "<!-- Generated from adapters/cli/tests/cli/help/ by the CLI's help test: do not edit \
below. After a change to the CLI: UPDATE_HELP=1 cargo test -p gatehouse-cli --test cli help -->\n";

/// The generated part of `docs/cli.md`: every help text under its command's heading.
fn reference(helps: &[(Vec<String>, String)]) -> String {
    let mut text = String::from(MARKER);
    for (path, help) in helps {
        let command = std::iter::once("gatehouse")
            .chain(path.iter().map(String::as_str))
            .collect::<Vec<_>>()
            .join(" ");
        text.push_str(&format!("\n## `{command}`\n\n```text\n{help}```\n"));
    }
    text
}

/// `docs/cli.md` split into its hand-written head and its generated part (empty without the
/// marker).
fn split_docs(text: &str) -> (&str, &str) {
    match text.find(MARKER) {
        Some(at) => text.split_at(at),
        None => (text, ""),
    }
}

#[test]
fn help_texts_match_their_snapshots_and_the_cli_reference() {
    let update = std::env::var_os("UPDATE_HELP").is_some_and(|v| v == "1");
    let helps = every_help();
    assert!(
        helps.len() > 10,
        "the walk found every subcommand: {:?}",
        helps.iter().map(|(p, _)| p).collect::<Vec<_>>()
    );
    let want: BTreeMap<String, &str> = helps
        .iter()
        .map(|(path, help)| (file_name(path), help.as_str()))
        .collect();
    let docs = root().join("docs/cli.md");
    let reference = reference(&helps);
    let current = std::fs::read_to_string(&docs).unwrap_or_default();
    let (head, generated) = split_docs(&current);
    if update {
        std::fs::create_dir_all(help_dir()).expect("create the help directory");
        for entry in std::fs::read_dir(help_dir()).expect("read the help directory") {
            let file = entry.expect("a directory entry").path();
            std::fs::remove_file(&file).expect("remove an old snapshot");
        }
        for (name, help) in &want {
            std::fs::write(help_dir().join(name), help).expect("write a snapshot");
        }
        std::fs::write(&docs, format!("{head}{reference}")).expect("write docs/cli.md");
        return;
    }
    let mut problems = Vec::new();
    let mut seen = Vec::new();
    for entry in std::fs::read_dir(help_dir()).expect("read tests/cli/help") {
        let file = entry.expect("a directory entry").path();
        let name = file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        match want.get(&name) {
            None => problems.push(format!("{name}: no such command any more")),
            Some(help) => {
                let stored = std::fs::read_to_string(&file).expect("read a snapshot");
                if stored != *help {
                    problems.push(format!(
                        "{name}: the help changed\n--- stored\n{stored}\n--- now\n{help}"
                    ));
                }
            }
        }
        seen.push(name);
    }
    for name in want.keys().filter(|n| !seen.contains(n)) {
        problems.push(format!("{name}: no snapshot yet"));
    }
    if generated != reference {
        problems
            .push("docs/cli.md: the generated reference is not the help of the binary".to_owned());
    }
    assert!(
        problems.is_empty(),
        "{}\n\n{UPDATE_HINT}",
        problems.join("\n\n")
    );
}

#[test]
fn subcommands_are_read_from_the_commands_section() {
    let help = "About\n\nUsage: x <COMMAND>\n\nCommands:\n  check  Check\n  events  Events\n  help  Help\n\nOptions:\n  -h, --help\n";
    assert_eq!(subcommands(help), ["check", "events"]);
    assert!(subcommands("Usage: x\n\nOptions:\n  -h\n").is_empty());
}
