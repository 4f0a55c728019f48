//! The one error type of the renderers and output files.

use std::path::PathBuf;

/// A report that could not be rendered or written.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// A file GitHub gave us (`$GITHUB_STEP_SUMMARY`, `$GITHUB_OUTPUT`, the SARIF file) could not
    /// be written.
    #[error("cannot write `{}`: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The SARIF log could not be serialised.
    #[error("cannot serialise the SARIF log: {0}")]
    Sarif(#[source] serde_json::Error),
    /// A JSON report could not be serialised.
    #[error("cannot serialise the JSON report: {0}")]
    Json(#[source] serde_json::Error),
    /// The JUnit XML could not be written.
    #[error("cannot write the JUnit XML: {0}")]
    Junit(#[from] std::io::Error),
}
