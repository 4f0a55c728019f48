//! `gatehouse-http`: the Gatehouse control plane. It takes deployment intents over HTTP, judges
//! them with the core engine, records every lifecycle transition as a hash-chained event in
//! SQLite, triggers the pipeline that does the work (GitHub dispatch, webhook, GitOps commit) and
//! accepts the pipeline's signed reports. `gatehouse serve` runs it; [`app`] builds the router
//! for tests and embedding.

pub mod api;
pub mod auth;
pub mod body;
pub mod config;
pub mod control;
pub mod dispatcher;
pub mod executor;
pub mod metrics;
mod openapi;
pub mod problem;
pub mod server;
pub mod signals;
pub mod sqlite;
pub mod store;
pub mod ui;

pub use config::Config;
pub use control::ControlPlane;
pub use openapi::openapi_json;
pub use problem::Problem;
pub use server::{ServeError, Server, app};
