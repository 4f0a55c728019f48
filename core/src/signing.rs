//! Signed bundles: a DSSE envelope over a statement of what the bundle is, signed with ed25519.
//!
//! The statement ([`BundleStatement`], payload type [`PAYLOAD_TYPE`]) names the bundle (name,
//! revision, digest) and lists every file the loader reads, with its SHA-256, so a file changed,
//! added or removed after signing is named in the error rather than only changing the digest.
//! It is wrapped in a DSSE envelope ([`Envelope`]: `payloadType`, base64 `payload`,
//! `signatures[{keyid, sig}]`), which any DSSE verifier (securesystemslib, sigstore) checks: the
//! signature is over the pre-authentication encoding ([`pae`]), never over bare JSON, so a
//! payload cannot be re-read as another type.
//!
//! The envelope, the keys and their ids are DSSE's ([`crate::dsse`], shared with decision
//! attestations; re-exported here): a signature is accepted when a trusted key verifies it,
//! whatever id it carries, and an id that names no trusted key is reported as an unknown key
//! only when no trusted key verifies the signature.
//!
//! The envelope lives in the bundle directory as [`SIGNATURE_FILE`]; it is not a bundle file
//! (not in [`crate::BundleSource::files`], not in the digest). This module does no I/O; a
//! bundle's files are stated, signed and checked in [`crate::bundle_signing`], where the loader
//! passes the envelope's text and the files it read, so what is verified is what is loaded.

use serde::{Deserialize, Serialize};

use crate::dsse::{self, DsseError};
use crate::error::{Diagnostic, ErrorDetail, Span};

// The envelope and the keys are DSSE's, shared with decision attestations; re-exported here
// where bundle signing has always named them.
pub use crate::dsse::{Envelope, EnvelopeSignature, KeyError, SigningKey, TrustedKey, key_id, pae};

/// The envelope's file name in a bundle directory.
pub const SIGNATURE_FILE: &str = "bundle.sig.json";

/// The DSSE `payloadType` of a bundle statement.
pub const PAYLOAD_TYPE: &str = "application/vnd.gatehouse.bundle+json";

/// What a signature says about a bundle: the payload of its envelope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundleStatement {
    /// The manifest's name.
    pub name: String,
    /// The manifest's revision.
    pub revision: String,
    /// `sha256:<hex>` ([`crate::BundleSource::digest`]).
    pub digest: String,
    /// Every file of the bundle (tests too), in path order.
    pub files: Vec<SignedFile>,
}

/// One file of a signed bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedFile {
    /// The bundle path (`/` separators).
    pub path: String,
    /// Lowercase hex SHA-256 of its bytes.
    pub sha256: String,
}

/// A bundle whose signature does not hold. Fails closed: the bundle is not loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignatureError {
    /// Trusted keys are configured and the bundle has no envelope.
    #[error("bundle is not signed: no `{SIGNATURE_FILE}`")]
    Unsigned,
    /// The envelope is not a DSSE envelope, or its payload is not a bundle statement.
    #[error("`{SIGNATURE_FILE}` is malformed: {reason}")]
    Malformed {
        /// What is wrong.
        reason: String,
    },
    /// The envelope's payload is of another type.
    #[error("`{SIGNATURE_FILE}` has payload type `{found}`, not `{PAYLOAD_TYPE}`")]
    PayloadType {
        /// The envelope's `payloadType`.
        found: String,
    },
    /// No signature is by a trusted key.
    #[error("bundle is signed by unknown key {}", dsse::list(key_ids))]
    UnknownKey {
        /// The key ids of the envelope's signatures.
        key_ids: Vec<String>,
    },
    /// A signature names a trusted key but does not verify (the payload or the signature was
    /// changed after signing).
    #[error("bad signature by key `{key_id}`: the signed statement was changed after signing")]
    BadSignature {
        /// The trusted key's id.
        key_id: String,
    },
    /// A file's content is not what was signed.
    #[error("bundle file `{path}` changed after signing")]
    FileChanged {
        /// The bundle path.
        path: String,
    },
    /// A file that was not signed.
    #[error("bundle file `{path}` was added after signing")]
    FileAdded {
        /// The bundle path.
        path: String,
    },
    /// A signed file that is missing.
    #[error("bundle file `{path}` was removed after signing")]
    FileRemoved {
        /// The bundle path.
        path: String,
    },
    /// The statement's name, revision or digest is not the bundle's.
    #[error(
        "signed statement says `{stated}` for the bundle's {field} but the bundle has `{actual}`"
    )]
    BundleMismatch {
        /// `name`, `revision` or `digest`.
        field: &'static str,
        /// The signed value.
        stated: String,
        /// The bundle's value.
        actual: String,
    },
}

impl SignatureError {
    /// The bundle path the error is about: a file, or the envelope.
    pub fn file(&self) -> &str {
        match self {
            Self::FileChanged { path } | Self::FileAdded { path } | Self::FileRemoved { path } => {
                path
            }
            _ => SIGNATURE_FILE,
        }
    }
}

impl Diagnostic for SignatureError {
    fn code(&self) -> &'static str {
        match self {
            Self::Unsigned => "bundle_unsigned",
            Self::Malformed { .. } => "bundle_signature_malformed",
            Self::PayloadType { .. } => "bundle_signature_payload_type",
            Self::UnknownKey { .. } => "bundle_signature_unknown_key",
            Self::BadSignature { .. } => "bundle_signature_invalid",
            Self::FileChanged { .. } => "bundle_file_changed",
            Self::FileAdded { .. } => "bundle_file_added",
            Self::FileRemoved { .. } => "bundle_file_removed",
            Self::BundleMismatch { .. } => "bundle_signature_mismatch",
        }
    }

    fn details(&self) -> Vec<ErrorDetail> {
        let resign =
            "sign the bundle again with `gatehouse bundle sign` once its files are reviewed";
        let help = match self {
            Self::Unsigned => {
                "sign it with `gatehouse bundle sign --policies DIR --key PRIVATE.pem`"
            }
            Self::UnknownKey { .. } => {
                "trust the signer's public key with `--trusted-key` (or `[bundle] trusted_keys`), or sign with a trusted key"
            }
            _ => resign,
        };
        let span = Span {
            file: self.file().to_owned(),
            line: 1,
            column: 1,
        };
        vec![
            ErrorDetail::new(self.code(), self.to_string())
                .with_span(Some(span))
                .with_help(help),
        ]
    }
}

/// Verifies that a trusted key signed an envelope of a bundle statement, and returns the
/// statement; what it says about the files is for the caller to check
/// ([`crate::bundle_signing::verify_bundle`] for a directory, [`crate::PackedBundle::verify_with`] for a packed bundle).
pub fn verify_statement(
    envelope: &Envelope,
    trusted: &[TrustedKey],
) -> Result<BundleStatement, SignatureError> {
    let (payload, _key_id) =
        dsse::verify(envelope, PAYLOAD_TYPE, trusted).map_err(|e| match e {
            DsseError::PayloadType { found, .. } => SignatureError::PayloadType { found },
            DsseError::UnknownKey { key_ids } => SignatureError::UnknownKey { key_ids },
            DsseError::BadSignature { key_id } => SignatureError::BadSignature { key_id },
            DsseError::Malformed { reason } => SignatureError::Malformed { reason },
        })?;
    serde_json::from_slice(&payload).map_err(|e| SignatureError::Malformed {
        reason: format!("the payload is not a bundle statement: {e}"),
    })
}
