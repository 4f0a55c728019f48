//! The human renderer for `gatehouse check`: one block per file, violations grouped by
//! enforcement level, colour only on a terminal without `NO_COLOR`.

use std::fmt::Write as _;
use std::io::IsTerminal as _;

use gatehouse_core::{BundleInfo, Decision, Enforcement, Outcome, Violation, ViolationStatus};

use crate::cli_error::{CliError, render_detail};

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

/// Renders every result.
pub fn render(results: &[(String, Result<Decision, CliError>)], bundle: &BundleInfo) -> String {
    let style = Style {
        on: std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
    };
    let mut out = String::new();
    let mut counts = [0usize; 4];
    for (file, result) in results {
        match result {
            Ok(decision) => {
                let (label, code, slot) = match decision.outcome {
                    Outcome::Allow => ("ALLOW", "1;32", 0),
                    Outcome::NeedsApproval => ("NEEDS APPROVAL", "1;33", 1),
                    Outcome::Deny => ("DENY", "1;31", 2),
                };
                if let Some(c) = counts.get_mut(slot) {
                    *c += 1;
                }
                let _ = writeln!(out, "{}  {file}", style.paint(code, label));
                render_decision(&mut out, decision, &style);
            }
            Err(err) => {
                if let Some(c) = counts.get_mut(3) {
                    *c += 1;
                }
                let _ = writeln!(out, "{}  {file}: {err}", style.paint("1;31", "ERROR"));
                if let CliError::Details { details, .. } = err {
                    for d in details {
                        out.push_str(&render_detail(d));
                    }
                }
            }
        }
        out.push('\n');
    }
    let [allow, approval, deny, errors] = counts;
    let _ = writeln!(
        out,
        "{} file{}: {allow} allowed, {approval} need approval, {deny} denied, {errors} unreadable  (bundle {} {} {})",
        results.len(),
        if results.len() == 1 { "" } else { "s" },
        bundle.name,
        bundle.revision,
        short_digest(&bundle.digest)
    );
    out
}

fn short_digest(digest: &str) -> &str {
    digest.get(..19).unwrap_or(digest)
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
            if let Some(by) = &v.exempted_by {
                let _ = writeln!(out, "      exempted by {by}");
            } else if let Some(by) = &v.overridden_by {
                let _ = writeln!(out, "      overridden by {by}");
            } else {
                if let Some(role) = &v.override_role {
                    let _ = writeln!(
                        out,
                        "      needs approval from role `{role}` (not the requester)"
                    );
                }
                if let Some(id) = &v.expired_exemption {
                    let _ = writeln!(out, "      exemption {id} matched but has expired");
                }
                let _ = writeln!(out, "      fix: {}", v.remediation);
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
