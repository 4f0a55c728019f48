//! `--github-reviews` against a fake GitHub API (`fake_github.rs`): in a pull request the
//! evidence is the review. The attacks first (the author approving their own change, an
//! approval of an older commit, an approval withdrawn by a later review), then the mapping,
//! pagination, the token's handling and every error a job can meet.

use std::path::{Path, PathBuf};
use std::process::Command;

use gatehouse_core::{ApprovalSource, Decision, Outcome, ViolationStatus};
use serde_json::{Value, json};

use crate::fake_github::{
    AUTHOR, Failure, FakeGithub, Github, HEAD, NUMBER, OLD, REPOSITORY, TOKEN, review, review_url,
};
use crate::support::{HISTORY, NOW, Output, assert_code, bundle_copy, gatehouse, report, run};

/// Production, requested by alice@example.com: needs a `release-approver` (four-eyes).
const PROD: &str = "policies/examples/payments-api-prod-allowed.yaml";
/// Production and over budget: needs `release-approver` and `finops-approver`.
const OVER_BUDGET: &str = "policies/examples/payments-api-over-budget-needs-approval.yaml";

/// A temporary event file and the environment of a GitHub Actions job on a pull request.
struct Job {
    dir: tempfile::TempDir,
    event_name: &'static str,
    event: Value,
    token: Option<&'static str>,
}

impl Job {
    fn pull_request() -> Self {
        Self {
            dir: tempfile::tempdir().expect("a temporary directory"),
            event_name: "pull_request",
            event: json!({
                "action": "synchronize",
                "number": NUMBER,
                "pull_request": {"number": NUMBER, "head": {"sha": HEAD}, "user": {"login": AUTHOR}}
            }),
            token: Some(TOKEN),
        }
    }

    fn push() -> Self {
        Self {
            event_name: "push",
            event: json!({"ref": "refs/heads/main", "after": HEAD}),
            ..Self::pull_request()
        }
    }

    /// `gatehouse <args>` in this job's environment, talking to `api`.
    fn command(&self, api: &FakeGithub) -> Command {
        let event_path = self.dir.path().join("event.json");
        std::fs::write(&event_path, self.event.to_string()).expect("write the event");
        let mut command = gatehouse();
        for name in [
            "GITHUB_TOKEN",
            "GITHUB_API_URL",
            "GITHUB_REPOSITORY",
            "GITHUB_EVENT_PATH",
            "GITHUB_EVENT_NAME",
            "GITHUB_STEP_SUMMARY",
            "GITHUB_OUTPUT",
        ] {
            command.env_remove(name);
        }
        command
            .env("GITHUB_API_URL", api.url())
            .env("GITHUB_REPOSITORY", REPOSITORY)
            .env("GITHUB_EVENT_PATH", &event_path)
            .env("GITHUB_EVENT_NAME", self.event_name);
        if let Some(token) = self.token {
            command.env("GITHUB_TOKEN", token);
        }
        command
    }

    /// `check --format json --github-reviews` of `files` against `policies`.
    fn check(&self, api: &FakeGithub, policies: &Path, files: &[&str], extra: &[&str]) -> Output {
        let mut command = self.command(api);
        command
            .args([
                "check",
                "--format",
                "json",
                "--now",
                NOW,
                "--history",
                HISTORY,
            ])
            .arg("--policies")
            .arg(policies)
            .arg("--github-reviews")
            .args(extra)
            .args(files);
        let out = run(&mut command);
        assert_no_token(&out);
        out
    }
}

fn reference() -> PathBuf {
    crate::support::policies()
}

#[track_caller]
fn assert_no_token(out: &Output) {
    assert!(
        !out.stdout.contains(TOKEN) && !out.stderr.contains(TOKEN),
        "the token was printed\n{out}"
    );
}

/// The one decision of a one-file `check --format json`.
#[track_caller]
fn decision(out: &Output) -> Decision {
    report(out)
        .results
        .into_iter()
        .next()
        .and_then(|e| e.decision)
        .unwrap_or_else(|| panic!("a decision\n{out}"))
}

#[track_caller]
fn four_eyes_status(decision: &Decision) -> ViolationStatus {
    decision
        .violations
        .iter()
        .find(|v| v.policy == "prod.four-eyes")
        .map(|v| v.status)
        .expect("a prod.four-eyes violation")
}

