//! Who approves through a pull request review: bundle data that maps roles to GitHub users and
//! teams (`data.governance.approvers`) and GitHub logins to the identities approvals are recorded
//! under (`data.governance.identities.github`), and the pure rule that turns a pull request's
//! reviews into [`Approval`]s with source `github_review`.
//!
//! The rules, and why:
//! - Only a reviewer's latest submitted review counts (`COMMENTED` and `PENDING` reviews do not
//!   change it): an approval followed by a request for changes, or a dismissed approval, no
//!   longer approves, as on GitHub.
//! - The approval must be of the pull request's head commit: approving an older commit does not
//!   approve what was pushed after it.
//! - The pull request's author never approves, under any login that maps to the author's
//!   identity.
//! - A reviewer approves in every role whose users or teams include them, and nowhere else.
//! - The approval is recorded under the reviewer's mapped identity (an email), else
//!   `github:<login>`; the engine then refuses an approval by the intent's requester, which it can
//!   only recognise when the identity is mapped.
//!
//! Reading the reviews is I/O and lives in the CLI; everything here is a function of its inputs.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::context::{
    Approval, ApprovalSource, MAX_IDENTITY_CHARS, MAX_REFERENCE_CHARS, control_character, is_role,
};
use crate::path::{PathSegment, render};
use crate::timestamp::Timestamp;

/// The prefix of the identity recorded for a reviewer without a mapped identity.
pub const GITHUB_IDENTITY_PREFIX: &str = "github:";

/// The longest GitHub login (GitHub's own limit).
pub const MAX_LOGIN_CHARS: usize = 39;

/// The longest team slug accepted.
pub const MAX_TEAM_SLUG_CHARS: usize = 100;

/// Whether `login` is a GitHub user or organisation login: ASCII letters, digits and `-`, not
/// starting with `-`, at most 39 characters. Bot accounts (`name[bot]`) are not logins here: a
/// bot cannot be an approver.
pub fn is_github_login(login: &str) -> bool {
    !login.is_empty()
        && login.len() <= MAX_LOGIN_CHARS
        && !login.starts_with('-')
        && login.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

fn is_team_slug(slug: &str) -> bool {
    !slug.is_empty()
        && slug.len() <= MAX_TEAM_SLUG_CHARS
        && !slug.starts_with('-')
        && slug
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// A GitHub team, `org/slug`, kept in lowercase (GitHub compares both case-insensitively).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GithubTeam {
    org: String,
    slug: String,
}

impl GithubTeam {
    /// Reads `org/slug`; `None` when either part is not a GitHub name.
    pub fn parse(text: &str) -> Option<Self> {
        let (org, slug) = text.split_once('/')?;
        (is_github_login(org) && is_team_slug(slug)).then(|| Self {
            org: org.to_ascii_lowercase(),
            slug: slug.to_ascii_lowercase(),
        })
    }

    /// The organisation's login, in lowercase.
    pub fn org(&self) -> &str {
        &self.org
    }

    /// The team's slug, in lowercase.
    pub fn slug(&self) -> &str {
        &self.slug
    }
}

impl fmt::Display for GithubTeam {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.org, self.slug)
    }
}

/// What is wrong with an identity in `governance.identities.github`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdentityProblem {
    /// The identity is empty.
    #[error("is empty")]
    Empty,
    /// Longer than an approval's `by` may be.
    #[error("is longer than {MAX_IDENTITY_CHARS} characters")]
    TooLong,
    /// Leading or trailing white space.
    #[error("has leading or trailing white space")]
    Whitespace,
    /// A control character.
    #[error("contains the control character U+{:04X}", u32::from(*.0))]
    ControlCharacter(char),
}

