//! What the signals need of a window of deployments, aggregated by the store in the database.

/// What the signals need of the deployments created in a window, aggregated by the store.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SignalData {
    /// Deployments in the window.
    pub total: u64,
    /// Counts by state.
    pub by_state: Vec<(String, u64)>,
    /// Counts by environment.
    pub by_environment: Vec<(String, u64)>,
    /// Counts by cloud.
    pub by_cloud: Vec<(String, u64)>,
    /// Counts by service.
    pub by_service: Vec<(String, u64)>,
    /// Per environment: successes and failures.
    pub finished: Vec<(String, u64, u64)>,
    /// Per environment: the lead times (created → last event) of successful deployments, in
    /// seconds.
    pub lead_times: Vec<(String, f64)>,
    /// Policies with the deployments they held or blocked, and how many of those they blocked,
    /// most first (at most `top` of them).
    pub policies: Vec<(String, u64, u64)>,
}
