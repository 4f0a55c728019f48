//! DSSE envelopes (<https://github.com/secure-systems-lab/dsse>) signed with ed25519: the one
//! place that signs and verifies them, for every payload Gatehouse signs (bundle statements in
//! [`crate::signing`], decision attestations in [`crate::attestation`]).
//!
//! An envelope ([`Envelope`]: `payloadType`, base64 `payload`, `signatures[{keyid, sig}]`) is
//! checked by any DSSE verifier (securesystemslib, sigstore, cosign): the signature is over the
//! pre-authentication encoding ([`pae`]) of the payload type and the payload, never over bare
//! JSON, so a payload cannot be re-read as another type.
//!
//! Keys are ed25519 in PEM as `openssl genpkey -algorithm ed25519` (PKCS#8 private key) and
//! `openssl pkey -pubout` (SubjectPublicKeyInfo public key) write them. A key's default id is
//! the lowercase hex SHA-256 of its public key's SubjectPublicKeyInfo DER ([`key_id`]); a signer
//! may set another. The key id is a hint: a signature is accepted when a trusted key verifies
//! it, whatever id it carries, and an id that names no trusted key is reported as an unknown
//! key only when no trusted key verifies the signature. Several trusted keys (an old and a new
//! one during a rotation) are tried in turn.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE};
use ed25519_dalek::Signer as _;
use ed25519_dalek::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePublicKey};
use serde::{Deserialize, Serialize};

use crate::canonical::sha256_hex;
use crate::error::{Diagnostic, ErrorDetail};

/// A DSSE envelope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    /// What the payload is (e.g. `application/vnd.in-toto+json`); signed with it.
    #[serde(rename = "payloadType")]
    pub payload_type: String,
    /// The payload, base64 (standard alphabet, padded).
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
    /// Reads an envelope from its JSON text.
    pub fn from_json(text: &str) -> Result<Self, DsseError> {
        serde_json::from_str(text).map_err(|e| DsseError::Malformed {
            reason: e.to_string(),
        })
    }

    /// The envelope as pretty-printed JSON with a final newline, as written to files.
    #[expect(
        clippy::expect_used,
        reason = "an envelope is strings and a list of structs of strings, which always serialise; an empty text here would hide a bug"
    )]
    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).expect("an envelope serialises");
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

/// A private key that signs envelopes, with the id written into its signatures.
pub struct SigningKey {
    pub(crate) key: ed25519_dalek::SigningKey,
    pub(crate) key_id: String,
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
    pub(crate) key: ed25519_dalek::VerifyingKey,
    pub(crate) key_id: String,
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

/// An envelope that does not verify. Each payload's module maps these to its own errors and
/// codes ([`crate::signing::SignatureError`], [`crate::attestation::AttestationError`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DsseError {
    /// Not a DSSE envelope: not JSON of that shape, a payload or signature that is not base64,
    /// a signature that is not 64 bytes, no signatures.
    #[error("the envelope is malformed: {reason}")]
    Malformed {
        /// What is wrong.
        reason: String,
    },
    /// The envelope's payload is of another type.
    #[error("the envelope has payload type `{found}`, not `{expected}`")]
    PayloadType {
        /// The type the caller expects.
        expected: String,
        /// The envelope's `payloadType`.
        found: String,
    },
    /// No signature is by a trusted key, and none names one.
    #[error("the envelope is signed by unknown key {}", list(key_ids))]
    UnknownKey {
        /// The key ids of the envelope's signatures.
        key_ids: Vec<String>,
    },
    /// A signature names a trusted key but no trusted key verifies any signature (the payload
    /// or the signature was changed after signing).
    #[error("bad signature by key `{key_id}`: the payload was changed after signing")]
    BadSignature {
        /// The trusted key's id.
        key_id: String,
    },
}