/// Approvers data that cannot be used; the bundle does not load. `path` is the data path of the
/// offending value, e.g. `governance.approvers.release-approver.github_users[1]`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ApproversError {
    /// A value of the wrong JSON type.
    #[error("`{path}` must be {expected}")]
    WrongType {
        /// Where.
        path: String,
        /// What it must be, for people.
        expected: &'static str,
    },
    /// A field the format does not have (a typo would otherwise map nobody).
    #[error("`{path}` is not a known field; expected {expected}")]
    UnknownField {
        /// Where (the field itself).
        path: String,
        /// The fields allowed there.
        expected: &'static str,
    },
    /// A role key that is not a role name.
    #[error(
        "`{path}`: `{}` is not a role name (lowercase letters, digits and `-`, starting with a letter, at most 63 characters)",
        role.escape_debug()
    )]
    NotARole {
        /// Where.
        path: String,
        /// The key.
        role: String,
    },
    /// A role no catalogue policy can be overridden with: most likely a typo.
    #[error(
        "`{path}`: no catalogue policy has the override role `{role}`; the override roles are {}",
        list(roles_in_use)
    )]
    UnusedRole {
        /// Where.
        path: String,
        /// The key.
        role: String,
        /// Every catalogue `override_role`.
        roles_in_use: Vec<String>,
    },
    /// Not a GitHub login.
    #[error(
        "`{path}`: `{}` is not a GitHub login (letters, digits and `-`, not starting with `-`, at most 39 characters)",
        login.escape_debug()
    )]
    NotALogin {
        /// Where.
        path: String,
        /// The value.
        login: String,
    },
    /// Not `org/slug`.
    #[error(
        "`{path}`: `{}` is not a GitHub team; write `org/team-slug`",
        team.escape_debug()
    )]
    NotATeam {
        /// Where.
        path: String,
        /// The value.
        team: String,
    },
    /// The same login or team twice (GitHub compares them case-insensitively).
    #[error(
        "`{path}`: `{}` is listed twice (logins and teams are compared case-insensitively)",
        value.escape_debug()
    )]
    Duplicate {
        /// Where (the second occurrence).
        path: String,
        /// The value.
        value: String,
    },
    /// An identity that cannot be an approval's `by`.
    #[error("`{path}`: identity `{}` {problem}", identity.escape_debug())]
    BadIdentity {
        /// Where.
        path: String,
        /// The value.
        identity: String,
        /// What is wrong.
        problem: IdentityProblem,
    },
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        "none".to_owned()
    } else {
        items
            .iter()
            .map(|i| format!("`{i}`"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl ApproversError {
    /// The data path of the offending value.
    pub fn path(&self) -> &str {
        match self {
            Self::WrongType { path, .. }
            | Self::UnknownField { path, .. }
            | Self::NotARole { path, .. }
            | Self::UnusedRole { path, .. }
            | Self::NotALogin { path, .. }
            | Self::NotATeam { path, .. }
            | Self::Duplicate { path, .. }
            | Self::BadIdentity { path, .. } => path,
        }
    }
}

/// The GitHub users and teams that hold one role.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoleHolders {
    users: BTreeSet<String>,
    teams: BTreeSet<GithubTeam>,
}

impl RoleHolders {
    /// The logins, in lowercase.
    pub fn users(&self) -> impl Iterator<Item = &str> {
        self.users.iter().map(String::as_str)
    }

    /// The teams.
    pub fn teams(&self) -> impl Iterator<Item = &GithubTeam> {
        self.teams.iter()
    }
}

/// The bundle's approvers data: role to GitHub users and teams, and GitHub login to identity.
/// Parsed and checked once, when the engine loads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Approvers {
    roles: BTreeMap<String, RoleHolders>,
    identities: BTreeMap<String, String>,
}

const APPROVERS_PATH: &str = "governance.approvers";
const IDENTITIES_PATH: &str = "governance.identities";
const ROLE_FIELDS: &str = "`github_users` or `github_teams`";

fn child(path: &[PathSegment], segment: PathSegment) -> Vec<PathSegment> {
    let mut out = path.to_vec();
    out.push(segment);
    out
}

fn key(path: &[PathSegment], key: &str) -> Vec<PathSegment> {
    child(path, PathSegment::Key(key.to_owned()))
}

fn root(dotted: &str) -> Vec<PathSegment> {
    dotted
        .split('.')
        .map(|k| PathSegment::Key(k.to_owned()))
        .collect()
}

fn object<'a>(
    value: &'a Value,
    path: &[PathSegment],
    expected: &'static str,
) -> Result<&'a serde_json::Map<String, Value>, ApproversError> {
    value.as_object().ok_or_else(|| ApproversError::WrongType {
        path: render(path),
        expected,
    })
}

/// The strings of a list, each with its path.
fn strings<'a>(
    value: &'a Value,
    path: &[PathSegment],
    expected: &'static str,
) -> Result<Vec<(&'a str, Vec<PathSegment>)>, ApproversError> {
    let items = value.as_array().ok_or_else(|| ApproversError::WrongType {
        path: render(path),
        expected,
    })?;
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let item_path = child(path, PathSegment::Index(i));
            item.as_str()
                .map(|s| (s, item_path.clone()))
                .ok_or_else(|| ApproversError::WrongType {
                    path: render(&item_path),
                    expected: "a string",
                })
        })
        .collect()
}

fn identity_problem(identity: &str) -> Option<IdentityProblem> {
    if identity.is_empty() {
        Some(IdentityProblem::Empty)
    } else if identity.chars().count() > MAX_IDENTITY_CHARS {
        Some(IdentityProblem::TooLong)
    } else if let Some(c) = control_character(identity, false) {
        Some(IdentityProblem::ControlCharacter(c))
    } else if identity.trim() != identity {
        Some(IdentityProblem::Whitespace)
    } else {
        None
    }
}

