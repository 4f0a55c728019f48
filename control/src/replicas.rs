//! Several servers on one database: each reports the bundle it judges with, and one bundle is
//! the active one. A bundle a server loads (at start, or on reload) becomes active only when its
//! revision is higher than the active one's ([`gatehouse_core::compare_revisions`]), so the
//! active bundle only moves forward: a server started or reloaded on an older bundle, or on
//! another bundle under the same revision, never takes it back. A server whose bundle is not the active one is not ready
//! (`/readyz`) and refuses every decision and write (`bundle_mismatch`) until it loads the active
//! bundle, so a half-rolled-out bundle shows and no write is judged on rules no longer in force.

use gatehouse_store::replicas::{ActiveBundle, ReplicaReport};
use serde::Serialize;

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
