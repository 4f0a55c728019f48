//! The decision log: every evaluation gets an id; with the log on, a record with the intent's
//! configured fields masked, readable by auditors and admins by id and by time range.

use gatehouse_control::config::ExecutorConfig;
use gatehouse_control::decision_log::MASKED;
use gatehouse_control::{ControlError, Role, Submitted};
use gatehouse_core::{EvaluateRequest, Stage};
use gatehouse_store::decision_log::DecisionSource;
use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn every_evaluation_is_logged_with_masked_fields_and_read_back_in_pages() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(fresh_database(dir.path()).await, ExecutorConfig::None);
    config.settings.decision_log.enabled = true;
    config.settings.decision_log.mask =
        vec!["spec.tags.owner".into(), "spec.resources.*.name".into()];
    let store = open(&config).await;
    let plane = plane_over(config, store);
    let requester = principal("dev@example.com", Role::Requester, &[]);
    let auditor = principal("auditor@example.com", Role::Auditor, &[]);
    let intent = example("web-frontend-dev-allowed.yaml");
    let Submitted::Created(view) = plane
        .submit(&requester, intent.clone(), None, None)
        .await
        .unwrap()
    else {
        panic!("replayed")
    };
    let submitted = view.deployment.decision_id.clone().unwrap();
    let record = plane.decision(&auditor, &submitted).await.unwrap();
    assert_eq!(record.source, DecisionSource::Submit);
    assert_eq!(record.caller, "dev@example.com");
    assert_eq!(
        record.deployment_id.as_deref(),
        Some(view.deployment.head.id.as_str())
    );
    assert_eq!(record.outcome, "allow");
    // The decision as answered, but for the digest: that of the masked intent, which reveals
    // nothing about the masked values.
    let without_digest = |d: &gatehouse_core::Decision| gatehouse_core::Decision {
        intent_digest: String::new(),
        ..d.clone()
    };
    assert_eq!(
        without_digest(&record.decision),
        without_digest(&view.deployment.decision)
    );
    assert_eq!(
        record.decision.intent_digest,
        gatehouse_core::intent_digest(&record.intent)
    );
    assert_ne!(
        record.decision.intent_digest,
        view.deployment.decision.intent_digest
    );
    assert_eq!(record.intent["spec"]["tags"]["owner"], MASKED);
    assert_eq!(record.intent["spec"]["resources"][0]["name"], MASKED);
    assert_eq!(record.intent["spec"]["service"], intent["spec"]["service"]);
    assert!(record.masked.contains(&"spec.tags.owner".to_owned()));
    // The deployment's event names the same decision.
    let events = plane.events(&view.deployment.head.id).await.unwrap();
    assert_eq!(events[1].data["decision_id"], submitted.as_str());
    // Previews are logged too, each with its own id.
    let mut ids = vec![submitted];
    for _ in 0..4 {
        let evaluation = plane
            .evaluate(
                &auditor,
                EvaluateRequest::new(intent.clone(), None, Stage::Admission),
            )
            .await
            .unwrap();
        ids.push(evaluation.decision_id);
    }
    let mut read = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let page = plane
            .decisions(&auditor, None, None, cursor.as_deref(), 2)
            .await
            .unwrap();
        pages += 1;
        read.extend(page.items.iter().map(|r| r.decision_id.clone()));
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    let (mut want, mut got) = (ids.clone(), read.clone());
    want.sort();
    got.sort();
    assert_eq!(got, want, "every decision once, in time order");
    // A time range before the first decision is empty.
    let early = "2000-01-01T00:00:00Z".parse().unwrap();
    let none = plane
        .decisions(&auditor, None, Some(early), None, 10)
        .await
        .unwrap();
    assert!(none.items.is_empty() && none.next_cursor.is_none());
    // Only auditors and admins read the log; cursors are checked.
    let err = plane.decision(&requester, &ids[0]).await.unwrap_err();
    assert!(
        matches!(err, ControlError::PermissionDenied { .. }),
        "{err}"
    );
    let err = plane
        .decisions(&auditor, None, None, Some("not a cursor"), 10)
        .await
        .unwrap_err();
    assert!(matches!(err, ControlError::InvalidCursor { .. }), "{err}");
    let err = plane.decision(&auditor, "0196-unknown").await.unwrap_err();
    assert!(
        matches!(err, ControlError::DecisionNotFound { .. }),
        "{err}"
    );
}

#[tokio::test]
async fn with_the_log_off_decisions_still_get_ids_and_nothing_is_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let plane = plane(dir.path(), ExecutorConfig::None).await;
    let requester = principal("dev@example.com", Role::Requester, &[]);
    let admin = principal("admin@example.com", Role::Admin, &[]);
    let evaluation = plane
        .evaluate(
            &requester,
            EvaluateRequest::new(
                example("web-frontend-dev-allowed.yaml"),
                None,
                Stage::Admission,
            ),
        )
        .await
        .unwrap();
    assert_eq!(evaluation.decision_id.len(), 36);
    let err = plane
        .decision(&admin, &evaluation.decision_id)
        .await
        .unwrap_err();
    assert!(
        matches!(err, ControlError::DecisionLogDisabled { .. }),
        "{err}"
    );
    // A refused submission names its decision too.
    let err = plane
        .submit(&requester, json!({"spec": {}}), None, None)
        .await
        .unwrap_err();
    let ControlError::InvalidIntent { decision_id, .. } = err else {
        panic!("{err}")
    };
    assert_eq!(decision_id.len(), 36);
}