impl Approvers {
    /// Reads and checks `data.governance.approvers` and `data.governance.identities` (either may
    /// be absent). Every role must be an `override_role` of the catalogue (`roles_in_use`), so a
    /// misspelt role fails the load instead of mapping nobody.
    pub fn from_data(
        approvers: Option<&Value>,
        identities: Option<&Value>,
        roles_in_use: &BTreeSet<String>,
    ) -> Result<Self, ApproversError> {
        let mut out = Self::default();
        if let Some(value) = approvers {
            let path = root(APPROVERS_PATH);
            let map = object(
                value,
                &path,
                "an object of role to `{\"github_users\": [...], \"github_teams\": [...]}`",
            )?;
            for (role, holders) in map {
                let role_path = key(&path, role);
                if !is_role(role) {
                    return Err(ApproversError::NotARole {
                        path: render(&role_path),
                        role: role.clone(),
                    });
                }
                if !roles_in_use.contains(role) {
                    return Err(ApproversError::UnusedRole {
                        path: render(&role_path),
                        role: role.clone(),
                        roles_in_use: roles_in_use.iter().cloned().collect(),
                    });
                }
                out.roles
                    .insert(role.clone(), Self::role_holders(holders, &role_path)?);
            }
        }
        if let Some(value) = identities {
            let path = root(IDENTITIES_PATH);
            let map = object(
                value,
                &path,
                "an object with `github`: an object of GitHub login to identity",
            )?;
            for (field, logins) in map {
                let field_path = key(&path, field);
                if field != "github" {
                    return Err(ApproversError::UnknownField {
                        path: render(&field_path),
                        expected: "`github`",
                    });
                }
                let logins = object(
                    logins,
                    &field_path,
                    "an object of GitHub login to identity (an email)",
                )?;
                for (login, identity) in logins {
                    let login_path = key(&field_path, login);
                    if !is_github_login(login) {
                        return Err(ApproversError::NotALogin {
                            path: render(&field_path),
                            login: login.clone(),
                        });
                    }
                    let identity = identity.as_str().ok_or_else(|| ApproversError::WrongType {
                        path: render(&login_path),
                        expected: "a string (the identity, e.g. an email)",
                    })?;
                    if let Some(problem) = identity_problem(identity) {
                        return Err(ApproversError::BadIdentity {
                            path: render(&login_path),
                            identity: identity.to_owned(),
                            problem,
                        });
                    }
                    if out
                        .identities
                        .insert(login.to_ascii_lowercase(), identity.to_owned())
                        .is_some()
                    {
                        return Err(ApproversError::Duplicate {
                            path: render(&login_path),
                            value: login.clone(),
                        });
                    }
                }
            }
        }
        Ok(out)
    }

    fn role_holders(value: &Value, path: &[PathSegment]) -> Result<RoleHolders, ApproversError> {
        let fields = object(
            value,
            path,
            "an object `{\"github_users\": [...], \"github_teams\": [...]}`",
        )?;
        let mut holders = RoleHolders::default();
        for (field, list) in fields {
            let field_path = key(path, field);
            match field.as_str() {
                "github_users" => {
                    for (login, login_path) in
                        strings(list, &field_path, "a list of GitHub logins")?
                    {
                        if !is_github_login(login) {
                            return Err(ApproversError::NotALogin {
                                path: render(&login_path),
                                login: login.to_owned(),
                            });
                        }
                        if !holders.users.insert(login.to_ascii_lowercase()) {
                            return Err(ApproversError::Duplicate {
                                path: render(&login_path),
                                value: login.to_owned(),
                            });
                        }
                    }
                }
                "github_teams" => {
                    for (team, team_path) in strings(
                        list,
                        &field_path,
                        "a list of GitHub teams (`org/team-slug`)",
                    )? {
                        let parsed =
                            GithubTeam::parse(team).ok_or_else(|| ApproversError::NotATeam {
                                path: render(&team_path),
                                team: team.to_owned(),
                            })?;
                        if !holders.teams.insert(parsed) {
                            return Err(ApproversError::Duplicate {
                                path: render(&team_path),
                                value: team.to_owned(),
                            });
                        }
                    }
                }
                _ => {
                    return Err(ApproversError::UnknownField {
                        path: render(&field_path),
                        expected: ROLE_FIELDS,
                    });
                }
            }
        }
        Ok(holders)
    }

    /// Whether the bundle maps no role to anyone.
    pub fn is_empty(&self) -> bool {
        self.roles
            .values()
            .all(|h| h.users.is_empty() && h.teams.is_empty())
    }

    /// The roles and who holds them, by role.
    pub fn roles(&self) -> impl Iterator<Item = (&str, &RoleHolders)> {
        self.roles.iter().map(|(r, h)| (r.as_str(), h))
    }

    /// Every team some role names, once each, in order: the teams whose members a caller must
    /// fetch for [`Approvers::approvals_from_github`].
    pub fn teams(&self) -> BTreeSet<&GithubTeam> {
        self.roles.values().flat_map(|h| h.teams.iter()).collect()
    }

    /// The identity a GitHub login is recorded under: its entry in
    /// `governance.identities.github`, else `github:<login>`.
    pub fn identity(&self, login: &str) -> String {
        self.mapped_identity(login)
            .map_or_else(|| format!("{GITHUB_IDENTITY_PREFIX}{login}"), str::to_owned)
    }

