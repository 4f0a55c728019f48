//! Hostile input stays bounded and identities stay printable: the attacks of the trust issue,
//! kept as tests. A 0.8 MB intent with 400k array items once produced a 149 MB decision; a
//! requester once overrode policies with approvals written inside the intent.
#![expect(
    clippy::unwrap_used,
    reason = "fixtures: a broken fixture should fail the test at once"
)]

use std::path::Path;
use std::sync::LazyLock;

use gatehouse_core::{
    BundleSource, Engine, EvaluationContext, MAX_LISTED, Outcome, Timestamp, ViolationStatus,
};
use serde_json::{Value, json};

fn reference_source() -> BundleSource {
    BundleSource::from_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../policies")).unwrap()
}

static ENGINE: LazyLock<Engine> = LazyLock::new(|| Engine::load(&reference_source()).unwrap());

fn now() -> EvaluationContext {
    EvaluationContext::at(Timestamp::parse("2026-11-23T12:00:00Z").unwrap())
}

/// An allowed dev intent (the fixture the core's tests share).
fn dev_intent() -> Value {
    serde_json::from_str(include_str!("fixtures/dev-intent.json")).unwrap()
}

#[test]
fn the_dev_fixture_is_allowed() {
    let decision = ENGINE.evaluate(&dev_intent(), &now());
    assert_eq!(
        decision.outcome,
        Outcome::Allow,
        "{}",
        decision.to_json().unwrap()
    );
}

#[test]
fn hundreds_of_thousands_of_bad_items_give_a_small_decision() {
    // The attack: 400k empty resources (each missing `type` and `name`) in a 0.8 MB body.
    let mut intent = dev_intent();
    intent["spec"]["resources"] = Value::Array(vec![json!({}); 400_000]);
    let decision = ENGINE.evaluate(&intent, &now());
    assert_eq!(decision.outcome, Outcome::Deny);
    assert_eq!(decision.violations.len(), MAX_LISTED);
    let truncated = decision.truncated.unwrap();
    // maxItems, then two missing fields per item: 800,001 errors in all.
    assert_eq!(decision.violations.len() + truncated.violations, 800_001);
    assert_eq!(truncated.errors, 0);
    let bytes = decision.to_json().unwrap().len();
    assert!(bytes < 100_000, "decision is {bytes} bytes");
}

#[test]
fn a_decision_keeps_what_blocks_when_it_cannot_list_everything() {
    // 150 advisory findings (one per resource) and one blocking violation that sorts after them.
    let mut source = reference_source();
    source.insert(
        "rules/aa_noisy.rego",
        "package gatehouse.policies.aa_noisy\n\ndeny contains {\"policy\": \"aa.noisy\", \"path\": sprintf(\"spec.resources[%d]\", [i]), \"message\": \"noted\"} if {\n\tsome i, _ in input.intent.spec.resources\n}\n",
    );
    source.insert(
        "data/aa_catalog.json",
        r#"{"governance": {"catalog": {"aa.noisy": {"title": "Noisy", "severity": "low", "enforcement": "advisory", "remediation": "None."}}}}"#,
    );
    let engine = Engine::load(&source).unwrap();
    let mut intent = dev_intent();
    let resources: Vec<Value> = (0..150)
        .map(|i| json!({"type": "compute.instance", "name": format!("web{i}"), "size": "t3.small"}))
        .collect();
    intent["spec"]["resources"] = Value::Array(resources);
    intent["spec"]["target"]["region"] = json!("ap-south-1");
    let decision = engine.evaluate(&intent, &now());
    assert_eq!(decision.outcome, Outcome::Deny);
    assert_eq!(decision.violations.len(), MAX_LISTED);
    assert!(
        decision
            .violations
            .iter()
            .any(|v| v.status == ViolationStatus::Blocking),
        "{}",
        decision.to_json().unwrap()
    );
    let blocking = decision
        .violations
        .iter()
        .filter(|v| v.status == ViolationStatus::Blocking)
        .count();
    assert_eq!(
        decision.truncated.unwrap().violations,
        150 + blocking - MAX_LISTED
    );
    // Still in the contract's order: by policy, then path.
    let keys: Vec<(&str, &str)> = decision
        .violations
        .iter()
        .map(|v| (v.policy.as_str(), v.path.as_str()))
        .collect();
    let mut sorted = keys.clone();
    sorted.sort_unstable();
    assert_eq!(keys, sorted);
}

