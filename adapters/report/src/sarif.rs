//! SARIF 2.1.0 for GitHub code scanning (`github/codeql-action/upload-sarif`).
//!
//! One rule per catalogue policy (title, help text from the remediation, default level from the
//! default enforcement). One result per violation at the field's line and column, with the field
//! path as a logical location; `level` follows the enforcement in the intent's environment
//! (hard-mandatory `error`, soft-mandatory `warning`, advisory `note`). Violations lifted by an
//! exemption or an override carry a `suppressions` entry, which code scanning shows as
//! dismissed. Evaluation errors and unreadable intents are `error` results under two extra rules,
//! added only when they occur. Columns count Unicode code points (`columnKind`).

use std::collections::BTreeMap;

use gatehouse_core::{Enforcement, ErrorDetail, PolicyMeta, Violation, ViolationStatus};
use serde_json::{Value, json};
use serde_sarif::sarif::{
    ArtifactLocation, Invocation, Location, LogicalLocation, Message, MultiformatMessageString,
    PhysicalLocation, PropertyBag, Region, ReportingConfiguration, ReportingDescriptor, Result,
    ResultLevel, Run, Sarif, Suppression, Tool, ToolComponent,
};

use crate::impact::ImpactReport;
use crate::spans::{Precision, SourcePosition};
use crate::{FileResult, Report, ReportError, status_str};

/// The `$schema` written into the log (the address GitHub's documentation uses).
pub const SCHEMA_URI: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// Rule id of evaluation errors (a policy that failed at run time; it denies).
pub const EVALUATION_ERROR_RULE: &str = "gatehouse.evaluation-error";

/// Rule id of intent files that could not be read or parsed.
pub const UNREADABLE_RULE: &str = "gatehouse.unreadable-intent";

/// Renders the SARIF log as pretty JSON.
pub fn render(report: &Report<'_>) -> std::result::Result<String, ReportError> {
    let mut text = serde_json::to_string_pretty(&log(report)).map_err(ReportError::Sarif)?;
    text.push('\n');
    Ok(text)
}

/// Builds the SARIF log.
pub fn log(report: &Report<'_>) -> Sarif {
    let mut rules: Vec<ReportingDescriptor> = report
        .catalog
        .iter()
        .map(|(id, meta)| policy_rule(id, meta))
        .collect();
    let mut index: BTreeMap<String, i64> = rules
        .iter()
        .enumerate()
        .map(|(i, r)| (r.id.clone(), i64::try_from(i).unwrap_or_default()))
        .collect();
    let mut results = Vec::new();
    let mut unreadable = false;
    for checked in report.files {
        let file = checked.file.as_str();
        match &checked.result {
            FileResult::Decided {
                decision,
                violation_positions,
                error_positions,
            } => {
                for (v, position) in decision.violations.iter().zip(violation_positions) {
                    let rule_index = index.get(&v.policy).copied();
                    results.push(violation_result(file, v, position, rule_index));
                }
                for (e, position) in decision.errors.iter().zip(error_positions) {
                    let rule_index = ensure_rule(&mut rules, &mut index, EVALUATION_ERROR_RULE);
                    let path = e.path.as_deref().unwrap_or_default();
                    results.push(error_result(
                        EVALUATION_ERROR_RULE,
                        rule_index,
                        e,
                        location(file, Some(position), path),
                    ));
                }
            }
            FileResult::Unreadable { errors } => {
                unreadable = true;
                for e in errors {
                    let rule_index = ensure_rule(&mut rules, &mut index, UNREADABLE_RULE);
                    let position = e.span.as_ref().map(|s| SourcePosition {
                        line: s.line,
                        column: s.column,
                        precision: Precision::Exact,
                    });
                    results.push(error_result(
                        UNREADABLE_RULE,
                        rule_index,
                        e,
                        location(file, position.as_ref(), ""),
                    ));
                }
            }
        }
    }
    let bundle = report.bundle;
    sarif_log(
        rules,
        results,
        !unreadable,
        [(
            "bundle",
            json!({"name": bundle.name, "revision": bundle.revision, "digest": bundle.digest}),
        )],
    )
}

/// Renders the policy-change impact of `gatehouse diff` as a SARIF log: one result per violation
/// that blocks under the head bundle and did not under the base bundle (at its field), one per
/// evaluation error that appeared, one per intent that could not be read. Rules come from the
/// policies that newly block; the run's properties name both bundles.
pub fn render_impact(report: &ImpactReport) -> std::result::Result<String, ReportError> {
    let mut text = serde_json::to_string_pretty(&impact_log(report)).map_err(ReportError::Sarif)?;
    text.push('\n');
    Ok(text)
}

