//! Any bytes as a JSON Lines event log: decoding, `verify_chain` and `replay` never panic; a
//! chain that replays also verifies; a chain that verifies still verifies after a JSON round
//! trip, and stops verifying when one stored field is changed.
#![no_main]

use gatehouse_core::{Event, replay, verify_chain};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut events: Vec<Event> = text
        .lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect();
    let replayed = replay(&events);
    let verified = verify_chain(&events);
    if replayed.is_ok() {
        assert!(verified.is_ok());
    }
    if verified.is_err() {
        return;
    }
    let round_trip: Vec<Event> = events
        .iter()
        .map(|e| {
            let line = serde_json::to_string(e).expect("events serialise");
            serde_json::from_str(&line).expect("a serialised event decodes")
        })
        .collect();
    assert_eq!(round_trip, events);
    assert!(verify_chain(&round_trip).is_ok());
    // Tamper with one event, chosen by the input, and expect the chain to break.
    let index = data.len() % events.len();
    if let Some(event) = events.get_mut(index) {
        event.actor.push('!');
    }
    assert!(verify_chain(&events).is_err(), "tampering went unnoticed");
});
