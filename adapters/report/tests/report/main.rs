//! Tests of the GitHub renderers on the reference bundle's example intents: snapshots of each
//! renderer, annotation positions checked against the YAML and JSON sources, and every SARIF log
//! validated against the official SARIF 2.1.0 schema. One test binary, so the bundle loads once.
#![expect(
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers outside `#[test]` functions should stop the test at the first failure"
)]

mod format;
mod positions;
mod renderers;
mod sarif_schema;
mod support;