#[test]
fn free_form_config_is_bounded_per_level() {
    let mut intent = dev_intent();
    intent["spec"]["resources"][0]["config"] = json!({"ports": (0..100).collect::<Vec<_>>()});
    assert_eq!(ENGINE.evaluate(&intent, &now()).outcome, Outcome::Allow);
    intent["spec"]["resources"][0]["config"] = json!({"ports": (0..101).collect::<Vec<_>>()});
    let decision = ENGINE.evaluate(&intent, &now());
    assert_eq!(decision.outcome, Outcome::Deny);
    assert!(
        decision
            .violations
            .iter()
            .any(|v| v.path.starts_with("spec.resources[0].config")),
        "{}",
        decision.to_json().unwrap()
    );
    let wide: serde_json::Map<String, Value> =
        (0..101).map(|i| (format!("k{i}"), json!(i))).collect();
    intent["spec"]["resources"][0]["config"] = json!({"nested": {"deeper": wide}});
    assert_eq!(ENGINE.evaluate(&intent, &now()).outcome, Outcome::Deny);
}

#[test]
fn a_requester_with_a_control_character_is_refused() {
    for bad in [
        "dev\u{7}@example.com",
        "dev@exa\u{0}mple.com",
        "dev@example.com\u{85}x",
    ] {
        let mut intent = dev_intent();
        intent["metadata"]["requested_by"] = json!(bad);
        let decision = ENGINE.evaluate(&intent, &now());
        assert_eq!(decision.outcome, Outcome::Deny, "{bad:?}");
        assert!(
            decision
                .violations
                .iter()
                .any(|v| v.path == "metadata.requested_by"),
            "{bad:?}: {}",
            decision.to_json().unwrap()
        );
    }
}

#[test]
fn approvals_in_a_context_are_checked() {
    let parse = |approvals: Value| {
        EvaluationContext::from_json_value(
            json!({"now": "2026-11-23T12:00:00Z", "approvals": approvals}),
        )
    };
    assert!(parse(json!([{"by": "bob@example.com", "role": "release-approver"}])).is_ok());
    assert!(
        parse(json!([{"by": "bob@example.com", "role": "release-approver", "source": "caller"}]))
            .is_ok()
    );
    for (bad, why) in [
        (
            json!([{"by": "bob\u{1b}[31m@example.com", "role": "release-approver"}]),
            "U+001B",
        ),
        (json!([{"by": "", "role": "release-approver"}]), "empty"),
        (
            json!([{"by": " bob@example.com", "role": "release-approver"}]),
            "white space",
        ),
        (
            json!([{"by": "bob@example.com", "role": "Release Approver"}]),
            "role",
        ),
        (
            json!([{"by": "bob@example.com", "role": "release-approver", "source": "intent"}]),
            "unknown variant",
        ),
        (
            json!([{"by": "bob@example.com", "role": "release-approver", "trusted": true}]),
            "unknown field",
        ),
        (
            json!([{"by": "bob@example.com", "role": "release-approver", "comment": "ok\u{0}"}]),
            "U+0000",
        ),
    ] {
        let err = parse(bad.clone()).unwrap_err();
        assert!(err.message.contains(why), "{bad}: {}", err.message);
    }
    // A comment may span lines.
    assert!(parse(json!([{"by": "bob@example.com", "role": "release-approver", "comment": "line one\nline two"}])).is_ok());
}

#[test]
fn the_decision_lists_the_approvals_it_took_into_account_with_their_source() {
    let mut intent = dev_intent();
    intent["spec"]["environment"] = json!("prod");
    intent["metadata"]["change_ticket"] = json!("CHG-1");
    // Trusted producers set their approvals in Rust (caller JSON cannot claim these sources).
    let mut context = now();
    context.approvals = serde_json::from_value(json!([
        {"by": "dev@example.com", "role": "release-approver", "source": "control_plane"},
        {"by": "bob@example.com", "role": "release-approver", "source": "github_review", "reference": "https://github.example/r/1"}
    ]))
    .unwrap();
    let decision = ENGINE.evaluate(&intent, &context);
    let sources: Vec<(&str, &str)> = decision
        .approvals
        .iter()
        .map(|a| (a.by.as_str(), a.source.as_str()))
        .collect();
    assert_eq!(
        sources,
        [
            ("bob@example.com", "github_review"),
            ("dev@example.com", "control_plane")
        ]
    );
    let four_eyes = decision
        .violations
        .iter()
        .find(|v| v.policy == "prod.four-eyes")
        .unwrap();
    // The requester's own approval is listed but does not count; bob's does.
    assert_eq!(four_eyes.overridden_by.as_deref(), Some("bob@example.com"));
}

