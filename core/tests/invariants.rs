//! Property tests of the engine's invariants: lifecycle replay equals folding, any single
//! mutation (of a field, or of one byte of the stored JSON lines), reordering or dropping of a
//! stored chain is detected, evaluation is deterministic, a decision never allows past an
//! unexempted hard-mandatory violation, adding an advisory policy never changes an outcome, the
//! requester's own approval lifts nothing, and approvals written inside an intent always deny.
#![expect(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "fixtures and generators: a broken fixture should fail the test at once"
)]

use std::path::Path;
use std::sync::LazyLock;

use gatehouse_core::catalog::SCHEMA_POLICY;
use gatehouse_core::{
    Approval, BundleSource, DeploymentStatus, Enforcement, Engine, EvaluationContext, Event,
    EventType, NewEvent, Outcome, State, Timestamp, ViolationStatus, next_state, replay,
    verify_chain,
};
use proptest::prelude::*;
use serde_json::{Value, json};

fn reference_source() -> BundleSource {
    BundleSource::from_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../policies")).unwrap()
}

static ENGINE: LazyLock<Engine> = LazyLock::new(|| Engine::load(&reference_source()).unwrap());

/// The reference bundle plus an advisory policy that fires on every intent.
static WITH_ADVISORY: LazyLock<Engine> = LazyLock::new(|| {
    let mut source = reference_source();
    source.insert(
        "rules/zz_advisory.rego",
        "package gatehouse.policies.zz_advisory\n\ndeny contains {\"policy\": \"zz.advisory\", \"path\": \"spec.service\", \"message\": \"noted\"} if {\n\tinput.intent.spec.service\n}\n",
    );
    source.insert(
        "data/zz_catalog.json",
        r#"{"governance": {"catalog": {"zz.advisory": {"title": "Always", "severity": "low", "enforcement": "advisory", "remediation": "None needed."}}}}"#,
    );
    Engine::load(&source).unwrap()
});

fn base_intent() -> Value {
    json!({
        "apiVersion": "gatehouse.dev/v1", "kind": "DeploymentIntent",
        "metadata": {"name": "payments-api-1", "requested_by": "alice@example.com", "change_ticket": "CHG-1"},
        "spec": {
            "service": "payments-api", "version": "1.4.2",
            "artifact": "registry.example.com/payments/api@sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
            "environment": "prod",
            "target": {"cloud": "aws", "account": "444444444444", "region": "eu-west-1"},
            "resources": [{"type": "compute.instance", "name": "api", "size": "m5.large", "count": 3}],
            "tags": {"owner": "team-payments", "cost-center": "CC-1042", "data-classification": "pii"},
            "estimated_monthly_cost": 1840.5, "strategy": "rolling"
        }
    })
}

/// An approval recorded by the control plane.
fn approval(by: &str, role: &str) -> Approval {
    serde_json::from_value(json!({"by": by, "role": role, "source": "control_plane"})).unwrap()
}

/// `context` with `approvals` added.
fn with_approvals(context: &EvaluationContext, approvals: &[Approval]) -> EvaluationContext {
    EvaluationContext {
        approvals: approvals.to_vec(),
        ..context.clone()
    }
}

