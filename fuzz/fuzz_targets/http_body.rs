//! Any bytes as the body of the control plane's POST endpoints, through the real router and
//! handlers (auth, body limits, JSON parsing, evaluation, the control plane on SQLite): the
//! server never panics and never answers 5xx; every refusal is problem JSON. The first byte picks the endpoint; pipeline
//! callbacks are signed with the configured secret (for the deployment, a delivery id and the
//! server's time) so their bodies reach the parser.
#![no_main]

use std::sync::{Arc, LazyLock};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use gatehouse_control::{ControlPlane, load_bundle};
use gatehouse_core::Timestamp;
use gatehouse_http::config::token_hash;
use gatehouse_http::metrics::Metrics;
use gatehouse_http::{App, Config, app};
use gatehouse_store::sqlite::SqliteStore;
use libfuzzer_sys::fuzz_target;
use tower::ServiceExt;

const TOKEN: &str = "fuzz-admin-token";
const SECRET: &str = "fuzz-pipeline-secret-0123456789";
/// The server's fixed clock, 2026-11-23T12:00:00Z, in Unix seconds (callback timestamps).
const NOW_SECONDS: i64 = 1_795_435_200;

struct Server {
    runtime: tokio::runtime::Runtime,
    router: axum::Router,
    deployment: String,
    _dir: tempfile::TempDir,
}

static SERVER: LazyLock<Server> = LazyLock::new(|| {
    // The database lives in memory-backed /dev/shm when there is one: every accepted submission
    // commits with fsync (synchronous = FULL), which on disk would dominate the exec rate.
    let shm = std::path::Path::new("/dev/shm");
    let dir = if shm.is_dir() {
        tempfile::tempdir_in(shm)
    } else {
        tempfile::tempdir()
    }
    .expect("temp dir");
    let policies = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../policies");
    let config = Config::from_toml(&format!(
        "[pipeline]\nsecret = \"{SECRET}\"\n[[tokens]]\nname = \"fuzz@example.com\"\nrole = \"admin\"\nsha256 = \"{}\"\napproval_roles = [\"finops-approver\"]\n",
        token_hash(TOKEN)
    ))
    .expect("config");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut control = config.control_config();
    control.settings.policies = policies.clone();
    let bundle =
        load_bundle(&policies, &control.evaluation, &control.trusted_keys).expect("bundle");
    let store = runtime
        .block_on(SqliteStore::open(&dir.path().join("fuzz.db")))
        .expect("database");
    let now = Timestamp::parse("2026-11-23T12:00:00Z").expect("time");
    assert_eq!(now.unix_nanos() / 1_000_000_000, i128::from(NOW_SECONDS));
    let metrics = Arc::new(Metrics::new());
    let plane = ControlPlane::new(
        control,
        bundle,
        Arc::new(store),
        Arc::new(move || now),
        Arc::clone(&metrics) as _,
    );
    let router = app(Arc::new(App::new(config, Arc::new(plane), metrics)));
    // One deployment for the endpoints that take an id.
    let submit =
        std::fs::read(policies.join("../docs/api/submit-web-frontend-dev-over-budget.json"))
            .expect("request body");
    let response = runtime.block_on(
        router.clone().oneshot(
            Request::post("/v1/deployments")
                .header("authorization", format!("Bearer {TOKEN}"))
                .header("content-type", "application/json")
                .body(Body::from(submit))
                .expect("request"),
        ),
    );
    let body = runtime
        .block_on(axum::body::to_bytes(
            response.expect("response").into_body(),
            1 << 20,
        ))
        .expect("body");
    let created: serde_json::Value = serde_json::from_slice(&body).expect("json");
    let deployment = created["id"].as_str().expect("id").to_owned();
    Server {
        runtime,
        router,
        deployment,
        _dir: dir,
    }
});

fuzz_target!(|data: &[u8]| {
    let server = &*SERVER;
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let id = &server.deployment;
    let (path, signed) = match selector % 5 {
        0 => ("/v1/evaluate".to_owned(), false),
        1 => ("/v1/deployments".to_owned(), false),
        2 => (format!("/v1/deployments/{id}/approvals"), false),
        3 => (format!("/v1/deployments/{id}/cancel"), false),
        _ => (format!("/v1/deployments/{id}/callbacks"), true),
    };
    let delivery = format!("fuzz-{}", body.len());
    let mut request = Request::post(&path)
        .header("content-type", "application/json")
        .header("authorization", format!("Bearer {TOKEN}"))
        .header("if-match", "\"stale\"")
        .header("x-gatehouse-delivery", &delivery)
        .header("x-gatehouse-timestamp", NOW_SECONDS.to_string());
    if signed {
        request = request.header(
            "x-gatehouse-signature-256",
            gatehouse_http::auth::sign(SECRET.as_bytes(), NOW_SECONDS, id, &delivery, body),
        );
    }
    let request = request.body(Body::from(body.to_vec())).expect("request");
    let response = server
        .runtime
        .block_on(server.router.clone().oneshot(request))
        .expect("infallible");
    let status = response.status();
    assert!(
        status < StatusCode::INTERNAL_SERVER_ERROR,
        "{path} answered {status} to {body:?}"
    );
    if status.is_client_error() {
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json",
            "{path} answered {status} without problem JSON"
        );
    }
});
