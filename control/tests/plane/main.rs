//! The control plane's operations with no server: lifecycle rules through submit, approve,
//! cancel and reports on a SQLite store, and the dispatcher over a store that fails.
#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "test helpers outside `#[test]` functions should stop the test at the first failure"
)]

mod support;

mod dispatcher;
mod lifecycle;
