//! The control plane's configuration: where its state lives, the policy bundle, how pipelines
//! are triggered and retried, how callbacks are authenticated, how long replay records are kept
//! and how many evaluations run at once. A transport reads these from its own configuration file
//! (`gatehouse serve`'s TOML holds them under the same keys) and adds its own (listen address,
//! tokens, CORS).

use std::path::PathBuf;
use std::time::Duration;

use gatehouse_store::config::{Database, PostgresConfig};
use serde::Deserialize;

/// A configuration value that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key} {problem}")]
pub struct InvalidConfig {
    /// The key, e.g. `dispatch.lease_ms`.
    pub key: &'static str,
    /// What is wrong with it and how to fix it.
    pub problem: String,
}

/// The control plane's settings in a configuration file. A transport's file holds these keys
/// at its top level beside its own (`gatehouse serve`'s TOML: `database`, `[postgres]`,
/// `policies`, `[pipeline]`, `[executor]`, `[dispatch]`, `[retention]`, `[decision_log]`); every
/// key is optional.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ControlSettings {
    /// Where the control plane's state lives: an SQLite file, or a `postgres://` URL (several
    /// servers may share a PostgreSQL database). Default: `gatehouse.db`.
    pub database: Database,
    /// The PostgreSQL connection pool (with a `postgres://` database).
    pub postgres: PostgresConfig,
    /// The policy bundle directory (reloads read it again). Default: `policies`.
    pub policies: PathBuf,
    /// Pipeline callbacks.
    pub pipeline: PipelineConfig,
    /// What triggers the pipeline.
    pub executor: ExecutorConfig,
    /// Dispatch retries and leases.
    pub dispatch: DispatchConfig,
    /// How long idempotency and callback delivery records are kept for replay.
    pub retention: RetentionConfig,
    /// Whether and how decisions are logged.
    pub decision_log: DecisionLogConfig,
}

impl Default for ControlSettings {
    fn default() -> Self {
        Self {
            database: Database::Sqlite(PathBuf::from("gatehouse.db")),
            postgres: PostgresConfig::default(),
            policies: PathBuf::from("policies"),
            pipeline: PipelineConfig::default(),
            executor: ExecutorConfig::default(),
            dispatch: DispatchConfig::default(),
            retention: RetentionConfig::default(),
            decision_log: DecisionLogConfig::default(),
        }
    }
}

/// Everything the control plane needs besides its store and clock: the file's settings and what
/// the transport resolves from its own (the URL, the evaluation limits, the keys it read).
#[derive(Debug, Clone)]
pub struct ControlConfig {
    /// The settings of the configuration file.
    pub settings: ControlSettings,
    /// Base URL pipelines call back on (`{public_url}/v1/deployments/{id}/callbacks` goes into
    /// dispatch payloads).
    pub public_url: String,
    /// Policy evaluation limits.
    pub evaluation: EvaluationLimits,
    /// Public keys the bundle must be signed by, at start and at every reload; empty: signatures
    /// are not required.
    pub trusted_keys: Vec<gatehouse_core::TrustedKey>,
    /// Decision attestations (`[attestations]`); none: no attestation is issued and the
    /// deployment-truth gate requires none.
    pub attestations: Option<crate::attestations::AttestationConfig>,
}

impl ControlConfig {
    /// A configuration with defaults for everything but the bundle, the database and the URL.
    pub fn new(policies: PathBuf, database: Database, public_url: String) -> Self {
        Self {
            settings: ControlSettings {
                policies,
                database,
                ..ControlSettings::default()
            },
            public_url,
            evaluation: EvaluationLimits::default(),
            trusted_keys: Vec::new(),
            attestations: None,
        }
    }

