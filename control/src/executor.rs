//! Executors: how an approved deployment reaches the pipeline that runs it. Gatehouse never
//! deploys anything itself; it triggers a GitHub `repository_dispatch`, a signed webhook or a
//! GitOps commit, and the pipeline reports back by callback.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use gatehouse_store::outbox::Dispatch;
use serde_json::{Value, json};

use crate::clock::unix_seconds;
use crate::config::{DispatchConfig, ExecutorConfig};
use crate::signature::{DELIVERY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, sign_dispatch};

/// A URL as it may be stored and logged: no userinfo, no query, no fragment (webhook URLs
/// carry tokens in `?token=`); `<unparseable URL>` when it does not parse.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) => {
            let _ = u.set_username("");
            let _ = u.set_password(None);
            u.set_query(None);
            u.set_fragment(None);
            u.to_string()
        }
        Err(_) => "<unparseable URL>".to_owned(),
    }
}

/// Text from elsewhere (a remote error, git's stderr) as it may be stored and logged: control
/// characters escaped (no forged log lines, no terminal escapes), at most `max` characters.
pub fn escape_remote(text: &str, max: usize) -> String {
    let mut out = String::new();
    for c in text.chars().take(max) {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// A failed delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct DispatchError {
    /// What went wrong (never includes a token).
    pub message: String,
    /// Whether another attempt may succeed (network errors, 5xx, 429).
    pub retryable: bool,
}

impl DispatchError {
    fn retry(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            retryable: true,
        }
    }

    fn permanent(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            retryable: false,
        }
    }
}

/// A configured executor.
pub enum Executor {
    /// Nothing is triggered.
    None,
    /// GitHub `repository_dispatch`.
    Github {
        /// HTTP client.
        client: reqwest::Client,
        /// `{api_base}/repos/{owner}/{repo}/dispatches`.
        url: String,
        /// The `event_type`.
        event_type: String,
        /// Name of the variable holding the token.
        token_env: String,
        /// The token, read at start.
        token: Option<String>,
    },
    /// Signed POST.
    Webhook {
        /// HTTP client.
        client: reqwest::Client,
        /// Where.
        url: String,
        /// HMAC key (configuration validation requires one of at least 16 characters; without
        /// one nothing is sent).
        secret: Option<String>,
    },
    /// Commit into a git checkout.
    Gitops {
        /// The checkout.
        repository: PathBuf,
        /// Directory inside it.
        path: String,
        /// Remote to push to.
        push_remote: Option<String>,
        /// Branch to push.
        branch: String,
    },
}

/// An executor that cannot be set up.
#[derive(Debug, thiserror::Error)]
#[error("executor `{kind}`: cannot build its HTTP client: {source}")]
pub struct ExecutorSetupError {
    /// The executor kind.
    pub kind: &'static str,
    /// Why.
    #[source]
    pub source: reqwest::Error,
}