    /// The login's entry in `governance.identities.github`, if any.
    pub fn mapped_identity(&self, login: &str) -> Option<&str> {
        self.identities
            .get(&login.to_ascii_lowercase())
            .map(String::as_str)
    }

    /// The roles `login` holds, directly or through a team whose members (`team_members`, keyed
    /// `org/slug`, as fetched from GitHub) include it.
    fn roles_of(
        &self,
        login: &str,
        team_members: &BTreeMap<GithubTeam, BTreeSet<String>>,
    ) -> Vec<String> {
        let login = login.to_ascii_lowercase();
        self.roles
            .iter()
            .filter(|(_, holders)| {
                holders.users.contains(&login)
                    || holders.teams.iter().any(|team| {
                        team_members
                            .get(team)
                            .is_some_and(|members| members.contains(&login))
                    })
            })
            .map(|(role, _)| role.clone())
            .collect()
    }

    /// Turns a pull request's reviews into approvals (source `github_review`), following the
    /// rules in this module's documentation, and says for each reviewer why their review counts
    /// or not.
    pub fn approvals_from_github(&self, evidence: &PullRequestEvidence) -> ReviewApprovals {
        let team_members: BTreeMap<GithubTeam, BTreeSet<String>> = evidence
            .team_members
            .iter()
            .filter_map(|(team, members)| {
                let members = members.iter().map(|m| m.to_ascii_lowercase()).collect();
                GithubTeam::parse(team).map(|t| (t, members))
            })
            .collect();
        let author_identity = self.identity(&evidence.author);

        // Each reviewer's latest review that sets their state (COMMENTED and PENDING do not).
        let mut ordered: Vec<&PullRequestReview> = evidence.reviews.iter().collect();
        ordered.sort_by_key(|r| (r.submitted_at, r.id));
        let mut latest: BTreeMap<String, &PullRequestReview> = BTreeMap::new();
        let mut reviewers = Vec::new();
        for review in ordered {
            let Some(login) = review.login.as_deref() else {
                continue;
            };
            if matches!(review.state, ReviewState::Commented | ReviewState::Pending) {
                continue;
            }
            latest.insert(login.to_ascii_lowercase(), review);
        }

        let mut approvals = Vec::new();
        for review in latest.values() {
            let login = review.login.as_deref().unwrap_or_default();
            let outcome = self.judge(review, login, evidence, &author_identity, &team_members);
            if let ReviewerOutcome::Counted { by, roles } = &outcome {
                approvals.extend(roles.iter().map(|role| Approval {
                    by: by.clone(),
                    role: role.clone(),
                    at: review.submitted_at,
                    comment: None,
                    source: ApprovalSource::GithubReview,
                    reference: review.html_url.clone().filter(|url| is_reference(url)),
                }));
            }
            reviewers.push(ReviewerVerdict {
                login: login.to_owned(),
                review_id: review.id,
                outcome,
            });
        }
        approvals.sort_by(|a, b| (&a.role, &a.by, a.at).cmp(&(&b.role, &b.by, b.at)));
        reviewers.sort_by(|a, b| {
            (a.login.to_ascii_lowercase(), a.review_id)
                .cmp(&(b.login.to_ascii_lowercase(), b.review_id))
        });
        ReviewApprovals {
            approvals,
            reviewers,
        }
    }

    fn judge(
        &self,
        review: &PullRequestReview,
        login: &str,
        evidence: &PullRequestEvidence,
        author_identity: &str,
        team_members: &BTreeMap<GithubTeam, BTreeSet<String>>,
    ) -> ReviewerOutcome {
        if !is_github_login(login) {
            return ReviewerOutcome::NotCounted(NotCounted::NotAUser);
        }
        let by = self.identity(login);
        if login.eq_ignore_ascii_case(&evidence.author)
            || crate::identity::same_identity(&by, author_identity)
        {
            return ReviewerOutcome::NotCounted(NotCounted::Author);
        }
        if review.state != ReviewState::Approved {
            return ReviewerOutcome::NotCounted(NotCounted::NotApproved {
                state: review.state,
            });
        }
        let on_head = review
            .commit_id
            .as_deref()
            .is_some_and(|c| !c.is_empty() && c.eq_ignore_ascii_case(&evidence.head_sha));
        if !on_head {
            return ReviewerOutcome::NotCounted(NotCounted::OlderCommit {
                commit_id: review.commit_id.clone(),
            });
        }
        let roles = self.roles_of(login, team_members);
        if roles.is_empty() {
            return ReviewerOutcome::NotCounted(NotCounted::NoRole);
        }
        ReviewerOutcome::Counted { by, roles }
    }
}

fn is_reference(url: &str) -> bool {
    !url.is_empty()
        && url.chars().count() <= MAX_REFERENCE_CHARS
        && control_character(url, false).is_none()
}

