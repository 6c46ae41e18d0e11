//! The JSON Schemas of the file formats (schemas/*.json), compiled once and applied to YAML documents.

use std::sync::OnceLock;

use jsonschema::error::ValidationErrorKind;
use jsonschema::Validator;
use serde_json::Value;

use crate::diagnostic::Diagnostic;
use crate::source::FileId;
use crate::yaml::Document;

/// The file kinds a workspace holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    Workspace,
    Campaign,
    Post,
}

impl FileKind {
    pub fn schema_text(self) -> &'static str {
        match self {
            FileKind::Workspace => include_str!("../schemas/workspace.schema.json"),
            FileKind::Campaign => include_str!("../schemas/campaign.schema.json"),
            FileKind::Post => include_str!("../schemas/post.schema.json"),
        }
    }

    fn validator(self) -> &'static Validator {
        static CELLS: [OnceLock<Validator>; 3] =
            [OnceLock::new(), OnceLock::new(), OnceLock::new()];
        CELLS[self as usize].get_or_init(|| {
            // The schemas are part of the binary and covered by tests, so failing here is a bug.
            #[allow(clippy::expect_used)]
            let schema: Value =
                serde_json::from_str(self.schema_text()).expect("embedded schema is JSON");
            #[allow(clippy::expect_used)]
            jsonschema::draft202012::new(&schema).expect("embedded schema compiles")
        })
    }
}

/// Checks a document against its schema; one diagnostic per violation, pointing at the YAML.
pub fn check(kind: FileKind, doc: &Document, file: FileId) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    // Most files are valid: the boolean check is much cheaper than collecting errors.
    if kind.validator().is_valid(&doc.value) {
        return out;
    }
    for err in kind.validator().iter_errors(&doc.value) {
        let pointer = err.instance_path().as_str().to_string();
        out.push(describe(
            kind,
            err.kind(),
            &pointer,
            err.instance(),
            doc,
            file,
            &err.to_string(),
        ));
    }
    out
}

fn field_name(pointer: &str) -> String {
    match pointer.rsplit('/').next() {
        Some(last) if !pointer.is_empty() => last.replace("~1", "/").replace("~0", "~"),
        _ => "the file".to_string(),
    }
}

/// `` `media` `` for a field; "item 2 of `thread`" for a list item (pointers count from 0).
fn place_name(pointer: &str) -> String {
    let (parent, last) = pointer.rsplit_once('/').unwrap_or(("", pointer));
    match last.parse::<usize>() {
        Ok(index) if !parent.is_empty() => {
            format!("item {} of `{}`", index + 1, field_name(parent))
        }
        _ => format!("`{}`", field_name(pointer)),
    }
}

/// The text a writer meant when a `: ` in an unquoted line turned it into a one-key mapping
/// (`- Brew time: 3 minutes.`), so the help can show it quoted.
fn colon_in_plain_text(instance: &Value) -> Option<String> {
    let map = instance.as_object()?;
    let (key, value) = map.iter().next().filter(|_| map.len() == 1)?;
    if key == "text" || key == "media" {
        return None;
    }
    match value {
        Value::String(v) => Some(format!("{key}: {v}")),
        Value::Number(v) => Some(format!("{key}: {v}")),
        Value::Bool(v) => Some(format!("{key}: {v}")),
        _ => None,
    }
}

