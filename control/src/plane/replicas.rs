//! This server among the others on its database: it reports the bundle it judges with, makes
//! the bundle it loads the active one when its revision is higher, and is ready, judges and
//! takes writes only while the two agree.

use std::cmp::Ordering;

use gatehouse_core::{Engine, compare_revisions};
use gatehouse_store::replicas::{ActiveBundle, ReplicaReport};

use super::{CAS_RETRIES, ControlPlane};
use crate::error::ControlError;
use crate::replicas::{Readiness, ReplicaStatus, Replicas};

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

    /// Reports this server and makes its bundle the active one when there is none yet or its
    /// revision is higher than the active one's: at start, and after a reload. A lower revision,
    /// or another bundle under the same revision, leaves the active bundle as it is (logged): this
    /// server then reports the mismatch and refuses decisions and writes until it loads the
    /// active bundle.
    pub async fn announce(&self) -> Result<(), ControlError> {
        let report = self.report();
        self.store.report_replica(&report).await?;
        let mine = ActiveBundle {
            digest: report.bundle_digest,
            revision: report.bundle_revision,
            activated_by: report.replica_id,
            activated_at: report.seen_at,
        };
        // Compare-and-swap: a server that activates another bundle meanwhile is judged again.
        for _ in 0..CAS_RETRIES {
            let active = self.store.active_bundle().await?;
            let replaces = match &active {
                None => None,
                Some(active) if active.digest == mine.digest => return Ok(()),
                Some(active) => {
                    if compare_revisions(&mine.revision, &active.revision) != Ordering::Greater {
                        tracing::warn!(
                            digest = %mine.digest,
                            revision = %mine.revision,
                            active_digest = %active.digest,
                            active_revision = %active.revision,
                            "this server's bundle is not newer than the active one, which stays active: this server refuses decisions and writes until it loads the active bundle (publish a bundle under a higher revision to change the active one)"
                        );
                        return Ok(());
                    }
                    Some(active.digest.as_str())
                }
            };
            if self.store.activate_bundle(&mine, replaces).await? {
                tracing::info!(digest = %mine.digest, revision = %mine.revision, "bundle activated");
                return Ok(());
            }
        }
        tracing::warn!("the active bundle kept changing; this server's bundle was not activated");
        Ok(())
    }

    /// [`ControlError::BundleMismatch`] unless `engine`'s bundle is the active one (or none is
    /// active yet): checked before every decision and write, so a server left on other rules
    /// during a rollout judges nothing.
    pub(crate) async fn require_active(&self, engine: &Engine) -> Result<(), ControlError> {
        let mine = engine.info();
        match self.store.active_bundle().await? {
            Some(active) if active.digest != mine.digest => Err(ControlError::BundleMismatch {
                replica_id: self.replica_id.clone(),
                digest: mine.digest.clone(),
                revision: mine.revision.clone(),
                active: Box::new(active),
            }),
            _ => Ok(()),
        }
    }

    /// [`ControlPlane::require_active`] for the bundle in use now.
    pub(crate) async fn in_step(&self) -> Result<(), ControlError> {
        self.require_active(&self.engine()).await
    }

    /// Refreshes this server's report (it is alive, with this bundle).
    pub(crate) async fn heartbeat(&self) -> Result<(), ControlError> {
        Ok(self.store.report_replica(&self.report()).await?)
    }

    /// Whether this server should take requests: the database answers and this server judges
    /// with the active bundle ([`ControlError::BundleMismatch`] during a rollout).
    pub async fn readiness(&self) -> Result<Readiness, ControlError> {
        self.store.ping().await?;
        let engine = self.engine();
        self.require_active(&engine).await?;
        Ok(Readiness {
            replica_id: self.replica_id.clone(),
            bundle_digest: engine.info().digest.clone(),
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
