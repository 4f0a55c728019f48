//! Reading a bundle from a directory (feature `fs`), for the CLI, the HTTP adapter and bindings:
//! [`BundleSource::from_dir`] collects the files, [`load_dir`] also loads them (limits, split
//! parts, overlay) and names the files of any error by their path under the directory.

use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::bundle::PackedBundle;
use crate::bundle::{BundleError, BundleSource, FileRole, MAX_BUNDLE_BYTES, file_role};
use crate::bundle_signing::verify_bundle;
use crate::engine::{Engine, EngineOptions};
use crate::error::{Diagnostic, ErrorDetail, Span};
use crate::signing::{Envelope, SIGNATURE_FILE, SignatureError, TrustedKey};

/// Folders inside a bundle directory that hold examples and test data, not bundle files.
pub const SKIPPED_DIRS: [&str; 3] = ["examples", "conformance", "target"];

/// A bundle directory that cannot be read.
#[derive(Debug, thiserror::Error)]
#[error("cannot read bundle file `{}`: {source}", path.display())]
pub struct BundleDirError {
    /// The file or folder.
    pub path: PathBuf,
    /// Why.
    pub source: ReadProblem,
}

/// Why a bundle file was not read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReadProblem {
    /// The operating system refused.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// The path (after following symbolic links) is a named pipe, a device, a socket or a
    /// folder: reading it could block forever or never end.
    #[error("not a regular file (it is {kind})")]
    NotRegular {
        /// `a named pipe`, `a character device`, ...
        kind: &'static str,
    },
    /// The bundle's files together are larger than the limit; reading stopped there.
    #[error("the bundle's files exceed {limit} bytes")]
    TooLarge {
        /// [`MAX_BUNDLE_BYTES`].
        limit: usize,
    },
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
    /// Public keys whose signatures are trusted. When there are any, the bundle must carry a
    /// signature ([`SIGNATURE_FILE`]) by one of them over exactly the files loaded (overlay
    /// included), or it does not load ([`DirLoadError::Signature`]).
    pub trusted_keys: Vec<TrustedKey>,
}

/// A bundle read from a directory and loaded.
#[derive(Debug)]
pub struct DirBundle {
    /// Its files (with the overlay).
    pub source: BundleSource,
    /// Its engine.
    pub engine: Engine,
    /// Its signature ([`SIGNATURE_FILE`]), when it has one that reads as a DSSE envelope:
    /// verified over [`Self::source`] when the options had trusted keys, otherwise as found.
    pub signature: Option<Envelope>,
}

impl DirBundle {
    /// The packed document ([`BundleSource::packed`]) with the signature, when the directory has
    /// one: what `gatehouse bundle` prints and `GET /v1/bundle` serves, so an embedder with the
    /// same trusted keys verifies it ([`PackedBundle::verify_with`]).
    pub fn packed(&self) -> PackedBundle {
        PackedBundle {
            signature: self.signature.clone(),
            ..self.source.packed(self.engine.info())
        }
    }
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
    /// Trusted keys are configured and the bundle's signature does not hold: unsigned, signed by
    /// an unknown key, a bad signature, or a file changed, added or removed after signing.
    #[error("bundle `{}` is refused: {source}", dir.display())]
    Signature {
        /// The directory.
        dir: PathBuf,
        /// What is wrong ([`SignatureError::file`] names the file, under `dir`).
        #[source]
        source: SignatureError,
    },
}

impl Diagnostic for DirLoadError {
    fn code(&self) -> &'static str {
        match self {
            Self::Read(BundleDirError {
                source: ReadProblem::TooLarge { .. },
                ..
            }) => "bundle_too_large",
            Self::Read(_) => "bundle_unreadable",
            Self::Invalid { source, .. } => source.code(),
            Self::Signature { source, .. } => source.code(),
        }
    }

    fn details(&self) -> Vec<ErrorDetail> {
        match self {
            Self::Read(e) => {
                let help = match e.source {
                    ReadProblem::NotRegular { .. } => {
                        "bundle files must be regular files (a symbolic link may point to one)"
                    }
                    ReadProblem::TooLarge { .. } => {
                        "keep large data out of the bundle (its files may hold 16 MiB in all)"
                    }
                    _ => {
                        "pass the directory that holds `bundle.json`, the `.rego` modules and `data/`"
                    }
                };
                vec![ErrorDetail::new(self.code(), e.to_string()).with_help(help)]
            }
            Self::Invalid { source, .. } => source.details(),
            Self::Signature { dir, source } => source
                .details()
                .into_iter()
                .map(|d| {
                    let span = d.span.clone().map(|s| Span {
                        file: dir.join(&s.file).display().to_string(),
                        ..s
                    });
                    d.with_span(span)
                })
                .collect(),
        }
    }
}

