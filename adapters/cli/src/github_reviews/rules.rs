//! The rules of `--github-reviews` that need no I/O: which repository names, commit SHAs and API
//! URLs are accepted, which pull request is read, and which commit approvals must be of.
//!
//! Which reviews then count as approvals, and in which roles, is the core's rule
//! (`Approvers::approvals_from_github`).

/// Whether `value` is `owner/repo` as GitHub spells them.
pub fn is_repository(value: &str) -> bool {
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

/// Whether `value` is a full commit SHA (SHA-1 or SHA-256, in hex).
pub fn is_sha(value: &str) -> bool {
    matches!(value.len(), 40 | 64) && value.chars().all(|c| c.is_ascii_hexdigit())
}

/// The API's base URL, without a trailing `/`: `https://…`, or `http://` to a loopback host
/// (tests, a local proxy), since a token must not cross a network in clear text. Else what is
/// wrong with it.
pub fn api_url(url: &str) -> Result<String, &'static str> {
    let parsed = reqwest::Url::parse(url).map_err(|_| "is not a URL")?;
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err("must not hold credentials");
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err("must not have a query or fragment");
    }
    let host = parsed.host_str().ok_or("has no host")?;
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let loopback = bare.eq_ignore_ascii_case("localhost")
        || bare
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    match parsed.scheme() {
        "https" => {}
        "http" if loopback => {}
        "http" => {
            return Err(
                "is plain http; the token is only sent over https (or to a loopback address)",
            );
        }
        _ => return Err("is not an http(s) URL"),
    }
    Ok(url.trim_end_matches('/').to_owned())
}

/// A pull request as an event names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventPullRequest {
    /// Its number.
    pub number: u64,
    /// Its head commit when the event was sent.
    pub head_sha: Option<String>,
}

/// The pull request to read and the head commit the event gives for it: the
/// `--github-pull-request` number when there is one, else the event's. An explicit number that
/// is not the event's names another pull request, whose head is then not the event's either.
/// `None` when neither names one.
pub fn pull_request(
    explicit: Option<u64>,
    event: Option<EventPullRequest>,
) -> Option<(u64, Option<String>)> {
    match (explicit, event) {
        (Some(n), Some(pr)) if pr.number == n => Some((n, pr.head_sha)),
        (Some(n), _) => Some((n, None)),
        (None, Some(pr)) => Some((pr.number, pr.head_sha)),
        (None, None) => None,
    }
}

/// The commit approvals must be of, and the pull request's current head when it has moved on
/// from there: the commit this run checked (`checked`, from `--github-head-sha` or the event)
/// when known, else the current head.
pub fn approval_head(checked: Option<String>, current: String) -> (String, Option<String>) {
    let head = checked.unwrap_or_else(|| current.clone());
    let moved = (!current.eq_ignore_ascii_case(&head)).then_some(current);
    (head, moved)
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert!(is_sha(&"B".repeat(64)));
        assert!(!is_sha("abc1234"));
        assert!(!is_sha(&"g".repeat(40)));
    }

    #[test]
    fn an_explicit_number_wins_and_keeps_the_events_head_only_when_it_is_the_events() {
        let event = || {
            Some(EventPullRequest {
                number: 7,
                head_sha: Some("a".repeat(40)),
            })
        };
        assert_eq!(pull_request(None, event()), Some((7, Some("a".repeat(40)))));
        assert_eq!(
            pull_request(Some(7), event()),
            Some((7, Some("a".repeat(40))))
        );
        assert_eq!(pull_request(Some(8), event()), Some((8, None)));
        assert_eq!(pull_request(Some(8), None), Some((8, None)));
        assert_eq!(pull_request(None, None), None);
    }

    #[test]
    fn approvals_are_of_the_checked_commit_and_a_moved_head_is_reported() {
        let (a, b) = ("a".repeat(40), "b".repeat(40));
        assert_eq!(approval_head(None, a.clone()), (a.clone(), None));
        assert_eq!(approval_head(Some(a.clone()), a.clone()), (a.clone(), None));
        assert_eq!(
            approval_head(Some(a.to_uppercase()), a.clone()),
            (a.to_uppercase(), None)
        );
        assert_eq!(approval_head(Some(a.clone()), b.clone()), (a, Some(b)));
    }
}
