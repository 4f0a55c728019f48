//! A token scan of Rego source text (comments, strings, identifiers, punctuation), enough to see
//! which documents a module reads without parsing it: the package a module declares, where it
//! reads `input`, and which `data` paths it names.
//!
//! Why a scan of our own and not regorus's parser: regorus keeps its syntax tree behind
//! `regorus::unstable`, and what the checks need (a reference to `input` anywhere, a `data` path
//! anywhere, with its line and column) is lexical. The scan is conservative: a reference it cannot
//! resolve to a static path (`data[x]`, a bare `data`) is reported as dynamic, and callers treat a
//! dynamic reference as reading everything. Columns count a tab as four, as regorus's lexer does,
//! so positions agree with the ones in regorus's own messages.

/// A token of Rego source with its 1-based position.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Token<'a> {
    kind: Kind<'a>,
    line: u32,
    column: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind<'a> {
    /// An identifier or keyword.
    Ident(&'a str),
    /// A string literal's content, escapes left as written (only string indexes `x["key"]`
    /// matter here, and keys with escapes are reported as dynamic).
    Str(&'a str),
    /// A raw string, a number or anything else that is neither of the above.
    Other,
    /// One punctuation character.
    Punct(char),
}

/// Splits `text` into tokens, dropping white space and comments. Malformed text (an unclosed
/// string) ends the scan: regorus refuses such a module anyway.
fn tokens(text: &str) -> Vec<Token<'_>> {
    let mut out = Vec::new();
    let mut chars = text.char_indices().peekable();
    let (mut line, mut column) = (1u32, 1u32);
    while let Some(&(start, c)) = chars.peek() {
        let (at_line, at_column) = (line, column);
        match c {
            '\n' => {
                chars.next();
                line += 1;
                column = 1;
            }
            '\t' => {
                chars.next();
                column += 4;
            }
            c if c.is_whitespace() => {
                chars.next();
                column += 1;
            }
            '#' => {
                while chars.peek().is_some_and(|&(_, c)| c != '\n') {
                    chars.next();
                }
            }
            '"' => {
                chars.next();
                column += 1;
                let mut end = None;
                while let Some((i, c)) = chars.next() {
                    column += 1;
                    match c {
                        '\\' => {
                            chars.next();
                            column += 1;
                        }
                        '"' => {
                            end = Some(i);
                            break;
                        }
                        '\n' => return out,
                        _ => {}
                    }
                }
                let Some(end) = end else { return out };
                let content = text.get(start + 1..end).unwrap_or_default();
                out.push(Token {
                    kind: Kind::Str(content),
                    line: at_line,
                    column: at_column,
                });
            }
            '`' => {
                chars.next();
                column += 1;
                let mut closed = false;
                for (_, c) in chars.by_ref() {
                    match c {
                        '`' => {
                            column += 1;
                            closed = true;
                            break;
                        }
                        '\n' => {
                            line += 1;
                            column = 1;
                        }
                        '\t' => column += 4,
                        _ => column += 1,
                    }
                }
                if !closed {
                    return out;
                }
                out.push(Token {
                    kind: Kind::Other,
                    line: at_line,
                    column: at_column,
                });
            }
            c if c.is_ascii_alphabetic() || c == '_' => {
                let mut end = start;
                while let Some(&(i, c)) = chars.peek() {
                    if c.is_ascii_alphanumeric() || c == '_' {
                        end = i + c.len_utf8();
                        chars.next();
                        column += 1;
                    } else {
                        break;
                    }
                }
                out.push(Token {
                    kind: Kind::Ident(text.get(start..end).unwrap_or_default()),
                    line: at_line,
                    column: at_column,
                });
            }
            c if c.is_ascii_digit() => {
                while chars
                    .peek()
                    .is_some_and(|&(_, c)| c.is_ascii_alphanumeric() || c == '.' || c == '_')
                {
                    chars.next();
                    column += 1;
                }
                out.push(Token {
                    kind: Kind::Other,
                    line: at_line,
                    column: at_column,
                });
            }
            c => {
                chars.next();
                column += 1;
                out.push(Token {
                    kind: Kind::Punct(c),
                    line: at_line,
                    column: at_column,
                });
            }
        }
    }
    out
}

