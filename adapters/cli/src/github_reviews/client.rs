//! The GitHub REST client of `--github-reviews`: a pull request, its reviews and a team's
//! members, each read with a bearer token, and its errors.
//!
//! Why it is built this way:
//! - One small current-thread tokio runtime per run and reqwest's async client: the binary
//!   already links both (`gatehouse serve`), so no second HTTP stack is compiled in.
//! - Every request has a connect and a total timeout, and listings stop after [`MAX_PAGES`]
//!   pages with an error rather than a silent cut: a review left unread could be the request
//!   for changes that cancels an approval.
//! - The token is sent only as a bearer header marked sensitive, and is scrubbed from any text
//!   GitHub sends back before that text reaches an error message.

use std::time::Duration;

use gatehouse_core::{
    Diagnostic, ErrorDetail, GithubTeam, PullRequestReview, ReviewState, Timestamp,
};
use reqwest::header::{HeaderMap, LINK, RETRY_AFTER};
use serde::Deserialize;
use serde::de::DeserializeOwned;

/// Items per page asked of GitHub (its maximum).
const PER_PAGE: usize = 100;
/// Pages read at most per listing (3,000 reviews or team members).
const MAX_PAGES: usize = 30;
/// Time to establish a connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Time for a whole request, body included.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// The longest piece of a GitHub error message quoted back.
const MAX_QUOTED_CHARS: usize = 300;

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

/// Why GitHub's REST API gave no usable answer. Never holds the token.
#[derive(Debug, thiserror::Error)]
pub enum GithubApiError {
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

impl Diagnostic for GithubApiError {
    fn code(&self) -> &'static str {
        match self {
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

/// A pull request as read here.
pub struct PullRequest {
    /// The author's login; `None` for a deleted account.
    pub author: Option<String>,
    /// Its current head commit.
    pub head_sha: String,
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

/// GitHub's REST API at one base URL, with one token; each read blocks until it is done.
pub struct GithubClient {
    http: reqwest::Client,
    runtime: tokio::runtime::Runtime,
    /// The base URL, without a trailing `/`.
    api: String,
    token: String,
    /// The variable the token came from, for messages.
    token_env: String,
}

impl GithubClient {
    /// A client of the API at `api` (checked, without a trailing `/`) sending `token`, read
    /// from the variable `token_env`.
    pub fn new(api: String, token: String, token_env: String) -> Result<Self, GithubApiError> {
        let setup = |message: String| GithubApiError::Setup { message };
        // reqwest is built with rustls and no default crypto provider: install ring once.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .user_agent(concat!("gatehouse/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| setup(e.to_string()))?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| setup(e.to_string()))?;
        Ok(Self {
            http,
            runtime,
            api,
            token,
            token_env,
        })
    }

    /// `GET /repos/{repository}/pulls/{number}`.
    pub fn pull_request(
        &self,
        repository: &str,
        number: u64,
    ) -> Result<PullRequest, GithubApiError> {
        let resource = Resource::PullRequest {
            repository: repository.to_owned(),
            number,
        };
        let (pull, _) = self
            .runtime
            .block_on(self.get::<WirePull>(&pull_url(&self.api, repository, number), &resource))?;
        Ok(PullRequest {
            author: pull.user.map(|u| u.login),
            head_sha: pull.head.sha,
        })
    }

    /// Every review of the pull request, in GitHub's order.
    pub fn reviews(
        &self,
        repository: &str,
        number: u64,
    ) -> Result<Vec<PullRequestReview>, GithubApiError> {
        let url = format!("{}/reviews", pull_url(&self.api, repository, number));
        let resource = Resource::Reviews {
            repository: repository.to_owned(),
            number,
        };
        let reviews = self
            .runtime
            .block_on(self.list::<WireReview>(&url, &resource))?;
        reviews
            .into_iter()
            .map(|r| {
                let submitted_at = r
                    .submitted_at
                    .as_deref()
                    .map(Timestamp::parse)
                    .transpose()
                    .map_err(|e| GithubApiError::Malformed {
                        url: url.clone(),
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
            .collect()
    }

    /// The logins of the team's members.
    pub fn team_members(&self, team: &GithubTeam) -> Result<Vec<String>, GithubApiError> {
        let url = format!(
            "{}/orgs/{}/teams/{}/members",
            self.api,
            team.org(),
            team.slug()
        );
        let resource = Resource::TeamMembers {
            team: team.to_string(),
        };
        let members = self
            .runtime
            .block_on(self.list::<WireUser>(&url, &resource))?;
        Ok(members.into_iter().map(|m| m.login).collect())
    }

    /// One GET; the parsed body and the response headers.
    async fn get<T: DeserializeOwned>(
        &self,
        url: &str,
        resource: &Resource,
    ) -> Result<(T, HeaderMap), GithubApiError> {
        let response = self
            .http
            .get(url)
            .bearer_auth(&self.token)
            .header("accept", "application/vnd.github+json")
            .header("x-github-api-version", "2022-11-28")
            .send()
            .await
            .map_err(|e| GithubApiError::Network {
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
            .map_err(|e| GithubApiError::Network {
                url: url.to_owned(),
                message: self.scrub(&error_chain(&e.without_url())),
            })?;
        if (200..300).contains(&status) {
            let value = serde_json::from_slice(&body).map_err(|e| GithubApiError::Malformed {
                url: url.to_owned(),
                message: e.to_string(),
            })?;
            return Ok((value, headers));
        }
        let message = self.github_message(&body);
        let url = url.to_owned();
        Err(match status {
            401 => GithubApiError::Unauthorized {
                env: self.token_env.clone(),
                url,
                message,
            },
            403 | 429 if rate_limited(&headers) || status == 429 => GithubApiError::RateLimited {
                status,
                url,
                reset: reset_time(&headers),
            },
            403 | 404 => GithubApiError::Forbidden {
                status,
                resource: resource.clone(),
                url,
                message,
            },
            _ => GithubApiError::Status {
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
    ) -> Result<Vec<T>, GithubApiError> {
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
        Err(GithubApiError::TooManyPages {
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
        text.replace(self.token.as_str(), "***")
    }
}

/// `{api}/repos/{repository}/pulls/{number}`.
fn pull_url(api: &str, repository: &str, number: u64) -> String {
    format!("{api}/repos/{repository}/pulls/{number}")
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
}
