//! Checks over the loaded workspace and its rendered deliveries: references, platform text and
//! media rules, and the brand's policy. Each check only reads and reports.

mod media;
mod policy;
mod references;

use jiff::Timestamp;

use crate::diagnostic::{Diagnostic, Severity};
use crate::render::Delivery;
use crate::source::{Sources, Span};
use crate::workspace::{Level, Post, Workspace};

/// Runs every check. `now` decides which scheduled times are already in the past; posts in
/// `published` (ids with a delivery on a platform) are expected to be in the past.
pub fn check(
    ws: &Workspace,
    deliveries: &[Delivery],
    sources: &Sources,
    now: Timestamp,
    published: &std::collections::BTreeSet<String>,
) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    references::check(ws, sources, now, published, &mut out);
    media::check(ws, deliveries, sources, &mut out);
    policy::check(ws, deliveries, sources, &mut out);
    out
}

/// Maps a rule's level (or its default) to a severity; `None` means the rule is off.
fn severity(level: Option<Level>, default: Level) -> Option<Severity> {
    match level.unwrap_or(default) {
        Level::Error => Some(Severity::Error),
        Level::Warning => Some(Severity::Warning),
        Level::Off => None,
    }
}

/// The span of `needle` inside the post's source at `pointer` when it is written there
/// literally (case-insensitively), else the whole value: diagnostics point at the words.
pub(crate) fn find_in_source(post: &Post, sources: &Sources, pointer: &str, needle: &str) -> Span {
    let span = post.doc(sources).value_span(pointer);
    let text = &sources.get(post.file).text;
    let Some(value) = text.get(span.start..span.end) else {
        return span;
    };
    if needle.is_empty() {
        return span;
    }
    let lower = value.to_lowercase();
    match lower.find(&needle.to_lowercase()) {
        // Lower-casing can change byte lengths; only trust the match when it did not.
        Some(i) if lower.len() == value.len() => {
            Span::new(span.start + i, span.start + i + needle.len())
        }
        _ => span,
    }
}