/// The reference bundle with the approvers data replaced.
fn bundle_with_approvers(approvers: &Value) -> (tempfile::TempDir, PathBuf) {
    let (tmp, bundle) = bundle_copy();
    std::fs::write(
        bundle.join("data/approvers.json"),
        serde_json::to_string_pretty(approvers).expect("serialises"),
    )
    .expect("write approvers.json");
    (tmp, bundle)
}

// --- attacks ---

#[test]
fn the_authors_own_approval_never_counts_even_when_mapped() {
    // dave-gh opened the pull request that changes alice's intent; the bundle makes him a
    // release approver. His approval of his own pull request is not a second pair of eyes,
    // although he is not the intent's requester. (alice-gh, the requester, is refused twice over:
    // as the author and by the engine's requester check.)
    let (_tmp, bundle) = bundle_with_approvers(&json!({"governance": {
        "approvers": {"release-approver": {"github_users": ["bob-gh", "dave-gh", AUTHOR]}},
        "identities": {"github": {
            AUTHOR: "alice@example.com", "bob-gh": "bob@example.com", "dave-gh": "dave@example.com"
        }}
    }}));
    for author in ["dave-gh", AUTHOR] {
        let api = FakeGithub::start(Github {
            author: author.to_owned(),
            reviews: vec![review(1, &author.to_uppercase(), "APPROVED", HEAD)],
            ..Github::default()
        });
        let out = Job::pull_request().check(&api, &bundle, &[PROD], &[]);
        assert_code(&out, 1);
        let decision = decision(&out);
        assert_eq!(decision.outcome, Outcome::NeedsApproval, "{out}");
        assert_eq!(
            four_eyes_status(&decision),
            ViolationStatus::PendingApproval
        );
        assert_eq!(decision.approvals, [], "{out}");
        assert!(
            out.stderr.contains(&format!(
                "`{}` does not count: the pull request's author never approves their own change",
                author.to_uppercase()
            )),
            "{out}"
        );
    }
}

#[test]
fn an_approval_of_an_older_commit_does_not_count() {
    let api = FakeGithub::start(Github {
        reviews: vec![review(1, "bob-gh", "APPROVED", OLD)],
        ..Github::default()
    });
    let out = Job::pull_request().check(&api, &reference(), &[PROD], &[]);
    assert_code(&out, 1);
    let decision = decision(&out);
    assert_eq!(decision.outcome, Outcome::NeedsApproval, "{out}");
    assert_eq!(decision.approvals, []);
    assert!(
        out.stderr.contains("`bob-gh` does not count: the approval is of commit `0000000000000000000000000000000000000000`, not of the pull request's head"),
        "{out}"
    );
}

#[test]
fn an_approval_followed_by_a_request_for_changes_does_not_count() {
    let api = FakeGithub::start(Github {
        reviews: vec![
            review(1, "bob-gh", "APPROVED", HEAD),
            review(2, "bob-gh", "COMMENTED", HEAD),
            review(3, "bob-gh", "CHANGES_REQUESTED", HEAD),
        ],
        ..Github::default()
    });
    let out = Job::pull_request().check(&api, &reference(), &[PROD], &[]);
    assert_code(&out, 1);
    assert_eq!(decision(&out).outcome, Outcome::NeedsApproval, "{out}");
    assert!(
        out.stderr.contains("`bob-gh` does not count: the reviewer's latest review is CHANGES_REQUESTED, not an approval"),
        "{out}"
    );
}

#[test]
fn a_reviewer_the_bundle_does_not_map_does_not_count() {
    let api = FakeGithub::start(Github {
        reviews: vec![review(1, "mallory-gh", "APPROVED", HEAD)],
        ..Github::default()
    });
    let out = Job::pull_request().check(&api, &reference(), &[PROD], &[]);
    assert_code(&out, 1);
    assert_eq!(decision(&out).outcome, Outcome::NeedsApproval, "{out}");
    assert!(
        out.stderr.contains("`mallory-gh` does not count: the reviewer holds no role in the bundle's `governance.approvers`"),
        "{out}"
    );
}

// --- what counts ---

