//! `--github-reviews`: reads a pull request's reviews, and the members of the teams the bundle's
//! approvers data names, from the GitHub REST API; the core turns them into approvals
//! (`Engine::approvals_from_github`). All of the I/O of that feature is here: the flags and the
//! Actions environment resolved into one pull request ([`rules`] holds the checks), then read
//! with the [`client`]. The notes it prints are `gatehouse_report::reviews`.
//!
//! Why it is built this way:
//! - The token is read from an environment variable (never a flag, which `ps` would show).
//! - Plain `http://` is refused except to a loopback address (tests, a local proxy): a token
//!   must not cross a network in clear text.
//! - The head commit that approvals must be of is the one this run checked: `--github-head-sha`,
//!   else the event's `pull_request.head.sha`, else the pull request's current head.

mod client;
mod rules;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use gatehouse_core::{Diagnostic, ErrorDetail, GithubTeam, PullRequestEvidence};
use serde::Deserialize;

use client::{GithubApiError, GithubClient};
use rules::{EventPullRequest, api_url, approval_head, is_repository, is_sha};

/// The flags of `--github-reviews` (part of the context flags of `check`, `explain`, `diff`).
#[derive(clap::Args, Debug, Clone)]
pub struct GithubReviewArgs {
    /// Add the pull request's approving reviews as approvals (source `github_review`): each
    /// reviewer's latest review, if it approves the head commit and the reviewer is not the
    /// author, in every role the bundle's `governance.approvers` gives them. Reads the GitHub
    /// API with the token in `$GITHUB_TOKEN`; the pull request comes from the Actions
    /// environment (`GITHUB_REPOSITORY`, `GITHUB_EVENT_PATH`) unless the flags below say.
    #[arg(long)]
    pub github_reviews: bool,
    /// The repository (default: `$GITHUB_REPOSITORY`).
    #[arg(long, value_name = "OWNER/REPO", requires = "github_reviews")]
    pub github_repository: Option<String>,
    /// The pull request number (default: `pull_request.number` of the event at
    /// `$GITHUB_EVENT_PATH`).
    #[arg(long, value_name = "N", requires = "github_reviews")]
    pub github_pull_request: Option<u64>,
    /// The commit approvals must be of (default: the event's `pull_request.head.sha`, else the
    /// pull request's current head).
    #[arg(long, value_name = "SHA", requires = "github_reviews")]
    pub github_head_sha: Option<String>,
    /// The REST API (default: `$GITHUB_API_URL`, else https://api.github.com).
    #[arg(long, value_name = "URL", requires = "github_reviews")]
    pub github_api_url: Option<String>,
    /// The environment variable that holds the token (default: `GITHUB_TOKEN`); a token itself
    /// is never a flag, which `ps` would show.
    #[arg(long, value_name = "NAME", requires = "github_reviews")]
    pub github_token_env: Option<String>,
}

/// The GitHub REST API when `GITHUB_API_URL` and `--github-api-url` are absent.
const DEFAULT_API_URL: &str = "https://api.github.com";
/// The variable that holds the token unless `--github-token-env` names another.
const DEFAULT_TOKEN_ENV: &str = "GITHUB_TOKEN";