/// What GitHub says about a pull request, as the approvers rule needs it. The caller reads it
/// from the GitHub API (the CLI's `--github-reviews`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PullRequestEvidence {
    /// The pull request author's login (`user.login`).
    pub author: String,
    /// The head commit whose content is being checked (`head.sha`).
    pub head_sha: String,
    /// Every review of the pull request, in any order.
    pub reviews: Vec<PullRequestReview>,
    /// The members' logins of each team the approvers data names, keyed `org/slug`. A team
    /// missing here grants its role to nobody.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub team_members: BTreeMap<String, Vec<String>>,
}

/// One review of a pull request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PullRequestReview {
    /// GitHub's review id (increasing with time).
    pub id: u64,
    /// The reviewer's login; `None` for a deleted account.
    pub login: Option<String>,
    /// The review's state.
    pub state: ReviewState,
    /// The commit the review was submitted on.
    #[serde(default)]
    pub commit_id: Option<String>,
    /// When it was submitted (`None` while pending).
    #[serde(default)]
    pub submitted_at: Option<Timestamp>,
    /// The review's page.
    #[serde(default)]
    pub html_url: Option<String>,
}

/// A review's state, as the GitHub API spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ReviewState {
    /// Approves the commit it was submitted on.
    Approved,
    /// Asks for changes: cancels the reviewer's earlier approval.
    ChangesRequested,
    /// A comment: leaves the reviewer's state as it was.
    Commented,
    /// A review dismissed by a maintainer: approves nothing.
    Dismissed,
    /// Not submitted yet: ignored.
    Pending,
    /// A state this version does not know: treated like a request for changes (fail closed).
    #[serde(other)]
    Unknown,
}

impl ReviewState {
    /// The API's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Approved => "APPROVED",
            Self::ChangesRequested => "CHANGES_REQUESTED",
            Self::Commented => "COMMENTED",
            Self::Dismissed => "DISMISSED",
            Self::Pending => "PENDING",
            Self::Unknown => "an unknown state",
        }
    }
}

/// The approvals a pull request's reviews give, and the verdict on each reviewer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReviewApprovals {
    /// One approval per counted reviewer and role, sorted by role and identity.
    pub approvals: Vec<Approval>,
    /// Each reviewer whose review decides their state, sorted by login.
    pub reviewers: Vec<ReviewerVerdict>,
}

/// Whether one reviewer's latest review counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReviewerVerdict {
    /// The reviewer's login.
    pub login: String,
    /// The review that decides.
    pub review_id: u64,
    /// The verdict.
    pub outcome: ReviewerOutcome,
}

/// A reviewer's verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "verdict")]
pub enum ReviewerOutcome {
    /// The review approves in these roles, recorded under `by`.
    Counted {
        /// The identity recorded.
        by: String,
        /// The roles, sorted.
        roles: Vec<String>,
    },
    /// The review does not count.
    NotCounted(NotCounted),
}