#[test]
fn a_mapped_reviewers_approval_of_the_head_lifts_four_eyes_and_is_recorded() {
    let api = FakeGithub::start(Github {
        reviews: vec![
            review(7, "bob-gh", "APPROVED", HEAD),
            review(8, "carol-gh", "COMMENTED", HEAD),
        ],
        ..Github::default()
    });
    let out = Job::pull_request().check(&api, &reference(), &[PROD], &[]);
    assert_code(&out, 0);
    let decision = decision(&out);
    assert_eq!(decision.outcome, Outcome::Allow, "{out}");
    let four_eyes = decision
        .violations
        .iter()
        .find(|v| v.policy == "prod.four-eyes")
        .expect("prod.four-eyes");
    assert_eq!(four_eyes.status, ViolationStatus::Overridden);
    assert_eq!(four_eyes.overridden_by.as_deref(), Some("bob@example.com"));
    assert_eq!(decision.approvals.len(), 1, "{out}");
    let approval = &decision.approvals[0];
    assert_eq!(approval.by, "bob@example.com");
    assert_eq!(approval.role, "release-approver");
    assert_eq!(approval.source, ApprovalSource::GithubReview);
    assert_eq!(approval.reference.as_deref(), Some(review_url(7).as_str()));
    assert_eq!(
        approval.at.map(|t| t.to_string()).as_deref(),
        Some("2026-11-23T10:00:07Z")
    );
    assert!(
        out.stderr.contains(&format!(
            "github reviews: pull request `{REPOSITORY}#{NUMBER}` by `{AUTHOR}`, commit `111111111111`: 2 reviews"
        )),
        "{out}"
    );
    assert!(
        out.stderr
            .contains("`bob-gh` approves as `release-approver`, recorded as `bob@example.com`"),
        "{out}"
    );
    // The pull request, then its reviews: nothing else (the reference bundle names no team).
    let uris: Vec<String> = api.requests().into_iter().map(|r| r.uri).collect();
    assert_eq!(
        uris,
        [
            format!("/repos/{REPOSITORY}/pulls/{NUMBER}"),
            format!("/repos/{REPOSITORY}/pulls/{NUMBER}/reviews?per_page=100&page=1"),
        ]
    );
}

#[test]
fn a_team_member_counts_and_the_team_is_read() {
    let (_tmp, bundle) = bundle_with_approvers(&json!({"governance": {
        "approvers": {"release-approver": {"github_teams": ["acme/release-managers"]}},
        "identities": {"github": {AUTHOR: "alice@example.com"}}
    }}));
    let api = FakeGithub::start(Github {
        reviews: vec![review(1, "Dave-GH", "APPROVED", HEAD)],
        teams: [(
            "acme/release-managers".to_owned(),
            vec!["erin-gh".to_owned(), "dave-gh".to_owned()],
        )]
        .into(),
        ..Github::default()
    });
    let out = Job::pull_request().check(&api, &bundle, &[PROD], &[]);
    assert_code(&out, 0);
    let decision = decision(&out);
    assert_eq!(four_eyes_status(&decision), ViolationStatus::Overridden);
    // No identity mapped: recorded by login, and the notes say what that costs.
    assert_eq!(decision.approvals[0].by, "github:Dave-GH");
    assert!(
        out.stderr
            .contains("no entry in `governance.identities.github`"),
        "{out}"
    );
    assert!(
        api.requests()
            .iter()
            .any(|r| r.uri == "/orgs/acme/teams/release-managers/members?per_page=100&page=1"),
        "{:?}",
        api.requests()
    );
}

