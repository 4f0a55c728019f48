//! The policy bundle the control plane judges with: loaded from a directory by the core's loader
//! with the configured evaluation time limit and split, with its packed form for browser engines
//! that must judge previews with exactly the same bundle.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use gatehouse_core::{
    DirLoadError, DirOptions, Engine, EngineOptions, Limits, PackedBundle, TrustedKey, load_dir,
};

use crate::config::EvaluationLimits;

/// A loaded bundle: its engine and its packed document.
#[derive(Clone)]
pub struct LoadedBundle {
    /// The engine.
    pub engine: Arc<Engine>,
    /// The packed document.
    pub packed: Arc<PackedBundle>,
}

/// Loads the bundle at `dir` with the configured evaluation time limit, its packages spread
/// over `limits.split` parts; with `trusted_keys`, only a bundle one of them signed. Errors name
/// the files under `dir`.
pub fn load_bundle(
    dir: &Path,
    limits: &EvaluationLimits,
    trusted_keys: &[TrustedKey],
) -> Result<LoadedBundle, DirLoadError> {
    let options = DirOptions {
        engine: EngineOptions {
            limits: Limits {
                time_limit: Some(Duration::from_millis(limits.timeout_ms)),
            },
        },
        split: limits.split,
        overlay: std::collections::BTreeMap::new(),
        trusted_keys: trusted_keys.to_vec(),
    };
    let bundle = load_dir(dir, &options)?;
    Ok(LoadedBundle {
        packed: Arc::new(bundle.packed()),
        engine: Arc::new(bundle.engine),
    })
}
