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
//! Keys are ed25519 in PEM as `openssl genpkey -algorithm ed25519` (PKCS#8 private key) and
//! `openssl pkey -pubout` (SubjectPublicKeyInfo public key) write them. A key's default id is
//! the lowercase hex SHA-256 of its public key's SubjectPublicKeyInfo DER ([`key_id`]); a signer
//! may set another. The key id is a hint: a signature is accepted when a trusted key verifies
//! it, whatever id it carries, and an id that names no trusted key is reported as an unknown
//! key only when no trusted key verifies the signature.
//!
//! The envelope lives in the bundle directory as [`SIGNATURE_FILE`]; it is not a bundle file
//! (not in [`BundleSource::files`], not in the digest). This module does no I/O: the loader
//! passes the envelope's text and the files it read ([`verify_bundle`]), so what is verified
//! is what is loaded.

use std::collections::{BTreeMap, BTreeSet};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE};
use ed25519_dalek::Signer as _;
use ed25519_dalek::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePublicKey};
use serde::{Deserialize, Serialize};

use crate::bundle::BundleSource;
use crate::canonical::sha256_hex;
use crate::error::{Diagnostic, ErrorDetail, Span};

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
    /// `sha256:<hex>` ([`BundleSource::digest`]).
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

/// A DSSE envelope (<https://github.com/secure-systems-lab/dsse>).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    /// [`PAYLOAD_TYPE`].
    #[serde(rename = "payloadType")]
    pub payload_type: String,
    /// The statement's JSON, base64 (standard alphabet, padded).
    pub payload: String,
    /// One or more signatures over [`pae`] of the type and the decoded payload.
    pub signatures: Vec<EnvelopeSignature>,
}

/// One signature of an envelope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvelopeSignature {
    /// The signing key's id (a hint for the verifier).
    #[serde(default)]
    pub keyid: String,
    /// The ed25519 signature, base64.
    pub sig: String,
}

impl Envelope {
    /// The envelope as pretty-printed JSON, as written to [`SIGNATURE_FILE`].
    pub fn to_json(&self) -> String {
        // Strings and a list of structs of strings always serialise.
        let mut text = serde_json::to_string_pretty(self).unwrap_or_default();
        text.push('\n');
        text
    }
}

/// DSSE's pre-authentication encoding: `DSSEv1 <len(type)> <type> <len(payload)> <payload>`,
/// lengths in ASCII decimal bytes.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "DSSEv1 {} {} {} ",
        payload_type.len(),
        payload_type,
        payload.len()
    )
    .into_bytes();
    out.extend_from_slice(payload);
    out
}

/// A key that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// Not an ed25519 private key in PKCS#8 PEM.
    #[error("not an ed25519 private key in PKCS#8 PEM: {reason}")]
    Private {
        /// What the decoder found.
        reason: String,
    },
    /// Not an ed25519 public key in SubjectPublicKeyInfo PEM.
    #[error("not an ed25519 public key in PEM: {reason}")]
    Public {
        /// What the decoder found.
        reason: String,
    },
    /// An empty key id.
    #[error("a key id may not be empty")]
    EmptyKeyId,
}

impl Diagnostic for KeyError {
    fn code(&self) -> &'static str {
        "signing_key_invalid"
    }

    fn details(&self) -> Vec<ErrorDetail> {
        let help = match self {
            Self::Private { .. } => {
                "generate one with `openssl genpkey -algorithm ed25519 -out key.pem`"
            }
            Self::Public { .. } => {
                "pass the public key, written by `openssl pkey -in key.pem -pubout -out key.pub.pem`"
            }
            Self::EmptyKeyId => "leave `--key-id` out to use the public key's SHA-256",
        };
        vec![ErrorDetail::new(self.code(), self.to_string()).with_help(help)]
    }
}

/// The default id of a public key: lowercase hex SHA-256 of its SubjectPublicKeyInfo DER.
pub fn key_id(key: &ed25519_dalek::VerifyingKey) -> String {
    // An ed25519 public key always encodes (a fixed 44-byte structure).
    key.to_public_key_der()
        .map(|der| sha256_hex(der.as_bytes()))
        .unwrap_or_default()
}