/// Why the reviews could not be read. Never holds the token.
#[derive(Debug, thiserror::Error)]
pub enum GithubReviewsError {
    /// No token in the variable.
    #[error("`--github-reviews` needs a GitHub token in `${env}`, which is not set or empty")]
    MissingToken {
        /// The variable's name.
        env: String,
    },
    /// No repository.
    #[error(
        "`--github-reviews` needs the repository: `--github-repository` is not given and `$GITHUB_REPOSITORY` is not set"
    )]
    MissingRepository,
    /// Not `owner/repo`.
    #[error("repository `{}` is not `OWNER/REPO`", value.escape_debug())]
    BadRepository {
        /// The value.
        value: String,
    },
    /// No pull request number: not a pull request event.
    #[error("`--github-reviews` needs a pull request, and {}", match event_name {
        Some(name) => format!("this run is for a `{}` event, which has none", name.escape_debug()),
        None => "none was given (`--github-pull-request` is absent and `$GITHUB_EVENT_PATH` names no pull request event)".to_owned(),
    })]
    NotAPullRequest {
        /// `$GITHUB_EVENT_NAME`, when set.
        event_name: Option<String>,
    },
    /// The event file cannot be read.
    #[error("cannot read the GitHub event at `{}`: {message}", path.display())]
    Event {
        /// `$GITHUB_EVENT_PATH`.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// Not a usable API URL.
    #[error("GitHub API URL `{}` {reason}", url.escape_debug())]
    BadApiUrl {
        /// The URL.
        url: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// Not a commit SHA.
    #[error("`--github-head-sha` `{}` is not a full commit SHA (40 or 64 hex digits)", value.escape_debug())]
    BadHeadSha {
        /// The value.
        value: String,
    },
    /// GitHub's API gave no usable answer.
    #[error(transparent)]
    Api(#[from] GithubApiError),
}

impl Diagnostic for GithubReviewsError {
    fn code(&self) -> &'static str {
        match self {
            Self::MissingToken { .. } => "github_token_missing",
            Self::MissingRepository | Self::BadRepository { .. } => "github_repository",
            Self::NotAPullRequest { .. } => "github_not_a_pull_request",
            Self::Event { .. } => "github_event_unreadable",
            Self::BadApiUrl { .. } => "github_api_url",
            Self::BadHeadSha { .. } => "github_head_sha",
            Self::Api(error) => error.code(),
        }
    }

    fn details(&self) -> Vec<ErrorDetail> {
        let help = match self {
            Self::MissingToken { env } => format!(
                "in GitHub Actions give the step `env: {env}: ${{{{ github.token }}}}` (the Gatehouse action does), or name the variable that holds a token with `--github-token-env`"
            ),
            Self::MissingRepository | Self::BadRepository { .. } => {
                "pass `--github-repository OWNER/REPO`".to_owned()
            }
            Self::NotAPullRequest { .. } => "run on `pull_request`, `pull_request_target` or `pull_request_review` events, pass `--github-pull-request N`, or leave out `--github-reviews` (the Gatehouse action skips it on other events)".to_owned(),
            Self::Event { .. } => "`$GITHUB_EVENT_PATH` must name the event's JSON payload, as GitHub Actions sets it".to_owned(),
            Self::BadApiUrl { .. } => "use `https://api.github.com` or your GitHub Enterprise Server's `https://HOST/api/v3` (GitHub Actions sets `GITHUB_API_URL`)".to_owned(),
            Self::BadHeadSha { .. } => "pass the full SHA of the commit being checked, e.g. `${{ github.event.pull_request.head.sha }}`".to_owned(),
            Self::Api(error) => return error.details(),
        };
        vec![ErrorDetail::new(self.code(), self.to_string()).with_help(help)]
    }
}

/// The environment of a GitHub Actions step, as far as `--github-reviews` reads it.
#[derive(Debug, Clone, Default)]
pub struct ActionsEnv {
    /// `GITHUB_API_URL`.
    pub api_url: Option<String>,
    /// `GITHUB_REPOSITORY`.
    pub repository: Option<String>,
    /// `GITHUB_EVENT_PATH`.
    pub event_path: Option<PathBuf>,
    /// `GITHUB_EVENT_NAME`.
    pub event_name: Option<String>,
}

impl ActionsEnv {
    /// Reads the variables; empty ones count as unset.
    pub fn from_process() -> Self {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        Self {
            api_url: var("GITHUB_API_URL"),
            repository: var("GITHUB_REPOSITORY"),
            event_path: var("GITHUB_EVENT_PATH").map(PathBuf::from),
            event_name: var("GITHUB_EVENT_NAME"),
        }
    }
}

/// The pull request to read, resolved from the flags and the environment.
struct Target {
    api: String,
    repository: String,
    number: u64,
    /// From the flag or the event: the commit this run checked.
    head_sha: Option<String>,
    token_env: String,
    token: String,
}

/// The part of an event payload read here.
#[derive(Deserialize)]
struct Event {
    pull_request: Option<WireEventPullRequest>,
}

#[derive(Deserialize)]
struct WireEventPullRequest {
    number: u64,
    head: Option<WireEventHead>,
}

#[derive(Deserialize)]
struct WireEventHead {
    sha: String,
}

/// The pull request the event at `path` is about, if any.
fn read_event(path: &Path) -> Result<Option<EventPullRequest>, GithubReviewsError> {
    let unreadable = |message: String| GithubReviewsError::Event {
        path: path.to_path_buf(),
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|e| unreadable(e.to_string()))?;
    let event = serde_json::from_str::<Event>(&text).map_err(|e| unreadable(e.to_string()))?;
    Ok(event.pull_request.map(|pr| EventPullRequest {
        number: pr.number,
        head_sha: pr.head.map(|h| h.sha),
    }))
}

fn resolve(
    args: &GithubReviewArgs,
    env: &ActionsEnv,
    token_of: &dyn Fn(&str) -> Option<String>,
) -> Result<Target, GithubReviewsError> {
    let token_env = args
        .github_token_env
        .clone()
        .unwrap_or_else(|| DEFAULT_TOKEN_ENV.to_owned());
    // A token read from a file often ends in a newline, which no header may hold.
    let token = token_of(&token_env)
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty())
        .ok_or_else(|| GithubReviewsError::MissingToken {
            env: token_env.clone(),
        })?;
    let repository = args
        .github_repository
        .clone()
        .or_else(|| env.repository.clone())
        .ok_or(GithubReviewsError::MissingRepository)?;
    if !is_repository(&repository) {
        return Err(GithubReviewsError::BadRepository { value: repository });
    }
    let url = args
        .github_api_url
        .as_deref()
        .or(env.api_url.as_deref())
        .unwrap_or(DEFAULT_API_URL);
    let api = api_url(url).map_err(|reason| GithubReviewsError::BadApiUrl {
        url: url.to_owned(),
        reason,
    })?;
    let event = env
        .event_path
        .as_deref()
        .map(read_event)
        .transpose()?
        .flatten();
    let (number, event_head) =
        rules::pull_request(args.github_pull_request, event).ok_or_else(|| {
            GithubReviewsError::NotAPullRequest {
                event_name: env.event_name.clone(),
            }
        })?;
    let head_sha = match &args.github_head_sha {
        Some(sha) if is_sha(sha) => Some(sha.clone()),
        Some(sha) => return Err(GithubReviewsError::BadHeadSha { value: sha.clone() }),
        None => event_head.filter(|sha| is_sha(sha)),
    };
    Ok(Target {
        api,
        repository,
        number,
        head_sha,
        token_env,
        token,
    })
}

