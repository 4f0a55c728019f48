//! The view operations on one deployment answer with: the stored record, its ETag and its
//! dispatch.

use gatehouse_store::deployment::DeploymentRecord;
use gatehouse_store::outbox::Dispatch;
use serde::Serialize;

/// A deployment with its ETag and dispatch: what operations on one deployment answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeploymentView {
    /// The stored deployment.
    #[serde(flatten)]
    pub deployment: DeploymentRecord,
    /// The value for `If-Match` (also the `ETag` header): the last event's hash.
    pub etag: String,
    /// The pipeline trigger, once there is one.
    pub dispatch: Option<Dispatch>,
}

impl DeploymentView {
    /// The view of `deployment` with its latest dispatch.
    pub fn new(deployment: DeploymentRecord, dispatch: Option<Dispatch>) -> Self {
        Self {
            etag: deployment.last_hash.clone(),
            deployment,
            dispatch,
        }
    }
}
