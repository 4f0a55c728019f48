//! Starting a server with test tokens, a moving clock and a fake pipeline receiver, on SQLite or,
//! with `GATEHOUSE_TEST_DATABASE_URL` (a PostgreSQL URL whose user may create databases), on a
//! PostgreSQL database of its own per test; and reaching into that store the way an attacker
//! with database access would.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use gatehouse_core::Timestamp;
use gatehouse_http::auth::sign;
use gatehouse_http::config::token_hash;
use gatehouse_http::{Config, Server};
use gatehouse_store::audit::AuditReport;
use gatehouse_store::config::{Database, PostgresConfig};
use reqwest::{Method, RequestBuilder, Response};
use serde_json::{Value, json};
use sha2::Digest as _;

pub const REQUESTER: &str = "t-requester";
pub const APPROVER: &str = "t-approver";
pub const AUDITOR: &str = "t-auditor";
pub const ADMIN: &str = "t-admin";
/// A second requester (another person).
pub const REQUESTER2: &str = "t-requester-2";
pub const PIPELINE_SECRET: &str = "test-pipeline-secret-0123456789";

/// The reference bundle.
pub fn policies() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies")
}

/// An example intent as JSON.
pub fn example(name: &str) -> Value {
    let text = std::fs::read_to_string(policies().join("examples").join(name)).unwrap();
    serde_norway::from_str(&text).unwrap()
}

/// The dev intent that is allowed.
pub fn dev_intent() -> Value {
    example("web-frontend-dev-allowed.yaml")
}

/// A request the fake receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

/// A local HTTP receiver standing in for GitHub or a webhook endpoint.
#[derive(Clone)]
pub struct Receiver {
    pub url: String,
    pub received: Arc<Mutex<Vec<Received>>>,
    pub status: Arc<AtomicU16>,
    /// The body of every answer.
    pub answer: Arc<Mutex<String>>,
    /// While false, each request is recorded and then held unanswered until it turns true
    /// (a delivery in flight, for as long as the test wants).
    pub open: Arc<tokio::sync::watch::Sender<bool>>,
}

#[derive(Clone)]
struct ReceiverState {
    received: Arc<Mutex<Vec<Received>>>,
    status: Arc<AtomicU16>,
    answer: Arc<Mutex<String>>,
    open: Arc<tokio::sync::watch::Sender<bool>>,
}

