//! The SQLite schema as numbered migrations, applied in order when the file is opened, each in
//! its own immediate transaction and tracked by `PRAGMA user_version`: a database written by an
//! older gatehouse is brought up to date and keeps its rows; one written by a newer gatehouse is
//! refused.

use std::path::Path;

use rusqlite::{Connection, TransactionBehavior};

use super::{Fault, finish};
use crate::error::StoreError;

/// The migrations, in order: the database's `user_version` is how many have been applied.
pub(super) const MIGRATIONS: [&str; 7] = [
    include_str!("migrations/0001_initial.sql"),
    include_str!("migrations/0002_leases_and_summaries.sql"),
    include_str!("migrations/0003_replay_bodies_only.sql"),
    include_str!("migrations/0004_replicas.sql"),
    include_str!("migrations/0005_decision_log.sql"),
    include_str!("migrations/0006_decision_log_server_stamp.sql"),
    include_str!("migrations/0007_attestations.sql"),
];

/// The newest schema version this build knows.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Applies the migrations `conn` lacks; returns the version found before.
pub(super) fn migrate(conn: &mut Connection, path: &Path) -> Result<i64, StoreError> {
    let location = path.display().to_string();
    let mut found = None;
    for (index, step) in MIGRATIONS.iter().enumerate() {
        let target = index as i64 + 1;
        // One immediate transaction per step: another server opening the same file at the
        // same moment waits, then finds the step applied.
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| finish("begin a migration", Fault::Sql(e)))?;
        let version: i64 = tx
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| finish("read the schema version", Fault::Sql(e)))?;
        found.get_or_insert(version);
        if version > SCHEMA_VERSION {
            return Err(StoreError::NewerSchema {
                location,
                found: version,
                known: SCHEMA_VERSION,
            });
        }
        if version >= target {
            continue;
        }
        tx.execute_batch(step)
            .and_then(|()| tx.execute_batch(&format!("PRAGMA user_version = {target}")))
            .and_then(|()| tx.commit())
            .map_err(|e| StoreError::Migration {
                location: location.clone(),
                version: target,
                source: Box::new(e),
            })?;
    }
    Ok(found.unwrap_or(SCHEMA_VERSION))
}