#[test]
fn reviews_over_two_pages_are_all_read() {
    // 100 comments on page 1 with bob's approval among them, bob's request for changes on page
    // 2: it must be read, with GitHub's `Link` headers and without them (a full page means
    // another may follow).
    for link_headers in [true, false] {
        let mut reviews: Vec<Value> = (1..=99)
            .map(|id| review(id, "carol-gh", "COMMENTED", HEAD))
            .collect();
        reviews.insert(50, review(100, "bob-gh", "APPROVED", HEAD));
        reviews.push(review(101, "bob-gh", "CHANGES_REQUESTED", HEAD));
        let api = FakeGithub::start(Github {
            reviews: reviews.clone(),
            link_headers,
            ..Github::default()
        });
        let out = Job::pull_request().check(&api, &reference(), &[PROD], &[]);
        assert_code(&out, 1);
        assert_eq!(decision(&out).outcome, Outcome::NeedsApproval, "{out}");
        assert!(out.stderr.contains(": 101 reviews"), "{out}");
        let pages: Vec<String> = api
            .requests()
            .into_iter()
            .map(|r| r.uri)
            .filter(|u| u.contains("/reviews"))
            .collect();
        assert_eq!(pages.len(), 2, "link headers {link_headers}: {pages:?}");
        assert!(pages[1].ends_with("page=2"), "{pages:?}");

        // The same with the approval on page 2 and the request for changes before it.
        reviews.swap(50, 100);
        let api = FakeGithub::start(Github {
            reviews: reviews
                .into_iter()
                .map(|mut r| {
                    if r["id"] == 100 {
                        r["id"] = json!(102);
                        r["submitted_at"] = json!("2026-11-23T11:00:00Z");
                        r["html_url"] = json!(review_url(102));
                    }
                    r
                })
                .collect(),
            link_headers,
            ..Github::default()
        });
        let out = Job::pull_request().check(&api, &reference(), &[PROD], &[]);
        assert_code(&out, 0);
        assert_eq!(
            decision(&out).approvals[0].reference.as_deref(),
            Some(review_url(102).as_str())
        );
    }
}

#[test]
fn review_approvals_are_added_to_an_approvals_file() {
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let file = tmp.path().join("approvals.yaml");
    std::fs::write(
        &file,
        "- {by: carol@example.com, role: finops-approver, comment: budget raised for Q1}\n",
    )
    .expect("write approvals");
    let api = FakeGithub::start(Github {
        reviews: vec![review(1, "bob-gh", "APPROVED", HEAD)],
        ..Github::default()
    });
    let out = Job::pull_request().check(
        &api,
        &reference(),
        &[OVER_BUDGET],
        &["--approvals", file.to_str().expect("a UTF-8 path")],
    );
    assert_code(&out, 0);
    let decision = decision(&out);
    assert_eq!(decision.outcome, Outcome::Allow, "{out}");
    let sources: Vec<(&str, ApprovalSource)> = decision
        .approvals
        .iter()
        .map(|a| (a.by.as_str(), a.source))
        .collect();
    assert_eq!(
        sources,
        [
            ("bob@example.com", ApprovalSource::GithubReview),
            ("carol@example.com", ApprovalSource::Caller),
        ]
    );
}

#[test]
fn explain_and_diff_take_the_reviews_too() {
    let api = FakeGithub::start(Github {
        reviews: vec![review(1, "bob-gh", "APPROVED", HEAD)],
        ..Github::default()
    });
    let job = Job::pull_request();
    let out = run(job.command(&api).args([
        "explain",
        "--now",
        NOW,
        "--history",
        HISTORY,
        "--github-reviews",
        PROD,
    ]));
    assert_no_token(&out);
    assert_code(&out, 0);
    assert!(out.stdout.contains("prod.four-eyes"), "{out}");

    // The base bundle maps nobody: the reviews lift four-eyes only under the head bundle, so
    // the change of approvers data shows as a looser decision.
    let (_tmp, base) = bundle_with_approvers(&json!({}));
    let out = run(job
        .command(&api)
        .args([
            "diff",
            "--format",
            "json",
            "--now",
            NOW,
            "--history",
            HISTORY,
            "--github-reviews",
        ])
        .arg("--base")
        .arg(&base)
        .arg(PROD));
    assert_no_token(&out);
    assert_code(&out, 0);
    let impact: Value = serde_json::from_str(&out.stdout).expect("a JSON impact report");
    assert_eq!(impact["counts"]["looser"], 1, "{out}");
    assert!(
        out.stderr
            .contains("with the base bundle:\n    `bob-gh` does not count"),
        "{out}"
    );
    assert!(
        out.stderr
            .contains("with the head bundle:\n    `bob-gh` approves"),
        "{out}"
    );
}

// --- the token ---

