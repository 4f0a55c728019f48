//! A control plane over a fresh store with a test clock, principals of each role, the reference
//! bundle's example intents, and a fake pipeline receiver on 127.0.0.1. The store is a temporary
//! SQLite file, or with `GATEHOUSE_TEST_DATABASE_URL` (a PostgreSQL URL whose user may create
//! databases) a new PostgreSQL database per test.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use gatehouse_control::config::ExecutorConfig;

use gatehouse_control::observer::NoObserver;
use gatehouse_control::{Clock, ControlConfig, ControlPlane, Principal, Role, load_bundle};
use gatehouse_core::Timestamp;
use gatehouse_store::Store;
use gatehouse_store::config::{Database, PostgresConfig};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The reference bundle.
pub fn policies() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../policies")
}

/// An example intent of the reference bundle as JSON.
pub fn example(name: &str) -> Value {
    let text = std::fs::read_to_string(policies().join("examples").join(name)).unwrap();
    serde_norway::from_str(&text).unwrap()
}

/// 2026-11-23T12:00:00Z plus the real time elapsed since the start.
pub fn clock() -> Clock {
    let start = Instant::now();
    let base = Timestamp::parse("2026-11-23T12:00:00Z")
        .unwrap()
        .unix_nanos();
    Arc::new(move || {
        Timestamp::from_unix_nanos(base + start.elapsed().as_millis() as i128 * 1_000_000).unwrap()
    })
}

/// A principal with `role` and approval roles.
pub fn principal(name: &str, role: Role, approval_roles: &[&str]) -> Principal {
    Principal {
        name: name.into(),
        role: Some(role),
        approval_roles: approval_roles.iter().map(|r| (*r).to_owned()).collect(),
    }
}

/// A fresh database: a file in `dir`, or a new database on the server of
/// `GATEHOUSE_TEST_DATABASE_URL`.
pub async fn fresh_database(dir: &Path) -> Database {
    let Some(admin) = std::env::var("GATEHOUSE_TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty())
    else {
        return Database::Sqlite(dir.join("gatehouse.db"));
    };
    let name = format!("gh_control_{}", uuid::Uuid::now_v7().simple());
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

/// The configuration of a test plane: the reference bundle, `database`, `executor`, a
/// pipeline secret.
pub fn config(database: Database, executor: ExecutorConfig) -> ControlConfig {
    let mut config = ControlConfig::new(policies(), database, "http://127.0.0.1:9".into());
    config.settings.executor = executor;
    config.settings.pipeline.secret = Some(PIPELINE_SECRET.into());
    config
}

/// The pipeline secret of test planes.
pub const PIPELINE_SECRET: &str = "test-pipeline-secret-0123456789";

/// A control plane over `store`.
pub fn plane_over(config: ControlConfig, store: Arc<dyn Store>) -> Arc<ControlPlane> {
    let bundle = load_bundle(
        &config.settings.policies,
        &config.evaluation,
        &config.trusted_keys,
    )
    .unwrap();
    Arc::new(ControlPlane::new(
        config,
        bundle,
        store,
        clock(),
        Arc::new(NoObserver),
    ))
}

/// The store `config` names.
pub async fn open(config: &ControlConfig) -> Arc<dyn Store> {
    gatehouse_store::open(&config.settings.database, &PostgresConfig::default())
        .await
        .unwrap()
        .store
}

/// A control plane over a fresh database.
pub async fn plane(dir: &Path, executor: ExecutorConfig) -> Arc<ControlPlane> {
    let config = config(fresh_database(dir).await, executor);
    let store = open(&config).await;
    plane_over(config, store)
}

/// A local HTTP endpoint answering 204 to every request and counting them.
#[derive(Clone)]
pub struct Receiver {
    pub url: String,
    served: Arc<AtomicUsize>,
}

impl Receiver {
    pub async fn start() -> Self {
        Self::start_slow(std::time::Duration::ZERO).await
    }

    /// A receiver that takes `delay` to answer each request.
    pub async fn start_slow(delay: std::time::Duration) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let served = Arc::new(AtomicUsize::new(0));
        let s = Arc::clone(&served);
        tokio::spawn(async move {
            loop {
                let Ok((mut stream, _)) = listener.accept().await else {
                    return;
                };
                let s = Arc::clone(&s);
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 4096];
                    // One request per connection: read the head, then Content-Length bytes.
                    loop {
                        let n = stream.read(&mut chunk).await.unwrap_or(0);
                        if n == 0 {
                            return;
                        }
                        buf.extend_from_slice(&chunk[..n]);
                        let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
                            continue;
                        };
                        let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
                        let length: usize = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .map_or(0, |v| v.trim().parse().unwrap());
                        if buf.len() >= end + 4 + length {
                            break;
                        }
                    }
                    s.fetch_add(1, Ordering::SeqCst);
                    // The slow receiver's delay is what the tests using it are about.
                    tokio::time::sleep(delay).await;
                    let _ = stream
                        .write_all(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
                        .await;
                });
            }
        });
        Self { url, served }
    }

    /// Requests answered so far.
    pub fn count(&self) -> usize {
        self.served.load(Ordering::SeqCst)
    }
}
