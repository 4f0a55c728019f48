//! The human text of `gatehouse check` (one block per file, violations grouped by enforcement
//! level) and of `gatehouse diff` (one block per intent whose decision changed). Colour only when
//! the caller asks for it (the CLI does on a terminal without `NO_COLOR`).

use std::fmt::Write as _;

use gatehouse_core::{Decision, Enforcement, ErrorDetail, Outcome, Violation, ViolationStatus};

use crate::impact::{Change, ImpactReport};
use crate::{FileResult, READ_ERROR, Report, outcome_label, status_str, violation_notes};

struct Style {
    on: bool,
}

impl Style {
    fn paint(&self, code: &str, text: &str) -> String {
        if self.on {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }
}

/// Renders every file, then one line of totals; `color` adds ANSI colours.
pub fn render(report: &Report<'_>, color: bool) -> String {
    let style = Style { on: color };
    let mut out = String::new();
    for checked in report.files {
        let file = checked.file.as_str();
        match &checked.result {
            FileResult::Decided { decision, .. } => {
                let code = match decision.outcome {
                    Outcome::Allow => "1;32",
                    Outcome::NeedsApproval => "1;33",
                    Outcome::Deny => "1;31",
                };
                let label = outcome_label(decision.outcome);
                let _ = writeln!(out, "{}  {file}", style.paint(code, label));
                render_decision(&mut out, decision, &style);
            }
            FileResult::Unreadable { errors } => {
                let error = style.paint("1;31", "ERROR");
                match errors.as_slice() {
                    [only] if only.code == READ_ERROR => {
                        let _ = writeln!(out, "{error}  {file}: {}", only.message);
                    }
                    records => {
                        let _ = writeln!(out, "{error}  {file}: cannot read intent `{file}`");
                        for d in records {
                            out.push_str(&detail(d));
                        }
                    }
                }
            }
        }
        out.push('\n');
    }
    let bundle = report.bundle;
    let _ = writeln!(
        out,
        "{}  (bundle {} {} {})",
        report.totals().counts(),
        bundle.name,
        bundle.revision,
        bundle.digest.get(..19).unwrap_or(&bundle.digest)
    );
    out
}

/// One error record: `  [code] message`, then `    --> file:line:col` and `    help: …` when
/// known (the CLI's stderr uses the same lines).
pub fn detail(d: &ErrorDetail) -> String {
    let mut text = format!("  [{}] {}\n", d.code, d.message.replace('\n', "\n    "));
    if let Some(span) = &d.span {
        if span.file.is_empty() {
            let _ = writeln!(text, "    --> line {}, column {}", span.line, span.column);
        } else {
            let _ = writeln!(text, "    --> {}:{}:{}", span.file, span.line, span.column);
        }
    }
    if let Some(help) = &d.help {
        let _ = writeln!(text, "    help: {help}");
    }
    text
}

/// A group of violations in the report: its heading and who belongs to it.
type Group = (&'static str, fn(&Violation) -> bool);

fn render_decision(out: &mut String, decision: &Decision, style: &Style) {
    for error in &decision.errors {
        let _ = writeln!(
            out,
            "  {} [{}] {}",
            style.paint("31", "evaluation error"),
            error.code,
            error.message.replace('\n', "\n      ")
        );
    }
    let groups: [Group; 4] = [
        ("hard-mandatory", |v| {
            v.enforcement == Enforcement::HardMandatory && v.status == ViolationStatus::Blocking
        }),
        ("soft-mandatory", |v| {
            v.enforcement == Enforcement::SoftMandatory
                && matches!(
                    v.status,
                    ViolationStatus::PendingApproval | ViolationStatus::Overridden
                )
        }),
        ("advisory", |v| v.status == ViolationStatus::Advisory),
        ("exempted", |v| v.status == ViolationStatus::Exempted),
    ];
    for (name, member) in groups {
        let items: Vec<&Violation> = decision.violations.iter().filter(|v| member(v)).collect();
        if items.is_empty() {
            continue;
        }
        let _ = writeln!(out, "  {} ({})", style.paint("1", name), items.len());
        for v in items {
            let location = if v.path.is_empty() {
                String::new()
            } else {
                format!(" at {}", v.path)
            };
            let _ = writeln!(out, "    {}{location}", style.paint("36", &v.policy));
            let _ = writeln!(out, "      {}", v.message);
            if let Some(unit) = &v.inherited_from {
                let _ = writeln!(out, "      inherited from org unit `{unit}`");
            }
            for note in violation_notes(v) {
                let _ = writeln!(out, "      {note}");
            }
        }
    }
    if let Some(t) = &decision.truncated {
        let _ = writeln!(
            out,
            "  ... and {} more violation{} and {} more error{} not listed (a decision lists at most {})",
            t.violations,
            if t.violations == 1 { "" } else { "s" },
            t.errors,
            if t.errors == 1 { "" } else { "s" },
            gatehouse_core::MAX_LISTED
        );
    }
    if !decision.approvals.is_empty() {
        let _ = writeln!(out, "  {}", style.paint("1", "approvals considered"));
        for a in &decision.approvals {
            let _ = writeln!(
                out,
                "    {} as `{}` (recorded by: {}{})",
                a.by,
                a.role,
                a.source.describe(),
                a.reference
                    .as_deref()
                    .map(|r| format!(", {r}"))
                    .unwrap_or_default()
            );
        }
    }
}

/// The human text of `gatehouse diff`: the two bundles, one block per intent whose decision
/// changed, then the counts.
pub fn render_impact(report: &ImpactReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "base {} {} {}\nhead {} {} {}\n",
        report.base.name,
        report.base.revision,
        report.base.digest,
        report.head.name,
        report.head.revision,
        report.head.digest
    );
    for intent in &report.intents {
        let Some(diff) = &intent.diff else {
            let _ = writeln!(out, "ERROR  {}: cannot read the intent", intent.file);
            for d in &intent.errors {
                out.push_str(&detail(d));
            }
            out.push('\n');
            continue;
        };
        let label = match intent.change {
            Change::Unchanged => continue,
            Change::Stricter => "STRICTER",
            Change::Looser => "LOOSER",
            Change::Changed | Change::Unreadable => "CHANGED",
        };
        let _ = writeln!(
            out,
            "{label}  {}: {} -> {}",
            intent.file,
            outcome_label(diff.base_outcome),
            outcome_label(diff.head_outcome)
        );
        for v in &diff.added {
            let _ = writeln!(out, "  + {}", violation_line(v));
        }
        for v in &diff.lifted {
            let _ = writeln!(out, "  - {}", violation_line(v));
        }
        for c in &diff.changed {
            let _ = writeln!(out, "  ~ {}", violation_line(&c.before));
            let _ = writeln!(out, "    -> {}", violation_line(&c.after));
        }
        for e in &diff.errors_added {
            let _ = writeln!(out, "  + evaluation error [{}] {}", e.code, e.message);
        }
        for e in &diff.errors_lifted {
            let _ = writeln!(out, "  - evaluation error [{}] {}", e.code, e.message);
        }
        out.push('\n');
    }
    let c = report.counts();
    let _ = writeln!(
        out,
        "{} intent{}: {} stricter, {} looser, {} changed, {} unchanged, {} unreadable",
        report.intents.len(),
        if report.intents.len() == 1 { "" } else { "s" },
        c.stricter,
        c.looser,
        c.changed,
        c.unchanged,
        c.unreadable
    );
    out
}

fn violation_line(v: &Violation) -> String {
    let at = if v.path.is_empty() {
        String::new()
    } else {
        format!(" at {}", v.path)
    };
    format!(
        "{}{at} [{}, {}]: {}",
        v.policy,
        v.enforcement,
        status_str(v.status),
        v.message
    )
}
