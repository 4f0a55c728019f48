//! The signature scheme of pipeline callbacks and webhook dispatches: HMAC-SHA256 over a context
//! line, the signing time, the deployment id, the delivery id and the raw body. The server
//! verifies callbacks with it and the webhook executor signs dispatches with it. The context line
//! differs by direction (`gatehouse-callback-v1` for callbacks, `gatehouse-dispatch-v1` for
//! dispatches), so a captured dispatch never verifies as a callback, nor a callback as a
//! dispatch, even where an operator uses one secret for both.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::error_code::ControlErrorCode;

/// The header carrying a signature: `sha256=<hex>`.
pub const SIGNATURE_HEADER: &str = "x-gatehouse-signature-256";
/// The header naming a delivery (1 to 200 visible ASCII characters, unique per deployment).
pub const DELIVERY_HEADER: &str = "x-gatehouse-delivery";
/// The header carrying the signing time in Unix seconds.
pub const TIMESTAMP_HEADER: &str = "x-gatehouse-timestamp";
/// The first line of every signed callback: names the scheme, so a signature made for another
/// purpose with the same key never verifies here.
pub const SIGNING_CONTEXT: &str = "gatehouse-callback-v1";
/// The first line of every signed webhook dispatch: a receiver verifies dispatches with it, and
/// the server never takes a message signed with it as a callback.
pub const DISPATCH_SIGNING_CONTEXT: &str = "gatehouse-dispatch-v1";

/// Why a signed request is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignatureError {
    /// A header is missing.
    #[error(
        "signed requests need the header `{header}`; sign `{SIGNING_CONTEXT}\\n<timestamp>\\n<deployment id>\\n<delivery id>\\n<raw body>` with HMAC-SHA256 (docs/control-plane.md: a deployment, end to end)"
    )]
    Missing {
        /// The header.
        header: &'static str,
    },
    /// A header does not have its form.
    #[error("header `{header}` must be {expected}")]
    Malformed {
        /// The header.
        header: &'static str,
        /// Its form.
        expected: &'static str,
    },
    /// The timestamp is outside the accepted window.
    #[error(
        "the timestamp {timestamp} is more than {tolerance_s} s away from the server time {server_time} (Unix seconds); sign with the current time, and check the pipeline's clock"
    )]
    StaleTimestamp {
        /// The request's timestamp.
        timestamp: i64,
        /// The server's time.
        server_time: i64,
        /// The window (`pipeline.timestamp_tolerance_s`).
        tolerance_s: u64,
    },
    /// The signature does not match.
    #[error(
        "the signature does not match this deployment, delivery id, timestamp and body (a signature is valid for one deployment and one delivery only)"
    )]
    Mismatch,
}

impl SignatureError {
    /// The stable code of the refusal: `unsigned` (a header missing or malformed),
    /// `stale_timestamp` or `bad_signature`.
    pub fn code(&self) -> ControlErrorCode {
        match self {
            Self::Missing { .. } | Self::Malformed { .. } => ControlErrorCode::Unsigned,
            Self::StaleTimestamp { .. } => ControlErrorCode::StaleTimestamp,
            Self::Mismatch => ControlErrorCode::BadSignature,
        }
    }
}

/// The headers of a signed request, as received.
#[derive(Debug, Clone, Copy, Default)]
pub struct SignedHeaders<'a> {
    /// `X-Gatehouse-Delivery`.
    pub delivery: Option<&'a str>,
    /// `X-Gatehouse-Timestamp`.
    pub timestamp: Option<&'a str>,
    /// `X-Gatehouse-Signature-256`.
    pub signature: Option<&'a str>,
}

/// The exact bytes that are signed: the context line, the timestamp, the deployment id and the
/// delivery id, each on its own line, then the raw body.
fn signed_message(
    context: &str,
    timestamp: i64,
    deployment_id: &str,
    delivery_id: &str,
    body: &[u8],
) -> Vec<u8> {
    let head = format!("{context}\n{timestamp}\n{deployment_id}\n{delivery_id}\n");
    let mut message = Vec::with_capacity(head.len() + body.len());
    message.extend_from_slice(head.as_bytes());
    message.extend_from_slice(body);
    message
}

/// Signs a callback: the value of [`SIGNATURE_HEADER`], `sha256=<hex>`, over
/// [`SIGNING_CONTEXT`]. What pipelines (and the tests) send.
pub fn sign(
    secret: &[u8],
    timestamp: i64,
    deployment_id: &str,
    delivery_id: &str,
    body: &[u8],
) -> String {
    sign_in(
        SIGNING_CONTEXT,
        secret,
        timestamp,
        deployment_id,
        delivery_id,
        body,
    )
}

