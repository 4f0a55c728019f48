//! Housekeeping: expired replay records.

use std::time::Duration;

use gatehouse_store::{Purge, Purged};

use super::ControlPlane;
use crate::clock::shift;
use crate::error::ControlError;

/// Hours a server's report is kept after it was last seen (stopped servers drop out of
/// `GET /v1/replicas`).
const REPLICA_RETENTION_HOURS: u64 = 24;

impl ControlPlane {
    /// Deletes idempotency and delivery records older than the configured retention
    /// (`retention.idempotency_hours`, `retention.delivery_hours`), decision log records older
    /// than `decision_log.retention_hours` and reports of servers not seen for a day; returns
    /// how many of each.
    pub async fn purge_expired(&self) -> Result<Purged, ControlError> {
        let now = self.now();
        let before =
            |hours: u64| shift(now, Duration::from_secs(hours.saturating_mul(3600)), false);
        let retention = &self.config.settings.retention;
        let purge = Purge {
            idempotency_before: before(retention.idempotency_hours),
            deliveries_before: before(retention.delivery_hours),
            replicas_before: before(REPLICA_RETENTION_HOURS),
            decisions_before: before(self.config.settings.decision_log.retention_hours),
        };
        Ok(self.store.purge(&purge).await?)
    }
}