/// What was read, for the notes printed to stderr.
pub struct Fetched {
    /// The evidence for the core.
    pub evidence: PullRequestEvidence,
    /// `owner/repo#n`.
    pub pull_request: String,
    /// The pull request's current head, when it is not the commit checked.
    pub moved_head: Option<String>,
}

/// Reads the pull request, its reviews and the members of `teams`.
pub fn fetch(
    args: &GithubReviewArgs,
    env: &ActionsEnv,
    token_of: &dyn Fn(&str) -> Option<String>,
    teams: &BTreeSet<GithubTeam>,
) -> Result<Fetched, GithubReviewsError> {
    let target = resolve(args, env, token_of)?;
    let client = GithubClient::new(target.api, target.token, target.token_env)?;
    let pull = client.pull_request(&target.repository, target.number)?;
    let reviews = client.reviews(&target.repository, target.number)?;
    let mut team_members = BTreeMap::new();
    for team in teams {
        team_members.insert(team.to_string(), client.team_members(team)?);
    }
    let (head_sha, moved_head) = approval_head(target.head_sha, pull.head_sha);
    Ok(Fetched {
        moved_head,
        pull_request: format!("{}#{}", target.repository, target.number),
        evidence: PullRequestEvidence {
            author: pull.author.unwrap_or_default(),
            head_sha,
            reviews,
            team_members,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_explicit_number_drops_the_events_head() {
        let dir = tempfile::tempdir().unwrap();
        let event = dir.path().join("event.json");
        std::fs::write(
            &event,
            format!(
                r#"{{"pull_request": {{"number": 7, "head": {{"sha": "{}"}}}}}}"#,
                "a".repeat(40)
            ),
        )
        .unwrap();
        let env = ActionsEnv {
            repository: Some("acme/app".to_owned()),
            event_path: Some(event),
            ..ActionsEnv::default()
        };
        let token = |_: &str| Some("t".to_owned());
        let mut args = GithubReviewArgs {
            github_reviews: true,
            github_repository: None,
            github_pull_request: None,
            github_head_sha: None,
            github_api_url: None,
            github_token_env: None,
        };
        let target = resolve(&args, &env, &token).unwrap();
        assert_eq!((target.number, target.head_sha), (7, Some("a".repeat(40))));
        args.github_pull_request = Some(8);
        let target = resolve(&args, &env, &token).unwrap();
        assert_eq!((target.number, target.head_sha), (8, None));
    }
}
