//! The stores opened from their configuration: a clear error for an unreachable server, the
//! migrations applied once, and a database migrated by a newer gatehouse refused. On SQLite, or
//! on PostgreSQL with `GATEHOUSE_TEST_DATABASE_URL` (a URL whose user may create databases; each
//! test makes a database of its own).
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "tests stop at the first failure"
)]

use std::path::Path;

use gatehouse_store::StoreError;
use gatehouse_store::config::{Database, PostgresConfig};

/// A fresh database: a file in `dir`, or a new database on the server of
/// `GATEHOUSE_TEST_DATABASE_URL`.
async fn fresh_database(dir: &Path) -> Database {
    let Some(admin) = std::env::var("GATEHOUSE_TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty())
    else {
        return Database::Sqlite(dir.join("gatehouse.db"));
    };
    let name = format!(
        "gh_store_{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    );
    let (client, connection) = tokio_postgres::connect(&admin, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap();
    let (base, _) = admin.rsplit_once('/').unwrap();
    Database::Postgres(format!("{base}/{name}"))
}

#[tokio::test]
async fn an_unreachable_database_is_a_clear_connect_error() {
    // Nothing listens on port 9 of the loopback address.
    let database = Database::parse("postgres://gatehouse:s3cret@127.0.0.1:9/gatehouse");
    let settings = PostgresConfig {
        connect_timeout_ms: 2_000,
        ..PostgresConfig::default()
    };
    let err = gatehouse_store::open(&database, &settings)
        .await
        .err()
        .unwrap();
    let StoreError::Connect { location, .. } = &err else {
        panic!("{err}")
    };
    assert_eq!(location, "postgres://gatehouse:***@127.0.0.1:9/gatehouse");
    let text = err.to_string();
    assert!(
        text.contains("Connection refused") && !text.contains("s3cret"),
        "{text}"
    );
    assert!(
        text.contains("check that the database server runs"),
        "{text}"
    );
}

#[tokio::test]
async fn a_database_migrated_by_a_newer_gatehouse_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let database = fresh_database(dir.path()).await;
    let settings = PostgresConfig::default();
    let opened = gatehouse_store::open(&database, &settings).await.unwrap();
    assert_eq!(opened.schema_before, 0);
    assert!(opened.schema_now > 0);
    drop(opened);
    // Opening again applies nothing.
    let again = gatehouse_store::open(&database, &settings).await.unwrap();
    assert_eq!(again.schema_before, again.schema_now);
    drop(again);
    match &database {
        Database::Sqlite(path) => rusqlite::Connection::open(path)
            .unwrap()
            .execute_batch("PRAGMA user_version = 99")
            .unwrap(),
        Database::Postgres(url) => {
            let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
                .await
                .unwrap();
            tokio::spawn(connection);
            client
                .batch_execute(
                    "INSERT INTO gatehouse_migrations (version, name) VALUES (99, 'future')",
                )
                .await
                .unwrap();
        }
    }
    let err = gatehouse_store::open(&database, &settings)
        .await
        .err()
        .unwrap();
    assert!(
        matches!(err, StoreError::NewerSchema { found: 99, .. }),
        "{err}"
    );
}
