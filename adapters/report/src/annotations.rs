//! GitHub workflow commands: one annotation per violation at the line and column of the offending
//! field, grouped per intent file.
//!
//! `::error` for what blocks (hard-mandatory violations, soft-mandatory ones waiting for an
//! approval, evaluation errors, unreadable files), `::warning` for advisory violations, `::notice`
//! for violations an exemption or an override lifted. Every line is a [`WorkflowCommand`] (property
//! values escape `%`, `\r`, `\n`, `:` and `,`; the data, group titles included, escapes `%`, `\r`
//! and `\n`: GitHub's `@actions/core` rules) or a line of text that cannot start a command
//! ([`crate::lines`]). The column is left out when the position is only the start of the file.

use std::fmt::Write as _;

use gatehouse_core::{ErrorDetail, Violation, ViolationStatus};

use crate::impact::{Change, ImpactReport};
use crate::lines::{Lines, Sink, WorkflowCommand};
pub use crate::lines::{escape_data, escape_property};
use crate::spans::{Precision, SourcePosition};
use crate::{CheckedFile, FileResult, Report, outcome_label};

/// The kind of workflow command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// `::error`: blocks.
    Error,
    /// `::warning`: advisory.
    Warning,
    /// `::notice`: lifted by an exemption or an override.
    Notice,
}

impl Level {
    /// The command name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Error => "error",
            Self::Warning => "warning",
            Self::Notice => "notice",
        }
    }

    /// The level for a violation's status.
    pub fn of(status: ViolationStatus) -> Self {
        match status {
            ViolationStatus::Blocking | ViolationStatus::PendingApproval => Self::Error,
            ViolationStatus::Advisory => Self::Warning,
            ViolationStatus::Exempted | ViolationStatus::Overridden => Self::Notice,
        }
    }
}

/// Renders every file as a group of annotations, then one line of totals.
pub fn render(report: &Report<'_>) -> String {
    let mut out = Lines::new(Sink::ActionsLog);
    for file in report.files {
        render_file(&mut out, file);
    }
    out.text(&format!(
        "gatehouse: {} (bundle {} {} {})",
        report.totals().counts(),
        report.bundle.name,
        report.bundle.revision,
        report.bundle.digest,
    ));
    out.into_string()
}

/// `::group::title`.
fn group(out: &mut Lines, title: &str) {
    out.command(&WorkflowCommand::new("group", &[], title));
}

/// `::endgroup::`.
fn end_group(out: &mut Lines) {
    out.command(&WorkflowCommand::new("endgroup", &[], ""));
}

/// Renders the policy-change impact of `gatehouse diff`: a group per intent whose decision
/// changed, with an `::error` annotation at each violation that blocks under the head bundle and
/// did not under the base bundle.
pub fn render_impact(report: &ImpactReport) -> String {
    let mut out = Lines::new(Sink::ActionsLog);
    for intent in &report.intents {
        let file = intent.file.as_str();
        match (&intent.diff, intent.change) {
            (_, Change::Unchanged) => {}
            (None, _) => {
                group(&mut out, &format!("ERROR {file} (unreadable)"));
                for error in &intent.errors {
                    out.command(&command(
                        Level::Error,
                        file,
                        None,
                        &error_title(error),
                        &error_message(error),
                    ));
                }
                end_group(&mut out);
            }
            (Some(diff), change) => {
                group(
                    &mut out,
                    &format!(
                        "{} {file}: {} -> {}",
                        match change {
                            Change::Stricter => "stricter",
                            Change::Looser => "looser",
                            _ => "changed",
                        },
                        outcome_label(diff.base_outcome),
                        outcome_label(diff.head_outcome)
                    ),
                );
                out.text(&format!(
                    "{} new, {} lifted, {} changed violation(s); {} new, {} gone evaluation error(s)",
                    diff.added.len(),
                    diff.lifted.len(),
                    diff.changed.len(),
                    diff.errors_added.len(),
                    diff.errors_lifted.len()
                ));
                for (v, position) in diff.new_blocking().zip(&intent.new_blocking_positions) {
                    let message = format!(
                        "the proposed bundle {} blocks this intent: {}",
                        report.head.revision,
                        violation_message(v)
                    );
                    out.command(&command(
                        Level::Error,
                        file,
                        Some(position),
                        &v.policy,
                        &message,
                    ));
                }
                for error in &diff.errors_added {
                    out.command(&command(
                        Level::Error,
                        file,
                        None,
                        &error_title(error),
                        &error_message(error),
                    ));
                }
                end_group(&mut out);
            }
        }
    }
    let c = report.counts();
    out.text(&format!(
        "gatehouse diff: {} stricter, {} looser, {} changed, {} unchanged, {} unreadable (base {} {}, head {} {})",
        c.stricter,
        c.looser,
        c.changed,
        c.unchanged,
        c.unreadable,
        report.base.revision,
        report.base.digest,
        report.head.revision,
        report.head.digest,
    ));
    out.into_string()
}

