//! The visual control plane: a browser UI served under `/ui/` that renders what the API returns
//! and never decides anything itself. Its HTML, CSS and ES modules (`adapters/http/ui/`) are
//! embedded in the binary; the WASM engine package it previews with is built separately (by
//! `bindings/wasm/build.sh`), shipped beside the binary, and read at request time from the
//! directory [`WasmPackage::locate`] chose at start:
//!
//! 1. `[ui] wasm_dir`, or `GATEHOUSE_UI_WASM_DIR` over it (taken as given, even when empty);
//! 2. `<dir of the executable>/share/gatehouse/ui/pkg`: the release archive as unpacked;
//! 3. `<dir of the executable>/../share/gatehouse/ui/pkg`: a binary installed in `<prefix>/bin`
//!    with the archive's `share/` in `<prefix>/share` (the container image, `cargo install`
//!    with the package copied to `~/.cargo/share/gatehouse/ui/pkg`);
//! 4. the source tree's `bindings/wasm/pkg` (a development build).
//!
//! Without a package the UI still loads: the page says that in-browser previews are unavailable
//! and how to enable them, and the form previews with `POST /v1/evaluate`.

use std::path::{Path as FsPath, PathBuf};
use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;

use crate::config::{ENV_UI_WASM_DIR, UiConfig};
use crate::problem::Problem;

/// One embedded asset: its name under `/ui/`, media type and bytes.
struct Asset {
    name: &'static str,
    media_type: &'static str,
    body: &'static str,
}

const JS: &str = "text/javascript; charset=utf-8";

/// Everything under `/ui/` but the page (`index.html`, see [`index_with`]).
const ASSETS: &[Asset] = &[
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

/// Where the package is in an installation, relative to the executable's directory or prefix.
const INSTALLED_PKG: &str = "share/gatehouse/ui/pkg";

/// The package `bindings/wasm/build.sh` writes in the source tree this binary was built from.
const SOURCE_TREE_PKG: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../bindings/wasm/pkg");

/// How to give a server the package: shown on the page and in the log when it has none.
const HOW_TO_ENABLE: &str = "To enable them, unpack the release archive's share/gatehouse/ui/pkg \
     beside the gatehouse binary (or into PREFIX/share/gatehouse/ui/pkg for a binary in \
     PREFIX/bin), or set GATEHOUSE_UI_WASM_DIR (or [ui] wasm_dir) to a directory holding \
     gatehouse_wasm.js and gatehouse_wasm_bg.wasm (bash bindings/wasm/build.sh builds them into \
     bindings/wasm/pkg), then restart the server.";

/// How the package directory was chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WasmOrigin {
    /// `[ui] wasm_dir` or `GATEHOUSE_UI_WASM_DIR`.
    Configured,
    /// Beside the executable, or in its prefix's `share/`.
    Installed,
    /// The source tree's `bindings/wasm/pkg`.
    SourceTree,
    /// No directory holds the package.
    Missing,
}

/// The WASM engine package the UI previews with: where it is, how that was chosen, and where
/// else it was looked for.
#[derive(Debug, Clone)]
pub struct WasmPackage {
    dir: Option<PathBuf>,
    origin: WasmOrigin,
    complete: bool,
    looked_in: Vec<PathBuf>,
}

/// Whether `dir` holds every file the UI loads.
fn holds_package(dir: &FsPath) -> bool {
    WASM_FILES.iter().all(|(file, _)| dir.join(file).is_file())
}

impl WasmPackage {
    /// Finds the package as the module documentation says, for this executable.
    pub fn locate(config: &UiConfig) -> Self {
        let exe = std::env::current_exe().ok();
        Self::locate_from(config, exe.as_deref(), FsPath::new(SOURCE_TREE_PKG))
    }

    /// [`WasmPackage::locate`] for a given executable path and source-tree package.
    fn locate_from(config: &UiConfig, exe: Option<&FsPath>, source_tree: &FsPath) -> Self {
        if let Some(dir) = &config.wasm_dir {
            return Self {
                complete: holds_package(dir),
                dir: Some(dir.clone()),
                origin: WasmOrigin::Configured,
                looked_in: vec![dir.clone()],
            };
        }
        let mut candidates = Vec::new();
        if let Some(bin) = exe.and_then(FsPath::parent) {
            candidates.push((bin.join(INSTALLED_PKG), WasmOrigin::Installed));
            if let Some(prefix) = bin.parent() {
                candidates.push((prefix.join(INSTALLED_PKG), WasmOrigin::Installed));
            }
        }
        candidates.push((source_tree.to_path_buf(), WasmOrigin::SourceTree));
        let looked_in = candidates.iter().map(|(dir, _)| dir.clone()).collect();
        match candidates.into_iter().find(|(dir, _)| holds_package(dir)) {
            Some((dir, origin)) => Self {
                dir: Some(dir.canonicalize().unwrap_or(dir)),
                origin,
                complete: true,
                looked_in,
            },
            None => Self {
                dir: None,
                origin: WasmOrigin::Missing,
                complete: false,
                looked_in,
            },
        }
    }

