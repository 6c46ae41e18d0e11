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

/// The checks of each post's deliveries on their own (text length, the brand's text rules,
/// disclosure, the same text on several platforms): what they find depends only on the post
/// and smm.yaml, so the post cache keeps whether a post passed them. Posts for which `skip`
/// says so are not checked. Gives each checked post's index and findings.
pub fn each_post(
    ws: &Workspace,
    deliveries: &[Delivery],
    sources: &Sources,
    skip: impl Fn(usize) -> bool + Sync,
) -> Vec<(usize, Vec<Diagnostic>)> {
    let Some(settings) = &ws.settings else {
        return Vec::new();
    };
    // Deliveries come in post order; posts are checked on both cores.
    use rayon::prelude::*;
    let posts: Vec<&[Delivery]> = deliveries
        .chunk_by(|a, b| a.post == b.post)
        .filter(|of_post| !skip(of_post[0].post))
        .collect();
    posts
        .into_par_iter()
        .map(|of_post| {
            let index = of_post[0].post;
            let mut out = Vec::new();
            policy::post(settings, &ws.posts[index], of_post, sources, &mut out);
            (index, out)
        })
        .collect()
}

/// The checks across posts and against the files they name: references, media, the schedule.
/// `now` decides which scheduled times are already in the past; posts in `published` (ids with
/// a delivery on a platform) are expected to be in the past.
pub fn across_posts(
    ws: &Workspace,
    deliveries: &[Delivery],
    sources: &Sources,
    now: Timestamp,
    published: &std::collections::BTreeSet<String>,
) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    references::check(ws, sources, now, published, &mut out);
    media::check(ws, deliveries, sources, &mut out);
    policy::across_posts(ws, deliveries, sources, &mut out);
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
    let text = sources.get(post.file).text();
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
