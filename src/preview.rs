//! `smm preview POST`: each platform's rendering of one post, counted as that platform counts.
//!
//! [`preview`] gathers what a reader needs (per channel: the exact text of every part split into
//! plain text and detected links/hashtags/mentions, the counts, media, link card); the terminal
//! ([`render`]) and the HTML page (`crate::html`) only style it.

use std::fmt::Write as _;

use anstyle::{AnsiColor, Style};
use smm_text::{Measure, SpanKind};

use crate::render::{Delivery, RenderedPart};
use crate::validate::Report;
use crate::workspace::{Media, Post, When};

const LINK: Style = AnsiColor::Blue.on_default().underline();
const TAG: Style = AnsiColor::Green.on_default();
const MENTION: Style = AnsiColor::Magenta.on_default();
const DIM: Style = Style::new().dimmed();
const BOLD: Style = Style::new().bold();
const OVER: Style = AnsiColor::Red.on_default().bold();

/// One post as each of its channels will show it.
#[derive(Debug)]
pub struct PostPreview<'r> {
    pub id: &'r str,
    /// The post file, relative to the workspace.
    pub file: String,
    /// `2026-12-03 09:00 +01:00`, or `draft`.
    pub when: String,
    /// Empty when every channel is skipped or the post has errors.
    pub channels: Vec<ChannelPreview<'r>>,
}

/// One delivery: the post on one channel.
#[derive(Debug)]
pub struct ChannelPreview<'r> {
    pub channel: &'r str,
    pub platform: &'static str,
    /// The first part, then thread replies in order.
    pub parts: Vec<PartPreview<'r>>,
    /// The link card's URL, where the platform shows one.
    pub link: Option<&'r str>,
    /// How the platform counts, in one sentence (from the first part's primary measure).
    pub rule: Option<&'static str>,
}

#[derive(Debug)]
pub struct PartPreview<'r> {
    /// `text` for the first part, `reply N` for the Nth reply of a thread.
    pub label: String,
    /// Exactly what is sent.
    pub text: &'r str,
    /// `text` cut into plain runs and the entities the platform detects; concatenated they give
    /// `text` back.
    pub segments: Vec<Segment<'r>>,
    /// Every counted constraint, the one users compare first.
    pub measures: &'r [Measure],
    pub media: &'r [Media],
}

#[derive(Clone, Copy, Debug)]
pub struct Segment<'r> {
    pub text: &'r str,
    /// The link, hashtag or mention this run is; `None` for plain text.
    pub entity: Option<&'r smm_text::Span>,
}

/// The preview data of a post [`find`] found: `index` is its place in `report.workspace.posts`.
pub fn preview<'r>(report: &'r Report, (index, post): (usize, &'r Post)) -> PostPreview<'r> {
    let when = match &post.when {
        When::At(z) => z.strftime("%Y-%m-%d %H:%M %:z").to_string(),
        When::Draft => "draft".into(),
    };
    let channels = report
        .deliveries
        .iter()
        .filter(|d| d.post == index)
        .map(channel_preview)
        .collect();
    PostPreview {
        id: &post.id,
        file: report.sources.path(post.file).display().to_string(),
        when,
        channels,
    }
}

fn channel_preview(d: &Delivery) -> ChannelPreview<'_> {
    ChannelPreview {
        channel: &d.channel,
        platform: d.platform.as_str(),
        parts: d
            .parts
            .iter()
            .enumerate()
            .map(|(i, part)| PartPreview {
                label: if i == 0 {
                    "text".to_string()
                } else {
                    format!("reply {i}")
                },
                text: &part.text,
                segments: segments(part),
                measures: &part.measures,
                media: &part.media,
            })
            .collect(),
        link: d.link.as_deref(),
        rule: d.parts.first().and_then(|p| p.primary()).map(|m| m.rule),
    }
}

/// The text cut at the entities the platform detects. Overlapping or misaligned spans (which a
/// detector should never produce) are left as plain text rather than panicking on a bad slice.
fn segments(part: &RenderedPart) -> Vec<Segment<'_>> {
    let text = part.text.as_str();
    let mut spans: Vec<&smm_text::Span> = part.entities.iter().collect();
    spans.sort_by_key(|s| s.start);
    let mut out = Vec::new();
    let mut at = 0;
    for s in spans {
        // `get` is None for a span before `at` (overlap) or off a character boundary.
        let (Some(before), Some(inside)) = (text.get(at..s.start), text.get(s.start..s.end)) else {
            continue;
        };
        if !before.is_empty() {
            out.push(Segment {
                text: before,
                entity: None,
            });
        }
        out.push(Segment {
            text: inside,
            entity: Some(s),
        });
        at = s.end;
    }
    if let Some(rest) = text.get(at..).filter(|r| !r.is_empty()) {
        out.push(Segment {
            text: rest,
            entity: None,
        });
    }
    out
}