/// Where something is in a module (1-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Position {
    pub(crate) line: u32,
    pub(crate) column: u32,
}

/// A reference to the `data` document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DataRef {
    /// The static path after `data` (`data.a.b["c"]` is `["a", "b", "c"]`), up to the first
    /// component that is not a plain name or string.
    pub(crate) path: Vec<String>,
    /// The path continues with a computed component (`data.a[x]`, `data[x]`) or an escaped
    /// string: it may reach anything under `path`.
    pub(crate) dynamic: bool,
    /// Where `data` is written.
    pub(crate) at: Position,
}

/// What a module reads, as far as its text shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Reads {
    /// Every reference to the `input` document.
    pub(crate) input: Vec<Position>,
    /// Every reference to the `data` document.
    pub(crate) data: Vec<DataRef>,
}

/// The `input` and `data` references of a module. A name after `.` is a field (`x.input`), not
/// the document, and so is not a reference.
pub(crate) fn reads(text: &str) -> Reads {
    let tokens = tokens(text);
    let mut reads = Reads::default();
    for (i, token) in tokens.iter().enumerate() {
        let after_dot = i
            .checked_sub(1)
            .and_then(|p| tokens.get(p))
            .is_some_and(|t| t.kind == Kind::Punct('.'));
        if after_dot {
            continue;
        }
        let at = Position {
            line: token.line,
            column: token.column,
        };
        match token.kind {
            Kind::Ident("input") => reads.input.push(at),
            Kind::Ident("data") => {
                let (path, dynamic) = static_path(tokens.get(i + 1..).unwrap_or_default());
                reads.data.push(DataRef { path, dynamic, at });
            }
            _ => {}
        }
    }
    reads
}

