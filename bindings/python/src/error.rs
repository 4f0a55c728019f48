//! The one mapping of core errors to Python exceptions. The classes live in `gatehouse.errors`
//! (pure Python, so they can carry methods under the stable ABI); each is raised with a message
//! and the contract's error records `{code, message, help?, policy?, path?, span?}`.

use gatehouse_core::{
    BundleError, ChainError, Diagnostic, DirLoadError, ErrorDetail, IntentError, KeyError,
    PackedBundleError, RequestError, TimestampError, TransitionError,
};
use std::panic::{AssertUnwindSafe, catch_unwind};

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyModule;

use crate::output;

/// Code of an event record that does not match the event format (as `gatehouse events verify`).
pub const EVENT_INVALID: &str = "event_invalid";
/// Code of a deployment status or state name that does not match its format.
pub const STATUS_INVALID: &str = "status_invalid";
/// Code of an event time that is not an RFC 3339 timestamp.
const TIMESTAMP_INVALID: &str = "timestamp_invalid";
/// Code of an engine setting (`split`, `cache_size`, `time_limit`) out of its range.
const SETTING_INVALID: &str = "setting_invalid";
/// Code of a bug: a panic in the native module.
const INTERNAL: &str = "internal";
/// Code of a bug: an answer that could not be written as JSON (as the HTTP server's).
const UNSERIALIZABLE_ANSWER: &str = "unserializable_answer";

/// The exception classes of `gatehouse.errors`.
#[derive(Debug, Clone, Copy)]
pub enum Class {
    /// `BundleError`: the bundle does not load.
    Bundle,
    /// `BundleSignatureError`: trusted keys are given and the bundle's signature does not hold.
    BundleSignature,
    /// `IntentError`: intent text that is not JSON or YAML.
    Intent,
    /// `ContextError`: `now`, `history`, `evidence` or `approvals` do not match their format.
    Context,
    /// `LifecycleError`: event or status records that do not match their format.
    Lifecycle,
    /// `ChainError`: a broken hash chain.
    Chain,
    /// `IllegalTransitionError`: an event the deployment's state does not accept.
    Transition,
    /// `SettingError`: an engine setting out of its range.
    Setting,
    /// `InternalError`: a bug in the native module (a panic).
    Internal,
}

impl Class {
    fn name(self) -> &'static str {
        match self {
            Self::Bundle => "BundleError",
            Self::BundleSignature => "BundleSignatureError",
            Self::Intent => "IntentError",
            Self::Context => "ContextError",
            Self::Lifecycle => "LifecycleError",
            Self::Chain => "ChainError",
            Self::Transition => "IllegalTransitionError",
            Self::Setting => "SettingError",
            Self::Internal => "InternalError",
        }
    }
}

static ERRORS_MODULE: PyOnceLock<Py<PyModule>> = PyOnceLock::new();

/// Builds an exception of `class` with its message and records.
pub fn raise(py: Python<'_>, class: Class, message: String, details: &[ErrorDetail]) -> PyErr {
    let build = || -> PyResult<PyErr> {
        let module = ERRORS_MODULE.get_or_try_init(py, || {
            PyModule::import(py, "gatehouse.errors").map(Bound::unbind)
        })?;
        let records = serde_json::to_value(details)
            .map_err(|e| PyValueError::new_err(format!("cannot convert error records: {e}")))?;
        let records = output::to_python(py, &records)?;
        let exception = module
            .bind(py)
            .getattr(class.name())?
            .call1((message, records))?;
        Ok(PyErr::from_value(exception))
    };
    build().unwrap_or_else(|e| e)
}

/// A bundle that does not load.
pub fn bundle(py: Python<'_>, error: &BundleError) -> PyErr {
    raise(py, Class::Bundle, error.to_string(), &error.details())
}

/// A bundle directory that cannot be read or does not load (the files it names are under the
/// directory). The message is the cause's, as for [`bundle`].
/// A refused signature is a `BundleSignatureError`; its message names the directory and the
/// file.
pub fn dir(py: Python<'_>, error: &DirLoadError) -> PyErr {
    let (class, message) = match error {
        DirLoadError::Invalid { source, .. } => (Class::Bundle, source.to_string()),
        DirLoadError::Signature { .. } => (Class::BundleSignature, error.to_string()),
        other => (Class::Bundle, other.to_string()),
    };
    raise(py, class, message, &error.details())
}

/// A trusted key (`trusted_keys[index]`) that is not an ed25519 public key in PEM.
pub fn key(py: Python<'_>, index: usize, error: &KeyError) -> PyErr {
    let path = format!("trusted_keys[{index}]");
    let details: Vec<ErrorDetail> = error
        .details()
        .into_iter()
        .map(|mut d| {
            d.path = Some(path.clone());
            d
        })
        .collect();
    raise(py, Class::Bundle, format!("`{path}`: {error}"), &details)
}

