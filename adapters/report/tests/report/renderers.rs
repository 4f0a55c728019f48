//! Snapshots of every renderer on a few example intents (a deny, a needs-approval, an exemption,
//! an advisory, a schema error) plus a file that is not well-formed YAML; and the behaviour that
//! snapshots do not pin: summary truncation, `--fail-on`, outputs.

use gatehouse_report::{CheckedFile, FailOn, annotations, junit, outputs, sarif, summary};

use crate::support::{check_examples, check_text, report, snapshot};

const EXAMPLES: [&str; 5] = [
    "payments-api-us-west-2-prod-denied",
    "payments-api-over-budget-needs-approval",
    "legacy-batch-exempted-allowed",
    "web-frontend-unpinned-dev-allowed",
    "payments-api-schema-typo-denied",
];

fn files() -> Vec<CheckedFile> {
    let mut files = check_examples(&EXAMPLES);
    files.push(check_text("intents/broken.yaml", "apiVersion: [1, 2\n"));
    files
}

#[test]
fn annotations_snapshot() {
    let files = files();
    snapshot("annotations", &annotations::render(&report(&files)));
}

#[test]
fn markdown_summary_snapshot() {
    let files = files();
    snapshot("summary", &summary::render(&report(&files)));
}

#[test]
fn sarif_snapshot() {
    let files = files();
    snapshot(
        "sarif",
        &sarif::render(&report(&files)).expect("SARIF renders"),
    );
}

#[test]
fn junit_snapshot() {
    let files = check_examples(&EXAMPLES[..2]);
    let mut files = files;
    files.push(check_text("intents/broken.yaml", "apiVersion: [1, 2\n"));
    snapshot(
        "junit",
        &junit::render(&report(&files)).expect("JUnit renders"),
    );
}

#[test]
fn the_summary_is_truncated_with_a_note_under_the_limit() {
    let names: Vec<&str> = std::iter::repeat_n(EXAMPLES, 40).flatten().collect();
    let files = check_examples(&names);
    let full = summary::render(&report(&files));
    let limit = full.len() / 3;
    let cut = summary::render_with_limit(&report(&files), limit);
    assert!(cut.len() <= limit, "{} > {limit}", cut.len());
    assert!(cut.contains("> [!NOTE]"), "{cut}");
    assert!(cut.contains("of 200 intents shown"), "{cut}");
    assert!(
        cut.starts_with(
            full.get(..full.find("### ").expect("a section"))
                .expect("a prefix")
        ),
        "the header and totals are kept"
    );
    assert!(!full.contains("[!NOTE]"));
}

#[test]
fn fail_on_levels() {
    let advisory_only = check_examples(&["web-frontend-unpinned-dev-allowed"]);
    let r = report(&advisory_only);
    assert!(!r.fails(FailOn::Deny));
    assert!(!r.fails(FailOn::NeedsApproval));
    assert!(r.fails(FailOn::Advisory));

    let clean = check_examples(&["web-frontend-dev-allowed"]);
    assert!(!report(&clean).fails(FailOn::Advisory));

    let schema = check_examples(&["payments-api-schema-typo-denied"]);
    assert!(report(&schema).fails(FailOn::Deny));
}

#[test]
fn outputs_name_the_verdict_and_counts() {
    let files = files();
    let values = outputs::values(&report(&files), Some("/tmp/summary.md"));
    let names: Vec<&str> = values.iter().map(|(n, _)| *n).collect();
    assert_eq!(names, outputs::NAMES);
    let value = |name: &str| {
        values
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
            .expect("every output is there")
    };
    assert_eq!(
        value("outcome"),
        "error",
        "an unreadable file outranks a deny"
    );
    assert_eq!(value("summary-path"), "/tmp/summary.md");
    let totals = report(&files).totals();
    assert_eq!(value("denied"), totals.denied.to_string());
    assert_eq!(value("violations"), totals.stopping().to_string());
    let text = outputs::render(&values);
    assert!(
        text.starts_with("outcome<<GATEHOUSE_EOF\nerror\nGATEHOUSE_EOF\n"),
        "{text}"
    );
}
