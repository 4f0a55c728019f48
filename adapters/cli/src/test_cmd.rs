//! `gatehouse test`: runs the bundle's Rego unit tests.

use std::path::Path;
use std::process::ExitCode;

use gatehouse_core::run_bundle_tests;

use crate::cli_error::{CliError, render_detail};

/// Prints one line per test and a `N passed, M failed` summary, and with `coverage` a line per
/// policy file; exit 1 on any failure or a file under `min_coverage` percent.
/// With `keys`, the bundle must be signed by one of them.
pub fn run(
    dir: &Path,
    coverage: bool,
    min_coverage: Option<f64>,
    keys: &[gatehouse_core::TrustedKey],
) -> Result<ExitCode, CliError> {
    let source = crate::signing::read_verified(dir, keys)?;
    let report = run_bundle_tests(&source, coverage).map_err(|source| CliError::Bundle {
        dir: dir.to_path_buf(),
        source: source.in_dir(dir),
    })?;
    let results = &report.results;
    let mut text = String::new();
    let failed = results.iter().filter(|r| !r.passed).count();
    for r in results {
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
    let mut below = 0;
    if let Some(files) = &report.coverage {
        text.push_str("\ncoverage of policy files by the tests (lines with code):\n");
        for f in files {
            let percent = f.percent();
            let low = min_coverage.is_some_and(|min| percent < min);
            below += usize::from(low);
            let missed: Vec<String> = f.not_covered.iter().map(u32::to_string).collect();
            text.push_str(&format!(
                "{:>6.1}%  {}{}{}\n",
                percent,
                dir.join(&f.file).display(),
                if missed.is_empty() {
                    String::new()
                } else {
                    format!("  (not covered: lines {})", missed.join(", "))
                },
                if low { "  BELOW THE MINIMUM" } else { "" }
            ));
        }
        let (covered, total) = files.iter().fold((0, 0), |(c, t), f| {
            (
                c + f.covered.len(),
                t + f.covered.len() + f.not_covered.len(),
            )
        });
        text.push_str(&format!(
            "total: {covered} of {total} lines covered{}\n",
            min_coverage.map_or(String::new(), |m| format!("; minimum per file {m}%"))
        ));
    }
    text.push_str(&format!(
        "rego: {} passed, {failed} failed\n",
        results.len() - failed
    ));
    crate::write_stdout(&text);
    Ok(if failed == 0 && below == 0 && !results.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
