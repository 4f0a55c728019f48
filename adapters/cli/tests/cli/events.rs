//! `gatehouse events verify`: interleaved chains verify; an altered event or a line that is not
//! an event is reported.

use std::path::Path;

use gatehouse_core::{DeploymentStatus, Event, EventType, NewEvent, Timestamp};
use serde_json::json;
use tempfile::TempDir;

use crate::support::{Output, assert_code, gatehouse, run};

fn at(text: &str) -> Timestamp {
    text.parse().expect("a timestamp")
}

/// requested → validated → started → succeeded.
fn chain(id: &str, start: &str) -> Vec<Event> {
    let (mut status, first) = DeploymentStatus::start(
        id,
        at(start),
        "alice@example.com",
        json!({"service": "payments-api", "outcome": "allow"}),
    );
    let mut events = vec![first];
    for kind in [
        EventType::Validated,
        EventType::Started,
        EventType::Succeeded,
    ] {
        let (next, event) = status
            .append(NewEvent {
                kind,
                at: at(start),
                actor: "pipeline".to_owned(),
                data: json!({"step": kind.as_str()}),
            })
            .expect("a legal transition");
        status = next;
        events.push(event);
    }
    events
}

/// Two chains, their events interleaved: d-1 #1, d-2 #1, d-1 #2, d-2 #2, ...
fn interleaved() -> Vec<Event> {
    let one = chain("d-1", "2026-11-23T10:00:00Z");
    let two = chain("d-2", "2026-11-23T11:00:00Z");
    one.into_iter().zip(two).flat_map(|(a, b)| [a, b]).collect()
}

fn jsonl(events: &[Event]) -> String {
    events
        .iter()
        .map(|e| serde_json::to_string(e).expect("an event as JSON") + "\n")
        .collect()
}

fn verify(text: &str) -> (TempDir, Output) {
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let file = tmp.path().join("events.jsonl");
    std::fs::write(&file, text).expect("write the events");
    let out = verify_file(&file);
    (tmp, out)
}

fn verify_file(file: &Path) -> Output {
    run(gatehouse().args(["events", "verify"]).arg(file))
}

#[test]
fn interleaved_valid_chains_verify() {
    let events = interleaved();
    let (_tmp, out) = verify(&jsonl(&events));
    assert_code(&out, 0);
    assert_eq!(out.stderr, "");
    for id in ["d-1", "d-2"] {
        let head = events
            .iter()
            .rfind(|e| e.deployment_id == id)
            .map(|e| e.hash.as_str())
            .expect("a last event");
        let line = format!("ok      {id}: 4 events, state SUCCESS, head {head}");
        assert!(
            out.stdout.lines().any(|l| l == line),
            "want `{line}`\n{out}"
        );
    }
    assert!(
        out.stdout.ends_with("2 chains: 2 verified, 0 broken\n"),
        "{out}"
    );
}

#[test]
fn an_altered_actor_breaks_its_chain() {
    let mut events = interleaved();
    let victim = events
        .iter_mut()
        .find(|e| e.deployment_id == "d-2" && e.seq == 2)
        .expect("d-2 has a second event");
    victim.actor = "mallory@example.com".to_owned();
    let (_tmp, out) = verify(&jsonl(&events));
    assert_code(&out, 1);
    assert!(out.stdout.contains("ok      d-1: 4 events"), "{out}");
    assert!(
        out.stdout
            .lines()
            .any(|l| l.starts_with("BROKEN  d-2: [chain_hash] ")
                && l.contains("seq 2 (position 2 in the chain)")
                && l.contains("altered")),
        "{out}"
    );
    assert!(
        out.stdout.ends_with("2 chains: 1 verified, 1 broken\n"),
        "{out}"
    );
}

#[test]
fn a_line_that_is_not_an_event_exits_2() {
    let mut text = jsonl(&interleaved());
    text.push_str("this is not json\n");
    let (_tmp, out) = verify(&text);
    assert_code(&out, 2);
    assert_eq!(out.stdout, "");
    assert!(out.stderr.contains("line 9: not an event"), "{out}");
    assert!(out.stderr.contains("[event_invalid]"), "{out}");
}

#[test]
fn an_empty_or_missing_file_exits_2() {
    let (_tmp, out) = verify("\n");
    assert_code(&out, 2);
    assert!(out.stderr.contains("holds no events"), "{out}");

    let out = verify_file(Path::new("no-such-events.jsonl"));
    assert_code(&out, 2);
    assert!(
        out.stderr.contains("cannot read `no-such-events.jsonl`"),
        "{out}"
    );
}
