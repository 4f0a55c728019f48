//! Governance bundles: a manifest, Rego modules and JSON data, given as a map of path to text.
//! The core never reads files; the CLI and the HTTP adapter collect them.
//!
//! Layout of a bundle (paths relative to its root):
//! - `bundle.json` — manifest `{"name", "revision", "description"?}`;
//! - `*.rego` anywhere — policy modules; `*_test.rego` are Rego unit tests, run by
//!   `gatehouse test` and not part of the decision bundle;
//! - `data/**/*.json` — objects deep-merged into `data` (reference data under
//!   `governance.reference`, policy metadata under `governance.catalog`, exemptions under
//!   `governance.exemptions`, pull request approvers under `governance.approvers` and
//!   `governance.identities`).
//!
//! The manifest may name a package of derived rules (`"derived": "gatehouse.derived"`): rules
//! that depend only on the bundle's data (an account's inherited guardrails, allowed sets,
//! instants as nanoseconds), evaluated once when the bundle loads. Decisions read their values
//! as data at the same path, so policies read them the same way in decisions and in Rego tests
//! (where the derived rules are ordinary rules).

use std::cmp::Ordering;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::approvers::ApproversError;
use crate::canonical::sha256_hex;
use crate::catalog::CatalogError;
use crate::error::{Diagnostic, ErrorDetail, Span};
use crate::exemption::ExemptionError;
use crate::signing::{Envelope, SignatureError, TrustedKey, verify_statement};

/// The manifest's file name.
pub const MANIFEST_FILE: &str = "bundle.json";

/// Largest bundle accepted, all files together (16 MiB).
pub const MAX_BUNDLE_BYTES: usize = 16 * 1024 * 1024;

/// A bundle as files: path (with `/` separators) to text.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundleSource {
    /// Path to content.
    pub files: BTreeMap<String, String>,
}

/// The manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Bundle name.
    pub name: String,
    /// Revision chosen by the authors (a date, a version, a commit).
    pub revision: String,
    /// What the bundle governs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The package of derived rules (e.g. `gatehouse.derived`): values that depend only on the
    /// bundle's data, evaluated once when the bundle loads; decisions read them as data at
    /// `data.<package>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub derived: Option<String>,
}

/// How two bundle revisions (the manifest's `revision`) order: compared piece by piece, where a
/// piece is a run of digits (compared as a number) or a run of other characters (compared as
/// text), and a revision that is a prefix of another comes first. So `2026.12.04-2` follows
/// `2026.12.04-1`, `1.10` follows `1.9`, and `next` follows `2026.12.04-1` (letters follow
/// digits). The control plane's active bundle and an embedder's bundle watcher only move to a
/// higher revision by this order.
pub fn compare_revisions(a: &str, b: &str) -> Ordering {
    let (mut a, mut b) = (revision_pieces(a), revision_pieces(b));
    loop {
        match (a.next(), b.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) => {
                let order = match (revision_number(x), revision_number(y)) {
                    (Some(x), Some(y)) => x.len().cmp(&y.len()).then_with(|| x.cmp(y)),
                    _ => x.cmp(y),
                };
                if order != Ordering::Equal {
                    return order;
                }
            }
        }
    }
}

/// The runs of digits and of other characters in `text`, in order.
fn revision_pieces(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        let first = rest.chars().next()?;
        let digits = first.is_ascii_digit();
        let end = rest
            .find(|c: char| c.is_ascii_digit() != digits)
            .unwrap_or(rest.len());
        let (piece, tail) = rest.split_at(end);
        rest = tail;
        Some(piece)
    })
}

/// A run of digits without its leading zeros; `None` for other text.
fn revision_number(piece: &str) -> Option<&str> {
    piece
        .bytes()
        .all(|b| b.is_ascii_digit())
        .then(|| piece.trim_start_matches('0'))
}

/// Identity of the bundle that made a decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct BundleInfo {
    /// From the manifest.
    pub name: String,
    /// From the manifest.
    pub revision: String,
    /// `sha256:<hex>` over the bundle's files (see [`BundleSource::digest`]).
    pub digest: String,
}

