//! The control plane's background work: the outbox dispatcher, the retention purge and the
//! replica heartbeat. A transport starts them next to its listener and stops them with the same
//! signal.

use std::sync::Arc;
use std::time::Duration;

use gatehouse_store::Purged;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::executor::Executor;
use crate::plane::ControlPlane;

/// Running background tasks.
pub struct Workers {
    tasks: Vec<JoinHandle<()>>,
}

impl Workers {
    /// Waits for every task to stop (after the shutdown signal).
    pub async fn join(self) {
        for task in self.tasks {
            if let Err(e) = task.await {
                tracing::error!(error = %e, "a background task failed");
            }
        }
    }
}

/// Starts the dispatcher (delivering outbox entries with `executor`), the retention purge and
/// the replica heartbeat; they stop when `shutdown` turns true.
pub fn start(
    plane: &Arc<ControlPlane>,
    executor: Executor,
    shutdown: watch::Receiver<bool>,
) -> Workers {
    let dispatcher = tokio::spawn(crate::dispatcher::run(
        Arc::clone(plane),
        Arc::new(executor),
        shutdown.clone(),
    ));
    let purger = tokio::spawn(purge(Arc::clone(plane), shutdown.clone()));
    let heartbeat = tokio::spawn(heartbeat(Arc::clone(plane), shutdown));
    Workers {
        tasks: vec![dispatcher, purger, heartbeat],
    }
}

/// Resolves once `stop` is true (or its sender is gone).
pub(crate) async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

/// Purges expired records every `retention.purge_interval_s`.
async fn purge(plane: Arc<ControlPlane>, mut stop: watch::Receiver<bool>) {
    let every = Duration::from_secs(plane.config().settings.retention.purge_interval_s);
    loop {
        match plane.purge_expired().await {
            Ok(purged) if purged == Purged::default() => {}
            Ok(purged) => tracing::info!(
                keys = purged.idempotency,
                deliveries = purged.deliveries,
                replicas = purged.replicas,
                decisions = purged.decisions,
                "purged expired idempotency, delivery, replica and decision log records"
            ),
            Err(e) => tracing::warn!(error = %e, "cannot purge expired records; will retry"),
        }
        tokio::select! {
            () = tokio::time::sleep(every) => {}
            () = stopped(&mut stop) => return,
        }
    }
}

/// How often a server refreshes its replica report.
const HEARTBEAT: Duration = Duration::from_secs(10);

/// Refreshes this server's replica report every [`HEARTBEAT`].
async fn heartbeat(plane: Arc<ControlPlane>, mut stop: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            () = tokio::time::sleep(HEARTBEAT) => {}
            () = stopped(&mut stop) => return,
        }
        if let Err(e) = plane.heartbeat().await {
            tracing::warn!(error = %e, "cannot report this replica; will retry");
        }
    }
}