/// The key ids of a list, each in backticks, or `(no key id)`.
pub(crate) fn list(items: &[String]) -> String {
    if items.is_empty() {
        return "(no key id)".to_owned();
    }
    items
        .iter()
        .map(|i| format!("`{i}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Diagnostic for DsseError {
    fn code(&self) -> &'static str {
        match self {
            Self::Malformed { .. } => "dsse_malformed",
            Self::PayloadType { .. } => "dsse_payload_type",
            Self::UnknownKey { .. } => "dsse_unknown_key",
            Self::BadSignature { .. } => "dsse_signature_invalid",
        }
    }

    fn details(&self) -> Vec<ErrorDetail> {
        vec![ErrorDetail::new(self.code(), self.to_string())]
    }
}

/// Signs `payload` as `payload_type` with `key`: an envelope with one signature, carrying the
/// key's id.
pub fn sign(payload_type: &str, payload: &[u8], key: &SigningKey) -> Envelope {
    let signature = key.key.sign(&pae(payload_type, payload));
    Envelope {
        payload_type: payload_type.to_owned(),
        payload: STANDARD.encode(payload),
        signatures: vec![EnvelopeSignature {
            keyid: key.key_id.clone(),
            sig: STANDARD.encode(signature.to_bytes()),
        }],
    }
}

fn decode(text: &str) -> Option<Vec<u8>> {
    STANDARD
        .decode(text)
        .or_else(|_| URL_SAFE.decode(text))
        .ok()
}

/// Verifies an envelope: its payload type is `expected_payload_type` and one of its signatures
/// is by one of the `trusted` keys (strict ed25519 verification over [`pae`]).
///
/// Returns the decoded payload and the id of the trusted key that verified it (the id it was
/// trusted under, whatever id the signature carries). With no trusted keys nothing verifies
/// ([`DsseError::UnknownKey`]). The checks run in this order, and the first that fails is the
/// error: payload type, payload base64, at least one signature, then each signature in turn
/// (one that is not base64 or not 64 bytes is malformed; the first that a trusted key verifies
/// wins). When none verifies, a signature whose key id names a trusted key makes the error a
/// bad signature, otherwise an unknown key.
pub fn verify(
    envelope: &Envelope,
    expected_payload_type: &str,
    trusted: &[TrustedKey],
) -> Result<(Vec<u8>, String), DsseError> {
    if envelope.payload_type != expected_payload_type {
        return Err(DsseError::PayloadType {
            expected: expected_payload_type.to_owned(),
            found: envelope.payload_type.clone(),
        });
    }
    let payload = decode(&envelope.payload).ok_or_else(|| DsseError::Malformed {
        reason: "`payload` is not base64".to_owned(),
    })?;
    if envelope.signatures.is_empty() {
        return Err(DsseError::Malformed {
            reason: "no signatures".to_owned(),
        });
    }
    let message = pae(&envelope.payload_type, &payload);
    let mut named_trusted: Option<String> = None;
    for signature in &envelope.signatures {
        let bytes = decode(&signature.sig).ok_or_else(|| DsseError::Malformed {
            reason: format!("the signature of key `{}` is not base64", signature.keyid),
        })?;
        let Ok(signature_bytes) = <[u8; 64]>::try_from(bytes.as_slice()) else {
            return Err(DsseError::Malformed {
                reason: format!(
                    "the signature of key `{}` is {} bytes, not 64",
                    signature.keyid,
                    bytes.len()
                ),
            });
        };
        let sig = ed25519_dalek::Signature::from_bytes(&signature_bytes);
        if let Some(key) = trusted
            .iter()
            .find(|key| key.key.verify_strict(&message, &sig).is_ok())
        {
            return Ok((payload, key.key_id.clone()));
        }
        if named_trusted.is_none() && trusted.iter().any(|key| key.key_id == signature.keyid) {
            named_trusted = Some(signature.keyid.clone());
        }
    }
    Err(match named_trusted {
        Some(key_id) => DsseError::BadSignature { key_id },
        None => DsseError::UnknownKey {
            key_ids: envelope
                .signatures
                .iter()
                .map(|s| s.keyid.clone())
                .collect(),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const PRIVATE: &str = include_str!("../tests/fixtures/test-only-keys/trusted.pem");

    #[test]
    fn pae_is_dsse_v1() {
        // The example of the DSSE protocol document.
        assert_eq!(
            pae("http://example.com/HelloWorld", b"hello world"),
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world".to_vec()
        );
    }

    #[test]
    fn signs_and_verifies_and_names_the_key_that_verified() {
        let key = SigningKey::from_pem(PRIVATE)
            .unwrap()
            .with_key_id("ci")
            .unwrap();
        let envelope = sign("text/plain", b"hello", &key);
        assert_eq!(envelope.signatures[0].keyid, "ci");
        let trusted = TrustedKey::from_pem(&public_pem(&key)).unwrap();
        let (payload, key_id) =
            verify(&envelope, "text/plain", std::slice::from_ref(&trusted)).unwrap();
        assert_eq!(payload, b"hello");
        assert_eq!(key_id, trusted.key_id());
    }

    #[test]
    fn refuses_another_type_a_changed_payload_and_an_unknown_key() {
        let key = SigningKey::from_pem(PRIVATE).unwrap();
        let trusted = key.trusted_key();
        let envelope = sign("text/plain", b"hello", &key);
        assert!(matches!(
            verify(&envelope, "text/other", std::slice::from_ref(&trusted)),
            Err(DsseError::PayloadType { .. })
        ));
        let changed = Envelope {
            payload: STANDARD.encode(b"hellO"),
            ..envelope.clone()
        };
        assert_eq!(
            verify(&changed, "text/plain", std::slice::from_ref(&trusted)),
            Err(DsseError::BadSignature {
                key_id: trusted.key_id().to_owned()
            })
        );
        assert_eq!(
            verify(&envelope, "text/plain", &[]),
            Err(DsseError::UnknownKey {
                key_ids: vec![trusted.key_id().to_owned()]
            })
        );
    }

    fn public_pem(key: &SigningKey) -> String {
        use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
        key.key
            .verifying_key()
            .to_public_key_pem(LineEnding::LF)
            .unwrap()
    }
}
