//! `--github-reviews`: reads a pull request's reviews, and the members of the teams the bundle's
//! approvers data names, from the GitHub REST API; the core turns them into approvals
//! (`Engine::approvals_from_github`). All of the I/O of that feature is here.
//!
//! Why it is built this way:
//! - One small current-thread tokio runtime per run and reqwest's async client: the binary
//!   already links both (`gatehouse serve`), so no second HTTP stack is compiled in.
//! - Every request has a connect and a total timeout, and listings stop after [`MAX_PAGES`]
//!   pages with an error rather than a silent cut: a review left unread could be the request
//!   for changes that cancels an approval.
//! - The token is read from an environment variable (never a flag, which `ps` would show), is
//!   sent only as a bearer header marked sensitive, and is scrubbed from any text GitHub sends
//!   back before that text reaches an error message.
//! - Plain `http://` is refused except to a loopback address (tests, a local proxy): a token
//!   must not cross a network in clear text.
//! - The head commit that approvals must be of is the one this run checked: `--github-head-sha`,
//!   else the event's `pull_request.head.sha`, else the pull request's current head.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use gatehouse_core::{
    Approvers, Diagnostic, ErrorDetail, GithubTeam, PullRequestEvidence, PullRequestReview,
    ReviewApprovals, ReviewState, ReviewerOutcome, Timestamp,
};
use reqwest::header::{HeaderMap, LINK, RETRY_AFTER};
use serde::Deserialize;
use serde::de::DeserializeOwned;

/// Items per page asked of GitHub (its maximum).
const PER_PAGE: usize = 100;
/// Pages read at most per listing (3,000 reviews or team members).
pub const MAX_PAGES: usize = 30;
/// Time to establish a connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Time for a whole request, body included.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// The GitHub REST API when `GITHUB_API_URL` and `--github-api-url` are absent.
pub const DEFAULT_API_URL: &str = "https://api.github.com";
/// The variable that holds the token unless `--github-token-env` names another.
pub const DEFAULT_TOKEN_ENV: &str = "GITHUB_TOKEN";
/// The longest piece of a GitHub error message quoted back.
const MAX_QUOTED_CHARS: usize = 300;

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

/// What GitHub is asked about, for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resource {
    /// `GET /repos/{repo}/pulls/{n}`.
    PullRequest {
        /// `owner/repo`.
        repository: String,
        /// The number.
        number: u64,
    },
    /// `GET /repos/{repo}/pulls/{n}/reviews`.
    Reviews {
        /// `owner/repo`.
        repository: String,
        /// The number.
        number: u64,
    },
    /// `GET /orgs/{org}/teams/{slug}/members`.
    TeamMembers {
        /// The team.
        team: String,
    },
}

