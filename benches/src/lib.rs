//! Fixtures shared by the benchmarks in `benches/`: the reference bundle and its example intents,
//! synthetic bundles (N policies), organisations (N accounts), intents (N resources) and event
//! chains (N events). Each is deterministic, so runs compare.
#![expect(
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "a benchmark with a broken fixture should stop at once"
)]

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use gatehouse_core::catalog::SCHEMA_POLICY;
use gatehouse_core::{
    BundleSource, DeploymentStatus, EvaluationContext, Event, EventType, NewEvent, Timestamp,
};
use serde_json::{Value, json};

/// The allocator the native front ends use (see the `gatehouse` binary), so that benchmarks
/// measure what users run.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Whether this is a benchmark run (`cargo bench`, which passes `--bench`) rather than the smoke
/// run of `cargo test --all-targets` (each benchmark once, in the dev profile): the largest
/// sizes (1000 policies, 1M events, ...) are left out of the smoke run, which only checks that
/// every benchmark still works.
pub fn full_run() -> bool {
    std::env::args().any(|a| a == "--bench")
}

/// `sizes`, or only its first `smoke` entries outside a benchmark run (see [`full_run`]).
pub fn sizes<const N: usize>(sizes: [usize; N], smoke: usize) -> Vec<usize> {
    let keep = if full_run() { N } else { smoke.min(N) };
    sizes.into_iter().take(keep).collect()
}

/// The decision time every benchmark uses.
pub const NOW: &str = "2026-11-23T12:00:00Z";

/// `policies/`, the reference bundle.
pub fn policies_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../policies")
}

/// The reference bundle, read from `policies/`.
pub fn reference_bundle() -> BundleSource {
    BundleSource::from_dir(&policies_dir()).expect("policies/ is readable")
}

/// An example intent (`policies/examples/NAME`) as compact JSON text.
pub fn example(name: &str) -> String {
    let text =
        std::fs::read_to_string(policies_dir().join("examples").join(name)).expect("example");
    let value = gatehouse_core::parse_intent(&text).expect("example parses");
    serde_json::to_string(&value).expect("serialises")
}

/// The examples' context: [`NOW`], the staging history that production releases need and the
/// release approval that four-eyes needs in prod (the files `make examples` passes).
pub fn context() -> EvaluationContext {
    let history = policies_dir().join("examples/history/deployments.json");
    let approvals = policies_dir().join("examples/history/approvals.json");
    let mut context = EvaluationContext::at(Timestamp::parse(NOW).expect("time"));
    context.history = serde_json::from_str(&std::fs::read_to_string(history).expect("history"))
        .expect("history parses");
    context.approvals =
        serde_json::from_str(&std::fs::read_to_string(approvals).expect("approvals"))
            .expect("approvals parse");
    context
}

/// The reference `data/org.json` with `accounts` workload accounts added under `accounts / 100`
/// team OUs (at least one), nested four levels deep (root / region OU / business-unit OU / team
/// OU), keeping the reference accounts where they are. Synthetic account `i` has id
/// [`synthetic_account`]`(i)`.
pub fn org_with(accounts: usize) -> String {
    let path = policies_dir().join("data/org.json");
    let mut org: Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("org.json")).expect("JSON");
    let teams = (accounts / 100).max(1);
    let units = org["governance"]["org"]["units"]
        .as_object_mut()
        .expect("units");
    for region in 0..4 {
        units.insert(
            format!("ou-r{region}"),
            json!({"name": format!("Region {region}"), "parent": "ou-workloads"}),
        );
        for bu in 0..5 {
            units.insert(
                format!("ou-r{region}-bu{bu}"),
                json!({"name": "BU", "parent": format!("ou-r{region}"),
                       "guardrails": {"denied_regions": ["me-*"]}}),
            );
        }
    }
    for team in 0..teams {
        let parent = format!("ou-r{}-bu{}", team % 4, (team / 4) % 5);
        units.insert(
            format!("ou-team-{team}"),
            json!({"name": "Team", "parent": parent,
                   "guardrails": {"allowed_environments": ["dev", "staging", "prod"]}}),
        );
    }
    let list = org["governance"]["org"]["accounts"]
        .as_object_mut()
        .expect("accounts");
    for i in 0..accounts {
        list.insert(
            synthetic_account(i),
            json!({"name": format!("team-{i}"), "cloud": "aws", "kind": "workload",
                   "parent": format!("ou-team-{}", i % teams)}),
        );
    }
    serde_json::to_string(&org).expect("serialises")
}

/// The id of synthetic account `i` of [`org_with`].
pub fn synthetic_account(i: usize) -> String {
    format!("{:012}", 700_000_000_000u64 + i as u64)
}

/// Number of accounts in the reference `data/org.json`.
pub fn reference_accounts() -> usize {
    let org: Value = serde_json::from_str(
        &std::fs::read_to_string(policies_dir().join("data/org.json")).expect("org.json"),
    )
    .expect("JSON");
    org["governance"]["org"]["accounts"]
        .as_object()
        .map_or(0, serde_json::Map::len)
}

/// The dev example intent (`web-frontend-dev-allowed.yaml`) with `n` resources: compute
/// instances, encrypted private buckets and encrypted private databases in turn, all allowed in
/// dev. Compact JSON text.
pub fn intent_with_resources(n: usize) -> String {
    let mut intent: Value =
        serde_json::from_str(&example("web-frontend-dev-allowed.yaml")).expect("JSON");
    let resources: Vec<Value> = (0..n)
        .map(|i| match i % 3 {
            0 => json!({"type": "compute.instance", "name": format!("web-{i}"), "size": "t3.small", "count": 1}),
            1 => json!({"type": "storage.bucket", "name": format!("assets-{i}"), "encrypted": true, "public": false}),
            _ => json!({"type": "database.postgres", "name": format!("db-{i}"), "encrypted": true, "public": false}),
        })
        .collect();
    intent["spec"]["resources"] = Value::Array(resources);
    serde_json::to_string(&intent).expect("serialises")
}

