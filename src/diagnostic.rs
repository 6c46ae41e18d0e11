//! One diagnostic type for every check, rendered rustc-style for people or as JSON for tools.

use std::fmt::Write as _;

use anstyle::{AnsiColor, Style};
use serde::Serialize;

use crate::source::{FileId, Sources, Span};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// Where a diagnostic points.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Location {
    pub file: FileId,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    /// Stable code, e.g. `E0201`; documented in docs/diagnostics.md.
    pub code: &'static str,
    pub message: String,
    pub location: Option<Location>,
    /// Short text printed under the underlined span.
    pub label: Option<String>,
    /// One line on how to fix it.
    pub help: Option<String>,
    /// A part of the source that may hold a secret: never quoted, shown as `*`.
    pub redact: Option<Span>,
}

impl Diagnostic {
    pub fn error(code: &'static str, message: impl Into<String>) -> Diagnostic {
        Diagnostic::new(Severity::Error, code, message)
    }

    pub fn new(severity: Severity, code: &'static str, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity,
            code,
            message: message.into(),
            location: None,
            label: None,
            help: None,
            redact: None,
        }
    }

    pub fn at(mut self, file: FileId, span: Span) -> Diagnostic {
        self.location = Some(Location { file, span });
        self
    }

    pub fn label(mut self, label: impl Into<String>) -> Diagnostic {
        self.label = Some(label.into());
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }

    pub fn redact(mut self, span: Span) -> Diagnostic {
        self.redact = Some(span);
        self
    }
}

/// `` `bluesky`, `mastodon` ``: names in a message about several channels or platforms.
pub fn quoted_list<S: AsRef<str>>(names: &[S]) -> String {
    names
        .iter()
        .map(|n| format!("`{}`", n.as_ref()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Orders diagnostics by file, position and code so output is stable.
pub fn sort(diagnostics: &mut [Diagnostic], sources: &Sources) {
    diagnostics.sort_by(|a, b| {
        let key = |d: &Diagnostic| {
            d.location
                .map(|l| (sources.path(l.file).to_path_buf(), l.span.start, l.span.end))
        };
        key(a)
            .cmp(&key(b))
            .then_with(|| a.code.cmp(b.code))
            .then_with(|| a.message.cmp(&b.message))
    });
}

const ERROR: Style = AnsiColor::Red.on_default().bold();
const WARNING: Style = AnsiColor::Yellow.on_default().bold();
const GUTTER: Style = AnsiColor::Blue.on_default().bold();
const BOLD: Style = Style::new().bold();

/// Renders one diagnostic the way rustc does, with ANSI styles (strip them for plain output).
pub fn render(d: &Diagnostic, sources: &Sources) -> String {
    let mut out = String::new();
    let (word, style) = match d.severity {
        Severity::Error => ("error", ERROR),
        Severity::Warning => ("warning", WARNING),
    };
    let _ = writeln!(
        out,
        "{style}{word}[{}]{style:#}{BOLD}: {}{BOLD:#}",
        d.code, d.message
    );
    let Some(loc) = d.location else {
        if let Some(help) = &d.help {
            let _ = writeln!(out, "  {GUTTER}={GUTTER:#} {BOLD}help{BOLD:#}: {help}");
        }
        return out;
    };
    let file = sources.get(loc.file);
    let span = file.clamp(loc.span);
    let (line, col) = file.line_col(span.start);
    let width = line.to_string().len();
    let pad = " ".repeat(width);
    let _ = writeln!(
        out,
        "{pad}{GUTTER}-->{GUTTER:#} {}:{line}:{col}",
        file.path.display()
    );
    let _ = writeln!(out, "{pad} {GUTTER}|{GUTTER:#}");
    let line_span = file.line_span(line);
    let (text, start_col, carets) = shown_line(file.text(), line_span, span, d.redact);
    let text = text.as_str();
    let _ = writeln!(out, "{GUTTER}{line} |{GUTTER:#} {text}");
    let indent: String = text
        .chars()
        .take(start_col)
        .map(|c| if c == '\t' { '\t' } else { ' ' })
        .collect();
    let label = d
        .label
        .as_deref()
        .map(|l| format!(" {l}"))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "{pad} {GUTTER}|{GUTTER:#} {indent}{style}{}{label}{style:#}",
        "^".repeat(carets)
    );
    if let Some(help) = &d.help {
        let _ = writeln!(out, "{pad} {GUTTER}={GUTTER:#} {BOLD}help{BOLD:#}: {help}");
    }
    out
}

/// What stands for a redacted secret: a fixed width, so not even its length is shown.
const MASK: &str = "****";

/// The source line as shown, with the part inside `redact` replaced by [`MASK`], and the column
/// (0-based, in characters of the shown line) and width of the span's part on that line; at least
/// one caret so an empty span shows.
fn shown_line(
    source: &str,
    line: Span,
    span: Span,
    redact: Option<Span>,
) -> (String, usize, usize) {
    let chars = |from: usize, to: usize| source[from..to].chars().count();
    let redact = redact
        .map(|r| {
            Span::new(
                r.start.clamp(line.start, line.end),
                r.end.clamp(line.start, line.end),
            )
        })
        .filter(|r| r.start < r.end);
    let column = |at: usize| match redact {
        Some(r) if at > r.start => {
            chars(line.start, r.start) + MASK.len() + chars(r.end, at.max(r.end))
        }
        _ => chars(line.start, at),
    };
    let text = match redact {
        Some(r) => format!(
            "{}{MASK}{}",
            &source[line.start..r.start],
            &source[r.end..line.end]
        ),
        None => source[line.start..line.end].to_string(),
    };
    let start = span.start.clamp(line.start, line.end);
    let end = span.end.clamp(start, line.end);
    let (from, to) = (column(start), column(end));
    (text, from, (to - from).max(1))
}

/// The JSON form of a diagnostic (schemas/validate-report.schema.json).
#[derive(Debug, Serialize)]
pub struct JsonDiagnostic<'a> {
    pub severity: Severity,
    pub code: &'a str,
    pub message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_line: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_column: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<&'a str>,
}

impl<'a> JsonDiagnostic<'a> {
    pub fn new(d: &'a Diagnostic, sources: &Sources) -> JsonDiagnostic<'a> {
        let mut j = JsonDiagnostic {
            severity: d.severity,
            code: d.code,
            message: &d.message,
            file: None,
            line: None,
            column: None,
            end_line: None,
            end_column: None,
            label: d.label.as_deref(),
            help: d.help.as_deref(),
        };
        if let Some(loc) = d.location {
            let file = sources.get(loc.file);
            let span = file.clamp(loc.span);
            let (line, col) = file.line_col(span.start);
            let (end_line, end_col) = file.line_col(span.end);
            j.file = Some(file.path.display().to_string());
            (j.line, j.column, j.end_line, j.end_column) =
                (Some(line), Some(col), Some(end_line), Some(end_col));
        }
        j
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacted_text_shows_a_fixed_mask_and_underlines_it() {
        let src = "token: AAAA1234secret # note\n";
        let line = Span::new(0, src.len() - 1);
        let secret = Span::new(7, 21);
        let (text, col, width) = shown_line(src, line, secret, Some(secret));
        assert_eq!(text, "token: **** # note");
        assert_eq!((col, width), (7, 4));
        // A span after the secret moves with the shorter text.
        let (_, col, width) = shown_line(src, line, Span::new(22, 28), Some(secret));
        assert_eq!((col, width), (12, 6));
    }
}
