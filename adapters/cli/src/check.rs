//! `gatehouse check` and `gatehouse bundle`.

use std::collections::BTreeSet;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use gatehouse_core::{
    Approval, Decision, DecisionCache, Diagnostic, DirBundle, DirOptions, Engine, EngineOptions,
    EvaluationContext, Fanout, GithubTeam, HistoryEntry, Limits, Rayon, Sequential, Stage,
    Timestamp, TrustedKey, load_dir,
};
use gatehouse_report::CheckedFile;
use rayon::prelude::*;
use serde_json::Value;

use crate::Format;
use crate::attest::AttestArgs;
use crate::cli_error::CliError;
use crate::files::read;
use crate::github_reviews::{self, ActionsEnv, GithubReviewArgs};

/// One evaluated file: its display name, its text, its decision or why not, and the intent
/// when an attestation of its decision is to be written.
type Evaluated = (
    String,
    Option<String>,
    Result<Decision, CliError>,
    Option<Value>,
);

/// Wall-clock guard per policy package on top of the instruction limit.
const TIME_LIMIT: std::time::Duration = std::time::Duration::from_secs(2);

/// Loads a bundle directory into an engine; with `keys`, only a bundle one of them signed.
pub fn load_engine(dir: &Path, keys: &[TrustedKey]) -> Result<Engine, CliError> {
    load_engine_split(dir, 1, keys)
}

/// Loads a bundle directory into an engine whose decisions have up to `parts` parts
/// (`Engine::load_split`).
pub fn load_engine_split(
    dir: &Path,
    parts: usize,
    keys: &[TrustedKey],
) -> Result<Engine, CliError> {
    Ok(load_dir_split(dir, parts, keys)?.engine)
}

/// Reads and loads a bundle directory (the core's loader, with the CLI's time limit and the
/// trusted keys of `--trusted-key`).
fn load_dir_split(dir: &Path, parts: usize, keys: &[TrustedKey]) -> Result<DirBundle, CliError> {
    let options = DirOptions {
        engine: EngineOptions {
            limits: Limits {
                time_limit: Some(TIME_LIMIT),
            },
        },
        split: parts,
        overlay: std::collections::BTreeMap::new(),
        trusted_keys: keys.to_vec(),
    };
    Ok(load_dir(dir, &options)?)
}

/// How `check` and `diff` use the machine: threads, decisions split in parts, a decision cache.
#[derive(clap::Args, Debug)]
pub struct RunArgs {
    /// Intents evaluated at the same time [default: one per core]. The bundle loads while the
    /// intents are read; the results keep the order of the files.
    #[arg(long, value_name = "N")]
    pub jobs: Option<NonZeroUsize>,
    /// Spread each decision's policy packages over N parts that the --jobs threads evaluate at
    /// the same time: the same decisions, sooner when there are fewer intents than cores.
    #[arg(long, value_name = "N", default_value = "1")]
    pub split: NonZeroUsize,
    /// Keep up to ENTRIES decisions in memory and serve an intent evaluated again in the same
    /// context from there (same bytes); the hit and miss counts go to stderr.
    #[arg(long, value_name = "ENTRIES")]
    pub decision_cache: Option<NonZeroUsize>,
}

impl RunArgs {
    /// The thread pool of `--jobs` threads.
    pub fn pool(&self) -> Result<rayon::ThreadPool, CliError> {
        let mut builder = rayon::ThreadPoolBuilder::new();
        if let Some(jobs) = self.jobs {
            builder = builder.num_threads(jobs.get());
        }
        builder
            .build()
            .map_err(|e| CliError::Usage(format!("--jobs: cannot start the threads ({e})")))
    }

    /// What runs the parts of a decision: rayon's pool (the `--jobs` threads) with `--split`,
    /// else the calling thread (a large bundle is spread over several engines whether or not
    /// `--split` asks for it; without `--split` they run one after the other).
    pub fn fanout(&self) -> &'static dyn Fanout {
        if self.split.get() > 1 {
            &Rayon
        } else {
            &Sequential
        }
    }

    /// The decision cache of `--decision-cache`.
    pub fn cache(&self) -> Option<DecisionCache> {
        self.decision_cache.map(DecisionCache::new)
    }
}

