//! The router with its limits (body size, timeout, concurrency, CORS), and the server: an accept
//! loop with a connection cap overall and per client address, a deadline for the first request
//! head and an idle timeout on every connection (HTTP/1 and HTTP/2), the dispatcher, the
//! retention purge, bundle reload on SIGHUP, graceful shutdown that drains in-flight requests.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::error_handling::HandleErrorLayer;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, Method, StatusCode, header};
use axum::routing::{get, post};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::{Notify, Semaphore, watch};
use tokio::task::JoinSet;
use tower::ServiceBuilder;
use tower_http::cors::{AllowOrigin, CorsLayer};

use gatehouse_control::executor::{Executor, ExecutorSetupError};
use gatehouse_control::workers::{self, Workers};
use gatehouse_control::{Clock, ControlConfig, ControlPlane, load_bundle, system_clock};
use gatehouse_store::StoreError;

use crate::api;
use crate::config::{Config, ConfigError};
use crate::metrics::Metrics;
use crate::problem::Problem;
use crate::state::{App, ClientAddr};

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

async fn openapi() -> Result<axum::response::Response, Problem> {
    Ok(crate::encode::ok(
        "OpenAPI document",
        &crate::openapi_json()?,
    )?)
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
        .route(
            "/v1/deployments/{id}/attestation",
            get(api::deployment_attestation),
        )
        .route("/v1/audit/verify", get(api::audit_verify))
        .route("/v1/signals", get(api::signals))
        .route("/v1/policies", get(api::policies))
        .route("/v1/bundle", get(api::bundle))
        .route("/v1/context", get(api::context))
        .route("/v1/whoami", get(api::whoami))
        .route("/v1/replicas", get(api::replicas))
        .route("/v1/decisions", get(api::decisions))
        .route("/v1/decisions/{id}", get(api::decision))
        .route(
            "/v1/decisions/{id}/attestation",
            get(api::decision_attestation),
        )
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

/// Pings an idle-looking HTTP/2 peer this often, so a dead one is noticed.
const H2_PING_INTERVAL: Duration = Duration::from_secs(20);
/// An HTTP/2 peer that does not answer a ping within this is disconnected.
const H2_PING_TIMEOUT: Duration = Duration::from_secs(20);
/// Requests (streams) one HTTP/2 connection may have open at once; more are refused
/// (`REFUSED_STREAM`), so one connection cannot take the whole `limits.concurrency`.
const H2_MAX_STREAMS: u32 = 64;
/// What one connection may have buffered in this process before a handler reads it: the HTTP/1
/// read buffer (so also the largest request head: 431 above), the HTTP/2 flow-control windows
/// (a client cannot push more body than this ahead of the handler, which reserves the body's
/// bytes before it reads) and the HTTP/2 header list. hyper's defaults are about 400 KiB, 1 MiB
/// and 16 MiB, so idle connections could hold a gigabyte between them.
const CONNECTION_BUFFER: u32 = 64 * 1024;

/// What a connection's requests tell the task that drives it: how many came, how many are in
/// flight, and when the last one ended.
struct Activity {
    opened: Instant,
    requests: AtomicU64,
    in_flight: AtomicUsize,
    /// Milliseconds from `opened` to the end of the last request.
    last_end_ms: AtomicU64,
    changed: Notify,
}

/// A request in flight on a connection; dropping it ends the request.
struct InFlight(Arc<Activity>);

impl Activity {
    fn new() -> Self {
        Self {
            opened: Instant::now(),
            requests: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
            last_end_ms: AtomicU64::new(0),
            changed: Notify::new(),
        }
    }

    fn begin(self: &Arc<Self>) -> InFlight {
        self.requests.fetch_add(1, Ordering::SeqCst);
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        self.changed.notify_one();
        InFlight(Arc::clone(self))
    }

    /// When the driver must act next: the end of the wait for a first request, or of the idle
    /// time after the last one; `None` while a request is in flight.
    fn deadline(&self, limits: &crate::config::LimitsConfig) -> Option<Instant> {
        if self.requests.load(Ordering::SeqCst) == 0 {
            Some(self.opened + Duration::from_millis(limits.header_read_timeout_ms))
        } else if self.in_flight.load(Ordering::SeqCst) == 0 {
            let ended = Duration::from_millis(self.last_end_ms.load(Ordering::SeqCst));
            Some(self.opened + ended + Duration::from_millis(limits.idle_timeout_ms))
        } else {
            None
        }
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let ended = u64::try_from(self.0.opened.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.0.last_end_ms.fetch_max(ended, Ordering::SeqCst);
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
        self.0.changed.notify_one();
    }
}

/// The open connections of each client address.
#[derive(Default)]
struct Clients(Mutex<HashMap<IpAddr, usize>>);

/// One open connection of a client address; dropping it frees its place.
struct ClientSlot {
    clients: Arc<Clients>,
    addr: IpAddr,
}

impl Clients {
    /// A place for one more connection of `addr`, unless it holds `cap` already.
    fn take(self: &Arc<Self>, addr: IpAddr, cap: usize) -> Option<ClientSlot> {
        let mut open = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let count = open.entry(addr).or_insert(0);
        if *count >= cap {
            return None;
        }
        *count += 1;
        Some(ClientSlot {
            clients: Arc::clone(self),
            addr,
        })
    }
}

impl Drop for ClientSlot {
    fn drop(&mut self) {
        let mut open = self.clients.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(count) = open.get_mut(&self.addr) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                open.remove(&self.addr);
            }
        }
    }
}

