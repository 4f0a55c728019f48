//! What several servers on one database record there: each server's report of the bundle it
//! judges with, and the active bundle (the control plane decides when it moves; see its
//! `replicas` module).

use gatehouse_core::Timestamp;
use serde::Serialize;

/// What a running server reports about itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReplicaReport {
    /// The server's id, new at every start.
    pub replica_id: String,
    /// Where it is reached (its public URL).
    pub address: String,
    /// The digest of the bundle it judges with.
    pub bundle_digest: String,
    /// That bundle's revision.
    pub bundle_revision: String,
    /// When it started.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub started_at: Timestamp,
    /// When it last reported.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub seen_at: Timestamp,
}

/// The bundle every server should judge with: the highest revision loaded by any of them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ActiveBundle {
    /// Its digest.
    pub digest: String,
    /// Its revision.
    pub revision: String,
    /// The server that loaded it.
    pub activated_by: String,
    /// When.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub activated_at: Timestamp,
}
