//! How a store fails: [`StoreError`], naming the backend ([`Backend`]) and the operation a
//! driver's error interrupted.

use gatehouse_core::{Timestamp, TransitionError};

use crate::replay::StoredResponse;

/// A boxed error from a database driver.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Which database a store writes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// An SQLite file.
    Sqlite,
    /// A PostgreSQL database.
    Postgres,
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Sqlite => "SQLite",
            Self::Postgres => "PostgreSQL",
        })
    }
}

/// A storage failure.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// No such deployment.
    #[error("no deployment `{deployment_id}`")]
    NotFound {
        /// The deployment.
        deployment_id: String,
    },
    /// The deployment changed since the caller read it (compare-and-swap on the last hash).
    #[error("deployment `{deployment_id}` changed: its current ETag is \"{current}\"")]
    Conflict {
        /// The deployment.
        deployment_id: String,
        /// Its last event hash now.
        current: String,
    },
    /// The operation's deadline passed before it committed: it was rolled back, nothing is
    /// stored.
    #[error("the operation ran past its deadline and was rolled back")]
    DeadlineExceeded,
    /// A cancel found the deployment's pending outbox entry leased: its delivery may be in
    /// flight, so nothing was changed.
    #[error(
        "deployment `{deployment_id}`: its outbox entry is leased for delivery until {lease_until}"
    )]
    DispatchInFlight {
        /// The deployment.
        deployment_id: String,
        /// When the lease ends.
        lease_until: Timestamp,
    },
    /// The callback delivery was already recorded for this deployment: its stored response.
    #[error("delivery `{delivery_id}` was already recorded for deployment `{deployment_id}`")]
    DeliveryExists {
        /// The deployment.
        deployment_id: String,
        /// The delivery id.
        delivery_id: String,
        /// What was answered then.
        stored: StoredResponse,
    },
    /// The database cannot be reached or is busy: the operation did not happen; retrying later
    /// may succeed.
    #[error("{backend} database unavailable while trying to {operation}: {}", chain(source.as_ref()))]
    Unavailable {
        /// The database.
        backend: Backend,
        /// What the store was doing, e.g. `append events`.
        operation: &'static str,
        /// The driver's error.
        #[source]
        source: BoxError,
    },
    /// The database cannot be reached at start (wrong URL, server down, wrong credentials).
    #[error(
        "cannot connect: {}; check that the database server runs and that the URL's host, port, user, password and database name are right",
        chain(source.as_ref())
    )]
    Connect {
        /// The database, without its password.
        location: String,
        /// The driver's error.
        #[source]
        source: BoxError,
    },
    /// The database refused or failed a statement.
    #[error("{backend} database failed to {operation}: {}", chain(source.as_ref()))]
    Query {
        /// The database.
        backend: Backend,
        /// What the store was doing.
        operation: &'static str,
        /// The driver's error.
        #[source]
        source: BoxError,
    },
    /// A stored value cannot be read back.
    #[error("stored {what} is corrupt: {detail}")]
    Corrupt {
        /// What was being read, e.g. `event time`.
        what: &'static str,
        /// Why it cannot be read.
        detail: String,
    },
    /// A value to store cannot be written as JSON (a bug in the caller): nothing was stored.
    #[error("cannot write {what} as JSON: {detail}")]
    Unwritable {
        /// What was being written, e.g. `masked paths`.
        what: &'static str,
        /// Why it cannot be written.
        detail: String,
    },
    /// The database was written by a newer gatehouse.
    #[error(
        "{location} has schema version {found} but this gatehouse knows only up to {known}: it was written by a newer gatehouse; run that version (or newer), or restore a backup taken before the upgrade"
    )]
    NewerSchema {
        /// The database.
        location: String,
        /// Its schema version.
        found: i64,
        /// The newest version this build knows.
        known: i64,
    },
    /// A migration failed (it was rolled back; the database keeps its previous version).
    #[error(
        "{location}: migration to schema version {version} failed (rolled back): {}",
        chain(source.as_ref())
    )]
    Migration {
        /// The database.
        location: String,
        /// The version being applied.
        version: i64,
        /// The driver's error.
        #[source]
        source: BoxError,
    },
    /// An event does not follow from the deployment's state (a bug in the caller).
    #[error("deployment `{deployment_id}`: refused event: {source}")]
    RefusedEvent {
        /// The deployment.
        deployment_id: String,
        /// The transition that is not allowed.
        #[source]
        source: TransitionError,
    },
}

/// An error and its causes, `outer: inner: innermost` (drivers keep the server's message in a
/// cause: tokio-postgres says `db error`, its cause says what the server refused).
pub fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(e) = cause {
        let next = e.to_string();
        if !text.ends_with(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        cause = e.source();
    }
    text
}

impl StoreError {
    /// Whether the database could not be reached or was busy (retrying later may succeed).
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::Unavailable { .. } | Self::Connect { .. })
    }

    /// `value` as JSON text for the column `what`, or [`StoreError::Unwritable`].
    pub(crate) fn json_text<T: serde::Serialize + ?Sized>(
        what: &'static str,
        value: &T,
    ) -> Result<String, Self> {
        serde_json::to_string(value).map_err(|e| Self::Unwritable {
            what,
            detail: e.to_string(),
        })
    }

    pub(crate) fn corrupt(what: &'static str, detail: impl std::fmt::Display) -> Self {
        Self::Corrupt {
            what,
            detail: detail.to_string(),
        }
    }
}