/// The `format` of a packed bundle document ([`PackedBundle`]).
pub const PACKED_FORMAT: &str = "gatehouse.bundle/v1";

/// A bundle packed into one JSON document `{digest, files, format, name, revision, signature?}`:
/// what `gatehouse bundle` prints and `GET /v1/bundle` serves, and what the WASM and Python
/// engines load. [`Self::verify`] checks that the document says what its files are before they
/// are used; [`Self::verify_with`] also checks its signature against trusted keys.
///
/// The fields are declared in key order, so the document's bytes are those of a JSON object with
/// sorted keys (inside `signature`, the envelope keeps DSSE's field order).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackedBundle {
    /// `sha256:<hex>` over the files ([`BundleSource::digest`]).
    pub digest: String,
    /// The decision bundle's files (tests left out): path to text.
    pub files: BTreeMap<String, String>,
    /// [`PACKED_FORMAT`].
    pub format: String,
    /// The manifest's name.
    pub name: String,
    /// The manifest's revision.
    pub revision: String,
    /// The bundle directory's signature ([`crate::SIGNATURE_FILE`]'s DSSE envelope, as an object), when
    /// it has one. Its statement lists every file of the bundle, tests too; the document leaves
    /// the tests out, so [`Self::verify_with`] accepts a signed test file that is not packed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<Envelope>,
}

/// A packed bundle document that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PackedBundleError {
    /// The text is not a packed bundle document (not JSON, a missing or unknown field).
    #[error("bundle is not usable: {reason}")]
    Shape {
        /// What the JSON parser found.
        reason: String,
    },
    /// A `format` this build does not read.
    #[error(
        "bundle is not usable: unsupported bundle format `{format}`; this build reads `{PACKED_FORMAT}`"
    )]
    UnsupportedFormat {
        /// The document's `format`.
        format: String,
    },
    /// The document's digest is not its files' digest.
    #[error("bundle digest `{stated}` does not match its files (`{actual}`)")]
    DigestMismatch {
        /// The document's `digest`.
        stated: String,
        /// The digest of its files.
        actual: String,
    },
    /// The document's name or revision is not its manifest's.
    #[error(
        "bundle says `{stated_name}` revision `{stated_revision}` but its `bundle.json` says `{name}` revision `{revision}`"
    )]
    ManifestMismatch {
        /// The document's `name`.
        stated_name: String,
        /// The document's `revision`.
        stated_revision: String,
        /// The manifest's name.
        name: String,
        /// The manifest's revision.
        revision: String,
    },
    /// The files do not form a bundle (no manifest, a bad path, ...).
    #[error(transparent)]
    Bundle(#[from] BundleError),
    /// Trusted keys were given and the document's signature does not hold: unsigned, an unknown
    /// key, a bad signature, or a file changed, added or removed after signing (a test file the
    /// packer leaves out is not removed). Located at the file ([`SignatureError::file`]).
    #[error(transparent)]
    Signature(#[from] SignatureError),
}

impl Diagnostic for PackedBundleError {
    fn code(&self) -> &'static str {
        match self {
            Self::Shape { .. } | Self::UnsupportedFormat { .. } => "bundle_format",
            Self::DigestMismatch { .. } => "bundle_digest_mismatch",
            Self::ManifestMismatch { .. } => "bundle_manifest_mismatch",
            Self::Bundle(e) => e.code(),
            Self::Signature(e) => e.code(),
        }
    }

    fn details(&self) -> Vec<ErrorDetail> {
        let detail = ErrorDetail::new(self.code(), self.to_string());
        let detail = match self {
            Self::Shape { .. } | Self::UnsupportedFormat { .. } => detail.with_help(format!(
                "pass `{{files: {{path: text}}}}` or the JSON printed by `gatehouse bundle` (`format: \"{PACKED_FORMAT}\"`)"
            )),
            Self::DigestMismatch { .. } => detail
                .with_help("the bundle changed after `gatehouse bundle` packed it; pack it again"),
            Self::ManifestMismatch { .. } => {
                detail.with_help("pack the bundle again with `gatehouse bundle`")
            }
            Self::Bundle(e) => return e.details(),
            Self::Signature(e) => return e.details(),
        };
        vec![detail]
    }
}

