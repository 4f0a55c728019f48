//! Integration tests: the real server on loopback, driven over HTTP; a local receiver stands in
//! for GitHub's dispatch API and webhook endpoints.
#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "test helpers outside `#[test]` functions should stop the test at the first failure"
)]

mod harness;

mod approvals;
mod attestations;
mod auth;
mod boundaries;
mod callbacks;
mod conformance;
mod connections;
mod decisions;
mod dispatch;
mod hardening;
mod inputs;
mod lifecycle;
mod limits;
mod operations;
mod reload_limits;
mod replicas;
mod signing;
mod ui;
