//! `gatehouse serve` configuration: a TOML file, the environment over it, flags over both.
//!
//! [`Config::load`] resolves it: a command-line flag wins over an environment variable, which
//! wins over the config file, which wins over the default. The variables are what a container
//! sets: `GATEHOUSE_CONFIG` (the file), `GATEHOUSE_LISTEN`, `GATEHOUSE_DATABASE`,
//! `GATEHOUSE_POLICIES`, `GATEHOUSE_UI_WASM_DIR`, and the secrets `GATEHOUSE_PIPELINE_SECRET` and
//! `GATEHOUSE_WEBHOOK_SECRET`. An empty variable counts as unset; a value that cannot be used is
//! an error naming its variable.
//!
//! ```toml
//! listen = "127.0.0.1:8080"
//! database = "gatehouse.db"                   # an SQLite file, or postgres://user:pw@host:5432/db
//! policies = "policies"
//! public_url = "https://gatehouse.example.com"  # base of the callback URL sent to pipelines
//! anonymous_read = false
//!
//! [[tokens]]                                    # bearer tokens: only their SHA-256 is stored
//! name = "alice@example.com"
//! role = "requester"                            # requester | approver | auditor | admin
//! sha256 = "<hex of sha256(token)>"
//!
//! [[tokens]]
//! name = "bob@example.com"
//! role = "approver"
//! sha256 = "..."
//! approval_roles = ["release-approver", "finops-approver"]
//!
//! [cors]
//! allowed_origins = ["https://portal.example.com"]
//!
//! [pipeline]
//! secret = "..."            # HMAC key of callbacks; env GATEHOUSE_PIPELINE_SECRET overrides
//! timestamp_tolerance_s = 300   # callbacks signed further from the server's time are refused
//!
//! [executor]
//! kind = "github"           # github | webhook | gitops | none
//! owner = "acme"
//! repo = "deployments"
//! event_type = "gatehouse-deploy"
//! api_base = "https://api.github.com"
//! token_env = "GITHUB_TOKEN"
//!
//! [limits]
//! body_bytes = 1048576
//! json_depth = 64
//! json_items = 50000           # array items and object members in one evaluate/submit body
//! request_timeout_ms = 10000
//! concurrency = 512
//! evaluation_timeout_ms = 2000
//! evaluation_concurrency = 4    # policy evaluations at once (default: the number of CPUs)
//! evaluation_wait_ms = 1000     # wait for a free evaluation slot, then 503 `overloaded`
//! evaluation_split = 1          # parts of one decision run on a thread pool (same bytes)
//! decision_cache_entries = 0    # decisions kept in memory; hits need a repeated context `now`
//! header_read_timeout_ms = 10000  # a connection must send its request head within this
//! body_read_timeout_ms = 10000    # and its body within this (408 otherwise)
//! max_connections = 1024        # open connections; more wait in the listen backlog
//! max_connections_per_client = 128  # open connections of one client address; more are closed
//! idle_timeout_ms = 60000       # a connection with no request in flight is closed after this
//! body_bytes_in_flight = 16777216  # bodies of evaluate/submit read, parsed or evaluated at once
//! body_bytes_in_flight_per_client = 4194304  # the same, for one client address
//!
//! [dispatch]
//! max_attempts = 6
//! initial_backoff_ms = 500
//! max_backoff_ms = 60000
//! lease_ms = 60000          # a claimed outbox entry is another server's again after this
//!
//! [postgres]               # with a postgres:// database: the connection pool of each server
//! pool_size = 16
//! connect_timeout_ms = 5000
//! acquire_timeout_ms = 5000 # waiting for a free connection, then 503 `database_unavailable`
//!
//! [retention]
//! idempotency_hours = 24    # Idempotency-Key records are purged after this
//! delivery_hours = 168      # callback delivery records are purged after this
//! purge_interval_s = 3600
//!
//! [decision_log]           # every evaluation's record: decision, bundle, caller, time, intent
//! enabled = false
//! mask = ["spec.tags.owner"]   # intent fields stored as "***" (`*` for any key or item)
//! retention_hours = 2160
//!
//! [metrics]
//! public = false            # true: /metrics without a token
//!
//! [bundle]
//! trusted_keys = ["/etc/gatehouse/release.pub.pem"]  # ed25519 public keys (PEM); when set, the
//!                           # bundle must be signed by one (`gatehouse bundle sign`), at start
//!                           # and at every reload; `serve --trusted-key` adds more
//!
//! [attestations]            # decision attestations (in-toto statements in DSSE envelopes)
//! signing_key = "/etc/gatehouse/attest.pem"  # ed25519 private key (PKCS#8 PEM) every decision
//!                           # on a deployment is signed with; unset: none are issued
//! key_id = "gatehouse-2026" # the envelope's keyid; default: hex SHA-256 of the public key
//! verifier_id = "https://gatehouse.example.com"  # `verifier.id`; default: `public_url` when
//!                           # set, else `urn:gatehouse:control-plane` (names no server)
//! trusted_keys = ["/etc/gatehouse/attest.pub.pem"]  # keys attestations presented to the
//!                           # deployment-truth gate must be signed by; default: the signing
//!                           # key's public key
//! require_for_truth = false # true: a reported success needs the deployed artifact's PASSED
//!                           # attestation for its environment (`evidence.observed.attestation`)
//!
//! [ui]                      # the browser UI at /ui/ (its pages are built into the binary)
//! wasm_dir = "/opt/gatehouse/ui/pkg"  # the WASM engine package it previews with; default: the
//!                           # first of <exe dir>/../share/gatehouse/ui/pkg and the source
//!                           # tree's bindings/wasm/pkg that exists (see `ui`); without one, the
//!                           # UI previews with POST /v1/evaluate and says so
//! ```

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use gatehouse_control::access::Role;
use gatehouse_control::config::{EvaluationLimits, ExecutorConfig, InvalidConfig};
use gatehouse_control::{ControlConfig, ControlSettings};
use gatehouse_store::config::Database;
use serde::Deserialize;
use sha2::{Digest, Sha256};

