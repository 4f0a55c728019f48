//! Reading the files a user names on the command line, with the path in the error.

use std::path::Path;

use crate::cli_error::CliError;

/// The text of `path`.
pub fn read(path: &Path) -> Result<String, CliError> {
    std::fs::read_to_string(path).map_err(|source| CliError::Read {
        path: path.to_path_buf(),
        source,
    })
}
