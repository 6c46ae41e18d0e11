//! YAML to JSON values, remembering where every node came from.
//!
//! Validation works on `serde_json::Value` (JSON Schema), but errors must point at the YAML line,
//! so every node's span is indexed by its JSON pointer.

use std::borrow::Cow;
use std::collections::HashMap;

use saphyr::Scalar;
use saphyr_parser::{Event, Parser, ScalarStyle, Span as YamlSpan};
use serde_json::{Map, Number, Value};

use crate::source::Span;

/// Where one node is: its value and, for mapping entries, its key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NodeSpans {
    pub key: Option<Span>,
    /// For a literal (`|`) or folded (`>`) block scalar, this starts at its first non-blank
    /// character, not at the indicator.
    pub value: Span,
}

/// A parsed YAML file: its value as JSON, and the spans of its nodes by JSON pointer.
#[derive(Debug, Default)]
pub struct Document {
    pub value: Value,
    spans: HashMap<String, NodeSpans>,
}

impl Document {
    /// Spans of the node at a JSON pointer (`""` is the root, `/channels/0`).
    pub fn node(&self, pointer: &str) -> Option<NodeSpans> {
        self.spans.get(pointer).copied()
    }

    /// The span of the value at `pointer`, or of its nearest ancestor that exists.
    pub fn value_span(&self, pointer: &str) -> Span {
        self.nearest(pointer).value
    }

    /// The span of the key at `pointer` if it is a mapping entry, else its value.
    pub fn key_span(&self, pointer: &str) -> Span {
        let n = self.nearest(pointer);
        n.key.unwrap_or(n.value)
    }

    fn nearest(&self, pointer: &str) -> NodeSpans {
        let mut p = pointer;
        loop {
            if let Some(n) = self.spans.get(p) {
                return *n;
            }
            match p.rfind('/') {
                Some(i) => p = &p[..i],
                None => {
                    return NodeSpans {
                        key: None,
                        value: Span::default(),
                    }
                }
            }
        }
    }
}

/// Why a file is not usable YAML.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct YamlError {
    pub message: String,
    pub span: Span,
    pub kind: YamlErrorKind,
    /// Printed under the span, when the message alone does not say what is there.
    pub label: Option<&'static str>,
    /// How to fix it, when more specific than the general help for its kind.
    pub help: Option<String>,
}

impl YamlError {
    fn new(kind: YamlErrorKind, message: impl Into<String>, span: Span) -> YamlError {
        YamlError {
            message: message.into(),
            span,
            kind,
            label: None,
            help: None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum YamlErrorKind {
    Syntax,
    Alias,
    DuplicateKey,
    UnsupportedKey,
    MultipleDocuments,
}

/// Escapes one JSON pointer segment (RFC 6901).
pub fn pointer_segment(s: &str) -> Cow<'_, str> {
    if s.contains(['~', '/']) {
        Cow::Owned(s.replace('~', "~0").replace('/', "~1"))
    } else {
        Cow::Borrowed(s)
    }
}

pub fn parse(text: &str) -> Result<Document, YamlError> {
    let mut builder = Builder {
        text,
        open_flow: Vec::new(),
        offsets: CharOffsets::new(text),
        spans: HashMap::new(),
        parser: Parser::new_from_str(text),
    };
    builder.document()
}

/// saphyr reports positions in characters; diagnostics work in bytes.
struct CharOffsets {
    /// Byte offset of each character, only when the text is not ASCII.
    table: Option<Vec<usize>>,
    len: usize,
}

impl CharOffsets {
    fn new(text: &str) -> CharOffsets {
        let table = (!text.is_ascii()).then(|| text.char_indices().map(|(i, _)| i).collect());
        CharOffsets {
            table,
            len: text.len(),
        }
    }

    fn byte(&self, char_index: usize) -> usize {
        match &self.table {
            None => char_index.min(self.len),
            Some(t) => t.get(char_index).copied().unwrap_or(self.len),
        }
    }

    fn span(&self, s: &YamlSpan) -> Span {
        Span::new(self.byte(s.start.index()), self.byte(s.end.index()))
    }
}

struct Builder<'a> {
    text: &'a str,
    /// Byte offsets of the `[` and `{` of the flow collections being read, innermost last: a
    /// syntax error inside one is most often that collection never being closed.
    open_flow: Vec<usize>,
    offsets: CharOffsets,
    spans: HashMap<String, NodeSpans>,
    parser: Parser<'a, saphyr_parser::StrInput<'a>>,
}

impl<'a> Builder<'a> {
    fn next(&mut self) -> Result<(Event<'a>, Span), YamlError> {
        match self.parser.next_event() {
            Some(Ok((ev, span))) => Ok((ev, self.offsets.span(&span))),
            Some(Err(e)) => {
                let at = self.offsets.byte(e.marker().index());
                Err(syntax_error(
                    self.text,
                    e.info(),
                    at,
                    self.open_flow.last().copied(),
                ))
            }
            None => Ok((
                Event::StreamEnd,
                Span::new(self.offsets.len, self.offsets.len),
            )),
        }
    }