/// Signs a webhook dispatch: the value of [`SIGNATURE_HEADER`], `sha256=<hex>`, over
/// [`DISPATCH_SIGNING_CONTEXT`]. The webhook executor's signing function.
pub fn sign_dispatch(
    secret: &[u8],
    timestamp: i64,
    deployment_id: &str,
    delivery_id: &str,
    body: &[u8],
) -> String {
    sign_in(
        DISPATCH_SIGNING_CONTEXT,
        secret,
        timestamp,
        deployment_id,
        delivery_id,
        body,
    )
}

fn sign_in(
    context: &str,
    secret: &[u8],
    timestamp: i64,
    deployment_id: &str,
    delivery_id: &str,
    body: &[u8],
) -> String {
    let mut mac = new_mac(secret);
    mac.update(&signed_message(
        context,
        timestamp,
        deployment_id,
        delivery_id,
        body,
    ));
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Whether a delivery id has its form: 1 to 200 visible ASCII characters.
pub fn valid_delivery_id(id: &str) -> bool {
    (1..=200).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_graphic())
}

/// Verifies a signed callback for `deployment_id` at server time `now` (Unix seconds): the
/// delivery id's form, the timestamp window, then the HMAC over [`SIGNING_CONTEXT`] in
/// constant time. Returns the delivery id.
pub fn verify<'a>(
    secret: &[u8],
    headers: SignedHeaders<'a>,
    deployment_id: &str,
    body: &[u8],
    now: i64,
    tolerance_s: u64,
) -> Result<&'a str, SignatureError> {
    verify_in(
        SIGNING_CONTEXT,
        secret,
        headers,
        deployment_id,
        body,
        now,
        tolerance_s,
    )
}

/// Verifies a webhook dispatch as a receiver does: [`verify`] over
/// [`DISPATCH_SIGNING_CONTEXT`]. Returns the delivery id.
pub fn verify_dispatch<'a>(
    secret: &[u8],
    headers: SignedHeaders<'a>,
    deployment_id: &str,
    body: &[u8],
    now: i64,
    tolerance_s: u64,
) -> Result<&'a str, SignatureError> {
    verify_in(
        DISPATCH_SIGNING_CONTEXT,
        secret,
        headers,
        deployment_id,
        body,
        now,
        tolerance_s,
    )
}

fn verify_in<'a>(
    context: &str,
    secret: &[u8],
    headers: SignedHeaders<'a>,
    deployment_id: &str,
    body: &[u8],
    now: i64,
    tolerance_s: u64,
) -> Result<&'a str, SignatureError> {
    let signature = headers.signature.ok_or(SignatureError::Missing {
        header: SIGNATURE_HEADER,
    })?;
    let delivery = headers.delivery.ok_or(SignatureError::Missing {
        header: DELIVERY_HEADER,
    })?;
    if !valid_delivery_id(delivery) {
        return Err(SignatureError::Malformed {
            header: DELIVERY_HEADER,
            expected: "1 to 200 visible ASCII characters, unique per report",
        });
    }
    let timestamp = headers.timestamp.ok_or(SignatureError::Missing {
        header: TIMESTAMP_HEADER,
    })?;
    let timestamp: i64 = timestamp
        .parse()
        .ok()
        .filter(|_| !timestamp.starts_with('+'))
        .ok_or(SignatureError::Malformed {
            header: TIMESTAMP_HEADER,
            expected: "the signing time in Unix seconds, e.g. `1764000000`",
        })?;
    if timestamp.abs_diff(now) > tolerance_s {
        return Err(SignatureError::StaleTimestamp {
            timestamp,
            server_time: now,
            tolerance_s,
        });
    }
    let provided = signature
        .strip_prefix("sha256=")
        .and_then(|h| hex::decode(h).ok())
        .ok_or(SignatureError::Malformed {
            header: SIGNATURE_HEADER,
            expected: "`sha256=` followed by 64 hex digits",
        })?;
    let mut mac = new_mac(secret);
    mac.update(&signed_message(
        context,
        timestamp,
        deployment_id,
        delivery,
        body,
    ));
    let expected = mac.finalize().into_bytes();
    if bool::from(expected.as_slice().ct_eq(&provided)) {
        Ok(delivery)
    } else {
        Err(SignatureError::Mismatch)
    }
}

