//! Several servers on one database: each reports the bundle it judges with, and the bundle last
//! loaded by any of them (at start, or on reload) is the active one. A server whose bundle is
//! not the active one is not ready (`/readyz`), so a half-rolled-out bundle shows, and a load
//! balancer sends requests only to servers that judge with the newest bundle.

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

/// The bundle every server should judge with: the one last loaded by any of them.
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

/// The servers on this database and the active bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Replicas {
    /// The active bundle (none before any server started).
    pub active_bundle: Option<ActiveBundle>,
    /// Each server that reported within the retention, oldest first; `in_step` tells whether it
    /// judges with the active bundle.
    pub replicas: Vec<ReplicaStatus>,
}

/// A server and whether it judges with the active bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReplicaStatus {
    /// What it reported.
    #[serde(flatten)]
    pub report: ReplicaReport,
    /// Whether its bundle is the active one.
    pub in_step: bool,
}

/// A server that is ready: it reaches the database and judges with the active bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Readiness {
    /// This server.
    pub replica_id: String,
    /// The digest of the bundle it judges with (the active one).
    pub bundle_digest: String,
}