/// Why a configuration cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file cannot be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The file is not valid TOML for this schema.
    #[error("config file {path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What and where (line, column, key).
        message: String,
    },
    /// A value is inconsistent.
    #[error("config: {key}: {problem}")]
    Invalid {
        /// The key, e.g. `tokens[0].sha256` or `cors.allowed_origins`.
        key: String,
        /// What is wrong with it and how to fix it.
        problem: String,
    },
    /// A value of the control plane's part is inconsistent.
    #[error("config: {0}")]
    Control(#[from] InvalidConfig),
    /// An environment variable holds a value that cannot be used.
    #[error("environment variable {name}: {problem}")]
    Env {
        /// The variable.
        name: &'static str,
        /// What is wrong and how to write it.
        problem: String,
    },
    /// The config file an environment variable names cannot be used.
    #[error("environment variable {name}: {source}")]
    EnvFile {
        /// The variable (`GATEHOUSE_CONFIG`).
        name: &'static str,
        /// Why the file cannot be used.
        source: Box<ConfigError>,
    },
}

/// The config file's path, when `--config` is not given.
pub const ENV_CONFIG: &str = "GATEHOUSE_CONFIG";
/// Overrides `listen`.
pub const ENV_LISTEN: &str = "GATEHOUSE_LISTEN";
/// Overrides `database` (an SQLite file or a `postgres://` URL).
pub const ENV_DATABASE: &str = "GATEHOUSE_DATABASE";
/// Overrides `policies`.
pub const ENV_POLICIES: &str = "GATEHOUSE_POLICIES";
/// Overrides `[ui] wasm_dir`.
pub const ENV_UI_WASM_DIR: &str = "GATEHOUSE_UI_WASM_DIR";
/// Overrides `[pipeline] secret`.
pub const ENV_PIPELINE_SECRET: &str = "GATEHOUSE_PIPELINE_SECRET";
/// Overrides the webhook executor's `secret`.
pub const ENV_WEBHOOK_SECRET: &str = "GATEHOUSE_WEBHOOK_SECRET";

/// What the command line sets; each wins over its environment variable and the file.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `--config`: the file (over `GATEHOUSE_CONFIG`).
    pub config: Option<PathBuf>,
    /// `--listen`.
    pub listen: Option<SocketAddr>,
    /// `--db`: an SQLite file or a `postgres://` URL.
    pub database: Option<String>,
    /// `--policies`.
    pub policies: Option<PathBuf>,
    /// `--trusted-key`: added to `[bundle] trusted_keys` (a flag never removes a key).
    pub trusted_keys: Vec<PathBuf>,
}

/// The whole configuration: the control plane's settings and the server's own keys, side by
/// side at the top level of one file (read by [`Config`]'s `Deserialize`).
#[derive(Debug, Clone)]
pub struct Config {
    /// Address to listen on (`listen`).
    pub listen: SocketAddr,
    /// The control plane's keys: `database`, `[postgres]`, `policies`, `[pipeline]`,
    /// `[executor]`, `[dispatch]`, `[retention]`, `[decision_log]`.
    pub control: ControlSettings,
    /// Base URL pipelines use to reach this server (callback URLs); defaults to `http://{listen}`.
    pub public_url: Option<String>,
    /// Let requests without a token read (GET endpoints and `POST /v1/evaluate`).
    pub anonymous_read: bool,
    /// Bearer tokens (`[[tokens]]`).
    pub tokens: Vec<TokenConfig>,
    /// CORS.
    pub cors: CorsConfig,
    /// Request limits.
    pub limits: LimitsConfig,
    /// The browser UI.
    pub ui: UiConfig,
    /// Who may read `/metrics`.
    pub metrics: MetricsConfig,
    /// The bundle's signature.
    pub bundle: BundleConfig,
    /// Decision attestations.
    pub attestations: AttestationsConfig,
    /// True when no config file was given: demo tokens and secret, announced in the log. Not a
    /// key of the file.
    pub demo: bool,
}

/// The file's top-level keys, in the order an unknown key's error lists them.
const KEYS: &[&str] = &[
    "listen",
    "database",
    "postgres",
    "policies",
    "public_url",
    "anonymous_read",
    "tokens",
    "cors",
    "pipeline",
    "executor",
    "limits",
    "dispatch",
    "ui",
    "retention",
    "metrics",
    "decision_log",
    "bundle",
    "attestations",
];

/// What a derived `deny_unknown_fields` struct does, by hand, so the control plane's keys land
/// in [`Config::control`] while the file stays flat. (`#[serde(flatten)]` would do that too, but
/// toml then reports every error of the flattened keys at line 1, column 1.) Keys are read one at
/// a time: an unknown key is an error at its own place, each value is read where it is written
/// (errors point into it), and a missing key keeps [`Config::default`]'s value.
impl<'de> Deserialize<'de> for Config {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_struct("Config", KEYS, ConfigVisitor)
    }
}

/// A top-level key: one of [`KEYS`].
struct Key(&'static str);

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_identifier(KeyVisitor)
    }
}

struct KeyVisitor;

impl serde::de::Visitor<'_> for KeyVisitor {
    type Value = Key;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("field identifier")
    }

    fn visit_str<E: serde::de::Error>(self, key: &str) -> Result<Key, E> {
        KEYS.iter()
            .find(|known| **known == key)
            .map(|known| Key(known))
            .ok_or_else(|| E::unknown_field(key, KEYS))
    }
}

struct ConfigVisitor;

impl<'de> serde::de::Visitor<'de> for ConfigVisitor {
    type Value = Config;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("struct Config")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Config, A::Error> {
        use serde::de::Error;
        let mut config = Config::default();
        let mut seen = Vec::with_capacity(KEYS.len());
        while let Some(Key(key)) = map.next_key()? {
            if seen.contains(&key) {
                return Err(A::Error::duplicate_field(key));
            }
            seen.push(key);
            let control = &mut config.control;
            match key {
                "listen" => config.listen = map.next_value()?,
                "database" => control.database = map.next_value()?,
                "postgres" => control.postgres = map.next_value()?,
                "policies" => control.policies = map.next_value()?,
                "public_url" => config.public_url = map.next_value()?,
                "anonymous_read" => config.anonymous_read = map.next_value()?,
                "tokens" => config.tokens = map.next_value()?,
                "cors" => config.cors = map.next_value()?,
                "pipeline" => control.pipeline = map.next_value()?,
                "executor" => control.executor = map.next_value()?,
                "limits" => config.limits = map.next_value()?,
                "dispatch" => control.dispatch = map.next_value()?,
                "ui" => config.ui = map.next_value()?,
                "retention" => control.retention = map.next_value()?,
                "metrics" => config.metrics = map.next_value()?,
                "decision_log" => control.decision_log = map.next_value()?,
                "bundle" => config.bundle = map.next_value()?,
                "attestations" => config.attestations = map.next_value()?,
                // Not reached: `Key` holds one of `KEYS`, each read above (a test reads them all).
                _ => return Err(A::Error::unknown_field(key, KEYS)),
            }
        }
        Ok(config)
    }
}

