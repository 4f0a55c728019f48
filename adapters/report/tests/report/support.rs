//! The reference bundle, loaded once, and example intents evaluated into checked files.

use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use gatehouse_core::{Approval, BundleSource, Engine, EvaluationContext, HistoryEntry, Timestamp};
use gatehouse_report::{CheckedFile, Report};

/// The decision time of every test.
pub const NOW: &str = "2026-11-23T12:00:00Z";

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The reference bundle.
pub fn engine() -> &'static Engine {
    static ENGINE: LazyLock<Engine> = LazyLock::new(|| {
        let source =
            BundleSource::from_dir(&root().join("policies")).expect("policies/ is readable");
        Engine::load(&source).expect("the reference bundle loads")
    });
    &ENGINE
}

/// The evaluation context at [`NOW`], with the examples' deployment history and approvals
/// (`policies/examples/history/deployments.json`, `approvals.json`) when the repository has
/// them.
pub fn context() -> EvaluationContext {
    let mut context = EvaluationContext::at(Timestamp::parse(NOW).expect("NOW is RFC 3339"));
    let history = root().join("policies/examples/history/deployments.json");
    if let Ok(text) = std::fs::read_to_string(&history) {
        context.history = serde_json::from_str::<Vec<HistoryEntry>>(&text)
            .unwrap_or_else(|e| panic!("{}: {e}", history.display()));
    }
    let approvals = root().join("policies/examples/history/approvals.json");
    if let Ok(text) = std::fs::read_to_string(&approvals) {
        context.approvals = serde_json::from_str::<Vec<Approval>>(&text)
            .unwrap_or_else(|e| panic!("{}: {e}", approvals.display()));
    }
    context
}

/// The text of `policies/examples/<name>.yaml`.
pub fn example_text(name: &str) -> String {
    let path = root().join(format!("policies/examples/{name}.yaml"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Evaluates intent text into a checked file named `file`.
pub fn check_text(file: &str, text: &str) -> CheckedFile {
    match engine().evaluate_text(text, &context()) {
        Ok(decision) => CheckedFile::decided(file, text, decision),
        Err(e) => {
            use gatehouse_core::Diagnostic as _;
            CheckedFile::unreadable(file, e.details())
        }
    }
}

/// Evaluates examples, named as the CLI names them (`policies/examples/<name>.yaml`).
pub fn check_examples(names: &[&str]) -> Vec<CheckedFile> {
    names
        .iter()
        .map(|name| {
            check_text(
                &format!("policies/examples/{name}.yaml"),
                &example_text(name),
            )
        })
        .collect()
}

/// Every example's name.
pub fn all_examples() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(root().join("policies/examples"))
        .expect("policies/examples is readable")
        .filter_map(|e| {
            let path = e.ok()?.path();
            (path.extension()? == "yaml").then(|| path.file_stem()?.to_str().map(str::to_owned))?
        })
        .collect();
    names.sort();
    names
}

/// A report over `files` with the reference bundle.
pub fn report(files: &[CheckedFile]) -> Report<'_> {
    Report {
        files,
        bundle: engine().info(),
        catalog: engine().catalog(),
    }
}

/// Snapshots `text` under `name` with the bundle digest redacted (policy edits change it).
pub fn snapshot(name: &str, text: &str) {
    insta::with_settings!({
        snapshot_path => "../snapshots",
        prepend_module_to_snapshot => false,
        omit_expression => true,
        filters => vec![(r"sha256:[0-9a-f]{64}", "sha256:[digest]")],
    }, {
        insta::assert_snapshot!(name, text);
    });
}
