//! Compile-only probe: `scripts/wasm-check.sh` builds this crate for
//! `wasm32-unknown-unknown` to prove that `gatehouse-core` compiles there.
//! It only re-exports the core; nothing here is shipped.

pub use gatehouse_core;
