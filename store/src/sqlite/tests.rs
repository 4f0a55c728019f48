use gatehouse_core::{Outcome, ViolationStatus};
use serde_json::json;

use super::*;
use crate::deployment::DispatchBrief;
use crate::outbox::{DispatchStatus, Renewal};

fn t(s: &str) -> Timestamp {
    s.parse().unwrap()
}

/// A database file as version 1 wrote it: one deployment held by `cost.ceiling`, one callback
/// delivery recorded by its `started` event, an idempotency key, a pending dispatch.
fn version_1_file(path: &Path) {
    let conn = Connection::open(path).unwrap();
    conn.execute_batch(migrations::MIGRATIONS[0]).unwrap();
    // A full core decision, as every version stored (the migration reads its violations).
    let decision = crate::testing::decision(
        Outcome::NeedsApproval,
        &[
            ("cost.ceiling", ViolationStatus::PendingApproval),
            ("tags.required", ViolationStatus::Blocking),
            ("cost.ceiling", ViolationStatus::Blocking),
        ],
    );
    conn.execute(
        "INSERT INTO deployments (id, state, service, version, artifact, environment, cloud, account, \
         region, requested_by, submitted_by, created_at, created_ns, updated_at, intent, decision, \
         bundle_digest, last_seq, last_hash) VALUES ('dep_1', 'VALIDATED', 'svc', '1', 'a', 'dev', 'aws', \
         '1', 'r', 'erin', 'dev', '2026-11-23T10:00:00Z', ?1, '2026-11-23T10:00:00Z', '{}', ?2, 'sha256:x', 3, 'h3')",
        params![
            nanos(t("2026-11-23T10:00:00Z")),
            serde_json::to_string(&decision).unwrap()
        ],
    )
    .unwrap();
    conn.execute(
        "INSERT INTO events (position, deployment_id, seq, type, at, actor, data, prev_hash, hash, link) \
         VALUES (3, 'dep_1', 3, 'started', '2026-11-23T10:00:00Z', 'pipeline', ?1, 'h2', 'h3', 'l3')",
        params![json!({"delivery_id": "run-1"}).to_string()],
    )
    .unwrap();
    conn.execute_batch(
        "INSERT INTO deliveries VALUES ('run-1', 'sha', 200, '{\"state\":\"IN_PROGRESS\"}');
         INSERT INTO idempotency VALUES ('dev', 'k-1', 'sha', 201, '{}');
         INSERT INTO outbox (deployment_id, executor, payload, status, next_attempt_at, next_attempt_ns) \
            VALUES ('dep_1', 'webhook', '{}', 'pending', '2026-11-23T10:00:00Z', 0);
         INSERT INTO ledger_head VALUES (1, 3, 'l3');
         PRAGMA user_version = 1;",
    )
    .unwrap();
}

