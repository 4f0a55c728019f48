//! JUnit XML for CI systems other than GitHub: one `<testsuite>` per intent file, one
//! `<testcase>` per catalogue policy. A policy whose violation blocks (hard-mandatory, or
//! soft-mandatory without its approval) is a `<failure>`; an evaluation error is an `<error>`
//! (on the policy's test case when it names one, else on an extra `evaluation` case); advisory
//! and lifted violations pass and are listed in `<system-out>`. A file that could not be read is
//! a suite with one `read` case in error.

use std::fmt::Write as _;

use gatehouse_core::{Decision, ErrorDetail, Violation};
use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesText, Event};

use crate::impact::{Change, ImpactReport, IntentImpact};
use crate::spans::SourcePosition;
use crate::{CheckedFile, FileResult, Report, ReportError, outcome_label, status_str};

/// The test outcome of one case.
enum Verdict {
    Pass,
    Failure {
        message: String,
        kind: String,
        body: String,
    },
    Error {
        message: String,
        kind: String,
        body: String,
    },
}

struct Case {
    name: String,
    verdict: Verdict,
    out: String,
}

struct Suite {
    name: String,
    cases: Vec<Case>,
}

impl Suite {
    fn count(&self, f: impl Fn(&Verdict) -> bool) -> usize {
        self.cases.iter().filter(|c| f(&c.verdict)).count()
    }
    fn failures(&self) -> usize {
        self.count(|v| matches!(v, Verdict::Failure { .. }))
    }
    fn errors(&self) -> usize {
        self.count(|v| matches!(v, Verdict::Error { .. }))
    }
}

/// Renders the JUnit XML document.
pub fn render(report: &Report<'_>) -> Result<String, ReportError> {
    let suites: Vec<Suite> = report
        .files
        .iter()
        .map(|file| suite(report, file))
        .collect();
    let bundle = report.bundle;
    document(
        &suites,
        &[
            ("bundle.name", &bundle.name),
            ("bundle.revision", &bundle.revision),
            ("bundle.digest", &bundle.digest),
        ],
    )
}

/// Renders the policy-change impact of `gatehouse diff` as JUnit XML: one suite per intent with
/// one `impact` case, a `<failure>` when the decision got stricter (its body lists what newly
/// blocks), an `<error>` when the intent could not be read, a pass otherwise (other changes in
/// `<system-out>`). The properties name both bundles.
pub fn render_impact(report: &ImpactReport) -> Result<String, ReportError> {
    let suites: Vec<Suite> = report.intents.iter().map(impact_suite).collect();
    let (base, head) = (&report.base, &report.head);
    document(
        &suites,
        &[
            ("base.name", &base.name),
            ("base.revision", &base.revision),
            ("base.digest", &base.digest),
            ("head.name", &head.name),
            ("head.revision", &head.revision),
            ("head.digest", &head.digest),
        ],
    )
}

fn impact_suite(intent: &IntentImpact) -> Suite {
    let file = intent.file.as_str();
    let case = match &intent.diff {
        None => Case {
            name: "impact".to_owned(),
            verdict: Verdict::Error {
                message: intent
                    .errors
                    .first()
                    .map(|e| e.message.clone())
                    .unwrap_or_else(|| "cannot read the intent".to_owned()),
                kind: intent
                    .errors
                    .first()
                    .map(|e| e.code.clone())
                    .unwrap_or_default(),
                body: intent.errors.iter().map(|e| error_text(file, e)).collect(),
            },
            out: String::new(),
        },
        Some(diff) => {
            let moved = format!(
                "{} -> {}",
                outcome_label(diff.base_outcome),
                outcome_label(diff.head_outcome)
            );
            let mut out = String::new();
            for v in &diff.added {
                out.push_str(&format!("+ {}", violation_text(file, v, None)));
            }
            for v in &diff.lifted {
                out.push_str(&format!("- {}", violation_text(file, v, None)));
            }
            for c in &diff.changed {
                out.push_str(&format!("~ {}", violation_text(file, &c.after, None)));
            }
            let verdict = if intent.change == Change::Stricter {
                let mut body: String = diff
                    .new_blocking()
                    .zip(
                        intent
                            .new_blocking_positions
                            .iter()
                            .map(Some)
                            .chain(std::iter::repeat(None)),
                    )
                    .map(|(v, p)| violation_text(file, v, p))
                    .collect();
                body.extend(diff.errors_added.iter().map(|e| error_text(file, e)));
                Verdict::Failure {
                    message: format!("stricter: {moved}"),
                    kind: "stricter".to_owned(),
                    body,
                }
            } else {
                Verdict::Pass
            };
            Case {
                name: "impact".to_owned(),
                verdict,
                out,
            }
        }
    };
    Suite {
        name: file.to_owned(),
        cases: vec![case],
    }
}

