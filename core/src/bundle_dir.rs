//! Reading a bundle from a directory (feature `fs`), for the CLI, the HTTP adapter and bindings.

use std::fs;
use std::path::{Path, PathBuf};

use crate::bundle::{BundleSource, FileRole, file_role};

/// Folders inside a bundle directory that hold examples and test data, not bundle files.
pub const SKIPPED_DIRS: [&str; 3] = ["examples", "conformance", "target"];

/// A bundle directory that cannot be read.
#[derive(Debug, thiserror::Error)]
#[error("cannot read bundle file `{}`: {source}", path.display())]
pub struct BundleDirError {
    /// The file or folder.
    pub path: PathBuf,
    /// The I/O error.
    pub source: std::io::Error,
}

impl BundleSource {
    /// Collects a bundle from `dir`: `bundle.json`, every `.rego` file and every `data/**/*.json`
    /// file, skipping hidden folders and [`SKIPPED_DIRS`]. Paths are relative with `/`.
    pub fn from_dir(dir: &Path) -> Result<Self, BundleDirError> {
        let mut source = Self::default();
        walk(dir, dir, &mut source)?;
        Ok(source)
    }
}

fn walk(root: &Path, dir: &Path, source: &mut BundleSource) -> Result<(), BundleDirError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| BundleDirError { path, source }
    };
    let mut entries: Vec<_> = fs::read_dir(dir)
        .map_err(io(dir))?
        .collect::<Result<_, _>>()
        .map_err(io(dir))?;
    entries.sort_by_key(fs::DirEntry::file_name);
    for entry in entries {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        let kind = entry.file_type().map_err(io(&path))?;
        if kind.is_dir() {
            if dir == root && SKIPPED_DIRS.contains(&name.as_str()) {
                continue;
            }
            walk(root, &path, source)?;
            continue;
        }
        let Ok(relative) = path.strip_prefix(root) else {
            continue;
        };
        let relative: Vec<String> = relative
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        let relative = relative.join("/");
        if matches!(
            file_role(&relative),
            Some(FileRole::Manifest | FileRole::Policy | FileRole::Test | FileRole::Data)
        ) {
            let text = fs::read_to_string(&path).map_err(io(&path))?;
            source.insert(relative, text);
        }
    }
    Ok(())
}
