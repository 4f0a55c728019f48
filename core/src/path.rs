//! Field paths as shown to users: `spec.resources[1].encrypted`, `spec.tags.cost-center`.
//!
//! Grammar: segments joined by `.`; array indices as `[n]`; a key that is empty or holds one of
//! `.`, `[`, `]`, `"` or white space is written `["key"]` (JSON string escaping). Policies emit the
//! same form, and adapters map it back to source positions.

use std::fmt::Write as _;

/// One step of a field path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathSegment {
    /// An object key.
    Key(String),
    /// An array index.
    Index(usize),
}

/// Renders segments as a field path.
pub fn render(segments: &[PathSegment]) -> String {
    let mut out = String::new();
    for segment in segments {
        match segment {
            PathSegment::Index(i) => {
                let _ = write!(out, "[{i}]");
            }
            PathSegment::Key(key) if needs_quoting(key) => {
                // A JSON string literal: quotes and escapes as JSON writes them.
                let _ = write!(out, "[{}]", serde_json::Value::from(key.as_str()));
            }
            PathSegment::Key(key) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(key);
            }
        }
    }
    out
}

fn needs_quoting(key: &str) -> bool {
    key.is_empty()
        || key
            .chars()
            .any(|c| matches!(c, '.' | '[' | ']' | '"') || c.is_whitespace())
}

/// Parses a field path back into segments; `None` when it does not follow the grammar.
pub fn parse(path: &str) -> Option<Vec<PathSegment>> {
    let mut segments = Vec::new();
    let mut rest = path;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('[') {
            if after.starts_with('"') {
                let mut de = serde_json::Deserializer::from_str(after).into_iter::<String>();
                let key = de.next()?.ok()?;
                let consumed = de.byte_offset();
                segments.push(PathSegment::Key(key));
                rest = after.get(consumed..)?.strip_prefix(']')?;
            } else {
                let end = after.find(']')?;
                let index = after.get(..end)?.parse().ok()?;
                segments.push(PathSegment::Index(index));
                rest = after.get(end + 1..)?;
            }
        } else {
            let body = if segments.is_empty() {
                rest
            } else {
                rest.strip_prefix('.')?
            };
            let end = body.find(['.', '[']).unwrap_or(body.len());
            let key = body.get(..end)?;
            if key.is_empty() {
                return None;
            }
            segments.push(PathSegment::Key(key.to_owned()));
            rest = body.get(end..)?;
        }
    }
    Some(segments)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_and_parses_round_trip() {
        let segs = vec![
            PathSegment::Key("spec".into()),
            PathSegment::Key("resources".into()),
            PathSegment::Index(1),
            PathSegment::Key("encrypted".into()),
        ];
        let text = render(&segs);
        assert_eq!(text, "spec.resources[1].encrypted");
        assert_eq!(parse(&text), Some(segs));
    }

    #[test]
    fn quotes_awkward_keys() {
        let segs = vec![
            PathSegment::Key("metadata".into()),
            PathSegment::Key("labels".into()),
            PathSegment::Key("app.kubernetes.io/name".into()),
        ];
        let text = render(&segs);
        assert_eq!(text, r#"metadata.labels["app.kubernetes.io/name"]"#);
        assert_eq!(parse(&text), Some(segs));
    }

    #[test]
    fn dashes_stay_plain() {
        assert_eq!(
            parse("spec.tags.cost-center"),
            Some(vec![
                PathSegment::Key("spec".into()),
                PathSegment::Key("tags".into()),
                PathSegment::Key("cost-center".into())
            ])
        );
    }

    #[test]
    fn rejects_malformed() {
        assert_eq!(parse("spec..x"), None);
        assert_eq!(parse("spec[x]"), None);
    }
}
