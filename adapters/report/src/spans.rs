//! Maps a violation's field path (`spec.resources[1].encrypted`) back to a line and column of the
//! intent file it came from, for YAML and JSON alike.
//!
//! The text is parsed once more with parsers that keep positions (saphyr's marked nodes for YAML,
//! jsonc-parser's AST for JSON) into a small positioned tree; a path is then walked segment by
//! segment. A mapping entry is located at its key (where a reader looks for `region:`), a sequence
//! item at its first character. When the path names something the file does not hold (a missing
//! tag, a required field left out), the nearest ancestor that exists is used instead, and when
//! nothing matches, or the path does not follow the grammar, line 1.

use gatehouse_core::path::{self, PathSegment};
use saphyr::{LoadableYamlNode as _, MarkedYaml, Scalar, YamlData};

/// How closely a [`SourcePosition`] matches the field path it was asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Precision {
    /// The position of the field itself.
    Exact,
    /// The field is not in the file; this is its nearest ancestor that is.
    Ancestor,
    /// Nothing of the path is in the file (or the path is empty): the start of the file.
    File,
}

/// A 1-based line and column in an intent file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SourcePosition {
    /// Line, from 1.
    pub line: usize,
    /// Column in characters, from 1.
    pub column: usize,
    /// Whether this is the field itself, an ancestor, or just the start of the file.
    pub precision: Precision,
}

impl SourcePosition {
    /// The start of the file.
    pub const FILE: Self = Self {
        line: 1,
        column: 1,
        precision: Precision::File,
    };
}

/// A line and column pair, both from 1.
type Point = (usize, usize);

/// A node of the positioned tree: where it starts and what it holds.
#[derive(Debug, Clone)]
enum Node {
    /// A mapping: each key with the position of the key and the value node.
    Map(Vec<(String, Point, Node)>),
    /// A sequence: each item with its position.
    Seq(Vec<(Point, Node)>),
    /// A scalar (or anything else a path cannot step into).
    Leaf,
}

/// The positions of every field of one intent file, built once and asked many times.
#[derive(Debug, Clone)]
pub struct SourceIndex {
    root: Option<Node>,
}

impl SourceIndex {
    /// Indexes intent text. JSON is recognised as the core does (first non-blank character `{` or
    /// `[`); anything else is read as YAML. Text that does not parse gives an index that answers
    /// line 1 for every path.
    pub fn new(text: &str) -> Self {
        let trimmed = text.trim_start_matches(|c: char| c.is_whitespace() || c == '\u{feff}');
        let root = if trimmed.starts_with('{') || trimmed.starts_with('[') {
            json_tree(text)
        } else {
            yaml_tree(text)
        };
        Self { root }
    }

    /// Where `field_path` is in the file, or its nearest existing ancestor, or line 1.
    pub fn locate(&self, field_path: &str) -> SourcePosition {
        let (Some(root), Some(segments)) = (&self.root, path::parse(field_path)) else {
            return SourcePosition::FILE;
        };
        let mut node = root;
        let mut found: Option<Point> = None;
        let mut matched = 0;
        for segment in &segments {
            let next = match (segment, node) {
                (PathSegment::Key(key), Node::Map(entries)) => entries
                    .iter()
                    .find(|(k, _, _)| k == key)
                    .map(|(_, at, child)| (*at, child)),
                (PathSegment::Index(i), Node::Seq(items)) => {
                    items.get(*i).map(|(at, child)| (*at, child))
                }
                _ => None,
            };
            let Some((at, child)) = next else { break };
            found = Some(at);
            node = child;
            matched += 1;
        }
        match found {
            Some((line, column)) => SourcePosition {
                line,
                column,
                precision: if matched == segments.len() {
                    Precision::Exact
                } else {
                    Precision::Ancestor
                },
            },
            None => SourcePosition::FILE,
        }
    }
}

/// The first YAML document as a positioned tree.
fn yaml_tree(text: &str) -> Option<Node> {
    let docs = MarkedYaml::load_from_str(text).ok()?;
    docs.first().map(yaml_node)
}

fn yaml_point(node: &MarkedYaml<'_>) -> Point {
    (node.span.start.line(), node.span.start.col() + 1)
}

fn yaml_node(node: &MarkedYaml<'_>) -> Node {
    match &node.data {
        YamlData::Mapping(map) => Node::Map(
            map.iter()
                .filter_map(|(key, value)| {
                    Some((yaml_key(key)?, yaml_point(key), yaml_node(value)))
                })
                .collect(),
        ),
        YamlData::Sequence(items) => Node::Seq(
            items
                .iter()
                .map(|i| (yaml_point(i), yaml_node(i)))
                .collect(),
        ),
        YamlData::Tagged(_, inner) => yaml_node(inner),
        _ => Node::Leaf,
    }
}

/// A mapping key as the intent's JSON sees it: scalars become their text.
fn yaml_key(key: &MarkedYaml<'_>) -> Option<String> {
    match &key.data {
        YamlData::Value(scalar) => Some(match scalar {
            Scalar::String(s) => s.to_string(),
            Scalar::Integer(i) => i.to_string(),
            Scalar::FloatingPoint(f) => f.to_string(),
            Scalar::Boolean(b) => b.to_string(),
            Scalar::Null => "null".to_owned(),
        }),
        YamlData::Representation(text, _, _) => Some(text.to_string()),
        YamlData::Tagged(_, inner) => yaml_key(inner),
        _ => None,
    }
}

