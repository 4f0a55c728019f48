//! Step outputs for `$GITHUB_OUTPUT`, written with GitHub's heredoc syntax
//! (`name<<DELIMITER`, the value, `DELIMITER`) so that any value, multi-line or not, is safe. The
//! delimiter is chosen so that it occurs in no value.

use std::fmt::Write as _;

use crate::Report;

/// The output names, in the order written (the action's `outputs:` must list the same).
pub const NAMES: [&str; 5] = [
    "outcome",
    "violations",
    "denied",
    "needs-approval",
    "summary-path",
];

/// The outputs of a check:
///
/// - `outcome`: `allow`, `needs_approval`, `deny` (the worst over all intents), or `error` when an
///   intent could not be read;
/// - `violations`: violations that stop a deployment (blocking plus pending approval);
/// - `denied`: intents denied; `needs-approval`: intents waiting for an approval;
/// - `summary-path`: the Markdown summary file, when one was written (else empty).
pub fn values(report: &Report<'_>, summary_path: Option<&str>) -> Vec<(&'static str, String)> {
    let totals = report.totals();
    let values = [
        report.overall().as_str().to_owned(),
        totals.stopping().to_string(),
        totals.denied.to_string(),
        totals.needs_approval.to_string(),
        summary_path.unwrap_or_default().to_owned(),
    ];
    NAMES.into_iter().zip(values).collect()
}

/// Renders name/value pairs in heredoc form.
pub fn render(values: &[(&str, String)]) -> String {
    let mut delimiter = "GATEHOUSE_EOF".to_owned();
    let mut n = 0u32;
    while values
        .iter()
        .any(|(name, value)| name.contains(&delimiter) || value.contains(&delimiter))
    {
        n += 1;
        delimiter = format!("GATEHOUSE_EOF_{n}");
    }
    let mut out = String::new();
    for (name, value) in values {
        let _ = writeln!(out, "{name}<<{delimiter}\n{value}\n{delimiter}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_that_hold_the_delimiter_get_another() {
        let text = render(&[
            ("a", "x".to_owned()),
            ("b", "line 1\nGATEHOUSE_EOF\nline 3".to_owned()),
        ]);
        assert_eq!(
            text,
            "a<<GATEHOUSE_EOF_1\nx\nGATEHOUSE_EOF_1\nb<<GATEHOUSE_EOF_1\nline 1\nGATEHOUSE_EOF\nline 3\nGATEHOUSE_EOF_1\n"
        );
    }
}