impl PackedBundle {
    /// Reads a packed bundle document from JSON text (not yet verified).
    pub fn from_json(text: &str) -> Result<Self, PackedBundleError> {
        serde_json::from_str(text).map_err(|e| PackedBundleError::Shape {
            reason: e.to_string(),
        })
    }

    /// Reads a packed bundle document from a JSON value (not yet verified).
    pub fn from_value(value: Value) -> Result<Self, PackedBundleError> {
        serde_json::from_value(value).map_err(|e| PackedBundleError::Shape {
            reason: e.to_string(),
        })
    }

    /// The document as JSON text, pretty-printed (`gatehouse bundle`) or compact
    /// (`GET /v1/bundle`).
    pub fn to_json(&self, pretty: bool) -> String {
        let text = if pretty {
            serde_json::to_string_pretty(self)
        } else {
            serde_json::to_string(self)
        };
        // A struct of strings and a map with string keys always serialises.
        text.unwrap_or_default()
    }

    /// Checks the document and returns its files: the format is [`PACKED_FORMAT`], the digest is
    /// the files' digest, and the name and revision are the manifest's. The signature, if any, is
    /// not checked ([`Self::verify_with`] checks it).
    pub fn verify(self) -> Result<BundleSource, PackedBundleError> {
        self.verify_with(&[])
    }

    /// [`Self::verify`], and with any trusted keys the signature too, first (so that a changed
    /// file is named as such rather than as a digest mismatch): the document carries one
    /// ([`SignatureError::Unsigned`] otherwise), a trusted key signed its statement
    /// ([`crate::signing::verify_statement`]), the statement's name, revision and digest are the
    /// document's, every packed file is in the statement with its SHA-256, and every signed file
    /// is packed except test files (`*_test.rego`), which the packer leaves out. With no keys the
    /// signature is not read, as a directory's is not ([`crate::DirOptions::trusted_keys`]).
    pub fn verify_with(
        self,
        trusted_keys: &[TrustedKey],
    ) -> Result<BundleSource, PackedBundleError> {
        if self.format != PACKED_FORMAT {
            return Err(PackedBundleError::UnsupportedFormat {
                format: self.format,
            });
        }
        let source = BundleSource { files: self.files };
        let actual = source.digest();
        if !trusted_keys.is_empty() {
            let envelope = self.signature.as_ref().ok_or(SignatureError::Unsigned)?;
            let stated = [self.name.as_str(), self.revision.as_str(), actual.as_str()];
            check_packed_signature(envelope, trusted_keys, &source, stated)?;
        }
        if actual != self.digest {
            return Err(PackedBundleError::DigestMismatch {
                stated: self.digest,
                actual,
            });
        }
        let manifest = source.manifest()?;
        if (manifest.name.as_str(), manifest.revision.as_str())
            != (self.name.as_str(), self.revision.as_str())
        {
            return Err(PackedBundleError::ManifestMismatch {
                stated_name: self.name,
                stated_revision: self.revision,
                name: manifest.name,
                revision: manifest.revision,
            });
        }
        Ok(source)
    }

    /// The validator `GET /v1/bundle` answers as its `ETag`: the digest, and for a signed document
    /// `+sig.` and the first 16 hex digits of the SHA-256 of the envelope's JSON, since the same
    /// files signed again (another key, key rotation) are another document.
    pub fn etag(&self) -> String {
        match &self.signature {
            None => self.digest.clone(),
            Some(envelope) => {
                let hash = sha256_hex(envelope.to_json().as_bytes());
                format!("{}+sig.{}", self.digest, hash.get(..16).unwrap_or(&hash))
            }
        }
    }
}