/// The document: `<testsuites>` around each suite, every suite carrying `properties`.
fn document(suites: &[Suite], properties: &[(&str, &String)]) -> Result<String, ReportError> {
    let mut writer = Writer::new_with_indent(Vec::new(), b' ', 2);
    writer.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    let tests: usize = suites.iter().map(|s| s.cases.len()).sum();
    let failures: usize = suites.iter().map(Suite::failures).sum();
    let errors: usize = suites.iter().map(Suite::errors).sum();
    writer
        .create_element("testsuites")
        .with_attributes([
            ("name", "gatehouse"),
            ("tests", tests.to_string().as_str()),
            ("failures", failures.to_string().as_str()),
            ("errors", errors.to_string().as_str()),
        ])
        .write_inner_content(|w| {
            for suite in suites {
                w.create_element("testsuite")
                    .with_attributes([
                        ("name", suite.name.as_str()),
                        ("tests", suite.cases.len().to_string().as_str()),
                        ("failures", suite.failures().to_string().as_str()),
                        ("errors", suite.errors().to_string().as_str()),
                        ("skipped", "0"),
                    ])
                    .write_inner_content(|w| {
                        w.create_element("properties").write_inner_content(|w| {
                            for (name, value) in properties {
                                w.create_element("property")
                                    .with_attributes([("name", *name), ("value", value.as_str())])
                                    .write_empty()?;
                            }
                            Ok(())
                        })?;
                        for case in &suite.cases {
                            write_case(w, &suite.name, case)?;
                        }
                        Ok(())
                    })?;
            }
            Ok(())
        })?;
    let mut text = String::from_utf8_lossy(&writer.into_inner()).into_owned();
    text.push('\n');
    Ok(text)
}

fn write_case(w: &mut Writer<Vec<u8>>, suite: &str, case: &Case) -> std::io::Result<()> {
    let element = w
        .create_element("testcase")
        .with_attributes([("name", case.name.as_str()), ("classname", suite)]);
    if matches!(case.verdict, Verdict::Pass) && case.out.is_empty() {
        element.write_empty()?;
        return Ok(());
    }
    element.write_inner_content(|w| {
        match &case.verdict {
            Verdict::Pass => {}
            Verdict::Failure {
                message,
                kind,
                body,
            } => {
                w.create_element("failure")
                    .with_attributes([("message", message.as_str()), ("type", kind.as_str())])
                    .write_text_content(BytesText::new(body))?;
            }
            Verdict::Error {
                message,
                kind,
                body,
            } => {
                w.create_element("error")
                    .with_attributes([("message", message.as_str()), ("type", kind.as_str())])
                    .write_text_content(BytesText::new(body))?;
            }
        }
        if !case.out.is_empty() {
            w.create_element("system-out")
                .write_text_content(BytesText::new(&case.out))?;
        }
        Ok(())
    })?;
    Ok(())
}

fn suite(report: &Report<'_>, checked: &CheckedFile) -> Suite {
    let name = checked.file.clone();
    match &checked.result {
        FileResult::Decided {
            decision,
            violation_positions,
            ..
        } => Suite {
            cases: decision_cases(report, &name, decision, violation_positions),
            name,
        },
        FileResult::Unreadable { errors } => Suite {
            cases: vec![Case {
                name: "read".to_owned(),
                verdict: Verdict::Error {
                    message: errors
                        .first()
                        .map(|e| e.message.clone())
                        .unwrap_or_default(),
                    kind: errors.first().map(|e| e.code.clone()).unwrap_or_default(),
                    body: errors.iter().map(|e| error_text(&name, e)).collect(),
                },
                out: String::new(),
            }],
            name,
        },
    }
}