fn render_file(out: &mut Lines, checked: &CheckedFile) {
    let file = checked.file.as_str();
    match &checked.result {
        FileResult::Decided {
            decision,
            violation_positions,
            error_positions,
        } => {
            let count = decision.violations.len() + decision.errors.len();
            group(
                out,
                &format!(
                    "{} {file} ({count} finding{})",
                    outcome_label(decision.outcome),
                    if count == 1 { "" } else { "s" }
                ),
            );
            for (error, position) in decision.errors.iter().zip(error_positions) {
                out.command(&command(
                    Level::Error,
                    file,
                    Some(position),
                    &error_title(error),
                    &error_message(error),
                ));
            }
            for (violation, position) in decision.violations.iter().zip(violation_positions) {
                out.command(&violation_command(file, violation, position));
            }
        }
        FileResult::Unreadable { errors } => {
            group(out, &format!("ERROR {file} (unreadable)"));
            for error in errors {
                let position = error.span.as_ref().map(|s| SourcePosition {
                    line: s.line,
                    column: s.column,
                    precision: Precision::Exact,
                });
                out.command(&command(
                    Level::Error,
                    file,
                    position.as_ref(),
                    &error_title(error),
                    &error_message(error),
                ));
            }
        }
    }
    end_group(out);
}

/// The annotation of one violation.
pub fn violation_command(
    file: &str,
    violation: &Violation,
    position: &SourcePosition,
) -> WorkflowCommand {
    command(
        Level::of(violation.status),
        file,
        Some(position),
        &violation.policy,
        &violation_message(violation),
    )
}

/// The message of a violation: what is wrong, where, how it is enforced, and what lifts it or
/// how to fix it (one line each).
pub fn violation_message(v: &Violation) -> String {
    let mut text = v.message.clone();
    let at = if v.path.is_empty() {
        String::new()
    } else {
        format!(" at `{}`", v.path)
    };
    let _ = write!(
        text,
        "\n{} ({}){at}",
        v.enforcement,
        crate::status_str(v.status)
    );
    for note in crate::violation_notes(v) {
        text.push('\n');
        text.push_str(&note);
    }
    text
}

fn error_title(error: &ErrorDetail) -> String {
    match &error.policy {
        Some(policy) => format!("{policy} ({})", error.code),
        None => error.code.clone(),
    }
}

fn error_message(error: &ErrorDetail) -> String {
    match &error.help {
        Some(help) => format!("{}\nhelp: {help}", error.message),
        None => error.message.clone(),
    }
}

/// One workflow command line: `::level file=…,line=…,col=…,title=…::message`. Without a position
/// the command names only the file; at [`Precision::File`] it names line 1 without a column.
pub fn command(
    level: Level,
    file: &str,
    position: Option<&SourcePosition>,
    title: &str,
    message: &str,
) -> WorkflowCommand {
    let (line, column) = match position {
        Some(p) => (
            Some(p.line.to_string()),
            (p.precision != Precision::File).then(|| p.column.to_string()),
        ),
        None => (None, None),
    };
    let mut props = vec![("file", file)];
    if let Some(line) = &line {
        props.push(("line", line));
    }
    if let Some(column) = &column {
        props.push(("col", column));
    }
    props.push(("title", title));
    WorkflowCommand::new(level.as_str(), &props, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_follow_github_rules() {
        assert_eq!(escape_data("50% a\r\nb: c, d"), "50%25 a%0D%0Ab: c, d");
        assert_eq!(
            escape_property("a,b:c%\n"),
            "a%2Cb%3Ac%25%0A",
            "properties also escape `,` and `:`"
        );
    }

    #[test]
    fn a_file_level_position_has_no_column() {
        let line = command(
            Level::Warning,
            "x.yaml",
            Some(&SourcePosition::FILE),
            "t",
            "m",
        );
        assert_eq!(line.to_string(), "::warning file=x.yaml,line=1,title=t::m");
        let line = command(Level::Error, "dir,1/x.yaml", None, "a:b", "m");
        assert_eq!(
            line.to_string(),
            "::error file=dir%2C1/x.yaml,title=a%3Ab::m"
        );
    }
}