/// The signature of a packed document holds ([`PackedBundle::verify_with`]): a trusted key
/// signed the statement, which names this bundle (`[name, revision, digest]`, the document's
/// name and revision and its files' digest) and lists every packed file with its SHA-256; the
/// signed files that are not packed are tests.
fn check_packed_signature(
    envelope: &Envelope,
    trusted_keys: &[TrustedKey],
    source: &BundleSource,
    [name, revision, digest]: [&str; 3],
) -> Result<(), SignatureError> {
    let statement = verify_statement(envelope, trusted_keys)?;
    let signed: BTreeMap<&str, &str> = statement
        .files
        .iter()
        .map(|f| (f.path.as_str(), f.sha256.as_str()))
        .collect();
    for (path, text) in &source.files {
        match signed.get(path.as_str()) {
            None => return Err(SignatureError::FileAdded { path: path.clone() }),
            Some(sha) if *sha != sha256_hex(text.as_bytes()) => {
                return Err(SignatureError::FileChanged { path: path.clone() });
            }
            Some(_) => {}
        }
    }
    // The packer leaves the tests out by design; any other signed file must be there.
    if let Some(path) = signed
        .keys()
        .find(|path| !source.files.contains_key(**path) && file_role(path) != Some(FileRole::Test))
    {
        return Err(SignatureError::FileRemoved {
            path: (*path).to_owned(),
        });
    }
    // The files are signed ones and the digest leaves tests out, so the digest holds unless
    // the signer wrote a statement that contradicts itself.
    for (field, stated, actual) in [
        ("name", statement.name.as_str(), name),
        ("revision", statement.revision.as_str(), revision),
        ("digest", statement.digest.as_str(), digest),
    ] {
        if stated != actual {
            return Err(SignatureError::BundleMismatch {
                field,
                stated: stated.to_owned(),
                actual: actual.to_owned(),
            });
        }
    }
    Ok(())
}

/// What kind of file a bundle path holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileRole {
    /// `bundle.json`.
    Manifest,
    /// A policy module.
    Policy,
    /// A Rego test module (`*_test.rego`).
    Test,
    /// A JSON data file under `data/`.
    Data,
}

/// Classifies a bundle path; `None` for files a bundle may not contain.
pub fn file_role(path: &str) -> Option<FileRole> {
    if path == MANIFEST_FILE {
        Some(FileRole::Manifest)
    } else if path.ends_with("_test.rego") {
        Some(FileRole::Test)
    } else if path.ends_with(".rego") {
        Some(FileRole::Policy)
    } else if path.starts_with("data/") && path.ends_with(".json") {
        Some(FileRole::Data)
    } else {
        None
    }
}

