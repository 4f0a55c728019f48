//! A fake GitHub REST API on 127.0.0.1 for `--github-reviews`: serves one pull request, its
//! reviews and team members (paginated as GitHub does, with or without `Link` headers), answers
//! with a chosen error status where a test asks, and records every request. It runs on its own
//! thread and runtime and stops when dropped.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// The token the tests hand the binary; it must reach the fake as a bearer and nowhere else.
pub const TOKEN: &str = "ghs_FakeToken0123456789abcdefSECRET";
/// The repository of the pull request.
pub const REPOSITORY: &str = "acme/payments";
/// The pull request's number.
pub const NUMBER: u64 = 42;
/// The head commit.
pub const HEAD: &str = "1111111111111111111111111111111111111111";
/// An earlier commit of the pull request.
pub const OLD: &str = "0000000000000000000000000000000000000000";
/// The pull request's author (mapped to the requester `alice@example.com` by the bundle).
pub const AUTHOR: &str = "alice-gh";

/// One recorded request.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// Path and query.
    pub uri: String,
    /// The `authorization` header.
    pub authorization: Option<String>,
}

/// An error answer for requests whose path starts with `path`.
#[derive(Debug, Clone)]
pub struct Failure {
    /// Path prefix, e.g. `/repos/acme/payments/pulls/42/reviews`.
    pub path: String,
    /// Status.
    pub status: u16,
    /// Extra headers.
    pub headers: Vec<(&'static str, String)>,
    /// GitHub's `message`.
    pub message: String,
}

/// What the fake serves.
#[derive(Debug, Clone)]
pub struct Github {
    /// The pull request's author.
    pub author: String,
    /// The current head.
    pub head: String,
    /// Reviews, as the API returns them.
    pub reviews: Vec<Value>,
    /// `org/slug` to member logins.
    pub teams: BTreeMap<String, Vec<String>>,
    /// Send `Link: rel="next"` headers (GitHub does); without them the client must stop at a
    /// short page.
    pub link_headers: bool,
    /// Error answers.
    pub failures: Vec<Failure>,
}

impl Default for Github {
    fn default() -> Self {
        Self {
            author: AUTHOR.to_owned(),
            head: HEAD.to_owned(),
            reviews: Vec::new(),
            teams: BTreeMap::new(),
            link_headers: true,
            failures: Vec::new(),
        }
    }
}

/// A review as the API returns it.
pub fn review(id: u64, login: &str, state: &str, commit: &str) -> Value {
    json!({
        "id": id,
        "node_id": format!("PRR_{id}"),
        "user": {"login": login, "id": id + 1000, "type": "User"},
        "body": "",
        "state": state,
        "html_url": review_url(id),
        "commit_id": commit,
        "submitted_at": format!("2026-11-23T10:{:02}:{:02}Z", (id / 60) % 60, id % 60),
        "author_association": "MEMBER"
    })
}

/// The `html_url` of review `id`.
pub fn review_url(id: u64) -> String {
    format!("https://github.com/{REPOSITORY}/pull/{NUMBER}#pullrequestreview-{id}")
}

struct Shared {
    github: Github,
    requests: Vec<Recorded>,
    base: String,
}

/// A running fake.
pub struct FakeGithub {
    shared: Arc<Mutex<Shared>>,
    address: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FakeGithub {
    /// Starts serving `github` on a free port of 127.0.0.1.
    pub fn start(github: Github) -> Self {
        let std_listener =
            std::net::TcpListener::bind("127.0.0.1:0").expect("bind a port on 127.0.0.1");
        std_listener
            .set_nonblocking(true)
            .expect("a non-blocking listener");
        let address = std_listener.local_addr().expect("the bound address");
        let shared = Arc::new(Mutex::new(Shared {
            github,
            requests: Vec::new(),
            base: format!("http://{address}"),
        }));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let state = Arc::clone(&shared);
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime for the fake GitHub");
            runtime.block_on(async move {
                let listener =
                    tokio::net::TcpListener::from_std(std_listener).expect("a tokio listener");
                let app = Router::new().fallback(answer).with_state(state);
                axum::serve(listener, app)
                    .with_graceful_shutdown(async {
                        let _ = stopped.await;
                    })
                    .await
                    .expect("the fake GitHub serves");
            });
        });
        Self {
            shared,
            address,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.shared
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .requests
            .clone()
    }
}

impl Drop for FakeGithub {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn json_response(status: StatusCode, headers: HeaderMap, body: &Value) -> Response {
    let mut response = (status, headers, body.to_string()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json; charset=utf-8"),
    );
    response
}

/// A page of `items` with GitHub's `per_page` and `page` query parameters.
fn page(
    items: &[Value],
    query: &BTreeMap<String, String>,
    link_base: Option<String>,
) -> (HeaderMap, Value) {
    let per_page: usize = query
        .get("per_page")
        .and_then(|v| v.parse().ok())
        .unwrap_or(30);
    let page: usize = query.get("page").and_then(|v| v.parse().ok()).unwrap_or(1);
    let start = (page - 1) * per_page;
    let slice: Vec<Value> = items.iter().skip(start).take(per_page).cloned().collect();
    let mut headers = HeaderMap::new();
    if let Some(base) = link_base {
        let last = items.len().div_ceil(per_page).max(1);
        let mut links = Vec::new();
        if page < last {
            links.push(format!(
                "<{base}?per_page={per_page}&page={}>; rel=\"next\"",
                page + 1
            ));
        }
        links.push(format!(
            "<{base}?per_page={per_page}&page={last}>; rel=\"last\""
        ));
        headers.insert(
            header::LINK,
            links.join(", ").parse().expect("a header value"),
        );
    }
    (headers, Value::Array(slice))
}

async fn answer(State(shared): State<Arc<Mutex<Shared>>>, request: Request<Body>) -> Response {
    let uri = request.uri().clone();
    let path = uri.path().to_owned();
    let query: BTreeMap<String, String> = uri
        .query()
        .unwrap_or_default()
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    let mut shared = shared.lock().unwrap_or_else(PoisonError::into_inner);
    shared.requests.push(Recorded {
        uri: uri.to_string(),
        authorization: request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
    });
    let github = &shared.github;
    if let Some(failure) = github.failures.iter().find(|f| path.starts_with(&f.path)) {
        let mut headers = HeaderMap::new();
        for (name, value) in &failure.headers {
            headers.insert(*name, value.parse().expect("a header value"));
        }
        return json_response(
            StatusCode::from_u16(failure.status).expect("a status"),
            headers,
            &json!({"message": failure.message, "documentation_url": "https://docs.github.com/rest"}),
        );
    }
    let pulls = format!("/repos/{REPOSITORY}/pulls/{NUMBER}");
    let link_base = |p: &str| github.link_headers.then(|| format!("{}{p}", shared.base));
    if path == pulls {
        return json_response(
            StatusCode::OK,
            HeaderMap::new(),
            &json!({
                "number": NUMBER,
                "state": "open",
                "user": {"login": github.author, "type": "User"},
                "head": {"sha": github.head, "ref": "feature"},
                "base": {"sha": OLD, "ref": "main"}
            }),
        );
    }
    if path == format!("{pulls}/reviews") {
        let (headers, body) = page(&github.reviews, &query, link_base(&path));
        return json_response(StatusCode::OK, headers, &body);
    }
    if let Some(team) = path
        .strip_prefix("/orgs/")
        .and_then(|rest| rest.strip_suffix("/members"))
        .map(|rest| rest.replace("/teams/", "/"))
        && let Some(members) = github.teams.get(&team)
    {
        let members: Vec<Value> = members
            .iter()
            .map(|login| json!({"login": login, "type": "User"}))
            .collect();
        let (headers, body) = page(&members, &query, link_base(&path));
        return json_response(StatusCode::OK, headers, &body);
    }
    json_response(
        StatusCode::NOT_FOUND,
        HeaderMap::new(),
        &json!({"message": "Not Found"}),
    )
}