/// Builds the SARIF log of a policy-change impact.
pub fn impact_log(report: &ImpactReport) -> Sarif {
    let mut rules: Vec<ReportingDescriptor> = Vec::new();
    let mut index: BTreeMap<String, i64> = BTreeMap::new();
    let mut results = Vec::new();
    let mut unreadable = false;
    for intent in &report.intents {
        let file = intent.file.as_str();
        let Some(diff) = &intent.diff else {
            unreadable = true;
            for e in &intent.errors {
                let rule_index = ensure_rule(&mut rules, &mut index, UNREADABLE_RULE);
                results.push(error_result(
                    UNREADABLE_RULE,
                    rule_index,
                    e,
                    location(file, None, ""),
                ));
            }
            continue;
        };
        for (v, position) in diff.new_blocking().zip(&intent.new_blocking_positions) {
            let rule_index = match index.get(&v.policy) {
                Some(i) => *i,
                None => {
                    let i = i64::try_from(rules.len()).unwrap_or_default();
                    rules.push(violation_rule(v));
                    index.insert(v.policy.clone(), i);
                    i
                }
            };
            results.push(violation_result(file, v, position, Some(rule_index)));
        }
        for e in &diff.errors_added {
            let rule_index = ensure_rule(&mut rules, &mut index, EVALUATION_ERROR_RULE);
            let path = e.path.as_deref().unwrap_or_default();
            results.push(error_result(
                EVALUATION_ERROR_RULE,
                rule_index,
                e,
                location(file, None, path),
            ));
        }
    }
    let bundle = |b: &gatehouse_core::BundleInfo| json!({"name": b.name, "revision": b.revision, "digest": b.digest});
    sarif_log(
        rules,
        results,
        !unreadable,
        [
            ("base_bundle", bundle(&report.base)),
            ("head_bundle", bundle(&report.head)),
        ],
    )
}

/// A rule for a policy known only from one of its violations (the impact report carries no
/// catalogue).
fn violation_rule(v: &Violation) -> ReportingDescriptor {
    let area = v.policy.split('.').next().unwrap_or(&v.policy).to_owned();
    ReportingDescriptor::builder()
        .id(v.policy.clone())
        .name(v.title.clone())
        .short_description(text_message(&v.title))
        .help(text_message(&v.remediation))
        .default_configuration(
            ReportingConfiguration::builder()
                .level(level_value(&level_of(v.enforcement)))
                .build(),
        )
        .properties(bag(Some(vec!["gatehouse".to_owned(), area]), []))
        .build()
}

/// The log around one run of the tool.
fn sarif_log<'a>(
    rules: Vec<ReportingDescriptor>,
    results: Vec<Result>,
    successful: bool,
    properties: impl IntoIterator<Item = (&'a str, Value)>,
) -> Sarif {
    let driver = ToolComponent::builder()
        .name("Gatehouse")
        .full_name("Gatehouse policy-as-code for deployment intents")
        .semantic_version(env!("CARGO_PKG_VERSION"))
        .rules(rules)
        .build();
    let run = Run::builder()
        .tool(Tool::builder().driver(driver).build())
        .results(results)
        .invocations(vec![
            Invocation::builder()
                .execution_successful(successful)
                .build(),
        ])
        .column_kind(json!("unicodeCodePoints"))
        .properties(bag(None, properties))
        .build();
    Sarif::builder()
        .schema(SCHEMA_URI)
        .version(json!("2.1.0"))
        .runs(vec![run])
        .build()
}

fn level_of(enforcement: Enforcement) -> ResultLevel {
    match enforcement {
        Enforcement::HardMandatory => ResultLevel::Error,
        Enforcement::SoftMandatory => ResultLevel::Warning,
        Enforcement::Advisory => ResultLevel::Note,
    }
}

fn level_value(level: &ResultLevel) -> Value {
    json!(level.to_string())
}

fn bag<'a>(
    tags: Option<Vec<String>>,
    props: impl IntoIterator<Item = (&'a str, Value)>,
) -> PropertyBag {
    PropertyBag {
        tags,
        additional_properties: props.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
    }
}

fn policy_rule(id: &str, meta: &PolicyMeta) -> ReportingDescriptor {
    let mut help_text = format!("{}\n\nEnforcement: {}", meta.remediation, meta.enforcement);
    let mut help_markdown = format!(
        "{}\n\n**Enforcement:** {}",
        meta.remediation, meta.enforcement
    );
    for (env, enforcement) in &meta.enforcement_by_environment {
        help_text.push_str(&format!("; {enforcement} in {env}"));
        help_markdown.push_str(&format!("; {enforcement} in `{env}`"));
    }
    if let Some(role) = &meta.override_role {
        help_text.push_str(&format!(
            "\nAn approval with role `{role}` from someone other than the requester overrides it."
        ));
        help_markdown.push_str(&format!(
            "\n\nAn approval with role `{role}` from someone other than the requester overrides it."
        ));
    }
    let mut props = vec![
        ("severity", json!(meta.severity)),
        ("enforcement", json!(meta.enforcement)),
    ];
    if !meta.enforcement_by_environment.is_empty() {
        props.push((
            "enforcement_by_environment",
            json!(meta.enforcement_by_environment),
        ));
    }
    if let Some(role) = &meta.override_role {
        props.push(("override_role", json!(role)));
    }
    let area = id.split('.').next().unwrap_or(id).to_owned();
    ReportingDescriptor::builder()
        .id(id)
        .name(meta.title.clone())
        .short_description(text_message(&meta.title))
        .full_description(text_message(
            meta.description.as_deref().unwrap_or(&meta.title),
        ))
        .help(
            MultiformatMessageString::builder()
                .text(help_text)
                .markdown(help_markdown)
                .build(),
        )
        .default_configuration(
            ReportingConfiguration::builder()
                .level(level_value(&level_of(meta.enforcement)))
                .build(),
        )
        .properties(bag(Some(vec!["gatehouse".to_owned(), area]), props))
        .build()
}

