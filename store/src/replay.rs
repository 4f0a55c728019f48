//! What is kept so a repeated request is answered as the first was: the answer stored for an
//! idempotency key or a callback delivery, and the key itself.

/// A stored answer, replayed for a repeated idempotency key or callback delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    /// SHA-256 of the request body that produced it.
    pub body_sha256: String,
    /// The JSON answer.
    pub body: String,
}

/// An idempotency key of a submission: the key and the SHA-256 of the request body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey {
    /// The key the caller chose.
    pub key: String,
    /// SHA-256 (hex) of the body submitted with it.
    pub body_sha256: String,
}

impl IdempotencyKey {
    /// The key `key` of a request whose body is `body`.
    pub fn new(key: &str, body: &[u8]) -> Self {
        use sha2::{Digest, Sha256};
        Self {
            key: key.to_owned(),
            body_sha256: hex::encode(Sha256::digest(body)),
        }
    }
}
