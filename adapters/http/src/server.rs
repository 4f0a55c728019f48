//! The router with its limits (body size, timeout, concurrency, CORS), and the server: an accept
//! loop with a connection cap and a header read timeout, the dispatcher, the retention purge,
//! bundle reload on SIGHUP, graceful shutdown that drains in-flight requests.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::error_handling::HandleErrorLayer;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, Method, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tower::ServiceBuilder;
use tower_http::cors::{AllowOrigin, CorsLayer};

use gatehouse_control::executor::{Executor, ExecutorSetupError};
use gatehouse_control::store::{self, StoreError};
use gatehouse_control::workers::{self, Workers};
use gatehouse_control::{Clock, ControlPlane, load_bundle, system_clock};

use crate::api;
use crate::config::{Config, ConfigError};
use crate::metrics::Metrics;
use crate::problem::Problem;
use crate::state::App;

/// Why the server cannot start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// Bad configuration.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The bundle does not load.
    #[error(transparent)]
    Bundle(#[from] gatehouse_core::DirLoadError),
    /// The database does not open.
    #[error("database {database}: {source}")]
    Store {
        /// The database (a URL without its password).
        database: String,
        /// The cause.
        source: StoreError,
    },
    /// The control plane cannot record this server's bundle.
    #[error("database {database}: cannot record this server: {source}")]
    Announce {
        /// The database (a URL without its password).
        database: String,
        /// The cause.
        source: gatehouse_control::ControlError,
    },
    /// The executor cannot be built.
    #[error(transparent)]
    Executor(#[from] ExecutorSetupError),
    /// The address cannot be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The cause.
        source: std::io::Error,
    },
    /// The server failed while running.
    #[error("server error: {0}")]
    Io(#[from] std::io::Error),
}

async fn not_found() -> Problem {
    Problem::not_found("no such endpoint; `GET /openapi.json` lists them")
}

async fn method_not_allowed() -> Problem {
    Problem::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this endpoint does not take this method; `GET /openapi.json` lists what it takes",
    )
}

async fn openapi() -> impl IntoResponse {
    axum::Json(crate::openapi_json())
}

async fn overloaded(error: tower::BoxError) -> Problem {
    if error.is::<tower::timeout::error::Elapsed>() {
        // Only reads have this outer timeout (they change no deployment; a preview may log its
        // decision); writes carry a deadline that their store transaction checks before it
        // commits.
        Problem::unavailable(
            "timeout",
            "the request took longer than the server's limit (`limits.request_timeout_ms`); it changes no deployment (at most a decision-log record was kept): retry it",
        )
    } else {
        Problem::unavailable("overloaded", format!("the server is overloaded: {error}"))
    }
}

/// The router over a control plane. Reads run under the request timeout; writes (submit,
/// approve, cancel, callbacks, reload) are not cut off from outside, because a write whose
/// answer is dropped may still commit: they carry a deadline their transaction checks before it
/// commits, and answer what happened.
pub fn app(state: Arc<App>) -> Router {
    let limits = state.config.limits.clone();
    // `Config::validate` refuses origins that do not parse; one that slips through is logged.
    let origins: Vec<_> = state
        .config
        .cors
        .allowed_origins
        .iter()
        .filter_map(|o| match o.parse() {
            Ok(origin) => Some(origin),
            Err(_) => {
                tracing::error!(origin = %o, "cors.allowed_origins: not a valid origin; ignored");
                None
            }
        })
        .collect();
    let reads = Router::new()
        .route("/v1/evaluate", post(api::evaluate))
        .route("/v1/deployments", get(api::list))
        .route("/v1/deployments/{id}", get(api::get_one))
        .route("/v1/deployments/{id}/events", get(api::events))
        .route("/v1/audit/verify", get(api::audit_verify))
        .route("/v1/signals", get(api::signals))
        .route("/v1/policies", get(api::policies))
        .route("/v1/bundle", get(api::bundle))
        .route("/v1/context", get(api::context))
        .route("/v1/whoami", get(api::whoami))
        .route("/v1/replicas", get(api::replicas))
        .route("/v1/decisions", get(api::decisions))
        .route("/v1/decisions/{id}", get(api::decision))
        .route("/healthz", get(api::healthz))
        .route("/readyz", get(api::readyz))
        .route("/metrics", get(api::metrics))
        .route("/openapi.json", get(openapi))
        .route_layer(
            ServiceBuilder::new()
                .layer(HandleErrorLayer::new(overloaded))
                .timeout(limits.request_timeout()),
        );
    let writes = Router::new()
        .route("/v1/deployments", post(api::submit))
        .route("/v1/deployments/{id}/approvals", post(api::approve))
        .route("/v1/deployments/{id}/cancel", post(api::cancel))
        .route("/v1/deployments/{id}/callbacks", post(api::callback))
        .route("/v1/admin/reload", post(api::reload));
    let router = reads
        .merge(writes)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(Arc::clone(&state))
        .merge(crate::ui::router(&state.config.ui))
        .layer(DefaultBodyLimit::max(limits.body_bytes))
        .layer(tower::limit::ConcurrencyLimitLayer::new(limits.concurrency));
    if origins.is_empty() {
        router
    } else {
        router.layer(
            CorsLayer::new()
                .allow_origin(AllowOrigin::list(origins))
                .allow_methods([Method::GET, Method::POST])
                .allow_headers([
                    header::AUTHORIZATION,
                    header::CONTENT_TYPE,
                    header::IF_MATCH,
                    HeaderName::from_static(api::IDEMPOTENCY_HEADER),
                ])
                .expose_headers([
                    header::ETAG,
                    header::LOCATION,
                    HeaderName::from_static(api::DECISION_ID_HEADER),
                ])
                .max_age(std::time::Duration::from_secs(600)),
        )
    }
}