/// A synthetic bundle of `n` admission policies over the reference `lib.rego`, with a catalogue
/// entry for each. The policies are of four kinds in turn (a loop over resources, a tag check, a
/// data lookup, a string test over resources); none fires on [`intent_with_resources`] intents,
/// so every one is evaluated in full. Policy `synth.0000` fires when the intent's service is
/// `synthetic-fire`.
pub fn synthetic_bundle(n: usize) -> BundleSource {
    let mut source = BundleSource::default();
    source.insert(
        "bundle.json",
        format!(r#"{{"name": "synthetic-{n}", "revision": "1"}}"#),
    );
    let lib = std::fs::read_to_string(policies_dir().join("rules/lib.rego")).expect("lib.rego");
    source.insert("rules/lib.rego", lib);
    let mut catalog = serde_json::Map::new();
    let mut limits = serde_json::Map::new();
    for i in 0..n {
        let id = format!("synth.{i:04}");
        let package = format!("synth_{i:04}");
        let mut rego = format!(
            "package gatehouse.policies.{package}\n\nimport data.gatehouse.lib\nimport data.gatehouse.lib.spec\n\n"
        );
        let body = match i % 4 {
            0 => format!(
                "deny contains lib.violation(\"{id}\", sprintf(\"spec.resources[%d].type\", [k]), sprintf(\"resource type `%s` is retired\", [r.type]), {{\"value\": r.type}}) if {{\n\tsome k, r in spec.resources\n\tr.type == \"retired.kind-{i}\"\n}}\n"
            ),
            1 => format!(
                "deny contains lib.violation(\"{id}\", \"spec.tags\", \"tag `x-{i}` is required in env-{i}\", {{}}) if {{\n\tspec.environment == \"env-{i}\"\n\tnot spec.tags[\"x-{i}\"]\n}}\n"
            ),
            2 => format!(
                "deny contains lib.violation(\"{id}\", \"spec.estimated_monthly_cost\", sprintf(\"cost %v is above %v\", [spec.estimated_monthly_cost, limit]), {{\"value\": spec.estimated_monthly_cost}}) if {{\n\tlimit := data.synthetic.limits[\"{package}\"]\n\tspec.estimated_monthly_cost > limit\n}}\n"
            ),
            _ => format!(
                "deny contains lib.violation(\"{id}\", sprintf(\"spec.resources[%d].name\", [k]), sprintf(\"resource name `%s` is reserved\", [r.name]), {{\"value\": r.name}}) if {{\n\tsome k, r in spec.resources\n\tstartswith(r.name, \"reserved-{i}-\")\n}}\n"
            ),
        };
        rego.push_str(&body);
        if i == 0 {
            let _ = write!(
                rego,
                "\ndeny contains lib.violation(\"{id}\", \"spec.service\", \"synthetic violation\", {{}}) if {{\n\tspec.service == \"synthetic-fire\"\n}}\n"
            );
        }
        source.insert(format!("rules/synth/{package}.rego"), rego);
        catalog.insert(
            id,
            json!({"title": format!("Synthetic policy {i}"), "severity": "low",
                   "enforcement": if i % 2 == 0 { "hard-mandatory" } else { "advisory" },
                   "remediation": "None."}),
        );
        limits.insert(package, json!(1_000_000));
    }
    let mut base: Value = serde_json::from_str(
        &std::fs::read_to_string(policies_dir().join("data/catalog.json")).expect("catalog"),
    )
    .expect("JSON");
    // Keep `schema.valid` (the core needs it); drop the reference policies.
    let schema = base["governance"]["catalog"][SCHEMA_POLICY].clone();
    catalog.insert(SCHEMA_POLICY.to_owned(), schema);
    base["governance"]["catalog"] = Value::Object(catalog);
    source.insert(
        "data/catalog.json",
        serde_json::to_string(&base).expect("JSON"),
    );
    source.insert(
        "data/synthetic.json",
        serde_json::to_string(&json!({"synthetic": {"limits": limits}})).expect("JSON"),
    );
    source
}

/// A chain of `n` events (n >= 1) for one deployment, built with `append`: requested, then
/// approval requests and recordings in turn (legal forever), one second apart.
pub fn chain(n: usize) -> Vec<Event> {
    let start = Timestamp::parse("2026-11-23T10:00:00Z").expect("time");
    let (mut status, first) = DeploymentStatus::start(
        "dep-bench",
        start,
        "alice@example.com",
        json!({"intent_digest": "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"}),
    );
    let mut events = Vec::with_capacity(n);
    events.push(first);
    for i in 1..n {
        let (next, event) = status.append(next_event(i)).expect("legal transition");
        status = next;
        events.push(event);
    }
    events
}

/// The `i`-th event appended by [`chain`].
pub fn next_event(i: usize) -> NewEvent {
    let seconds = 1_795_428_000 + i64::try_from(i).expect("small");
    NewEvent {
        kind: if i % 2 == 1 {
            EventType::ApprovalRequired
        } else {
            EventType::ApprovalRecorded
        },
        at: Timestamp::from_unix_seconds(seconds).expect("time"),
        actor: "bob@example.com".to_owned(),
        data: json!({"role": "release-approver", "n": i}),
    }
}