/// The provenance attack: a caller's context claims `control_plane` or `github_review` (with a
/// made-up review URL) and the decision once recorded it so. Every caller-facing reader of a
/// context goes through this deserialisation (HTTP, Python, WASM, the corpus).
#[test]
fn a_caller_cannot_claim_a_trusted_approval_source() {
    let mut intent = dev_intent();
    intent["spec"]["environment"] = json!("prod");
    intent["metadata"]["change_ticket"] = json!("CHG-1");
    for (source, recorder) in [
        ("control_plane", "the control plane only"),
        ("github_review", "the pull request review reader"),
    ] {
        let forged = json!({
            "now": "2026-11-23T12:00:00Z",
            "approvals": [
                {"by": "carol@example.com", "role": "release-approver"},
                {"by": "bob@example.com", "role": "release-approver", "source": source,
                 "reference": "https://github.com/acme/deploy/pull/1#pullrequestreview-1"}
            ]
        });
        let err = EvaluationContext::from_json_value(forged.clone()).unwrap_err();
        assert!(
            err.message.contains(&format!(
                "`approvals[1]`: approval source `{source}` is recorded by {recorder}"
            )) && err
                .message
                .contains("leave `source` out of approvals you pass"),
            "{source}: {}",
            err.message
        );
        // The whole-request reader (HTTP, Python, WASM) refuses it the same way.
        let request = json!({"intent": intent, "context": forged}).to_string();
        let refused = gatehouse_core::evaluate_json(&ENGINE, &request).unwrap_err();
        assert_eq!(
            gatehouse_core::Diagnostic::code(&refused),
            "context_invalid"
        );
    }
    // The typed check the CLI's `--approvals` reader runs.
    let approvals: Vec<gatehouse_core::Approval> = serde_json::from_value(json!([
        {"by": "bob@example.com", "role": "release-approver", "source": "caller"},
        {"by": "bob@example.com", "role": "release-approver", "source": "github_review"}
    ]))
    .unwrap();
    assert_eq!(
        gatehouse_core::check_caller_approvals(&approvals),
        Err(gatehouse_core::ReservedSourceError {
            index: 1,
            claimed: gatehouse_core::ApprovalSource::GithubReview
        })
    );
}

/// The identity attack: the requester's own approval, spelt with another case outside ASCII,
/// the Kelvin sign (U+212A) for `K`, or a zero-width space inside the name, once lifted their
/// cost override and four-eyes. It lifts nothing; an approval passed with a format character in
/// `by` is refused outright.
#[test]
fn the_requesters_own_approval_in_another_spelling_lifts_nothing() {
    let mut intent = dev_intent();
    intent["spec"]["environment"] = json!("prod");
    intent["metadata"]["change_ticket"] = json!("CHG-1");
    intent["spec"]["estimated_monthly_cost"] = json!(640);
    for (requester, approver) in [
        ("élodie@example.com", "ÉLODIE@EXAMPLE.COM"),
        ("kim@example.com", "\u{212A}im@example.com"),
        ("ki\u{200B}m@example.com", "kim@example.com"),
        ("kim@example.com", "ｋｉｍ@example.com"),
    ] {
        intent["metadata"]["requested_by"] = json!(requester);
        let plain = ENGINE.evaluate(&intent, &now());
        let context = EvaluationContext::from_json_value(json!({
            "now": "2026-11-23T12:00:00Z",
            "approvals": [
                {"by": approver, "role": "release-approver"},
                {"by": approver, "role": "finops-approver"}
            ]
        }))
        .unwrap();
        let self_approved = ENGINE.evaluate(&intent, &context);
        assert_eq!(
            plain.outcome, self_approved.outcome,
            "{requester} / {approver}"
        );
        assert!(
            self_approved
                .violations
                .iter()
                .all(|v| v.overridden_by.is_none()),
            "{requester} / {approver}: {:?}",
            self_approved.violations
        );
        assert!(
            self_approved
                .violations
                .iter()
                .any(|v| v.status == ViolationStatus::PendingApproval)
        );
    }
    let err = EvaluationContext::from_json_value(json!({
        "now": "2026-11-23T12:00:00Z",
        "approvals": [{"by": "ki\u{200B}m@example.com", "role": "release-approver"}]
    }))
    .unwrap_err();
    assert!(
        err.message.contains("format character U+200B"),
        "{}",
        err.message
    );
}
