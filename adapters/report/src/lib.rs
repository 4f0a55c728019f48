//! Every report Gatehouse prints: the renderers behind `gatehouse check --format …` and
//! `gatehouse diff --format …`, also what the GitHub Action (`adapters/github-action/action.yml`
//! in the repository, which runs `gatehouse check`) prints.
//!
//! One [`OutputFormat`] names them and one [`render`] (one [`render_impact`] for `gatehouse
//! diff`) picks the renderer. Every renderer takes the same [`Report`] (the checked files, each
//! with its decision or the reason it could not be read, the bundle and its catalogue) and returns
//! text; each lives in one file:
//!
//! - [`human`]: readable text grouped by enforcement level, coloured on request.
//! - [`json`]: one JSON document with each file's decision (the contract's bytes) or errors.
//! - [`annotations`]: workflow commands (`::error file=…,line=…,col=…,title=…::message`), grouped
//!   per file, at the line and column of the offending field ([`spans`]).
//! - [`summary`]: the Markdown job summary for `$GITHUB_STEP_SUMMARY`, kept under GitHub's 1 MiB.
//! - [`sarif`]: SARIF 2.1.0 for code scanning, one rule per catalogue policy.
//! - [`junit`]: JUnit XML, one test suite per intent file, one test case per policy.
//! - [`outputs`]: the step outputs for `$GITHUB_OUTPUT`, multi-line safe.
//!
//! The human text and the annotations are written through [`lines`]: in a GitHub Actions log
//! ([`Sink::ActionsLog`]) nothing a pull request wrote (file names, intent values, messages built
//! from them) can start a line the runner would read as a workflow command.
//!
//! [`reviews`] renders the notes of `--github-reviews` (which pull request was read, and whose
//! review counts as an approval), printed to stderr whatever the format.
//!
//! [`impact`] gathers the comparisons of two bundles' decisions on the same intents
//! (`gatehouse diff`; the comparison itself is `gatehouse_core::impact`). None of this holds
//! policy logic: it only presents decisions the core made.

pub mod annotations;
pub mod error;
mod format;
pub mod human;
pub mod impact;
pub mod json;
pub mod junit;
pub mod lines;
pub mod outputs;
pub mod reviews;
pub mod sarif;
pub mod spans;
pub mod summary;

use gatehouse_core::{
    BundleInfo, Catalog, Decision, ErrorDetail, Outcome, Violation, ViolationStatus,
};

pub use error::ReportError;
pub use format::{OutputFormat, render, render_impact};
pub use lines::Sink;
pub use spans::{Precision, SourceIndex, SourcePosition};

/// The code of the one error record of a file that could not be read at all (missing,
/// unreadable): its message is the whole story, so the human text shows it as the headline.
pub const READ_ERROR: &str = "read_error";

/// One intent file as checked: its decision, with the source position of every violation, or the
/// errors that kept it from being read.
#[derive(Debug, Clone)]
pub struct CheckedFile {
    /// The path as given (relative to the repository root in a workflow).
    pub file: String,
    /// What came of it.
    pub result: FileResult,
}

/// The decision on one file, or why there is none.
#[derive(Debug, Clone)]
pub enum FileResult {
    /// The intent was read and evaluated.
    Decided {
        /// The core's decision (boxed: it is much larger than the unreadable variant).
        decision: Box<Decision>,
        /// Where each of `decision.violations` is in the file (same order).
        violation_positions: Vec<SourcePosition>,
        /// Where each of `decision.errors` is in the file (same order), from its field path.
        error_positions: Vec<SourcePosition>,
    },
    /// The file could not be read, or is not well-formed JSON or YAML.
    Unreadable {
        /// The records (a syntax error carries its line and column).
        errors: Vec<ErrorDetail>,
    },
}

impl CheckedFile {
    /// A decided file; `text` is the intent as read, used to locate each violation.
    pub fn decided(file: impl Into<String>, text: &str, decision: Decision) -> Self {
        let index = SourceIndex::new(text);
        let violation_positions = decision
            .violations
            .iter()
            .map(|v| index.locate(&v.path))
            .collect();
        let error_positions = decision
            .errors
            .iter()
            .map(|e| {
                e.path
                    .as_deref()
                    .map_or(SourcePosition::FILE, |p| index.locate(p))
            })
            .collect();
        Self {
            file: file.into(),
            result: FileResult::Decided {
                decision: Box::new(decision),
                violation_positions,
                error_positions,
            },
        }
    }

    /// A file that could not be read or parsed.
    pub fn unreadable(file: impl Into<String>, errors: Vec<ErrorDetail>) -> Self {
        Self {
            file: file.into(),
            result: FileResult::Unreadable { errors },
        }
    }

    /// The decision, when there is one.
    pub fn decision(&self) -> Option<&Decision> {
        match &self.result {
            FileResult::Decided { decision, .. } => Some(decision),
            FileResult::Unreadable { .. } => None,
        }
    }
}

/// Everything a renderer needs: the checked files and the bundle that decided.
#[derive(Debug, Clone, Copy)]
pub struct Report<'a> {
    /// The files, in the order checked.
    pub files: &'a [CheckedFile],
    /// Name, revision and digest of the bundle.
    pub bundle: &'a BundleInfo,
    /// The bundle's policy metadata (SARIF rules, JUnit test cases).
    pub catalog: &'a Catalog,
}

