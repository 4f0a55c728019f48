//! The visual control plane: a browser UI served under `/ui/` that renders what the API returns
//! and never decides anything itself. Its HTML, CSS and ES modules (`adapters/http/ui/`) are
//! embedded in the binary; the WASM engine package it previews with is read at request time from
//! `[ui] wasm_dir` (it is built separately, by `bindings/wasm/build.sh`), and when that directory
//! is missing the UI falls back to `POST /v1/evaluate` and says so.

use std::path::PathBuf;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;

use crate::config::UiConfig;
use crate::problem::Problem;

/// One embedded asset: its name under `/ui/`, media type and bytes.
struct Asset {
    name: &'static str,
    media_type: &'static str,
    body: &'static str,
}

const JS: &str = "text/javascript; charset=utf-8";

/// Everything under `/ui/` (the page is `index.html`).
const ASSETS: &[Asset] = &[
    Asset {
        name: "index.html",
        media_type: "text/html; charset=utf-8",
        body: include_str!("../ui/index.html"),
    },
    Asset {
        name: "style.css",
        media_type: "text/css; charset=utf-8",
        body: include_str!("../ui/style.css"),
    },
    Asset {
        name: "app.js",
        media_type: JS,
        body: include_str!("../ui/app.js"),
    },
    Asset {
        name: "api.js",
        media_type: JS,
        body: include_str!("../ui/api.js"),
    },
    Asset {
        name: "dom.js",
        media_type: JS,
        body: include_str!("../ui/dom.js"),
    },
    Asset {
        name: "preview.js",
        media_type: JS,
        body: include_str!("../ui/preview.js"),
    },
    Asset {
        name: "form.js",
        media_type: JS,
        body: include_str!("../ui/form.js"),
    },
    Asset {
        name: "deployments.js",
        media_type: JS,
        body: include_str!("../ui/deployments.js"),
    },
    Asset {
        name: "timeline.js",
        media_type: JS,
        body: include_str!("../ui/timeline.js"),
    },
    Asset {
        name: "signals.js",
        media_type: JS,
        body: include_str!("../ui/signals.js"),
    },
];

/// The WASM package files the UI loads from `[ui] wasm_dir`; nothing else there is served.
const WASM_FILES: &[(&str, &str)] = &[
    ("gatehouse_wasm.js", JS),
    ("gatehouse_wasm_bg.wasm", "application/wasm"),
];

/// The page may run its own scripts and compile WebAssembly, and talk only to this server.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; \
     style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; \
     base-uri 'none'; frame-ancestors 'none'";

/// The UI routes: `/` and `/ui` redirect to `/ui/`, `/ui/{asset}`, `/ui/pkg/{file}`.
pub fn router(config: &UiConfig) -> Router {
    Router::new()
        .route("/", get(|| async { Redirect::to("/ui/") }))
        .route("/ui", get(|| async { Redirect::to("/ui/") }))
        .route("/ui/", get(|| async { asset("index.html") }))
        .route(
            "/ui/{name}",
            get(|Path(name): Path<String>| async move { asset(&name) }),
        )
        .route("/ui/pkg/{name}", get(wasm_file))
        .with_state(config.wasm_dir.clone())
}

fn respond(media_type: &'static str, body: impl IntoResponse) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(media_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

fn asset(name: &str) -> Response {
    match ASSETS.iter().find(|a| a.name == name) {
        Some(a) => respond(a.media_type, a.body),
        None => Problem::not_found(format!("no UI asset `{name}`")).into_response(),
    }
}

async fn wasm_file(State(dir): State<PathBuf>, Path(name): Path<String>) -> Response {
    let Some((file, media_type)) = WASM_FILES.iter().find(|(f, _)| *f == name) else {
        return Problem::not_found(format!("no WASM package file `{name}`")).into_response();
    };
    let path = dir.join(file);
    let read = tokio::task::spawn_blocking(move || std::fs::read(path)).await;
    match read.map_err(std::io::Error::other).and_then(|r| r) {
        Ok(bytes) => respond(media_type, bytes),
        Err(error) => {
            tracing::debug!(%error, dir = %dir.display(), "WASM package file not served");
            Problem::new(
                StatusCode::NOT_FOUND,
                "wasm_not_built",
                format!(
                    "the WASM engine is not in `{}` (build it with `bash bindings/wasm/build.sh`, or set `[ui] wasm_dir`); the UI previews with `POST /v1/evaluate` instead",
                    dir.display()
                ),
            )
            .into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt;

    async fn get(router: Router, uri: &str) -> (StatusCode, Option<String>, Vec<u8>) {
        let response = router
            .oneshot(Request::get(uri).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let kind = response
            .headers()
            .get(header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap().to_owned());
        let body = axum::body::to_bytes(response.into_body(), 1 << 24)
            .await
            .unwrap();
        (status, kind, body.to_vec())
    }

    fn ui(dir: PathBuf) -> Router {
        router(&UiConfig { wasm_dir: dir })
    }

    #[tokio::test]
    async fn the_root_redirects_to_the_page() {
        let response = ui(PathBuf::from("nowhere"))
            .oneshot(Request::get("/").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert!(response.status().is_redirection());
        assert_eq!(response.headers()[header::LOCATION], "/ui/");
    }

    #[tokio::test]
    async fn every_asset_is_embedded_with_its_type() {
        let (status, kind, body) = get(ui(PathBuf::from("nowhere")), "/ui/").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(kind.as_deref(), Some("text/html; charset=utf-8"));
        assert!(String::from_utf8(body).unwrap().contains("app.js"));
        for a in ASSETS {
            let (status, kind, body) =
                get(ui(PathBuf::from("nowhere")), &format!("/ui/{}", a.name)).await;
            assert_eq!(status, StatusCode::OK, "{}", a.name);
            assert_eq!(kind.as_deref(), Some(a.media_type));
            assert!(!body.is_empty());
        }
        let (status, _, _) = get(ui(PathBuf::from("nowhere")), "/ui/secret.txt").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }

    #[tokio::test]
    async fn the_wasm_package_is_served_from_its_directory_only() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("gatehouse_wasm_bg.wasm"), b"\0asm").unwrap();
        std::fs::write(dir.path().join("other.txt"), b"no").unwrap();
        let (status, kind, body) = get(
            ui(dir.path().to_path_buf()),
            "/ui/pkg/gatehouse_wasm_bg.wasm",
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(kind.as_deref(), Some("application/wasm"));
        assert_eq!(body, b"\0asm");
        for refused in [
            "/ui/pkg/other.txt",
            "/ui/pkg/..%2Fother.txt",
            "/ui/pkg/gatehouse_wasm.js",
        ] {
            let (status, _, _) = get(ui(dir.path().to_path_buf()), refused).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{refused}");
        }
    }
}
