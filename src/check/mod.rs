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

/// The checks of each post on its own: its channels, variants and campaign dates, and its
/// deliveries' text length, the brand's text rules, disclosure and the same text on several
/// platforms. What they find depends only on the post, smm.yaml and its campaign file, so the
/// post cache keeps whether a post passed them. `by_post` gives each post's deliveries (see
/// [`crate::render::by_post`]); posts for which `skip` says so are not checked. Gives each
/// checked post's findings, by post index.
pub fn each_post(
    ws: &Workspace,
    deliveries: &[Delivery],
    by_post: &[std::ops::Range<usize>],
    sources: &Sources,
    skip: impl Fn(usize) -> bool + Sync,
) -> Vec<(usize, Vec<Diagnostic>)> {
    let Some(settings) = &ws.settings else {
        return Vec::new();
    };
    use rayon::prelude::*;
    (0..ws.posts.len())
        .into_par_iter()
        .filter(|&index| !skip(index))
        .map(|index| {
            let (post, mut out) = (&ws.posts[index], Vec::new());
            references::post(ws, post, sources, &mut out);
            let of_post = &deliveries[by_post[index].clone()];
            policy::post(settings, post, of_post, sources, &mut out);
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
    let found = |check: &(dyn Fn(&mut Vec<Diagnostic>) + Sync)| {
        let mut out = Vec::new();
        check(&mut out);
        out
    };
    // Three independent passes over every post or delivery: on both cores.
    let ((mut out, media), schedule) = rayon::join(
        || {
            rayon::join(
                || found(&|out| references::across_posts(ws, sources, now, published, out)),
                || found(&|out| media::check(ws, deliveries, sources, out)),
            )
        },
        || found(&|out| policy::across_posts(ws, deliveries, sources, out)),
    );
    out.extend(media);
    out.extend(schedule);
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