/// Serves `router` on `listener` until `stop` turns true: at most `limits.max_connections`
/// connections at once (the next waits in the listen backlog until one closes), each with
/// `limits.header_read_timeout_ms` to send its request head. On stop it accepts no more, lets
/// in-flight requests finish and closes idle connections.
async fn serve(
    listener: TcpListener,
    router: Router,
    limits: crate::config::LimitsConfig,
    mut stop: watch::Receiver<bool>,
) -> Result<(), std::io::Error> {
    let connections = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_millis(limits.header_read_timeout_ms));
    builder.http2().timer(TokioTimer::new());
    loop {
        // A permit first, then accept: beyond the cap, connections wait in the kernel's
        // backlog and cost this process nothing.
        let permit = tokio::select! {
            permit = Arc::clone(&connections).acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
            () = stopped(&mut stop) => break,
        };
        let (stream, _remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: pause instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = stopped(&mut stop) => break,
        };
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(tower::ServiceExt::map_request(
            router.clone(),
            |req: axum::http::Request<hyper::body::Incoming>| req.map(axum::body::Body::new),
        ));
        let connection = builder
            .serve_connection_with_upgrades(TokioIo::new(stream), service)
            .into_owned();
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
            drop(permit);
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// Resolves once `stop` is true (or its sender is gone).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

/// A started server.
pub struct Server {
    /// Where it listens.
    pub addr: SocketAddr,
    /// The control plane it serves.
    pub plane: Arc<ControlPlane>,
    shutdown: watch::Sender<bool>,
    task: tokio::task::JoinHandle<Result<(), std::io::Error>>,
    workers: Workers,
}

impl Server {
    /// Opens the database, loads the bundle, binds, and starts serving and dispatching.
    pub async fn start(config: Config) -> Result<Self, ServeError> {
        Self::start_with(config, system_clock(), |name| std::env::var(name).ok()).await
    }

    /// [`Server::start`] with an injected clock and environment (the executor's token variable).
    pub async fn start_with(
        config: Config,
        clock: Clock,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ServeError> {
        config.validate()?;
        let bundle = load_bundle(&config.policies, &config.limits.evaluation())?;
        let opened = store::open(&config.database, &config.postgres)
            .await
            .map_err(|source| ServeError::Store {
                database: config.database.to_string(),
                source,
            })?;
        if opened.schema_before < opened.schema_now {
            tracing::info!(
                database = %config.database,
                from = opened.schema_before,
                to = opened.schema_now,
                "database schema migrated"
            );
        }
        let executor = Executor::from_config(&config.executor, &config.dispatch, env)?;
        let listener =
            TcpListener::bind(config.listen)
                .await
                .map_err(|source| ServeError::Bind {
                    addr: config.listen,
                    source,
                })?;
        let addr = listener.local_addr()?;
        let mut config = config;
        if config.public_url.is_none() {
            config.public_url = Some(format!("http://{addr}"));
        }
        let metrics = Arc::new(Metrics::new());
        let plane = Arc::new(ControlPlane::new(
            config.control(),
            bundle,
            opened.store,
            clock,
            Arc::clone(&metrics) as _,
        ));
        plane
            .announce()
            .await
            .map_err(|source| ServeError::Announce {
                database: config.database.to_string(),
                source,
            })?;
        let (shutdown, watch_shutdown) = watch::channel(false);
        let workers = workers::start(&plane, executor, watch_shutdown.clone());
        let limits = config.limits.clone();
        let router = app(Arc::new(App::new(config, Arc::clone(&plane), metrics)));
        let task = tokio::spawn(serve(listener, router, limits, watch_shutdown));
        Ok(Self {
            addr,
            plane,
            shutdown,
            task,
            workers,
        })
    }

    /// Stops accepting connections, lets in-flight requests finish, stops the dispatcher.
    pub async fn shutdown(self) -> Result<(), ServeError> {
        let _ = self.shutdown.send(true);
        let served = self.task.await.map_err(std::io::Error::other)?;
        self.workers.join().await;
        served.map_err(ServeError::Io)
    }

    /// Serves until SIGINT or SIGTERM; reloads the bundle on SIGHUP.
    #[cfg(unix)]
    pub async fn run_until_signal(self) -> Result<(), ServeError> {
        use tokio::signal::unix::{SignalKind, signal};
        let mut hangup = signal(SignalKind::hangup())?;
        let mut terminate = signal(SignalKind::terminate())?;
        loop {
            tokio::select! {
                _ = hangup.recv() => {
                    if let Err(e) = self.plane.reload_from_disk().await {
                        tracing::error!(error = %e, "SIGHUP: bundle not reloaded");
                    }
                }
                _ = terminate.recv() => break,
                _ = tokio::signal::ctrl_c() => break,
            }
        }
        tracing::info!("shutting down: draining in-flight requests");
        self.shutdown().await
    }
}
