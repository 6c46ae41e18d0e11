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
#[derive(Debug)]
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
                Err(YamlError {
                    message: e.info().to_string(),
                    span: Span::new(at, at + 1),
                    kind: YamlErrorKind::Syntax,
                })
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
                        return Err(YamlError {
                            message: "a second YAML document (`---`) in one file".into(),
                            span,
                            kind: YamlErrorKind::MultipleDocuments,
                        });
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

    fn alias_error(span: Span, what: &str) -> YamlError {
        YamlError {
            message: format!("YAML {what} are not supported"),
            span,
            kind: YamlErrorKind::Alias,
        }
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
                self.spans.insert(
                    pointer,
                    NodeSpans {
                        key,
                        value: span,
                    },
                );
                Ok(scalar_value(text, style, tag.as_ref()))
            }
            Event::SequenceStart(anchor, _) => {
                if anchor != 0 {
                    return Err(Self::alias_error(span, "anchors (`&name`)"));
                }
                let mut items = Vec::new();
                let end = loop {
                    let (ev, item_span) = self.next()?;
                    if let Event::SequenceEnd = ev {
                        break item_span;
                    }
                    let p = format!("{pointer}/{}", items.len());
                    items.push(self.node(ev, item_span, p, None)?);
                };
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
                                    return Err(YamlError {
                                        message: "a mapping key is empty (null)".into(),
                                        span: key_span,
                                        kind: YamlErrorKind::UnsupportedKey,
                                    })
                                }
                                other => other.to_string(),
                            }
                        }
                        Event::Alias(_) => {
                            return Err(Self::alias_error(key_span, "aliases (`*name`)"))
                        }
                        _ => {
                            return Err(YamlError {
                                message:
                                    "a mapping key must be a plain value, not a list or mapping"
                                        .into(),
                                span: key_span,
                                kind: YamlErrorKind::UnsupportedKey,
                            })
                        }
                    };
                    if map.contains_key(&name) {
                        return Err(YamlError {
                            message: format!("the key `{name}` appears twice in this mapping"),
                            span: key_span,
                            kind: YamlErrorKind::DuplicateKey,
                        });
                    }
                    let (ev, value_span) = self.next()?;
                    let p = format!("{pointer}/{}", pointer_segment(&name));
                    let v = self.node(ev, value_span, p, Some(key_span))?;
                    map.insert(name, v);
                };
                self.spans.insert(
                    pointer,
                    NodeSpans {
                        key,
                        value: Span::new(span.start, end.end),
                    },
                );
                Ok(Value::Object(map))
            }
            _ => Err(YamlError {
                message: "unexpected YAML structure".into(),
                span,
                kind: YamlErrorKind::Syntax,
            }),
        }
    }
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
}
