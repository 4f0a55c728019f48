//! The `gatehouse` command: check intents against a bundle, run a bundle's Rego tests, print the
//! intent schema, verify event chains, pack a bundle into one JSON file, and serve the HTTP
//! control plane.

mod attest;
mod check;
mod cli_error;
mod diff;
mod events;
mod explain;
mod files;
mod github;
mod github_reviews;
mod serve;
mod signing;
mod smoke;
mod test_cmd;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

/// mimalloc instead of the system allocator (why: the `mimalloc` entry of the workspace
/// `Cargo.toml`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Policy-as-code for deployments: governed decisions for AWS and Azure intents.
#[derive(Parser)]
#[command(name = "gatehouse", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Output formats.
#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum Format {
    /// Readable text, grouped by enforcement level.
    Human,
    /// One JSON document: `{"results": [{"file", "decision"}]}`.
    Json,
    /// GitHub workflow commands: annotations at each violation's line and column, per file.
    Github,
    /// SARIF 2.1.0 for code scanning.
    Sarif,
    /// The Markdown job summary.
    Markdown,
    /// JUnit XML: one test suite per intent file, one test case per policy.
    Junit,
}

impl Format {
    /// The renderer's format; the human text is coloured on a terminal without `NO_COLOR`.
    fn output(self) -> gatehouse_report::OutputFormat {
        use gatehouse_report::OutputFormat as O;
        match self {
            Self::Human => O::Human {
                color: std::io::IsTerminal::is_terminal(&std::io::stdout())
                    && std::env::var_os("NO_COLOR").is_none(),
                sink: sink(),
            },
            Self::Json => O::Json,
            Self::Github => O::Github,
            Self::Sarif => O::Sarif,
            Self::Markdown => O::Markdown,
            Self::Junit => O::Junit,
        }
    }
}

/// Output formats of `explain`.
#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum ExplainFormat {
    /// One line per policy.
    Human,
    /// `{"file", "decision", "policies": [{policy, title, enforcement, verdict, violations}]}`.
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Evaluate intent files (YAML or JSON); exit 0 when the check passes, 1 when it fails per
    /// `--fail-on` (by default: any intent denied or waiting for an approval), 2 on usage, load or
    /// unreadable-intent errors. With `GITHUB_STEP_SUMMARY` / `GITHUB_OUTPUT` set (in a GitHub
    /// Actions step), also appends the Markdown summary and the step outputs there.
    Check(check::CheckArgs),
    /// Replay intents against a base and a head bundle and report every decision that changes
    /// (outcome flips, new and lifted violations); exit 0 unless `--fail-on-stricter` and a
    /// decision got stricter (1), 2 on usage, bundle or unreadable-intent errors.
    Diff(diff::DiffArgs),
    /// Run the bundle's Rego unit tests (`test_*` rules in `*_test.rego`).
    Test {
        /// The bundle directory.
        #[arg(default_value = "policies")]
        dir: PathBuf,
        /// Report per-file line coverage of the policy files by the tests.
        #[arg(long)]
        coverage: bool,
        /// With --coverage: fail (exit 1) when a policy file's coverage is below this percentage.
        #[arg(long, value_name = "PERCENT", requires = "coverage")]
        min_coverage: Option<f64>,
        #[command(flatten)]
        trust: signing::TrustArgs,
    },
    /// Evaluate one intent and list every policy of the catalogue with its verdict (pass, fail,
    /// pending approval, advisory, exempted, overridden); exit codes as for `check`.
    Explain {
        /// The bundle directory.
        #[arg(long, default_value = "policies")]
        policies: PathBuf,
        #[command(flatten)]
        context: check::ContextArgs,
        /// Output format.
        #[arg(long, value_enum, default_value_t = ExplainFormat::Human)]
        format: ExplainFormat,
        #[command(flatten)]
        trust: signing::TrustArgs,
        /// The intent file.
        file: PathBuf,
    },
    /// Print the DeploymentIntent JSON Schema (or, with --decision, the decision's).
    Schema {
        /// Print the JSON Schema of the decision document that `check --format json`, the HTTP
        /// API and the bindings return.
        #[arg(long)]
        decision: bool,
    },
    /// Pack a bundle directory into one JSON document `{name, revision, digest, files}`; sign a
    /// bundle (`bundle sign`) or verify its signature (`bundle verify`).
    #[command(args_conflicts_with_subcommands = true)]
    Bundle {
        #[command(subcommand)]
        command: Option<BundleCommand>,
        /// The bundle directory.
        #[arg(long, default_value = "policies")]
        policies: PathBuf,
        /// Print the bundle's data document instead: every data file deep-merged in path order,
        /// as the engine sees it (after the same checks as a load).
        #[arg(long)]
        data: bool,
        #[command(flatten)]
        trust: signing::TrustArgs,
    },
    /// Run the HTTP control plane: intents in, decisions and hash-chained lifecycle events in
    /// SQLite or PostgreSQL, pipeline dispatch, signed callbacks. Without --config (or
    /// GATEHOUSE_CONFIG): demo tokens (logged).
    Serve(serve::ServeArgs),
    /// Check a running control plane after a deploy: health, readiness, OpenAPI, the bundle
    /// digest, intents evaluated with their expected outcomes, the audit ledger, metrics; exit 0
    /// when every check passes, 1 when one fails, 2 on usage errors.
    Smoke(smoke::SmokeArgs),
    /// Apply the control plane's database migrations and exit (`serve` applies them at start
    /// too; this is for operators who migrate first).
    Migrate(serve::MigrateArgs),
    /// Verify decision attestations (in-toto statements with a SLSA verification summary, in
    /// a DSSE envelope) before deploying.
    Attest {
        #[command(subcommand)]
        command: AttestCommand,
    },
    /// Work with lifecycle event logs.
    Events {
        #[command(subcommand)]
        command: EventsCommand,
    },
}

