//! Signed bundles: `--trusted-key` on every command that loads a bundle, and `gatehouse bundle
//! sign` / `gatehouse bundle verify` (the core's `signing` module does the work).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use gatehouse_core::bundle_dir::read_dir;
use gatehouse_core::{
    BundleSource, Diagnostic, KeyError, SIGNATURE_FILE, SigningKey, TrustedKey, sign_bundle,
    verify_bundle,
};

use crate::cli_error::{CliError, eprint_text, render_detail};

/// `--trusted-key`: the public keys a bundle must be signed by.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct TrustArgs {
    /// Load the bundle only if one of these ed25519 public keys (PEM, as `openssl pkey -pubout`
    /// writes them) signed exactly its files (`gatehouse bundle sign`); repeatable. An unsigned
    /// bundle, an unknown key, a bad signature or a file changed, added or removed after signing
    /// is refused (exit 2).
    #[arg(long = "trusted-key", value_name = "PUBLIC.pem")]
    pub trusted_keys: Vec<PathBuf>,
}

impl TrustArgs {
    /// Reads the keys (none when the flag is absent).
    pub fn keys(&self) -> Result<Vec<TrustedKey>, CliError> {
        self.trusted_keys
            .iter()
            .map(|path| TrustedKey::from_pem(&read(path)?).map_err(|e| key_error(path, &e)))
            .collect()
    }
}

fn read(path: &Path) -> Result<String, CliError> {
    std::fs::read_to_string(path).map_err(|source| CliError::Read {
        path: path.to_path_buf(),
        source,
    })
}

fn key_error(path: &Path, error: &KeyError) -> CliError {
    CliError::Details {
        summary: format!("key `{}` is not usable: {error}", path.display()),
        details: error.details(),
    }
}

/// Flags of `bundle sign`.
#[derive(clap::Args, Debug)]
pub struct SignArgs {
    /// The bundle directory.
    #[arg(long, default_value = "policies")]
    policies: PathBuf,
    /// The ed25519 private key (PKCS#8 PEM, as `openssl genpkey -algorithm ed25519` writes it).
    #[arg(long, value_name = "PRIVATE.pem")]
    key: PathBuf,
    /// The key id written into the signature [default: the hex SHA-256 of the public key's
    /// SubjectPublicKeyInfo DER].
    #[arg(long, value_name = "ID")]
    key_id: Option<String>,
}

/// Flags of `bundle verify`.
#[derive(clap::Args, Debug)]
pub struct VerifyArgs {
    /// The bundle directory.
    #[arg(long, default_value = "policies")]
    policies: PathBuf,
    /// An ed25519 public key (PEM) whose signature is trusted; repeatable, at least one.
    #[arg(long = "trusted-key", value_name = "PUBLIC.pem", required = true)]
    trusted_keys: Vec<PathBuf>,
}

/// `gatehouse bundle sign`: writes the DSSE envelope of the bundle's statement into the bundle
/// directory as `bundle.sig.json`, replacing any earlier one.
pub fn sign(args: &SignArgs) -> Result<ExitCode, CliError> {
    let text = read(&args.key)?;
    let mut key = SigningKey::from_pem(&text).map_err(|e| key_error(&args.key, &e))?;
    if let Some(id) = &args.key_id {
        key = key.with_key_id(id).map_err(|e| key_error(&args.key, &e))?;
    }
    let source = BundleSource::from_dir(&args.policies)?;
    let envelope = sign_bundle(&source, &key).map_err(|source| CliError::Bundle {
        dir: args.policies.clone(),
        source: source.in_dir(&args.policies),
    })?;
    let path = args.policies.join(SIGNATURE_FILE);
    std::fs::write(&path, envelope.to_json()).map_err(|source| {
        CliError::Usage(format!("cannot write `{}`: {source}", path.display()))
    })?;
    crate::write_stdout(&format!(
        "signed `{}` ({} files, key `{}`): {}\n",
        args.policies.display(),
        source.files.len(),
        key.key_id(),
        path.display()
    ));
    Ok(ExitCode::SUCCESS)
}

/// `gatehouse bundle verify`: exit 0 when a trusted key signed exactly the bundle's files, 1
/// when not (the reason on stderr), 2 on usage errors (unreadable keys or directory).
pub fn verify(args: &VerifyArgs) -> Result<ExitCode, CliError> {
    let keys = TrustArgs {
        trusted_keys: args.trusted_keys.clone(),
    }
    .keys()?;
    let (source, signature) = read_dir(&args.policies)?;
    match verify_bundle(signature.as_deref(), &keys, &source) {
        Ok(statement) => {
            crate::write_stdout(&format!(
                "verified `{}`: {} revision {} ({}, {} files)\n",
                args.policies.display(),
                statement.name,
                statement.revision,
                statement.digest,
                statement.files.len()
            ));
            Ok(ExitCode::SUCCESS)
        }
        Err(source) => {
            let error = gatehouse_core::DirLoadError::Signature {
                dir: args.policies.clone(),
                source,
            };
            let mut text = format!("error: {error}\n");
            for d in error.details() {
                text.push_str(&render_detail(&d));
            }
            eprint_text(&text);
            Ok(ExitCode::from(1))
        }
    }
}

/// Checks the signature of the bundle in `dir` when keys are given, for commands that read the
/// bundle's files without loading it (`gatehouse test`). Returns the files that were verified.
pub fn read_verified(dir: &Path, keys: &[TrustedKey]) -> Result<BundleSource, CliError> {
    let (source, signature) = read_dir(dir)?;
    if !keys.is_empty() {
        verify_bundle(signature.as_deref(), keys, &source).map_err(|source| {
            CliError::from(gatehouse_core::DirLoadError::Signature {
                dir: dir.to_path_buf(),
                source,
            })
        })?;
    }
    Ok(source)
}
