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
    Action(#[from] gatehouse_action::ActionError),
    /// The pull request's reviews could not be read (`--github-reviews`).
    #[error("cannot read the pull request's reviews from GitHub")]
    GithubReviews(#[source] crate::github_reviews::GithubReviewsError),
    /// A flag value is invalid.
    #[error("{0}")]
    Usage(String),
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

/// `error[code]: message` with `--> file:line:col` and `help:` lines.
pub fn render_detail(d: &ErrorDetail) -> String {
    let mut text = format!("  [{}] {}\n", d.code, d.message.replace('\n', "\n    "));
    if let Some(span) = &d.span {
        if span.file.is_empty() {
            text.push_str(&format!(
                "    --> line {}, column {}\n",
                span.line, span.column
            ));
        } else {
            text.push_str(&format!(
                "    --> {}:{}:{}\n",
                span.file, span.line, span.column
            ));
        }
    }
    if let Some(help) = &d.help {
        text.push_str(&format!("    help: {help}\n"));
    }
    text
}

/// Writes to stderr, ignoring a closed stream.
pub fn eprint_text(text: &str) {
    use std::io::Write as _;
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}
