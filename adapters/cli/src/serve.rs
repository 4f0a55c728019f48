//! `gatehouse serve`: the HTTP control plane on a database (an SQLite file, or PostgreSQL for
//! several servers) and a bundle directory. Its configuration is a file (`--config`, or
//! `GATEHOUSE_CONFIG`), environment variables over it and flags over both
//! ([`gatehouse_http::Config::load`]). Without a file it runs on embedded defaults with demo
//! tokens, announced as such in the log. `gatehouse migrate` applies the database's schema
//! migrations and exits (`serve` applies them at start too).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use gatehouse_http::config::{DEMO_PIPELINE_SECRET, DEMO_TOKENS, Overrides};
use gatehouse_http::{Config, Server};

use crate::cli_error::CliError;

/// Flags of `serve`.
#[derive(clap::Args)]
pub struct ServeArgs {
    /// TOML config file (tokens, CORS, executor, limits) [env: GATEHOUSE_CONFIG]; without
    /// either: demo tokens.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Address to listen on [env: GATEHOUSE_LISTEN; default: the config's `listen`, or
    /// 127.0.0.1:8080].
    #[arg(long, value_name = "ADDR:PORT")]
    listen: Option<SocketAddr>,
    /// Database: an SQLite file, or a PostgreSQL URL `postgres://user:password@host:port/db`
    /// for several servers on one database [env: GATEHOUSE_DATABASE; default: the config's
    /// `database`, or gatehouse.db].
    #[arg(long, value_name = "PATH|URL")]
    db: Option<String>,
    /// Policy bundle directory [env: GATEHOUSE_POLICIES; default: the config's `policies`, or
    /// policies].
    #[arg(long, value_name = "DIR")]
    policies: Option<PathBuf>,
    /// An ed25519 public key (PEM) the bundle must be signed by, added to the config's
    /// `[bundle] trusted_keys`; repeatable. With any key, an unsigned or altered bundle does not
    /// start the server and a reload of one keeps the running bundle.
    #[arg(long = "trusted-key", value_name = "PUBLIC.pem")]
    trusted_keys: Vec<PathBuf>,
}

/// Builds the configuration: flags over the environment over the file.
fn config(args: &ServeArgs) -> Result<Config, CliError> {
    let flags = Overrides {
        config: args.config.clone(),
        listen: args.listen,
        database: args.db.clone(),
        policies: args.policies.clone(),
        trusted_keys: args.trusted_keys.clone(),
    };
    Config::load(&flags, |name| std::env::var(name).ok())
        .map_err(|e| CliError::Usage(e.to_string()))
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
                "DEMO MODE (no --config or GATEHOUSE_CONFIG): demo bearer tokens {} and pipeline secret `{DEMO_PIPELINE_SECRET}` are active. Do not expose this server; pass --config with your own tokens",
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
            version = env!("CARGO_PKG_VERSION"),
            addr = %server.addr,
            database = %control.settings.database,
            policies = %control.settings.policies.display(),
            bundle = %info.name,
            revision = %info.revision,
            digest = %info.digest,
            executor = control.settings.executor.kind(),
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
    /// The `serve` config file whose `database` (and `[postgres]` pool) to migrate [env:
    /// GATEHOUSE_CONFIG].
    #[arg(long)]
    config: Option<PathBuf>,
    /// Database: an SQLite file or a `postgres://` URL [env: GATEHOUSE_DATABASE; default: the
    /// config's `database`, or gatehouse.db].
    #[arg(long, value_name = "PATH|URL")]
    db: Option<String>,
}

/// Applies the schema migrations the database lacks and exits; refuses a database written by
/// a newer gatehouse. Finds the database as `serve` does.
pub fn migrate(args: &MigrateArgs) -> Result<ExitCode, CliError> {
    let flags = Overrides {
        config: args.config.clone(),
        database: args.db.clone(),
        ..Overrides::default()
    };
    let config = Config::load(&flags, |name| std::env::var(name).ok())
        .map_err(|e| CliError::Usage(e.to_string()))?;
    config
        .control
        .database
        .validate()
        .map_err(|e| CliError::Usage(format!("config: {e}")))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::Usage(format!("cannot start the runtime: {e}")))?;
    let opened = runtime
        .block_on(gatehouse_store::open(
            &config.control.database,
            &config.control.postgres,
        ))
        .map_err(|e| CliError::Usage(format!("database {}: {e}", config.control.database)))?;
    let line = if opened.schema_before == opened.schema_now {
        format!(
            "{}: schema version {} is up to date\n",
            config.control.database, opened.schema_now
        )
    } else {
        format!(
            "{}: migrated from schema version {} to {}\n",
            config.control.database, opened.schema_before, opened.schema_now
        )
    };
    crate::write_stdout(&line);
    Ok(ExitCode::SUCCESS)
}