impl std::fmt::Display for Resource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::PullRequest { repository, number } => {
                write!(f, "pull request `{repository}#{number}`")
            }
            Self::Reviews { repository, number } => {
                write!(f, "the reviews of pull request `{repository}#{number}`")
            }
            Self::TeamMembers { team } => write!(f, "the members of team `{team}`"),
        }
    }
}

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
    /// 401.
    #[error("GitHub rejected the token in `${env}` (401 for GET {url}): {message}")]
    Unauthorized {
        /// The variable's name.
        env: String,
        /// The request.
        url: String,
        /// GitHub's message.
        message: String,
    },
    /// 403 or 404 without a rate limit.
    #[error("GitHub answered {status} for {resource} (GET {url}): {message}")]
    Forbidden {
        /// 403 or 404.
        status: u16,
        /// What was asked.
        resource: Resource,
        /// The request.
        url: String,
        /// GitHub's message.
        message: String,
    },
    /// The rate limit is spent.
    #[error("GitHub's API rate limit is spent (status {status} for GET {url}){}", match reset {
        Some(t) => format!("; it resets at {t}"),
        None => String::new(),
    })]
    RateLimited {
        /// 403 or 429.
        status: u16,
        /// The request.
        url: String,
        /// When it resets, when GitHub says.
        reset: Option<Timestamp>,
    },
    /// Another unsuccessful status.
    #[error("GitHub answered {status} for GET {url}: {message}")]
    Status {
        /// The status.
        status: u16,
        /// The request.
        url: String,
        /// GitHub's message.
        message: String,
    },
    /// No answer.
    #[error("GET {url} failed: {message}")]
    Network {
        /// The request.
        url: String,
        /// What happened (timeout, connection refused, TLS).
        message: String,
    },
    /// An answer that is not what the API documents.
    #[error("GitHub's answer to GET {url} is not the expected JSON: {message}")]
    Malformed {
        /// The request.
        url: String,
        /// What serde found.
        message: String,
    },
    /// A listing longer than the limit.
    #[error(
        "reading {resource} takes more than {MAX_PAGES} pages of {PER_PAGE}; refusing to judge on part of them"
    )]
    TooManyPages {
        /// What was listed.
        resource: Resource,
    },
    /// The HTTP client or runtime could not be set up.
    #[error("cannot set up the HTTP client: {message}")]
    Setup {
        /// Why.
        message: String,
    },
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
            Self::Unauthorized { .. } => "github_unauthorized",
            Self::Forbidden { .. } => "github_forbidden",
            Self::RateLimited { .. } => "github_rate_limited",
            Self::Status { .. } => "github_status",
            Self::Network { .. } => "github_network",
            Self::Malformed { .. } => "github_malformed_response",
            Self::TooManyPages { .. } => "github_too_many_pages",
            Self::Setup { .. } => "github_client",
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
            Self::Unauthorized { .. } => "the token is invalid or has expired; in GitHub Actions pass `${{ github.token }}` or a valid GitHub App or personal access token".to_owned(),
            Self::Forbidden {
                resource: Resource::TeamMembers { team },
                ..
            } => format!(
                "reading team members needs a token with the organization permission `members: read` (a GitHub App installation token or a fine-grained personal access token; the job's `GITHUB_TOKEN` cannot read teams): pass it with the action's `github-token` input or `--github-token-env`; a 404 also means that team `{team}` does not exist, so check `governance.approvers`"
            ),
            Self::Forbidden { .. } => "the token needs `pull-requests: read` on the repository: add `permissions: pull-requests: read` to the job (a 404 also means that the repository or the pull request does not exist, or that the token cannot see a private repository)".to_owned(),
            Self::RateLimited { .. } => "wait for the reset and run again; a job's `GITHUB_TOKEN` has its own, larger limit than anonymous requests".to_owned(),
            Self::Status { .. } | Self::Network { .. } => "GitHub may be unavailable: run again later, or check `--github-api-url` / `$GITHUB_API_URL`".to_owned(),
            Self::Malformed { .. } => "check that `--github-api-url` / `$GITHUB_API_URL` is GitHub's REST API".to_owned(),
            Self::TooManyPages { .. } => "a pull request with that many reviews, or a team with that many members, is not supported; name a smaller team in `governance.approvers`".to_owned(),
            Self::Setup { .. } => "this is a bug or a broken system TLS setup; please report it".to_owned(),
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
    pull_request: Option<EventPullRequest>,
}

#[derive(Deserialize)]
struct EventPullRequest {
    number: u64,
    head: Option<WireHead>,
}

#[derive(Deserialize)]
struct WireUser {
    login: String,
}

#[derive(Deserialize)]
struct WireHead {
    sha: String,
}

#[derive(Deserialize)]
struct WirePull {
    user: Option<WireUser>,
    head: WireHead,
}

#[derive(Deserialize)]
struct WireReview {
    id: u64,
    user: Option<WireUser>,
    state: ReviewState,
    #[serde(default)]
    commit_id: Option<String>,
    #[serde(default)]
    submitted_at: Option<String>,
    #[serde(default)]
    html_url: Option<String>,
}

fn is_repository(value: &str) -> bool {
    value.split_once('/').is_some_and(|(owner, repo)| {
        gatehouse_core::approvers::is_github_login(owner)
            && !repo.is_empty()
            && repo.len() <= 100
            && repo != "."
            && repo != ".."
            && repo
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    })
}

fn is_sha(value: &str) -> bool {
    matches!(value.len(), 40 | 64) && value.chars().all(|c| c.is_ascii_hexdigit())
}