async fn receive(
    State(state): State<ReceiverState>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> (StatusCode, String) {
    state.received.lock().unwrap().push(Received {
        path: uri.path().to_owned(),
        headers,
        body: body.to_vec(),
    });
    let _ = state.open.subscribe().wait_for(|open| *open).await;
    (
        StatusCode::from_u16(state.status.load(Ordering::SeqCst)).unwrap(),
        state.answer.lock().unwrap().clone(),
    )
}

impl Receiver {
    /// Starts a receiver answering `status` to every POST.
    pub async fn start(status: u16) -> Self {
        let state = ReceiverState {
            received: Arc::default(),
            status: Arc::new(AtomicU16::new(status)),
            answer: Arc::default(),
            open: Arc::new(tokio::sync::watch::channel(true).0),
        };
        let app = axum::Router::new()
            .route("/{*path}", post(receive))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self {
            url,
            received: state.received,
            status: state.status,
            answer: state.answer,
            open: state.open,
        }
    }

    pub fn requests(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
}

/// A running server and a client.
pub struct Harness {
    pub server: Option<Server>,
    pub base: String,
    pub client: reqwest::Client,
    pub dir: tempfile::TempDir,
}

/// The test clock: 2026-11-23T12:00:00Z plus the real time elapsed since the test process's
/// first reading (retries need time to move; the date keeps freezes and exemptions
/// deterministic). One start for the whole process, so a server's clock and [`now_seconds`]
/// agree however long the server took to start.
pub fn clock() -> gatehouse_control::Clock {
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    let start = *START.get_or_init(Instant::now);
    let base = Timestamp::parse("2026-11-23T12:00:00Z")
        .unwrap()
        .unix_nanos();
    Arc::new(move || {
        let ms = start.elapsed().as_millis() as i128;
        Timestamp::from_unix_nanos(base + ms * 1_000_000).unwrap()
    })
}

/// The TOML of a test server: tokens for every role, the pipeline secret, then `extra`.
pub fn config_toml(extra: &str) -> String {
    let token = |name: &str, role: &str, token: &str, roles: &str| {
        format!(
            "[[tokens]]\nname = \"{name}\"\nrole = \"{role}\"\nsha256 = \"{}\"\napproval_roles = [{roles}]\n\n",
            token_hash(token)
        )
    };
    // `extra` right after `listen`: its top-level keys must precede every table.
    let mut text = format!("listen = \"127.0.0.1:0\"\n{extra}\n");
    text.push_str(&format!("[pipeline]\nsecret = \"{PIPELINE_SECRET}\"\n\n"));
    text.push_str(&token("dev@example.com", "requester", REQUESTER, ""));
    text.push_str(&token("other@example.com", "requester", REQUESTER2, ""));
    text.push_str(&token(
        "approver@example.com",
        "approver",
        APPROVER,
        "\"finops-approver\", \"release-approver\"",
    ));
    text.push_str(&token("auditor@example.com", "auditor", AUDITOR, ""));
    text.push_str(&token("admin@example.com", "admin", ADMIN, ""));
    text
}

impl Harness {
    /// A server with the `none` executor.
    pub async fn start() -> Self {
        Self::with_config("").await
    }

    /// A server with extra TOML (executor, limits, CORS...).
    pub async fn with_config(extra: &str) -> Self {
        Self::with_config_in(tempfile::tempdir().unwrap(), extra, policies()).await
    }

    /// A server over a given directory, config and bundle.
    pub async fn with_config_in(dir: tempfile::TempDir, extra: &str, policies: PathBuf) -> Self {
        let database = dir.path().join("gatehouse.db");
        Self::with_database(dir, database, extra, policies).await
    }

    /// A server over a given database file (two servers may share one).
    pub async fn with_database(
        dir: tempfile::TempDir,
        database: PathBuf,
        extra: &str,
        policies: PathBuf,
    ) -> Self {
        let mut config = Config::from_toml(&config_toml(extra)).unwrap();
        config.control.database = database_for(&database).await;
        config.control.policies = policies;
        Self::with_loaded(dir, config).await
    }

    /// A server over a configuration the test made (database and bundle set).
    pub async fn with_loaded(dir: tempfile::TempDir, config: Config) -> Self {
        let env = |name: &str| {
            (name == "GATEHOUSE_TEST_GITHUB_TOKEN").then(|| "ghp_test_token".to_owned())
        };
        let server = Server::start_with(config, clock(), env).await.unwrap();
        let base = format!("http://{}", server.addr);
        let _ = rustls::crypto::ring::default_provider().install_default();
        Self {
            server: Some(server),
            base,
            client: reqwest::Client::new(),
            dir,
        }
    }

    pub fn request(&self, method: Method, path: &str, token: Option<&str>) -> RequestBuilder {
        let mut r = self.client.request(method, format!("{}{path}", self.base));
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        r
    }

    pub async fn get(&self, path: &str, token: &str) -> (StatusCode, Value) {
        let r = self
            .request(Method::GET, path, Some(token))
            .send()
            .await
            .unwrap();
        json_of(r).await
    }

    pub async fn post(&self, path: &str, token: &str, body: &Value) -> (StatusCode, Value) {
        let r = self
            .request(Method::POST, path, Some(token))
            .json(body)
            .send()
            .await
            .unwrap();
        json_of(r).await
    }

    /// Submits an intent as the requester; returns the deployment.
    pub async fn submit(&self, intent: Value) -> Value {
        let (status, body) = self
            .post("/v1/deployments", REQUESTER, &json!({"intent": intent}))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body
    }

    /// Posts a signed callback.
    pub async fn callback(&self, id: &str, delivery: &str, report: &Value) -> (StatusCode, Value) {
        let body = serde_json::to_vec(report).unwrap();
        let headers = signed_callback(id, delivery, now_seconds(), &body);
        self.send_callback(id, &headers, body).await
    }

    /// Posts a callback with exactly these headers (a captured or forged one).
    pub async fn send_callback(
        &self,
        id: &str,
        headers: &[(String, String)],
        body: Vec<u8>,
    ) -> (StatusCode, Value) {
        let mut r = self
            .request(
                Method::POST,
                &format!("/v1/deployments/{id}/callbacks"),
                None,
            )
            .header("content-type", "application/json");
        for (name, value) in headers {
            r = r.header(name, value);
        }
        json_of(r.body(body).send().await.unwrap()).await
    }

    /// Polls a deployment until it reaches `state` ([`WAIT`] at most).
    pub async fn wait_for_state(&self, id: &str, state: &str) -> Value {
        let what = format!("{id} never reached {state}");
        wait_for(WAIT, &what, async || {
            let (_, d) = self.get(&format!("/v1/deployments/{id}"), AUDITOR).await;
            if d["state"] == state { Ok(d) } else { Err(d) }
        })
        .await
    }

    /// The event types of a deployment.
    pub async fn event_types(&self, id: &str) -> Vec<String> {
        let (_, events) = self
            .get(&format!("/v1/deployments/{id}/events"), AUDITOR)
            .await;
        events
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["type"].as_str().unwrap().to_owned())
            .collect()
    }

    /// Verifies the ledger over HTTP and asserts it holds.
    pub async fn assert_ledger_ok(&self) -> Value {
        let (status, report) = self.get("/v1/audit/verify", AUDITOR).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(report["ok"], true, "{report}");
        report
    }

    pub async fn stop(mut self) -> tempfile::TempDir {
        if let Some(server) = self.server.take() {
            server.shutdown().await.unwrap();
        }
        self.dir
    }
}

/// How long a test waits for something the server does in the background.
pub const WAIT: Duration = Duration::from_secs(10);

/// Polls `check` every 10 ms until it answers `Ok`, and returns what it holds; fails the test
/// with `what` and the last `Err` (what was seen instead) when `limit` has passed. Tests wait
/// for what they expect to happen with this, not by sleeping a guessed time.
pub async fn wait_for<T, E: std::fmt::Display>(
    limit: Duration,
    what: &str,
    mut check: impl AsyncFnMut() -> Result<T, E>,
) -> T {
    let deadline = Instant::now() + limit;
    loop {
        match check().await {
            Ok(done) => return done,
            Err(seen) => assert!(Instant::now() < deadline, "{what}: {seen}"),
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// [`wait_for`] a condition.
pub async fn wait_until(limit: Duration, what: &str, mut done: impl AsyncFnMut() -> bool) {
    wait_for(limit, what, async || {
        if done().await { Ok(()) } else { Err("not yet") }
    })
    .await;
}

/// Status and JSON body (problem bodies must say `application/problem+json`).
pub async fn json_of(r: Response) -> (StatusCode, Value) {
    let status = r.status();
    let content_type = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let text = r.text().await.unwrap();
    if status.is_client_error() || status.is_server_error() {
        assert_eq!(content_type, "application/problem+json", "{status}: {text}");
    }
    let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, value)
}

/// Evidence that matches an intent: the observed deployment is the approved one, smoke passed.
pub fn matching_evidence(intent: &Value) -> Value {
    json!({
        "smoke": [{"name": "health", "passed": true}, {"name": "synthetic-transaction", "passed": true}],
        "observed": {
            "artifact": intent["spec"]["artifact"],
            "account": intent["spec"]["target"]["account"],
            "region": intent["spec"]["target"]["region"],
        }
    })
}

/// The test clock's time in Unix seconds (what a pipeline puts in `X-Gatehouse-Timestamp`).
pub fn now_seconds() -> i64 {
    (clock()().unix_nanos() / 1_000_000_000) as i64
}

/// The headers a pipeline sends with a callback for `id`: delivery id, timestamp, signature.
pub fn signed_callback(
    id: &str,
    delivery: &str,
    timestamp: i64,
    body: &[u8],
) -> Vec<(String, String)> {
    vec![
        ("x-gatehouse-delivery".into(), delivery.into()),
        ("x-gatehouse-timestamp".into(), timestamp.to_string()),
        (
            "x-gatehouse-signature-256".into(),
            sign(PIPELINE_SECRET.as_bytes(), timestamp, id, delivery, body),
        ),
    ]
}

/// The PostgreSQL server of the run, if any: `GATEHOUSE_TEST_DATABASE_URL`.
fn postgres_admin() -> Option<String> {
    std::env::var("GATEHOUSE_TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty())
}

/// A PostgreSQL client on `url`.
async fn pg_client(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    client
}

/// The name of the PostgreSQL database standing for the file `path`.
fn pg_name(path: &Path) -> String {
    let digest = hex::encode(sha2::Sha256::digest(path.to_string_lossy().as_bytes()));
    format!("gh_{}", &digest[..24])
}

fn pg_url(admin: &str, name: &str) -> String {
    let (base, _) = admin.rsplit_once('/').unwrap();
    format!("{base}/{name}")
}

/// The database a test that names the file `path` runs on: the file itself, or the PostgreSQL
/// database standing for it (created on first use, so a restart or a second server finds it).
pub async fn database_for(path: &Path) -> Database {
    let Some(admin) = postgres_admin() else {
        return Database::Sqlite(path.to_path_buf());
    };
    let name = pg_name(path);
    let client = pg_client(&admin).await;
    if let Err(e) = client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
    {
        assert_eq!(
            e.code(),
            Some(&tokio_postgres::error::SqlState::DUPLICATE_DATABASE),
            "{e}"
        );
    }
    Database::Postgres(pg_url(&admin, &name))
}

/// Runs `sql` on the store of the file `path` (tampering, as someone with database access).
pub async fn execute(path: &Path, sql: &str) {
    match database_for(path).await {
        Database::Sqlite(file) => rusqlite::Connection::open(file)
            .unwrap()
            .execute_batch(sql)
            .unwrap(),
        Database::Postgres(url) => pg_client(&url).await.batch_execute(sql).await.unwrap(),
    }
}

/// `SELECT COUNT(*) ...` with one text argument `?1` on the store of the file `path`.
pub async fn count(path: &Path, sql: &str, arg: &str) -> i64 {
    match database_for(path).await {
        Database::Sqlite(file) => rusqlite::Connection::open(file)
            .unwrap()
            .query_row(sql, [arg], |r| r.get(0))
            .unwrap(),
        Database::Postgres(url) => pg_client(&url)
            .await
            .query_one(&sql.replace("?1", "$1"), &[&arg])
            .await
            .unwrap()
            .get(0),
    }
}

/// Verifies the store of the file `path` directly (no server).
pub async fn verify_store(path: &Path) -> AuditReport {
    let opened = gatehouse_store::open(&database_for(path).await, &PostgresConfig::default())
        .await
        .unwrap();
    opened.store.verify().await.unwrap()
}

/// A copy of a stopped server's store, to restore after tampering with it.
pub struct Snapshot(Vec<u8>);

/// Copies the store of the file `path` (its server stopped).
pub async fn snapshot(path: &Path) -> Snapshot {
    match database_for(path).await {
        Database::Sqlite(file) => Snapshot(std::fs::read(file).unwrap()),
        Database::Postgres(_) => {
            let admin = postgres_admin().unwrap();
            let name = pg_name(path);
            let client = pg_client(&admin).await;
            // One statement per call: DROP and CREATE DATABASE refuse a transaction block.
            for sql in [
                format!("DROP DATABASE IF EXISTS {name}_snapshot"),
                format!("CREATE DATABASE {name}_snapshot TEMPLATE {name}"),
            ] {
                client.batch_execute(&sql).await.unwrap();
            }
            Snapshot(Vec::new())
        }
    }
}

/// Puts back the copy [`snapshot`] made.
pub async fn restore(path: &Path, snapshot: Snapshot) {
    match database_for(path).await {
        Database::Sqlite(file) => {
            std::fs::remove_file(file.with_extension("db-wal")).ok();
            std::fs::remove_file(file.with_extension("db-shm")).ok();
            std::fs::write(&file, snapshot.0).unwrap();
        }
        Database::Postgres(_) => {
            let admin = postgres_admin().unwrap();
            let name = pg_name(path);
            let client = pg_client(&admin).await;
            for sql in [
                format!("DROP DATABASE {name} WITH (FORCE)"),
                format!("CREATE DATABASE {name} TEMPLATE {name}_snapshot"),
            ] {
                client.batch_execute(&sql).await.unwrap();
            }
        }
    }
}
