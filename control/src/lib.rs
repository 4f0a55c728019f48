//! `gatehouse-control`: the Gatehouse control plane without a transport. It takes deployment
//! intents, judges them with the core engine, records every lifecycle transition as a
//! hash-chained event in its store (`gatehouse-store`), triggers the pipeline that does the work
//! (GitHub dispatch, webhook, GitOps commit) through an outbox, and accepts the pipeline's signed
//! reports.
//!
//! - [`ControlPlane`]: the operations (submit, approve, cancel, callback, reads), each returning
//!   a typed [`ControlError`]; its state is private.
//! - [`gatehouse_store::Store`]: the async storage trait and the records it keeps, in its own
//!   crate with the SQLite and PostgreSQL backends; this crate decides what to write and has no
//!   database driver. Several servers share one PostgreSQL database ([`replicas`]).
//! - [`decision_log`]: every evaluation's id, and with the log on its record.
//! - [`workers`]: the outbox dispatcher ([`executor::Executor`]), the retention purge and the
//!   replica heartbeat.
//! - [`rules`]: the lifecycle rules (ETags, who may approve or cancel, which report a state
//!   takes) as plain functions.
//!
//! `gatehouse-http` puts it behind HTTP; nothing here knows HTTP.

pub mod access;
pub mod attestations;
pub mod bundle;
pub mod clock;
pub mod config;
pub mod decision_log;
pub mod deployment;
mod dispatcher;
pub mod error;
pub mod error_code;
pub mod evaluation;
pub mod executor;
pub mod observer;
mod plane;
pub mod replicas;
pub mod requests;
pub mod rules;
pub mod signals;
pub mod signature;
pub mod workers;

pub use access::{Permission, PermissionDenied, Principal, Role};
pub use bundle::{LoadedBundle, load_bundle};
pub use clock::{Clock, system_clock};
pub use config::{ControlConfig, ControlSettings};
pub use error::ControlError;
pub use error_code::ControlErrorCode;
pub use plane::{
    CallbackAnswer, CallbackReply, ControlPlane, Evaluation, RecordedEvent, Replay, Submitted,
    VerifiedDelivery,
};
