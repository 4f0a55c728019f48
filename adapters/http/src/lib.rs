//! `gatehouse-http`: the Gatehouse control plane over HTTP. The control plane itself (lifecycle
//! rules, the ledger and its stores, the outbox and executors, signals) is `gatehouse-control`;
//! this crate is its transport: routing, body limits, token authentication, problem JSON, the
//! OpenAPI document, metrics and the browser UI. `gatehouse serve` runs it; [`app`] builds the
//! router for tests and embedding.

pub mod api;
pub mod auth;
pub mod body;
pub mod budget;
mod conditional;
pub mod config;
pub mod encode;
pub mod metrics;
mod openapi;
pub mod problem;
mod refusal;
pub mod server;
mod state;
pub mod ui;

pub use config::Config;
pub use openapi::openapi_json;
pub use problem::Problem;
pub use server::{ServeError, Server, app};
pub use state::App;