#[tokio::test]
async fn a_version_1_database_is_migrated_and_keeps_its_rows() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v1.db");
    version_1_file(&path);
    let store = SqliteStore::open(&path).await.unwrap();
    let version: i64 = Connection::open(&path)
        .unwrap()
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, SCHEMA_VERSION);
    // The delivery now belongs to its deployment; the same id is free on another one.
    let seen = store.delivery("dep_1", "run-1").await.unwrap().unwrap();
    assert_eq!(seen.body, "{\"state\":\"IN_PROGRESS\"}");
    assert!(store.delivery("dep_2", "run-1").await.unwrap().is_none());
    assert!(store.idempotent("dev", "k-1").await.unwrap().is_some());
    let page = store
        .list(&ListQuery {
            limit: 10,
            ..ListQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(page.total, 1);
    assert_eq!(page.items[0].outcome, "needs_approval");
    assert_eq!(page.items[0].etag, "h3");
    assert_eq!(
        page.items[0].dispatch,
        Some(DispatchBrief {
            status: DispatchStatus::Pending,
            attempts: 0
        })
    );
    let data = store
        .signal_data(t("2026-11-01T00:00:00Z"), 10)
        .await
        .unwrap();
    assert_eq!(
        data.policies,
        vec![
            ("cost.ceiling".to_owned(), 1, 0),
            ("tags.required".to_owned(), 1, 1)
        ]
    );
    drop(store);
    // Opening again applies nothing and keeps everything.
    let store = SqliteStore::open(&path).await.unwrap();
    assert!(store.delivery("dep_1", "run-1").await.unwrap().is_some());
}

#[tokio::test]
async fn a_newer_database_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new.db");
    Connection::open(&path)
        .unwrap()
        .execute_batch("PRAGMA user_version = 99")
        .unwrap();
    let err = SqliteStore::open(&path).await.err().unwrap();
    assert!(
        matches!(err, StoreError::NewerSchema { found: 99, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("newer gatehouse"), "{err}");
}

#[tokio::test]
async fn a_lease_holds_until_it_expires_and_only_validated_deployments_are_claimed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lease.db");
    version_1_file(&path);
    let store = SqliteStore::open(&path).await.unwrap();
    let claim = |owner: &str, now: &str, until: &str| {
        let claim = Claim {
            owner: owner.into(),
            now: t(now),
            lease_until: t(until),
            limit: 10,
        };
        let store = store.clone();
        async move { store.claim_dispatches(&claim).await.unwrap() }
    };
    assert_eq!(
        claim("a", "2026-11-23T10:00:00Z", "2026-11-23T10:01:00Z")
            .await
            .len(),
        1
    );
    // Held by `a`: nobody else gets it, `a` included, until the lease ends.
    assert!(
        claim("b", "2026-11-23T10:00:30Z", "2026-11-23T10:01:30Z")
            .await
            .is_empty()
    );
    assert_eq!(
        store.next_due().await.unwrap(),
        Some(t("2026-11-23T10:01:00Z"))
    );
    // `a` died: after the lease the entry is claimable again.
    assert_eq!(
        claim("b", "2026-11-23T10:01:00Z", "2026-11-23T10:02:00Z")
            .await
            .len(),
        1
    );
    // Only the holder renews a live lease before an attempt; `a`'s has passed to `b`.
    let renew = |owner: &str, now: &str| Renewal {
        dispatch_id: 1,
        owner: owner.into(),
        now: t(now),
        lease_until: t("2026-11-23T10:03:00Z"),
    };
    assert!(
        !store
            .renew_lease(&renew("a", "2026-11-23T10:01:30Z"))
            .await
            .unwrap()
    );
    assert!(
        store
            .renew_lease(&renew("b", "2026-11-23T10:01:30Z"))
            .await
            .unwrap()
    );
    assert_eq!(
        store.next_due().await.unwrap(),
        Some(t("2026-11-23T10:03:00Z"))
    );
    // An expired lease is not renewed: someone else may claim the entry now.
    assert!(
        !store
            .renew_lease(&renew("b", "2026-11-23T10:03:00Z"))
            .await
            .unwrap()
    );
    // A retry recorded by a former holder is dropped.
    store
        .retry_dispatch(&Retry {
            dispatch_id: 1,
            owner: "a".into(),
            attempts: 1,
            next_attempt_at: t("2026-11-23T10:05:00Z"),
            error: "late".into(),
        })
        .await
        .unwrap();
    assert_eq!(
        store.dispatch_of("dep_1").await.unwrap().unwrap().attempts,
        0
    );
    // A deployment that is not VALIDATED is not dispatched, nor its lease renewed.
    Connection::open(&path)
        .unwrap()
        .execute("UPDATE deployments SET state = 'CANCELLED'", [])
        .unwrap();
    assert!(
        !store
            .renew_lease(&renew("b", "2026-11-23T10:02:30Z"))
            .await
            .unwrap()
    );
    assert!(
        claim("c", "2026-11-23T11:00:00Z", "2026-11-23T11:01:00Z")
            .await
            .is_empty()
    );
    assert_eq!(
        store.dispatch_of("dep_1").await.unwrap().unwrap().status,
        DispatchStatus::Cancelled
    );
    assert_eq!(store.next_due().await.unwrap(), None);
}

#[tokio::test]
async fn expired_idempotency_and_delivery_records_are_purged() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("purge.db");
    version_1_file(&path);
    let store = SqliteStore::open(&path).await.unwrap();
    Connection::open(&path)
        .unwrap()
        .execute_batch(&format!(
            "UPDATE idempotency SET created_ns = {}; UPDATE deliveries SET created_ns = {};",
            nanos(t("2026-11-23T10:00:00Z")),
            nanos(t("2026-11-20T10:00:00Z"))
        ))
        .unwrap();
    let purge = |idempotency: &str, deliveries: &str| Purge {
        idempotency_before: t(idempotency),
        deliveries_before: t(deliveries),
        replicas_before: t(deliveries),
        decisions_before: t(deliveries),
    };
    // Neither is old enough yet.
    let kept = store
        .purge(&purge("2026-11-23T09:00:00Z", "2026-11-20T09:00:00Z"))
        .await
        .unwrap();
    assert_eq!(kept, Purged::default());
    let purged = store
        .purge(&purge("2026-11-24T10:00:01Z", "2026-11-27T10:00:01Z"))
        .await
        .unwrap();
    assert_eq!(
        purged,
        Purged {
            idempotency: 1,
            deliveries: 1,
            replicas: 0,
            decisions: 0
        }
    );
    assert!(store.idempotent("dev", "k-1").await.unwrap().is_none());
    assert!(store.delivery("dep_1", "run-1").await.unwrap().is_none());
}

#[tokio::test]
async fn a_stored_decision_that_is_not_a_decision_is_a_corrupt_row_naming_the_deployment() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("partial.db");
    version_1_file(&path);
    let store = SqliteStore::open(&path).await.unwrap();
    assert!(store.get("dep_1").await.unwrap().is_some());
    Connection::open(&path)
        .unwrap()
        .execute(
            "UPDATE deployments SET decision = '{\"outcome\": \"allow\"}' WHERE id = 'dep_1'",
            [],
        )
        .unwrap();
    let err = store.get("dep_1").await.unwrap_err();
    let StoreError::Corrupt { what, detail } = &err else {
        panic!("{err}")
    };
    assert_eq!(*what, "decision");
    assert!(detail.starts_with("deployment `dep_1`: "), "{detail}");
}
