//! `gatehouse diff`: policy-change impact. Every intent is evaluated against the base bundle (the
//! one in force) and the head bundle (the proposed one), at the same time and with the same
//! history, and every decision that changes is reported. The comparison is
//! `gatehouse_action::impact`; this file loads, evaluates and renders the human text.
//!
//! Exit codes: 0 whatever changed (a report, not a gate), unless `--fail-on-stricter` is given and
//! some decision got stricter (1); 2 when a bundle does not load or an intent cannot be read.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use gatehouse_action::impact::{Change, ImpactReport, IntentImpact};
use gatehouse_action::{append_to_file, outcome_label, outputs, status_str};
use gatehouse_core::Violation;

use rayon::prelude::*;

use crate::check::{
    ContextArgs, RunArgs, decide, expand, load_engine_split, read_intents, report_cache,
};
use crate::cli_error::{CliError, render_detail};

/// Output formats of `diff`.
#[derive(Clone, Copy, ValueEnum, PartialEq, Eq, Debug)]
pub enum DiffFormat {
    /// Readable text: one block per intent whose decision changed.
    Human,
    /// One JSON document: `{base, head, counts, intents: [{file, change, diff | errors}]}`.
    Json,
    /// Markdown, as in the job summary.
    Markdown,
    /// GitHub workflow commands: an `::error` at each violation that newly blocks.
    Github,
}

/// Arguments of `gatehouse diff`.
#[derive(Args, Debug)]
pub struct DiffArgs {
    /// The bundle in force (e.g. a checkout of the base branch's `policies/`).
    #[arg(long, value_name = "OLD_BUNDLE_DIR")]
    pub base: PathBuf,
    /// The proposed bundle.
    #[arg(long, value_name = "NEW_BUNDLE_DIR", default_value = "policies")]
    pub head: PathBuf,
    /// The decision time, history and approvals, the same for both bundles (review approvals
    /// mapped by each bundle's own approvers data).
    #[command(flatten)]
    pub context: ContextArgs,
    #[command(flatten)]
    pub run: RunArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = DiffFormat::Human)]
    pub format: DiffFormat,
    /// Exit 1 when any decision gets stricter (a worse outcome, or a new blocking violation or
    /// evaluation error).
    #[arg(long)]
    pub fail_on_stricter: bool,
    /// Intent files, or directories of them (.yaml, .yml, .json).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
}

/// Runs `gatehouse diff`.
pub fn run(args: &DiffArgs) -> Result<ExitCode, CliError> {
    let pool = args.run.pool()?;
    let cache = args.run.cache();
    let parts = args.run.split.get();
    let fanout = args.run.fanout();
    // Both bundles load while the intents are read and parsed.
    let ((base, head), intents) = pool.install(|| {
        rayon::join(
            || {
                rayon::join(
                    || load_engine_split(&args.base, parts),
                    || load_engine_split(&args.head, parts),
                )
            },
            || expand(&args.files).map(|files| read_intents(&files)),
        )
    });
    let (base, head) = (base?, head?);
    let [base_context, head_context] = args
        .context
        .contexts([("base bundle", &base), ("head bundle", &head)])?;
    let intents = intents?;
    let intents: Vec<IntentImpact> = pool.install(|| {
        intents
            .into_par_iter()
            .map(|read| match (read.intent, read.text) {
                (Ok(intent), Some(text)) => {
                    let (b, h) = rayon::join(
                        || decide(&base, &intent, &base_context, cache.as_ref(), fanout),
                        || decide(&head, &intent, &head_context, cache.as_ref(), fanout),
                    );
                    IntentImpact::compared(read.display, &text, &b, &h)
                }
                (Err(err), _) => {
                    IntentImpact::unreadable(read.display, crate::check::error_details(&err))
                }
                (Ok(_), None) => IntentImpact::unreadable(read.display, Vec::new()),
            })
            .collect()
    });
    report_cache(cache.as_ref());
    let report = ImpactReport::new(base.info().clone(), head.info().clone(), intents);
    let text = match args.format {
        DiffFormat::Human => human(&report),
        DiffFormat::Json => {
            serde_json::to_string_pretty(&report).map_err(gatehouse_action::ActionError::from)?
        }
        DiffFormat::Markdown => gatehouse_action::summary::render_impact(&report),
        DiffFormat::Github => gatehouse_action::annotations::render_impact(&report),
    };
    crate::write_stdout(&text);
    if let Some(path) = crate::github::env_path("GITHUB_STEP_SUMMARY") {
        append_to_file(&path, &gatehouse_action::summary::render_impact(&report))?;
    }
    if let Some(path) = crate::github::env_path("GITHUB_OUTPUT") {
        let counts = report.counts();
        let values = [
            ("stricter", counts.stricter.to_string()),
            ("looser", counts.looser.to_string()),
            ("changed", counts.changed.to_string()),
        ];
        append_to_file(&path, &outputs::render(&values))?;
    }
    Ok(if report.counts().unreadable > 0 {
        ExitCode::from(2)
    } else if args.fail_on_stricter && report.any_stricter() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// The human text: one block per intent whose decision changed, then the counts.
fn human(report: &ImpactReport) -> String {
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
                out.push_str(&render_detail(d));
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
