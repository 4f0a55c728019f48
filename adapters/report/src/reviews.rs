//! The notes `--github-reviews` prints to stderr before the report: which pull request and
//! commit were read, then one line per reviewer saying in which roles and under which identity
//! their review counts as an approval, or why not (the verdicts are the core's,
//! `Approvers::approvals_from_github`). Plain text: the caller guards it for its sink
//! ([`crate::Sink::guard`]).

use gatehouse_core::{Approvers, PullRequestEvidence, ReviewApprovals, ReviewerOutcome};

/// The first note line: which pull request (`owner/repo#n`) was read, and, when its head has
/// moved on to `moved_head`, that approvals are still of the commit checked.
pub fn header(
    pull_request: &str,
    evidence: &PullRequestEvidence,
    moved_head: Option<&str>,
) -> String {
    let mut text = format!(
        "github reviews: pull request `{}` by `{}`, commit `{}`: {} review{}\n",
        pull_request,
        evidence.author,
        short(&evidence.head_sha),
        evidence.reviews.len(),
        if evidence.reviews.len() == 1 { "" } else { "s" },
    );
    if let Some(current) = moved_head {
        text.push_str(&format!(
            "  note: the pull request's head is now `{}`; approvals must be of `{}`, the commit this run checked\n",
            short(current),
            short(&evidence.head_sha)
        ));
    }
    text
}

/// One line per reviewer: counted in which roles and under which identity, or why not; under
/// a heading `with the {label}:` when several bundles judge the same reviews.
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

/// The first 12 characters of a commit SHA.
fn short(sha: &str) -> &str {
    sha.get(..12).unwrap_or(sha)
}

#[cfg(test)]
mod tests {
    use super::*;
    use gatehouse_core::{NotCounted, ReviewerVerdict};

    fn evidence(reviews: usize) -> PullRequestEvidence {
        let review = gatehouse_core::PullRequestReview {
            id: 1,
            login: Some("bob-gh".to_owned()),
            state: gatehouse_core::ReviewState::Approved,
            commit_id: None,
            submitted_at: None,
            html_url: None,
        };
        PullRequestEvidence {
            author: "alice-gh".to_owned(),
            head_sha: "1".repeat(40),
            reviews: vec![review; reviews],
            team_members: std::collections::BTreeMap::new(),
        }
    }

    #[test]
    fn the_header_names_the_commit_and_a_moved_head() {
        assert_eq!(
            header("acme/app#7", &evidence(1), None),
            "github reviews: pull request `acme/app#7` by `alice-gh`, commit `111111111111`: 1 review\n"
        );
        let moved = "2".repeat(40);
        assert_eq!(
            header("acme/app#7", &evidence(2), Some(&moved)),
            "github reviews: pull request `acme/app#7` by `alice-gh`, commit `111111111111`: 2 reviews\n  note: the pull request's head is now `222222222222`; approvals must be of `111111111111`, the commit this run checked\n"
        );
    }

    #[test]
    fn verdicts_say_why_a_review_counts_or_not() {
        let result = ReviewApprovals {
            approvals: Vec::new(),
            reviewers: vec![
                ReviewerVerdict {
                    login: "bob-gh".to_owned(),
                    review_id: 1,
                    outcome: ReviewerOutcome::Counted {
                        by: "github:bob-gh".to_owned(),
                        roles: vec!["release-approver".to_owned()],
                    },
                },
                ReviewerVerdict {
                    login: "carol-gh".to_owned(),
                    review_id: 2,
                    outcome: ReviewerOutcome::NotCounted(NotCounted::NoRole),
                },
            ],
        };
        let text = verdicts(Some("base bundle"), &result, &Approvers::default());
        assert_eq!(
            text,
            "  with the base bundle:\n    `bob-gh` approves as `release-approver`, recorded as `github:bob-gh` (no entry in `governance.identities.github`: the engine cannot tell whether this reviewer is the intent's requester)\n    `carol-gh` does not count: the reviewer holds no role in the bundle's `governance.approvers`\n"
        );
        let none = ReviewApprovals {
            approvals: Vec::new(),
            reviewers: Vec::new(),
        };
        assert_eq!(
            verdicts(None, &none, &Approvers::default()),
            "  no review approves or requests changes\n"
        );
    }
}
