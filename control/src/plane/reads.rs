//! Reading deployments, their timelines, the ledger's verification and the signals.

use std::time::Duration;

use gatehouse_core::Event;
use gatehouse_store::audit::AuditReport;
use gatehouse_store::deployment::{DeploymentPage, ListQuery};

use super::ControlPlane;
use crate::clock::shift;
use crate::deployment::DeploymentView;
use crate::error::ControlError;
use crate::signals::{self, Signals};

impl ControlPlane {
    /// A filtered page of deployment summaries, newest first.
    pub async fn list(&self, query: &ListQuery) -> Result<DeploymentPage, ControlError> {
        Ok(self.store.list(query).await?)
    }

    /// One deployment with its dispatch.
    pub async fn deployment(&self, id: &str) -> Result<DeploymentView, ControlError> {
        let record = self.current(id).await?;
        self.view(record).await
    }

    /// A deployment's events, in order.
    pub async fn events(&self, id: &str) -> Result<Vec<Event>, ControlError> {
        self.current(id).await?;
        Ok(self.store.events(id).await?)
    }

    /// Verifies the whole ledger: every event hash, every link, every deployment row.
    pub async fn verify(&self) -> Result<AuditReport, ControlError> {
        Ok(self.store.verify().await?)
    }

    /// The signals of the deployments created in the last `window_days` days.
    pub async fn signals(&self, window_days: u32) -> Result<Signals, ControlError> {
        let until = self.now();
        let since = shift(
            until,
            Duration::from_secs(u64::from(window_days) * 86_400),
            false,
        );
        let data = self.store.signal_data(since, signals::TOP_POLICIES).await?;
        Ok(signals::compute(data, since, until, window_days))
    }

    /// Whether the store answers.
    pub async fn ping(&self) -> Result<(), ControlError> {
        Ok(self.store.ping().await?)
    }
}