/// Why a review does not count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(rename_all = "snake_case", tag = "reason")]
#[non_exhaustive]
pub enum NotCounted {
    /// The pull request's author (or a login mapped to the author's identity).
    #[error("the pull request's author never approves their own change")]
    Author,
    /// The latest review is not an approval.
    #[error("the reviewer's latest review is {}, not an approval", state.as_str())]
    NotApproved {
        /// Its state.
        state: ReviewState,
    },
    /// An approval of another commit than the head.
    #[error(
        "the approval is of commit `{}`, not of the pull request's head; approve the latest commit",
        commit_id.as_deref().unwrap_or("unknown")
    )]
    OlderCommit {
        /// The commit approved.
        commit_id: Option<String>,
    },
    /// The reviewer holds no role in `governance.approvers`.
    #[error("the reviewer holds no role in the bundle's `governance.approvers`")]
    NoRole,
    /// A login that is not a user's (a bot, an app).
    #[error("the reviewer is not a GitHub user (bots and apps cannot approve)")]
    NotAUser,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const HEAD: &str = "1111111111111111111111111111111111111111";
    const OLD: &str = "0000000000000000000000000000000000000000";

    fn roles_in_use() -> BTreeSet<String> {
        ["release-approver", "finops-approver", "change-manager"]
            .into_iter()
            .map(str::to_owned)
            .collect()
    }

    fn approvers() -> Approvers {
        Approvers::from_data(
            Some(&json!({
                "release-approver": {"github_users": ["bob-gh"], "github_teams": ["acme/release-managers"]},
                "finops-approver": {"github_users": ["carol-gh", "Bob-GH"]}
            })),
            Some(&json!({"github": {"bob-gh": "bob@example.com", "carol-gh": "carol@example.com",
                "alice-gh": "alice@example.com", "alice-alt": "Alice@Example.com"}})),
            &roles_in_use(),
        )
        .unwrap()
    }

    fn review(
        id: u64,
        login: &str,
        state: ReviewState,
        commit: &str,
        minute: i64,
    ) -> PullRequestReview {
        PullRequestReview {
            id,
            login: Some(login.to_owned()),
            state,
            commit_id: Some(commit.to_owned()),
            submitted_at: (state != ReviewState::Pending)
                .then(|| Timestamp::from_unix_seconds(1_795_000_000 + minute * 60).unwrap()),
            html_url: Some(format!(
                "https://github.com/acme/app/pull/7#pullrequestreview-{id}"
            )),
        }
    }

    fn evidence(reviews: Vec<PullRequestReview>) -> PullRequestEvidence {
        PullRequestEvidence {
            author: "alice-gh".to_owned(),
            head_sha: HEAD.to_owned(),
            reviews,
            team_members: BTreeMap::from([(
                "Acme/Release-Managers".to_owned(),
                vec!["dave-gh".to_owned(), "alice-gh".to_owned()],
            )]),
        }
    }

    fn counted(evidence: &PullRequestEvidence) -> Vec<(String, String)> {
        approvers()
            .approvals_from_github(evidence)
            .approvals
            .into_iter()
            .map(|a| (a.by, a.role))
            .collect()
    }

    fn verdict(evidence: &PullRequestEvidence, login: &str) -> ReviewerOutcome {
        approvers()
            .approvals_from_github(evidence)
            .reviewers
            .into_iter()
            .find(|r| r.login == login)
            .unwrap()
            .outcome
    }

    use ReviewState::{Approved, ChangesRequested, Commented, Dismissed, Pending};

    #[test]
    fn an_approval_of_the_head_counts_in_every_role_of_the_reviewer() {
        let ev = evidence(vec![review(1, "bob-gh", Approved, HEAD, 1)]);
        let result = approvers().approvals_from_github(&ev);
        assert_eq!(
            result.approvals,
            vec![
                Approval {
                    by: "bob@example.com".to_owned(),
                    role: "finops-approver".to_owned(),
                    at: ev.reviews[0].submitted_at,
                    comment: None,
                    source: ApprovalSource::GithubReview,
                    reference: ev.reviews[0].html_url.clone(),
                },
                Approval {
                    by: "bob@example.com".to_owned(),
                    role: "release-approver".to_owned(),
                    at: ev.reviews[0].submitted_at,
                    comment: None,
                    source: ApprovalSource::GithubReview,
                    reference: ev.reviews[0].html_url.clone(),
                },
            ]
        );
    }

    #[test]
    fn the_authors_own_approval_never_counts() {
        // alice-gh is the author and a member of the release team.
        let ev = evidence(vec![review(1, "ALICE-GH", Approved, HEAD, 1)]);
        assert_eq!(counted(&ev), []);
        assert_eq!(
            verdict(&ev, "ALICE-GH"),
            ReviewerOutcome::NotCounted(NotCounted::Author)
        );
    }

    #[test]
    fn a_second_login_of_the_author_never_counts() {
        // alice-alt maps to the author's identity (another case); make it a release approver.
        let approvers = Approvers::from_data(
            Some(&json!({"release-approver": {"github_users": ["alice-alt"]}})),
            Some(&json!({"github": {"alice-gh": "alice@example.com", "alice-alt": "ALICE@example.com"}})),
            &roles_in_use(),
        )
        .unwrap();
        let ev = evidence(vec![review(1, "alice-alt", Approved, HEAD, 1)]);
        let result = approvers.approvals_from_github(&ev);
        assert_eq!(result.approvals, []);
        assert_eq!(
            result.reviewers[0].outcome,
            ReviewerOutcome::NotCounted(NotCounted::Author)
        );
    }

    #[test]
    fn an_approval_of_an_older_commit_does_not_count() {
        let ev = evidence(vec![review(1, "bob-gh", Approved, OLD, 1)]);
        assert_eq!(counted(&ev), []);
        assert_eq!(
            verdict(&ev, "bob-gh"),
            ReviewerOutcome::NotCounted(NotCounted::OlderCommit {
                commit_id: Some(OLD.to_owned())
            })
        );
        let mut no_commit = review(2, "bob-gh", Approved, HEAD, 2);
        no_commit.commit_id = None;
        assert_eq!(counted(&evidence(vec![no_commit])), []);
    }

    #[test]
    fn the_head_sha_is_compared_case_insensitively() {
        let mut ev = evidence(vec![review(1, "carol-gh", Approved, "ABCDEF", 1)]);
        ev.head_sha = "abcdef".to_owned();
        assert_eq!(
            counted(&ev),
            [("carol@example.com".to_owned(), "finops-approver".to_owned())]
        );
    }

    #[test]
    fn a_later_request_for_changes_cancels_an_approval() {
        let ev = evidence(vec![
            review(2, "bob-gh", ChangesRequested, HEAD, 2),
            review(1, "bob-gh", Approved, HEAD, 1),
        ]);
        assert_eq!(counted(&ev), []);
        assert_eq!(
            verdict(&ev, "bob-gh"),
            ReviewerOutcome::NotCounted(NotCounted::NotApproved {
                state: ChangesRequested
            })
        );
    }

    #[test]
    fn a_dismissed_approval_does_not_count() {
        let ev = evidence(vec![
            review(1, "bob-gh", Approved, HEAD, 1),
            review(2, "bob-gh", Dismissed, HEAD, 2),
        ]);
        assert_eq!(counted(&ev), []);
    }

    #[test]
    fn comments_and_pending_reviews_leave_the_state_as_it_was() {
        let ev = evidence(vec![
            review(1, "bob-gh", Approved, HEAD, 1),
            review(2, "bob-gh", Commented, HEAD, 2),
            review(3, "bob-gh", Pending, HEAD, 3),
        ]);
        assert_eq!(counted(&ev).len(), 2);
        // An approval after a request for changes counts again.
        let ev = evidence(vec![
            review(1, "carol-gh", ChangesRequested, HEAD, 1),
            review(2, "carol-gh", Commented, HEAD, 2),
            review(3, "carol-gh", Approved, HEAD, 3),
        ]);
        assert_eq!(
            counted(&ev),
            [("carol@example.com".to_owned(), "finops-approver".to_owned())]
        );
    }

    #[test]
    fn an_unknown_state_fails_closed() {
        let late: PullRequestReview = serde_json::from_value(json!({
            "id": 2, "login": "bob-gh", "state": "SOMETHING_NEW", "commit_id": HEAD,
            "submitted_at": "2026-11-23T12:00:00Z"}))
        .unwrap();
        assert_eq!(late.state, ReviewState::Unknown);
        let ev = evidence(vec![review(1, "bob-gh", Approved, HEAD, 1), late]);
        assert_eq!(counted(&ev), []);
    }

    #[test]
    fn an_unmapped_reviewer_does_not_count() {
        let ev = evidence(vec![review(1, "eve-gh", Approved, HEAD, 1)]);
        assert_eq!(counted(&ev), []);
        assert_eq!(
            verdict(&ev, "eve-gh"),
            ReviewerOutcome::NotCounted(NotCounted::NoRole)
        );
    }

    #[test]
    fn a_team_member_counts_and_is_recorded_by_login_without_an_identity() {
        let ev = evidence(vec![review(1, "Dave-GH", Approved, HEAD, 1)]);
        assert_eq!(
            counted(&ev),
            [("github:Dave-GH".to_owned(), "release-approver".to_owned())]
        );
        // Without the team's members, nobody holds the role through it.
        let mut ev = ev;
        ev.team_members.clear();
        assert_eq!(counted(&ev), []);
    }

    #[test]
    fn bots_and_deleted_accounts_do_not_count() {
        let mut ghost = review(2, "x", Approved, HEAD, 2);
        ghost.login = None;
        let ev = evidence(vec![review(1, "dependabot[bot]", Approved, HEAD, 1), ghost]);
        let result = approvers().approvals_from_github(&ev);
        assert_eq!(result.approvals, []);
        assert_eq!(
            result.reviewers[0].outcome,
            ReviewerOutcome::NotCounted(NotCounted::NotAUser)
        );
    }

    #[test]
    fn a_reference_that_is_not_printable_is_left_out() {
        let mut r = review(1, "carol-gh", Approved, HEAD, 1);
        r.html_url = Some("https://github.com/\u{1b}[2J".to_owned());
        let result = approvers().approvals_from_github(&evidence(vec![r]));
        assert_eq!(result.approvals.len(), 1);
        assert_eq!(result.approvals[0].reference, None);
    }

    #[test]
    fn the_result_does_not_depend_on_the_order_of_reviews() {
        let reviews = vec![
            review(1, "bob-gh", Approved, HEAD, 1),
            review(2, "carol-gh", Approved, OLD, 2),
            review(3, "carol-gh", Approved, HEAD, 3),
            review(4, "dave-gh", ChangesRequested, HEAD, 4),
        ];
        let forward = approvers().approvals_from_github(&evidence(reviews.clone()));
        let mut backward = reviews;
        backward.reverse();
        assert_eq!(
            forward,
            approvers().approvals_from_github(&evidence(backward))
        );
        assert_eq!(forward.approvals.len(), 3);
    }

    #[test]
    fn verdicts_serialise_with_their_reason() {
        let ev = evidence(vec![
            review(1, "bob-gh", Approved, HEAD, 1),
            review(2, "carol-gh", Approved, OLD, 2),
            review(3, "alice-gh", Approved, HEAD, 3),
        ]);
        let value = serde_json::to_value(approvers().approvals_from_github(&ev)).unwrap();
        assert_eq!(
            value["reviewers"],
            json!([
                {"login": "alice-gh", "review_id": 3, "outcome": {"verdict": "not_counted", "reason": "author"}},
                {"login": "bob-gh", "review_id": 1, "outcome": {"verdict": "counted", "by": "bob@example.com", "roles": ["finops-approver", "release-approver"]}},
                {"login": "carol-gh", "review_id": 2, "outcome": {"verdict": "not_counted", "reason": "older_commit", "commit_id": OLD}},
            ])
        );
        assert_eq!(value["approvals"][0]["source"], "github_review");
    }

    #[test]
    fn teams_are_listed_once() {
        let teams: Vec<String> = approvers()
            .teams()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(teams, ["acme/release-managers"]);
    }

    fn load_error(approvers: Value, identities: Option<Value>) -> ApproversError {
        Approvers::from_data(Some(&approvers), identities.as_ref(), &roles_in_use()).unwrap_err()
    }

    #[test]
    fn malformed_data_fails_with_its_path() {
        let cases = [
            (
                json!(["bob-gh"]),
                None,
                "`governance.approvers` must be an object of role to",
            ),
            (
                json!({"Release Approver": {}}),
                None,
                "`governance.approvers[\"Release Approver\"]`: `Release Approver` is not a role name",
            ),
            (
                json!({"release-approvers": {}}),
                None,
                "`governance.approvers.release-approvers`: no catalogue policy has the override role `release-approvers`; the override roles are `change-manager`, `finops-approver`, `release-approver`",
            ),
            (
                json!({"release-approver": ["bob-gh"]}),
                None,
                "`governance.approvers.release-approver` must be an object",
            ),
            (
                json!({"release-approver": {"github_user": ["bob-gh"]}}),
                None,
                "`governance.approvers.release-approver.github_user` is not a known field; expected `github_users` or `github_teams`",
            ),
            (
                json!({"release-approver": {"github_users": "bob-gh"}}),
                None,
                "`governance.approvers.release-approver.github_users` must be a list of GitHub logins",
            ),
            (
                json!({"release-approver": {"github_users": ["bob-gh", 7]}}),
                None,
                "`governance.approvers.release-approver.github_users[1]` must be a string",
            ),
            (
                json!({"release-approver": {"github_users": ["bob-gh", "bob@example.com"]}}),
                None,
                "`governance.approvers.release-approver.github_users[1]`: `bob@example.com` is not a GitHub login",
            ),
            (
                json!({"release-approver": {"github_users": ["bob-gh", "Bob-GH"]}}),
                None,
                "`governance.approvers.release-approver.github_users[1]`: `Bob-GH` is listed twice",
            ),
            (
                json!({"release-approver": {"github_teams": ["release-managers"]}}),
                None,
                "`governance.approvers.release-approver.github_teams[0]`: `release-managers` is not a GitHub team; write `org/team-slug`",
            ),
            (
                json!({}),
                Some(json!({"gitlab": {}})),
                "`governance.identities.gitlab` is not a known field; expected `github`",
            ),
            (
                json!({}),
                Some(json!({"github": {"bob gh": "bob@example.com"}})),
                "`governance.identities.github`: `bob gh` is not a GitHub login",
            ),
            (
                json!({}),
                Some(json!({"github": {"bob-gh": 1}})),
                "`governance.identities.github.bob-gh` must be a string",
            ),
            (
                json!({}),
                Some(json!({"github": {"bob-gh": "bob\u{1b}@example.com"}})),
                "`governance.identities.github.bob-gh`: identity `bob\\u{1b}@example.com` contains the control character U+001B",
            ),
            (
                json!({}),
                Some(json!({"github": {"bob-gh": " bob@example.com"}})),
                "has leading or trailing white space",
            ),
            (
                json!({}),
                Some(json!({"github": {"bob-gh": "b@x", "BOB-GH": "c@x"}})),
                "is listed twice",
            ),
        ];
        for (approvers, identities, want) in cases {
            let message = load_error(approvers.clone(), identities.clone()).to_string();
            assert!(
                message.contains(want),
                "{approvers} {identities:?}:\n got {message}\nwant {want}"
            );
        }
    }

    #[test]
    fn absent_data_maps_nobody() {
        let approvers = Approvers::from_data(None, None, &roles_in_use()).unwrap();
        assert!(approvers.is_empty());
        assert_eq!(approvers.identity("bob-gh"), "github:bob-gh");
        let ev = evidence(vec![review(1, "bob-gh", Approved, HEAD, 1)]);
        assert_eq!(approvers.approvals_from_github(&ev).approvals, []);
    }

    #[test]
    fn logins_and_teams() {
        assert!(is_github_login("a"));
        assert!(is_github_login("Octo-Cat-2"));
        assert!(is_github_login(&"a".repeat(39)));
        assert!(!is_github_login(&"a".repeat(40)));
        assert!(!is_github_login("-octo"));
        assert!(!is_github_login("octo_cat"));
        assert!(!is_github_login("renovate[bot]"));
        assert!(!is_github_login(""));
        assert_eq!(
            GithubTeam::parse("Acme/Release_Managers")
                .unwrap()
                .to_string(),
            "acme/release_managers"
        );
        assert!(GithubTeam::parse("acme/").is_none());
        assert!(GithubTeam::parse("acme/a/b").is_none());
        assert!(GithubTeam::parse("/team").is_none());
    }
}
