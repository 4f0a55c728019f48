//! Decision attestations: `gatehouse attest verify`, and `check --attestation` /
//! `--attestation-predicate`, which write the decision's in-toto Statement (signed when a key is
//! in the environment) or its SLSA verification summary predicate (the core's `attestation`
//! module does the work).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::ValueEnum;
use gatehouse_core::attestation::{self, AttestationError, DecisionFacts, Expectation};
use gatehouse_core::{Decision, Diagnostic, SigningKey, Stage};
use serde_json::Value;

use crate::cli_error::{CliError, eprint_text, render_detail};
use crate::signing::TrustArgs;

/// The environment variable holding the attestation signing key's PEM text.
pub const KEY_ENV: &str = "GATEHOUSE_ATTESTATION_KEY";

/// The environment variable holding the path of the attestation signing key's PEM file.
pub const KEY_FILE_ENV: &str = "GATEHOUSE_ATTESTATION_KEY_FILE";

/// `check`'s attestation flags.
#[derive(clap::Args, Debug, Default)]
pub struct AttestArgs {
    /// Write the decision's in-toto Statement (a SLSA verification summary: PASSED when the
    /// intent is allowed) to FILE; a DSSE envelope signed with the ed25519 private key in
    /// GATEHOUSE_ATTESTATION_KEY (PEM text) or GATEHOUSE_ATTESTATION_KEY_FILE (a path) when one
    /// is set. One intent per run; its artifact must be pinned by digest (exit 2 otherwise).
    #[arg(long, value_name = "FILE")]
    pub attestation: Option<PathBuf>,
    /// Write the statement's predicate only to FILE, for a signer that builds the statement
    /// itself (GitHub's `actions/attest` with `predicate-type:
    /// https://slsa.dev/verification_summary/v1` and `predicate-path: FILE`).
    #[arg(long, value_name = "FILE")]
    pub attestation_predicate: Option<PathBuf>,
    /// The statement's `verifier.id`: who decided (e.g. the workflow's URL)
    /// [default: https://gatehouse.dev/cli/v<VERSION>].
    #[arg(long, value_name = "URI")]
    pub verifier_id: Option<String>,
    /// The statement's `policy.uri` (the bundle's SHA-256 is its digest)
    /// [default: urn:gatehouse:bundle:<NAME>:<REVISION>].
    #[arg(long, value_name = "URI")]
    pub policy_uri: Option<String>,
}

impl AttestArgs {
    /// Whether an attestation output was asked for.
    pub fn requested(&self) -> bool {
        self.attestation.is_some() || self.attestation_predicate.is_some()
    }

    /// The signing key from the environment, when `--attestation` is asked for and one is set.
    /// Read before anything is evaluated, so a bad key stops the run (exit 2).
    pub fn signing_key(&self) -> Result<Option<SigningKey>, CliError> {
        if self.attestation.is_none() {
            return Ok(None);
        }
        signing_key_from(
            std::env::var(KEY_ENV).ok().filter(|v| !v.trim().is_empty()),
            std::env::var_os(KEY_FILE_ENV)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from),
        )
    }

    /// Writes the attestation outputs for one decision on `intent`.
    pub fn write(
        &self,
        key: Option<&SigningKey>,
        intent: &Value,
        decision: &Decision,
    ) -> Result<(), CliError> {
        let field = |name: &str| {
            intent
                .pointer(&format!("/spec/{name}"))
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        let bundle = &decision.bundle;
        let decision_value = decision.to_value().map_err(|source| CliError::Json {
            what: "decision",
            source,
        })?;
        let facts = DecisionFacts {
            verifier_id: self.verifier_id.clone().unwrap_or_else(default_verifier_id),
            time_verified: decision.evaluated_at,
            artifact: field("artifact"),
            environment: field("environment"),
            // The CLI keeps no decision log: the id is the decision's own digest (the SHA-256
            // of its canonical JSON, as the core digests intents), the same for the same bytes.
            decision_id: gatehouse_core::intent_digest(&decision_value),
            outcome: decision.outcome.as_str().to_owned(),
            stage: Stage::Admission.as_str().to_owned(),
            intent_digest: decision.intent_digest.clone(),
            bundle: bundle.clone(),
            policy_uri: self.policy_uri.clone().unwrap_or_else(|| {
                format!("urn:gatehouse:bundle:{}:{}", bundle.name, bundle.revision)
            }),
        };
        let statement = attestation::statement(&facts).map_err(|e| attestation_error(&e))?;
        if let Some(path) = &self.attestation {
            let text = match key {
                Some(key) => attestation::sign(&statement, key)
                    .map_err(|e| attestation_error(&e))?
                    .to_json(),
                None => pretty("attestation statement", &statement)?,
            };
            write(path, &text)?;
        }
        if let Some(path) = &self.attestation_predicate {
            write(
                path,
                &pretty("attestation predicate", &statement.predicate)?,
            )?;
        }
        Ok(())
    }
}

/// The CLI's default `verifier.id`: this tool at this version.
fn default_verifier_id() -> String {
    format!("https://gatehouse.dev/cli/v{}", env!("CARGO_PKG_VERSION"))
}

/// The key of `GATEHOUSE_ATTESTATION_KEY` (PEM text) or `GATEHOUSE_ATTESTATION_KEY_FILE` (a
/// path); both set is refused, as one of them would be silently ignored.
fn signing_key_from(
    text: Option<String>,
    file: Option<PathBuf>,
) -> Result<Option<SigningKey>, CliError> {
    let (text, source) = match (text, file) {
        (None, None) => return Ok(None),
        (Some(_), Some(_)) => {
            return Err(CliError::Usage(format!(
                "{KEY_ENV} and {KEY_FILE_ENV} are both set; set one"
            )));
        }
        (Some(text), None) => (text, KEY_ENV.to_owned()),
        (None, Some(path)) => (
            crate::files::read(&path)?,
            format!("{KEY_FILE_ENV} (`{}`)", path.display()),
        ),
    };
    SigningKey::from_pem(&text)
        .map(Some)
        .map_err(|e| CliError::Details {
            summary: format!("the attestation key in {source} is not usable: {e}"),
            details: e.details(),
        })
}

