//! Reading a bundle from a directory (feature `fs`), for the CLI, the HTTP adapter and bindings:
//! [`BundleSource::from_dir`] collects the files, [`load_dir`] also loads them (limits, split
//! parts, overlay) and names the files of any error by their path under the directory.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use crate::bundle::{BundleError, BundleSource, FileRole, file_role};
use crate::engine::{Engine, EngineOptions};
use crate::error::{Diagnostic, ErrorDetail, Span};

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

/// How to load a bundle directory ([`load_dir`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DirOptions {
    /// Evaluation limits (native front ends set a time limit).
    pub engine: EngineOptions,
    /// Engines to spread the policy packages over ([`Engine::load_split`]); 0 and 1 mean one.
    pub split: usize,
    /// Files added to the directory's bundle or replacing its files, by bundle path.
    pub overlay: BTreeMap<String, String>,
}

/// A bundle read from a directory and loaded.
#[derive(Debug)]
pub struct DirBundle {
    /// Its files (with the overlay).
    pub source: BundleSource,
    /// Its engine.
    pub engine: Engine,
}

/// A bundle directory that does not load. Fails closed: no engine.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DirLoadError {
    /// A file or folder cannot be read.
    #[error(transparent)]
    Read(#[from] BundleDirError),
    /// The files do not form a valid bundle. The files the error names, and its spans, are
    /// paths under `dir` ([`BundleError::in_dir`]).
    #[error("bundle `{}` is invalid: {source}", dir.display())]
    Invalid {
        /// The directory.
        dir: PathBuf,
        /// What is wrong.
        #[source]
        source: BundleError,
    },
}

impl Diagnostic for DirLoadError {
    fn code(&self) -> &'static str {
        match self {
            Self::Read(_) => "bundle_unreadable",
            Self::Invalid { source, .. } => source.code(),
        }
    }

    fn details(&self) -> Vec<ErrorDetail> {
        match self {
            Self::Read(e) => vec![ErrorDetail::new(self.code(), e.to_string()).with_help(
                "pass the directory that holds `bundle.json`, the `.rego` modules and `data/`",
            )],
            Self::Invalid { source, .. } => source.details(),
        }
    }
}

/// Reads the bundle in `dir` ([`BundleSource::from_dir`]), applies the overlay and loads it with
/// the options' limits and split.
pub fn load_dir(dir: &Path, options: &DirOptions) -> Result<DirBundle, DirLoadError> {
    let mut source = BundleSource::from_dir(dir)?;
    source
        .files
        .extend(options.overlay.iter().map(|(p, c)| (p.clone(), c.clone())));
    let engine =
        Engine::load_split(&source, options.engine, options.split.max(1)).map_err(|error| {
            DirLoadError::Invalid {
                dir: dir.to_path_buf(),
                source: error.in_dir(dir),
            }
        })?;
    Ok(DirBundle { source, engine })
}

impl BundleError {
    /// The error with the bundle files it names (in its fields and spans) as paths under `dir`,
    /// so that they name the files on disk.
    #[must_use]
    pub fn in_dir(self, dir: &Path) -> Self {
        let path = |file: String| dir.join(file).display().to_string();
        let span = |s: Span| Span {
            file: path(s.file),
            ..s
        };
        match self {
            Self::InvalidJson {
                file,
                message,
                span: at,
            } => Self::InvalidJson {
                file: path(file),
                message,
                span: at.map(span),
            },
            Self::DataNotObject { file } => Self::DataNotObject { file: path(file) },
            Self::DataConflict { file, key } => Self::DataConflict {
                file: path(file),
                key,
            },
            Self::RegoParse { message, span: at } => Self::RegoParse {
                message,
                span: at.map(span),
            },
            Self::RegoCompile { message, span: at } => Self::RegoCompile {
                message,
                span: at.map(span),
            },
            Self::Approvers { file, source } => Self::Approvers {
                file: file.map(path),
                source,
            },
            Self::DerivedReadsInput { span: at } => Self::DerivedReadsInput { span: span(at) },
            Self::DerivedReadsPackage {
                path: read,
                span: at,
            } => Self::DerivedReadsPackage {
                path: read,
                span: span(at),
            },
            Self::DerivedEvaluation { message, span: at } => Self::DerivedEvaluation {
                message,
                span: at.map(span),
            },
            Self::DerivedUndefined { rule, span: at } => Self::DerivedUndefined {
                rule,
                span: at.map(span),
            },
            other => other,
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn bundle_dir(files: &[(&str, &str)]) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "gatehouse-bundle-dir-{}-{}",
            std::process::id(),
            files.len()
        ));
        let _ = fs::remove_dir_all(&dir);
        for (path, text) in files {
            let file = dir.join(path);
            fs::create_dir_all(file.parent().unwrap()).unwrap();
            fs::write(file, text).unwrap();
        }
        dir
    }

    #[test]
    fn errors_name_the_files_under_the_directory_and_the_overlay_applies() {
        let dir = bundle_dir(&[
            ("bundle.json", r#"{"name": "t", "revision": "1"}"#),
            (
                "rules/p.rego",
                "package gatehouse.policies.p\n\ndeny contains x if {\n",
            ),
        ]);
        let err = load_dir(&dir, &DirOptions::default()).unwrap_err();
        assert_eq!(err.code(), "rego_parse");
        let span = err.details().remove(0).span.unwrap();
        assert_eq!(span.file, dir.join("rules/p.rego").display().to_string());
        assert!(span.line >= 3, "{span:?}");

        let fixed = DirOptions {
            overlay: [(
                "rules/p.rego".to_owned(),
                "package gatehouse.policies.p\n\ndeny contains x if { x := 1; false }\n".to_owned(),
            )]
            .into_iter()
            .collect(),
            split: 2,
            ..DirOptions::default()
        };
        let loaded = load_dir(&dir, &fixed).unwrap();
        assert_eq!(loaded.engine.info().digest, loaded.source.digest());
        assert!(loaded.source.files["rules/p.rego"].contains("x := 1"));

        let missing = load_dir(&dir.join("nope"), &DirOptions::default()).unwrap_err();
        assert_eq!(missing.code(), "bundle_unreadable");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn data_file_errors_name_the_file_under_the_directory() {
        let error = BundleError::DataNotObject {
            file: "data/x.json".to_owned(),
        }
        .in_dir(Path::new("policies"));
        assert_eq!(
            error.details().remove(0).span.unwrap().file,
            Path::new("policies")
                .join("data/x.json")
                .display()
                .to_string()
        );
    }
}
