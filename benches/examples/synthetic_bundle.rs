//! Writes a synthetic bundle of N policies (the one the `policies/N` benchmark evaluates) to a
//! directory, with `intents.json` (`no_violation`, `one_violation`), for `scripts/bench_opa.py`.
//!
//! Usage: cargo run --release -p gatehouse-benches --example synthetic_bundle -- N DIR
#![expect(
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "a fixture writer with bad arguments should stop at once"
)]

use std::path::PathBuf;

use gatehouse_benches::{intent_with_resources, synthetic_bundle};
use serde_json::{Value, json};

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args
        .next()
        .and_then(|a| a.parse().ok())
        .expect("usage: synthetic_bundle N DIR");
    let dir = PathBuf::from(args.next().expect("usage: synthetic_bundle N DIR"));
    for (path, content) in &synthetic_bundle(n).files {
        let file = dir.join(path);
        std::fs::create_dir_all(file.parent().expect("a file has a parent")).expect("mkdir");
        std::fs::write(file, content).expect("write");
    }
    let quiet: Value = serde_json::from_str(&intent_with_resources(10)).expect("JSON");
    let mut firing = quiet.clone();
    firing["spec"]["service"] = json!("synthetic-fire");
    let intents = json!({"no_violation": quiet, "one_violation": firing});
    std::fs::write(
        dir.join("intents.json"),
        serde_json::to_string_pretty(&intents).expect("JSON"),
    )
    .expect("write");
}
