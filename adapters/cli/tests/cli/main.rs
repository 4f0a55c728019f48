//! Integration tests of the `gatehouse` binary: each test runs the real executable from the
//! workspace root and checks its exit code, stdout and stderr. One test binary holds every
//! module, so the CLI and the reference bundle are built and loaded once.
#![expect(
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers outside `#[test]` functions should stop the test at the first failure"
)]

mod action;
mod approvals;
mod attest;
mod check;
mod commands;
mod conformance;
mod diff;
mod events;
mod fake_github;
mod github;
mod help;
mod human;
mod install;
mod limits;
mod reviews;
mod signing;
mod smoke;
mod support;
mod workflow_commands;
