//! The human text of `gatehouse check` (one block per file, violations grouped by enforcement
//! level) and of `gatehouse diff` (one block per intent whose decision changed). Colour only when
//! the caller asks for it (the CLI does on a terminal without `NO_COLOR`).

use gatehouse_core::{Decision, Enforcement, ErrorDetail, Outcome, Violation, ViolationStatus};

use crate::impact::{Change, ImpactReport};
use crate::lines::{Lines, Sink};
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

/// Renders every file, then one line of totals; `color` adds ANSI colours; `sink` says where the
/// lines go (in a GitHub Actions log no file name or value can start a line of its own).
pub fn render(report: &Report<'_>, color: bool, sink: Sink) -> String {
    let style = Style { on: color };
    let mut out = Lines::new(sink);
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
                out.text(&format!("{}  {file}", style.paint(code, label)));
                render_decision(&mut out, decision, &style);
            }
            FileResult::Unreadable { errors } => {
                let error = style.paint("1;31", "ERROR");
                match errors.as_slice() {
                    [only] if only.code == READ_ERROR => {
                        out.text(&format!("{error}  {file}: {}", only.message));
                    }
                    records => {
                        out.text(&format!("{error}  {file}: cannot read intent `{file}`"));
                        for d in records {
                            push_detail(&mut out, d);
                        }
                    }
                }
            }
        }
        out.blank();
    }
    let bundle = report.bundle;
    out.text(&format!(
        "{}  (bundle {} {} {})",
        report.totals().counts(),
        bundle.name,
        bundle.revision,
        bundle.digest.get(..19).unwrap_or(&bundle.digest)
    ));
    out.into_string()
}

/// One error record: `  [code] message`, then `    --> file:line:col` and `    help: …` when
/// known (the CLI's stderr uses the same lines).
pub fn detail(d: &ErrorDetail, sink: Sink) -> String {
    let mut out = Lines::new(sink);
    push_detail(&mut out, d);
    out.into_string()
}

fn push_detail(out: &mut Lines, d: &ErrorDetail) {
    out.text(&format!(
        "  [{}] {}",
        d.code,
        d.message.replace('\n', "\n    ")
    ));
    if let Some(span) = &d.span {
        if span.file.is_empty() {
            out.text(&format!(
                "    --> line {}, column {}",
                span.line, span.column
            ));
        } else {
            out.text(&format!(
                "    --> {}:{}:{}",
                span.file, span.line, span.column
            ));
        }
    }
    if let Some(help) = &d.help {
        out.text(&format!("    help: {help}"));
    }
}

/// A group of violations in the report: its heading and who belongs to it.
type Group = (&'static str, fn(&Violation) -> bool);

fn render_decision(out: &mut Lines, decision: &Decision, style: &Style) {
    for error in &decision.errors {
        out.text(&format!(
            "  {} [{}] {}",
            style.paint("31", "evaluation error"),
            error.code,
            error.message.replace('\n', "\n      ")
        ));
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
        out.text(&format!("  {} ({})", style.paint("1", name), items.len()));
        for v in items {
            let location = if v.path.is_empty() {
                String::new()
            } else {
                format!(" at {}", v.path)
            };
            out.text(&format!("    {}{location}", style.paint("36", &v.policy)));
            out.text(&format!("      {}", v.message));
            if let Some(unit) = &v.inherited_from {
                out.text(&format!("      inherited from org unit `{unit}`"));
            }
            for note in violation_notes(v) {
                out.text(&format!("      {note}"));
            }
        }
    }
    if let Some(t) = &decision.truncated {
        out.text(&format!(
            "  ... and {} more violation{} and {} more error{} not listed (a decision lists at most {})",
            t.violations,
            if t.violations == 1 { "" } else { "s" },
            t.errors,
            if t.errors == 1 { "" } else { "s" },
            gatehouse_core::MAX_LISTED
        ));
    }
    if !decision.approvals.is_empty() {
        out.text(&format!("  {}", style.paint("1", "approvals considered")));
        for a in &decision.approvals {
            out.text(&format!(
                "    {} as `{}` (recorded by: {}{})",
                a.by,
                a.role,
                a.source.describe(),
                a.reference
                    .as_deref()
                    .map(|r| format!(", {r}"))
                    .unwrap_or_default()
            ));
        }
    }
}

/// The human text of `gatehouse diff`: the two bundles, one block per intent whose decision
/// changed, then the counts; `sink` as for [`render`].
pub fn render_impact(report: &ImpactReport, sink: Sink) -> String {
    let mut out = Lines::new(sink);
    for (which, bundle) in [("base", &report.base), ("head", &report.head)] {
        out.text(&format!(
            "{which} {} {} {}",
            bundle.name, bundle.revision, bundle.digest
        ));
    }
    out.blank();
    for intent in &report.intents {
        let Some(diff) = &intent.diff else {
            out.text(&format!("ERROR  {}: cannot read the intent", intent.file));
            for d in &intent.errors {
                push_detail(&mut out, d);
            }
            out.blank();
            continue;
        };
        let label = match intent.change {
            Change::Unchanged => continue,
            Change::Stricter => "STRICTER",
            Change::Looser => "LOOSER",
            Change::Changed | Change::Unreadable => "CHANGED",
        };
        out.text(&format!(
            "{label}  {}: {} -> {}",
            intent.file,
            outcome_label(diff.base_outcome),
            outcome_label(diff.head_outcome)
        ));
        for v in &diff.added {
            out.text(&format!("  + {}", violation_line(v)));
        }
        for v in &diff.lifted {
            out.text(&format!("  - {}", violation_line(v)));
        }
        for c in &diff.changed {
            out.text(&format!("  ~ {}", violation_line(&c.before)));
            out.text(&format!("    -> {}", violation_line(&c.after)));
        }
        for e in &diff.errors_added {
            out.text(&format!("  + evaluation error [{}] {}", e.code, e.message));
        }
        for e in &diff.errors_lifted {
            out.text(&format!("  - evaluation error [{}] {}", e.code, e.message));
        }
        out.blank();
    }
    let c = report.counts();
    out.text(&format!(
        "{} intent{}: {} stricter, {} looser, {} changed, {} unchanged, {} unreadable",
        report.intents.len(),
        if report.intents.len() == 1 { "" } else { "s" },
        c.stricter,
        c.looser,
        c.changed,
        c.unchanged,
        c.unreadable
    ));
    out.into_string()
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
