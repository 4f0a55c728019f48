//! The GitHub side of the CLI: the flags of `--github-reviews` (read by `github_reviews`), and
//! for `gatehouse check` `--fail-on`, `--sarif-file`, `--summary-file` and the files GitHub
//! Actions hands a step (`GITHUB_STEP_SUMMARY`, `GITHUB_OUTPUT`).

use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use gatehouse_report::{FailOn, Report, append_to_file, outputs};

use crate::cli_error::CliError;

/// From which outcome on `check` exits 1.
#[derive(Clone, Copy, ValueEnum, PartialEq, Eq, Debug)]
pub enum FailOnArg {
    /// Only a denied intent.
    Deny,
    /// A denied intent or one waiting for an approval.
    #[value(name = "needs_approval", alias = "needs-approval")]
    NeedsApproval,
    /// Any of the above, or an advisory violation.
    Advisory,
}

impl From<FailOnArg> for FailOn {
    fn from(arg: FailOnArg) -> Self {
        match arg {
            FailOnArg::Deny => Self::Deny,
            FailOnArg::NeedsApproval => Self::NeedsApproval,
            FailOnArg::Advisory => Self::Advisory,
        }
    }
}

/// Flags of `check` for CI: when to fail and which report files to write.
#[derive(Args, Debug)]
pub struct GithubArgs {
    /// Exit 1 from this outcome on: `deny`, `needs_approval` (also any deny), `advisory` (also any
    /// advisory violation).
    #[arg(long, value_enum, default_value_t = FailOnArg::NeedsApproval)]
    pub fail_on: FailOnArg,
    /// Also write SARIF 2.1.0 to this file (for `github/codeql-action/upload-sarif`).
    #[arg(long, value_name = "PATH")]
    pub sarif_file: Option<PathBuf>,
    /// Also write the Markdown summary to this file (the `summary-path` output names it).
    #[arg(long, value_name = "PATH")]
    pub summary_file: Option<PathBuf>,
}

/// A path from a GitHub Actions variable, when it is set and not empty.
pub fn env_path(name: &str) -> Option<PathBuf> {
    std::env::var_os(name)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// Writes `--sarif-file` and `--summary-file`, then appends the summary to
/// `$GITHUB_STEP_SUMMARY` and the outputs to `$GITHUB_OUTPUT` when those are set.
pub fn write_files(args: &GithubArgs, report: &Report<'_>) -> Result<(), CliError> {
    if let Some(path) = &args.sarif_file {
        write_file(path, &gatehouse_report::sarif::render(report)?)?;
    }
    let step_summary = env_path("GITHUB_STEP_SUMMARY");
    if args.summary_file.is_some() || step_summary.is_some() {
        let summary = gatehouse_report::summary::render(report);
        if let Some(path) = &args.summary_file {
            write_file(path, &summary)?;
        }
        if let Some(path) = &step_summary {
            append_to_file(path, &summary)?;
        }
    }
    if let Some(path) = env_path("GITHUB_OUTPUT") {
        let summary_path = args
            .summary_file
            .as_ref()
            .or(step_summary.as_ref())
            .map(|p| p.display().to_string());
        let values = outputs::values(report, summary_path.as_deref());
        append_to_file(&path, &outputs::render(&values))?;
    }
    Ok(())
}

/// Writes (replaces) a report file.
pub fn write_file(path: &Path, text: &str) -> Result<(), CliError> {
    std::fs::write(path, text).map_err(|source| {
        CliError::Report(gatehouse_report::ReportError::Write {
            path: path.to_path_buf(),
            source,
        })
    })
}
