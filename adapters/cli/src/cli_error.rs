//! Usage and load errors: printed to stderr with code, position and help; exit code 2.

use std::path::PathBuf;

use gatehouse_core::{Diagnostic, ErrorDetail};

/// Something that stops the command before it can give a verdict.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// A file could not be read.
    #[error("cannot read `{}`: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The bundle directory could not be read.
    #[error(transparent)]
    BundleDir(#[from] gatehouse_core::bundle_dir::BundleDirError),
    /// The bundle is invalid.
    #[error("bundle `{}` is invalid", dir.display())]
    Bundle {
        /// The directory.
        dir: PathBuf,
        /// The error.
        source: gatehouse_core::BundleError,
    },
    /// A GitHub report could not be rendered or written.
    #[error(transparent)]
    Report(#[from] gatehouse_report::ReportError),
    /// The pull request's reviews could not be read (`--github-reviews`).
    #[error("cannot read the pull request's reviews from GitHub")]
    GithubReviews(#[source] crate::github_reviews::GithubReviewsError),
    /// A flag value is invalid.
    #[error("{0}")]
    Usage(String),
    /// An answer could not be written as JSON (a bug: answers are plain data).
    #[error("cannot write the {what} as JSON: {source}")]
    Json {
        /// What was being written.
        what: &'static str,
        /// Why.
        source: serde_json::Error,
    },
    /// Any typed error with its records.
    #[error("{summary}")]
    Details {
        /// One line.
        summary: String,
        /// The records.
        details: Vec<ErrorDetail>,
    },
}

impl From<gatehouse_core::DirLoadError> for CliError {
    fn from(error: gatehouse_core::DirLoadError) -> Self {
        match error {
            gatehouse_core::DirLoadError::Read(e) => Self::BundleDir(e),
            gatehouse_core::DirLoadError::Invalid { dir, source } => Self::Bundle { dir, source },
            // A load error this CLI does not know yet: its records still say what is wrong.
            other => Self::Details {
                summary: other.to_string(),
                details: gatehouse_core::Diagnostic::details(&other),
            },
        }
    }
}

impl CliError {
    /// The records a report shows for this error: its own records, or one `read_error` record
    /// whose message is the error's.
    pub fn details(&self) -> Vec<ErrorDetail> {
        match self {
            Self::Details { details, .. } => details.clone(),
            other => vec![ErrorDetail::new(
                gatehouse_report::READ_ERROR,
                other.to_string(),
            )],
        }
    }

    /// Prints the error to stderr.
    pub fn report(&self) {
        let details = match self {
            Self::Bundle { source, .. } => source.details(),
            Self::Details { details, .. } => details.clone(),
            Self::GithubReviews(source) => source.details(),
            _ => Vec::new(),
        };
        let mut text = format!("error: {self}\n");
        for d in &details {
            text.push_str(&render_detail(d));
        }
        eprint_text(&text);
    }
}

/// One error record as the CLI prints it (the human report's lines).
pub fn render_detail(d: &ErrorDetail) -> String {
    gatehouse_report::human::detail(d, crate::sink())
}

/// Writes to stderr, ignoring a closed stream; in a GitHub Actions log no line can start a
/// workflow command ([`gatehouse_report::Sink::guard`]).
pub fn eprint_text(text: &str) {
    use std::io::Write as _;
    let text = crate::sink().guard(text);
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}