/// `[bundle]`: the keys the policy bundle must be signed by.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundleConfig {
    /// ed25519 public keys in PEM files; when there are any, the bundle loads (at start and at
    /// every reload) only if one of them signed exactly its files.
    #[serde(default)]
    pub trusted_keys: Vec<PathBuf>,
}

/// `[attestations]`: how decisions are signed, and whether the deployment-truth gate needs an
/// attestation.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttestationsConfig {
    /// An ed25519 private key in PKCS#8 PEM (`openssl genpkey -algorithm ed25519`); every
    /// decision on a deployment is signed with it. Unset: no attestation is issued.
    #[serde(default)]
    pub signing_key: Option<PathBuf>,
    /// The key id written into signatures; default: the hex SHA-256 of the public key.
    #[serde(default)]
    pub key_id: Option<String>,
    /// The statements' `verifier.id`; default: `public_url` when the config sets one, else
    /// [`DEFAULT_VERIFIER_ID`].
    #[serde(default)]
    pub verifier_id: Option<String>,
    /// ed25519 public keys (PEM) an attestation presented to the deployment-truth gate must be
    /// signed by; default: the signing key's own public key.
    #[serde(default)]
    pub trusted_keys: Vec<PathBuf>,
    /// The deployment-truth gate denies a reported success unless the pipeline presents a
    /// PASSED attestation of the deployed artifact's digest for the deployment's environment,
    /// signed by a trusted key.
    #[serde(default)]
    pub require_for_truth: bool,
}

/// The `verifier.id` of a server whose config sets neither `[attestations] verifier_id` nor
/// `public_url`: it names the kind of issuer, not a server (the address it happens to listen on
/// is no identity a pipeline could pin).
pub const DEFAULT_VERIFIER_ID: &str = "urn:gatehouse:control-plane";

/// One bearer token.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenConfig {
    /// Who holds it (recorded as the actor of what they do).
    pub name: String,
    /// What it may do.
    pub role: Role,
    /// Lowercase hex SHA-256 of the token (the token itself is never stored).
    pub sha256: String,
    /// Approval roles this approver may approve in, e.g. `release-approver`.
    #[serde(default)]
    pub approval_roles: Vec<String>,
}

/// Cross-origin access for browser front ends.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CorsConfig {
    /// Exact origins, e.g. `https://portal.example.com`; `*` is refused.
    #[serde(default)]
    pub allowed_origins: Vec<String>,
}

/// Who may read `/metrics`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsConfig {
    /// `/metrics` without a token (otherwise any valid token, or `anonymous_read`).
    #[serde(default)]
    pub public: bool,
}

/// Request limits.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsConfig {
    /// Largest request body (413 above).
    #[serde(default = "default_body_bytes")]
    pub body_bytes: usize,
    /// Deepest JSON nesting accepted (400 above).
    #[serde(default = "default_json_depth")]
    pub json_depth: usize,
    /// Array items and object members accepted in all in one body of `POST /v1/evaluate` or
    /// `POST /v1/deployments` (413 `too_many_items` above): each costs hundreds of bytes once
    /// parsed and given to the policies.
    #[serde(default = "default_json_items")]
    pub json_items: usize,
    /// Whole-request timeout.
    #[serde(default = "default_request_timeout_ms")]
    pub request_timeout_ms: u64,
    /// Requests handled at once; more wait (up to the timeout).
    #[serde(default = "default_concurrency")]
    pub concurrency: usize,
    /// Policy evaluation time limit (fails closed when exceeded).
    #[serde(default = "default_evaluation_timeout_ms")]
    pub evaluation_timeout_ms: u64,
    /// Policy evaluations at once; default the number of CPUs.
    #[serde(default = "default_evaluation_concurrency")]
    pub evaluation_concurrency: usize,
    /// How long a request waits for an evaluation slot before a 503 `overloaded`.
    #[serde(default = "default_evaluation_wait_ms")]
    pub evaluation_wait_ms: u64,
    /// The parts each decision's policy packages are spread over, run on a thread pool; 1 (the
    /// default) evaluates a decision on one thread. Helps latency on a bundle of many packages
    /// when cores are idle; costs throughput when every core is busy.
    #[serde(default = "default_evaluation_split")]
    pub evaluation_split: usize,
    /// Decisions kept in memory, least recently used dropped first; 0 (the default) turns the
    /// cache off. Keyed by bundle, stage, intent and context: only requests that send the same
    /// context (with their own `now`, as previews and pipeline re-runs do) are served from it.
    #[serde(default)]
    pub decision_cache_entries: usize,
    /// Time a connection has to send its request line and headers.
    #[serde(default = "default_header_read_timeout_ms")]
    pub header_read_timeout_ms: u64,
    /// Time a request has to send its body (408 after).
    #[serde(default = "default_body_read_timeout_ms")]
    pub body_read_timeout_ms: u64,
    /// Connections served at once; more wait in the listen backlog.
    #[serde(default = "default_max_connections")]
    pub max_connections: usize,
    /// Connections one client address may hold open; more are closed as soon as they are
    /// accepted. Clients behind one NAT or proxy share one address, and so one cap.
    #[serde(default = "default_max_connections_per_client")]
    pub max_connections_per_client: usize,
    /// Time a connection may stay open with no request in flight (HTTP/1.1 keep-alive and
    /// HTTP/2); it is then closed (HTTP/2: with a GOAWAY).
    #[serde(default = "default_idle_timeout_ms")]
    pub idle_timeout_ms: u64,
    /// Bytes of request bodies that may be read, parsed and evaluated at once across all
    /// clients (`POST /v1/evaluate` and `POST /v1/deployments`); a request that does not fit
    /// waits up to `evaluation_wait_ms`, then gets 503 `overloaded` without its body being read.
    #[serde(default = "default_body_bytes_in_flight")]
    pub body_bytes_in_flight: usize,
    /// The same budget for one client address.
    #[serde(default = "default_body_bytes_in_flight_per_client")]
    pub body_bytes_in_flight_per_client: usize,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            body_bytes: default_body_bytes(),
            json_depth: default_json_depth(),
            json_items: default_json_items(),
            request_timeout_ms: default_request_timeout_ms(),
            concurrency: default_concurrency(),
            evaluation_timeout_ms: default_evaluation_timeout_ms(),
            evaluation_concurrency: default_evaluation_concurrency(),
            evaluation_wait_ms: default_evaluation_wait_ms(),
            evaluation_split: default_evaluation_split(),
            decision_cache_entries: 0,
            header_read_timeout_ms: default_header_read_timeout_ms(),
            body_read_timeout_ms: default_body_read_timeout_ms(),
            max_connections: default_max_connections(),
            max_connections_per_client: default_max_connections_per_client(),
            idle_timeout_ms: default_idle_timeout_ms(),
            body_bytes_in_flight: default_body_bytes_in_flight(),
            body_bytes_in_flight_per_client: default_body_bytes_in_flight_per_client(),
        }
    }
}

