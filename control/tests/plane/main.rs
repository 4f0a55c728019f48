//! The control plane's operations with no server: lifecycle rules through submit, approve,
//! cancel and reports, the dispatcher over a store that fails, and two servers on one database under concurrent
//! writers; on SQLite, or on PostgreSQL with `GATEHOUSE_TEST_DATABASE_URL`.
#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "test helpers outside `#[test]` functions should stop the test at the first failure"
)]

mod support;

mod decisions;
mod dispatcher;
mod lifecycle;
mod servers;