    /// Checks what types cannot: leases longer than attempts, retention longer than the
    /// callback timestamp window, positive limits. `demo` accepts the short demo secret.
    pub fn validate(&self, demo: bool) -> Result<(), InvalidConfig> {
        let invalid = |key, problem: String| Err(InvalidConfig { key, problem });
        let settings = &self.settings;
        settings.database.validate().map_err(|e| InvalidConfig {
            key: "database",
            problem: e.to_string(),
        })?;
        let pool = &settings.postgres;
        if pool.pool_size == 0 || pool.connect_timeout_ms == 0 || pool.acquire_timeout_ms == 0 {
            return invalid(
                "postgres",
                "pool_size, connect_timeout_ms and acquire_timeout_ms must be positive".into(),
            );
        }
        if settings.dispatch.max_attempts == 0 {
            return invalid("dispatch.max_attempts", "must be at least 1".into());
        }
        if settings.dispatch.lease_ms <= settings.dispatch.attempt_timeout_ms {
            return invalid(
                "dispatch.lease_ms",
                format!(
                    "({}) must exceed dispatch.attempt_timeout_ms ({}): a lease that ends during an attempt lets another server deliver the same entry",
                    settings.dispatch.lease_ms, settings.dispatch.attempt_timeout_ms
                ),
            );
        }
        if matches!(&settings.pipeline.secret, Some(s) if s.len() < MIN_SECRET_CHARS) && !demo {
            return invalid(
                "pipeline.secret",
                format!(
                    "must be at least {MIN_SECRET_CHARS} characters (or set GATEHOUSE_PIPELINE_SECRET)"
                ),
            );
        }
        if let ExecutorConfig::Webhook { secret, .. } = &settings.executor
            && secret
                .as_deref()
                .is_none_or(|s| s.chars().count() < MIN_SECRET_CHARS)
        {
            return invalid(
                "executor.secret",
                format!(
                    "must be at least {MIN_SECRET_CHARS} characters for `kind = \"webhook\"` (or set GATEHOUSE_WEBHOOK_SECRET): receivers verify every dispatch with it, and nothing is sent unsigned"
                ),
            );
        }
        let window = settings.pipeline.timestamp_tolerance_s;
        for (key, hours) in [
            (
                "retention.idempotency_hours",
                settings.retention.idempotency_hours,
            ),
            (
                "retention.delivery_hours",
                settings.retention.delivery_hours,
            ),
        ] {
            if hours.saturating_mul(3600) <= window {
                return invalid(
                    key,
                    format!(
                        "({hours} h) must exceed the callback timestamp window (pipeline.timestamp_tolerance_s = {window} s), or a replay could outlive its record"
                    ),
                );
            }
        }
        if settings.retention.purge_interval_s == 0 {
            return invalid("retention.purge_interval_s", "must be positive".into());
        }
        if let Some(path) = settings
            .decision_log
            .mask
            .iter()
            .find(|p| !crate::decision_log::valid_mask(p))
        {
            return invalid(
                "decision_log.mask",
                format!(
                    "{path:?} is not a field path: write dot-separated keys, `*` for any key or item, e.g. `spec.tags.owner` or `spec.resources.*.name`"
                ),
            );
        }
        if settings.decision_log.retention_hours == 0 {
            return invalid("decision_log.retention_hours", "must be positive".into());
        }
        if self.evaluation.concurrency == 0 {
            return invalid("limits.evaluation_concurrency", "must be positive".into());
        }
        if !(1..=MAX_SPLIT).contains(&self.evaluation.split) {
            return invalid(
                "limits.evaluation_split",
                format!(
                    "({}) must be between 1 (one thread per decision) and {MAX_SPLIT}",
                    self.evaluation.split
                ),
            );
        }
        if self.evaluation.decision_cache > MAX_CACHED_DECISIONS {
            return invalid(
                "limits.decision_cache_entries",
                format!(
                    "({}) must be at most {MAX_CACHED_DECISIONS} (0 turns the cache off)",
                    self.evaluation.decision_cache
                ),
            );
        }
        Ok(())
    }
}

/// How pipelines authenticate their callbacks.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineConfig {
    /// HMAC-SHA256 key; `GATEHOUSE_PIPELINE_SECRET` overrides it. Without one, callbacks are
    /// refused.
    #[serde(default)]
    pub secret: Option<String>,
    /// Callbacks whose `X-Gatehouse-Timestamp` is further than this from the server's time are
    /// refused (seconds).
    #[serde(default = "default_timestamp_tolerance_s")]
    pub timestamp_tolerance_s: u64,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        Self {
            secret: None,
            timestamp_tolerance_s: default_timestamp_tolerance_s(),
        }
    }
}

/// How long stored responses are kept for replay.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionConfig {
    /// Hours an `Idempotency-Key` record is kept.
    #[serde(default = "default_idempotency_hours")]
    pub idempotency_hours: u64,
    /// Hours a callback delivery record is kept (must exceed the timestamp window, so a
    /// captured callback cannot be replayed after its record is gone).
    #[serde(default = "default_delivery_hours")]
    pub delivery_hours: u64,
    /// Seconds between purges.
    #[serde(default = "default_purge_interval_s")]
    pub purge_interval_s: u64,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        Self {
            idempotency_hours: default_idempotency_hours(),
            delivery_hours: default_delivery_hours(),
            purge_interval_s: default_purge_interval_s(),
        }
    }
}

