//! Governance and operational signals over a window of deployments: counts by state,
//! environment, cloud and service; the most violated policies; and per environment the DORA
//! figures (deployment frequency, change failure rate, lead time REQUESTED → SUCCESS). The store
//! aggregates in the database ([`SignalData`]); nothing here reads a deployment's intent or
//! decision.

use std::collections::BTreeMap;

use gatehouse_core::Timestamp;
use gatehouse_store::SignalData;
use serde::Serialize;

/// The signals document.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Signals {
    /// Start of the window.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub since: Timestamp,
    /// End of the window (now).
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub until: Timestamp,
    /// Window length in days.
    pub window_days: u32,
    /// Deployments created in the window.
    pub total: u64,
    /// Counts by current state.
    pub by_state: BTreeMap<String, u64>,
    /// Counts by environment.
    pub by_environment: BTreeMap<String, u64>,
    /// Counts by cloud.
    pub by_cloud: BTreeMap<String, u64>,
    /// Counts by service.
    pub by_service: BTreeMap<String, u64>,
    /// Policies by how many deployments they blocked or held (most first), from each
    /// deployment's latest decision.
    pub top_violated_policies: Vec<PolicyCount>,
    /// DORA figures per environment.
    pub environments: BTreeMap<String, EnvironmentSignals>,
}

/// How often a policy stopped deployments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PolicyCount {
    /// Policy id.
    pub policy: String,
    /// Deployments whose decision it blocked (deny) or held for approval.
    pub deployments: u64,
    /// Of those, how many it denied outright.
    pub blocking: u64,
}

/// DORA figures of one environment.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EnvironmentSignals {
    /// Deployments that reached SUCCESS in the window.
    pub successes: u64,
    /// Deployments that reached FAILED in the window.
    pub failures: u64,
    /// Successes per day.
    pub deployment_frequency_per_day: f64,
    /// failures / (successes + failures); null with neither.
    pub change_failure_rate: Option<f64>,
    /// Median seconds from REQUESTED to SUCCESS; null without successes.
    pub lead_time_median_seconds: Option<f64>,
    /// 90th percentile of the same.
    pub lead_time_p90_seconds: Option<f64>,
}

fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p * (sorted.len() - 1) as f64).round() as usize;
    sorted.get(rank.min(sorted.len() - 1)).copied()
}

/// How many policies `top_violated_policies` lists.
pub const TOP_POLICIES: usize = 10;

/// Computes the signals from the store's aggregates of the deployments created since `since`.
pub fn compute(data: SignalData, since: Timestamp, until: Timestamp, window_days: u32) -> Signals {
    let collect = |pairs: Vec<(String, u64)>| pairs.into_iter().collect::<BTreeMap<_, _>>();
    let mut environments: BTreeMap<String, EnvironmentSignals> = data
        .by_environment
        .iter()
        .map(|(name, _)| {
            (
                name.clone(),
                EnvironmentSignals {
                    successes: 0,
                    failures: 0,
                    deployment_frequency_per_day: 0.0,
                    change_failure_rate: None,
                    lead_time_median_seconds: None,
                    lead_time_p90_seconds: None,
                },
            )
        })
        .collect();
    let mut lead_times: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for (env, seconds) in data.lead_times {
        lead_times.entry(env).or_default().push(seconds);
    }
    let days = f64::from(window_days.max(1));
    for (name, successes, failures) in data.finished {
        let Some(env) = environments.get_mut(&name) else {
            continue;
        };
        env.successes = successes;
        env.failures = failures;
        env.deployment_frequency_per_day = successes as f64 / days;
        let finished = successes + failures;
        env.change_failure_rate = (finished > 0).then(|| failures as f64 / finished as f64);
        if let Some(times) = lead_times.get_mut(&name) {
            times.sort_by(f64::total_cmp);
            env.lead_time_median_seconds = percentile(times, 0.5);
            env.lead_time_p90_seconds = percentile(times, 0.9);
        }
    }
    let mut top: Vec<PolicyCount> = data
        .policies
        .into_iter()
        .map(|(policy, deployments, blocking)| PolicyCount {
            policy,
            deployments,
            blocking,
        })
        .collect();
    top.sort_by(|a, b| {
        b.deployments
            .cmp(&a.deployments)
            .then(a.policy.cmp(&b.policy))
    });
    top.truncate(TOP_POLICIES);
    Signals {
        since,
        until,
        window_days,
        total: data.total,
        by_state: collect(data.by_state),
        by_environment: collect(data.by_environment),
        by_cloud: collect(data.by_cloud),
        by_service: collect(data.by_service),
        top_violated_policies: top,
        environments,
    }
}

#[cfg(test)]
mod tests {
    use gatehouse_core::{DeploymentStatus, EventType, NewEvent, Outcome, State, ViolationStatus};
    use serde_json::json;

