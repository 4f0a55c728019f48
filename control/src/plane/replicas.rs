//! This server among the others on its database: it reports the bundle it judges with, makes
//! the bundle it loads the active one, and is ready only while the two agree.

use super::ControlPlane;
use crate::error::ControlError;
use crate::replicas::{ActiveBundle, Readiness, ReplicaReport, ReplicaStatus, Replicas};

impl ControlPlane {
    /// This server's id, new at every start.
    pub fn replica_id(&self) -> &str {
        &self.replica_id
    }

    /// What this server reports: its bundle, when it started, now.
    fn report(&self) -> ReplicaReport {
        let engine = self.engine();
        let info = engine.info();
        ReplicaReport {
            replica_id: self.replica_id.clone(),
            address: self.config.public_url.clone(),
            bundle_digest: info.digest.clone(),
            bundle_revision: info.revision.clone(),
            started_at: self.started_at,
            seen_at: self.now(),
        }
    }

    /// Reports this server and makes its bundle the active one: at start, and after a reload.
    pub async fn announce(&self) -> Result<(), ControlError> {
        let report = self.report();
        self.store.report_replica(&report).await?;
        self.store
            .activate_bundle(&ActiveBundle {
                digest: report.bundle_digest,
                revision: report.bundle_revision,
                activated_by: report.replica_id,
                activated_at: report.seen_at,
            })
            .await?;
        Ok(())
    }

    /// Refreshes this server's report (it is alive, with this bundle).
    pub(crate) async fn heartbeat(&self) -> Result<(), ControlError> {
        Ok(self.store.report_replica(&self.report()).await?)
    }

    /// Whether this server should take requests: the database answers and this server judges
    /// with the active bundle ([`ControlError::BundleMismatch`] during a rollout).
    pub async fn readiness(&self) -> Result<Readiness, ControlError> {
        self.store.ping().await?;
        let mine = self.engine().info().clone();
        if let Some(active) = self.store.active_bundle().await?
            && active.digest != mine.digest
        {
            return Err(ControlError::BundleMismatch {
                replica_id: self.replica_id.clone(),
                digest: mine.digest,
                revision: mine.revision,
                active: Box::new(active),
            });
        }
        Ok(Readiness {
            replica_id: self.replica_id.clone(),
            bundle_digest: mine.digest,
        })
    }

    /// The servers on this database, each with whether it judges with the active bundle.
    pub async fn replicas(&self) -> Result<Replicas, ControlError> {
        let active_bundle = self.store.active_bundle().await?;
        let replicas = self
            .store
            .replicas()
            .await?
            .into_iter()
            .map(|report| ReplicaStatus {
                in_step: active_bundle
                    .as_ref()
                    .is_none_or(|a| a.digest == report.bundle_digest),
                report,
            })
            .collect();
        Ok(Replicas {
            active_bundle,
            replicas,
        })
    }
}