    /// The directory served at `/ui/pkg/`, if any.
    pub fn dir(&self) -> Option<&FsPath> {
        self.dir.as_deref()
    }

    /// Why the page previews without the engine, for everyone who opens it (no server paths:
    /// the log has them), or `None` when the package is there.
    fn notice(&self) -> Option<&'static str> {
        if self.complete {
            return None;
        }
        Some(if self.origin == WasmOrigin::Configured {
            "In-browser previews are unavailable: the WASM engine package directory this server \
             is configured with ([ui] wasm_dir or GATEHOUSE_UI_WASM_DIR) does not hold \
             gatehouse_wasm.js and gatehouse_wasm_bg.wasm, so the form's previews are computed \
             by the server (POST /v1/evaluate)."
        } else {
            "In-browser previews are unavailable: this server has no WASM engine package, so the \
             form's previews are computed by the server (POST /v1/evaluate)."
        })
    }

    /// Says in the log which directory is served, or where the package was looked for.
    fn log(&self) {
        let looked_in = self
            .looked_in
            .iter()
            .map(|d| d.display().to_string())
            .collect::<Vec<_>>()
            .join(", ");
        match (&self.dir, self.complete) {
            (Some(dir), true) => tracing::info!(
                dir = %dir.display(),
                origin = ?self.origin,
                "UI: in-browser previews with the WASM engine package in {}",
                dir.display()
            ),
            (Some(dir), false) => tracing::warn!(
                dir = %dir.display(),
                "UI: the configured WASM package directory {} ([ui] wasm_dir or {ENV_UI_WASM_DIR}) does not hold gatehouse_wasm.js and gatehouse_wasm_bg.wasm; previews use POST /v1/evaluate. {HOW_TO_ENABLE}",
                dir.display()
            ),
            (None, _) => tracing::warn!(
                looked_in = %looked_in,
                "UI: no WASM engine package (looked in {looked_in}); previews use POST /v1/evaluate. {HOW_TO_ENABLE}"
            ),
        }
    }
}

/// What the UI routes share.
struct UiState {
    package: WasmPackage,
    /// `index.html`, with the notice when there is no package.
    index: String,
}

/// `index.html` with `notice` (and how to enable previews) at the foot of every page.
fn index_with(notice: Option<&str>) -> String {
    let page = include_str!("../ui/index.html");
    match notice {
        Some(notice) => page.replacen(
            "<footer class=\"foot\">",
            &format!(
                "<footer class=\"foot\">\n    <p id=\"wasm-notice\" class=\"notice\" role=\"note\">{notice} {HOW_TO_ENABLE}</p>"
            ),
            1,
        ),
        None => page.to_owned(),
    }
}

/// The page may run its own scripts and compile WebAssembly, and talk only to this server.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; \
     style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; \
     base-uri 'none'; frame-ancestors 'none'";

/// The UI routes: `/` and `/ui` redirect to `/ui/`, `/ui/{asset}`, `/ui/pkg/{file}` (from the
/// package [`WasmPackage::locate`] finds, which it logs).
pub fn router(config: &UiConfig) -> Router {
    let package = WasmPackage::locate(config);
    package.log();
    router_for(package)
}

fn router_for(package: WasmPackage) -> Router {
    let state = Arc::new(UiState {
        index: index_with(package.notice()),
        package,
    });
    Router::new()
        .route("/", get(|| async { Redirect::to("/ui/") }))
        .route("/ui", get(|| async { Redirect::to("/ui/") }))
        .route("/ui/", get(index))
        .route("/ui/index.html", get(index))
        .route(
            "/ui/{name}",
            get(|Path(name): Path<String>| async move { asset(&name) }),
        )
        .route("/ui/pkg/{name}", get(wasm_file))
        .with_state(state)
}

