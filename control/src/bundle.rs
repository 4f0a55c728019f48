//! The policy bundle the control plane judges with: loaded from a directory with the configured
//! evaluation time limit, with its packed form for browser engines that must judge previews
//! with exactly the same bundle.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use gatehouse_core::{BundleSource, Engine, EngineOptions, ErrorDetail, Limits, PackedBundle};

use crate::config::EvaluationLimits;

/// A bundle that cannot be loaded.
#[derive(Debug, thiserror::Error)]
#[error("policy bundle {dir}: {message}")]
pub struct BundleLoadError {
    /// The directory.
    pub dir: PathBuf,
    /// What is wrong.
    pub message: String,
    /// Each error, with its file and position.
    pub errors: Vec<ErrorDetail>,
}

/// A loaded bundle: its engine and its packed document.
#[derive(Clone)]
pub struct LoadedBundle {
    /// The engine.
    pub engine: Arc<Engine>,
    /// The packed document.
    pub packed: Arc<PackedBundle>,
}

/// Loads the bundle at `dir` with the configured evaluation time limit, its packages spread
/// over `limits.split` parts.
pub fn load_bundle(dir: &Path, limits: &EvaluationLimits) -> Result<LoadedBundle, BundleLoadError> {
    let fail = |message: String, errors| BundleLoadError {
        dir: dir.to_path_buf(),
        message,
        errors,
    };
    let source = BundleSource::from_dir(dir).map_err(|e| fail(e.to_string(), Vec::new()))?;
    let options = EngineOptions {
        limits: Limits {
            time_limit: Some(Duration::from_millis(limits.timeout_ms)),
        },
    };
    let engine = Engine::load_split(&source, options, limits.split).map_err(|e| {
        let errors = gatehouse_core::Diagnostic::details(&e);
        fail(e.to_string(), errors)
    })?;
    Ok(LoadedBundle {
        packed: Arc::new(source.packed(engine.info())),
        engine: Arc::new(engine),
    })
}
