//! Governance and operational signals over a window of deployments: counts by state,
//! environment, cloud and service; the most violated policies; and per environment the DORA
//! figures (deployment frequency, change failure rate, lead time REQUESTED → SUCCESS).

use std::collections::BTreeMap;

use gatehouse_core::{State, Timestamp};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::store::DeploymentRecord;

/// The signals document.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Signals {
    /// Start of the window.
    #[schema(value_type = String, format = DateTime)]
    pub since: Timestamp,
    /// End of the window (now).
    #[schema(value_type = String, format = DateTime)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct PolicyCount {
    /// Policy id.
    pub policy: String,
    /// Deployments whose decision it blocked (deny) or held for approval.
    pub deployments: u64,
    /// Of those, how many it denied outright.
    pub blocking: u64,
}

/// DORA figures of one environment.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
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

fn seconds_between(a: Timestamp, b: Timestamp) -> f64 {
    (b.unix_nanos() - a.unix_nanos()) as f64 / 1e9
}

fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p * (sorted.len() - 1) as f64).round() as usize;
    sorted.get(rank.min(sorted.len() - 1)).copied()
}

/// Computes the signals over `records` (deployments created since `since`).
pub fn compute(
    records: &[DeploymentRecord],
    since: Timestamp,
    until: Timestamp,
    window_days: u32,
) -> Signals {
    let mut signals = Signals {
        since,
        until,
        window_days,
        total: records.len() as u64,
        by_state: BTreeMap::new(),
        by_environment: BTreeMap::new(),
        by_cloud: BTreeMap::new(),
        by_service: BTreeMap::new(),
        top_violated_policies: Vec::new(),
        environments: BTreeMap::new(),
    };
    let mut policies: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    let mut lead_times: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for r in records {
        *signals
            .by_state
            .entry(r.state.as_str().to_owned())
            .or_default() += 1;
        *signals
            .by_environment
            .entry(r.environment.clone())
            .or_default() += 1;
        *signals.by_cloud.entry(r.cloud.clone()).or_default() += 1;
        *signals.by_service.entry(r.service.clone()).or_default() += 1;
        let mut counted = std::collections::BTreeSet::new();
        for v in r
            .decision
            .get("violations")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let status = v.get("status").and_then(Value::as_str).unwrap_or("");
            let Some(policy) = v.get("policy").and_then(Value::as_str) else {
                continue;
            };
            if !matches!(status, "blocking" | "pending_approval") || !counted.insert(policy) {
                continue;
            }
            let entry = policies.entry(policy.to_owned()).or_default();
            entry.0 += 1;
            if status == "blocking" {
                entry.1 += 1;
            }
        }
        let env = signals
            .environments
            .entry(r.environment.clone())
            .or_insert(EnvironmentSignals {
                successes: 0,
                failures: 0,
                deployment_frequency_per_day: 0.0,
                change_failure_rate: None,
                lead_time_median_seconds: None,
                lead_time_p90_seconds: None,
            });
        match r.state {
            State::Success => {
                env.successes += 1;
                lead_times
                    .entry(r.environment.clone())
                    .or_default()
                    .push(seconds_between(r.created_at, r.updated_at));
            }
            State::Failed => env.failures += 1,
            _ => {}
        }
    }
    let days = f64::from(window_days.max(1));
    for (name, env) in &mut signals.environments {
        env.deployment_frequency_per_day = env.successes as f64 / days;
        let finished = env.successes + env.failures;
        env.change_failure_rate = (finished > 0).then(|| env.failures as f64 / finished as f64);
        if let Some(times) = lead_times.get_mut(name) {
            times.sort_by(f64::total_cmp);
            env.lead_time_median_seconds = percentile(times, 0.5);
            env.lead_time_p90_seconds = percentile(times, 0.9);
        }
    }
    let mut top: Vec<PolicyCount> = policies
        .into_iter()
        .map(|(policy, (deployments, blocking))| PolicyCount {
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
    top.truncate(10);
    signals.top_violated_policies = top;
    signals
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn record(
        env: &str,
        state: State,
        created: &str,
        updated: &str,
        violations: Value,
    ) -> DeploymentRecord {
        DeploymentRecord {
            id: format!("dep_{env}_{created}"),
            state,
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
            updated_at: t(updated),
            intent: json!({}),
            decision: json!({"violations": violations}),
            bundle_digest: "sha256:x".into(),
            last_seq: 1,
            last_hash: "h".into(),
        }
    }

    #[test]
    fn dora_and_policy_counts() {
        let deny = json!([
            {"policy": "tags.required", "status": "blocking"},
            {"policy": "tags.required", "status": "blocking"},
            {"policy": "cost.budget-warning", "status": "advisory"}
        ]);
        let held = json!([{"policy": "cost.ceiling", "status": "pending_approval"}]);
        let records = vec![
            record(
                "prod",
                State::Success,
                "2026-11-20T10:00:00Z",
                "2026-11-20T10:10:00Z",
                json!([]),
            ),
            record(
                "prod",
                State::Success,
                "2026-11-21T10:00:00Z",
                "2026-11-21T10:30:00Z",
                json!([]),
            ),
            record(
                "prod",
                State::Failed,
                "2026-11-22T10:00:00Z",
                "2026-11-22T10:05:00Z",
                json!([]),
            ),
            record(
                "prod",
                State::Rejected,
                "2026-11-22T11:00:00Z",
                "2026-11-22T11:00:00Z",
                deny,
            ),
            record(
                "dev",
                State::Requested,
                "2026-11-22T12:00:00Z",
                "2026-11-22T12:00:00Z",
                held,
            ),
        ];
        let s = compute(
            &records,
            t("2026-11-16T00:00:00Z"),
            t("2026-11-23T00:00:00Z"),
            7,
        );
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