async fn index(State(ui): State<Arc<UiState>>) -> Response {
    respond("text/html; charset=utf-8", ui.index.clone())
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

async fn wasm_file(State(ui): State<Arc<UiState>>, Path(name): Path<String>) -> Response {
    let Some((file, media_type)) = WASM_FILES.iter().find(|(f, _)| *f == name) else {
        return Problem::not_found(format!("no WASM package file `{name}`")).into_response();
    };
    let not_installed = || {
        Problem::new(
            StatusCode::NOT_FOUND,
            "wasm_not_installed",
            format!(
                "this server has no WASM engine package; the UI previews with `POST /v1/evaluate` instead. {HOW_TO_ENABLE}"
            ),
        )
        .into_response()
    };
    let Some(dir) = ui.package.dir().map(FsPath::to_path_buf) else {
        return not_installed();
    };
    let path = dir.join(file);
    let read = tokio::task::spawn_blocking(move || std::fs::read(path)).await;
    match read.map_err(std::io::Error::other).and_then(|r| r) {
        Ok(bytes) => respond(media_type, bytes),
        Err(error) => {
            tracing::debug!(%error, dir = %dir.display(), "WASM package file not served");
            not_installed()
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

    /// The UI with `[ui] wasm_dir = dir`.
    fn ui(dir: PathBuf) -> Router {
        router_for(WasmPackage::locate_from(
            &UiConfig {
                wasm_dir: Some(dir),
            },
            None,
            FsPath::new("/nonexistent/source-tree/pkg"),
        ))
    }

    fn fake_package(dir: &FsPath) {
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(dir.join("gatehouse_wasm.js"), b"export default 1;").unwrap();
        std::fs::write(dir.join("gatehouse_wasm_bg.wasm"), b"\0asm").unwrap();
    }

    #[test]
    fn the_package_is_configured_installed_beside_or_above_the_binary_or_in_the_source_tree() {
        let root = tempfile::tempdir().unwrap();
        let prefix = root.path().join("prefix");
        let exe = prefix.join("bin/gatehouse");
        let source = root.path().join("source/pkg");
        let unset = UiConfig::default();
        let locate = |config: &UiConfig| WasmPackage::locate_from(config, Some(&exe), &source);

        // Nothing anywhere: missing, with every place it looked.
        let none = locate(&unset);
        assert_eq!(none.origin, WasmOrigin::Missing);
        assert!(none.dir().is_none() && !none.complete);
        assert_eq!(
            none.looked_in,
            [
                prefix.join("bin/share/gatehouse/ui/pkg"),
                prefix.join("share/gatehouse/ui/pkg"),
                source.clone()
            ]
        );
        assert!(none.notice().unwrap().contains("no WASM engine package"));

        // Each place, in order: the source tree, the prefix, beside the binary.
        fake_package(&source);
        assert_eq!(locate(&unset).origin, WasmOrigin::SourceTree);
        fake_package(&prefix.join("share/gatehouse/ui/pkg"));
        let installed = locate(&unset);
        assert_eq!(installed.origin, WasmOrigin::Installed);
        assert_eq!(
            installed.dir().unwrap(),
            prefix
                .join("share/gatehouse/ui/pkg")
                .canonicalize()
                .unwrap()
        );
        assert!(installed.notice().is_none());
        fake_package(&prefix.join("bin/share/gatehouse/ui/pkg"));
        assert_eq!(
            locate(&unset).dir().unwrap(),
            prefix
                .join("bin/share/gatehouse/ui/pkg")
                .canonicalize()
                .unwrap()
        );

        // A package directory half there does not count.
        std::fs::remove_file(prefix.join("bin/share/gatehouse/ui/pkg/gatehouse_wasm.js")).unwrap();
        assert_eq!(
            locate(&unset).dir().unwrap(),
            prefix
                .join("share/gatehouse/ui/pkg")
                .canonicalize()
                .unwrap()
        );

        // A configured directory is taken as given, even without the package.
        let configured = UiConfig {
            wasm_dir: Some(root.path().join("empty")),
        };
        let chosen = locate(&configured);
        assert_eq!(chosen.origin, WasmOrigin::Configured);
        assert_eq!(chosen.dir(), Some(root.path().join("empty").as_path()));
        assert!(!chosen.complete);
        assert!(chosen.notice().unwrap().contains("[ui] wasm_dir"));
    }

    #[tokio::test]
    async fn without_a_package_the_page_says_previews_are_unavailable_and_how_to_enable_them() {
        let missing = WasmPackage::locate_from(
            &UiConfig::default(),
            None,
            FsPath::new("/nonexistent/source-tree/pkg"),
        );
        for uri in ["/ui/", "/ui/index.html"] {
            let (status, kind, body) = get(router_for(missing.clone()), uri).await;
            assert_eq!(status, StatusCode::OK);
            assert_eq!(kind.as_deref(), Some("text/html; charset=utf-8"));
            let page = String::from_utf8(body).unwrap();
            assert!(page.contains("id=\"wasm-notice\""), "{page}");
            assert!(page.contains("In-browser previews are unavailable"));
            assert!(page.contains("GATEHOUSE_UI_WASM_DIR"));
        }
        let (status, kind, body) = get(router_for(missing), "/ui/pkg/gatehouse_wasm.js").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(kind.as_deref(), Some("application/problem+json"));
        let problem: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(problem["code"], "wasm_not_installed", "{problem}");

        // With the package: no notice.
        let dir = tempfile::tempdir().unwrap();
        fake_package(dir.path());
        let (_, _, body) = get(ui(dir.path().to_path_buf()), "/ui/").await;
        assert!(!String::from_utf8(body).unwrap().contains("wasm-notice"));
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