impl Report<'_> {
    /// Counts over every file.
    pub fn totals(&self) -> Totals {
        let mut totals = Totals::default();
        for file in self.files {
            let Some(decision) = file.decision() else {
                totals.unreadable += 1;
                continue;
            };
            match decision.outcome {
                Outcome::Allow => totals.allowed += 1,
                Outcome::NeedsApproval => totals.needs_approval += 1,
                Outcome::Deny => totals.denied += 1,
            }
            totals.errors += decision.errors.len();
            for v in &decision.violations {
                match v.status {
                    ViolationStatus::Blocking => totals.blocking += 1,
                    ViolationStatus::PendingApproval => totals.pending_approval += 1,
                    ViolationStatus::Advisory => totals.advisory += 1,
                    ViolationStatus::Exempted | ViolationStatus::Overridden => totals.lifted += 1,
                }
            }
        }
        totals
    }

    /// The overall verdict: `error` when a file could not be read, else the worst outcome.
    pub fn overall(&self) -> Overall {
        if self.files.iter().any(|f| f.decision().is_none()) {
            return Overall::Error;
        }
        let worst = self
            .files
            .iter()
            .filter_map(CheckedFile::decision)
            .map(|d| d.outcome)
            .max()
            .unwrap_or(Outcome::Allow);
        Overall::Decided(worst)
    }

    /// Whether the check fails under `fail_on` (exit code 1). Unreadable files are a tool error
    /// (exit code 2) and not counted here.
    pub fn fails(&self, fail_on: FailOn) -> bool {
        self.files
            .iter()
            .filter_map(CheckedFile::decision)
            .any(|d| match fail_on {
                FailOn::Deny => d.outcome == Outcome::Deny,
                FailOn::NeedsApproval => d.outcome != Outcome::Allow,
                FailOn::Advisory => {
                    d.outcome != Outcome::Allow
                        || d.violations
                            .iter()
                            .any(|v| v.status == ViolationStatus::Advisory)
                }
            })
    }
}

/// Counts of files by outcome and of violations by status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Totals {
    /// Files allowed.
    pub allowed: usize,
    /// Files that need an approval.
    pub needs_approval: usize,
    /// Files denied.
    pub denied: usize,
    /// Files that could not be read.
    pub unreadable: usize,
    /// Hard-mandatory violations that block.
    pub blocking: usize,
    /// Soft-mandatory violations waiting for an approval.
    pub pending_approval: usize,
    /// Advisory violations.
    pub advisory: usize,
    /// Violations lifted by an exemption or an override.
    pub lifted: usize,
    /// Evaluation errors (each denies).
    pub errors: usize,
}

impl Totals {
    /// Files checked.
    pub fn files(&self) -> usize {
        self.allowed + self.needs_approval + self.denied + self.unreadable
    }

    /// `N files: A allowed, P need approval, D denied, U unreadable`, the summary line's counts
    /// (human text and annotations).
    pub fn counts(&self) -> String {
        format!(
            "{} file{}: {} allowed, {} need approval, {} denied, {} unreadable",
            self.files(),
            if self.files() == 1 { "" } else { "s" },
            self.allowed,
            self.needs_approval,
            self.denied,
            self.unreadable,
        )
    }

    /// Violations that stop a deployment: blocking plus pending approval.
    pub fn stopping(&self) -> usize {
        self.blocking + self.pending_approval
    }
}

/// The verdict over all files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overall {
    /// Every file was decided; this is the worst outcome.
    Decided(Outcome),
    /// At least one file could not be read.
    Error,
}

impl Overall {
    /// `allow`, `needs_approval`, `deny` or `error`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Decided(outcome) => outcome.as_str(),
            Self::Error => "error",
        }
    }
}

/// From which outcome on a check fails (`--fail-on`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum FailOn {
    /// Only a denied intent fails the check.
    Deny,
    /// A denied intent or one that needs an approval fails (the default).
    #[default]
    NeedsApproval,
    /// Any of the above, or any advisory violation.
    Advisory,
}

/// The label shown for an outcome: `ALLOW`, `NEEDS APPROVAL`, `DENY`.
pub fn outcome_label(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Allow => "ALLOW",
        Outcome::NeedsApproval => "NEEDS APPROVAL",
        Outcome::Deny => "DENY",
    }
}

/// The contract's spelling of a violation status.
pub fn status_str(status: ViolationStatus) -> &'static str {
    match status {
        ViolationStatus::Blocking => "blocking",
        ViolationStatus::PendingApproval => "pending_approval",
        ViolationStatus::Advisory => "advisory",
        ViolationStatus::Exempted => "exempted",
        ViolationStatus::Overridden => "overridden",
    }
}

/// What lifts a violation, or what it waits for and how to fix it: one line each, shared by the
/// human text and the annotations.
pub fn violation_notes(v: &Violation) -> Vec<String> {
    if let Some(by) = &v.exempted_by {
        return vec![format!("exempted by {by}")];
    }
    if let Some(by) = &v.overridden_by {
        return vec![format!("overridden by {by}")];
    }
    let mut notes = Vec::new();
    if let Some(role) = &v.override_role {
        notes.push(format!(
            "needs approval from role `{role}` (not the requester)"
        ));
    }
    if let Some(id) = &v.expired_exemption {
        notes.push(format!("exemption {id} matched but has expired"));
    }
    notes.push(format!("fix: {}", v.remediation));
    notes
}

/// Appends text to a file GitHub gave us (`$GITHUB_STEP_SUMMARY`, `$GITHUB_OUTPUT`), creating it
/// when missing.
pub fn append_to_file(path: &std::path::Path, text: &str) -> Result<(), ReportError> {
    use std::io::Write as _;
    let write = || -> std::io::Result<()> {
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        file.write_all(text.as_bytes())
    };
    write().map_err(|source| ReportError::Write {
        path: path.to_path_buf(),
        source,
    })
}
