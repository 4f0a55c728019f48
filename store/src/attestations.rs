//! Decision attestations as the store keeps them: per decision, the signed DSSE envelope exactly
//! as served, or why none was issued. Issuing and checking them is the control plane's.

use gatehouse_core::Timestamp;
use serde_json::Value;

/// The attestation of one decision as stored: its envelope, or why none was issued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttestationRecord {
    /// The decision it attests.
    pub decision_id: String,
    /// The deployment the decision was made on.
    pub deployment_id: String,
    /// When it was issued (the server's clock).
    pub at: Timestamp,
    /// The DSSE envelope's JSON, exactly as signed and served.
    pub envelope: Option<String>,
    /// Why no envelope was issued (e.g. the artifact is not pinned by digest).
    pub unavailable: Option<String>,
}

impl AttestationRecord {
    /// The envelope as JSON (for the dispatch payload); `None` when none was issued or the
    /// stored text does not parse.
    pub fn envelope_value(&self) -> Option<Value> {
        self.envelope
            .as_deref()
            .and_then(|text| serde_json::from_str(text).ok())
    }
}
