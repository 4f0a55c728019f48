//! The lifecycle rules through the control plane's operations, with no server: submit, approve,
//! cancel and pipeline reports on a SQLite store, each refusal a typed error.

use gatehouse_control::config::ExecutorConfig;
use gatehouse_control::requests::{ApprovalRequest, Callback, CallbackStatus, CancelRequest};
use gatehouse_control::signature::{SignedHeaders, sign};
use gatehouse_control::{ControlError, Role, Submitted};
use gatehouse_core::State;
use gatehouse_store::IdempotencyKey;
use serde_json::json;

use crate::support::*;

fn requester() -> gatehouse_control::Principal {
    principal("dev@example.com", Role::Requester, &[])
}

fn approver() -> gatehouse_control::Principal {
    principal(
        "approver@example.com",
        Role::Approver,
        &["finops-approver", "release-approver"],
    )
}

async fn created(
    submitted: Result<Submitted, ControlError>,
) -> gatehouse_control::deployment::DeploymentView {
    match submitted.unwrap() {
        Submitted::Created(view) => *view,
        Submitted::Replayed(_) => panic!("replayed"),
    }
}

#[tokio::test]
async fn an_allowed_intent_is_validated_and_an_idempotent_retry_replays_it() {
    let dir = tempfile::tempdir().unwrap();
    let plane = plane(dir.path(), ExecutorConfig::None).await;
    let intent = example("web-frontend-dev-allowed.yaml");
    let body = serde_json::to_vec(&intent).unwrap();
    let key = IdempotencyKey::new("k-1", &body);
    let view = created(
        plane
            .submit(&requester(), intent.clone(), Some(key.clone()), None)
            .await,
    )
    .await;
    assert_eq!(view.deployment.head.state, State::Validated);
    assert_eq!(view.etag, view.deployment.last_hash);
    let again = plane
        .submit(&requester(), intent.clone(), Some(key), None)
        .await
        .unwrap();
    let Submitted::Replayed(stored) = again else {
        panic!("stored twice")
    };
    assert!(stored.body.get().contains(&view.deployment.head.id));
    assert_eq!(stored.etag, view.etag);
    let other = plane
        .submit(
            &requester(),
            intent,
            Some(IdempotencyKey::new("k-1", b"another body")),
            None,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(other, ControlError::IdempotencyKeyReused { .. }),
        "{other}"
    );
    assert!(plane.verify().await.unwrap().ok);
}

