//! `gatehouse diff`: policy-change impact. Every intent is evaluated against the base bundle (the
//! one in force) and the head bundle (the proposed one), at the same time and with the same
//! history, and every decision that changes is reported. The comparison is
//! `gatehouse_core::impact`, the renderers are `gatehouse_report`'s; this file loads and
//! evaluates.
//!
//! Exit codes: 0 whatever changed (a report, not a gate), unless `--fail-on-stricter` is given and
//! some decision got stricter (1); 2 when a bundle does not load or an intent cannot be read.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use gatehouse_report::impact::{ImpactReport, IntentImpact};
use gatehouse_report::{OutputFormat, append_to_file, outputs};

use rayon::prelude::*;

use crate::check::{
    ContextArgs, RunArgs, decide, expand, load_engine_split, read_intents, report_cache,
};
use crate::cli_error::CliError;

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
    /// SARIF 2.1.0: a result at each violation that newly blocks, and for each new evaluation
    /// error or unreadable intent.
    Sarif,
    /// JUnit XML: one test suite per intent, failing when its decision got stricter.
    Junit,
}

impl From<DiffFormat> for OutputFormat {
    fn from(format: DiffFormat) -> Self {
        match format {
            DiffFormat::Human => Self::Human {
                color: false,
                sink: crate::sink(),
            },
            DiffFormat::Json => Self::Json,
            DiffFormat::Markdown => Self::Markdown,
            DiffFormat::Github => Self::Github,
            DiffFormat::Sarif => Self::Sarif,
            DiffFormat::Junit => Self::Junit,
        }
    }
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
    /// Both bundles must be signed by one of these keys.
    #[command(flatten)]
    pub trust: crate::signing::TrustArgs,
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
    let keys = args.trust.keys()?;
    // Both bundles load while the intents are read and parsed.
    let ((base, head), intents) = pool.install(|| {
        rayon::join(
            || {
                rayon::join(
                    || load_engine_split(&args.base, parts, &keys),
                    || load_engine_split(&args.head, parts, &keys),
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
                (Err(err), _) => IntentImpact::unreadable(read.display, err.details()),
                (Ok(_), None) => IntentImpact::unreadable(read.display, Vec::new()),
            })
            .collect()
    });
    report_cache(cache.as_ref());
    let report = ImpactReport::new(base.info().clone(), head.info().clone(), intents);
    let text = gatehouse_report::render_impact(args.format.into(), &report)?;
    crate::write_report(args.format.into(), &text);
    if let Some(path) = crate::github::env_path("GITHUB_STEP_SUMMARY") {
        let summary = gatehouse_report::render_impact(OutputFormat::Markdown, &report)?;
        append_to_file(&path, &summary)?;
    }
    if let Some(path) = crate::github::env_path("GITHUB_OUTPUT") {
        append_to_file(&path, &outputs::render(&report.outputs()))?;
    }
    Ok(if report.counts().unreadable > 0 {
        ExitCode::from(2)
    } else if args.fail_on_stricter && report.any_stricter() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