/// `https://…`, or `http://` to a loopback host; without a trailing `/`.
fn api_url(url: &str) -> Result<String, GithubReviewsError> {
    let bad = |reason| GithubReviewsError::BadApiUrl {
        url: url.to_owned(),
        reason,
    };
    let parsed = reqwest::Url::parse(url).map_err(|_| bad("is not a URL"))?;
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(bad("must not hold credentials"));
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(bad("must not have a query or fragment"));
    }
    let host = parsed.host_str().ok_or_else(|| bad("has no host"))?;
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let loopback = bare.eq_ignore_ascii_case("localhost")
        || bare
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    match parsed.scheme() {
        "https" => {}
        "http" if loopback => {}
        "http" => {
            return Err(bad(
                "is plain http; the token is only sent over https (or to a loopback address)",
            ));
        }
        _ => return Err(bad("is not an http(s) URL")),
    }
    Ok(url.trim_end_matches('/').to_owned())
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
    let api = api_url(
        args.github_api_url
            .as_deref()
            .or(env.api_url.as_deref())
            .unwrap_or(DEFAULT_API_URL),
    )?;
    let event = match &env.event_path {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| GithubReviewsError::Event {
                path: path.clone(),
                message: e.to_string(),
            })?;
            serde_json::from_str::<Event>(&text)
                .map_err(|e| GithubReviewsError::Event {
                    path: path.clone(),
                    message: e.to_string(),
                })?
                .pull_request
        }
        None => None,
    };
    // An explicit number names another pull request than the event's: its head is not the
    // event's either.
    let (number, event_head) = match (args.github_pull_request, event) {
        (Some(n), Some(pr)) if pr.number == n => (n, pr.head.map(|h| h.sha)),
        (Some(n), _) => (n, None),
        (None, Some(pr)) => (pr.number, pr.head.map(|h| h.sha)),
        (None, None) => {
            return Err(GithubReviewsError::NotAPullRequest {
                event_name: env.event_name.clone(),
            });
        }
    };
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
    let setup = |message: String| GithubReviewsError::Setup { message };
    // reqwest is built with rustls and no default crypto provider: install ring once.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(REQUEST_TIMEOUT)
        .user_agent(concat!("gatehouse/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| setup(e.to_string()))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| setup(e.to_string()))?;
    runtime.block_on(read_all(
        &Api {
            client,
            target: &target,
        },
        teams,
    ))
}

struct Api<'a> {
    client: reqwest::Client,
    target: &'a Target,
}

async fn read_all(
    api: &Api<'_>,
    teams: &BTreeSet<GithubTeam>,
) -> Result<Fetched, GithubReviewsError> {
    let target = api.target;
    let repo_url = format!(
        "{}/repos/{}/pulls/{}",
        target.api, target.repository, target.number
    );
    let (pull, _) = api
        .get::<WirePull>(
            &repo_url,
            &Resource::PullRequest {
                repository: target.repository.clone(),
                number: target.number,
            },
        )
        .await?;
    let reviews = api
        .list::<WireReview>(
            &format!("{repo_url}/reviews"),
            &Resource::Reviews {
                repository: target.repository.clone(),
                number: target.number,
            },
        )
        .await?;
    let reviews_url = format!("{repo_url}/reviews");
    let reviews = reviews
        .into_iter()
        .map(|r| {
            let submitted_at = r
                .submitted_at
                .as_deref()
                .map(Timestamp::parse)
                .transpose()
                .map_err(|e| GithubReviewsError::Malformed {
                    url: reviews_url.clone(),
                    message: format!("review {}: `submitted_at`: {e}", r.id),
                })?;
            Ok(PullRequestReview {
                id: r.id,
                login: r.user.map(|u| u.login),
                state: r.state,
                commit_id: r.commit_id,
                submitted_at,
                html_url: r.html_url,
            })
        })
        .collect::<Result<Vec<_>, GithubReviewsError>>()?;
    let mut team_members = std::collections::BTreeMap::new();
    for team in teams {
        let members = api
            .list::<WireUser>(
                &format!(
                    "{}/orgs/{}/teams/{}/members",
                    target.api,
                    team.org(),
                    team.slug()
                ),
                &Resource::TeamMembers {
                    team: team.to_string(),
                },
            )
            .await?;
        team_members.insert(
            team.to_string(),
            members.into_iter().map(|m| m.login).collect(),
        );
    }
    let current_head = pull.head.sha;
    let head_sha = target
        .head_sha
        .clone()
        .unwrap_or_else(|| current_head.clone());
    Ok(Fetched {
        moved_head: (!current_head.eq_ignore_ascii_case(&head_sha)).then_some(current_head),
        pull_request: format!("{}#{}", target.repository, target.number),
        evidence: PullRequestEvidence {
            author: pull.user.map(|u| u.login).unwrap_or_default(),
            head_sha,
            reviews,
            team_members,
        },
    })
}