/// A bundle that cannot be loaded. Loading fails closed: no engine, so no decision, so nothing is
/// allowed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BundleError {
    /// No `bundle.json`.
    #[error("bundle has no `bundle.json` manifest")]
    MissingManifest,
    /// A file with an unexpected name.
    #[error(
        "bundle file `{path}` is neither `bundle.json`, a `.rego` module nor a `data/*.json` file"
    )]
    UnexpectedFile {
        /// The path.
        path: String,
    },
    /// A path that is absolute or climbs out of the bundle.
    #[error("bundle path `{path}` must be relative and stay inside the bundle")]
    BadPath {
        /// The path.
        path: String,
    },
    /// Too much text.
    #[error("bundle is {size} bytes; the limit is {limit} bytes")]
    TooLarge {
        /// Total size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// A JSON file that does not parse or does not match its format.
    #[error("{file}: {message}")]
    InvalidJson {
        /// The file.
        file: String,
        /// Where and what.
        message: String,
        /// Position, when the parser knows it.
        span: Option<Span>,
    },
    /// A data file whose top level is not an object.
    #[error("{file}: data files must hold a JSON object at the top level")]
    DataNotObject {
        /// The file.
        file: String,
    },
    /// Two data files set the same key to different non-object values.
    #[error("{file}: `{key}` is already set by another data file")]
    DataConflict {
        /// The file.
        file: String,
        /// Dotted key.
        key: String,
    },
    /// No policy modules.
    #[error("bundle has no policy modules (`*.rego` outside tests)")]
    NoPolicies,
    /// Rego that does not parse.
    #[error("{message}")]
    RegoParse {
        /// The parser's message, with the offending line.
        message: String,
        /// Position.
        span: Option<Span>,
    },
    /// Rego that parses but does not compile (unknown functions, unsafe variables, ...).
    #[error("{message}")]
    RegoCompile {
        /// The compiler's message.
        message: String,
        /// Position, when known.
        span: Option<Span>,
    },
    /// A policy package without a `deny` rule.
    #[error("policy package `{package}` has no `deny` rule")]
    MissingDenyRule {
        /// The package path, e.g. `data.gatehouse.policies.tags_required`.
        package: String,
    },
    /// The catalogue is invalid.
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    /// The exemption list is invalid.
    #[error(transparent)]
    Exemption(#[from] ExemptionError),
    /// The approvers data (`governance.approvers`, `governance.identities`) is invalid.
    #[error("{}{source}", file.as_deref().map(|f| format!("{f}: ")).unwrap_or_default())]
    Approvers {
        /// The data file that holds the offending value, when one does.
        file: Option<String>,
        /// What is wrong, and where in `data`.
        source: ApproversError,
    },
    /// The manifest's `derived` package cannot hold derived rules.
    #[error("`derived` package `{package}` {reason}")]
    DerivedPackage {
        /// The package named in the manifest.
        package: String,
        /// Why it cannot be used.
        reason: &'static str,
    },
    /// The manifest names a derived package that no module declares.
    #[error("no module declares the derived package `{package}` named in `bundle.json`")]
    DerivedMissing {
        /// The package named in the manifest.
        package: String,
    },
    /// A derived module reads `input`: derived values are computed once per bundle, without an
    /// intent.
    #[error("derived rules may not read `input`: they are evaluated once, when the bundle loads")]
    DerivedReadsInput {
        /// Where `input` is read.
        span: Span,
    },
    /// A derived module reads another package's rules (which may read `input`).
    #[error("derived rules may read data files and their own package, not `{path}`")]
    DerivedReadsPackage {
        /// The path read (`data.gatehouse.lib`, or `data` for a computed path).
        path: String,
        /// Where it is read.
        span: Span,
    },
    /// A derived rule failed to evaluate.
    #[error("derived rules failed to evaluate: {message}")]
    DerivedEvaluation {
        /// The evaluator's message.
        message: String,
        /// Position, when known.
        span: Option<Span>,
    },
    /// A derived rule has no value for the bundle's data.
    #[error("derived rule `{rule}` has no value for this bundle's data")]
    DerivedUndefined {
        /// The rule's path, e.g. `data.gatehouse.derived.accounts`.
        rule: String,
        /// Where the rule is defined.
        span: Option<Span>,
    },
    /// A data file already holds the derived package's path.
    #[error("data files already set `{path}`, where the derived package's values go")]
    DerivedConflict {
        /// The dotted data path.
        path: String,
    },
}

impl Diagnostic for BundleError {
    fn code(&self) -> &'static str {
        match self {
            Self::MissingManifest => "bundle_manifest_missing",
            Self::UnexpectedFile { .. } => "bundle_unexpected_file",
            Self::BadPath { .. } => "bundle_bad_path",
            Self::TooLarge { .. } => "bundle_too_large",
            Self::InvalidJson { .. } => "bundle_invalid_json",
            Self::DataNotObject { .. } => "bundle_data_not_object",
            Self::DataConflict { .. } => "bundle_data_conflict",
            Self::NoPolicies => "bundle_no_policies",
            Self::RegoParse { .. } => "rego_parse",
            Self::RegoCompile { .. } => "rego_compile",
            Self::MissingDenyRule { .. } => "policy_missing_deny",
            Self::Catalog(_) => "catalog_invalid",
            Self::Exemption(_) => "exemption_invalid",
            Self::Approvers { .. } => "approvers_invalid",
            Self::DerivedPackage { .. } => "derived_package_invalid",
            Self::DerivedMissing { .. } => "derived_package_missing",
            Self::DerivedReadsInput { .. } => "derived_reads_input",
            Self::DerivedReadsPackage { .. } => "derived_reads_package",
            Self::DerivedEvaluation { .. } => "derived_evaluation",
            Self::DerivedUndefined { .. } => "derived_undefined",
            Self::DerivedConflict { .. } => "derived_conflict",
        }
    }

    fn details(&self) -> Vec<ErrorDetail> {
        let detail = ErrorDetail::new(self.code(), self.to_string());
        let detail = match self {
            Self::MissingManifest => detail.with_help(
                "add `bundle.json` with `{\"name\": \"...\", \"revision\": \"...\"}` at the bundle root",
            ),
            Self::InvalidJson { file, span, .. } => {
                detail.with_span(span.clone().or_else(|| Some(file_span(file))))
            }
            Self::DataNotObject { file } | Self::DataConflict { file, .. } => {
                detail.with_span(Some(file_span(file)))
            }
            Self::RegoParse { span, .. } | Self::RegoCompile { span, .. } => {
                detail.with_span(span.clone())
            }
            Self::MissingDenyRule { .. } => detail.with_help(
                "every package under `gatehouse.policies` is a policy and must define `deny contains violation if { ... }`; move helpers to another package",
            ),
            Self::Approvers { file, .. } => detail
                .with_span(file.as_deref().map(file_span))
                .with_help(
                    "`governance.approvers` maps a role to `{\"github_users\": [login, ...], \"github_teams\": [\"org/team-slug\", ...]}` and `governance.identities.github` a GitHub login to an identity (docs/approvals.md)",
                ),
            Self::DerivedPackage { .. } => detail.with_help(
                "name a package of its own, e.g. `\"derived\": \"gatehouse.derived\"`, outside `gatehouse.policies` and `gatehouse.gates`",
            ),
            Self::DerivedMissing { .. } => detail.with_help(
                "add a module with that package, or remove `derived` from `bundle.json`",
            ),
            Self::DerivedReadsInput { span } => detail
                .with_span(Some(span.clone()))
                .with_help("compute values that depend on the intent in the policy that uses them; derived rules read only data files"),
            Self::DerivedReadsPackage { span, .. } => detail
                .with_span(Some(span.clone()))
                .with_help("move what the derived rule needs into the derived package, or read the data files it is computed from"),
            Self::DerivedEvaluation { span, .. } => detail.with_span(span.clone()),
            Self::DerivedUndefined { span, .. } => detail.with_span(span.clone()).with_help(
                "every derived rule needs a value for the bundle's data (give it a `default`)",
            ),
            Self::Catalog(CatalogError::SoftWithoutOverrideRole { .. }) => {
                detail.with_help("add `override_role` to the policy's catalogue entry")
            }
            _ => detail,
        };
        vec![detail]
    }
}