    fn document(&mut self) -> Result<Document, YamlError> {
        let mut value = Value::Null;
        let mut seen_document = false;
        loop {
            let (ev, span) = self.next()?;
            match ev {
                Event::StreamStart | Event::Nothing | Event::DocumentEnd => {}
                Event::StreamEnd => break,
                Event::DocumentStart(_) => {
                    if seen_document {
                        return Err(YamlError::new(
                            YamlErrorKind::MultipleDocuments,
                            "a second YAML document (`---`) in one file",
                            span,
                        ));
                    }
                    seen_document = true;
                    let (ev, span) = self.next()?;
                    value = self.node(ev, span, String::new(), None)?;
                }
                other => {
                    // A stream without DocumentStart does not happen with saphyr; handle it anyway.
                    seen_document = true;
                    value = self.node(other, span, String::new(), None)?;
                }
            }
        }
        Ok(Document {
            value,
            spans: std::mem::take(&mut self.spans),
        })
    }

    /// Notes a collection starting at `span` if it is a flow one (`[` or `{`).
    fn enter_flow(&mut self, span: Span) -> bool {
        let flow = self.text[span.start..].starts_with(['[', '{']);
        if flow {
            self.open_flow.push(span.start);
        }
        flow
    }

    fn leave_flow(&mut self, flow: bool) {
        if flow {
            self.open_flow.pop();
        }
    }

    fn alias_error(span: Span, what: &str) -> YamlError {
        YamlError::new(
            YamlErrorKind::Alias,
            format!("YAML {what} are not supported"),
            span,
        )
    }

