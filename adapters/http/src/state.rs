//! What the handlers share: the control plane, who the callers are, the metrics it reports to,
//! the budget of request bodies in flight, and the transport's configuration.

use std::net::IpAddr;
use std::sync::Arc;

use gatehouse_control::ControlPlane;

use crate::auth::Authenticator;
use crate::budget::BodyBudget;
use crate::config::Config;
use crate::metrics::Metrics;

/// The handlers' state.
pub struct App {
    pub(crate) plane: Arc<ControlPlane>,
    pub(crate) auth: Authenticator,
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) config: Config,
    pub(crate) bodies: Arc<BodyBudget>,
}

/// The address a request's connection comes from (the server puts it in each request's
/// extensions; a router driven without the server has none).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

impl App {
    /// The state of a router over `plane`, configured by `config`; `metrics` is the observer
    /// `plane` reports to.
    pub fn new(config: Config, plane: Arc<ControlPlane>, metrics: Arc<Metrics>) -> Self {
        Self {
            auth: Authenticator::new(&config.tokens, config.anonymous_read),
            bodies: Arc::new(BodyBudget::new(&config.limits)),
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
