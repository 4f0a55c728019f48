//! `gatehouse events verify`: checks every deployment's hash chain and transitions in a JSON Lines
//! event file.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;

use gatehouse_core::{ErrorDetail, Event, replay};

use crate::cli_error::CliError;

/// Exit 0 when every chain verifies, 1 when any link is broken, 2 when the file is unreadable.
pub fn verify(file: &Path) -> Result<ExitCode, CliError> {
    let text = std::fs::read_to_string(file).map_err(|source| CliError::Read {
        path: file.to_path_buf(),
        source,
    })?;
    let mut chains: BTreeMap<String, Vec<Event>> = BTreeMap::new();
    for (index, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let event: Event = serde_json::from_str(line).map_err(|e| CliError::Details {
            summary: format!("`{}` line {}: not an event", file.display(), index + 1),
            details: vec![ErrorDetail::new("event_invalid", e.to_string()).with_help(
                "each line is one event: {seq, deployment_id, type, at, actor, data, prev_hash, hash}",
            )],
        })?;
        chains
            .entry(event.deployment_id.clone())
            .or_default()
            .push(event);
    }
    if chains.is_empty() {
        return Err(CliError::Usage(format!(
            "`{}` holds no events",
            file.display()
        )));
    }
    let mut out = String::new();
    let mut broken = 0;
    for (id, events) in &chains {
        match replay(events) {
            Ok(status) => out.push_str(&format!(
                "ok      {id}: {} events, state {}, head {}\n",
                events.len(),
                status.state,
                status.last_hash
            )),
            Err(e) => {
                broken += 1;
                out.push_str(&format!("BROKEN  {id}: [{}] {e}\n", e.code()));
            }
        }
    }
    out.push_str(&format!(
        "{} chains: {} verified, {broken} broken\n",
        chains.len(),
        chains.len() - broken
    ));
    crate::write_stdout(&out);
    Ok(if broken == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