/// The decision log: every evaluation's record (the decision, bundle, caller, time and the
/// intent with `mask`ed fields), for audit.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecisionLogConfig {
    /// Record decisions (every decision gets an id either way).
    #[serde(default)]
    pub enabled: bool,
    /// Intent fields replaced by `***` in the record: dot-separated paths, `*` for any key or
    /// array item, e.g. `spec.tags.owner`, `spec.resources.*.name`.
    #[serde(default)]
    pub mask: Vec<String>,
    /// Hours a record is kept.
    #[serde(default = "default_decision_retention_hours")]
    pub retention_hours: u64,
}

impl Default for DecisionLogConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            mask: Vec::new(),
            retention_hours: default_decision_retention_hours(),
        }
    }
}

/// The executor that triggers pipelines.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum ExecutorConfig {
    /// Nothing is triggered; an external pipeline calls back on its own.
    #[default]
    None,
    /// GitHub `repository_dispatch`.
    Github {
        /// Repository owner.
        owner: String,
        /// Repository name.
        repo: String,
        /// `event_type` of the dispatch.
        #[serde(default = "default_event_type")]
        event_type: String,
        /// API base URL (GitHub Enterprise, or a test receiver).
        #[serde(default = "default_github_api")]
        api_base: String,
        /// Environment variable holding the token.
        #[serde(default = "default_github_token_env")]
        token_env: String,
    },
    /// A signed POST to a URL.
    Webhook {
        /// Where to POST.
        url: String,
        /// HMAC key for `X-Gatehouse-Signature-256` (over the `gatehouse-dispatch-v1` context);
        /// `GATEHOUSE_WEBHOOK_SECRET` overrides it. Required, at least 16 characters.
        #[serde(default)]
        secret: Option<String>,
    },
    /// A commit of the approved intent into a git checkout, for Argo CD or Flux to sync.
    Gitops {
        /// The local checkout.
        repository: PathBuf,
        /// Directory inside it; manifests go to `{path}/{environment}/{service}.json`.
        #[serde(default = "default_gitops_path")]
        path: String,
        /// Remote to push to after each commit (none: commit only).
        #[serde(default)]
        push_remote: Option<String>,
        /// Branch to push.
        #[serde(default = "default_branch")]
        branch: String,
    },
}

impl ExecutorConfig {
    /// `github`, `webhook`, `gitops` or `none`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Github { .. } => "github",
            Self::Webhook { .. } => "webhook",
            Self::Gitops { .. } => "gitops",
        }
    }
}

/// Dispatch retry budget.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DispatchConfig {
    /// Attempts before the deployment becomes FAILED.
    #[serde(default = "default_max_attempts")]
    pub max_attempts: u32,
    /// Wait after the first failure; doubles each time.
    #[serde(default = "default_initial_backoff_ms")]
    pub initial_backoff_ms: u64,
    /// Longest wait.
    #[serde(default = "default_max_backoff_ms")]
    pub max_backoff_ms: u64,
    /// Per-attempt HTTP timeout.
    #[serde(default = "default_attempt_timeout_ms")]
    pub attempt_timeout_ms: u64,
    /// How long a server holds an outbox entry it claimed; after that (it died mid-dispatch)
    /// the entry is claimable again. Must exceed `attempt_timeout_ms`.
    #[serde(default = "default_lease_ms")]
    pub lease_ms: u64,
}

impl Default for DispatchConfig {
    fn default() -> Self {
        Self {
            max_attempts: default_max_attempts(),
            initial_backoff_ms: default_initial_backoff_ms(),
            max_backoff_ms: default_max_backoff_ms(),
            attempt_timeout_ms: default_attempt_timeout_ms(),
            lease_ms: default_lease_ms(),
        }
    }
}

impl DispatchConfig {
    /// Wait before attempt `attempts + 1`, after `attempts` failures.
    pub fn backoff(&self, attempts: u32) -> Duration {
        let factor = 1u64 << attempts.saturating_sub(1).min(20);
        Duration::from_millis(
            self.initial_backoff_ms
                .saturating_mul(factor)
                .min(self.max_backoff_ms),
        )
    }
}

