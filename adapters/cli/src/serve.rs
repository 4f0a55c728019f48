//! `gatehouse serve`: the HTTP control plane on a database (an SQLite file, or PostgreSQL for
//! several servers) and a bundle directory. Without `--config` it runs on embedded defaults with
//! demo tokens, announced as such in the log. `gatehouse migrate` applies the database's schema
//! migrations and exits (`serve` applies them at start too).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use gatehouse_control::config::Database;
use gatehouse_http::config::{DEMO_PIPELINE_SECRET, DEMO_TOKENS};
use gatehouse_http::{Config, Server};

use crate::cli_error::CliError;

/// Flags of `serve`.
#[derive(clap::Args)]
pub struct ServeArgs {
    /// TOML config file (tokens, CORS, executor, limits); without it: demo tokens.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:8080, or the config's `listen`].
    #[arg(long, value_name = "ADDR:PORT")]
    listen: Option<SocketAddr>,
    /// Database: an SQLite file, or a PostgreSQL URL `postgres://user:password@host:port/db`
    /// for several servers on one database [default: gatehouse.db, or the config's `database`].
    #[arg(long, value_name = "PATH|URL")]
    db: Option<String>,
    /// Policy bundle directory [default: policies, or the config's `policies`].
    #[arg(long, value_name = "DIR")]
    policies: Option<PathBuf>,
}

/// Builds the configuration from the file, the flags and the environment.
fn config(args: &ServeArgs) -> Result<Config, CliError> {
    let mut config = match &args.config {
        Some(path) => Config::from_file(path).map_err(|e| CliError::Usage(e.to_string()))?,
        None => Config::demo(),
    };
    if let Some(listen) = args.listen {
        config.listen = listen;
    }
    if let Some(db) = &args.db {
        config.database = Database::parse(db);
    }
    if let Some(policies) = &args.policies {
        config.policies = policies.clone();
    }
    config.apply_env(|name| std::env::var(name).ok());
    Ok(config)
}

/// Runs the server until SIGINT or SIGTERM.
pub fn run(args: &ServeArgs) -> Result<ExitCode, CliError> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,tower_http=warn".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let config = config(args)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::Usage(format!("cannot start the runtime: {e}")))?;
    runtime.block_on(async move {
        if config.demo {
            tracing::warn!(
                "DEMO MODE (no --config): demo bearer tokens {} and pipeline secret `{DEMO_PIPELINE_SECRET}` are active. Do not expose this server; pass --config with your own tokens",
                DEMO_TOKENS
                    .iter()
                    .map(|(token, name, role, _)| format!("`{token}` ({} {name})", role.as_str()))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        let server = Server::start(config)
            .await
            .map_err(|e| CliError::Usage(e.to_string()))?;
        let plane = &server.plane;
        let info = plane.engine().info().clone();
        let control = plane.config();
        tracing::info!(
            addr = %server.addr,
            database = %control.database,
            policies = %control.policies.display(),
            bundle = %info.name,
            revision = %info.revision,
            digest = %info.digest,
            executor = control.executor.kind(),
            "gatehouse control plane listening on http://{}",
            server.addr
        );
        server
            .run_until_signal()
            .await
            .map_err(|e| CliError::Usage(e.to_string()))?;
        Ok(ExitCode::SUCCESS)
    })
}

/// Flags of `migrate`.
#[derive(clap::Args)]
pub struct MigrateArgs {
    /// The `serve` config file whose `database` (and `[postgres]` pool) to migrate.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Database: an SQLite file or a `postgres://` URL [default: the config's `database`, or
    /// gatehouse.db].
    #[arg(long, value_name = "PATH|URL")]
    db: Option<String>,
}

/// Applies the schema migrations the database lacks and exits; refuses a database written by
/// a newer gatehouse.
pub fn migrate(args: &MigrateArgs) -> Result<ExitCode, CliError> {
    let mut config = match &args.config {
        Some(path) => Config::from_file(path).map_err(|e| CliError::Usage(e.to_string()))?,
        None => Config::default(),
    };
    if let Some(db) = &args.db {
        config.database = Database::parse(db);
    }
    config
        .database
        .validate()
        .map_err(|e| CliError::Usage(format!("config: {e}")))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::Usage(format!("cannot start the runtime: {e}")))?;
    let opened = runtime
        .block_on(gatehouse_control::store::open(
            &config.database,
            &config.postgres,
        ))
        .map_err(|e| CliError::Usage(format!("database {}: {e}", config.database)))?;
    let line = if opened.schema_before == opened.schema_now {
        format!(
            "{}: schema version {} is up to date\n",
            config.database, opened.schema_now
        )
    } else {
        format!(
            "{}: migrated from schema version {} to {}\n",
            config.database, opened.schema_before, opened.schema_now
        )
    };
    crate::write_stdout(&line);
    Ok(ExitCode::SUCCESS)
}