/// Evaluates one intent for admission: through `cache` when there is one, with the decision's
/// parts run by `fanout`.
pub fn decide(
    engine: &Engine,
    intent: &Value,
    context: &EvaluationContext,
    cache: Option<&DecisionCache>,
    fanout: &dyn Fanout,
) -> Decision {
    match cache {
        Some(cache) => {
            Decision::clone(&cache.decide(engine, Stage::Admission, intent, context, fanout))
        }
        None => engine.evaluate_stage(Stage::Admission, intent, context, fanout),
    }
}

/// Writes the cache's counters to stderr.
pub fn report_cache(cache: Option<&DecisionCache>) {
    if let Some(cache) = cache {
        let s = cache.stats();
        crate::cli_error::eprint_text(&format!(
            "decision cache: {} hits, {} misses, {} of {} entries held\n",
            s.hits, s.misses, s.entries, s.capacity
        ));
    }
}

/// An intent file read and parsed: its display name, its text when it could be read, and the
/// intent or why not.
pub struct ReadIntent {
    /// The path as given.
    pub display: String,
    /// The text, when the file could be read.
    pub text: Option<String>,
    /// The parsed intent.
    pub intent: Result<Value, CliError>,
}

/// Reads and parses every file (on the pool the caller runs in), in order; compiles the intent
/// schema meanwhile, so that a bundle loading on another thread finds it ready.
pub fn read_intents(files: &[PathBuf]) -> Vec<ReadIntent> {
    let (_, intents) = rayon::join(gatehouse_core::IntentSchema::shared, || read_all(files));
    intents
}

fn read_all(files: &[PathBuf]) -> Vec<ReadIntent> {
    files
        .par_iter()
        .map(|file| {
            let display = file.display().to_string();
            match read(file) {
                Ok(text) => {
                    let intent =
                        gatehouse_core::parse_intent(&text).map_err(|e| CliError::Details {
                            summary: format!("cannot read intent `{display}`"),
                            details: e.details(),
                        });
                    ReadIntent {
                        display,
                        text: Some(text),
                        intent,
                    }
                }
                Err(err) => ReadIntent {
                    display,
                    text: None,
                    intent: Err(err),
                },
            }
        })
        .collect()
}

/// The evaluation context flags shared by `check`, `explain` and `diff`.
#[derive(clap::Args, Debug)]
pub struct ContextArgs {
    /// Decision time (RFC 3339); defaults to the current time.
    #[arg(long)]
    pub now: Option<String>,
    /// Earlier deployments: a JSON list of `{deployment_id, service, environment, artifact,
    /// state, finished_at}`.
    #[arg(long)]
    pub history: Option<PathBuf>,
    /// Approvals you vouch for, applied to every intent of the run: a JSON or YAML list of
    /// `{by, role, at?, comment?, reference?}`, recorded with source `caller` (a `source` of
    /// `control_plane` or `github_review` is refused: only the control plane and
    /// `--github-reviews` record those). Approvals written inside an intent are refused; this is
    /// where they go instead.
    #[arg(long, value_name = "FILE")]
    pub approvals: Option<PathBuf>,
    #[command(flatten)]
    pub github: GithubReviewArgs,
}

impl ContextArgs {
    /// The context the flags describe for one bundle.
    pub fn context(&self, engine: &Engine) -> Result<EvaluationContext, CliError> {
        let [context] = self.contexts([("", engine)])?;
        Ok(context)
    }