/// Reads the bundle in `dir` ([`BundleSource::from_dir`]), applies the overlay and loads it with
/// the options' limits and split.
///
/// With trusted keys, the signature ([`SIGNATURE_FILE`], read in the same pass as the files) is
/// verified over the very text that is then loaded, overlay included, before anything is parsed.
pub fn load_dir(dir: &Path, options: &DirOptions) -> Result<DirBundle, DirLoadError> {
    let (mut source, signature) = read_dir(dir)?;
    source
        .files
        .extend(options.overlay.iter().map(|(p, c)| (p.clone(), c.clone())));
    if !options.trusted_keys.is_empty() {
        verify_bundle(signature.as_deref(), &options.trusted_keys, &source).map_err(|source| {
            DirLoadError::Signature {
                dir: dir.to_path_buf(),
                source,
            }
        })?;
    }
    let engine =
        Engine::load_split(&source, options.engine, options.split.max(1)).map_err(|error| {
            DirLoadError::Invalid {
                dir: dir.to_path_buf(),
                source: error.in_dir(dir),
            }
        })?;
    // Without trusted keys the signature is not checked; it is carried (when it reads as an
    // envelope) so that the packed document keeps it for embedders that check it.
    let signature = signature.and_then(|text| serde_json::from_str(&text).ok());
    Ok(DirBundle {
        source,
        engine,
        signature,
    })
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
    ///
    /// Only regular files are read: a bundle path that is (or links to) a named pipe, a device
    /// or a socket is refused without being read, and without blocking. Symbolic links to regular
    /// files are followed (wherever they point: the bundle's digest covers what was read). The
    /// files together may hold at most [`MAX_BUNDLE_BYTES`]; the limit holds while reading, so
    /// a file that grows while it is read stops there.
    pub fn from_dir(dir: &Path) -> Result<Self, BundleDirError> {
        Ok(read_dir(dir)?.0)
    }
}

/// The bundle in `dir` ([`BundleSource::from_dir`]) and the text of its signature
/// ([`SIGNATURE_FILE`] at its root, read like a bundle file), if it has one.
pub fn read_dir(dir: &Path) -> Result<(BundleSource, Option<String>), BundleDirError> {
    let mut read = Walk {
        source: BundleSource::default(),
        signature: None,
        budget: MAX_BUNDLE_BYTES,
    };
    walk(dir, dir, &mut read)?;
    Ok((read.source, read.signature))
}

/// What a walk has read so far.
struct Walk {
    source: BundleSource,
    signature: Option<String>,
    /// Bytes left under [`MAX_BUNDLE_BYTES`].
    budget: usize,
}

fn walk(root: &Path, dir: &Path, read: &mut Walk) -> Result<(), BundleDirError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |e: std::io::Error| BundleDirError {
            path,
            source: ReadProblem::Io(e),
        }
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
            walk(root, &path, read)?;
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
        let signature = relative == SIGNATURE_FILE;
        if signature
            || matches!(
                file_role(&relative),
                Some(FileRole::Manifest | FileRole::Policy | FileRole::Test | FileRole::Data)
            )
        {
            let text = read_regular(&path, &mut read.budget).map_err(|problem| BundleDirError {
                path: path.clone(),
                source: problem,
            })?;
            if signature {
                read.signature = Some(text);
            } else {
                read.source.insert(relative, text);
            }
        }
    }
    Ok(())
}

/// Reads a regular file as UTF-8, at most `budget` bytes (less what it read).
///
/// The type is checked before opening (following links), so a named pipe or a device is never
/// opened; and again on the opened handle, so one swapped in between is refused too. The file
/// is opened non-blocking, so that even then opening a named pipe returns at once.
fn read_regular(path: &Path, budget: &mut usize) -> Result<String, ReadProblem> {
    regular(&fs::metadata(path)?)?;
    let mut options = fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = options.open(path)?;
    regular(&file.metadata()?)?;
    let mut bytes = Vec::new();
    // One byte more than the budget tells a file at the limit from one over it.
    let cap = u64::try_from(*budget).unwrap_or(u64::MAX).saturating_add(1);
    file.take(cap).read_to_end(&mut bytes)?;
    if bytes.len() > *budget {
        return Err(ReadProblem::TooLarge {
            limit: MAX_BUNDLE_BYTES,
        });
    }
    *budget = budget.saturating_sub(bytes.len());
    String::from_utf8(bytes)
        .map_err(|e| ReadProblem::Io(std::io::Error::new(std::io::ErrorKind::InvalidData, e)))
}

/// Refuses anything but a regular file, naming what it is.
fn regular(metadata: &fs::Metadata) -> Result<(), ReadProblem> {
    let kind = metadata.file_type();
    if kind.is_file() {
        return Ok(());
    }
    let kind = if kind.is_dir() {
        "a folder"
    } else {
        special_kind(&kind)
    };
    Err(ReadProblem::NotRegular { kind })
}

#[cfg(unix)]
fn special_kind(kind: &fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if kind.is_fifo() {
        "a named pipe"
    } else if kind.is_char_device() {
        "a character device"
    } else if kind.is_block_device() {
        "a block device"
    } else if kind.is_socket() {
        "a socket"
    } else {
        "a special file"
    }
}

#[cfg(not(unix))]
fn special_kind(_: &fs::FileType) -> &'static str {
    "a special file"
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
