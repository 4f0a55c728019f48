//! A bundle's files signed and checked: the statement of a [`BundleSource`], its envelope signed
//! by a key, and a directory's envelope verified against the files the loader read (the
//! statement, envelope and keys are [`crate::signing`]'s).

use std::collections::{BTreeMap, BTreeSet};

use crate::bundle::{BundleError, BundleSource};
use crate::canonical::sha256_hex;
use crate::dsse;
use crate::signing::{
    BundleStatement, Envelope, PAYLOAD_TYPE, SignatureError, SignedFile, SigningKey, TrustedKey,
    verify_statement,
};

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
#[expect(
    clippy::expect_used,
    reason = "a statement is strings and a list of structs of strings, which always serialise; signing empty bytes instead would hide a bug"
)]
pub fn sign_bundle(source: &BundleSource, key: &SigningKey) -> Result<Envelope, BundleError> {
    let manifest = source.manifest()?;
    let statement = statement(source, &manifest.name, &manifest.revision);
    let payload = serde_json::to_vec(&statement).expect("a bundle statement serialises");
    Ok(dsse::sign(PAYLOAD_TYPE, &payload, key))
}

/// Verifies a bundle's envelope (the text of [`crate::SIGNATURE_FILE`], `None` when there is none)
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
    let statement = verify_statement(&envelope, trusted)?;
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