#[test]
fn the_token_is_sent_as_a_bearer_and_printed_nowhere() {
    let api = FakeGithub::start(Github {
        reviews: vec![review(1, "bob-gh", "APPROVED", HEAD)],
        ..Github::default()
    });
    // `check` asserts that no output holds the token, in every test of this file.
    let out = Job::pull_request().check(&api, &reference(), &[PROD], &[]);
    assert_code(&out, 0);
    let requests = api.requests();
    assert!(!requests.is_empty());
    for request in requests {
        assert_eq!(
            request.authorization.as_deref(),
            Some(format!("Bearer {TOKEN}").as_str()),
            "{}",
            request.uri
        );
        assert!(!request.uri.contains(TOKEN));
    }
    // Even an API that echoes the token in its error message does not get it printed.
    let api = FakeGithub::start(Github {
        failures: vec![Failure {
            path: "/repos/".to_owned(),
            status: 401,
            headers: Vec::new(),
            message: format!("Bad credentials: {TOKEN}"),
        }],
        ..Github::default()
    });
    let out = Job::pull_request().check(&api, &reference(), &[PROD], &[]);
    assert_code(&out, 2);
    assert!(out.stderr.contains("Bad credentials: ***"), "{out}");
}

// --- errors: exit 2, what, where, how to fix ---

fn failing(path: &str, status: u16, headers: Vec<(&'static str, String)>) -> FakeGithub {
    FakeGithub::start(Github {
        teams: [(
            "acme/release-managers".to_owned(),
            vec!["dave-gh".to_owned()],
        )]
        .into(),
        failures: vec![Failure {
            path: path.to_owned(),
            status,
            headers,
            message: "Resource not accessible by integration".to_owned(),
        }],
        ..Github::default()
    })
}

#[track_caller]
fn assert_error(out: &Output, code: &str, wants: &[&str]) {
    assert_code(out, 2);
    assert_eq!(out.stdout, "", "{out}");
    assert!(
        out.stderr
            .starts_with("error: cannot read the pull request's reviews from GitHub\n"),
        "{out}"
    );
    assert!(
        out.stderr.contains(&format!("[{code}]")),
        "want [{code}]\n{out}"
    );
    for want in wants {
        assert!(out.stderr.contains(want), "want `{want}`\n{out}");
    }
}

#[test]
fn a_rejected_token_exits_2_and_names_the_variable() {
    let api = failing("/repos/", 401, Vec::new());
    let out = Job::pull_request().check(&api, &reference(), &[PROD], &[]);
    assert_error(
        &out,
        "github_unauthorized",
        &[
            "GitHub rejected the token in `$GITHUB_TOKEN` (401",
            "invalid or has expired",
        ],
    );
}

#[test]
fn a_token_without_pull_request_access_exits_2_and_names_the_permission() {
    let pulls = format!("/repos/{REPOSITORY}/pulls/{NUMBER}");
    for (path, status, what) in [
        (
            pulls.clone(),
            404,
            format!("404 for pull request `{REPOSITORY}#{NUMBER}`"),
        ),
        (
            format!("{pulls}/reviews"),
            403,
            format!("403 for the reviews of pull request `{REPOSITORY}#{NUMBER}`"),
        ),
    ] {
        let api = failing(&path, status, Vec::new());
        let out = Job::pull_request().check(&api, &reference(), &[PROD], &[]);
        assert_error(
            &out,
            "github_forbidden",
            &[
                &what,
                "`permissions: pull-requests: read`",
                "Resource not accessible by integration",
            ],
        );
    }
}

#[test]
fn a_token_that_cannot_read_a_team_exits_2_and_names_the_permission() {
    let (_tmp, bundle) = bundle_with_approvers(&json!({"governance": {
        "approvers": {"release-approver": {"github_teams": ["acme/release-managers"]}}
    }}));
    for status in [403, 404] {
        let api = failing(
            "/orgs/acme/teams/release-managers/members",
            status,
            Vec::new(),
        );
        let out = Job::pull_request().check(&api, &bundle, &[PROD], &[]);
        assert_error(
            &out,
            "github_forbidden",
            &[
                &format!(
                    "GitHub answered {status} for the members of team `acme/release-managers`"
                ),
                "`members: read`",
                "the job's `GITHUB_TOKEN` cannot read teams",
            ],
        );
    }
}

#[test]
fn a_spent_rate_limit_exits_2_and_says_when_it_resets() {
    let api = failing(
        "/repos/",
        403,
        vec![
            ("x-ratelimit-remaining", "0".to_owned()),
            ("x-ratelimit-reset", "1795000000".to_owned()),
        ],
    );
    let out = Job::pull_request().check(&api, &reference(), &[PROD], &[]);
    assert_error(
        &out,
        "github_rate_limited",
        &["rate limit is spent (status 403", "resets at 2026-11-18T"],
    );
}

#[test]
fn not_a_pull_request_event_exits_2_before_any_request() {
    let api = FakeGithub::start(Github::default());
    let out = Job::push().check(&api, &reference(), &[PROD], &[]);
    assert_error(
        &out,
        "github_not_a_pull_request",
        &[
            "this run is for a `push` event, which has none",
            "`--github-pull-request N`",
        ],
    );
    assert!(api.requests().is_empty());
}

#[test]
fn a_missing_token_exits_2_before_any_request() {
    let api = FakeGithub::start(Github::default());
    let job = Job {
        token: None,
        ..Job::pull_request()
    };
    let out = job.check(&api, &reference(), &[PROD], &[]);
    assert_error(
        &out,
        "github_token_missing",
        &[
            "needs a GitHub token in `$GITHUB_TOKEN`, which is not set or empty",
            "github.token",
        ],
    );
    assert!(api.requests().is_empty());
}

#[test]
fn an_unreachable_api_exits_2() {
    let job = Job::pull_request();
    let api = FakeGithub::start(Github::default());
    // A port nothing listens on: bind one, then free it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let out = run(job
        .command(&api)
        .args([
            "check",
            "--now",
            NOW,
            "--history",
            HISTORY,
            "--github-reviews",
        ])
        .args(["--github-api-url", &format!("http://127.0.0.1:{port}")])
        .arg(PROD));
    assert_no_token(&out);
    assert_error(
        &out,
        "github_network",
        &[&format!("GET http://127.0.0.1:{port}/repos/")],
    );
}