fn client(
    kind: &'static str,
    dispatch: &DispatchConfig,
) -> Result<reqwest::Client, ExecutorSetupError> {
    // reqwest is built with rustls and no default crypto provider: install ring once.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(Duration::from_millis(dispatch.attempt_timeout_ms))
        .user_agent(concat!("gatehouse/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|source| ExecutorSetupError { kind, source })
}

impl Executor {
    /// Builds the executor the config names; `env` reads environment variables (tokens).
    pub fn from_config(
        config: &ExecutorConfig,
        dispatch: &DispatchConfig,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ExecutorSetupError> {
        Ok(match config {
            ExecutorConfig::None => Self::None,
            ExecutorConfig::Github {
                owner,
                repo,
                event_type,
                api_base,
                token_env,
            } => Self::Github {
                client: client("github", dispatch)?,
                url: format!(
                    "{}/repos/{owner}/{repo}/dispatches",
                    api_base.trim_end_matches('/')
                ),
                event_type: event_type.clone(),
                token_env: token_env.clone(),
                token: env(token_env).filter(|t| !t.is_empty()),
            },
            ExecutorConfig::Webhook { url, secret } => Self::Webhook {
                client: client("webhook", dispatch)?,
                url: url.clone(),
                secret: secret.clone(),
            },
            ExecutorConfig::Gitops {
                repository,
                path,
                push_remote,
                branch,
            } => Self::Gitops {
                repository: repository.clone(),
                path: path.clone(),
                push_remote: push_remote.clone(),
                branch: branch.clone(),
            },
        })
    }

    /// Delivers one dispatch at time `now` (the webhook signature's timestamp); returns the
    /// executor's receipt.
    pub async fn deliver(
        &self,
        dispatch: &Dispatch,
        now: gatehouse_core::Timestamp,
    ) -> Result<Value, DispatchError> {
        match self {
            Self::None => Ok(json!({"executor": "none"})),
            Self::Github {
                client,
                url,
                event_type,
                token_env,
                token,
            } => {
                let token = token.as_deref().ok_or_else(|| {
                    DispatchError::permanent(format!(
                        "the GitHub token variable `{token_env}` is not set"
                    ))
                })?;
                let body = json!({"event_type": event_type, "client_payload": dispatch.payload});
                let response = client
                    .post(url)
                    .bearer_auth(token)
                    .header("accept", "application/vnd.github+json")
                    .header("x-github-api-version", "2022-11-28")
                    .json(&body)
                    .send()
                    .await
                    .map_err(|e| send_error(url, e))?;
                check_status(url, &response)
            }
            Self::Webhook {
                client,
                url,
                secret,
            } => {
                // Never unsigned: a receiver could not tell this trigger from a forged one.
                let secret = secret.as_deref().ok_or_else(|| {
                    DispatchError::permanent(
                        "the webhook executor has no secret (`executor.secret` or GATEHOUSE_WEBHOOK_SECRET): nothing is sent unsigned",
                    )
                })?;
                let body = serde_json::to_vec(&dispatch.payload).map_err(|e| {
                    DispatchError::permanent(format!(
                        "the dispatch payload could not be written as JSON: {e}"
                    ))
                })?;
                // Signed like callbacks but under the dispatch context line, so a captured
                // dispatch never verifies as a callback (nor a callback as a dispatch).
                let delivery = format!("dispatch-{}", dispatch.id);
                let timestamp = unix_seconds(now);
                let signature = sign_dispatch(
                    secret.as_bytes(),
                    timestamp,
                    &dispatch.deployment_id,
                    &delivery,
                    &body,
                );
                let response = client
                    .post(url)
                    .header("content-type", "application/json")
                    .header("x-gatehouse-event", "dispatch")
                    .header(DELIVERY_HEADER, &delivery)
                    .header(TIMESTAMP_HEADER, timestamp.to_string())
                    .header(SIGNATURE_HEADER, signature)
                    .body(body)
                    .send()
                    .await
                    .map_err(|e| send_error(url, e))?;
                check_status(url, &response)
            }
            Self::Gitops {
                repository,
                path,
                push_remote,
                branch,
            } => {
                let (repository, path, push_remote, branch) = (
                    repository.clone(),
                    path.clone(),
                    push_remote.clone(),
                    branch.clone(),
                );
                let payload = dispatch.payload.clone();
                tokio::task::spawn_blocking(move || {
                    commit_manifest(
                        &repository,
                        &path,
                        push_remote.as_deref(),
                        &branch,
                        &payload,
                    )
                })
                .await
                .map_err(|e| DispatchError::retry(format!("git task failed: {e}")))?
            }
        }
    }
}

/// A request that got no answer: retryable; the URL redacted, the cause escaped.
fn send_error(url: &str, e: reqwest::Error) -> DispatchError {
    DispatchError::retry(format!(
        "POST {}: {}",
        redact_url(url),
        escape_remote(&e.without_url().to_string(), 300)
    ))
}

/// The receipt of a 2xx; otherwise the status code only (a remote body is neither stored nor
/// logged: it is the receiver's text, and may echo secrets).
fn check_status(url: &str, response: &reqwest::Response) -> Result<Value, DispatchError> {
    let status = response.status();
    if status.is_success() {
        return Ok(json!({"status": status.as_u16()}));
    }
    let message = format!("POST {} answered {status}", redact_url(url));
    if status.is_server_error() || status.as_u16() == 429 || status.as_u16() == 408 {
        Err(DispatchError::retry(message))
    } else {
        Err(DispatchError::permanent(message))
    }
}

fn git(repository: &Path, args: &[&str]) -> Result<String, DispatchError> {
    let output = Command::new("git")
        .arg("-C")
        .arg(repository)
        .args([
            "-c",
            "user.name=Gatehouse",
            "-c",
            "user.email=gatehouse@localhost",
        ])
        .args(args)
        .output()
        .map_err(|e| DispatchError::retry(format!("cannot run git: {e}")))?;
    // git's stderr may quote a remote's answer (push): escaped and cut like any remote text.
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
    } else {
        Err(DispatchError::retry(format!(
            "git {} failed: {}",
            args.first().copied().unwrap_or(""),
            escape_remote(String::from_utf8_lossy(&output.stderr).trim(), 500)
        )))
    }
}

/// Writes the approved intent to `{path}/{environment}/{service}.json` (the desired state of
/// that service in that environment) and commits it; pushes when a remote is configured. A
/// redelivery that finds the same manifest committed succeeds without a new commit.
fn commit_manifest(
    repository: &Path,
    path: &str,
    push_remote: Option<&str>,
    branch: &str,
    payload: &Value,
) -> Result<Value, DispatchError> {
    let field = |name: &str| {
        payload
            .get(name)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty() && !s.contains(['/', '\\']) && *s != "..")
            .map(str::to_owned)
            .ok_or_else(|| {
                DispatchError::permanent(format!("dispatch payload lacks a usable `{name}`"))
            })
    };
    let (environment, service, id) = (
        field("environment")?,
        field("service")?,
        field("deployment_id")?,
    );
    let relative = Path::new(path)
        .join(&environment)
        .join(format!("{service}.json"));
    let file = repository.join(&relative);
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| DispatchError::retry(format!("cannot create {}: {e}", dir.display())))?;
    }
    let manifest = json!({
        "apiVersion": "gatehouse.dev/v1",
        "kind": "ApprovedDeployment",
        "metadata": {
            "deployment_id": id,
            "bundle_digest": payload.get("bundle_digest"),
            "callback_url": payload.get("callback_url"),
        },
        "intent": payload.get("intent"),
    });
    let text = serde_json::to_string_pretty(&manifest).map_err(|e| {
        DispatchError::permanent(format!("the manifest could not be written as JSON: {e}"))
    })? + "\n";
    std::fs::write(&file, text)
        .map_err(|e| DispatchError::retry(format!("cannot write {}: {e}", file.display())))?;
    let relative = relative.to_string_lossy().into_owned();
    git(repository, &["add", "--", &relative])?;
    let changed = !git(repository, &["status", "--porcelain", "--", &relative])?.is_empty();
    if changed {
        let message = format!("gatehouse: deploy {service} to {environment} ({id})");
        git(
            repository,
            &["commit", "-q", "-m", &message, "--", &relative],
        )?;
    }
    let commit = git(repository, &["rev-parse", "HEAD"])?;
    if let Some(remote) = push_remote {
        git(
            repository,
            &["push", "-q", remote, &format!("HEAD:{branch}")],
        )?;
    }
    Ok(json!({"commit": commit, "path": relative, "new_commit": changed}))
}

