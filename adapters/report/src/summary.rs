//! The Markdown job summary (`$GITHUB_STEP_SUMMARY`): the verdict, totals and bundle digest, then
//! one table per intent (policy, enforcement, status, message, remediation). GitHub refuses a
//! step summary over 1 MiB, so the per-intent sections stop before [`SUMMARY_LIMIT`] with a note
//! saying how many were left out. The policy-change impact of `gatehouse diff` renders here too.

use std::fmt::Write as _;

use gatehouse_core::{BundleInfo, Decision, ErrorDetail, Outcome, Violation};

use crate::impact::{Change, ImpactReport, IntentImpact};
use crate::{CheckedFile, FileResult, Overall, Report, SourcePosition, outcome_label, status_str};

/// The largest summary this renderer writes, in bytes: under GitHub's 1 MiB per step, with room
/// for what other steps add.
pub const SUMMARY_LIMIT: usize = 1_000_000;

/// Renders the job summary within [`SUMMARY_LIMIT`].
pub fn render(report: &Report<'_>) -> String {
    render_with_limit(report, SUMMARY_LIMIT)
}

/// Renders the job summary within `limit` bytes (the header and totals are always kept).
pub fn render_with_limit(report: &Report<'_>, limit: usize) -> String {
    let totals = report.totals();
    let mut out = String::new();
    let verdict = match report.overall() {
        Overall::Decided(outcome) => format!("{} {}", icon(outcome), outcome_label(outcome)),
        Overall::Error => "⚠️ ERROR (unreadable intents)".to_owned(),
    };
    let _ = writeln!(out, "## Gatehouse policy check: {verdict}\n");
    let _ = writeln!(
        out,
        "{} intent{} checked against bundle {}.\n",
        totals.files(),
        if totals.files() == 1 { "" } else { "s" },
        bundle_line(report.bundle)
    );
    let _ = writeln!(out, "| outcome | intents |\n|---|---:|");
    let _ = writeln!(out, "| ✅ allow | {} |", totals.allowed);
    let _ = writeln!(out, "| ⏳ needs approval | {} |", totals.needs_approval);
    let _ = writeln!(out, "| ❌ deny | {} |", totals.denied);
    let _ = writeln!(out, "| ⚠️ unreadable | {} |\n", totals.unreadable);
    let _ = writeln!(
        out,
        "Violations: {} blocking, {} pending approval, {} advisory, {} exempted or overridden; {} evaluation error{}.\n",
        totals.blocking,
        totals.pending_approval,
        totals.advisory,
        totals.lifted,
        totals.errors,
        if totals.errors == 1 { "" } else { "s" }
    );
    let sections: Vec<String> = report.files.iter().map(file_section).collect();
    push_sections(&mut out, &sections, limit, "intents");
    out
}

/// Appends sections while they fit in `limit`, then a note on how many were left out.
fn push_sections(out: &mut String, sections: &[String], limit: usize, what: &str) {
    let note_room = 400;
    let mut shown = 0;
    for section in sections {
        if out.len() + section.len() + note_room > limit {
            break;
        }
        out.push_str(section);
        shown += 1;
    }
    if shown < sections.len() {
        let _ = writeln!(
            out,
            "> [!NOTE]\n> Summary truncated to stay under GitHub's 1 MiB step summary limit: {shown} of {} {what} shown. \
             The annotations, the SARIF file and `--format json` hold every result.",
            sections.len()
        );
    }
}

fn bundle_line(bundle: &BundleInfo) -> String {
    format!(
        "`{}` revision `{}` (`{}`)",
        bundle.name, bundle.revision, bundle.digest
    )
}

fn icon(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Allow => "✅",
        Outcome::NeedsApproval => "⏳",
        Outcome::Deny => "❌",
    }
}

fn file_section(checked: &CheckedFile) -> String {
    let mut out = String::new();
    let file = checked.file.as_str();
    match &checked.result {
        FileResult::Decided {
            decision,
            violation_positions,
            ..
        } => {
            let _ = writeln!(
                out,
                "### {} {} `{}`\n",
                icon(decision.outcome),
                outcome_label(decision.outcome),
                code_text(file)
            );
            decision_tables(&mut out, decision, Some(violation_positions));
        }
        FileResult::Unreadable { errors } => {
            let _ = writeln!(out, "### ⚠️ ERROR `{}`\n", code_text(file));
            let _ = writeln!(out, "The intent could not be read:\n");
            error_list(&mut out, errors);
        }
    }
    out
}

fn decision_tables(out: &mut String, decision: &Decision, positions: Option<&Vec<SourcePosition>>) {
    if !decision.errors.is_empty() {
        let _ = writeln!(out, "Evaluation errors (each denies):\n");
        error_list(out, &decision.errors);
    }
    if decision.violations.is_empty() {
        if decision.errors.is_empty() {
            let _ = writeln!(out, "No violations.\n");
        }
        return;
    }
    violation_table(
        out,
        decision
            .violations
            .iter()
            .enumerate()
            .map(|(i, v)| (v, positions.and_then(|p| p.get(i)))),
    );
}

fn violation_table<'a>(
    out: &mut String,
    rows: impl Iterator<Item = (&'a Violation, Option<&'a SourcePosition>)>,
) {
    let _ = writeln!(
        out,
        "| policy | enforcement | status | message | remediation |\n|---|---|---|---|---|"
    );
    for (v, position) in rows {
        let mut message = cell(&v.message);
        if !v.path.is_empty() {
            let _ = write!(message, "<br>at `{}`", code_text(&v.path));
            if let Some(p) = position.filter(|p| p.precision != crate::Precision::File) {
                let _ = write!(message, " (line {})", p.line);
            }
        }
        let remediation = if let Some(by) = &v.exempted_by {
            format!("exempted by `{}`", code_text(by))
        } else if let Some(by) = &v.overridden_by {
            format!("overridden by {}", cell(by))
        } else {
            let mut text = cell(&v.remediation);
            if let Some(id) = &v.expired_exemption {
                let _ = write!(text, "<br>exemption `{}` has expired", code_text(id));
            }
            text
        };
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | {message} | {remediation} |",
            code_text(&v.policy),
            v.enforcement,
            status_str(v.status)
        );
    }
    out.push('\n');
}