/// Policy evaluation limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvaluationLimits {
    /// One evaluation's time limit (it fails closed past it).
    pub timeout_ms: u64,
    /// Evaluations at once.
    pub concurrency: usize,
    /// How long an evaluation waits for a slot before it is refused as overloaded.
    pub wait_ms: u64,
    /// The parts each decision's policy packages are spread over, evaluated on rayon's pool
    /// (`Engine::load_split`); 1 evaluates each decision on one thread. Same bytes either way.
    pub split: usize,
    /// Decisions kept in memory (`DecisionCache`), keyed by bundle, stage, intent and context;
    /// 0 turns the cache off. Only requests that repeat the context (a `now` of their own, as
    /// previews and re-runs send) can hit: the server's own context carries the current time.
    pub decision_cache: usize,
}

/// The shortest pipeline or webhook secret accepted.
pub const MIN_SECRET_CHARS: usize = 16;

/// The largest `limits.evaluation_split`.
pub const MAX_SPLIT: usize = 64;
/// The largest `limits.decision_cache_entries`.
pub const MAX_CACHED_DECISIONS: usize = 1_000_000;

impl Default for EvaluationLimits {
    fn default() -> Self {
        Self {
            timeout_ms: 2_000,
            concurrency: std::thread::available_parallelism()
                .map_or(1, std::num::NonZeroUsize::get),
            wait_ms: 1_000,
            split: 1,
            decision_cache: 0,
        }
    }
}

fn default_decision_retention_hours() -> u64 {
    24 * 90
}
fn default_event_type() -> String {
    "gatehouse-deploy".into()
}
fn default_github_api() -> String {
    "https://api.github.com".into()
}
fn default_github_token_env() -> String {
    "GITHUB_TOKEN".into()
}
fn default_gitops_path() -> String {
    "deployments".into()
}
fn default_branch() -> String {
    "main".into()
}
fn default_max_attempts() -> u32 {
    6
}
fn default_initial_backoff_ms() -> u64 {
    500
}
fn default_max_backoff_ms() -> u64 {
    60_000
}
fn default_attempt_timeout_ms() -> u64 {
    10_000
}
fn default_lease_ms() -> u64 {
    60_000
}
fn default_timestamp_tolerance_s() -> u64 {
    300
}
fn default_idempotency_hours() -> u64 {
    24
}
fn default_delivery_hours() -> u64 {
    168
}
fn default_purge_interval_s() -> u64 {
    3600
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let d = DispatchConfig {
            max_attempts: 10,
            initial_backoff_ms: 100,
            max_backoff_ms: 1000,
            attempt_timeout_ms: 1,
            lease_ms: 2,
        };
        let waits: Vec<u128> = (1..=6).map(|n| d.backoff(n).as_millis()).collect();
        assert_eq!(waits, [100, 200, 400, 800, 1000, 1000]);
    }

    #[test]
    fn settings_keep_their_defaults_for_the_keys_left_out() {
        let settings: ControlSettings = serde_json::from_value(serde_json::json!({
            "database": "x.db",
            "dispatch": {"lease_ms": 70_000},
        }))
        .unwrap();
        assert_eq!(settings.database, Database::Sqlite("x.db".into()));
        assert_eq!(settings.dispatch.lease_ms, 70_000);
        assert_eq!(settings.dispatch.max_attempts, 6);
        assert_eq!(settings.policies, PathBuf::from("policies"));
        assert_eq!(settings.executor.kind(), "none");
        let err = serde_json::from_value::<ControlSettings>(serde_json::json!({"listen": 1}))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("unknown field `listen`"), "{err}");
    }

    #[test]
    fn a_lease_shorter_than_an_attempt_is_refused() {
        let mut c = ControlConfig::new("p".into(), Database::parse("d"), "http://x".into());
        assert!(c.validate(false).is_ok());
        c.settings.dispatch.lease_ms = c.settings.dispatch.attempt_timeout_ms;
        let err = c.validate(false).unwrap_err();
        assert_eq!(err.key, "dispatch.lease_ms");
        assert!(err.to_string().contains("another server"), "{err}");
    }

    #[test]
    fn a_webhook_needs_a_secret_of_16_characters() {
        let mut c = ControlConfig::new("p".into(), Database::parse("d"), "http://x".into());
        for (secret, ok) in [
            (None, false),
            (Some("x"), false),
            (Some("fifteen-chars-x"), false),
            (Some("sixteen-chars-xy"), true),
        ] {
            c.settings.executor = ExecutorConfig::Webhook {
                url: "http://hooks.example.com".into(),
                secret: secret.map(str::to_owned),
            };
            // Demo mode does not lower the bar for dispatches.
            let result = c.validate(true);
            assert_eq!(result.is_ok(), ok, "{secret:?}: {result:?}");
            if let Err(err) = result {
                assert_eq!(err.key, "executor.secret");
            }
        }
    }
}