    fn node(
        &mut self,
        ev: Event<'a>,
        span: Span,
        pointer: String,
        key: Option<Span>,
    ) -> Result<Value, YamlError> {
        match ev {
            Event::Alias(_) => Err(Self::alias_error(span, "aliases (`*name`)")),
            Event::Scalar(text, style, anchor, tag) => {
                if anchor != 0 {
                    return Err(Self::alias_error(span, "anchors (`&name`)"));
                }
                self.spans.insert(pointer, NodeSpans { key, value: span });
                Ok(scalar_value(text, style, tag.as_ref()))
            }
            Event::SequenceStart(anchor, _) => {
                if anchor != 0 {
                    return Err(Self::alias_error(span, "anchors (`&name`)"));
                }
                let flow = self.enter_flow(span);
                let mut items = Vec::new();
                let end = loop {
                    let (ev, item_span) = self.next()?;
                    if let Event::SequenceEnd = ev {
                        break item_span;
                    }
                    let p = format!("{pointer}/{}", items.len());
                    items.push(self.node(ev, item_span, p, None)?);
                };
                self.leave_flow(flow);
                self.spans.insert(
                    pointer,
                    NodeSpans {
                        key,
                        value: Span::new(span.start, end.end),
                    },
                );
                Ok(Value::Array(items))
            }
            Event::MappingStart(anchor, _) => {
                if anchor != 0 {
                    return Err(Self::alias_error(span, "anchors (`&name`)"));
                }
                let flow = self.enter_flow(span);
                let mut map = Map::new();
                let end = loop {
                    let (ev, key_span) = self.next()?;
                    let name = match ev {
                        Event::MappingEnd => break key_span,
                        Event::Scalar(text, ..) if text == "<<" => {
                            return Err(Self::alias_error(key_span, "merge keys (`<<`)"));
                        }
                        Event::Scalar(text, style, anchor, tag) => {
                            if anchor != 0 {
                                return Err(Self::alias_error(key_span, "anchors (`&name`)"));
                            }
                            match scalar_value(text, style, tag.as_ref()) {
                                Value::String(s) => s,
                                Value::Null => {
                                    return Err(YamlError::new(
                                        YamlErrorKind::UnsupportedKey,
                                        "a mapping key is empty (null)",
                                        key_span,
                                    ))
                                }
                                other => other.to_string(),
                            }
                        }
                        Event::Alias(_) => {
                            return Err(Self::alias_error(key_span, "aliases (`*name`)"))
                        }
                        _ => {
                            return Err(YamlError::new(
                                YamlErrorKind::UnsupportedKey,
                                "a mapping key must be a plain value, not a list or mapping",
                                key_span,
                            ))
                        }
                    };
                    let p = format!("{pointer}/{}", pointer_segment(&name));
                    if map.contains_key(&name) {
                        let first = self.spans.get(&p).and_then(|n| n.key).unwrap_or(key_span);
                        let line = line_of(self.text, first.start);
                        return Err(YamlError::new(
                            YamlErrorKind::DuplicateKey,
                            format!("the key `{name}` appears twice in this mapping (first on line {line})"),
                            key_span,
                        ));
                    }
                    let (ev, value_span) = self.next()?;
                    let v = self.node(ev, value_span, p, Some(key_span))?;
                    map.insert(name, v);
                };
                self.leave_flow(flow);
                self.spans.insert(
                    pointer,
                    NodeSpans {
                        key,
                        value: Span::new(span.start, end.end),
                    },
                );
                Ok(Value::Object(map))
            }
            _ => Err(YamlError::new(
                YamlErrorKind::Syntax,
                "unexpected YAML structure",
                span,
            )),
        }
    }
}

/// 1-based line of a byte offset.
fn line_of(text: &str, at: usize) -> usize {
    text[..at.min(text.len())].matches('\n').count() + 1
}

/// Turns saphyr's message about the error at byte `at` into one that says what the writer did
/// wrong and points where it happened (an unclosed `[` or quote is reported where it opens).
fn syntax_error(text: &str, info: &str, at: usize, open_flow: Option<usize>) -> YamlError {
    let at = at.min(text.len());
    let one = |i: usize| Span::new(i, (i + 1).min(text.len()));
    let error = |message: String, span: Span, label: &'static str, help: String| YamlError {
        label: Some(label),
        help: Some(help),
        ..YamlError::new(YamlErrorKind::Syntax, message, span)
    };
    // Inside a `[`/`{` opened on an earlier line, or an error about flow collections: the
    // collection was not closed before the next `key:` (saphyr stops at that key's `:`).
    if let Some(open) =
        open_flow.filter(|&o| line_of(text, o) < line_of(text, at) || info.contains("flow"))
    {
        let (what, close) = if text[open..].starts_with('[') {
            ("list", ']')
        } else {
            ("mapping", '}')
        };
        return error(
            format!("this {what} is never closed (missing `{close}`)"),
            one(open),
            "opened here",
            format!("add `{close}` after the last item"),
        );
    }
    // saphyr says "double-quoted" for both quote styles.
    if info.starts_with("invalid trailing content after") {
        let end = text[..at].trim_end_matches([' ', '\t']);
        if let Some(quote) = end.chars().next_back().filter(|c| matches!(c, '"' | '\'')) {
            let help = if quote == '"' {
                "to use `\"` inside the text, put the whole text in single quotes ('say \"hi\"'), or write it as a block: `text: |` with the text on the next lines"
            } else {
                "to use `'` inside single-quoted text, write it twice (`it''s`), or put the whole text in double quotes"
            };
            return error(
                format!("this `{quote}` ends the quoted text, and more text follows it"),
                one(end.len() - 1),
                "the quoted text ends here",
                help.to_string(),
            );
        }
    }
    if info.contains("quoted scalar") {
        if let Some(quote) = text[at..]
            .chars()
            .next()
            .filter(|c| matches!(c, '"' | '\''))
        {
            if closing_quote(&text[at + 1..], quote).is_none() {
                return error(
                    "the quoted text is never closed".to_string(),
                    one(at),
                    "opened here",
                    format!("end the text with `{quote}`"),
                );
            }
            return error(
                "the quoted text is not closed on its line, and the next line is not indented".to_string(),
                one(at),
                "opened here",
                format!("end the text with `{quote}` on this line, or indent the lines it goes on over more than its key"),
            );
        }
    }
    // The error's line without its indentation: a caret under a tab would not line up.
    let line = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let content = text[line..].lines().next().unwrap_or_default();
    let indent = content.len() - content.trim_start().len();
    let content = Span::new(line + indent, line + content.trim_end().len());
    if info.starts_with("tabs disallowed") {
        return error(
            "a tab is used for indentation".to_string(),
            content,
            "indented with a tab",
            "YAML indents with spaces only: replace the tabs with spaces".to_string(),
        );
    }
    if info.ends_with("did not find expected key") {
        return error(
            "this line is indented differently from the keys around it".to_string(),
            content,
            "unexpected indentation",
            "align it with the keys of its mapping; a text that goes on must be indented more than its key, or written as a block with `|`".to_string(),
        );
    }
    YamlError::new(YamlErrorKind::Syntax, info, one(at))
}

/// The byte offset of the quote that closes a quoted scalar whose text starts `rest`.
fn closing_quote(rest: &str, quote: char) -> Option<usize> {
    let mut chars = rest.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match (quote, c) {
            ('"', '\\') => {
                chars.next();
            }
            ('\'', '\'') if chars.peek().is_some_and(|&(_, n)| n == '\'') => {
                chars.next();
            }
            _ if c == quote => return Some(i),
            _ => {}
        }
    }
    None
}