    use super::*;
    use gatehouse_store::deployment::{DeploymentHead, DeploymentRecord};
    use gatehouse_store::sqlite::SqliteStore;
    use gatehouse_store::{Append, Store, Submission};

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    /// Stores a deployment that went through `kinds` (after `requested`) at `created`, its last
    /// event at `updated`.
    async fn store_one(
        store: &SqliteStore,
        env: &str,
        kinds: &[EventType],
        created: &str,
        updated: &str,
        violations: &[(&str, ViolationStatus)],
    ) {
        let id = format!("dep_{env}_{created}");
        let (mut status, first) = DeploymentStatus::start(&id, t(created), "a", json!({}));
        let mut events = vec![first];
        for (i, kind) in kinds.iter().enumerate() {
            let at = if i + 1 == kinds.len() {
                t(updated)
            } else {
                t(created)
            };
            let (next, e) = status
                .append(NewEvent {
                    kind: *kind,
                    at,
                    actor: "a".into(),
                    data: json!({}),
                })
                .unwrap();
            status = next;
            events.push(e);
        }
        let (first_two, rest) = events.split_at(2.min(events.len()));
        let record = DeploymentRecord {
            head: DeploymentHead {
                id: id.clone(),
                state: gatehouse_core::next_state(Some(State::Requested), first_two[1].kind)
                    .unwrap(),
                service: "payments-api".into(),
                version: "1".into(),
                artifact: "a".into(),
                environment: env.into(),
                cloud: "aws".into(),
                account: "1".into(),
                region: "eu-west-1".into(),
                requested_by: "a@example.com".into(),
                submitted_by: "a@example.com".into(),
                created_at: t(created),
                updated_at: first_two[1].at,
            },
            intent: json!({}),
            decision: gatehouse_store::testing::decision(Outcome::Allow, violations),
            bundle_digest: "sha256:x".into(),
            decision_id: None,
            last_seq: first_two[1].seq,
            last_hash: first_two[1].hash.clone(),
        };
        store
            .submit(Submission {
                record,
                events: first_two.to_vec(),
                dispatch: None,
                idempotency: None,
                decision_log: None,
                attestation: None,
                deadline: None,
            })
            .await
            .unwrap();
        if !rest.is_empty() {
            store
                .append(Append::events(
                    &id,
                    first_two[1].hash.clone(),
                    rest.to_vec(),
                ))
                .await
                .unwrap();
        }
    }

    #[tokio::test]
    async fn dora_and_policy_counts() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("s.db")).await.unwrap();
        let deny = [
            ("tags.required", ViolationStatus::Blocking),
            ("tags.required", ViolationStatus::Blocking),
            ("cost.budget-warning", ViolationStatus::Advisory),
        ];
        let held = [("cost.ceiling", ViolationStatus::PendingApproval)];
        let success = [
            EventType::Validated,
            EventType::Started,
            EventType::Succeeded,
        ];
        store_one(
            &store,
            "prod",
            &success,
            "2026-11-20T10:00:00Z",
            "2026-11-20T10:10:00Z",
            &[],
        )
        .await;
        store_one(
            &store,
            "prod",
            &success,
            "2026-11-21T10:00:00Z",
            "2026-11-21T10:30:00Z",
            &[],
        )
        .await;
        store_one(
            &store,
            "prod",
            &[EventType::Validated, EventType::Started, EventType::Failed],
            "2026-11-22T10:00:00Z",
            "2026-11-22T10:05:00Z",
            &[],
        )
        .await;
        store_one(
            &store,
            "prod",
            &[EventType::Rejected],
            "2026-11-22T11:00:00Z",
            "2026-11-22T11:00:00Z",
            &deny,
        )
        .await;
        store_one(
            &store,
            "dev",
            &[EventType::ApprovalRequired],
            "2026-11-22T12:00:00Z",
            "2026-11-22T12:00:00Z",
            &held,
        )
        .await;
        // Before the window: not counted.
        store_one(
            &store,
            "prod",
            &success,
            "2026-10-01T10:00:00Z",
            "2026-10-01T10:10:00Z",
            &[],
        )
        .await;
        let since = t("2026-11-16T00:00:00Z");
        let data = store.signal_data(since, TOP_POLICIES).await.unwrap();
        let s = compute(data, since, t("2026-11-23T00:00:00Z"), 7);
        assert_eq!(s.total, 5);
        assert_eq!(s.by_state["SUCCESS"], 2);
        assert_eq!(s.by_environment["prod"], 4);
        let prod = &s.environments["prod"];
        assert_eq!((prod.successes, prod.failures), (2, 1));
        assert!((prod.change_failure_rate.unwrap() - 1.0 / 3.0).abs() < 1e-9);
        assert!((prod.deployment_frequency_per_day - 2.0 / 7.0).abs() < 1e-9);
        assert_eq!(prod.lead_time_median_seconds, Some(1800.0));
        assert_eq!(s.environments["dev"].change_failure_rate, None);
        assert_eq!(
            s.top_violated_policies,
            vec![
                PolicyCount {
                    policy: "cost.ceiling".into(),
                    deployments: 1,
                    blocking: 0
                },
                PolicyCount {
                    policy: "tags.required".into(),
                    deployments: 1,
                    blocking: 1
                },
            ]
        );
    }
}