#[expect(
    clippy::expect_used,
    reason = "HMAC takes keys of every length: new_from_slice never fails"
)]
fn new_mac(secret: &[u8]) -> Hmac<Sha256> {
    <Hmac<Sha256> as Mac>::new_from_slice(secret).expect("HMAC accepts any key length")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers<'a>(delivery: &'a str, timestamp: &'a str, signature: &'a str) -> SignedHeaders<'a> {
        SignedHeaders {
            delivery: Some(delivery),
            timestamp: Some(timestamp),
            signature: Some(signature),
        }
    }

    #[test]
    fn signatures_bind_deployment_delivery_time_and_body() {
        let body = b"{\"status\":\"started\"}";
        let sig = sign(b"key", 1000, "dep_a", "run-1", body);
        let ok = verify(
            b"key",
            headers("run-1", "1000", &sig),
            "dep_a",
            body,
            1100,
            300,
        );
        assert_eq!(ok, Ok("run-1"));
        let refused = |h: SignedHeaders<'_>, dep: &str, body: &[u8], now: i64| {
            verify(b"key", h, dep, body, now, 300).unwrap_err()
        };
        assert_eq!(
            refused(headers("run-1", "1000", &sig), "dep_b", body, 1000),
            SignatureError::Mismatch
        );
        assert_eq!(
            refused(headers("run-2", "1000", &sig), "dep_a", body, 1000),
            SignatureError::Mismatch
        );
        assert_eq!(
            refused(headers("run-1", "1001", &sig), "dep_a", body, 1000),
            SignatureError::Mismatch
        );
        assert_eq!(
            refused(headers("run-1", "1000", &sig), "dep_a", b"{}", 1000),
            SignatureError::Mismatch
        );
        assert!(matches!(
            refused(headers("run-1", "1000", &sig), "dep_a", body, 1301),
            SignatureError::StaleTimestamp {
                server_time: 1301,
                ..
            }
        ));
        assert!(matches!(
            refused(headers("run 1", "1000", &sig), "dep_a", body, 1000),
            SignatureError::Malformed { .. }
        ));
        assert!(matches!(
            refused(headers("run-1", "+1000", &sig), "dep_a", body, 1000),
            SignatureError::Malformed { .. }
        ));
        assert!(matches!(
            refused(headers("run-1", "1000", "sha1=00"), "dep_a", body, 1000),
            SignatureError::Malformed { .. }
        ));
        assert!(matches!(
            refused(SignedHeaders::default(), "dep_a", body, 1000),
            SignatureError::Missing { .. }
        ));
        assert!(!valid_delivery_id(&"x".repeat(201)));
    }

    #[test]
    fn known_vector() {
        // The signed bytes are `gatehouse-callback-v1\n1764000000\ndep_1\nrun-1\n{}`; the same
        // value as `printf 'gatehouse-callback-v1\n1764000000\ndep_1\nrun-1\n{}' | openssl dgst
        // -sha256 -hmac secret`.
        let sig = sign(b"secret", 1_764_000_000, "dep_1", "run-1", b"{}");
        assert_eq!(
            sig,
            "sha256=58b8b77284bc6b4361dc01278bbdb59dd2610fdff073334837f7fb7ccd997169"
        );
        // `printf 'gatehouse-dispatch-v1\n1764000000\ndep_1\ndispatch-1\n{}' | openssl dgst
        // -sha256 -hmac secret`.
        let sig = sign_dispatch(b"secret", 1_764_000_000, "dep_1", "dispatch-1", b"{}");
        assert_eq!(
            sig,
            "sha256=b5ea84b6f7ae0cb548374099b61e1e8cf5a5464ac9730dc0fea3aa71b44e28bb"
        );
    }

    #[test]
    fn a_dispatch_never_verifies_as_a_callback_nor_a_callback_as_a_dispatch() {
        let body = b"{\"deployment_id\":\"dep_a\"}";
        let dispatch = sign_dispatch(b"one-secret-for-both", 1000, "dep_a", "dispatch-1", body);
        let callback = sign(b"one-secret-for-both", 1000, "dep_a", "dispatch-1", body);
        assert_ne!(dispatch, callback);
        let check = |sig: &str, as_dispatch: bool| {
            let h = headers("dispatch-1", "1000", sig);
            let verified = if as_dispatch {
                verify_dispatch(b"one-secret-for-both", h, "dep_a", body, 1000, 300)
            } else {
                verify(b"one-secret-for-both", h, "dep_a", body, 1000, 300)
            };
            verified.map(str::to_owned)
        };
        assert_eq!(check(&dispatch, true), Ok("dispatch-1".to_owned()));
        assert_eq!(check(&callback, false), Ok("dispatch-1".to_owned()));
        assert_eq!(check(&dispatch, false), Err(SignatureError::Mismatch));
        assert_eq!(check(&callback, true), Err(SignatureError::Mismatch));
    }
}
