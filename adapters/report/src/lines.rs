//! The one place printed text becomes lines, so that nothing a pull request wrote can become a
//! workflow command.
//!
//! The GitHub Actions runner reads every line of a step's stdout and stderr, trims its leading
//! whitespace, and runs it as a workflow command when it starts with `::` (a carriage return
//! ends a line as well as a line feed). File names, intent values and the messages built from
//! them are text: under [`Sink::ActionsLog`] a line of text escapes `%`, `\r` and `\n` (`%25`,
//! `%0D`, `%0A`, GitHub's escaping for command data) so that it stays one line, and a line that
//! would still start with `::` starts with `%3A:` instead. Workflow commands are
//! [`WorkflowCommand`]s, whose only constructor escapes every part, and the renderers that print
//! no commands at all (JSON, SARIF, JUnit, Markdown) go through [`Sink::guard`].

use std::fmt;

/// Where printed text goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Sink {
    /// A terminal, a file or a pipe: text as it is.
    #[default]
    Plain,
    /// A GitHub Actions log (`GITHUB_ACTIONS=true`): no line of text can be read as a workflow
    /// command.
    ActionsLog,
}

impl Sink {
    /// [`Sink::ActionsLog`] when `github_actions` (the value of `GITHUB_ACTIONS`) is `true`.
    pub fn from_github_actions(github_actions: Option<&str>) -> Self {
        if github_actions == Some("true") {
            Self::ActionsLog
        } else {
            Self::Plain
        }
    }

    /// Text of a format that prints no workflow command (JSON, SARIF, JUnit, Markdown, stderr
    /// notes): under [`Sink::ActionsLog`] each line that would start with `::` starts with `%3A:`
    /// instead, and a carriage return that is not part of a line end is escaped.
    pub fn guard(self, text: &str) -> String {
        match self {
            Self::Plain => text.to_owned(),
            Self::ActionsLog => {
                let mut out = String::with_capacity(text.len());
                for piece in text.split_inclusive('\n') {
                    let (line, end) = match piece.strip_suffix('\n') {
                        Some(line) => match line.strip_suffix('\r') {
                            Some(line) => (line, "\r\n"),
                            None => (line, "\n"),
                        },
                        None => (piece, ""),
                    };
                    out.push_str(&defuse(&line.replace('\r', "%0D")));
                    out.push_str(end);
                }
                out
            }
        }
    }
}

/// Escapes workflow command data: `%`, `\r`, `\n`.
pub fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a workflow command property value: as [`escape_data`], plus `:` and `,`.
pub fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

/// A line that starts (after whitespace) with `::` starts with `%3A:` instead.
fn defuse(line: &str) -> String {
    let body = line.trim_start();
    if body.starts_with("::") {
        let indent = line.len() - body.len();
        format!(
            "{}%3A{}",
            line.get(..indent).unwrap_or_default(),
            body.get(1..).unwrap_or_default()
        )
    } else {
        line.to_owned()
    }
}

/// One workflow command line, `::name key=value,…::data`: the name and the keys are ours, the
/// values and the data are escaped here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkflowCommand(String);

impl WorkflowCommand {
    /// The command `name` with its properties (values escaped) and data (escaped).
    pub fn new(name: &'static str, properties: &[(&'static str, &str)], data: &str) -> Self {
        let mut line = format!("::{name}");
        for (i, (key, value)) in properties.iter().enumerate() {
            line.push(if i == 0 { ' ' } else { ',' });
            line.push_str(key);
            line.push('=');
            line.push_str(&escape_property(value));
        }
        line.push_str("::");
        line.push_str(&escape_data(data));
        Self(line)
    }
}

impl fmt::Display for WorkflowCommand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Printed lines: text, or workflow commands.
#[derive(Debug)]
pub struct Lines {
    sink: Sink,
    out: String,
}

impl Lines {
    /// No lines yet, printed to `sink`.
    pub fn new(sink: Sink) -> Self {
        Self {
            sink,
            out: String::new(),
        }
    }

    /// One line of text. Under [`Sink::Plain`] its line breaks are kept (continuation lines);
    /// under [`Sink::ActionsLog`] it stays one line whatever it holds.
    pub fn text(&mut self, line: &str) {
        match self.sink {
            Sink::Plain => self.out.push_str(line),
            Sink::ActionsLog => self.out.push_str(&defuse(&escape_data(line))),
        }
        self.out.push('\n');
    }

    /// An empty line.
    pub fn blank(&mut self) {
        self.out.push('\n');
    }

    /// A workflow command.
    pub fn command(&mut self, command: &WorkflowCommand) {
        self.out.push_str(&command.0);
        self.out.push('\n');
    }

    /// Lines already rendered for the same sink (by another [`Lines`]).
    pub fn append(&mut self, other: Lines) {
        self.out.push_str(&other.out);
    }

    /// The printed text.
    pub fn into_string(self) -> String {
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_in_an_actions_log_stays_one_line() {
        let mut lines = Lines::new(Sink::ActionsLog);
        lines.text("  a\n::warning::x\r::error::y 50%");
        lines.text("\t::notice::z");
        assert_eq!(
            lines.into_string(),
            "  a%0A::warning::x%0D::error::y 50%25\n\t%3A:notice::z\n"
        );
        let mut plain = Lines::new(Sink::Plain);
        plain.text("a\nb");
        assert_eq!(plain.into_string(), "a\nb\n");
    }

    #[test]
    fn commands_escape_every_value() {
        let command = WorkflowCommand::new(
            "error",
            &[("file", "a,b:\n::x"), ("title", "t%")],
            "m\n::warning::y",
        );
        assert_eq!(
            command.to_string(),
            "::error file=a%2Cb%3A%0A%3A%3Ax,title=t%25::m%0A::warning::y"
        );
    }

    #[test]
    fn the_guard_breaks_lines_that_start_a_command() {
        let text = "{\n  \"a\": 1\n}\n  ::warning::x\r\n::error::y\rz\n";
        assert_eq!(
            Sink::ActionsLog.guard(text),
            "{\n  \"a\": 1\n}\n  %3A:warning::x\r\n%3A:error::y%0Dz\n"
        );
        assert_eq!(Sink::Plain.guard(text), text);
    }
}
