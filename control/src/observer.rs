//! What the control plane reports as it works (decisions, dispatches, callbacks), for a
//! transport to turn into metrics. Every method has an empty default.

use std::time::Duration;

use gatehouse_core::{Decision, Stage};

use crate::requests::CallbackStatus;

/// Receives the control plane's events.
pub trait Observer: Send + Sync + 'static {
    /// A decision was made at `stage` in `took`.
    fn decision(&self, stage: Stage, decision: &Decision, took: Duration) {
        let _ = (stage, decision, took);
    }
    /// A decision was looked up in the decision cache: served from it (`hit`) or evaluated.
    fn decision_cache(&self, stage: Stage, hit: bool) {
        let _ = (stage, hit);
    }
    /// An executor delivered a dispatch.
    fn dispatched(&self, executor: &str) {
        let _ = executor;
    }
    /// A dispatch attempt failed.
    fn dispatch_failed(&self, executor: &str) {
        let _ = executor;
    }
    /// A pipeline report was recorded.
    fn callback(&self, status: CallbackStatus) {
        let _ = status;
    }
}

/// An observer that ignores everything.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoObserver;

impl Observer for NoObserver {}