fn describe(
    kind_of_file: FileKind,
    kind: &ValidationErrorKind,
    pointer: &str,
    instance: &Value,
    doc: &Document,
    file: FileId,
    fallback: &str,
) -> Diagnostic {
    let value_at = doc.value_span(pointer);
    if pointer.contains("/credentials/") {
        // Whatever is wrong with it, a credential's value may be a pasted secret: never echo it.
        return Diagnostic::error("E0113", format!("credential `{}` must name an environment variable, not hold a value", field_name(pointer)))
            .at(file, value_at)
            .redact(value_at)
            .help("write the NAME of an environment variable, e.g. SMM_BLUESKY_APP_PASSWORD, and set the secret in that variable");
    }
    match kind {
        ValidationErrorKind::AdditionalProperties { unexpected } => {
            let name = unexpected.first().cloned().unwrap_or_default();
            let child = format!("{pointer}/{}", crate::yaml::pointer_segment(&name));
            let allowed = allowed_fields(kind_of_file, pointer);
            let mut d = Diagnostic::error("E0110", format!("unknown field `{name}`"))
                .at(file, doc.key_span(&child))
                .label("not a field here");
            d = match crate::suggest::closest(&name, allowed.iter().map(String::as_str)) {
                Some(s) => d.help(format!("did you mean `{s}`?")),
                None if !allowed.is_empty() => {
                    d.help(format!("allowed here: {}", allowed.join(", ")))
                }
                None => d,
            };
            d
        }
        ValidationErrorKind::Required { property } => {
            let name = property.as_str().unwrap_or_default();
            let at = if pointer.is_empty() {
                crate::source::Span::new(0, 0)
            } else {
                doc.key_span(pointer)
            };
            let place = if pointer.is_empty() {
                "this file".to_string()
            } else {
                format!("`{}`", field_name(pointer))
            };
            Diagnostic::error(
                "E0111",
                format!("missing required field `{name}` in {place}"),
            )
            .at(file, at)
            .help(match example_value(name) {
                Some(v) => format!("add `{name}: {v}` (see docs/format.md)"),
                None => format!("add `{name}:` (see docs/format.md)"),
            })
        }
        ValidationErrorKind::Type { kind } => {
            let expected = match kind {
                jsonschema::error::TypeKind::Single(t) => type_words(&t.to_string()),
                jsonschema::error::TypeKind::Multiple(ts) => ts
                    .iter()
                    .map(|t| type_words(&t.to_string()))
                    .collect::<Vec<_>>()
                    .join(" or "),
            };
            let field = field_name(pointer);
            let d = Diagnostic::error(
                "E0112",
                format!(
                    "`{field}` must be {expected}, not {}",
                    describe_value(instance)
                ),
            )
            .at(file, value_at)
            .label(format!("expected {expected}"));
            match type_help(&field, &expected, instance) {
                Some(h) => d.help(h),
                None => d,
            }
        }
        ValidationErrorKind::Enum { options } => {
            let opts: Vec<String> = options.as_array().map_or_else(Vec::new, |a| {
                a.iter()
                    .map(|o| o.as_str().map_or(o.to_string(), str::to_string))
                    .collect()
            });
            let mut d = Diagnostic::error(
                "E0113",
                format!(
                    "`{}` has an unknown value {}",
                    field_name(pointer),
                    describe_value(instance)
                ),
            )
            .at(file, value_at)
            .label("not one of the allowed values");
            if let Some(s) = instance
                .as_str()
                .and_then(|v| crate::suggest::closest(v, opts.iter().map(String::as_str)))
            {
                d = d.help(format!("did you mean `{s}`? allowed: {}", opts.join(", ")));
            } else {
                d = d.help(format!("allowed: {}", opts.join(", ")));
            }
            d
        }
        ValidationErrorKind::PropertyNames { error } => {
            // The inner error's instance is the offending key; only channel names are restricted.
            let name = error.instance().as_str().unwrap_or_default();
            let child = format!("{pointer}/{}", crate::yaml::pointer_segment(name));
            let fixed: String = name
                .to_lowercase()
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
                .collect();
            Diagnostic::error(
                "E0113",
                format!(
                    "`{name}` is not allowed as a name in `{}`",
                    field_name(pointer)
                ),
            )
            .at(file, doc.key_span(&child))
            .label("only lower-case letters, digits and `-`")
            .help(format!("write it as `{}`", fixed.trim_matches('-')))
        }
        ValidationErrorKind::OneOfNotValid { .. } => {
            let d = Diagnostic::error(
                "E0112",
                format!(
                    "{} must be a text or a mapping with `text:` (and optional `media:`)",
                    place_name(pointer)
                ),
            )
            .at(file, value_at);
            match colon_in_plain_text(instance) {
                Some(text) => d
                    .label("YAML reads `: ` in unquoted text as a mapping")
                    .help(format!(
                        "put the text in quotes: \"{}\"",
                        text.replace('"', "\\\"")
                    )),
                None => d,
            }
        }
        _ => {
            let (message, help) = constraint_text(kind, pointer, instance, fallback);
            let mut d = Diagnostic::error("E0113", message).at(file, value_at);
            if let Some(h) = help {
                d = d.help(h);
            }
            d
        }
    }
}

/// A JSON Schema type in the words of someone writing YAML.
fn type_words(json_type: &str) -> String {
    match json_type {
        "array" => "a list",
        "object" => "a mapping",
        "string" => "a text",
        "integer" => "a whole number",
        "number" => "a number",
        "boolean" => "true or false",
        "null" => "empty",
        other => other,
    }
    .to_string()
}

