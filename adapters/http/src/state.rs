//! What the handlers share: the control plane, who the callers are, the metrics it reports to,
//! and the transport's configuration.

use std::sync::Arc;

use gatehouse_control::ControlPlane;

use crate::auth::Authenticator;
use crate::config::Config;
use crate::metrics::Metrics;

/// The handlers' state.
pub struct App {
    pub(crate) plane: Arc<ControlPlane>,
    pub(crate) auth: Authenticator,
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) config: Config,
}

impl App {
    /// The state of a router over `plane`, configured by `config`; `metrics` is the observer
    /// `plane` reports to.
    pub fn new(config: Config, plane: Arc<ControlPlane>, metrics: Arc<Metrics>) -> Self {
        Self {
            auth: Authenticator::new(&config.tokens, config.anonymous_read),
            plane,
            metrics,
            config,
        }
    }

    /// The control plane.
    pub fn plane(&self) -> &Arc<ControlPlane> {
        &self.plane
    }
}
