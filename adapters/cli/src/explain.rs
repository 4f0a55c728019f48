//! `gatehouse explain`: one intent, every policy of the catalogue with its verdict.

use std::fmt::Write as _;
use std::path::Path;
use std::process::ExitCode;

use gatehouse_core::explain::{PolicyVerdict, Verdict};
use gatehouse_core::{Decision, Diagnostic, Outcome};
use serde::Serialize;

use crate::ExplainFormat;
use crate::check::{ContextArgs, load_engine};
use crate::cli_error::CliError;
use crate::files::read;

/// `--format json`: the decision and the verdicts.
#[derive(Serialize)]
struct Explanation<'a> {
    file: String,
    decision: &'a Decision,
    policies: &'a [PolicyVerdict],
}

/// Evaluates `file` and prints each policy's verdict; exit codes as for `check`.
pub fn run(
    policies: &Path,
    context: &ContextArgs,
    format: ExplainFormat,
    file: &Path,
    keys: &[gatehouse_core::TrustedKey],
) -> Result<ExitCode, CliError> {
    let engine = load_engine(policies, keys)?;
    let context = context.context(&engine)?;
    let text = read(file)?;
    let intent = gatehouse_core::parse_intent(&text).map_err(|e| CliError::Details {
        summary: format!("cannot read intent `{}`", file.display()),
        details: e.details(),
    })?;
    let (decision, verdicts) = engine.explain(&intent, &context);
    match format {
        ExplainFormat::Json => {
            let doc = Explanation {
                file: file.display().to_string(),
                decision: &decision,
                policies: &verdicts,
            };
            let text = serde_json::to_string_pretty(&doc).map_err(|source| CliError::Json {
                what: "explanation",
                source,
            })?;
            crate::write_stdout(&text);
        }
        ExplainFormat::Human => {
            crate::write_stdout(&render(&file.display().to_string(), &decision, &verdicts));
        }
    }
    Ok(if decision.outcome == Outcome::Allow {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn label(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Pass => "pass",
        Verdict::Advisory => "advisory",
        Verdict::Exempted => "exempted",
        Verdict::Overridden => "overridden",
        Verdict::PendingApproval => "needs approval",
        Verdict::Fail => "FAIL",
        Verdict::Unknown => "unknown",
        Verdict::NotEvaluated => "(release gate)",
    }
}

fn render(file: &str, decision: &Decision, verdicts: &[PolicyVerdict]) -> String {
    let mut out = format!("{file}: {}\n", decision.outcome.as_str());
    let width = verdicts.iter().map(|v| v.policy.len()).max().unwrap_or(0);
    for v in verdicts {
        let count = if v.violations > 0 {
            format!(
                "  ({} violation{})",
                v.violations,
                if v.violations == 1 { "" } else { "s" }
            )
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "  {:<14} {:<width$}  {} [{}]{count}",
            label(v.verdict),
            v.policy,
            v.title,
            v.enforcement,
        );
        for violation in decision.violations.iter().filter(|x| x.policy == v.policy) {
            let unit = violation
                .inherited_from
                .as_ref()
                .map_or(String::new(), |u| format!(" (org unit `{u}`)"));
            let _ = writeln!(
                out,
                "  {:<14} {:width$}  - {}{unit}",
                "", "", violation.message
            );
        }
    }
    for e in &decision.errors {
        let _ = writeln!(out, "  evaluation error [{}] {}", e.code, e.message);
    }
    let _ = writeln!(
        out,
        "bundle {} {} {}",
        decision.bundle.name, decision.bundle.revision, decision.bundle.digest
    );
    out
}