impl Api<'_> {
    /// One GET; the parsed body and the response headers.
    async fn get<T: DeserializeOwned>(
        &self,
        url: &str,
        resource: &Resource,
    ) -> Result<(T, HeaderMap), GithubReviewsError> {
        let response = self
            .client
            .get(url)
            .bearer_auth(&self.target.token)
            .header("accept", "application/vnd.github+json")
            .header("x-github-api-version", "2022-11-28")
            .send()
            .await
            .map_err(|e| GithubReviewsError::Network {
                url: url.to_owned(),
                message: if e.is_timeout() {
                    format!("no answer within {} s", REQUEST_TIMEOUT.as_secs())
                } else {
                    self.scrub(&error_chain(&e.without_url()))
                },
            })?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response
            .bytes()
            .await
            .map_err(|e| GithubReviewsError::Network {
                url: url.to_owned(),
                message: self.scrub(&error_chain(&e.without_url())),
            })?;
        if (200..300).contains(&status) {
            let value =
                serde_json::from_slice(&body).map_err(|e| GithubReviewsError::Malformed {
                    url: url.to_owned(),
                    message: e.to_string(),
                })?;
            return Ok((value, headers));
        }
        let message = self.github_message(&body);
        let url = url.to_owned();
        Err(match status {
            401 => GithubReviewsError::Unauthorized {
                env: self.target.token_env.clone(),
                url,
                message,
            },
            403 | 429 if rate_limited(&headers) || status == 429 => {
                GithubReviewsError::RateLimited {
                    status,
                    url,
                    reset: reset_time(&headers),
                }
            }
            403 | 404 => GithubReviewsError::Forbidden {
                status,
                resource: resource.clone(),
                url,
                message,
            },
            _ => GithubReviewsError::Status {
                status,
                url,
                message,
            },
        })
    }

    /// Every page of a listing: `per_page=100`, following `Link: rel="next"` when GitHub sends
    /// it, else until a page is not full.
    async fn list<T: DeserializeOwned>(
        &self,
        url: &str,
        resource: &Resource,
    ) -> Result<Vec<T>, GithubReviewsError> {
        let mut out = Vec::new();
        for page in 1..=MAX_PAGES {
            let (items, headers) = self
                .get::<Vec<T>>(&format!("{url}?per_page={PER_PAGE}&page={page}"), resource)
                .await?;
            let full = items.len() >= PER_PAGE;
            out.extend(items);
            let more = match headers.get(LINK).and_then(|v| v.to_str().ok()) {
                Some(link) => has_next(link),
                None => full,
            };
            if !more {
                return Ok(out);
            }
        }
        Err(GithubReviewsError::TooManyPages {
            resource: resource.clone(),
        })
    }

    /// GitHub's `message` field, shortened, printable, without the token.
    fn github_message(&self, body: &[u8]) -> String {
        #[derive(Deserialize)]
        struct Message {
            message: String,
        }
        let text = serde_json::from_slice::<Message>(body).map_or_else(
            |_| String::from_utf8_lossy(body).into_owned(),
            |m| m.message,
        );
        let text: String = self
            .scrub(&text)
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .take(MAX_QUOTED_CHARS)
            .collect();
        if text.trim().is_empty() {
            "no message".to_owned()
        } else {
            text.trim().to_owned()
        }
    }

    fn scrub(&self, text: &str) -> String {
        text.replace(self.target.token.as_str(), "***")
    }
}

