//! `gatehouse test`: runs the bundle's Rego unit tests.

use std::path::Path;
use std::process::ExitCode;

use gatehouse_core::{BundleSource, run_bundle_tests};

use crate::cli_error::{CliError, render_detail};

/// Prints one line per test and a `N passed, M failed` summary; exit 1 on any failure.
pub fn run(dir: &Path) -> Result<ExitCode, CliError> {
    let source = BundleSource::from_dir(dir)?;
    let results = run_bundle_tests(&source).map_err(|source| CliError::Bundle {
        dir: dir.to_path_buf(),
        source: crate::check::with_dir_spans(dir, source),
    })?;
    let mut text = String::new();
    let failed = results.iter().filter(|r| !r.passed).count();
    for r in &results {
        let verdict = if r.passed { "PASS" } else { "FAIL" };
        text.push_str(&format!(
            "{verdict} {}.{} ({})\n",
            r.package, r.name, r.file
        ));
        if let Some(error) = &r.error {
            text.push_str(&render_detail(error));
        }
    }
    if results.is_empty() {
        text.push_str("no tests found (test rules are `test_*` in `*_test.rego` files)\n");
    }
    text.push_str(&format!(
        "rego: {} passed, {failed} failed\n",
        results.len() - failed
    ));
    crate::write_stdout(&text);
    Ok(if failed == 0 && !results.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
