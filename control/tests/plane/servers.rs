//! Two servers on one database (two control planes over two stores, two connection pools) under
//! concurrent writers: the ledger stays one gap-free chain, an idempotency key stores one
//! deployment, an outbox entry is claimed by one of them.

use std::sync::Arc;

use gatehouse_control::config::ExecutorConfig;

use gatehouse_control::{ControlPlane, Role, Submitted};
use gatehouse_core::Timestamp;
use gatehouse_store::IdempotencyKey;
use gatehouse_store::outbox::Claim;
use serde_json::json;

use crate::support::*;

/// Two control planes (two servers) over one fresh database.
async fn two_planes(
    dir: &std::path::Path,
    executor: ExecutorConfig,
) -> (
    Arc<ControlPlane>,
    Arc<ControlPlane>,
    gatehouse_control::ControlConfig,
) {
    let config = config(fresh_database(dir).await, executor);
    let a = plane_over(config.clone(), open(&config).await);
    let b = plane_over(config.clone(), open(&config).await);
    (a, b, config)
}

fn intent(n: usize) -> serde_json::Value {
    let mut intent = example("web-frontend-dev-allowed.yaml");
    intent["metadata"]["name"] = json!(format!("concurrent-{n}"));
    intent
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writers_on_two_servers_keep_one_gapless_ledger() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b, _) = two_planes(dir.path(), ExecutorConfig::None).await;
    let requester = principal("dev@example.com", Role::Requester, &[]);
    let mut tasks = Vec::new();
    for n in 0..32 {
        let plane = Arc::clone(if n % 2 == 0 { &a } else { &b });
        let requester = requester.clone();
        tasks.push(tokio::spawn(async move {
            plane
                .submit(&requester, intent(n), None, None)
                .await
                .unwrap();
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let report = a.verify().await.unwrap();
    assert!(report.ok, "{report:?}");
    // Two events per submission, positions 1..=64 without a gap.
    assert_eq!(report.events, 64, "{report:?}");
    assert_eq!(report.head_position, 64, "{report:?}");
    assert_eq!(report.deployments, 32);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_idempotency_key_stores_one_deployment_across_servers() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b, _) = two_planes(dir.path(), ExecutorConfig::None).await;
    let requester = principal("dev@example.com", Role::Requester, &[]);
    let body = serde_json::to_vec(&intent(0)).unwrap();
    let mut tasks = Vec::new();
    for n in 0..16 {
        let plane = Arc::clone(if n % 2 == 0 { &a } else { &b });
        let requester = requester.clone();
        let key = IdempotencyKey::new("same-key", &body);
        tasks.push(tokio::spawn(async move {
            plane
                .submit(&requester, intent(0), Some(key), None)
                .await
                .unwrap()
        }));
    }
    let mut created = Vec::new();
    let mut replayed = Vec::new();
    for task in tasks {
        match task.await.unwrap() {
            Submitted::Created(view) => created.push(view.deployment.head.id),
            Submitted::Replayed(stored) => replayed.push(stored.body),
        }
    }
    assert_eq!(created.len(), 1, "{created:?}");
    assert!(replayed.iter().all(|body| body.get().contains(&created[0])));
    let page = a
        .list(&gatehouse_store::deployment::ListQuery {
            limit: 50,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(page.total, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_outbox_entry_is_claimed_by_one_server() {
    let dir = tempfile::tempdir().unwrap();
    let webhook = ExecutorConfig::Webhook {
        url: "http://127.0.0.1:9/hook".into(),
        secret: None,
    };
    let (a, _, config) = two_planes(dir.path(), webhook).await;
    let requester = principal("dev@example.com", Role::Requester, &[]);
    for n in 0..20 {
        a.submit(&requester, intent(n), None, None).await.unwrap();
    }
    let stores = [open(&config).await, open(&config).await];
    let now: Timestamp = "2100-01-01T00:00:00Z".parse().unwrap();
    let mut tasks = Vec::new();
    for (i, store) in stores.iter().enumerate() {
        for round in 0..4 {
            let store = Arc::clone(store);
            tasks.push(tokio::spawn(async move {
                let claim = Claim {
                    owner: format!("server-{i}-{round}"),
                    now,
                    lease_until: "2100-01-01T01:00:00Z".parse().unwrap(),
                    limit: 3,
                };
                store.claim_dispatches(&claim).await.unwrap()
            }));
        }
    }
    let mut claimed = Vec::new();
    for task in tasks {
        claimed.extend(task.await.unwrap().into_iter().map(|d| d.id));
    }
    // Concurrent claims skip each other's rows; whatever they left, one more claim takes.
    let rest = stores[0]
        .claim_dispatches(&Claim {
            owner: "sweeper".into(),
            now,
            lease_until: "2100-01-01T01:00:00Z".parse().unwrap(),
            limit: 100,
        })
        .await
        .unwrap();
    claimed.extend(rest.into_iter().map(|d| d.id));
    let total = claimed.len();
    claimed.sort_unstable();
    claimed.dedup();
    assert_eq!(claimed.len(), total, "an entry was claimed twice");
    assert_eq!(total, 20);
}