#[derive(Subcommand)]
enum BundleCommand {
    /// Sign the bundle: write a DSSE envelope (ed25519) over its name, revision, digest and every
    /// file's SHA-256 into the bundle directory as `bundle.sig.json`.
    Sign(signing::SignArgs),
    /// Verify the bundle's signature: exit 0 when a trusted key signed exactly its files, 1 when
    /// not (unsigned, unknown key, bad signature, a file changed, added or removed), 2 on usage
    /// errors.
    Verify(signing::VerifyArgs),
}

#[derive(Subcommand)]
enum AttestCommand {
    /// Verify an attestation: exit 0 when a trusted key signed a PASSED verification summary
    /// whose subject is the artifact's digest (for the environment and verifier when given), 1
    /// with the reason when not, 2 on usage errors.
    Verify(attest::VerifyArgs),
}

#[derive(Subcommand)]
enum EventsCommand {
    /// Verify the hash chains and transitions of a JSON Lines event file (one event per line,
    /// chains of several deployments may be interleaved).
    Verify {
        /// The `.jsonl` file.
        file: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Check(args) => args.trust.keys().and_then(|keys| check::run(&args, &keys)),
        Command::Diff(args) => diff::run(&args),
        Command::Test {
            dir,
            coverage,
            min_coverage,
            trust,
        } => trust
            .keys()
            .and_then(|keys| test_cmd::run(&dir, coverage, min_coverage, &keys)),
        Command::Explain {
            policies,
            context,
            format,
            trust,
            file,
        } => trust
            .keys()
            .and_then(|keys| explain::run(&policies, &context, format, &file, &keys)),
        Command::Schema { decision: false } => {
            write_stdout(gatehouse_core::INTENT_SCHEMA);
            Ok(ExitCode::SUCCESS)
        }
        Command::Schema { decision: true } => gatehouse_core::decision_schema()
            .and_then(|schema| serde_json::to_string_pretty(&schema))
            .map(|text| {
                write_stdout(&format!("{text}\n"));
                ExitCode::SUCCESS
            })
            .map_err(|source| cli_error::CliError::Json {
                what: "decision schema",
                source,
            }),
        Command::Bundle {
            command: Some(BundleCommand::Sign(args)),
            ..
        } => signing::sign(&args),
        Command::Bundle {
            command: Some(BundleCommand::Verify(args)),
            ..
        } => signing::verify(&args),
        Command::Bundle {
            command: None,
            policies,
            data,
            trust,
        } => trust
            .keys()
            .and_then(|keys| check::pack(&policies, data, &keys)),
        Command::Serve(args) => serve::run(&args),
        Command::Smoke(args) => smoke::run(&args),
        Command::Migrate(args) => serve::migrate(&args),
        Command::Attest {
            command: AttestCommand::Verify(args),
        } => attest::verify(&args),
        Command::Events {
            command: EventsCommand::Verify { file },
        } => events::verify(&file),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            err.report();
            ExitCode::from(2)
        }
    }
}

/// Where the CLI's lines go: a GitHub Actions log when `GITHUB_ACTIONS=true`, where the runner
/// reads every line of stdout and stderr for workflow commands.
pub fn sink() -> gatehouse_report::Sink {
    gatehouse_report::Sink::from_github_actions(std::env::var("GITHUB_ACTIONS").ok().as_deref())
}

/// Writes a report in `format` to stdout: the annotations as they are (each line a command built
/// with its values escaped), any other format through [`write_stdout`].
fn write_report(format: gatehouse_report::OutputFormat, text: &str) {
    if format == gatehouse_report::OutputFormat::Github {
        write_raw(text);
    } else {
        write_stdout(text);
    }
}

/// Writes text that holds no workflow command to stdout: in a GitHub Actions log, a line that
/// would start one is broken ([`gatehouse_report::Sink::guard`]).
fn write_stdout(text: &str) {
    write_raw(&sink().guard(text));
}

/// Writes to stdout; a closed pipe is not an error worth a panic.
fn write_raw(text: &str) {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    if !text.ends_with('\n') {
        let _ = out.write_all(b"\n");
    }
}