/// The terminal rendering: a heading per channel, counts, highlighted text, media, link card.
/// The preview as JSON: per channel, each part's exact text, counts and detected entities
/// (byte offsets into the text), and media.
pub fn render_json(p: &PostPreview) -> String {
    use serde_json::json;
    let kind = |k: SpanKind| match k {
        SpanKind::Link => "link",
        SpanKind::Mention => "mention",
        SpanKind::Hashtag => "hashtag",
    };
    let channels: Vec<_> = p
        .channels
        .iter()
        .map(|c| {
            let parts: Vec<_> = c
                .parts
                .iter()
                .map(|part| {
                    let measures: Vec<_> = part
                        .measures
                        .iter()
                        .map(|m| json!({ "length": m.length, "limit": m.limit, "unit": m.unit, "rule": m.rule }))
                        .collect();
                    let entities: Vec<_> = part
                        .segments
                        .iter()
                        .filter_map(|s| s.entity)
                        .map(|e| json!({ "kind": kind(e.kind), "value": e.value, "start": e.start, "end": e.end }))
                        .collect();
                    let media: Vec<_> = part
                        .media
                        .iter()
                        .map(|m| json!({ "file": m.file, "alt": m.alt }))
                        .collect();
                    json!({ "label": part.label, "text": part.text, "measures": measures, "entities": entities, "media": media })
                })
                .collect();
            json!({ "channel": c.channel, "platform": c.platform, "link": c.link, "parts": parts })
        })
        .collect();
    let doc = json!({ "post": p.id, "file": p.file, "when": p.when, "channels": channels });
    let mut out = serde_json::to_string_pretty(&doc).unwrap_or_default();
    out.push('\n');
    out
}

pub fn render(report: &Report, found: (usize, &Post)) -> String {
    let p = preview(report, found);
    let mut out = String::new();
    let _ = writeln!(out, "{BOLD}{}{BOLD:#} · {} · {}", p.id, p.file, p.when);
    if p.channels.is_empty() {
        out.push_str(
            "\nNo deliveries: every channel is skipped, or the post has errors (smm validate).\n",
        );
    }
    for c in &p.channels {
        let _ = writeln!(
            out,
            "\n{BOLD}{}{BOLD:#} (channel `{}`)",
            c.platform, c.channel
        );
        for part in &c.parts {
            let counts: Vec<String> = part
                .measures
                .iter()
                .map(|m| {
                    let style = if m.fits() { DIM } else { OVER };
                    format!("{style}{}/{} {}{style:#}", m.length, m.limit, m.unit)
                })
                .collect();
            let _ = writeln!(out, "  {} · {}", part.label, counts.join(", "));
            for line in highlight(&part.segments).lines() {
                let _ = writeln!(out, "    {line}");
            }
            for m in part.media {
                let alt = m
                    .alt
                    .as_deref()
                    .map_or_else(|| "NO ALT TEXT".to_string(), |a| format!("\"{a}\""));
                let _ = writeln!(out, "    {DIM}[media {} · alt {alt}]{DIM:#}", m.file);
            }
        }
        if let Some(link) = c.link {
            let _ = writeln!(out, "  {DIM}link card: {link}{DIM:#}");
        }
        if let Some(rule) = c.rule {
            let _ = writeln!(out, "  {DIM}counted as: {rule}{DIM:#}");
        }
    }
    out
}

/// The text with links, hashtags and mentions styled as the platform detects them.
fn highlight(segments: &[Segment<'_>]) -> String {
    let mut out = String::new();
    for s in segments {
        let style = match s.entity.map(|e| e.kind) {
            None => {
                out.push_str(s.text);
                continue;
            }
            Some(SpanKind::Link) => LINK,
            Some(SpanKind::Hashtag) => TAG,
            Some(SpanKind::Mention) => MENTION,
        };
        let _ = write!(out, "{style}{}{style:#}", s.text);
    }
    out
}