fn file_span(file: &str) -> Span {
    Span {
        file: file.to_owned(),
        line: 1,
        column: 1,
    }
}

impl BundleSource {
    /// The packed bundle document (tests left out): what `gatehouse bundle` prints and the
    /// control plane serves, so a browser engine loads exactly the bundle a server judges with.
    /// `info` is the loaded bundle's.
    pub fn packed(&self, info: &BundleInfo) -> PackedBundle {
        PackedBundle {
            digest: info.digest.clone(),
            files: self
                .files
                .iter()
                .filter(|(path, _)| file_role(path) != Some(FileRole::Test))
                .map(|(p, c)| (p.clone(), c.clone()))
                .collect(),
            format: PACKED_FORMAT.to_owned(),
            name: info.name.clone(),
            revision: info.revision.clone(),
            signature: None,
        }
    }

    /// Adds or replaces one file.
    pub fn insert(&mut self, path: impl Into<String>, content: impl Into<String>) {
        self.files.insert(path.into(), content.into());
    }

    /// `sha256:<hex>` over the decision bundle (manifest, policy modules and data; tests are not
    /// part of it), in path order: for each file, its path, a NUL byte, its length in decimal, a
    /// NUL byte and its content.
    pub fn digest(&self) -> String {
        let mut buf = Vec::new();
        for (path, content) in &self.files {
            if matches!(file_role(path), None | Some(FileRole::Test)) {
                continue;
            }
            buf.extend_from_slice(path.as_bytes());
            buf.push(0);
            buf.extend_from_slice(content.len().to_string().as_bytes());
            buf.push(0);
            buf.extend_from_slice(content.as_bytes());
        }
        format!("sha256:{}", sha256_hex(&buf))
    }