impl LimitsConfig {
    /// The request timeout.
    pub fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.request_timeout_ms)
    }

    /// The evaluation limits among them (the control plane's).
    pub fn evaluation(&self) -> EvaluationLimits {
        EvaluationLimits {
            timeout_ms: self.evaluation_timeout_ms,
            concurrency: self.evaluation_concurrency,
            wait_ms: self.evaluation_wait_ms,
            split: self.evaluation_split,
            decision_cache: self.decision_cache_entries,
        }
    }
}

/// The browser UI at `/ui/`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UiConfig {
    /// Directory of the WASM engine package (`gatehouse_wasm.js`, `gatehouse_wasm_bg.wasm`, as
    /// `bindings/wasm/build.sh` writes them), served at `/ui/pkg/`; relative paths are from the
    /// working directory. Unset: the installed or source-tree package, found at start
    /// ([`crate::ui::WasmPackage::locate`]). When the files are missing the UI previews with
    /// `POST /v1/evaluate` and says so.
    #[serde(default)]
    pub wasm_dir: Option<PathBuf>,
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8080))
}
fn default_body_bytes() -> usize {
    1024 * 1024
}
fn default_json_depth() -> usize {
    64
}
fn default_json_items() -> usize {
    50_000
}
fn default_request_timeout_ms() -> u64 {
    10_000
}
fn default_concurrency() -> usize {
    512
}
fn default_evaluation_timeout_ms() -> u64 {
    EvaluationLimits::default().timeout_ms
}
fn default_evaluation_concurrency() -> usize {
    EvaluationLimits::default().concurrency
}
fn default_evaluation_wait_ms() -> u64 {
    EvaluationLimits::default().wait_ms
}
fn default_evaluation_split() -> usize {
    EvaluationLimits::default().split
}
fn default_header_read_timeout_ms() -> u64 {
    10_000
}
fn default_body_read_timeout_ms() -> u64 {
    10_000
}
fn default_max_connections() -> usize {
    1024
}
fn default_max_connections_per_client() -> usize {
    128
}
fn default_idle_timeout_ms() -> u64 {
    60_000
}
fn default_body_bytes_in_flight() -> usize {
    16 * 1024 * 1024
}
fn default_body_bytes_in_flight_per_client() -> usize {
    4 * 1024 * 1024
}

