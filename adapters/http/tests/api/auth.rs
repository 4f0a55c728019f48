//! 401 and 403 per role.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::harness::*;

#[tokio::test]
async fn each_role_gets_exactly_its_permissions() {
    let h = Harness::start().await;
    let submit = json!({"intent": dev_intent()});
    let evaluate = json!({"intent": dev_intent()});
    let id = h.submit(dev_intent()).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // (method, path, body, tokens allowed)
    let cases: Vec<(Method, String, Option<serde_json::Value>, Vec<&str>)> = vec![
        (
            Method::GET,
            "/v1/deployments".into(),
            None,
            vec![REQUESTER, APPROVER, AUDITOR, ADMIN],
        ),
        (
            Method::GET,
            format!("/v1/deployments/{id}"),
            None,
            vec![REQUESTER, APPROVER, AUDITOR, ADMIN],
        ),
        (
            Method::GET,
            format!("/v1/deployments/{id}/events"),
            None,
            vec![REQUESTER, APPROVER, AUDITOR, ADMIN],
        ),
        (
            Method::GET,
            "/v1/audit/verify".into(),
            None,
            vec![REQUESTER, APPROVER, AUDITOR, ADMIN],
        ),
        (
            Method::GET,
            "/v1/signals".into(),
            None,
            vec![REQUESTER, APPROVER, AUDITOR, ADMIN],
        ),
        (
            Method::GET,
            "/v1/policies".into(),
            None,
            vec![REQUESTER, APPROVER, AUDITOR, ADMIN],
        ),
        (
            Method::POST,
            "/v1/evaluate".into(),
            Some(evaluate),
            vec![REQUESTER, APPROVER, AUDITOR, ADMIN],
        ),
        (
            Method::POST,
            "/v1/deployments".into(),
            Some(submit),
            vec![REQUESTER, ADMIN],
        ),
        (Method::POST, "/v1/admin/reload".into(), None, vec![ADMIN]),
    ];
    for (method, path, body, allowed) in cases {
        for token in [
            None,
            Some("not-a-token"),
            Some(REQUESTER),
            Some(APPROVER),
            Some(AUDITOR),
            Some(ADMIN),
        ] {
            let mut r = h.request(method.clone(), &path, token);
            if let Some(body) = &body {
                r = r.json(body);
            }
            let response = r.send().await.unwrap();
            let status = response.status();
            let www = response.headers().get("www-authenticate").cloned();
            let want = match token {
                None | Some("not-a-token") => StatusCode::UNAUTHORIZED,
                Some(t) if allowed.contains(&t) => {
                    if method == Method::POST && path == "/v1/deployments" {
                        StatusCode::CREATED
                    } else {
                        StatusCode::OK
                    }
                }
                Some(_) => StatusCode::FORBIDDEN,
            };
            assert_eq!(status, want, "{method} {path} with {token:?}");
            if status == StatusCode::UNAUTHORIZED {
                assert!(www.is_some(), "401 without WWW-Authenticate");
            }
        }
    }
    // Approvals and cancel: roles are checked before anything else.
    for (path, denied) in [
        (
            format!("/v1/deployments/{id}/approvals"),
            vec![REQUESTER, AUDITOR],
        ),
        (format!("/v1/deployments/{id}/cancel"), vec![AUDITOR]),
    ] {
        for token in denied {
            let r = h
                .request(Method::POST, &path, Some(token))
                .header("if-match", "\"x\"")
                .json(&json!({"role": "finops-approver"}))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::FORBIDDEN, "{path} with {token}");
        }
    }
    h.stop().await;
}

#[tokio::test]
async fn anonymous_read_opens_reads_only() {
    let h = Harness::with_config("anonymous_read = true\n").await;
    let r = h
        .request(Method::GET, "/v1/deployments", None)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = h
        .request(Method::POST, "/v1/evaluate", None)
        .json(&json!({"intent": dev_intent()}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = h
        .request(Method::POST, "/v1/deployments", None)
        .json(&json!({"intent": dev_intent()}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    h.stop().await;
}

#[tokio::test]
async fn whoami_names_the_caller() {
    let h = Harness::start().await;
    let (status, me) = h.get("/v1/whoami", APPROVER).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["name"], "approver@example.com");
    assert_eq!(me["role"], "approver");
    assert_eq!(
        me["approval_roles"],
        json!(["finops-approver", "release-approver"])
    );
    assert_eq!(me["demo"], false);
    let (status, me) = json_of(
        h.request(Method::GET, "/v1/whoami", None)
            .send()
            .await
            .unwrap(),
    )
    .await;
    // Without a token: nobody, and not a demo server.
    assert_eq!(status, StatusCode::OK, "{me}");
    assert!(me["name"].is_null(), "{me}");
    assert_eq!(me["demo"], false);
    let (status, _) = h.get("/v1/whoami", "not-a-token").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    h.stop().await;
    let h = Harness::with_config("anonymous_read = true").await;
    let (status, me) = json_of(
        h.request(Method::GET, "/v1/whoami", None)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["name"], serde_json::Value::Null);
    h.stop().await;
}
