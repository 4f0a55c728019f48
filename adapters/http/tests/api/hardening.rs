//! Smaller guarantees: redacted remote text, demo mode on loopback only, who may cancel, strong
//! ETags only, no control characters in identities, what is readable without a token.

use gatehouse_http::{Config, Server};
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::harness::*;

#[tokio::test]
async fn webhook_urls_and_remote_bodies_are_not_stored() {
    let receiver = Receiver::start(404).await;
    *receiver.answer.lock().unwrap() = "SECRET-BODY \u{1b}[31mred\nforged log line".into();
    let h = Harness::with_config(&format!(
        "[executor]\nkind = \"webhook\"\nurl = \"http://user:pw@{}/hooks?token=hunter2#frag\"\nsecret = \"webhook-secret-0123456789\"\n",
        receiver.url.trim_start_matches("http://")
    ))
    .await;
    let id = h.submit(dev_intent()).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let d = h.wait_for_state(&id, "FAILED").await;
    let (_, events) = h
        .get(&format!("/v1/deployments/{id}/events"), AUDITOR)
        .await;
    let stored = format!("{d}{events}");
    for secret in ["hunter2", "token=", "pw@", "SECRET-BODY", "frag", "\u{1b}"] {
        assert!(!stored.contains(secret), "`{secret}` stored: {stored}");
    }
    assert!(stored.contains("404"), "{stored}");
    h.stop().await;
}

#[tokio::test]
async fn demo_mode_refuses_a_non_loopback_address() {
    let mut config = Config::demo();
    config.listen = "0.0.0.0:0".parse().unwrap();
    let dir = tempfile::tempdir().unwrap();
    config.control.database = dir.path().join("demo.db").into();
    config.control.policies = policies();
    let err = match Server::start_with(config, clock(), |_| None).await {
        Ok(server) => {
            server.shutdown().await.unwrap();
            panic!("a demo server listened on 0.0.0.0")
        }
        Err(e) => e.to_string(),
    };
    assert!(err.contains("loopback"), "{err}");
}

