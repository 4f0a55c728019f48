//! The browser UI's WASM package from an installation's point of view: a server configured only
//! by `GATEHOUSE_UI_WASM_DIR` serves the package from there; one whose directory lacks it still
//! serves the page, which says that in-browser previews are unavailable and how to enable them.
//! (The layouts beside the executable are the CLI tests' `serve` cases and `ui`'s unit tests.)

use std::path::Path;

use gatehouse_http::Config;
use gatehouse_http::config::{ENV_CONFIG, ENV_UI_WASM_DIR, Overrides};
use reqwest::{Method, StatusCode};

use crate::harness::*;

/// A server whose environment is `GATEHOUSE_CONFIG` (the test config) and
/// `GATEHOUSE_UI_WASM_DIR=wasm_dir`.
async fn serve_with_wasm_dir(wasm_dir: &Path) -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("gatehouse.toml");
    std::fs::write(&file, config_toml("")).unwrap();
    let flags = Overrides {
        database: Some(dir.path().join("gatehouse.db").display().to_string()),
        policies: Some(policies()),
        ..Overrides::default()
    };
    let (file, wasm_dir) = (file.display().to_string(), wasm_dir.display().to_string());
    let config = Config::load(&flags, |name| match name {
        ENV_CONFIG => Some(file.clone()),
        ENV_UI_WASM_DIR => Some(wasm_dir.clone()),
        _ => None,
    })
    .unwrap();
    assert!(!config.demo);
    Harness::with_loaded(dir, config).await
}

async fn text_of(h: &Harness, path: &str) -> (StatusCode, String, String) {
    let r = h.request(Method::GET, path, None).send().await.unwrap();
    let status = r.status();
    let kind = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, kind, r.text().await.unwrap())
}

#[tokio::test]
async fn the_environment_names_the_wasm_package_directory() {
    let pkg = tempfile::tempdir().unwrap();
    std::fs::write(
        pkg.path().join("gatehouse_wasm.js"),
        "export default function init() {} // fake",
    )
    .unwrap();
    std::fs::write(
        pkg.path().join("gatehouse_wasm_bg.wasm"),
        b"\0asm\x01\0\0\0",
    )
    .unwrap();
    let h = serve_with_wasm_dir(pkg.path()).await;
    let (status, kind, body) = text_of(&h, "/ui/pkg/gatehouse_wasm.js").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(kind, "text/javascript; charset=utf-8");
    assert_eq!(body, "export default function init() {} // fake");
    let (status, _, page) = text_of(&h, "/ui/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(!page.contains("wasm-notice"), "{page}");
    h.stop().await;
}

#[tokio::test]
async fn without_the_package_the_page_explains_how_to_enable_previews() {
    let empty = tempfile::tempdir().unwrap();
    let h = serve_with_wasm_dir(empty.path()).await;
    let (status, kind, page) = text_of(&h, "/ui/").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(kind, "text/html; charset=utf-8");
    assert!(
        page.contains("<script type=\"module\" src=\"app.js\">"),
        "{page}"
    );
    assert!(
        page.contains("In-browser previews are unavailable"),
        "{page}"
    );
    assert!(page.contains("GATEHOUSE_UI_WASM_DIR"), "{page}");
    assert!(page.contains("share/gatehouse/ui/pkg"), "{page}");
    // The package's files answer a problem saying the same, not a bare 404 page.
    let (status, p) = json_of(
        h.request(Method::GET, "/ui/pkg/gatehouse_wasm_bg.wasm", None)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(p["code"], "wasm_not_installed", "{p}");
    assert!(
        p["detail"]
            .as_str()
            .unwrap()
            .contains("GATEHOUSE_UI_WASM_DIR"),
        "{p}"
    );
    h.stop().await;
}
