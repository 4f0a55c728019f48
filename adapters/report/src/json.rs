//! The JSON document of `gatehouse check --format json`:
//! `{"results": [{"file", "decision"} | {"file", "errors"}]}`. Decisions keep the contract's
//! field order, so they are byte-identical to every other front end's.

use gatehouse_core::{Decision, ErrorDetail};
use serde::Serialize;

use crate::{FileResult, Report, ReportError};

#[derive(Serialize)]
struct JsonReport<'a> {
    results: Vec<JsonResult<'a>>,
}

#[derive(Serialize)]
struct JsonResult<'a> {
    file: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    decision: Option<&'a Decision>,
    #[serde(skip_serializing_if = "Option::is_none")]
    errors: Option<&'a [ErrorDetail]>,
}

/// Renders the document as pretty JSON, with a final newline.
pub fn render(report: &Report<'_>) -> Result<String, ReportError> {
    let doc = JsonReport {
        results: report
            .files
            .iter()
            .map(|checked| {
                let (decision, errors) = match &checked.result {
                    FileResult::Decided { decision, .. } => (Some(&**decision), None),
                    FileResult::Unreadable { errors } => (None, Some(errors.as_slice())),
                };
                JsonResult {
                    file: &checked.file,
                    decision,
                    errors,
                }
            })
            .collect(),
    };
    let mut text = serde_json::to_string_pretty(&doc).map_err(ReportError::Json)?;
    text.push('\n');
    Ok(text)
}