/// The `.name` / `["name"]` chain at the start of `rest`, and whether a computed component
/// follows it.
fn static_path(rest: &[Token<'_>]) -> (Vec<String>, bool) {
    let mut path = Vec::new();
    let mut i = 0;
    loop {
        match (
            rest.get(i).map(|t| t.kind),
            rest.get(i + 1).map(|t| t.kind),
            rest.get(i + 2).map(|t| t.kind),
        ) {
            (Some(Kind::Punct('.')), Some(Kind::Ident(name)), _) => {
                path.push(name.to_owned());
                i += 2;
            }
            (Some(Kind::Punct('[')), Some(Kind::Str(key)), Some(Kind::Punct(']')))
                if !key.contains('\\') =>
            {
                path.push(key.to_owned());
                i += 3;
            }
            (Some(Kind::Punct('[')), _, _) => return (path, true),
            _ => return (path, false),
        }
    }
}

/// The package a module declares (`package a.b["c"]` is `["a", "b", "c"]`) and where the
/// `package` keyword is; `None` when the text has no package clause the scan can read.
pub(crate) fn package_of(text: &str) -> Option<(Vec<String>, Position)> {
    let tokens = tokens(text);
    let (i, token) = tokens
        .iter()
        .enumerate()
        .find(|(_, t)| t.kind == Kind::Ident("package"))?;
    let first = match tokens.get(i + 1)?.kind {
        Kind::Ident(name) => name.to_owned(),
        _ => return None,
    };
    let (rest, dynamic) = static_path(tokens.get(i + 2..).unwrap_or_default());
    if dynamic {
        return None;
    }
    let mut path = vec![first];
    path.extend(rest);
    Some((
        path,
        Position {
            line: token.line,
            column: token.column,
        },
    ))
}

/// Where a rule named `name` is defined: the first line that starts with the name (or with
/// `default name`), Rego's way of writing rule heads.
pub(crate) fn rule_head(text: &str, name: &str) -> Option<Position> {
    let tokens = tokens(text);
    let mut previous_line = 0;
    for (i, token) in tokens.iter().enumerate() {
        let first_on_line = token.line != previous_line;
        previous_line = token.line;
        if !first_on_line {
            continue;
        }
        let named = match token.kind {
            Kind::Ident("default") => tokens.get(i + 1).map(|t| t.kind) == Some(Kind::Ident(name)),
            Kind::Ident(n) => n == name,
            _ => false,
        };
        if named && token.column == 1 {
            return Some(Position {
                line: token.line,
                column: token.column,
            });
        }
    }
    None
}

/// Names of the functions a module defines: rules whose head, at the start of a line, is
/// `name(` (or `default name(`).
pub(crate) fn functions(text: &str) -> Vec<String> {
    let tokens = tokens(text);
    let mut names: Vec<String> = Vec::new();
    let mut previous_line = 0;
    for (i, token) in tokens.iter().enumerate() {
        let first_on_line = token.line != previous_line;
        previous_line = token.line;
        if !first_on_line || token.column != 1 {
            continue;
        }
        let head = if token.kind == Kind::Ident("default") {
            i + 1
        } else {
            i
        };
        if let (Some(Kind::Ident(name)), Some(Kind::Punct('('))) = (
            tokens.get(head).map(|t| t.kind),
            tokens.get(head + 1).map(|t| t.kind),
        ) && !names.iter().any(|n| n == name)
        {
            names.push(name.to_owned());
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(line: u32, column: u32) -> Position {
        Position { line, column }
    }

    #[test]
    fn input_references_are_found_outside_comments_strings_and_fields() {
        let text = "package p\n\n# input in a comment\nx := \"input\" if { y.input }\nz := `input`\n\tw := input.a\nimport input\n";
        // A tab counts as four columns, as in regorus's messages.
        assert_eq!(reads(text).input, vec![at(6, 10), at(7, 8)]);
    }

    #[test]
    fn data_references_have_their_static_paths() {
        let text = "package p\nimport data.gatehouse.lib\nx := data.a[\"b-c\"].d\ny := data.e[k].f\nz := data\nw := data[\"q\\\"\"]\n";
        let data = reads(text).data;
        let found: Vec<(Vec<&str>, bool)> = data
            .iter()
            .map(|r| (r.path.iter().map(String::as_str).collect(), r.dynamic))
            .collect();
        assert_eq!(
            found,
            vec![
                (vec!["gatehouse", "lib"], false),
                (vec!["a", "b-c", "d"], false),
                (vec!["e"], true),
                (vec![], false),
                (vec![], true),
            ]
        );
        assert_eq!(reads(text).data.first().map(|r| r.at), Some(at(2, 8)));
    }

    #[test]
    fn packages_are_read() {
        assert_eq!(
            package_of("# header\npackage gatehouse.derived[\"x\"]\n"),
            Some((
                vec!["gatehouse".into(), "derived".into(), "x".into()],
                at(2, 1)
            ))
        );
        assert_eq!(package_of("x := 1\n"), None);
    }

    #[test]
    fn rule_heads_are_found_at_the_start_of_a_line() {
        let text = "package p\n\nf(x) := x\n\ndefault g := 1\n\th := 2\ng := 3\n";
        assert_eq!(rule_head(text, "f"), Some(at(3, 1)));
        assert_eq!(rule_head(text, "g"), Some(at(5, 1)));
        assert_eq!(rule_head(text, "h"), None);
    }

    #[test]
    fn functions_are_rules_whose_heads_take_arguments() {
        let text =
            "package p\n\nf(x) := x\nf(x) := 2\n\ndefault g(_) := 1\nh := 2\nk[x] := 1 if x := 1\n";
        assert_eq!(functions(text), vec!["f", "g"]);
    }

    #[test]
    fn unclosed_strings_end_the_scan() {
        assert_eq!(reads("x := \"input\ny := input").input, Vec::new());
    }
}