/// A private key that signs bundles, with the id written into its signatures.
pub struct SigningKey {
    key: ed25519_dalek::SigningKey,
    key_id: String,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// Reads an ed25519 private key from PKCS#8 PEM text; its id is [`key_id`] of its public key.
    pub fn from_pem(text: &str) -> Result<Self, KeyError> {
        let key = ed25519_dalek::SigningKey::from_pkcs8_pem(text.trim()).map_err(|e| {
            KeyError::Private {
                reason: e.to_string(),
            }
        })?;
        let key_id = key_id(&key.verifying_key());
        Ok(Self { key, key_id })
    }

    /// The key with another id.
    pub fn with_key_id(self, key_id: impl Into<String>) -> Result<Self, KeyError> {
        let key_id = key_id.into();
        if key_id.is_empty() {
            return Err(KeyError::EmptyKeyId);
        }
        Ok(Self { key_id, ..self })
    }

    /// The id written into signatures.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// Its public key, trusted under the same id.
    pub fn trusted_key(&self) -> TrustedKey {
        TrustedKey {
            key: self.key.verifying_key(),
            key_id: self.key_id.clone(),
        }
    }
}

/// A public key whose signatures are trusted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedKey {
    key: ed25519_dalek::VerifyingKey,
    key_id: String,
}

impl TrustedKey {
    /// Reads an ed25519 public key from SubjectPublicKeyInfo PEM text; its id is [`key_id`].
    pub fn from_pem(text: &str) -> Result<Self, KeyError> {
        let key = ed25519_dalek::VerifyingKey::from_public_key_pem(text.trim()).map_err(|e| {
            KeyError::Public {
                reason: e.to_string(),
            }
        })?;
        Ok(Self {
            key_id: key_id(&key),
            key,
        })
    }