/// A packed bundle document that cannot be used (not a document, wrong digest or manifest, or
/// files that do not form a bundle); a refused signature is a `BundleSignatureError`.
pub fn packed(py: Python<'_>, error: &PackedBundleError) -> PyErr {
    let class = match error {
        PackedBundleError::Signature(_) => Class::BundleSignature,
        _ => Class::Bundle,
    };
    raise(py, class, error.to_string(), &error.details())
}

/// Intent text that cannot be read.
pub fn intent(py: Python<'_>, error: &IntentError) -> PyErr {
    raise(py, Class::Intent, error.to_string(), &error.details())
}

/// An evaluation request that cannot be evaluated: its context does not match its format (the
/// intent and the stage are checked before the request is made).
pub fn request(py: Python<'_>, error: &RequestError) -> PyErr {
    let class = match error {
        RequestError::Unwritable { .. } => Class::Internal,
        _ => Class::Context,
    };
    raise(py, class, error.to_string(), &error.details())
}

/// A broken chain; an intact chain with an illegal transition is an `IllegalTransitionError`.
pub fn chain(py: Python<'_>, error: &ChainError) -> PyErr {
    let class = match error {
        ChainError::Transition { .. } => Class::Transition,
        _ => Class::Chain,
    };
    let detail = ErrorDetail::new(error.code(), error.to_string());
    raise(py, class, error.to_string(), &[detail])
}

/// An event that the deployment's state does not accept; an event after the last sequence
/// number is a `LifecycleError` (`event_sequence_exhausted`).
pub fn transition(py: Python<'_>, error: &TransitionError) -> PyErr {
    let detail = ErrorDetail::new(error.code(), error.to_string());
    let class = match error {
        TransitionError::SequenceExhausted { .. } => Class::Lifecycle,
        _ => Class::Transition,
    };
    raise(py, class, error.to_string(), &[detail])
}

/// A lifecycle record (event, status, state or event type) that does not match its format.
pub fn record(py: Python<'_>, code: &str, message: String) -> PyErr {
    let detail = ErrorDetail::new(code, message.clone());
    raise(py, Class::Lifecycle, message, &[detail])
}

/// An event time that is not an RFC 3339 timestamp.
pub fn timestamp(py: Python<'_>, error: &TimestampError) -> PyErr {
    let detail = ErrorDetail::new(TIMESTAMP_INVALID, error.to_string()).with_help(
        "give a timezone-aware `datetime` or an RFC 3339 text such as `2026-11-23T12:00:00Z`",
    );
    raise(py, Class::Lifecycle, error.to_string(), &[detail])
}

/// An engine setting out of its range: `name` is the setting, `help` what it means.
pub fn setting(py: Python<'_>, name: &str, message: String, help: &str) -> PyErr {
    let mut detail = ErrorDetail::new(SETTING_INVALID, message.clone()).with_help(help);
    detail.path = Some(name.to_owned());
    raise(py, Class::Setting, message, &[detail])
}

/// A value given to a call that JSON cannot hold, or nested too deep: an `IntentError`,
/// `ContextError` or `LifecycleError` after the argument `what` names, with its code.
pub fn value(py: Python<'_>, what: &str, too_deep: bool, message: String, help: &str) -> PyErr {
    let (class, code) = match (what, too_deep) {
        ("intent", false) => (Class::Intent, "intent_value"),
        ("intent", true) => (Class::Intent, "intent_too_deep"),
        ("context", _) => (Class::Context, "context_invalid"),
        ("status", _) => (Class::Lifecycle, STATUS_INVALID),
        _ => (Class::Lifecycle, EVENT_INVALID),
    };
    let detail = ErrorDetail::new(code, message.clone()).with_help(help);
    raise(py, class, message, &[detail])
}

/// The `what` a call answers could not be written as JSON: a bug, raised as an `InternalError`,
/// never an empty answer.
pub fn unwritable(py: Python<'_>, what: &str, error: &serde_json::Error) -> PyErr {
    let message = format!("the {what} could not be written as JSON: {error}");
    let detail = ErrorDetail::new(UNSERIALIZABLE_ANSWER, message.clone()).with_help(
        "this is a bug in gatehouse, not in your input: please report it with the call that raised it",
    );
    raise(py, Class::Internal, message, &[detail])
}

/// Runs `call`; a panic in it (a bug) becomes an `InternalError`, a `GatehouseError`, instead of
/// pyo3's `PanicException`, a `BaseException` that `except Exception` does not catch.
pub fn guard<T>(py: Python<'_>, call: impl FnOnce() -> PyResult<T>) -> PyResult<T> {
    catch_unwind(AssertUnwindSafe(call)).unwrap_or_else(|payload| {
        let cause = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "no message".to_owned());
        let message = format!("internal error in gatehouse: {cause}");
        let detail = ErrorDetail::new(INTERNAL, message.clone()).with_help(
            "this is a bug in gatehouse, not in your input: please report it with the call that raised it",
        );
        Err(raise(py, Class::Internal, message, &[detail]))
    })
}