fn short(sha: &str) -> &str {
    sha.get(..12).unwrap_or(sha)
}

/// The first note line: which pull request was read, and whether its head moved on.
pub fn header(fetched: &Fetched) -> String {
    let ev = &fetched.evidence;
    let mut text = format!(
        "github reviews: pull request `{}` by `{}`, commit `{}`: {} review{}\n",
        fetched.pull_request,
        ev.author,
        short(&ev.head_sha),
        ev.reviews.len(),
        if ev.reviews.len() == 1 { "" } else { "s" },
    );
    if let Some(current) = &fetched.moved_head {
        text.push_str(&format!(
            "  note: the pull request's head is now `{}`; approvals must be of `{}`, the commit this run checked\n",
            short(current),
            short(&ev.head_sha)
        ));
    }
    text
}

/// One line per reviewer: counted in which roles and under which identity, or why not.
pub fn verdicts(label: Option<&str>, result: &ReviewApprovals, approvers: &Approvers) -> String {
    let mut text = String::new();
    let indent = match label {
        Some(label) => {
            text.push_str(&format!("  with the {label}:\n"));
            "    "
        }
        None => "  ",
    };
    if result.reviewers.is_empty() {
        text.push_str(&format!("{indent}no review approves or requests changes\n"));
    }
    for reviewer in &result.reviewers {
        let login = reviewer.login.escape_debug();
        match &reviewer.outcome {
            ReviewerOutcome::Counted { by, roles } => {
                let roles = roles
                    .iter()
                    .map(|r| format!("`{r}`"))
                    .collect::<Vec<_>>()
                    .join(", ");
                text.push_str(&format!(
                    "{indent}`{login}` approves as {roles}, recorded as `{by}`"
                ));
                if approvers.mapped_identity(&reviewer.login).is_none() {
                    text.push_str(" (no entry in `governance.identities.github`: the engine cannot tell whether this reviewer is the intent's requester)");
                }
                text.push('\n');
            }
            ReviewerOutcome::NotCounted(why) => {
                text.push_str(&format!("{indent}`{login}` does not count: {why}\n"));
            }
        }
    }
    text
}

/// An error and its causes, joined (reqwest's top level alone says little: "error sending
/// request").
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn has_next(link: &str) -> bool {
    link.split(',').any(|part| {
        part.split(';')
            .skip(1)
            .any(|param| matches!(param.trim(), "rel=\"next\"" | "rel=next"))
    })
}

fn rate_limited(headers: &HeaderMap) -> bool {
    headers.contains_key(RETRY_AFTER)
        || headers
            .get("x-ratelimit-remaining")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim() == "0")
}

fn reset_time(headers: &HeaderMap) -> Option<Timestamp> {
    headers
        .get("x-ratelimit-reset")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<i64>().ok())
        .and_then(|s| Timestamp::from_unix_seconds(s).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_headers() {
        assert!(has_next(
            r#"<https://api.github.com/x?page=2>; rel="next", <https://api.github.com/x?page=3>; rel="last""#
        ));
        assert!(!has_next(
            r#"<https://api.github.com/x?page=1>; rel="prev""#
        ));
    }

    #[test]
    fn api_urls() {
        assert_eq!(
            api_url("https://api.github.com/").unwrap(),
            "https://api.github.com"
        );
        assert_eq!(
            api_url("http://127.0.0.1:9/api").unwrap(),
            "http://127.0.0.1:9/api"
        );
        assert!(api_url("http://localhost:9").is_ok());
        assert!(api_url("http://[::1]:9").is_ok());
        for bad in [
            "http://api.github.com",
            "ftp://api.github.com",
            "https://user:pw@api.github.com",
            "https://api.github.com?x=1",
            "api.github.com",
        ] {
            assert!(api_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn repositories_and_shas() {
        assert!(is_repository("acme/app.web_1"));
        assert!(!is_repository("acme"));
        assert!(!is_repository("acme/.."));
        assert!(!is_repository("acme/app/x"));
        assert!(is_sha(&"a".repeat(40)));
        assert!(!is_sha("abc1234"));
    }

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