fn decision_cases(
    report: &Report<'_>,
    file: &str,
    decision: &Decision,
    positions: &[SourcePosition],
) -> Vec<Case> {
    let located: Vec<(&Violation, Option<&SourcePosition>)> = decision
        .violations
        .iter()
        .enumerate()
        .map(|(i, v)| (v, positions.get(i)))
        .collect();
    let mut ids: Vec<&str> = report.catalog.iter().map(|(id, _)| id).collect();
    // A policy the catalogue does not know (only possible with a foreign decision) still gets
    // its case.
    for v in &decision.violations {
        if !ids.contains(&v.policy.as_str()) {
            ids.push(&v.policy);
        }
    }
    let mut cases: Vec<Case> = ids
        .into_iter()
        .map(|id| {
            let mine: Vec<&(&Violation, Option<&SourcePosition>)> =
                located.iter().filter(|(v, _)| v.policy == id).collect();
            let errors: Vec<&ErrorDetail> = decision
                .errors
                .iter()
                .filter(|e| e.policy.as_deref() == Some(id))
                .collect();
            let blocking: Vec<_> = mine.iter().filter(|(v, _)| v.blocks()).collect();
            let passing: String = mine
                .iter()
                .filter(|(v, _)| !v.blocks())
                .map(|(v, p)| violation_text(file, v, *p))
                .collect();
            let verdict = if let Some(first) = errors.first() {
                Verdict::Error {
                    message: first.message.clone(),
                    kind: first.code.clone(),
                    body: errors.iter().map(|e| error_text(file, e)).collect(),
                }
            } else if let Some((first, _)) = blocking.first() {
                Verdict::Failure {
                    message: first.message.clone(),
                    kind: first.enforcement.to_string(),
                    body: blocking
                        .iter()
                        .map(|(v, p)| violation_text(file, v, *p))
                        .collect(),
                }
            } else {
                Verdict::Pass
            };
            Case {
                name: id.to_owned(),
                verdict,
                out: passing,
            }
        })
        .collect();
    let unattributed: Vec<&ErrorDetail> = decision
        .errors
        .iter()
        .filter(|e| {
            e.policy.as_deref().is_none_or(|p| {
                report.catalog.get(p).is_none()
                    && !decision.violations.iter().any(|v| v.policy == p)
            })
        })
        .collect();
    if let Some(first) = unattributed.first() {
        cases.push(Case {
            name: "evaluation".to_owned(),
            verdict: Verdict::Error {
                message: first.message.clone(),
                kind: first.code.clone(),
                body: unattributed.iter().map(|e| error_text(file, e)).collect(),
            },
            out: String::new(),
        });
    }
    cases
}

fn violation_text(file: &str, v: &Violation, position: Option<&SourcePosition>) -> String {
    let mut text = file.to_owned();
    if let Some(p) = position {
        let _ = write!(text, ":{}:{}", p.line, p.column);
    }
    let _ = write!(
        text,
        ": {} ({}, {})",
        v.message,
        v.enforcement,
        status_str(v.status)
    );
    if !v.path.is_empty() {
        let _ = write!(text, " at {}", v.path);
    }
    if let Some(by) = &v.exempted_by {
        let _ = write!(text, "; exempted by {by}");
    } else if let Some(by) = &v.overridden_by {
        let _ = write!(text, "; overridden by {by}");
    } else {
        let _ = write!(text, "\n  fix: {}", v.remediation);
    }
    text.push('\n');
    text
}

fn error_text(file: &str, e: &ErrorDetail) -> String {
    let mut text = file.to_owned();
    if let Some(span) = &e.span {
        let _ = write!(text, ":{}:{}", span.line, span.column);
    }
    let _ = write!(text, ": [{}] {}", e.code, e.message);
    if let Some(help) = &e.help {
        let _ = write!(text, "\n  help: {help}");
    }
    text.push('\n');
    text
}
