//! Any bytes as a JSON Lines event log: decoding, `verify_chain` and `replay` never panic, and a
//! chain that replays is also one that verifies.
#![no_main]

use gatehouse_core::{Event, replay, verify_chain};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let events: Vec<Event> = text
        .lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect();
    if replay(&events).is_ok() {
        assert!(verify_chain(&events).is_ok());
    }
});