#[test]
fn a_plain_http_api_off_this_machine_is_refused() {
    let api = FakeGithub::start(Github::default());
    let out = run(Job::pull_request().command(&api).args([
        "check",
        "--github-reviews",
        "--github-api-url",
        "http://api.example.com",
        PROD,
    ]));
    assert_error(&out, "github_api_url", &["is plain http"]);
    assert!(api.requests().is_empty());
}

// --- the bundle's approvers data ---

#[test]
fn malformed_approvers_data_fails_the_bundle_load_with_its_location() {
    for (approvers, want) in [
        (
            json!({"governance": {"approvers": {"release-approvers": {"github_users": ["bob-gh"]}}}}),
            "data/approvers.json: `governance.approvers.release-approvers`: no catalogue policy has the override role `release-approvers`",
        ),
        (
            json!({"governance": {"approvers": {"release-approver": {"github_users": ["bob-gh", "bob@example.com"]}}}}),
            "data/approvers.json: `governance.approvers.release-approver.github_users[1]`: `bob@example.com` is not a GitHub login",
        ),
        (
            json!({"governance": {"approvers": {"release-approver": {"github_teams": ["release-managers"]}}}}),
            "`governance.approvers.release-approver.github_teams[0]`: `release-managers` is not a GitHub team; write `org/team-slug`",
        ),
    ] {
        let (_tmp, bundle) = bundle_with_approvers(&approvers);
        let out = run(gatehouse()
            .args(["check", "--policies"])
            .arg(&bundle)
            .arg(PROD));
        assert_code(&out, 2);
        assert!(
            out.stderr.starts_with(&format!(
                "error: bundle `{}` is invalid\n",
                bundle.display()
            )),
            "{out}"
        );
        assert!(out.stderr.contains("[approvers_invalid]"), "{out}");
        assert!(out.stderr.contains(want), "want `{want}`\n{out}");
        assert!(
            out.stderr.contains(&format!(
                "--> {}:1:1",
                bundle.join("data/approvers.json").display()
            )),
            "{out}"
        );
        assert!(
            out.stderr
                .contains("help: `governance.approvers` maps a role to"),
            "{out}"
        );
    }
}