    /// One context per bundle (labelled for the notes when there are several): the same time,
    /// history and `--approvals` for all, plus, with `--github-reviews`, the pull request's
    /// approving reviews mapped to roles by each bundle's own `governance.approvers` (the
    /// reviews are read once). Notes on which reviews count go to stderr.
    pub fn contexts<const N: usize>(
        &self,
        engines: [(&str, &Engine); N],
    ) -> Result<[EvaluationContext; N], CliError> {
        let base = self.base_context()?;
        if !self.github.github_reviews {
            return Ok(engines.map(|_| base.clone()));
        }
        let teams: BTreeSet<GithubTeam> = engines
            .iter()
            .flat_map(|(_, engine)| engine.approvers().teams())
            .cloned()
            .collect();
        let fetched = github_reviews::fetch(
            &self.github,
            &ActionsEnv::from_process(),
            &|name| std::env::var(name).ok(),
            &teams,
        )
        .map_err(CliError::GithubReviews)?;
        let mut notes = gatehouse_report::reviews::header(
            &fetched.pull_request,
            &fetched.evidence,
            fetched.moved_head.as_deref(),
        );
        let contexts = engines.map(|(label, engine)| {
            let result = engine.approvals_from_github(&fetched.evidence);
            let label = (N > 1).then_some(label);
            notes.push_str(&gatehouse_report::reviews::verdicts(
                label,
                &result,
                engine.approvers(),
            ));
            let mut context = base.clone();
            context.approvals.extend(result.approvals);
            context
        });
        crate::cli_error::eprint_text(&notes);
        Ok(contexts)
    }

    /// The time, history and `--approvals` (the clock when `--now` is absent).
    fn base_context(&self) -> Result<EvaluationContext, CliError> {
        let now = match &self.now {
            Some(text) => {
                Timestamp::parse(text).map_err(|e| CliError::Usage(format!("--now: {e}")))?
            }
            None => {
                let seconds = time::OffsetDateTime::now_utc().unix_timestamp();
                Timestamp::from_unix_seconds(seconds)
                    .map_err(|e| CliError::Usage(format!("system clock: {e}")))?
            }
        };
        let mut context = EvaluationContext::at(now);
        if let Some(path) = &self.history {
            let text = read(path)?;
            context.history = serde_json::from_str::<Vec<HistoryEntry>>(&text).map_err(|e| {
                CliError::Usage(format!(
                    "--history `{}`: {e} (expected a JSON list of {{deployment_id, service, environment, artifact, state, finished_at}})",
                    path.display()
                ))
            })?;
        }
        if let Some(path) = &self.approvals {
            context.approvals = read_approvals(path)?;
        }
        Ok(context)
    }
}

/// Reads an approvals file: a JSON or YAML list of approvals, each checked (printable
/// identities, a role name, known fields only) and the caller's: a `source` other than `caller`
/// is refused (only the control plane and the review reader record theirs).
fn read_approvals(path: &Path) -> Result<Vec<Approval>, CliError> {
    let text = read(path)?;
    let value = gatehouse_core::parse_intent(&text)
        .map_err(|e| CliError::Usage(format!("--approvals `{}`: {e}", path.display())))?;
    let approvals = serde_json::from_value::<Vec<Approval>>(value).map_err(|e| {
        CliError::Usage(format!(
            "--approvals `{}`: {e} (expected a list of {{by, role, at?, comment?, reference?}})",
            path.display()
        ))
    })?;
    gatehouse_core::check_caller_approvals(&approvals)
        .map_err(|e| CliError::Usage(format!("--approvals `{}`: {e}", path.display())))?;
    Ok(approvals)
}

/// Arguments of `gatehouse check`.
#[derive(clap::Args)]
pub struct CheckArgs {
    /// The bundle directory.
    #[arg(long, default_value = "policies")]
    pub policies: PathBuf,
    #[command(flatten)]
    pub context: ContextArgs,
    #[command(flatten)]
    pub run: RunArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    #[command(flatten)]
    pub github: crate::github::GithubArgs,
    #[command(flatten)]
    pub trust: crate::signing::TrustArgs,
    #[command(flatten)]
    pub attest: AttestArgs,
    /// Intent files, or directories of them (.yaml, .yml, .json).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
}