/// How to write the value with the right type, for the mistakes people make.
fn type_help(field: &str, expected: &str, instance: &Value) -> Option<String> {
    let text = instance.as_str()?;
    match expected {
        // YAML 1.2 reads `yes`, `on` and `True`-like words other than true/false as text.
        "true or false" => Some(match text.to_lowercase().as_str() {
            "yes" | "y" | "on" | "true" => "write `true`".to_string(),
            "no" | "n" | "off" | "false" => "write `false`".to_string(),
            _ => "write `true` or `false`".to_string(),
        }),
        "a list" if field == "media" => Some(format!(
            "write a list of images: `media: [{{ file: {text}, alt: ... }}]`"
        )),
        "a list" => Some(format!("write a list: `{field}: [{text}]`")),
        _ => None,
    }
}

fn describe_value(v: &Value) -> String {
    match v {
        Value::Null => "empty (null)".into(),
        Value::Bool(b) => format!("the boolean {b}"),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) => format!("\"{}\"", s.chars().take(40).collect::<String>()),
        Value::Array(_) => "a list".into(),
        Value::Object(_) => "a mapping".into(),
    }
}

/// A typical value for a required field whose form is not obvious, so the help shows a line to copy.
fn example_value(field: &str) -> Option<&'static str> {
    match field {
        "timezone" => Some("Europe/Berlin"),
        "platform" => Some("bluesky"),
        _ => None,
    }
}

/// The field names the schema allows for the mapping at `pointer`.
fn allowed_fields(kind: FileKind, pointer: &str) -> Vec<String> {
    let Ok(root) = serde_json::from_str::<Value>(kind.schema_text()) else {
        return Vec::new();
    };
    let mut node = resolve(&root, &root);
    for segment in pointer.split('/').skip(1) {
        let next = node
            .get("properties")
            .and_then(|p| p.get(segment.replace("~1", "/").replace("~0", "~")))
            .or_else(|| node.get("additionalProperties").filter(|a| a.is_object()))
            .or_else(|| node.get("items"));
        match next {
            Some(n) => node = resolve(&root, n),
            None => return Vec::new(),
        }
    }
    node.get("properties")
        .and_then(Value::as_object)
        .map_or_else(Vec::new, |p| p.keys().cloned().collect())
}

/// Follows `$ref` and picks the mapping branch of a `oneOf` (a thread part is a text or a mapping).
fn resolve<'a>(root: &'a Value, mut node: &'a Value) -> &'a Value {
    for _ in 0..8 {
        if let Some(r) = node.get("$ref").and_then(Value::as_str) {
            match r
                .strip_prefix("#/$defs/")
                .and_then(|name| root.get("$defs")?.get(name))
            {
                Some(n) => node = n,
                None => return node,
            }
        } else if let Some(branch) = node
            .get("oneOf")
            .and_then(Value::as_array)
            .and_then(|b| b.iter().find(|s| s.get("properties").is_some()))
        {
            node = branch;
        } else {
            break;
        }
    }
    node
}

fn constraint_text(
    kind: &ValidationErrorKind,
    pointer: &str,
    instance: &Value,
    fallback: &str,
) -> (String, Option<String>) {
    let field = field_name(pointer);
    match kind {
        ValidationErrorKind::Pattern { .. } => pattern_text(&field, instance),
        ValidationErrorKind::MinLength { .. } => (
            format!("`{field}` is empty"),
            Some(format!("write something in `{field}` or remove it")),
        ),
        ValidationErrorKind::MinItems { limit } => {
            (format!("`{field}` needs at least {limit} item(s)"), None)
        }
        ValidationErrorKind::MinProperties { limit } => {
            (format!("`{field}` needs at least {limit} entry"), None)
        }
        ValidationErrorKind::Minimum { limit } => {
            (format!("`{field}` must be at least {limit}"), None)
        }
        ValidationErrorKind::UniqueItems => (
            format!("`{field}` lists the same value twice"),
            Some("remove the repeated entry".into()),
        ),
        _ => (fallback.to_string(), None),
    }
}

fn pattern_text(field: &str, instance: &Value) -> (String, Option<String>) {
    let shown = describe_value(instance);
    let help = match field {
        "publish_at" => "write a local time like `2026-12-01 09:00` or one with an offset like `2026-12-01T09:00:00+01:00`",
        "grace" | "min" => "write a duration like `30m`, `2h`, `1h30m` or `1d`",
        "from" | "to" if shown.contains(':') => "write a time of day like `22:00`",
        "from" | "to" | "starts" | "ends" => "write a date like `2026-12-24`",
        "link" => "links start with https:// or http://",
        "id" => "ids use letters, digits and `.`, `_`, `-`, `/`",
        _ => "see docs/format.md for the expected form",
    };
    (
        format!("`{field}` has an invalid form: {shown}"),
        Some(help.to_string()),
    )
}