/// Whether `name` is a DNS host name: dot-separated labels of ASCII letters, digits and `-`
/// (so `*.example.com`, which a CORS origin list cannot match, is not one).
fn is_dns_name(name: &str) -> bool {
    !name.is_empty()
        && name.split('.').all(|label| {
            !label.is_empty()
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

/// The demo tokens `gatehouse serve` uses without a config file: `(token, name, role, approval
/// roles)`. Printed in the log as demo credentials.
pub const DEMO_TOKENS: [(&str, &str, Role, &[&str]); 4] = [
    ("demo-requester", "dev@example.com", Role::Requester, &[]),
    (
        "demo-approver",
        "approver@example.com",
        Role::Approver,
        &["release-approver", "finops-approver"],
    ),
    ("demo-auditor", "auditor@example.com", Role::Auditor, &[]),
    ("demo-admin", "admin@example.com", Role::Admin, &[]),
];

/// The demo pipeline secret.
pub const DEMO_PIPELINE_SECRET: &str = "demo-pipeline-secret";

/// The value of variable `name`, unless it is unset or empty.
fn set(env: impl Fn(&str) -> Option<String>, name: &str) -> Option<String> {
    env(name).filter(|v| !v.trim().is_empty())
}

/// Lowercase hex SHA-256 of a token, as `tokens[].sha256` stores it.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

impl Config {
    /// The embedded defaults: `gatehouse.db`, `policies/`, demo tokens and pipeline secret.
    pub fn demo() -> Self {
        let tokens = DEMO_TOKENS
            .iter()
            .map(|(token, name, role, approval_roles)| TokenConfig {
                name: (*name).to_owned(),
                role: *role,
                sha256: token_hash(token),
                approval_roles: approval_roles.iter().map(|r| (*r).to_owned()).collect(),
            })
            .collect();
        let mut config = Config {
            tokens,
            demo: true,
            ..Config::default()
        };
        config.control.pipeline.secret = Some(DEMO_PIPELINE_SECRET.to_owned());
        config
    }

    /// Reads a TOML config file.
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_toml(&text).map_err(|message| ConfigError::Parse {
            path: path.to_path_buf(),
            message,
        })
    }

    /// Parses TOML text.
    pub fn from_toml(text: &str) -> Result<Self, String> {
        toml::from_str(text).map_err(|e| e.to_string())
    }

    /// The configuration of `gatehouse serve`: the file (`--config`, else `GATEHOUSE_CONFIG`;
    /// neither: [`Config::demo`]), then the environment over it ([`Config::apply_env`]), then
    /// the flags over both. `env` looks a variable up. Not yet validated: see
    /// [`Config::validate`].
    pub fn load(
        flags: &Overrides,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let mut config = match (&flags.config, set(&env, ENV_CONFIG)) {
            (Some(path), _) => Self::from_file(path)?,
            (None, Some(path)) => {
                Self::from_file(Path::new(&path)).map_err(|e| ConfigError::EnvFile {
                    name: ENV_CONFIG,
                    source: Box::new(e),
                })?
            }
            (None, None) => Self::demo(),
        };
        config.apply_env(&env)?;
        if let Some(listen) = flags.listen {
            config.listen = listen;
        }
        if let Some(database) = &flags.database {
            config.control.database = Database::parse(database);
        }
        if let Some(policies) = &flags.policies {
            config.control.policies = policies.clone();
        }
        config
            .bundle
            .trusted_keys
            .extend(flags.trusted_keys.iter().cloned());
        Ok(config)
    }

    /// Applies the environment (`env` looks a variable up) over the file: `GATEHOUSE_LISTEN`,
    /// `GATEHOUSE_DATABASE`, `GATEHOUSE_POLICIES`, `GATEHOUSE_UI_WASM_DIR`, the pipeline
    /// secret, the webhook secret. Empty variables are ignored; a value that cannot be used is
    /// an error naming its variable.
    pub fn apply_env(&mut self, env: impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        if let Some(listen) = set(&env, ENV_LISTEN) {
            self.listen = listen.trim().parse().map_err(|_| ConfigError::Env {
                name: ENV_LISTEN,
                problem: format!(
                    "`{listen}` is not an address to listen on; write IP:PORT, e.g. 0.0.0.0:8080"
                ),
            })?;
        }
        if let Some(database) = set(&env, ENV_DATABASE) {
            let database = Database::parse(&database);
            database.validate().map_err(|e| ConfigError::Env {
                name: ENV_DATABASE,
                problem: e.to_string(),
            })?;
            self.control.database = database;
        }
        if let Some(policies) = set(&env, ENV_POLICIES) {
            self.control.policies = PathBuf::from(policies);
        }
        if let Some(dir) = set(&env, ENV_UI_WASM_DIR) {
            self.ui.wasm_dir = Some(PathBuf::from(dir));
        }
        if let Some(secret) = set(&env, ENV_PIPELINE_SECRET) {
            self.control.pipeline.secret = Some(secret);
        }
        if let ExecutorConfig::Webhook { secret, .. } = &mut self.control.executor
            && let Some(value) = set(&env, ENV_WEBHOOK_SECRET)
        {
            *secret = Some(value);
        }
        Ok(())
    }

    /// Checks what TOML types cannot: hashes, names, origins, limits, and that demo tokens are
    /// served on loopback only.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |key: &str, problem: String| {
            Err(ConfigError::Invalid {
                key: key.to_owned(),
                problem,
            })
        };
        if self.demo && !self.listen.ip().is_loopback() {
            return invalid(
                "listen",
                format!(
                    "demo mode (no config file: well-known demo tokens) listens on loopback only, not on `{}`; pass --config (or set GATEHOUSE_CONFIG) with your own tokens to listen there, or listen on 127.0.0.1",
                    self.listen
                ),
            );
        }
        let mut names = BTreeMap::new();
        for (i, token) in self.tokens.iter().enumerate() {
            if token.sha256.len() != 64 || !token.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
                return invalid(
                    &format!("tokens[{i}].sha256"),
                    "must be 64 hex digits (sha256 of the token: `printf %s TOKEN | sha256sum`)"
                        .into(),
                );
            }
            if names.insert(token.sha256.to_ascii_lowercase(), i).is_some() {
                return invalid(
                    &format!("tokens[{i}]"),
                    "the same token hash is listed twice".into(),
                );
            }
            if token.name.trim().is_empty() || token.name.chars().any(char::is_control) {
                return invalid(
                    &format!("tokens[{i}].name"),
                    format!(
                        "{:?} is empty or has a control character; names are recorded as actors and shown in logs",
                        token.name
                    ),
                );
            }
            if let Some(c) = gatehouse_core::identity::format_character(&token.name) {
                return invalid(
                    &format!("tokens[{i}].name"),
                    format!(
                        "{:?} has the invisible format character U+{:04X} (a bidirectional control, a zero-width character, a soft hyphen); names are recorded as actors and shown in logs and the UI, where it would make one name look like another",
                        token.name, c as u32
                    ),
                );
            }
        }
        for origin in &self.cors.allowed_origins {
            if origin == "*" {
                return invalid(
                    "cors.allowed_origins",
                    "`*` is not allowed (requests carry credentials); list exact origins".into(),
                );
            }
            let parsed = url::Url::parse(origin).ok().filter(|u| {
                matches!(u.scheme(), "http" | "https")
                    && u.host().is_some_and(|host| match host {
                        url::Host::Domain(name) => is_dns_name(name),
                        url::Host::Ipv4(_) | url::Host::Ipv6(_) => true,
                    })
                    && u.path() == "/"
                    && u.query().is_none()
                    && u.fragment().is_none()
                    && u.username().is_empty()
            });
            if parsed.is_none()
                || origin.ends_with('/')
                || axum::http::HeaderValue::from_str(origin).is_err()
            {
                return invalid(
                    "cors.allowed_origins",
                    format!(
                        "`{origin}` is not an origin like https://portal.example.com (scheme, host and optional port; no wildcard, no path, no trailing slash); list each origin exactly"
                    ),
                );
            }
        }
        let l = &self.limits;
        if l.body_bytes == 0
            || l.json_depth == 0
            || l.json_items == 0
            || l.concurrency == 0
            || l.evaluation_concurrency == 0
            || l.max_connections == 0
            || l.max_connections_per_client == 0
            || l.idle_timeout_ms == 0
            || l.header_read_timeout_ms == 0
            || l.body_read_timeout_ms == 0
            || l.request_timeout_ms == 0
        {
            return invalid(
                "limits",
                "body_bytes, json_depth, json_items, concurrency, evaluation_concurrency, max_connections, max_connections_per_client, idle_timeout_ms, request_timeout_ms, header_read_timeout_ms and body_read_timeout_ms must be positive".into(),
            );
        }
        if l.body_bytes_in_flight < l.body_bytes || l.body_bytes_in_flight_per_client < l.body_bytes
        {
            return invalid(
                "limits.body_bytes_in_flight",
                format!(
                    "body_bytes_in_flight ({}) and body_bytes_in_flight_per_client ({}) must be at least body_bytes ({}), or a body of the largest allowed size could never be read",
                    l.body_bytes_in_flight, l.body_bytes_in_flight_per_client, l.body_bytes
                ),
            );
        }
        self.control_config().validate(self.demo)?;
        Ok(())
    }

    /// Reads the public keys of `[bundle] trusted_keys`.
    pub fn trusted_keys(&self) -> Result<Vec<gatehouse_core::TrustedKey>, ConfigError> {
        self.bundle
            .trusted_keys
            .iter()
            .enumerate()
            .map(|(i, path)| {
                let problem = |problem: String| ConfigError::Invalid {
                    key: format!("bundle.trusted_keys[{i}]"),
                    problem: format!("`{}`: {problem}", path.display()),
                };
                let text = std::fs::read_to_string(path).map_err(|e| problem(e.to_string()))?;
                gatehouse_core::TrustedKey::from_pem(&text).map_err(|e| problem(e.to_string()))
            })
            .collect()
    }

    /// Reads `[attestations]`: the signing key (with its `key_id`), the trusted keys, the
    /// verifier id. `None` when the section configures nothing. A key that is not an ed25519
    /// key in PEM, or `require_for_truth` with no key to verify with, is an error naming the
    /// key.
    pub fn attestations(
        &self,
    ) -> Result<Option<gatehouse_control::attestations::AttestationConfig>, ConfigError> {
        let a = &self.attestations;
        if a.signing_key.is_none() && a.trusted_keys.is_empty() && !a.require_for_truth {
            if a.key_id.is_some() || a.verifier_id.is_some() {
                return Err(ConfigError::Invalid {
                    key: "attestations.signing_key".into(),
                    problem: "`key_id` and `verifier_id` need a `signing_key` to sign with".into(),
                });
            }
            return Ok(None);
        }
        let read = |key: String, path: &Path| {
            std::fs::read_to_string(path).map_err(|e| ConfigError::Invalid {
                key: key.clone(),
                problem: format!("`{}`: {e}", path.display()),
            })
        };
        let signing_key = match &a.signing_key {
            Some(path) => {
                let key = "attestations.signing_key".to_owned();
                let problem = |e: gatehouse_core::KeyError| ConfigError::Invalid {
                    key: key.clone(),
                    problem: format!(
                        "`{}`: {e}; generate one with `openssl genpkey -algorithm ed25519 -out attest.pem`",
                        path.display()
                    ),
                };
                let mut signing = gatehouse_core::SigningKey::from_pem(&read(key.clone(), path)?)
                    .map_err(problem)?;
                if let Some(id) = &a.key_id {
                    signing =
                        signing
                            .with_key_id(id.clone())
                            .map_err(|e| ConfigError::Invalid {
                                key: "attestations.key_id".into(),
                                problem: e.to_string(),
                            })?;
                }
                Some(std::sync::Arc::new(signing))
            }
            None if a.key_id.is_some() => {
                return Err(ConfigError::Invalid {
                    key: "attestations.key_id".into(),
                    problem: "needs a `signing_key` to name".into(),
                });
            }
            None => None,
        };
        let mut trusted_keys = a
            .trusted_keys
            .iter()
            .enumerate()
            .map(|(i, path)| {
                let key = format!("attestations.trusted_keys[{i}]");
                gatehouse_core::TrustedKey::from_pem(&read(key.clone(), path)?).map_err(|e| {
                    ConfigError::Invalid {
                        key,
                        problem: format!("`{}`: {e}", path.display()),
                    }
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        if trusted_keys.is_empty()
            && let Some(signing) = &signing_key
        {
            trusted_keys.push(signing.trusted_key());
        }
        if a.require_for_truth && trusted_keys.is_empty() {
            return Err(ConfigError::Invalid {
                key: "attestations.require_for_truth".into(),
                problem: "needs a key to verify attestations with: set `signing_key` (its public key is trusted) or `trusted_keys`".into(),
            });
        }
        let verifier_id = a
            .verifier_id
            .clone()
            .or_else(|| {
                self.public_url
                    .as_ref()
                    .map(|url| url.trim_end_matches('/').to_owned())
            })
            .unwrap_or_else(|| DEFAULT_VERIFIER_ID.to_owned());
        Ok(Some(gatehouse_control::attestations::AttestationConfig {
            signing_key,
            verifier_id,
            trusted_keys,
            require_for_truth: a.require_for_truth,
        }))
    }

    /// The control plane's part of the configuration, without the trusted keys (their files are
    /// read by [`Config::trusted_keys`]).
    pub fn control_config(&self) -> ControlConfig {
        ControlConfig {
            settings: self.control.clone(),
            public_url: self.public_url(),
            evaluation: self.limits.evaluation(),
            trusted_keys: Vec::new(),
            attestations: None,
        }
    }

    /// The base URL pipelines call back on.
    pub fn public_url(&self) -> String {
        self.public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.listen))
            .trim_end_matches('/')
            .to_owned()
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: default_listen(),
            control: ControlSettings::default(),
            public_url: None,
            anonymous_read: false,
            tokens: Vec::new(),
            cors: CorsConfig::default(),
            limits: LimitsConfig::default(),
            ui: UiConfig::default(),
            metrics: MetricsConfig::default(),
            bundle: BundleConfig::default(),
            attestations: AttestationsConfig::default(),
            demo: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gatehouse_control::config::DispatchConfig;

    #[test]
    fn the_empty_file_is_all_defaults() {
        let c = Config::from_toml("").unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(c.limits.body_bytes, 1 << 20);
        assert!(!c.anonymous_read && c.tokens.is_empty());
        assert_eq!(c.control.executor.kind(), "none");
    }

    #[test]
    fn unknown_keys_are_errors_with_their_place() {
        let err = Config::from_toml("listen = \"127.0.0.1:1\"\nlisten_port = 3\n").unwrap_err();
        assert!(err.contains("listen_port"), "{err}");
        assert!(err.contains("line 2"), "{err}");
    }

    #[test]
    fn errors_in_the_control_plane_keys_point_into_them() {
        let err = Config::from_toml(
            "listen = \"127.0.0.1:1\"\n\n\n  [dispatch]\n  lease_ms = \"soon\"\n",
        )
        .unwrap_err();
        assert!(
            err.starts_with("TOML parse error at line 5, column 14\n"),
            "{err}"
        );
        assert!(
            err.ends_with("invalid type: string \"soon\", expected u64\n"),
            "{err}"
        );
        let err =
            Config::from_toml("database = \"x.db\"\n[pipeline]\nsecrett = \"x\"\n").unwrap_err();
        assert!(
            err.starts_with("TOML parse error at line 3, column 1\n"),
            "{err}"
        );
        assert!(
            err.ends_with(
                "unknown field `secrett`, expected `secret` or `timestamp_tolerance_s`\n"
            ),
            "{err}"
        );
        // An unknown top-level key is refused at its place, with every key of the file listed.
        let err = Config::from_toml("[cors]\n[retention]\n[pipelines]\n").unwrap_err();
        assert!(
            err.starts_with("TOML parse error at line 3, column 2\n"),
            "{err}"
        );
        assert!(
            err.ends_with(
                "unknown field `pipelines`, expected one of `listen`, `database`, `postgres`, `policies`, `public_url`, `anonymous_read`, `tokens`, `cors`, `pipeline`, `executor`, `limits`, `dispatch`, `ui`, `retention`, `metrics`, `decision_log`, `bundle`, `attestations`\n"
            ),
            "{err}"
        );
    }

    #[test]
    fn every_key_is_read_into_its_part() {
        let text = "listen = \"127.0.0.1:7000\"\ndatabase = \"x.db\"\npolicies = \"p\"\npublic_url = \"https://g.example.com\"\nanonymous_read = true\ntokens = []\n\
            [postgres]\npool_size = 2\n[cors]\nallowed_origins = [\"https://p.example.com\"]\n[pipeline]\ntimestamp_tolerance_s = 60\n\
            [executor]\nkind = \"webhook\"\nurl = \"http://h\"\n[limits]\njson_depth = 8\n[dispatch]\nmax_attempts = 2\n[ui]\nwasm_dir = \"w\"\n\
            [retention]\nidempotency_hours = 2\n[metrics]\npublic = true\n[decision_log]\nenabled = true\n[bundle]\ntrusted_keys = [\"k\"]\n\
            [attestations]\nrequire_for_truth = true\n";
        for key in KEYS {
            assert!(
                text.starts_with(&format!("{key} ="))
                    || text.contains(&format!("\n{key} ="))
                    || text.contains(&format!("[{key}]")),
                "{key}"
            );
        }
        let c = Config::from_toml(text).unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:7000");
        assert_eq!(c.control.database, Database::Sqlite("x.db".into()));
        assert_eq!(c.control.policies, PathBuf::from("p"));
        assert_eq!(c.public_url.as_deref(), Some("https://g.example.com"));
        assert!(c.anonymous_read && c.tokens.is_empty());
        assert_eq!(c.control.postgres.pool_size, 2);
        assert_eq!(c.cors.allowed_origins, ["https://p.example.com"]);
        assert_eq!(c.control.pipeline.timestamp_tolerance_s, 60);
        assert_eq!(c.control.executor.kind(), "webhook");
        assert_eq!(c.limits.json_depth, 8);
        assert_eq!(c.control.dispatch.max_attempts, 2);
        assert_eq!(c.ui.wasm_dir, Some(PathBuf::from("w")));
        assert_eq!(c.control.retention.idempotency_hours, 2);
        assert!(c.metrics.public);
        assert!(c.control.decision_log.enabled);
        assert_eq!(c.bundle.trusted_keys, [PathBuf::from("k")]);
        assert!(c.attestations.require_for_truth);
        // What a key leaves out keeps its default.
        assert_eq!(
            c.control.dispatch.lease_ms,
            DispatchConfig::default().lease_ms
        );
        assert!(!c.demo);
    }

    /// The example of this module's documentation, which docs/control-plane.md points to.
    #[test]
    fn the_documented_example_is_a_valid_file() {
        let doc: String = include_str!("config.rs")
            .lines()
            .map_while(|line| line.strip_prefix("//!"))
            .skip_while(|line| *line != " ```toml")
            .skip(1)
            .take_while(|line| *line != " ```")
            .map(|line| format!("{}\n", line.strip_prefix(' ').unwrap_or(line)))
            .collect();
        let c = Config::from_toml(&doc).unwrap();
        assert_eq!(c.control.executor.kind(), "github");
        assert_eq!(c.control.decision_log.mask, ["spec.tags.owner"]);
        assert_eq!(c.tokens.len(), 2);
    }

    #[test]
    fn executors_parse_by_kind() {
        let c = Config::from_toml(
            "[executor]\nkind = \"github\"\nowner = \"acme\"\nrepo = \"deploy\"\n",
        )
        .unwrap();
        let ExecutorConfig::Github {
            api_base,
            token_env,
            event_type,
            ..
        } = c.control.executor
        else {
            panic!("not github")
        };
        assert_eq!(api_base, "https://api.github.com");
        assert_eq!(token_env, "GITHUB_TOKEN");
        assert_eq!(event_type, "gatehouse-deploy");
    }

    #[test]
    fn the_database_is_a_file_or_a_postgres_url_with_its_pool() {
        assert_eq!(
            Config::from_toml("").unwrap().control.database,
            Database::Sqlite("gatehouse.db".into())
        );
        let c = Config::from_toml(
            "database = \"postgres://gh@db:5432/gatehouse\"\n[postgres]\npool_size = 4\n",
        )
        .unwrap();
        assert!(matches!(c.control.database, Database::Postgres(_)));
        assert_eq!(c.control.postgres.pool_size, 4);
        assert!(c.validate().is_ok());
        let c = Config::from_toml("database = \"postgres://gh@db:x/gatehouse\"\n").unwrap();
        let err = c.validate().unwrap_err().to_string();
        assert!(
            err.starts_with("config: database `postgres://gh@db:x"),
            "{err}"
        );
    }

    #[test]
    fn wildcard_cors_is_refused() {
        let c = Config::from_toml("[cors]\nallowed_origins = [\"*\"]\n").unwrap();
        assert!(
            c.validate()
                .unwrap_err()
                .to_string()
                .contains("`*` is not allowed")
        );
    }

    #[test]
    fn secrets_come_from_the_environment() {
        let mut c = Config::from_toml(
            "[pipeline]\nsecret = \"from-the-file-0123456789\"\n[executor]\nkind = \"webhook\"\nurl = \"http://x\"\n",
        )
        .unwrap();
        c.apply_env(|name| name.ends_with("_SECRET").then(|| format!("{name}-value")))
            .unwrap();
        assert_eq!(
            c.control.pipeline.secret.as_deref(),
            Some("GATEHOUSE_PIPELINE_SECRET-value")
        );
        let ExecutorConfig::Webhook { secret, .. } = c.control.executor else {
            panic!()
        };
        assert_eq!(secret.as_deref(), Some("GATEHOUSE_WEBHOOK_SECRET-value"));
    }

    #[test]
    fn the_ui_reads_the_wasm_package_from_a_configured_directory() {
        let c = Config::from_toml("").unwrap();
        assert_eq!(c.ui.wasm_dir, None);
        let c = Config::from_toml("[ui]\nwasm_dir = \"/srv/gatehouse/pkg\"\n").unwrap();
        assert_eq!(c.ui.wasm_dir, Some(PathBuf::from("/srv/gatehouse/pkg")));
        let err = Config::from_toml("[ui]\nwasm = \"x\"\n").unwrap_err();
        assert!(err.contains("wasm"), "{err}");
    }

    /// An environment of the given variables only.
    fn env_of(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    }

    fn write_config(dir: &Path, text: &str) -> PathBuf {
        let path = dir.join("gatehouse.toml");
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn flags_win_over_the_environment_which_wins_over_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = write_config(
            dir.path(),
            "listen = \"127.0.0.1:7001\"\ndatabase = \"file.db\"\npolicies = \"file-policies\"\n[ui]\nwasm_dir = \"file-pkg\"\n",
        );
        let file_var = file.to_str().unwrap();

        // The file alone, named by GATEHOUSE_CONFIG: not demo mode.
        let c = Config::load(&Overrides::default(), env_of(&[(ENV_CONFIG, file_var)])).unwrap();
        assert!(!c.demo);
        assert_eq!(c.listen.to_string(), "127.0.0.1:7001");
        assert_eq!(c.control.database, Database::Sqlite("file.db".into()));
        assert_eq!(c.control.policies, PathBuf::from("file-policies"));
        assert_eq!(c.ui.wasm_dir, Some(PathBuf::from("file-pkg")));

        // The environment over the file.
        let env = [
            (ENV_CONFIG, file_var),
            (ENV_LISTEN, "0.0.0.0:8080"),
            (ENV_DATABASE, "postgres://gh@db:5432/gatehouse"),
            (ENV_POLICIES, "/etc/gatehouse/policies"),
            (ENV_UI_WASM_DIR, "/usr/share/gatehouse/ui/pkg"),
        ];
        let c = Config::load(&Overrides::default(), env_of(&env)).unwrap();
        assert_eq!(c.listen.to_string(), "0.0.0.0:8080");
        assert_eq!(
            c.control.database,
            Database::Postgres("postgres://gh@db:5432/gatehouse".into())
        );
        assert_eq!(c.control.policies, PathBuf::from("/etc/gatehouse/policies"));
        assert_eq!(
            c.ui.wasm_dir,
            Some(PathBuf::from("/usr/share/gatehouse/ui/pkg"))
        );

        // The flags over the environment; --config over GATEHOUSE_CONFIG.
        let other = dir.path().join("other.toml");
        std::fs::write(&other, "listen = \"127.0.0.1:7002\"\n").unwrap();
        let flags = Overrides {
            config: Some(other),
            listen: Some("127.0.0.1:9000".parse().unwrap()),
            database: Some("flag.db".into()),
            policies: Some("flag-policies".into()),
            trusted_keys: Vec::new(),
        };
        let c = Config::load(&flags, env_of(&env)).unwrap();
        // `--trusted-key` adds to `[bundle] trusted_keys`, never replaces them.
        let keyed = dir.path().join("keyed.toml");
        std::fs::write(&keyed, "[bundle]\ntrusted_keys = [\"a.pub.pem\"]\n").unwrap();
        let k = Config::load(
            &Overrides {
                config: Some(keyed),
                trusted_keys: vec!["b.pub.pem".into()],
                ..Overrides::default()
            },
            env_of(&[]),
        )
        .unwrap();
        assert_eq!(
            k.bundle.trusted_keys,
            [PathBuf::from("a.pub.pem"), PathBuf::from("b.pub.pem")]
        );
        assert_eq!(c.listen.to_string(), "127.0.0.1:9000");
        assert_eq!(c.control.database, Database::Sqlite("flag.db".into()));
        assert_eq!(c.control.policies, PathBuf::from("flag-policies"));
        let c = Config::load(
            &Overrides {
                config: flags.config.clone(),
                ..Overrides::default()
            },
            env_of(&[(ENV_CONFIG, file_var)]),
        )
        .unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:7002");

        // Neither a file nor variables: the demo defaults. Empty variables count as unset.
        let c = Config::load(
            &Overrides::default(),
            env_of(&[(ENV_CONFIG, ""), (ENV_LISTEN, " ")]),
        )
        .unwrap();
        assert!(c.demo);
        assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(c.control.database, Database::Sqlite("gatehouse.db".into()));
        assert_eq!(c.control.policies, PathBuf::from("policies"));
        assert_eq!(c.ui.wasm_dir, None);
    }

    #[test]
    fn unusable_variables_are_errors_naming_the_variable() {
        let load = |vars: &[(&str, &str)]| {
            Config::load(&Overrides::default(), env_of(vars))
                .unwrap_err()
                .to_string()
        };
        let err = load(&[(ENV_LISTEN, "8080")]);
        assert_eq!(
            err,
            "environment variable GATEHOUSE_LISTEN: `8080` is not an address to listen on; write IP:PORT, e.g. 0.0.0.0:8080"
        );
        // A PostgreSQL URL that does not parse: named, its password not repeated.
        let err = load(&[(ENV_DATABASE, "postgres://gh:hunter2@db:x/gatehouse")]);
        assert!(
            err.starts_with("environment variable GATEHOUSE_DATABASE: `postgres://"),
            "{err}"
        );
        assert!(!err.contains("hunter2"), "{err}");
        let err = load(&[(ENV_CONFIG, "/nonexistent/gatehouse.toml")]);
        assert!(
            err.starts_with(
                "environment variable GATEHOUSE_CONFIG: cannot read config file /nonexistent/gatehouse.toml"
            ),
            "{err}"
        );
        let dir = tempfile::tempdir().unwrap();
        let bad = write_config(dir.path(), "listen_port = 1\n");
        let err = load(&[(ENV_CONFIG, bad.to_str().unwrap())]);
        assert!(
            err.starts_with("environment variable GATEHOUSE_CONFIG: config file "),
            "{err}"
        );
        assert!(err.contains("listen_port"), "{err}");
        // A flag does not rescue a bad variable: it is still a mistake to report.
        let err = Config::load(
            &Overrides {
                listen: Some("127.0.0.1:1".parse().unwrap()),
                ..Overrides::default()
            },
            env_of(&[(ENV_LISTEN, "localhost")]),
        )
        .unwrap_err();
        assert!(err.to_string().contains("GATEHOUSE_LISTEN"), "{err}");
    }
}