#[cfg(test)]
mod tests {
    use gatehouse_core::Timestamp;

    use super::*;
    use gatehouse_store::outbox::DispatchStatus;

    fn dispatch(payload: Value) -> Dispatch {
        Dispatch {
            id: 1,
            deployment_id: "dep_1".into(),
            executor: "gitops".into(),
            payload,
            attempts: 0,
            status: DispatchStatus::Pending,
            next_attempt_at: Timestamp::parse("2026-11-23T10:00:00Z").unwrap(),
            last_error: None,
            receipt: None,
        }
    }

    #[tokio::test]
    async fn gitops_commits_the_manifest_once() {
        let dir = tempfile::tempdir().unwrap();
        let repo = dir.path();
        git(repo, &["init", "-q", "-b", "main"]).unwrap();
        let executor = Executor::Gitops {
            repository: repo.to_path_buf(),
            path: "deployments".into(),
            push_remote: None,
            branch: "main".into(),
        };
        let d = dispatch(json!({
            "deployment_id": "dep_1", "service": "payments-api", "environment": "prod",
            "intent": {"spec": {"service": "payments-api"}}, "bundle_digest": "sha256:x",
        }));
        let now = Timestamp::parse("2026-11-23T10:00:00Z").unwrap();
        let first = executor.deliver(&d, now).await.unwrap();
        assert_eq!(first["new_commit"], true);
        assert_eq!(first["path"], "deployments/prod/payments-api.json");
        let text =
            std::fs::read_to_string(repo.join("deployments/prod/payments-api.json")).unwrap();
        assert!(text.contains("\"deployment_id\": \"dep_1\""), "{text}");
        let log = git(repo, &["log", "--format=%s"]).unwrap();
        assert_eq!(log, "gatehouse: deploy payments-api to prod (dep_1)");
        // Redelivery after a crash: same manifest, no second commit, same receipt commit.
        let again = executor.deliver(&d, now).await.unwrap();
        assert_eq!(again["new_commit"], false);
        assert_eq!(again["commit"], first["commit"]);
    }

    #[tokio::test]
    async fn gitops_refuses_path_tricks() {
        let dir = tempfile::tempdir().unwrap();
        let executor = Executor::Gitops {
            repository: dir.path().to_path_buf(),
            path: "deployments".into(),
            push_remote: None,
            branch: "main".into(),
        };
        let err = executor
            .deliver(
                &dispatch(
                    json!({"deployment_id": "d", "service": "../etc", "environment": "prod"}),
                ),
                Timestamp::parse("2026-11-23T10:00:00Z").unwrap(),
            )
            .await
            .unwrap_err();
        assert!(!err.retryable);
        assert!(err.message.contains("`service`"), "{}", err.message);
    }

    #[test]
    fn urls_and_remote_text_are_redacted() {
        assert_eq!(
            redact_url("https://user:pw@hooks.example.com:8443/deploy?token=s3cret#x"),
            "https://hooks.example.com:8443/deploy"
        );
        assert_eq!(redact_url("not a url ?token=x"), "<unparseable URL>");
        assert_eq!(escape_remote("a\nb\u{1b}[31m", 100), "a\\nb\\u{1b}[31m");
        assert_eq!(escape_remote("abcdef", 3), "abc");
    }
}
