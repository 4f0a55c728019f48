//! The `gatehouse` command: check intents against a bundle, run a bundle's Rego tests, print the
//! intent schema, verify event chains, and pack a bundle into one JSON file.

mod check;
mod cli_error;
mod events;
mod human;
mod test_cmd;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

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
}

#[derive(Subcommand)]
enum Command {
    /// Evaluate intent files (YAML or JSON); exit 0 when all are allowed, 1 when any is denied or
    /// needs approval, 2 on usage or load errors.
    Check {
        /// The bundle directory.
        #[arg(long, default_value = "policies")]
        policies: PathBuf,
        /// Decision time (RFC 3339); defaults to the current time.
        #[arg(long)]
        now: Option<String>,
        /// Earlier deployments: a JSON list of `{deployment_id, service, environment, artifact,
        /// state, finished_at}`.
        #[arg(long)]
        history: Option<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
        /// Intent files, or directories of them (.yaml, .yml, .json).
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Run the bundle's Rego unit tests (`test_*` rules in `*_test.rego`).
    Test {
        /// The bundle directory.
        #[arg(default_value = "policies")]
        dir: PathBuf,
    },
    /// Print the DeploymentIntent JSON Schema.
    Schema,
    /// Pack a bundle directory into one JSON document `{name, revision, digest, files}`.
    Bundle {
        /// The bundle directory.
        #[arg(long, default_value = "policies")]
        policies: PathBuf,
    },
    /// Work with lifecycle event logs.
    Events {
        #[command(subcommand)]
        command: EventsCommand,
    },
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
        Command::Check {
            policies,
            now,
            history,
            format,
            files,
        } => check::run(
            &policies,
            now.as_deref(),
            history.as_deref(),
            format,
            &files,
        ),
        Command::Test { dir } => test_cmd::run(&dir),
        Command::Schema => {
            write_stdout(gatehouse_core::INTENT_SCHEMA);
            Ok(ExitCode::SUCCESS)
        }
        Command::Bundle { policies } => check::pack(&policies),
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

/// Writes to stdout; a closed pipe is not an error worth a panic.
fn write_stdout(text: &str) {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    if !text.ends_with('\n') {
        let _ = out.write_all(b"\n");
    }
}