    /// The id signatures by this key carry by default.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }
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
    #[error("bundle is signed by unknown key {}", list(key_ids))]
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

fn list(items: &[String]) -> String {
    if items.is_empty() {
        return "(no key id)".to_owned();
    }
    items
        .iter()
        .map(|i| format!("`{i}`"))
        .collect::<Vec<_>>()
        .join(", ")
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

/// The statement of a bundle's files: its manifest's name and revision, its digest and every
/// file's SHA-256. `name` and `revision` are the manifest's (the caller has read it).
pub fn statement(source: &BundleSource, name: &str, revision: &str) -> BundleStatement {
    BundleStatement {
        name: name.to_owned(),
        revision: revision.to_owned(),
        digest: source.digest(),
        files: source
            .files
            .iter()
            .map(|(path, text)| SignedFile {
                path: path.clone(),
                sha256: sha256_hex(text.as_bytes()),
            })
            .collect(),
    }
}

/// Signs a bundle: the envelope of its statement, signed by `key`. Fails when the bundle has no
/// valid manifest (a bundle is signed under its name and revision).
pub fn sign_bundle(
    source: &BundleSource,
    key: &SigningKey,
) -> Result<Envelope, crate::bundle::BundleError> {
    let manifest = source.manifest()?;
    let statement = statement(source, &manifest.name, &manifest.revision);
    // A struct of strings always serialises.
    let payload = serde_json::to_vec(&statement).unwrap_or_default();
    let signature = key.key.sign(&pae(PAYLOAD_TYPE, &payload));
    Ok(Envelope {
        payload_type: PAYLOAD_TYPE.to_owned(),
        payload: STANDARD.encode(&payload),
        signatures: vec![EnvelopeSignature {
            keyid: key.key_id.clone(),
            sig: STANDARD.encode(signature.to_bytes()),
        }],
    })
}

fn decode(text: &str) -> Option<Vec<u8>> {
    STANDARD
        .decode(text)
        .or_else(|_| URL_SAFE.decode(text))
        .ok()
}

/// Verifies a bundle's envelope (the text of [`SIGNATURE_FILE`], `None` when there is none)
/// against trusted keys and the files that were read: a trusted key signed the statement, and
/// the statement lists exactly these files with these contents, this name, revision and digest.
///
/// Returns the statement. With no trusted keys nothing can verify: the bundle is refused
/// ([`SignatureError::UnknownKey`]); callers that do not require signatures do not call this.
pub fn verify_bundle(
    envelope: Option<&str>,
    trusted: &[TrustedKey],
    source: &BundleSource,
) -> Result<BundleStatement, SignatureError> {
    let text = envelope.ok_or(SignatureError::Unsigned)?;
    let envelope: Envelope = serde_json::from_str(text).map_err(|e| SignatureError::Malformed {
        reason: e.to_string(),
    })?;
    if envelope.payload_type != PAYLOAD_TYPE {
        return Err(SignatureError::PayloadType {
            found: envelope.payload_type,
        });
    }
    let payload = decode(&envelope.payload).ok_or_else(|| SignatureError::Malformed {
        reason: "`payload` is not base64".to_owned(),
    })?;
    if envelope.signatures.is_empty() {
        return Err(SignatureError::Malformed {
            reason: "no signatures".to_owned(),
        });
    }
    let message = pae(&envelope.payload_type, &payload);
    let mut named_trusted: Option<String> = None;
    let mut verified = false;
    for signature in &envelope.signatures {
        let bytes = decode(&signature.sig).ok_or_else(|| SignatureError::Malformed {
            reason: format!("the signature of key `{}` is not base64", signature.keyid),
        })?;
        let Ok(signature_bytes) = <[u8; 64]>::try_from(bytes.as_slice()) else {
            return Err(SignatureError::Malformed {
                reason: format!(
                    "the signature of key `{}` is {} bytes, not 64",
                    signature.keyid,
                    bytes.len()
                ),
            });
        };
        let sig = ed25519_dalek::Signature::from_bytes(&signature_bytes);
        if trusted
            .iter()
            .any(|key| key.key.verify_strict(&message, &sig).is_ok())
        {
            verified = true;
            break;
        }
        if named_trusted.is_none() && trusted.iter().any(|key| key.key_id == signature.keyid) {
            named_trusted = Some(signature.keyid.clone());
        }
    }
    if !verified {
        return Err(match named_trusted {
            Some(key_id) => SignatureError::BadSignature { key_id },
            None => SignatureError::UnknownKey {
                key_ids: envelope
                    .signatures
                    .iter()
                    .map(|s| s.keyid.clone())
                    .collect(),
            },
        });
    }
    let statement: BundleStatement =
        serde_json::from_slice(&payload).map_err(|e| SignatureError::Malformed {
            reason: format!("the payload is not a bundle statement: {e}"),
        })?;
    check_files(&statement, source)?;
    Ok(statement)
}

fn check_files(statement: &BundleStatement, source: &BundleSource) -> Result<(), SignatureError> {
    let signed: BTreeMap<&str, &str> = statement
        .files
        .iter()
        .map(|f| (f.path.as_str(), f.sha256.as_str()))
        .collect();
    let paths: BTreeSet<&str> = signed
        .keys()
        .copied()
        .chain(source.files.keys().map(String::as_str))
        .collect();
    for path in paths {
        match (signed.get(path), source.files.get(path)) {
            (Some(_), None) => {
                return Err(SignatureError::FileRemoved {
                    path: path.to_owned(),
                });
            }
            (None, Some(_)) => {
                return Err(SignatureError::FileAdded {
                    path: path.to_owned(),
                });
            }
            (Some(sha), Some(text)) if *sha != sha256_hex(text.as_bytes()) => {
                return Err(SignatureError::FileChanged {
                    path: path.to_owned(),
                });
            }
            _ => {}
        }
    }
    let digest = source.digest();
    if statement.digest != digest {
        return Err(SignatureError::BundleMismatch {
            field: "digest",
            stated: statement.digest.clone(),
            actual: digest,
        });
    }
    // The files are the signed ones, so the manifest is the signed one; a manifest that does
    // not parse fails the load that follows with its own error.
    if let Ok(manifest) = source.manifest() {
        for (field, stated, actual) in [
            ("name", &statement.name, manifest.name),
            ("revision", &statement.revision, manifest.revision),
        ] {
            if *stated != actual {
                return Err(SignatureError::BundleMismatch {
                    field,
                    stated: stated.clone(),
                    actual,
                });
            }
        }
    }
    Ok(())
}
