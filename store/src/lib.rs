//! `gatehouse-store`: the Gatehouse control plane's durable state behind one async trait:
//! deployments (a projection of their events), the audit ledger of hash-chained events, the
//! dispatch outbox, idempotency keys and callback deliveries, the decision log, attestations and
//! the replicas' reports. [`sqlite::SqliteStore`] is the embedded implementation (one node);
//! [`postgres::PostgresStore`] lets several servers share one database. [`open`] opens either
//! and applies the schema migrations it lacks.
//!
//! Every write is one transaction: the events, the projection row, the outbox entry and the
//! idempotency or delivery record commit together or not at all, and a write whose deadline
//! passed before it could commit is rolled back ([`StoreError::DeadlineExceeded`]).
//!
//! The records it keeps are defined here ([`deployment`], [`decision_log`], [`outbox`],
//! [`attestations`], [`replicas`], [`audit`]); the control plane (`gatehouse-control`) decides
//! what to write, and nothing here knows its rules. Both backends read rows with one reader
//! over a small column-access trait (`rows`) and build the list filters once (`list`).

use std::sync::Arc;

use crate::config::{Database, PostgresConfig};

pub mod attestations;
pub mod audit;
pub mod config;
pub mod decision_log;
mod decode;
pub mod deployment;
mod error;
mod list;
pub mod outbox;
pub mod postgres;
mod replay;
pub mod replicas;
mod rows;
mod signals;
pub mod sqlite;
mod store;
#[cfg(any(test, feature = "test-support"))]
pub mod testing;
mod write;

pub use error::{Backend, BoxError, StoreError, chain};
pub use replay::{IdempotencyKey, StoredResponse};
pub use signals::SignalData;
pub use store::Store;
pub use write::{Append, DecisionUpdate, Purge, Purged, Submission, SubmitResult};

/// An opened store and the schema versions before and after its migrations.
pub struct Opened {
    /// The store.
    pub store: Arc<dyn Store>,
    /// The schema version found (0 for a new database).
    pub schema_before: i64,
    /// The schema version now.
    pub schema_now: i64,
}

/// Opens the store `database` names (creating an SQLite file if needed) and applies the schema
/// migrations it lacks; a database written by a newer gatehouse is refused.
pub async fn open(database: &Database, pool: &PostgresConfig) -> Result<Opened, StoreError> {
    Ok(match database {
        Database::Sqlite(path) => {
            let (store, before) = sqlite::SqliteStore::open_reporting(path).await?;
            Opened {
                store: Arc::new(store),
                schema_before: before,
                schema_now: sqlite::SCHEMA_VERSION,
            }
        }
        Database::Postgres(url) => {
            let (store, before) = postgres::PostgresStore::connect(url, pool).await?;
            Opened {
                store: Arc::new(store),
                schema_before: before,
                schema_now: postgres::SCHEMA_VERSION,
            }
        }
    })
}
