//! The one error type of the GitHub renderers and output files.

use std::path::PathBuf;

/// A report that could not be rendered or written.
#[derive(Debug, thiserror::Error)]
pub enum ActionError {
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
    Sarif(#[from] serde_json::Error),
    /// The JUnit XML could not be written.
    #[error("cannot write the JUnit XML: {0}")]
    Junit(#[from] std::io::Error),
}
