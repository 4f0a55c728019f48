//! The one switch: `render(format, report)` gives each renderer's text, and the human text of
//! files that could not be read.

use gatehouse_core::{ErrorDetail, Span};
use gatehouse_report::{
    CheckedFile, OutputFormat, READ_ERROR, Sink, annotations, human, json, junit, outputs, render,
    sarif, summary,
};

use crate::support::{check_examples, report};

#[test]
fn render_gives_each_renderers_text() {
    let files = check_examples(&[
        "payments-api-docker-hub-denied",
        "payments-api-near-budget-allowed",
    ]);
    let report = report(&files);
    let cases: [(OutputFormat, String); 8] = [
        (
            OutputFormat::Human {
                color: false,
                sink: Sink::Plain,
            },
            human::render(&report, false, Sink::Plain),
        ),
        (
            OutputFormat::Human {
                color: true,
                sink: Sink::Plain,
            },
            human::render(&report, true, Sink::Plain),
        ),
        (OutputFormat::Json, json::render(&report).expect("json")),
        (OutputFormat::Github, annotations::render(&report)),
        (OutputFormat::Sarif, sarif::render(&report).expect("sarif")),
        (OutputFormat::Markdown, summary::render(&report)),
        (OutputFormat::Junit, junit::render(&report).expect("junit")),
        (
            OutputFormat::Outputs,
            outputs::render(&outputs::values(&report, None)),
        ),
    ];
    for (format, want) in cases {
        assert_eq!(
            render(format, &report).expect("renders"),
            want,
            "{format:?}"
        );
    }
    let colored = render(
        OutputFormat::Human {
            color: true,
            sink: Sink::Plain,
        },
        &report,
    )
    .expect("renders");
    assert!(colored.contains("\x1b[1;31mDENY\x1b[0m"), "{colored}");
    let plain = render(
        OutputFormat::Human {
            color: false,
            sink: Sink::Plain,
        },
        &report,
    )
    .expect("renders");
    assert!(!plain.contains('\x1b'), "{plain}");
}

#[test]
fn json_lists_each_file_with_its_decision_or_its_errors() {
    let mut files = check_examples(&["payments-api-docker-hub-denied"]);
    files.push(CheckedFile::unreadable(
        "missing.yaml",
        vec![ErrorDetail::new(READ_ERROR, "cannot read `missing.yaml`")],
    ));
    let text = render(OutputFormat::Json, &report(&files)).expect("renders");
    let doc: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(doc["results"][0]["decision"]["outcome"], "deny");
    assert!(doc["results"][0].get("errors").is_none());
    assert_eq!(doc["results"][1]["file"], "missing.yaml");
    assert_eq!(doc["results"][1]["errors"][0]["code"], READ_ERROR);
    assert!(doc["results"][1].get("decision").is_none());
    assert!(text.ends_with("}\n"), "one final newline");
}

#[test]
fn human_text_names_why_a_file_could_not_be_read() {
    let mut syntax = ErrorDetail::new("intent_yaml_syntax", "did not find expected key");
    syntax.span = Some(Span {
        file: String::new(),
        line: 3,
        column: 5,
    });
    let files = [
        CheckedFile::unreadable(
            "missing.yaml",
            vec![ErrorDetail::new(
                READ_ERROR,
                "cannot read `missing.yaml`: not found",
            )],
        ),
        CheckedFile::unreadable("broken.yaml", vec![syntax]),
    ];
    let text = human::render(&report(&files), false, Sink::Plain);
    assert!(
        text.starts_with(
            "ERROR  missing.yaml: cannot read `missing.yaml`: not found\n\n\
             ERROR  broken.yaml: cannot read intent `broken.yaml`\n  \
             [intent_yaml_syntax] did not find expected key\n    --> line 3, column 5\n\n"
        ),
        "{text}"
    );
    assert!(
        text.contains("2 files: 0 allowed, 0 need approval, 0 denied, 2 unreadable"),
        "{text}"
    );
}