fn text_message(text: &str) -> MultiformatMessageString {
    MultiformatMessageString::builder().text(text).build()
}

/// A synthetic rule for evaluation errors or unreadable intents, added on first use.
fn ensure_rule(
    rules: &mut Vec<ReportingDescriptor>,
    index: &mut BTreeMap<String, i64>,
    id: &str,
) -> i64 {
    if let Some(i) = index.get(id) {
        return *i;
    }
    let (title, help) = if id == EVALUATION_ERROR_RULE {
        (
            "A policy failed to evaluate",
            "A policy raised an error, ran over the time limit or returned something other than violation objects. The decision fails closed (deny). Fix the policy or its data; the message names the package.",
        )
    } else {
        (
            "The intent file could not be read",
            "The file is missing, unreadable, or not well-formed JSON or YAML. Fix the file at the position given.",
        )
    };
    let i = i64::try_from(rules.len()).unwrap_or_default();
    rules.push(
        ReportingDescriptor::builder()
            .id(id)
            .name(title)
            .short_description(text_message(title))
            .help(text_message(help))
            .default_configuration(
                ReportingConfiguration::builder()
                    .level(level_value(&ResultLevel::Error))
                    .build(),
            )
            .build(),
    );
    index.insert(id.to_owned(), i);
    i
}

fn location(file: &str, position: Option<&SourcePosition>, field_path: &str) -> Location {
    let mut physical = PhysicalLocation::builder()
        .artifact_location(
            ArtifactLocation::builder()
                .uri(file.replace('\\', "/"))
                .uri_base_id("%SRCROOT%")
                .build(),
        )
        .build();
    if let Some(p) = position {
        let line = i64::try_from(p.line).unwrap_or(1);
        physical.region = Some(if p.precision == Precision::File {
            Region::builder().start_line(line).build()
        } else {
            Region::builder()
                .start_line(line)
                .start_column(i64::try_from(p.column).unwrap_or(1))
                .build()
        });
    }
    let mut location = Location::builder().physical_location(physical).build();
    if !field_path.is_empty() {
        location.logical_locations = Some(vec![
            LogicalLocation::builder()
                .fully_qualified_name(field_path)
                .kind("member")
                .build(),
        ]);
    }
    location
}

fn violation_result(
    file: &str,
    v: &Violation,
    position: &SourcePosition,
    rule_index: Option<i64>,
) -> Result {
    let mut text = format!(
        "{} ({}, {})",
        v.message,
        v.enforcement,
        status_str(v.status)
    );
    if let Some(role) = v
        .override_role
        .as_ref()
        .filter(|_| v.status == ViolationStatus::PendingApproval)
    {
        text.push_str(&format!(
            ". Needs an approval with role `{role}` from someone other than the requester"
        ));
    }
    if let Some(id) = &v.expired_exemption {
        text.push_str(&format!(". Exemption {id} matched but has expired"));
    }
    let mut props = vec![
        ("severity", json!(v.severity)),
        ("enforcement", json!(v.enforcement)),
        ("status", json!(v.status)),
    ];
    if let Some(evidence) = &v.evidence {
        props.push(("evidence", evidence.clone()));
    }
    let mut result = Result::builder()
        .rule_id(v.policy.clone())
        .level(level_of(v.enforcement))
        .message(Message::builder().text(text).build())
        .locations(vec![location(file, Some(position), &v.path)])
        .partial_fingerprints(BTreeMap::from([(
            "gatehouseFinding/v1".to_owned(),
            format!("{file}|{}|{}", v.policy, v.path),
        )]))
        .properties(bag(None, props))
        .build();
    result.rule_index = rule_index;
    let justification = match (&v.exempted_by, &v.overridden_by) {
        (Some(by), _) => Some(format!("exempted by {by}")),
        (None, Some(by)) => Some(format!("overridden by an approval from {by}")),
        (None, None) => None,
    };
    if let Some(justification) = justification {
        result.suppressions = Some(vec![
            Suppression::builder()
                .kind(json!("external"))
                .justification(justification)
                .build(),
        ]);
    }
    result
}

fn error_result(rule: &str, rule_index: i64, e: &ErrorDetail, location: Location) -> Result {
    let mut text = format!("[{}] {}", e.code, e.message);
    if let Some(help) = &e.help {
        text.push_str(&format!(" (help: {help})"));
    }
    let mut props = vec![("code", json!(e.code))];
    if let Some(policy) = &e.policy {
        props.push(("policy", json!(policy)));
    }
    Result::builder()
        .rule_id(rule)
        .rule_index(rule_index)
        .level(ResultLevel::Error)
        .message(Message::builder().text(text).build())
        .locations(vec![location])
        .properties(bag(None, props))
        .build()
}
