//! The one switch over the output formats.

use crate::impact::ImpactReport;
use crate::lines::Sink;
use crate::{Report, ReportError, annotations, human, json, junit, outputs, sarif, summary};

/// Every format a report can be printed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    /// Readable text; `color` adds ANSI colours (the CLI asks on a terminal without `NO_COLOR`).
    Human {
        /// Whether to colour the text.
        color: bool,
        /// Where the lines go: in a GitHub Actions log, no file name or value starts a line.
        sink: Sink,
    },
    /// One JSON document.
    Json,
    /// GitHub workflow commands (annotations).
    Github,
    /// SARIF 2.1.0 for code scanning.
    Sarif,
    /// The Markdown job summary.
    Markdown,
    /// JUnit XML.
    Junit,
    /// The step outputs (`name=value` lines, as appended to `$GITHUB_OUTPUT`).
    Outputs,
}

/// Renders the checked files in `format`.
pub fn render(format: OutputFormat, report: &Report<'_>) -> Result<String, ReportError> {
    Ok(match format {
        OutputFormat::Human { color, sink } => human::render(report, color, sink),
        OutputFormat::Json => json::render(report)?,
        OutputFormat::Github => annotations::render(report),
        OutputFormat::Sarif => sarif::render(report)?,
        OutputFormat::Markdown => summary::render(report),
        OutputFormat::Junit => junit::render(report)?,
        OutputFormat::Outputs => outputs::render(&outputs::values(report, None)),
    })
}

/// Renders the policy-change impact of `gatehouse diff` in `format` (the human text has no
/// colour).
pub fn render_impact(format: OutputFormat, report: &ImpactReport) -> Result<String, ReportError> {
    Ok(match format {
        OutputFormat::Human { sink, .. } => human::render_impact(report, sink),
        OutputFormat::Json => {
            serde_json::to_string_pretty(report).map_err(ReportError::Json)? + "\n"
        }
        OutputFormat::Github => annotations::render_impact(report),
        OutputFormat::Sarif => sarif::render_impact(report)?,
        OutputFormat::Markdown => summary::render_impact(report),
        OutputFormat::Junit => junit::render_impact(report)?,
        OutputFormat::Outputs => outputs::render(&report.outputs()),
    })
}