/// `value` as indented JSON and a newline; `what` names it in the error.
fn pretty<T: serde::Serialize>(what: &'static str, value: &T) -> Result<String, CliError> {
    let mut text =
        serde_json::to_string_pretty(value).map_err(|source| CliError::Json { what, source })?;
    text.push('\n');
    Ok(text)
}

fn write(path: &Path, text: &str) -> Result<(), CliError> {
    std::fs::write(path, text)
        .map_err(|source| CliError::Usage(format!("cannot write `{}`: {source}", path.display())))
}

fn attestation_error(error: &AttestationError) -> CliError {
    CliError::Details {
        summary: format!("cannot write the attestation: {error}"),
        details: error.details(),
    }
}

/// Output formats of `attest verify`.
#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum VerifyFormat {
    /// One line: what was verified, or the reason it was not (on stderr).
    Human,
    /// `{"verified": true, "statement": {...}}` or `{"verified": false, "error": {code,
    /// message, help?}}` on stdout.
    Json,
}

/// Flags of `attest verify`.
#[derive(clap::Args, Debug)]
pub struct VerifyArgs {
    /// An ed25519 public key (PEM, as `openssl pkey -pubout` writes it) whose attestations are
    /// trusted; repeatable (during a key rotation, the old and the new key), at least one.
    #[arg(long = "trusted-key", value_name = "PUBLIC.pem", required = true)]
    trusted_keys: Vec<PathBuf>,
    /// The artifact about to be deployed, pinned: `registry/repo@sha256:<64 hex>` or
    /// `sha256:<64 hex>` (its digest must be the statement's subject).
    #[arg(long, value_name = "REF")]
    artifact: String,
    /// The environment it is deployed to (the decision must be for it).
    #[arg(long, value_name = "ENV")]
    environment: Option<String>,
    /// The issuer the decision must come from (`verifier.id`: the control plane's URL).
    #[arg(long, value_name = "URL")]
    verifier: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = VerifyFormat::Human)]
    format: VerifyFormat,
    /// The attestation: a DSSE envelope (JSON) as `GET /v1/deployments/{id}/attestation` or
    /// `check --attestation` with a key writes it.
    envelope: PathBuf,
}

/// `gatehouse attest verify`: exit 0 when a trusted key signed a PASSED attestation of the
/// artifact's digest (for the environment and verifier when given), 1 when not (the reason and
/// its code), 2 on usage errors (unreadable files, a key that is not one, an unpinned
/// `--artifact`).
pub fn verify(args: &VerifyArgs) -> Result<ExitCode, CliError> {
    let keys = TrustArgs {
        trusted_keys: args.trusted_keys.clone(),
    }
    .keys()?;
    let text = crate::files::read(&args.envelope)?;
    let expect = Expectation {
        artifact: &args.artifact,
        environment: args.environment.as_deref(),
        verifier_id: args.verifier.as_deref(),
    };
    match attestation::verify(&text, &keys, &expect) {
        Ok(statement) => {
            match args.format {
                VerifyFormat::Human => crate::write_stdout(&summary(&statement, &args.artifact)),
                VerifyFormat::Json => crate::write_stdout(&pretty(
                    "verification",
                    &serde_json::json!({
                        "verified": true,
                        "statement": statement,
                    }),
                )?),
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(error @ AttestationError::ArtifactNotPinned { .. }) => Err(CliError::Details {
            summary: format!("--artifact: {error}"),
            details: error.details(),
        }),
        Err(error) => {
            match args.format {
                VerifyFormat::Human => {
                    let mut text = format!(
                        "error: attestation `{}` does not hold: {error}\n",
                        args.envelope.display()
                    );
                    for d in error.details() {
                        text.push_str(&render_detail(&d));
                    }
                    eprint_text(&text);
                }
                VerifyFormat::Json => {
                    let detail = error.details().into_iter().next();
                    crate::write_stdout(&pretty(
                        "verification",
                        &serde_json::json!({
                            "verified": false,
                            "error": detail,
                        }),
                    )?);
                }
            }
            Ok(ExitCode::from(1))
        }
    }
}

/// The one-line summary of a verified attestation.
fn summary(statement: &attestation::Statement, artifact: &str) -> String {
    let predicate = &statement.predicate;
    let decision = statement.decision().map_or_else(String::new, |d| {
        format!(
            " ({} in `{}`, {} stage, decision `{}`)",
            d.outcome, d.environment, d.stage, d.decision_id
        )
    });
    format!(
        "verified: {artifact} {}{decision} by `{}` at {}\n",
        predicate.verification_result.as_str(),
        predicate.verifier.id,
        predicate.time_verified
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_key_variables_are_refused_and_neither_is_no_key() {
        assert!(signing_key_from(None, None).unwrap().is_none());
        let err = signing_key_from(Some("x".into()), Some(PathBuf::from("k.pem"))).unwrap_err();
        assert!(err.to_string().contains("both set"), "{err}");
        let err = signing_key_from(Some("not a key".into()), None).unwrap_err();
        assert!(
            err.to_string().contains(KEY_ENV) && err.details()[0].code == "signing_key_invalid",
            "{err}"
        );
    }
}