#[tokio::test]
async fn a_requester_cancels_only_their_own_deployments() {
    let h = Harness::start().await;
    // dev@example.com submits; the intent names erin@example.com as the requester.
    let d = h.submit(dev_intent()).await;
    let id = d["id"].as_str().unwrap().to_owned();
    let cancel = |token: &'static str, etag: String| {
        h.request(
            Method::POST,
            &format!("/v1/deployments/{id}/cancel"),
            Some(token),
        )
        .header("if-match", etag)
        .send()
    };
    let etag = format!("\"{}\"", d["etag"].as_str().unwrap());
    let (status, p) = json_of(cancel(REQUESTER2, etag.clone()).await.unwrap()).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{p}");
    let (status, d) = json_of(cancel(REQUESTER, etag).await.unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{d}");
    // An approver may cancel anyone's.
    let d = h.submit(dev_intent()).await;
    let id2 = d["id"].as_str().unwrap().to_owned();
    let (status, d) = json_of(
        h.request(
            Method::POST,
            &format!("/v1/deployments/{id2}/cancel"),
            Some(APPROVER),
        )
        .header("if-match", format!("\"{}\"", d["etag"].as_str().unwrap()))
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{d}");
    h.stop().await;
}

#[tokio::test]
async fn if_match_takes_only_a_strong_etag() {
    let h = Harness::start().await;
    let d = h.submit(dev_intent()).await;
    let id = d["id"].as_str().unwrap().to_owned();
    let etag = d["etag"].as_str().unwrap().to_owned();
    for value in ["*".to_owned(), format!("W/\"{etag}\"")] {
        let (status, p) = json_of(
            h.request(
                Method::POST,
                &format!("/v1/deployments/{id}/cancel"),
                Some(REQUESTER),
            )
            .header("if-match", &value)
            .send()
            .await
            .unwrap(),
        )
        .await;
        assert!(
            status == StatusCode::PRECONDITION_FAILED || status == StatusCode::BAD_REQUEST,
            "{value}: {status} {p}"
        );
    }
    assert_eq!(h.event_types(&id).await, ["requested", "validated"]);
    h.stop().await;
}

#[tokio::test]
async fn control_characters_in_comments_and_reasons_are_refused() {
    let h = Harness::start().await;
    let mut intent = dev_intent();
    intent["spec"]["estimated_monthly_cost"] = json!(640);
    let d = h.submit(intent).await;
    let id = d["id"].as_str().unwrap().to_owned();
    let etag = format!("\"{}\"", d["etag"].as_str().unwrap());
    let (status, p) = json_of(
        h.request(
            Method::POST,
            &format!("/v1/deployments/{id}/approvals"),
            Some(APPROVER),
        )
        .header("if-match", &etag)
        .json(&json!({"role": "finops-approver", "comment": "ok\u{1b}[2K\rapproved by ceo"}))
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{p}");
    let (status, p) = json_of(
        h.request(
            Method::POST,
            &format!("/v1/deployments/{id}/cancel"),
            Some(REQUESTER),
        )
        .header("if-match", &etag)
        .json(&json!({"reason": "line\nforged"}))
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{p}");
    assert_eq!(h.event_types(&id).await, ["requested", "approval_required"]);
    h.stop().await;
}

#[tokio::test]
async fn bidirectional_and_zero_width_characters_in_comments_and_reasons_are_refused() {
    let h = Harness::start().await;
    let mut intent = dev_intent();
    intent["spec"]["estimated_monthly_cost"] = json!(640);
    let d = h.submit(intent).await;
    let id = d["id"].as_str().unwrap().to_owned();
    let etag = format!("\"{}\"", d["etag"].as_str().unwrap());
    // U+202E turns the rest of a line around on screen; U+200B hides inside a word.
    for comment in ["approved \u{202e}devorppa ton", "appro\u{200b}ved"] {
        let (status, p) = json_of(
            h.request(
                Method::POST,
                &format!("/v1/deployments/{id}/approvals"),
                Some(APPROVER),
            )
            .header("if-match", &etag)
            .json(&json!({"role": "finops-approver", "comment": comment}))
            .send()
            .await
            .unwrap(),
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{comment:?}: {p}");
        assert_eq!(p["code"], "control_character", "{p}");
    }
    let (status, p) = json_of(
        h.request(
            Method::POST,
            &format!("/v1/deployments/{id}/cancel"),
            Some(REQUESTER),
        )
        .header("if-match", &etag)
        .json(&json!({"reason": "cancelled \u{202e}kcab"}))
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{p}");
    assert_eq!(h.event_types(&id).await, ["requested", "approval_required"]);
    h.stop().await;
}

/// The OpenAPI document's patterns for free text refuse exactly what the operations refuse
/// (control characters and, in the Basic Multilingual Plane, formatting characters), so a
/// client that validates against the document is never answered 422 for text it let through,
/// and the document promises nothing the server refuses.
#[test]
fn the_documented_text_patterns_agree_with_the_server() {
    let doc = gatehouse_http::openapi_json().unwrap();
    let schemas = &doc["components"]["schemas"];
    let patterns = [
        &schemas["ApprovalRequest"]["properties"]["role"]["pattern"],
        &schemas["ApprovalRequest"]["properties"]["comment"]["pattern"],
        &schemas["CancelRequest"]["properties"]["reason"]["pattern"],
        &schemas["Callback"]["properties"]["reason"]["pattern"],
    ];
    for pattern in patterns {
        let pattern = pattern
            .as_str()
            .unwrap_or_else(|| panic!("no pattern in {pattern}"));
        let regex = regex::Regex::new(pattern).unwrap();
        for c in (0u32..=0xffff).filter_map(char::from_u32) {
            let refused = gatehouse_control::rules::has_control(&c.to_string());
            assert_eq!(
                regex.is_match(&c.to_string()),
                !refused,
                "U+{:04X}: the pattern {pattern} and the server disagree",
                c as u32
            );
        }
    }
}

#[tokio::test]
async fn metrics_and_whoami_need_a_token_unless_the_config_allows() {
    let h = Harness::start().await;
    let status = |path: &'static str, token: Option<&'static str>| {
        let r = h.request(Method::GET, path, token).send();
        async move { r.await.unwrap().status() }
    };
    assert_eq!(status("/metrics", None).await, StatusCode::UNAUTHORIZED);
    assert_eq!(status("/metrics", Some(AUDITOR)).await, StatusCode::OK);
    assert_eq!(status("/v1/whoami", Some(AUDITOR)).await, StatusCode::OK);
    // Without a token whoami names nobody and says this is not a demo server: no demo details.
    let (status, me) = json_of(
        h.request(Method::GET, "/v1/whoami", None)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        me,
        json!({"name": null, "role": null, "approval_roles": [], "demo": false})
    );
    h.stop().await;
    let h = Harness::with_config("[metrics]\npublic = true\n").await;
    let r = h
        .request(Method::GET, "/metrics", None)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    h.stop().await;
}

#[tokio::test]
async fn an_origin_that_does_not_parse_is_a_config_error() {
    let config =
        Config::from_toml("[cors]\nallowed_origins = [\"https://portal .example.com\"]\n").unwrap();
    let err = config.validate().unwrap_err().to_string();
    assert!(err.contains("portal .example.com"), "{err}");
}

#[test]
fn control_characters_in_token_names_are_a_config_error() {
    let config = Config::from_toml(&format!(
        "[[tokens]]\nname = \"mallory\\u001b[2K\"\nrole = \"admin\"\nsha256 = \"{}\"\n",
        "a".repeat(64)
    ))
    .unwrap();
    let err = config.validate().unwrap_err().to_string();
    assert!(err.contains("control character"), "{err}");
}

#[test]
fn bidirectional_and_zero_width_characters_in_token_names_are_a_config_error() {
    // `\u202E` reverses what follows on screen; `\u200B` makes a second "admin" look like the
    // first. Both would be recorded as actors and shown in logs and the UI.
    for (name, code) in [
        ("mallory\u{202E}nimda", "U+202E"),
        ("ad\u{200B}min@example.com", "U+200B"),
        ("\u{2067}eve", "U+2067"),
        ("eve\u{FEFF}", "U+FEFF"),
    ] {
        let config = Config::from_toml(&format!(
            "[[tokens]]\nname = \"{name}\"\nrole = \"admin\"\nsha256 = \"{}\"\n",
            "a".repeat(64)
        ))
        .unwrap();
        let err = config.validate().unwrap_err().to_string();
        assert!(err.starts_with("config: tokens[0].name: "), "{err}");
        assert!(err.contains(code), "{name:?}: {err}");
    }
    // Names in other scripts stay valid.
    let config = Config::from_toml(&format!(
        "[[tokens]]\nname = \"Zoë Ångström 李\"\nrole = \"admin\"\nsha256 = \"{}\"\n",
        "a".repeat(64)
    ))
    .unwrap();
    assert!(config.validate().is_ok());
}

#[test]
fn a_wildcard_origin_is_a_config_error() {
    for origin in [
        "https://*.example.com",
        "https://*",
        "http://portal.*.example.com:8080",
        "https://example..com",
    ] {
        let config =
            Config::from_toml(&format!("[cors]\nallowed_origins = [\"{origin}\"]\n")).unwrap();
        let err = config.validate().unwrap_err().to_string();
        assert!(err.contains(&format!("`{origin}`")), "{origin}: {err}");
        assert!(err.contains("no wildcard"), "{origin}: {err}");
    }
    for origin in [
        "https://portal.example.com",
        "http://127.0.0.1:5173",
        "http://[::1]:8080",
    ] {
        let config =
            Config::from_toml(&format!("[cors]\nallowed_origins = [\"{origin}\"]\n")).unwrap();
        assert!(config.validate().is_ok(), "{origin}");
    }
}