#[tokio::test]
async fn roles_and_schema_are_checked_before_anything_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let plane = plane(dir.path(), ExecutorConfig::None).await;
    let auditor = principal("auditor@example.com", Role::Auditor, &[]);
    let err = plane
        .submit(
            &auditor,
            example("web-frontend-dev-allowed.yaml"),
            None,
            None,
        )
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        ControlError::PermissionDenied {
            role: Some(Role::Auditor),
            ..
        }
    ));
    let err = plane
        .submit(&requester(), json!({"spec": {"service": 3}}), None, None)
        .await
        .unwrap_err();
    let ControlError::InvalidIntent { errors, .. } = err else {
        panic!("{err}")
    };
    assert!(!errors.is_empty());
    let page = plane
        .list(&gatehouse_store::deployment::ListQuery {
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(page.total, 0);
}

#[tokio::test]
async fn an_over_budget_intent_waits_for_a_second_person_and_validates_on_approval() {
    let dir = tempfile::tempdir().unwrap();
    let plane = plane(dir.path(), ExecutorConfig::None).await;
    let mut intent = example("web-frontend-dev-allowed.yaml");
    intent["spec"]["estimated_monthly_cost"] = json!(640);
    let view = created(plane.submit(&requester(), intent, None, None).await).await;
    assert_eq!(view.deployment.head.state, State::Requested);
    let id = view.deployment.head.id.clone();
    let approve = |who: gatehouse_control::Principal, etag: String, role: &str| {
        let plane = std::sync::Arc::clone(&plane);
        let id = id.clone();
        let request = ApprovalRequest {
            role: role.into(),
            comment: Some("ok".into()),
        };
        async move { plane.approve(&who, &id, &etag, request, None).await }
    };
    // The requester of the intent cannot approve it, whatever roles they hold.
    let erin = principal("erin@example.com", Role::Approver, &["finops-approver"]);
    let err = approve(erin, view.etag.clone(), "finops-approver")
        .await
        .unwrap_err();
    assert!(matches!(err, ControlError::SelfApproval { .. }), "{err}");
    let err = approve(approver(), "\"stale\"".into(), "finops-approver")
        .await
        .unwrap_err();
    assert!(matches!(err, ControlError::StaleEtag { .. }), "{err}");
    let err = approve(approver(), view.etag.clone(), "security-approver")
        .await
        .unwrap_err();
    assert!(matches!(err, ControlError::RoleNotHeld { .. }), "{err}");
    let approved = approve(approver(), view.etag.clone(), "finops-approver")
        .await
        .unwrap();
    assert_eq!(approved.deployment.head.state, State::Validated);
    let err = approve(approver(), approved.etag.clone(), "finops-approver")
        .await
        .unwrap_err();
    assert!(
        matches!(err, ControlError::NotAwaitingApproval { .. }),
        "{err}"
    );
    assert!(plane.verify().await.unwrap().ok);
}

#[tokio::test]
async fn cancel_and_reports_follow_the_lifecycle() {
    let dir = tempfile::tempdir().unwrap();
    let plane = plane(dir.path(), ExecutorConfig::None).await;
    let intent = example("web-frontend-dev-allowed.yaml");
    let view = created(plane.submit(&requester(), intent.clone(), None, None).await).await;
    let id = view.deployment.head.id.clone();
    let report = |delivery: &str, callback: Callback| {
        let body = serde_json::to_vec(&callback).unwrap();
        let ts = gatehouse_control::clock::unix_seconds(plane.now());
        let sig = sign(PIPELINE_SECRET.as_bytes(), ts, &id, delivery, &body);
        let ts = ts.to_string();
        let verified = plane
            .verify_callback(
                &id,
                SignedHeaders {
                    delivery: Some(delivery),
                    timestamp: Some(&ts),
                    signature: Some(&sig),
                },
                &body,
            )
            .unwrap();
        let plane = std::sync::Arc::clone(&plane);
        async move { plane.callback(&verified, callback, None).await }
    };
    let succeeded = Callback {
        status: CallbackStatus::Succeeded,
        run_url: None,
        evidence: None,
        reason: None,
    };
    // `succeeded` before `started` is refused.
    let err = report("r-0", succeeded.clone()).await.unwrap_err();
    assert!(
        matches!(
            err,
            ControlError::IllegalTransition {
                state: State::Validated,
                ..
            }
        ),
        "{err}"
    );
    let started = Callback {
        status: CallbackStatus::Started,
        ..succeeded.clone()
    };
    let first = report("r-1", started.clone()).await.unwrap();
    assert!(!first.replayed);
    let again = report("r-1", started).await.unwrap();
    assert!(again.replayed && again.body.get() == first.body.get());
    // A running deployment cannot be cancelled.
    let current = plane.deployment(&id).await.unwrap();
    let err = plane
        .cancel(
            &requester(),
            &id,
            &current.etag,
            CancelRequest::default(),
            None,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            ControlError::IllegalTransition {
                state: State::InProgress,
                ..
            }
        ),
        "{err}"
    );
    // Evidence that matches the intent passes the gates.
    let evidence = json!({
        "smoke": [{"name": "health", "passed": true}, {"name": "synthetic-transaction", "passed": true}],
        "observed": {
            "artifact": intent["spec"]["artifact"],
            "account": intent["spec"]["target"]["account"],
            "region": intent["spec"]["target"]["region"],
        }
    });
    report(
        "r-2",
        Callback {
            evidence: Some(evidence),
            ..succeeded
        },
    )
    .await
    .unwrap();
    assert_eq!(
        plane.deployment(&id).await.unwrap().deployment.head.state,
        State::Success
    );
    // A forged signature never reaches the store.
    let err = plane
        .verify_callback(
            &id,
            SignedHeaders {
                delivery: Some("x"),
                timestamp: Some("1"),
                signature: Some("sha256=00"),
            },
            b"{}",
        )
        .unwrap_err();
    assert!(matches!(err, ControlError::Signature(_)), "{err}");
    assert!(plane.verify().await.unwrap().ok);
}

#[tokio::test]
async fn a_requester_cancels_their_own_validated_deployment_only() {
    let dir = tempfile::tempdir().unwrap();
    let plane = plane(dir.path(), ExecutorConfig::None).await;
    let view = created(
        plane
            .submit(
                &requester(),
                example("web-frontend-dev-allowed.yaml"),
                None,
                None,
            )
            .await,
    )
    .await;
    let id = &view.deployment.head.id;
    let mallory = principal("mallory@example.com", Role::Requester, &[]);
    let err = plane
        .cancel(&mallory, id, &view.etag, CancelRequest::default(), None)
        .await
        .unwrap_err();
    assert!(matches!(err, ControlError::NotOwner { .. }), "{err}");
    let err = plane
        .cancel(
            &requester(),
            id,
            &view.etag,
            CancelRequest {
                reason: Some("a\nb".into()),
            },
            None,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, ControlError::ControlCharacter { .. }),
        "{err}"
    );
    let cancelled = plane
        .cancel(&requester(), id, &view.etag, CancelRequest::default(), None)
        .await
        .unwrap();
    assert_eq!(cancelled.deployment.head.state, State::Cancelled);
}