/// Intents spread over every policy's passing and failing side, and some schema errors, each
/// with the approvals recorded for it (a release approval by the requester or someone else, and
/// sometimes a finops approval).
fn intents() -> impl Strategy<Value = (Value, Vec<Approval>)> {
    (
        prop::sample::select(vec!["dev", "staging", "prod", "qa"]),
        prop::sample::select(vec!["eu-west-1", "us-east-1", "us-west-2", "ap-south-1"]),
        prop::sample::select(vec!["t3.small", "m5.large", "m5.2xlarge", "D8s_v5"]),
        0.0f64..15000.0,
        prop::sample::select(vec!["pii", "internal", "secret", ""]),
        prop::sample::select(vec![
            "registry.example.com/payments/api@sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
            "registry.example.com/payments/api:1.4.2",
            "docker.io/library/api@sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        ]),
        prop::sample::select(vec!["bob@example.com", "alice@example.com"]),
        any::<bool>(),
        any::<bool>(),
        prop::option::of(prop::sample::select(vec!["CHG-7", "JIRA-7"])),
        (
            // Services and accounts named by exemptions and the org, so exemptions apply,
            // expire and miss, and landing-zone guardrails fire.
            prop::sample::select(vec![
                "payments-api",
                "legacy-batch",
                "reporting-api",
                "data-lab",
                "billing-hotfix",
            ]),
            prop::sample::select(vec![
                "444444444444",
                "555555555555",
                "666666666666",
                "000000000000",
                "123456789012",
            ]),
        ),
    )
        .prop_map(
            |(env, region, size, cost, class, artifact, approver, db_public, finops, ticket, (service, account))| {
                let mut intent = base_intent();
                let spec = &mut intent["spec"];
                spec["service"] = json!(service);
                spec["target"]["account"] = json!(account);
                spec["environment"] = json!(env);
                spec["target"]["region"] = json!(region);
                spec["resources"][0]["size"] = json!(size);
                spec["estimated_monthly_cost"] = json!((cost * 100.0).round() / 100.0);
                spec["tags"]["data-classification"] = json!(class);
                spec["artifact"] = json!(artifact);
                let mut approvals = vec![approval(approver, "release-approver")];
                if finops {
                    approvals.push(approval("carol@example.com", "finops-approver"));
                }
                spec["resources"].as_array_mut().unwrap().push(
                    json!({"type": "database.postgres", "name": "db", "encrypted": true, "public": db_public}),
                );
                match ticket {
                    Some(t) => intent["metadata"]["change_ticket"] = json!(t),
                    None => {
                        intent["metadata"].as_object_mut().unwrap().remove("change_ticket");
                    }
                }
                (intent, approvals)
            },
        )
}

fn now() -> EvaluationContext {
    EvaluationContext::at(Timestamp::parse("2026-11-23T12:00:00Z").unwrap())
}

/// Decision times on both sides of the exemptions' expiries (2025-12-31, 2026-06-30,
/// 2027-03-31, 2027-06-30).
fn contexts() -> impl Strategy<Value = EvaluationContext> {
    prop::sample::select(vec![
        "2025-06-01T00:00:00Z",
        "2026-11-23T12:00:00Z",
        "2027-03-31T23:59:59Z",
        "2027-04-01T00:00:00Z",
        "2027-07-01T00:00:00Z",
    ])
    .prop_map(|t| EvaluationContext::at(Timestamp::parse(t).unwrap()))
}

/// The reference bundle plus an advisory policy that fires when the intent's `field` equals
/// `value` (or always, for an empty `value`).
fn with_advisory(field: &str, value: &str) -> Engine {
    let condition = if value.is_empty() {
        "input.intent.spec.service".to_owned()
    } else {
        format!("input.intent.spec.{field} == {value:?}")
    };
    let mut source = reference_source();
    source.insert(
        "rules/zz_advisory.rego",
        format!("package gatehouse.policies.zz_advisory\n\ndeny contains {{\"policy\": \"zz.advisory\", \"path\": \"spec.{field}\", \"message\": \"noted\"}} if {{\n\t{condition}\n}}\n"),
    );
    source.insert(
        "data/zz_catalog.json",
        r#"{"governance": {"catalog": {"zz.advisory": {"title": "Sometimes", "severity": "low", "enforcement": "advisory", "remediation": "None needed."}}}}"#,
    );
    Engine::load(&source).unwrap()
}

/// Advisory policies over a few fields, loaded once.
static ADVISORIES: LazyLock<Vec<Engine>> = LazyLock::new(|| {
    vec![
        with_advisory("environment", "prod"),
        with_advisory("environment", "dev"),
        with_advisory("service", "legacy-batch"),
        with_advisory("strategy", "rolling"),
    ]
});

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn evaluation_is_deterministic((intent, approvals) in intents()) {
        let context = with_approvals(&now(), &approvals);
        let a = ENGINE.evaluate(&intent, &context).to_json().unwrap();
        let b = ENGINE.evaluate(&intent, &context).to_json().unwrap();
        prop_assert_eq!(&a, &b);
        // Key order in the input does not matter either, nor the order of the approvals.
        let reordered: Value = serde_json::from_str(&gatehouse_core::to_canonical_json(&intent)).unwrap();
        let mut reversed = approvals.clone();
        reversed.reverse();
        prop_assert_eq!(a, ENGINE.evaluate(&reordered, &with_approvals(&now(), &reversed)).to_json().unwrap());
    }

    #[test]
    fn never_allows_past_a_blocking_violation((intent, approvals) in intents()) {
        let decision = ENGINE.evaluate(&intent, &with_approvals(&now(), &approvals));
        let blocking = decision.violations.iter().any(|v| v.status == ViolationStatus::Blocking);
        let pending = decision.violations.iter().any(|v| v.status == ViolationStatus::PendingApproval);
        if blocking || !decision.errors.is_empty() {
            prop_assert_eq!(decision.outcome, Outcome::Deny);
        } else if pending {
            prop_assert_eq!(decision.outcome, Outcome::NeedsApproval);
        } else {
            prop_assert_eq!(decision.outcome, Outcome::Allow);
        }
    }

    #[test]
    fn never_allows_an_unexempted_hard_mandatory_violation((intent, approvals) in intents(), context in contexts()) {
        let context = with_approvals(&context, &approvals);
        let decision = ENGINE.evaluate(&intent, &context);
        let hard = decision.violations.iter().any(|v| {
            v.enforcement == Enforcement::HardMandatory && v.status != ViolationStatus::Exempted
        });
        if hard {
            prop_assert_eq!(decision.outcome, Outcome::Deny, "{}", decision.to_json().unwrap());
        }
        // And an exempted violation is only ever lifted by an exemption active at `now`.
        for v in &decision.violations {
            if v.status == ViolationStatus::Exempted {
                let id = v.exempted_by.as_deref().unwrap();
                let exemption = ENGINE.exemptions().iter().find(|e| e.id == id).unwrap();
                prop_assert!(exemption.active_at(context.now));
            }
        }
    }

    #[test]
    fn adding_any_advisory_policy_never_changes_the_outcome((intent, approvals) in intents(), context in contexts(), which in 0usize..4) {
        let context = with_approvals(&context, &approvals);
        let plain = ENGINE.evaluate(&intent, &context);
        let advised = ADVISORIES[which].evaluate(&intent, &context);
        prop_assert_eq!(plain.outcome, advised.outcome);
        // Everything else the plain decision reported is still there, unchanged.
        for v in &plain.violations {
            prop_assert!(advised.violations.contains(v));
        }
        prop_assert!(advised.violations.iter().all(|v| v.policy == "zz.advisory" || plain.violations.contains(v)));
    }

    #[test]
    fn the_requesters_own_approval_never_lifts_anything(
        (intent, approvals) in intents(),
        role in prop::sample::select(vec!["release-approver", "finops-approver"]),
        source in prop::sample::select(vec!["caller", "control_plane", "github_review"]),
        shout in any::<bool>(),
    ) {
        let plain = ENGINE.evaluate(&intent, &with_approvals(&now(), &approvals));
        let requester = intent["metadata"]["requested_by"].as_str().unwrap();
        let by = if shout { requester.to_uppercase() } else { requester.to_owned() };
        let mut more = approvals.clone();
        more.push(serde_json::from_value(json!({"by": by, "role": role, "source": source})).unwrap());
        let self_approved = ENGINE.evaluate(&intent, &with_approvals(&now(), &more));
        prop_assert_eq!(plain.outcome, self_approved.outcome);
        let statuses = |d: &gatehouse_core::Decision| d.violations.iter().map(|v| (v.policy.clone(), v.status, v.overridden_by.clone())).collect::<Vec<_>>();
        prop_assert_eq!(statuses(&plain), statuses(&self_approved));
    }

    #[test]
    fn approvals_written_inside_an_intent_always_deny((intent, approvals) in intents(), by in prop::sample::select(vec!["bob@example.com", "carol@example.com"])) {
        let mut claimed = intent.clone();
        claimed["spec"]["approvals"] = json!([{"by": by, "role": "release-approver"}, {"by": by, "role": "finops-approver"}]);
        let decision = ENGINE.evaluate(&claimed, &with_approvals(&now(), &approvals));
        prop_assert_eq!(decision.outcome, Outcome::Deny);
        prop_assert!(decision.violations.iter().any(|v| v.policy == SCHEMA_POLICY && v.path == "spec.approvals"));
        prop_assert!(decision.violations.iter().all(|v| v.overridden_by.is_none()));
    }

    #[test]
    fn an_advisory_policy_never_changes_the_outcome((intent, approvals) in intents()) {
        let context = with_approvals(&now(), &approvals);
        let plain = ENGINE.evaluate(&intent, &context);
        let advised = WITH_ADVISORY.evaluate(&intent, &context);
        prop_assert_eq!(plain.outcome, advised.outcome);
        if plain.violations.iter().all(|v| v.policy != SCHEMA_POLICY) {
            prop_assert!(advised.violations.iter().any(|v| v.policy == "zz.advisory"));
        }
    }
}

/// Legal event sequences: follow the transition table from REQUESTED with random choices.
fn lifecycles() -> impl Strategy<Value = Vec<(EventType, u32, String)>> {
    prop::collection::vec((0usize..9, 0u32..3600, "[a-z]{1,8}"), 0..12).prop_map(|steps| {
        let mut state = State::Requested;
        let mut out = Vec::new();
        for (choice, dt, actor) in steps {
            let legal: Vec<EventType> = EventType::ALL
                .into_iter()
                .filter(|e| next_state(Some(state), *e).is_ok())
                .collect();
            let Some(event) = legal.get(choice % legal.len().max(1)).copied() else {
                break;
            };
            state = next_state(Some(state), event).unwrap();
            out.push((event, dt, actor));
        }
        out
    })
}

fn build_chain(steps: &[(EventType, u32, String)]) -> (DeploymentStatus, Vec<Event>) {
    let start = Timestamp::parse("2026-11-23T10:00:00Z").unwrap();
    let (mut status, first) =
        DeploymentStatus::start("dep-1", start, "alice@example.com", json!({"intent": 1}));
    let mut events = vec![first];
    let mut seconds = start.unix_nanos() / 1_000_000_000;
    for (kind, dt, actor) in steps {
        seconds += i128::from(*dt);
        let at = Timestamp::from_unix_seconds(i64::try_from(seconds).unwrap()).unwrap();
        let (next, event) = status
            .append(NewEvent {
                kind: *kind,
                at,
                actor: actor.clone(),
                data: json!({"dt": dt}),
            })
            .unwrap();
        status = next;
        events.push(event);
    }
    (status, events)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn replay_equals_folding(steps in lifecycles()) {
        let (folded, events) = build_chain(&steps);
        prop_assert_eq!(replay(&events).unwrap(), folded);
    }

    #[test]
    fn any_single_field_mutation_is_detected(steps in lifecycles(), index in any::<prop::sample::Index>(), field in 0usize..8) {
        let (_, mut events) = build_chain(&steps);
        let i = index.index(events.len());
        let e = &mut events[i];
        match field {
            0 => e.seq += 1,
            1 => e.deployment_id.push('x'),
            2 => e.kind = if e.kind == EventType::Cancelled { EventType::Failed } else { EventType::Cancelled },
            3 => e.at = Timestamp::from_unix_seconds(e.at.unix_nanos() as i64 / 1_000_000_000 + 1).unwrap(),
            4 => e.actor.push('x'),
            5 => e.data = json!({"tampered": true}),
            6 => e.prev_hash = "f".repeat(64),
            _ => e.hash = "0".repeat(64),
        }
        prop_assert!(verify_chain(&events).is_err(), "mutation of field {} at {} went unnoticed", field, i);
    }

    #[test]
    fn any_single_byte_change_of_a_stored_chain_is_detected(
        steps in lifecycles(),
        index in any::<prop::sample::Index>(),
        position in any::<prop::sample::Index>(),
        byte in 0x20u8..0x7f,
    ) {
        // The chain as stored: one compact JSON object per line.
        let (_, events) = build_chain(&steps);
        let mut lines: Vec<String> = events.iter().map(|e| serde_json::to_string(e).unwrap()).collect();
        let i = index.index(lines.len());
        let mut bytes = lines[i].clone().into_bytes();
        let p = position.index(bytes.len());
        prop_assume!(bytes[p] != byte);
        bytes[p] = byte;
        let Ok(line) = String::from_utf8(bytes) else { return Ok(()); };
        lines[i] = line;
        // A line that no longer decodes is detected at load time; one that decodes to the same
        // event (e.g. `Z` -> `z` in a timestamp) is no change.
        let Ok(decoded) = lines.iter().map(|l| serde_json::from_str::<Event>(l)).collect::<Result<Vec<_>, _>>() else {
            return Ok(());
        };
        prop_assume!(decoded != events);
        prop_assert!(verify_chain(&decoded).is_err(), "changed line {}: {}", i, lines[i]);
    }

    #[test]
    fn reordering_is_detected(steps in lifecycles(), a in any::<prop::sample::Index>(), b in any::<prop::sample::Index>()) {
        let (_, mut events) = build_chain(&steps);
        prop_assume!(events.len() >= 2);
        let (i, j) = (a.index(events.len()), b.index(events.len()));
        prop_assume!(i != j);
        events.swap(i, j);
        prop_assert!(verify_chain(&events).is_err());
    }

    #[test]
    fn dropping_an_event_is_detected(steps in lifecycles(), index in any::<prop::sample::Index>()) {
        let (_, mut events) = build_chain(&steps);
        prop_assume!(events.len() >= 2);
        let i = index.index(events.len() - 1);
        events.remove(i);
        prop_assert!(verify_chain(&events).is_err());
    }
}
