//! Reading intents from text (JSON or YAML) and identifying them by digest.

use serde_json::Value;

use crate::canonical;
use crate::error::IntentError;

/// The largest intent text the engine reads (1 MiB).
pub const MAX_INTENT_BYTES: usize = 1024 * 1024;

/// Parses an intent from JSON or YAML text. Text whose first non-blank character is `{` or `[` is
/// read as JSON; anything else as YAML. The result is not yet validated: see
/// [`crate::IntentSchema::validate`].
pub fn parse_intent(text: &str) -> Result<Value, IntentError> {
    if text.len() > MAX_INTENT_BYTES {
        return Err(IntentError::TooLarge {
            size: text.len(),
            limit: MAX_INTENT_BYTES,
        });
    }
    let trimmed = text.trim_start_matches(|c: char| c.is_whitespace() || c == '\u{feff}');
    if trimmed.starts_with('{') || trimmed.starts_with('[') {
        serde_json::from_str(text).map_err(|e| IntentError::Syntax {
            format: "JSON",
            line: e.line(),
            column: e.column(),
            message: strip_position(&e.to_string()),
        })
    } else {
        parse_yaml(text)
    }
}

#[cfg(feature = "yaml")]
fn parse_yaml(text: &str) -> Result<Value, IntentError> {
    refuse_aliases(text)?;
    serde_norway::from_str::<Value>(text).map_err(|e| {
        let (line, column) = e.location().map_or((0, 0), |l| (l.line(), l.column()));
        IntentError::Syntax {
            format: "YAML",
            line,
            column,
            message: strip_position(&e.to_string()),
        }
    })
}

/// Scans the YAML events and refuses the first alias, before serde_norway expands aliases into
/// copies (50 KB of YAML aliasing one 10k-item anchor 10k times is 100M values). A text the
/// scanner cannot read is a syntax error at the scanner's position.
#[cfg(feature = "yaml")]
fn refuse_aliases(text: &str) -> Result<(), IntentError> {
    use saphyr_parser::{Event, Parser};
    for item in Parser::new_from_str(text) {
        match item {
            Ok((Event::Alias(_), span)) => {
                // The span covers the `*name` token; stop at the first alias, so this one walk
                // over the text is the only one.
                let token: String = text
                    .chars()
                    .skip(span.start.index())
                    .take(span.end.index().saturating_sub(span.start.index()))
                    .collect();
                return Err(IntentError::YamlAlias {
                    name: token.trim_start_matches('*').to_owned(),
                    line: span.start.line(),
                    column: span.start.col() + 1,
                });
            }
            Ok(_) => {}
            Err(e) => {
                return Err(IntentError::Syntax {
                    format: "YAML",
                    line: e.marker().line(),
                    column: e.marker().col() + 1,
                    message: e.info().to_owned(),
                });
            }
        }
    }
    Ok(())
}

#[cfg(not(feature = "yaml"))]
fn parse_yaml(_text: &str) -> Result<Value, IntentError> {
    Err(IntentError::YamlUnsupported)
}

/// Parsers append " at line X column Y"; the error carries those as fields already.
fn strip_position(message: &str) -> String {
    match message.find(" at line ") {
        Some(i) => message.get(..i).unwrap_or(message).to_owned(),
        None => message.to_owned(),
    }
}

/// `sha256:<hex>` over the canonical JSON of the intent: the same for the same intent whether it
/// was written in YAML or JSON and whatever its key order.
pub fn intent_digest(intent: &Value) -> String {
    canonical::digest_of_value(intent)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_and_json_have_the_same_digest() {
        let yaml = "apiVersion: gatehouse.dev/v1\nspec: {cost: 1840.5, n: 3}\n";
        let json = r#"{"spec": {"n": 3, "cost": 1840.5}, "apiVersion": "gatehouse.dev/v1"}"#;
        let a = parse_intent(yaml).unwrap();
        let b = parse_intent(json).unwrap();
        assert_eq!(intent_digest(&a), intent_digest(&b));
    }

    #[test]
    fn json_syntax_errors_have_positions() {
        let err = parse_intent("{\n  \"a\": ,\n}").unwrap_err();
        match err {
            IntentError::Syntax {
                format,
                line,
                column,
                ..
            } => {
                assert_eq!(format, "JSON");
                assert_eq!(line, 2);
                assert!(column > 0);
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn yaml_syntax_errors_have_positions() {
        let err = parse_intent("a: 1\nb: [1, 2\n").unwrap_err();
        assert!(matches!(err, IntentError::Syntax { format: "YAML", line, .. } if line > 0));
    }

    #[test]
    fn yaml_aliases_are_refused_before_they_expand() {
        // The attack: one anchor of 10k items, aliased 10k times (about 100M values once
        // expanded; 2.9 GB before this check).
        let items = "  - x\n".repeat(10_000);
        let aliases = "  - *big\n".repeat(10_000);
        let text = format!("big: &big\n{items}copies:\n{aliases}");
        let err = parse_intent(&text).unwrap_err();
        match &err {
            IntentError::YamlAlias { name, line, column } => {
                assert_eq!(name, "big");
                assert_eq!((*line, *column), (10_003, 5));
            }
            other => panic!("unexpected {other:?}"),
        }
        use crate::Diagnostic as _;
        assert_eq!(err.code(), "intent_yaml_alias");
        // Merge keys are aliases too.
        let merge = "base: &b {a: 1}\nspec:\n  <<: *b\n";
        assert!(matches!(
            parse_intent(merge),
            Err(IntentError::YamlAlias { .. })
        ));
        // An anchor without an alias is harmless and still reads.
        assert!(parse_intent("a: &x 1\nb: 2\n").is_ok());
    }

    #[test]
    fn oversized_text_is_refused() {
        let text = " ".repeat(MAX_INTENT_BYTES + 1);
        assert!(matches!(
            parse_intent(&text),
            Err(IntentError::TooLarge { .. })
        ));
    }
}