/// The JSON document as a positioned tree.
fn json_tree(text: &str) -> Option<Node> {
    use jsonc_parser::{CollectOptions, ParseOptions, parse_to_ast};
    let strict = ParseOptions {
        allow_comments: false,
        allow_loose_object_property_names: false,
        allow_trailing_commas: false,
        allow_missing_commas: false,
        allow_single_quoted_strings: false,
        allow_hexadecimal_numbers: false,
        allow_unary_plus_numbers: false,
        ..ParseOptions::default()
    };
    let parsed = parse_to_ast(text, &CollectOptions::default(), &strict).ok()?;
    let lines = LineStarts::new(text);
    parsed.value.as_ref().map(|v| json_node(v, &lines))
}

fn json_node(value: &jsonc_parser::ast::Value<'_>, lines: &LineStarts<'_>) -> Node {
    use jsonc_parser::ast::Value;
    use jsonc_parser::common::Ranged as _;
    match value {
        Value::Object(object) => Node::Map(
            object
                .properties
                .iter()
                .map(|prop| {
                    (
                        prop.name.as_str().to_owned(),
                        lines.point(prop.name.start()),
                        json_node(&prop.value, lines),
                    )
                })
                .collect(),
        ),
        Value::Array(array) => Node::Seq(
            array
                .elements
                .iter()
                .map(|item| (lines.point(item.start()), json_node(item, lines)))
                .collect(),
        ),
        _ => Node::Leaf,
    }
}

/// Byte offsets to 1-based line and character column.
struct LineStarts<'a> {
    text: &'a str,
    starts: Vec<usize>,
}

impl<'a> LineStarts<'a> {
    fn new(text: &'a str) -> Self {
        let starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Self { text, starts }
    }

    fn point(&self, offset: usize) -> Point {
        let line = self.starts.partition_point(|&s| s <= offset).max(1);
        let start = self.starts.get(line - 1).copied().unwrap_or(0);
        let column = self
            .text
            .get(start..offset)
            .map_or(1, |prefix| prefix.chars().count() + 1);
        (line, column)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const YAML: &str = "\
apiVersion: gatehouse.dev/v1
spec:
  target: {cloud: aws, region: us-east-1}
  tags:
    owner: team
    \"cost center\": x
  resources:
    - {type: compute.instance, name: api}
    - type: database.postgres
      encrypted: false
";

    fn at(line: usize, column: usize, precision: Precision) -> SourcePosition {
        SourcePosition {
            line,
            column,
            precision,
        }
    }

    #[test]
    fn yaml_keys_and_items() {
        let index = SourceIndex::new(YAML);
        assert_eq!(
            index.locate("spec.target.region"),
            at(3, 24, Precision::Exact)
        );
        assert_eq!(index.locate("spec.tags.owner"), at(5, 5, Precision::Exact));
        assert_eq!(
            index.locate(r#"spec.tags["cost center"]"#),
            at(6, 5, Precision::Exact)
        );
        assert_eq!(
            index.locate("spec.resources[0]"),
            at(8, 7, Precision::Exact)
        );
        assert_eq!(
            index.locate("spec.resources[1].encrypted"),
            at(10, 7, Precision::Exact)
        );
    }

    #[test]
    fn missing_fields_fall_back_to_the_nearest_ancestor() {
        let index = SourceIndex::new(YAML);
        assert_eq!(
            index.locate("spec.tags.data-classification"),
            at(4, 3, Precision::Ancestor)
        );
        assert_eq!(
            index.locate("spec.resources[7].size"),
            at(7, 3, Precision::Ancestor)
        );
        assert_eq!(index.locate("metadata.name"), SourcePosition::FILE);
        assert_eq!(index.locate(""), SourcePosition::FILE);
        assert_eq!(index.locate("spec..x"), SourcePosition::FILE);
    }

    #[test]
    fn json_positions_count_characters_not_bytes() {
        let text = "{\n  \"metadata\": {\"description\": \"héllo\", \"name\": \"x\"},\n  \"spec\": {\"resources\": [\n    {\"name\": \"a\"},\n    {\"name\": \"b\", \"public\": true}\n  ]}\n}\n";
        let index = SourceIndex::new(text);
        assert_eq!(index.locate("metadata.name"), at(2, 40, Precision::Exact));
        assert_eq!(
            index.locate("spec.resources[1].public"),
            at(5, 19, Precision::Exact)
        );
        assert_eq!(
            index.locate("spec.resources[1].size"),
            at(5, 5, Precision::Ancestor)
        );
    }

    #[test]
    fn unparsable_text_answers_line_1() {
        let index = SourceIndex::new("a: [1, 2\n");
        assert_eq!(index.locate("a"), SourcePosition::FILE);
        let index = SourceIndex::new("{\"a\": ,}");
        assert_eq!(index.locate("a"), SourcePosition::FILE);
    }
}