/// Resolves a scalar per the YAML 1.2 core schema (quoted scalars are always strings).
fn scalar_value(
    text: Cow<'_, str>,
    style: ScalarStyle,
    tag: Option<&Cow<'_, saphyr_parser::Tag>>,
) -> Value {
    match Scalar::parse_from_cow_and_metadata(text.clone(), style, tag) {
        Some(Scalar::Null) => Value::Null,
        Some(Scalar::Boolean(b)) => Value::Bool(b),
        Some(Scalar::Integer(i)) => Value::Number(i.into()),
        Some(Scalar::FloatingPoint(f)) => {
            Number::from_f64(f.into_inner()).map_or(Value::String(text.into_owned()), Value::Number)
        }
        Some(Scalar::String(s)) => Value::String(s.into_owned()),
        None => Value::String(text.into_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_point_at_keys_and_values_in_bytes() {
        let text = "brand: Café\nchannels:\n  bsky:\n    platform: bluesky\nlist: [a, é, c]\n";
        let doc = parse(text).expect("valid yaml");
        let v = doc.value_span("/channels/bsky/platform");
        assert_eq!(&text[v.start..v.end], "bluesky");
        let k = doc.key_span("/channels/bsky/platform");
        assert_eq!(&text[k.start..k.end], "platform");
        let i = doc.value_span("/list/2");
        assert_eq!(&text[i.start..i.end], "c");
        assert_eq!(doc.value["brand"], "Café");
    }

    #[test]
    fn scalars_follow_yaml_1_2_core_schema() {
        let doc = parse("a: 10\nb: '10'\nc: yes\nd: true\ne: 22:00\nf: 2026-12-01 09:00\ng: ~\n")
            .expect("valid");
        assert_eq!(doc.value["a"], 10);
        assert_eq!(doc.value["b"], "10");
        assert_eq!(doc.value["c"], "yes");
        assert_eq!(doc.value["d"], true);
        assert_eq!(doc.value["e"], "22:00");
        assert_eq!(doc.value["f"], "2026-12-01 09:00");
        assert_eq!(doc.value["g"], Value::Null);
    }

    #[test]
    fn anchors_aliases_duplicates_are_refused_with_a_span() {
        for (text, kind) in [
            ("a: &x 1\nb: *x\n", YamlErrorKind::Alias),
            ("a: 1\na: 2\n", YamlErrorKind::DuplicateKey),
            ("a: 1\n---\nb: 2\n", YamlErrorKind::MultipleDocuments),
            ("a: [1\n", YamlErrorKind::Syntax),
            ("b:\n  <<: {c: 1}\n", YamlErrorKind::Alias),
        ] {
            let err = parse(text).expect_err(text);
            assert_eq!(err.kind, kind, "{text:?}: {err:?}");
            assert!(err.span.start <= text.len());
        }
    }

    #[test]
    fn block_scalars_start_at_their_first_content_character() {
        // Template errors map template lines to file lines from here (src/render.rs).
        for (text, pointer, first) in [
            ("text: |\n  hello\n  world\n", "/text", "hello"),
            ("a:\n  text: >-\n\n    hello\n", "/a/text", "hello"),
            ("text: |\n  {{ x }\n", "/text", "{{ x }"),
        ] {
            let v = parse(text).expect("valid").value_span(pointer);
            assert_eq!(text[v.start..].lines().next(), Some(first), "{text:?}");
        }
    }

    #[test]
    fn syntax_errors_say_what_is_unclosed_and_point_where_it_opens() {
        for (text, message, at) in [
            (
                "channels: [a, b\ntext: hi\n",
                "this list is never closed (missing `]`)",
                "[a, b",
            ),
            (
                "m: {a: 1\nc: 3\n",
                "this mapping is never closed (missing `}`)",
                "{a: 1",
            ),
            (
                "text: \"Shop closed\nb: 1\n",
                "the quoted text is never closed",
                "\"Shop",
            ),
            (
                "text: \"say \"hi\" now\"\n",
                "this `\"` ends the quoted text, and more text follows it",
                "\"hi",
            ),
            (
                "a: 1\na: 2\n",
                "the key `a` appears twice in this mapping (first on line 1)",
                "a: 2",
            ),
            ("a:\n\tb: 1\n", "a tab is used for indentation", "b: 1"),
        ] {
            let err = parse(text).expect_err(text);
            assert_eq!(err.message, message, "{text:?}");
            assert!(text[err.span.start..].starts_with(at), "{text:?}: {err:?}");
        }
    }
}