    /// Checks paths and size, and reads the manifest.
    pub fn manifest(&self) -> Result<Manifest, BundleError> {
        let size: usize = self.files.values().map(String::len).sum();
        if size > MAX_BUNDLE_BYTES {
            return Err(BundleError::TooLarge {
                size,
                limit: MAX_BUNDLE_BYTES,
            });
        }
        for path in self.files.keys() {
            if path.starts_with('/')
                || path.contains('\\')
                || path.split('/').any(|part| part == ".." || part.is_empty())
            {
                return Err(BundleError::BadPath { path: path.clone() });
            }
            if file_role(path).is_none() {
                return Err(BundleError::UnexpectedFile { path: path.clone() });
            }
        }
        let text = self
            .files
            .get(MANIFEST_FILE)
            .ok_or(BundleError::MissingManifest)?;
        serde_json::from_str(text).map_err(|e| json_error(MANIFEST_FILE, &e))
    }

    /// Files of one role, in path order.
    pub fn files_of(&self, role: FileRole) -> impl Iterator<Item = (&str, &str)> {
        self.files
            .iter()
            .filter(move |(path, _)| file_role(path) == Some(role))
            .map(|(p, c)| (p.as_str(), c.as_str()))
    }

    /// All data files deep-merged into one object.
    pub fn merged_data(&self) -> Result<Value, BundleError> {
        let mut merged = Value::Object(serde_json::Map::new());
        for (path, text) in self.files_of(FileRole::Data) {
            let value: Value = serde_json::from_str(text).map_err(|e| json_error(path, &e))?;
            if !value.is_object() {
                return Err(BundleError::DataNotObject {
                    file: path.to_owned(),
                });
            }
            merge(&mut merged, value, path, &mut Vec::new())?;
        }
        Ok(merged)
    }
}

impl BundleSource {
    /// The first data file (in path order) that holds the value at a data path such as
    /// `governance.approvers.release-approver.github_users[1]`: where a bundle-load error about
    /// merged data points.
    pub fn data_file_holding(&self, data_path: &str) -> Option<&str> {
        let segments = crate::path::parse(data_path)?;
        let pointer: String = segments
            .iter()
            .map(|s| match s {
                crate::path::PathSegment::Key(k) => {
                    format!("/{}", k.replace('~', "~0").replace('/', "~1"))
                }
                crate::path::PathSegment::Index(i) => format!("/{i}"),
            })
            .collect();
        self.files_of(FileRole::Data)
            .find(|(_, text)| {
                serde_json::from_str::<Value>(text)
                    .ok()
                    .is_some_and(|v| v.pointer(&pointer).is_some())
            })
            .map(|(path, _)| path)
    }
}

fn json_error(file: &str, e: &serde_json::Error) -> BundleError {
    BundleError::InvalidJson {
        file: file.to_owned(),
        message: e.to_string(),
        span: (e.line() > 0).then(|| Span {
            file: file.to_owned(),
            line: e.line(),
            column: e.column(),
        }),
    }
}