/// Serves `router` on `listener` until `stop` turns true.
///
/// Every limit of a connection ends in an answer or a close, never a wait without end:
/// - at most `limits.max_connections` connections at once (the next waits in the listen backlog
///   until one closes), and at most `limits.max_connections_per_client` of one client address
///   (more are closed as soon as they are accepted), so one address cannot take them all;
/// - `limits.header_read_timeout_ms` from the accept to the first request head, whatever the
///   connection sends meanwhile: nothing, part of a head, or the HTTP/2 preface and settings
///   (hyper's own timeout starts only once HTTP/1 was told apart from HTTP/2); an HTTP/1
///   connection then has as long for each later head;
/// - `limits.idle_timeout_ms` with no request in flight, then the connection is closed
///   (HTTP/2: GOAWAY first); HTTP/2 peers are pinged and at most [`H2_MAX_STREAMS`] streams are
///   open per connection.
///
/// On stop it accepts no more, lets in-flight requests finish (up to
/// `limits.request_timeout_ms`) and closes idle connections.
async fn serve(
    listener: TcpListener,
    router: Router,
    limits: crate::config::LimitsConfig,
    stop: watch::Receiver<bool>,
) -> Result<(), std::io::Error> {
    let connections = Arc::new(Semaphore::new(limits.max_connections));
    let clients = Arc::new(Clients::default());
    let mut tasks = JoinSet::new();
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_millis(limits.header_read_timeout_ms))
        .max_buf_size(CONNECTION_BUFFER as usize);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(Some(H2_PING_INTERVAL))
        .keep_alive_timeout(H2_PING_TIMEOUT)
        .max_concurrent_streams(H2_MAX_STREAMS)
        .initial_stream_window_size(CONNECTION_BUFFER)
        .initial_connection_window_size(CONNECTION_BUFFER)
        .max_header_list_size(CONNECTION_BUFFER);
    let limits = Arc::new(limits);
    let mut watching = stop.clone();
    loop {
        while tasks.try_join_next().is_some() {}
        // A permit first, then accept: beyond the cap, connections wait in the kernel's
        // backlog and cost this process nothing.
        let permit = tokio::select! {
            permit = Arc::clone(&connections).acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
            () = stopped(&mut watching) => break,
        };
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: pause instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = stopped(&mut watching) => break,
        };
        let client = remote.ip().to_canonical();
        let Some(slot) = clients.take(client, limits.max_connections_per_client) else {
            tracing::debug!(%client, "connection closed: the client holds `limits.max_connections_per_client` already");
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let activity = Arc::new(Activity::new());
        let service = {
            let router = router.clone();
            let activity = Arc::clone(&activity);
            tower::service_fn(move |mut req: axum::http::Request<hyper::body::Incoming>| {
                let request = activity.begin();
                req.extensions_mut().insert(ClientAddr(client));
                let call =
                    tower::ServiceExt::oneshot(router.clone(), req.map(axum::body::Body::new));
                async move {
                    let response = call.await;
                    drop(request);
                    response
                }
            })
        };
        let connection = builder
            .serve_connection_with_upgrades(TokioIo::new(stream), TowerToHyperService::new(service))
            .into_owned();
        let limits = Arc::clone(&limits);
        let mut stop = stop.clone();
        tasks.spawn(async move {
            let mut connection = std::pin::pin!(connection);
            // Once set, the connection was asked to close and is dropped at this time.
            let mut closing: Option<Instant> = None;
            loop {
                let deadline = closing.or_else(|| activity.deadline(&limits));
                tokio::select! {
                    result = connection.as_mut() => {
                        if let Err(e) = result {
                            tracing::debug!(error = %e, "connection ended with an error");
                        }
                        break;
                    }
                    () = sleep_until(deadline) => {
                        if closing.is_some() || activity.requests.load(Ordering::SeqCst) == 0 {
                            // Never sent a request head, or did not close when asked.
                            tracing::debug!(%client, "connection closed: no request in time");
                            break;
                        }
                        if activity.in_flight.load(Ordering::SeqCst) == 0 {
                            connection.as_mut().graceful_shutdown();
                            closing = Some(Instant::now() + limits.request_timeout());
                        }
                    }
                    () = activity.changed.notified() => {}
                    () = stopped(&mut stop), if closing.is_none() => {
                        connection.as_mut().graceful_shutdown();
                        closing = Some(Instant::now() + limits.request_timeout());
                    }
                }
            }
            drop(slot);
            drop(permit);
        });
    }
    drop(listener);
    while tasks.join_next().await.is_some() {}
    Ok(())
}

/// Resolves at `deadline`, or never without one.
async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline.into()).await,
        None => std::future::pending().await,
    }
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
        let trusted_keys = config.trusted_keys()?;
        let attestations = config.attestations()?;
        if let Some(a) = &attestations
            && a.verifier_id == crate::config::DEFAULT_VERIFIER_ID
        {
            tracing::warn!(
                verifier_id = %a.verifier_id,
                "attestations name no server as their verifier: set `public_url` or `[attestations] verifier_id`"
            );
        }
        let bundle = load_bundle(
            &config.control.policies,
            &config.limits.evaluation(),
            &trusted_keys,
        )?;
        let opened = gatehouse_store::open(&config.control.database, &config.control.postgres)
            .await
            .map_err(|source| ServeError::Store {
                database: config.control.database.to_string(),
                source,
            })?;
        if opened.schema_before < opened.schema_now {
            tracing::info!(
                database = %config.control.database,
                from = opened.schema_before,
                to = opened.schema_now,
                "database schema migrated"
            );
        }
        let executor =
            Executor::from_config(&config.control.executor, &config.control.dispatch, env)?;
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
            ControlConfig {
                trusted_keys,
                attestations,
                ..config.control_config()
            },
            bundle,
            opened.store,
            clock,
            Arc::clone(&metrics) as _,
        ));
        plane
            .announce()
            .await
            .map_err(|source| ServeError::Announce {
                database: config.control.database.to_string(),
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