fn error_list(out: &mut String, errors: &[ErrorDetail]) {
    for e in errors {
        let mut line = format!("- `{}`: {}", code_text(&e.code), cell(&e.message));
        if let Some(span) = &e.span {
            let _ = write!(line, " (line {}, column {})", span.line, span.column);
        }
        if let Some(help) = &e.help {
            let _ = write!(line, "<br>help: {}", cell(help));
        }
        let _ = writeln!(out, "{line}");
    }
    out.push('\n');
}

/// Text for inside a code span in a table cell: pipes escaped, newlines as spaces.
fn code_text(text: &str) -> String {
    text.replace('|', "\\|").replace(['\n', '\r'], " ")
}

/// Text for a table cell: pipes escaped, newlines as `<br>`, and outside code spans `<`, `>`
/// and `&` as entities so policy text cannot open HTML tags.
fn cell(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_code = false;
    for c in text.chars() {
        match c {
            '`' => {
                in_code = !in_code;
                out.push(c);
            }
            '|' => out.push_str("\\|"),
            '\n' => out.push_str(if in_code { " " } else { "<br>" }),
            '\r' => {}
            '<' if !in_code => out.push_str("&lt;"),
            '>' if !in_code => out.push_str("&gt;"),
            '&' if !in_code => out.push_str("&amp;"),
            _ => out.push(c),
        }
    }
    out
}

/// Renders the policy-change impact of `gatehouse diff` within [`SUMMARY_LIMIT`].
pub fn render_impact(report: &ImpactReport) -> String {
    render_impact_with_limit(report, SUMMARY_LIMIT)
}

/// Renders the policy-change impact within `limit` bytes.
pub fn render_impact_with_limit(report: &ImpactReport, limit: usize) -> String {
    let mut out = String::new();
    let counts = report.counts();
    let _ = writeln!(out, "## Gatehouse policy change impact\n");
    let _ = writeln!(out, "- base: bundle {}", bundle_line(&report.base));
    let _ = writeln!(out, "- head: bundle {}\n", bundle_line(&report.head));
    let _ = writeln!(
        out,
        "{} intent{} replayed: {} stricter, {} looser, {} changed without a new outcome, {} unchanged, {} unreadable.\n",
        report.intents.len(),
        if report.intents.len() == 1 { "" } else { "s" },
        counts.stricter,
        counts.looser,
        counts.changed,
        counts.unchanged,
        counts.unreadable
    );
    let sections: Vec<String> = report
        .intents
        .iter()
        .filter(|i| i.change() != Change::Unchanged)
        .map(impact_section)
        .collect();
    if sections.is_empty() {
        let _ = writeln!(out, "No decision changes.");
        return out;
    }
    push_sections(&mut out, &sections, limit, "changed intents");
    out
}

fn impact_section(intent: &IntentImpact) -> String {
    let mut out = String::new();
    let file = code_text(&intent.file);
    let Some(diff) = &intent.diff else {
        let _ = writeln!(out, "### ⚠️ ERROR `{file}`\n");
        let _ = writeln!(out, "The intent could not be read:\n");
        error_list(&mut out, &intent.errors);
        return out;
    };
    let marker = match intent.change() {
        Change::Stricter => "🔺 stricter",
        Change::Looser => "🔻 looser",
        _ => "↔️ changed",
    };
    let _ = writeln!(
        out,
        "### {marker}: `{file}` {} {} → {} {}\n",
        icon(diff.base_outcome),
        outcome_label(diff.base_outcome),
        icon(diff.head_outcome),
        outcome_label(diff.head_outcome)
    );
    if !diff.added.is_empty() {
        let _ = writeln!(out, "New violations:\n");
        violation_table(&mut out, diff.added.iter().map(|v| (v, None)));
    }
    if !diff.lifted.is_empty() {
        let _ = writeln!(out, "Lifted violations:\n");
        violation_table(&mut out, diff.lifted.iter().map(|v| (v, None)));
    }
    if !diff.changed.is_empty() {
        let _ = writeln!(
            out,
            "Changed violations:\n\n| policy | field | before | after |\n|---|---|---|---|"
        );
        for c in &diff.changed {
            let _ = writeln!(
                out,
                "| `{}` | `{}` | {} ({}): {} | {} ({}): {} |",
                code_text(&c.after.policy),
                code_text(&c.after.path),
                c.before.enforcement,
                status_str(c.before.status),
                cell(&c.before.message),
                c.after.enforcement,
                status_str(c.after.status),
                cell(&c.after.message)
            );
        }
        out.push('\n');
    }
    if !diff.errors_added.is_empty() {
        let _ = writeln!(out, "New evaluation errors:\n");
        error_list(&mut out, &diff.errors_added);
    }
    if !diff.errors_lifted.is_empty() {
        let _ = writeln!(out, "Evaluation errors gone:\n");
        error_list(&mut out, &diff.errors_lifted);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_escape_pipes_and_html_outside_code() {
        assert_eq!(
            cell("a | b <c> `x|<y>` &\nz"),
            "a \\| b &lt;c&gt; `x\\|<y>` &amp;<br>z"
        );
    }
}