/// Evaluates every file; see `Command::Check` for the exit codes.
pub fn run(args: &CheckArgs, keys: &[TrustedKey]) -> Result<ExitCode, CliError> {
    let CheckArgs {
        policies,
        context,
        run,
        format,
        github,
        attest,
        files,
        ..
    } = args;
    // A bad attestation key stops the run before anything is evaluated.
    let attestation_key = attest.signing_key()?;
    let pool = run.pool()?;
    let cache = run.cache();
    let fanout = run.fanout();
    // The bundle loads while the intents are read and parsed.
    let (engine, intents) = pool.install(|| {
        rayon::join(
            || load_engine_split(policies, run.split.get(), keys),
            || expand(files).map(|files| read_intents(&files)),
        )
    });
    let engine = engine?;
    let intents = intents?;
    if attest.requested() && intents.len() != 1 {
        return Err(CliError::Usage(format!(
            "--attestation and --attestation-predicate state one decision: give one intent file, not {}",
            intents.len()
        )));
    }
    let context = context.context(&engine)?;
    let evaluated: Vec<Evaluated> = pool.install(|| {
        intents
            .into_par_iter()
            .map(|read| {
                let mut attested = None;
                let outcome = read.intent.map(|intent| {
                    let decision = decide(&engine, &intent, &context, cache.as_ref(), fanout);
                    if attest.requested() {
                        attested = Some(intent);
                    }
                    decision
                });
                (read.display, read.text, outcome, attested)
            })
            .collect()
    });
    report_cache(cache.as_ref());
    let mut results = Vec::new();
    let mut texts = Vec::new();
    let mut broken = false;
    let mut to_attest = None;
    for (display, text, outcome, attested) in evaluated {
        if let (Some(intent), Ok(decision)) = (attested, &outcome) {
            to_attest = Some((intent, decision.clone()));
        }
        broken |= outcome.is_err();
        texts.push(text);
        results.push((display, outcome));
    }
    let checked = checked_files(&results, &texts);
    let report = gatehouse_report::Report {
        files: &checked,
        bundle: engine.info(),
        catalog: engine.catalog(),
    };
    let output = format.output();
    crate::write_report(output, &gatehouse_report::render(output, &report)?);
    crate::github::write_files(github, &report)?;
    // After the report: an artifact that cannot be attested (not pinned) stops the run with its
    // own error once the decision is shown.
    if let Some((intent, decision)) = &to_attest {
        attest.write(attestation_key.as_ref(), intent, decision)?;
    }
    Ok(if broken {
        ExitCode::from(2)
    } else if report.fails(github.fail_on.into()) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// The files for the renderers: each decision with the text it came from (for source
/// positions), or the errors that kept it from being read.
fn checked_files(
    results: &[(String, Result<Decision, CliError>)],
    texts: &[Option<String>],
) -> Vec<CheckedFile> {
    results
        .iter()
        .zip(texts)
        .map(|((file, result), text)| match result {
            Ok(decision) => CheckedFile::decided(
                file.as_str(),
                text.as_deref().unwrap_or_default(),
                decision.clone(),
            ),
            Err(err) => CheckedFile::unreadable(file.as_str(), err.details()),
        })
        .collect()
}

/// Replaces directories by the intent files (`.yaml`, `.yml`, `.json`) directly inside them.
pub fn expand(paths: &[PathBuf]) -> Result<Vec<PathBuf>, CliError> {
    let mut out = Vec::new();
    for path in paths {
        if !path.is_dir() {
            out.push(path.clone());
            continue;
        }
        let read_error = |source| CliError::Read {
            path: path.clone(),
            source,
        };
        let mut found: Vec<PathBuf> = std::fs::read_dir(path)
            .map_err(read_error)?
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|p| {
                p.is_file()
                    && p.extension()
                        .and_then(|e| e.to_str())
                        .is_some_and(|e| matches!(e, "yaml" | "yml" | "json"))
            })
            .collect();
        if found.is_empty() {
            return Err(CliError::Usage(format!(
                "`{}` holds no intent files (.yaml, .yml, .json)",
                path.display()
            )));
        }
        found.sort();
        out.extend(found);
    }
    Ok(out)
}

/// `gatehouse bundle`: one JSON document holding the bundle's decision files and digest, or with
/// `data` its merged data document.
pub fn pack(policies: &Path, data: bool, keys: &[TrustedKey]) -> Result<ExitCode, CliError> {
    let bundle = load_dir_split(policies, 1, keys)?;
    let text = if data {
        let merged = bundle
            .source
            .merged_data()
            .map_err(|source| CliError::Bundle {
                dir: policies.to_path_buf(),
                source,
            })?;
        serde_json::to_string_pretty(&merged).map_err(|source| CliError::Json {
            what: "merged data document",
            source,
        })?
    } else {
        bundle.packed().to_json(true)
    };
    crate::write_stdout(&text);
    Ok(ExitCode::SUCCESS)
}