fn merge(
    into: &mut Value,
    from: Value,
    file: &str,
    key_path: &mut Vec<String>,
) -> Result<(), BundleError> {
    match (into, from) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                key_path.push(k.clone());
                match a.get_mut(&k) {
                    Some(existing) => merge(existing, v, file, key_path)?,
                    None => {
                        a.insert(k, v);
                    }
                }
                key_path.pop();
            }
            Ok(())
        }
        (existing, new) if *existing == new => Ok(()),
        _ => Err(BundleError::DataConflict {
            file: file.to_owned(),
            key: key_path.join("."),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revisions_order_piece_by_piece_with_numbers_as_numbers() {
        use Ordering::{Equal, Greater, Less};
        for (a, b, order) in [
            ("2026.12.04-1", "2026.12.04-2", Less),
            ("2026.12.04-10", "2026.12.04-9", Greater),
            ("2026.12.05-1", "2026.12.04-9", Greater),
            ("1.9", "1.10", Less),
            ("1.010", "1.10", Equal),
            ("1", "1.1", Less),
            ("2026.12.04-1", "next", Less),
            ("v2", "v10", Less),
            ("", "1", Less),
            ("same", "same", Equal),
            ("99999999999999999999999", "100000000000000000000000", Less),
        ] {
            assert_eq!(compare_revisions(a, b), order, "{a} vs {b}");
            assert_eq!(compare_revisions(b, a), order.reverse(), "{b} vs {a}");
        }
    }

    fn source(files: &[(&str, &str)]) -> BundleSource {
        BundleSource {
            files: files
                .iter()
                .map(|(p, c)| ((*p).to_owned(), (*c).to_owned()))
                .collect(),
        }
    }

    #[test]
    fn digest_ignores_tests_and_depends_on_content() {
        let a = source(&[("bundle.json", "{}"), ("p.rego", "package p")]);
        let mut b = a.clone();
        b.insert("p_test.rego", "package p_test");
        assert_eq!(a.digest(), b.digest());
        b.insert("p.rego", "package p\n");
        assert_ne!(a.digest(), b.digest());
    }

    #[test]
    fn digest_separates_path_and_content() {
        let a = source(&[("a.rego", "bc")]);
        let b = source(&[("a.regob", "c")]);
        assert_ne!(a.digest(), b.digest());
    }

    #[test]
    fn data_conflicts_are_reported() {
        let s = source(&[
            ("data/a.json", r#"{"x": {"y": 1}}"#),
            ("data/b.json", r#"{"x": {"y": 2, "z": 3}}"#),
        ]);
        let err = s.merged_data().unwrap_err();
        assert_eq!(
            err,
            BundleError::DataConflict {
                file: "data/b.json".into(),
                key: "x.y".into()
            }
        );
    }

    #[test]
    fn paths_may_not_escape() {
        let s = source(&[("bundle.json", "{}"), ("../x.rego", "")]);
        assert!(matches!(s.manifest(), Err(BundleError::BadPath { .. })));
    }

    fn packable() -> (BundleSource, BundleInfo) {
        let s = source(&[
            ("bundle.json", r#"{"name": "t", "revision": "1"}"#),
            ("p.rego", "package gatehouse.policies.p\n"),
            ("p_test.rego", "package gatehouse.policies.p_test\n"),
        ]);
        let info = BundleInfo {
            name: "t".into(),
            revision: "1".into(),
            digest: s.digest(),
        };
        (s, info)
    }

    #[test]
    fn a_packed_bundle_verifies_to_its_decision_files() {
        let (s, info) = packable();
        let packed = s.packed(&info);
        let text = packed.to_json(false);
        assert!(text.starts_with(r#"{"digest":"sha256:"#), "{text}");
        let back = PackedBundle::from_json(&text).unwrap().verify().unwrap();
        assert_eq!(back.digest(), s.digest());
        assert!(!back.files.contains_key("p_test.rego"));
    }

    #[test]
    fn a_packed_bundle_that_lies_does_not_verify() {
        let (s, info) = packable();
        let mut changed = s.packed(&info);
        changed
            .files
            .insert("p.rego".into(), "package gatehouse.policies.q\n".into());
        let err = changed.verify().unwrap_err();
        assert_eq!(err.code(), "bundle_digest_mismatch");
        assert!(err.to_string().contains(&info.digest), "{err}");

        let mut renamed = s.packed(&info);
        renamed.revision = "2".into();
        assert_eq!(
            renamed.verify().unwrap_err().code(),
            "bundle_manifest_mismatch"
        );

        let mut future = s.packed(&info);
        future.format = "gatehouse.bundle/v2".into();
        assert_eq!(future.verify().unwrap_err().code(), "bundle_format");

        let err = PackedBundle::from_json(r#"{"format": "gatehouse.bundle/v1"}"#).unwrap_err();
        assert_eq!(err.code(), "bundle_format");
    }

    #[test]
    fn unexpected_files_are_named() {
        let s = source(&[("bundle.json", "{}"), ("notes.txt", "")]);
        assert!(matches!(
            s.manifest(),
            Err(BundleError::UnexpectedFile { path }) if path == "notes.txt"
        ));
    }
}
