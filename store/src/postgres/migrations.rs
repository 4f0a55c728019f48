//! The PostgreSQL schema as numbered migrations, tracked in `gatehouse_migrations`. Each is
//! applied in its own transaction under an advisory lock, so replicas starting at the same
//! moment apply it once; a database migrated by a newer gatehouse is refused.

use tokio_postgres::Client;

use super::{Fault, finish};
use crate::error::StoreError;

/// The migrations, in order: `(name, SQL)`.
const MIGRATIONS: [(&str, &str); 4] = [
    ("initial", include_str!("migrations/0001_initial.sql")),
    (
        "decision log",
        include_str!("migrations/0002_decision_log.sql"),
    ),
    (
        "decision log server stamp",
        include_str!("migrations/0003_decision_log_server_stamp.sql"),
    ),
    (
        "attestations",
        include_str!("migrations/0004_attestations.sql"),
    ),
];

/// The newest schema version this build knows.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// The advisory lock migrations hold (an arbitrary constant: "gatehouse" in ASCII).
const MIGRATION_LOCK: i64 = 0x6761_7465_686f_7573;

/// Applies the migrations the database lacks; returns the version found before.
pub(super) async fn migrate(client: &mut Client, location: &str) -> Result<i64, StoreError> {
    let setup = async {
        let tx = client.transaction().await?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
            .await?;
        tx.batch_execute(
            "CREATE TABLE IF NOT EXISTS gatehouse_migrations (\
                 version INTEGER PRIMARY KEY, \
                 name TEXT NOT NULL, \
                 applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
        )
        .await?;
        tx.commit().await?;
        Ok::<(), Fault>(())
    };
    setup
        .await
        .map_err(|e| finish("create the migrations table", e))?;
    let mut found = None;
    for (index, (name, sql)) in MIGRATIONS.iter().enumerate() {
        let target = index as i64 + 1;
        let tx = client
            .transaction()
            .await
            .map_err(|e| finish("begin a migration", e.into()))?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
            .await
            .map_err(|e| finish("lock the migrations", e.into()))?;
        let version: i64 = tx
            .query_one(
                "SELECT COALESCE(MAX(version), 0)::BIGINT FROM gatehouse_migrations",
                &[],
            )
            .await
            .and_then(|row| row.try_get(0))
            .map_err(|e| finish("read the schema version", e.into()))?;
        found.get_or_insert(version);
        if version > SCHEMA_VERSION {
            return Err(StoreError::NewerSchema {
                location: location.to_owned(),
                found: version,
                known: SCHEMA_VERSION,
            });
        }
        if version >= target {
            continue;
        }
        let applied = async {
            tx.batch_execute(sql).await?;
            tx.execute(
                "INSERT INTO gatehouse_migrations (version, name) VALUES ($1, $2)",
                &[&i32::try_from(target).unwrap_or(i32::MAX), name],
            )
            .await?;
            tx.commit().await
        };
        applied.await.map_err(|e| StoreError::Migration {
            location: location.to_owned(),
            version: target,
            source: Box::new(e),
        })?;
    }
    Ok(found.unwrap_or(SCHEMA_VERSION))
}
