//! `smm preview POST`: each platform's rendering of one post, counted as that platform counts.

use std::fmt::Write as _;

use anstyle::{AnsiColor, Style};
use smm_text::SpanKind;

use crate::render::{Delivery, RenderedPart};
use crate::validate::Report;
use crate::workspace::{Post, When};

const LINK: Style = AnsiColor::Blue.on_default().underline();
const TAG: Style = AnsiColor::Green.on_default();
const MENTION: Style = AnsiColor::Magenta.on_default();
const DIM: Style = Style::new().dimmed();
const BOLD: Style = Style::new().bold();
const OVER: Style = AnsiColor::Red.on_default().bold();

/// Finds a post by id or by its file path (with or without `.yaml`).
pub fn find<'r>(report: &'r Report, wanted: &str) -> Option<(usize, &'r Post)> {
    let stem = wanted.trim_end_matches(".yaml");
    report.workspace.posts.iter().enumerate().find(|(_, p)| {
        p.id == wanted
            || report.sources.path(p.file).with_extension("") == std::path::Path::new(stem)
    })
}

pub fn render(report: &Report, index: usize) -> String {
    let post = &report.workspace.posts[index];
    let mut out = String::new();
    let when = match &post.when {
        When::At(z) => z.strftime("%Y-%m-%d %H:%M %:z").to_string(),
        When::Draft => "draft".into(),
    };
    let _ = writeln!(
        out,
        "{BOLD}{}{BOLD:#} · {} · {when}",
        post.id,
        report.sources.path(post.file).display()
    );
    let deliveries: Vec<&Delivery> = report
        .deliveries
        .iter()
        .filter(|d| d.post == index)
        .collect();
    if deliveries.is_empty() {
        out.push_str(
            "\nNo deliveries: every channel is skipped, or the post has errors (smm validate).\n",
        );
    }
    for d in deliveries {
        let _ = writeln!(
            out,
            "\n{BOLD}{}{BOLD:#} (channel `{}`)",
            d.platform.as_str(),
            d.channel
        );
        for (i, part) in d.parts.iter().enumerate() {
            let label = if i == 0 {
                "text".to_string()
            } else {
                format!("reply {i}")
            };
            let counts: Vec<String> = part
                .measures
                .iter()
                .map(|m| {
                    let style = if m.fits() { DIM } else { OVER };
                    format!("{style}{}/{} {}{style:#}", m.length, m.limit, m.unit)
                })
                .collect();
            let _ = writeln!(out, "  {label} · {}", counts.join(", "));
            for line in highlight(part).lines() {
                let _ = writeln!(out, "    {line}");
            }
            for m in &part.media {
                let alt = m
                    .alt
                    .as_deref()
                    .map_or_else(|| "NO ALT TEXT".to_string(), |a| format!("\"{a}\""));
                let _ = writeln!(out, "    {DIM}[media {} · alt {alt}]{DIM:#}", m.file);
            }
        }
        if let Some(link) = &d.link {
            let _ = writeln!(out, "  {DIM}link card: {link}{DIM:#}");
        }
        if let Some(rule) = d.parts.first().and_then(|p| p.primary()).map(|m| m.rule) {
            let _ = writeln!(out, "  {DIM}counted as: {rule}{DIM:#}");
        }
    }
    out
}

/// The text with links, hashtags and mentions styled as the platform detects them.
fn highlight(part: &RenderedPart) -> String {
    let mut spans: Vec<&smm_text::Span> = part.entities.iter().collect();
    spans.sort_by_key(|s| s.start);
    let mut out = String::new();
    let mut at = 0;
    for s in spans {
        if s.start < at
            || s.end > part.text.len()
            || !part.text.is_char_boundary(s.start)
            || !part.text.is_char_boundary(s.end)
        {
            continue;
        }
        out.push_str(&part.text[at..s.start]);
        let style = match s.kind {
            SpanKind::Link => LINK,
            SpanKind::Hashtag => TAG,
            SpanKind::Mention => MENTION,
        };
        let _ = write!(out, "{style}{}{style:#}", &part.text[s.start..s.end]);
        at = s.end;
    }
    out.push_str(&part.text[at..]);
    out
}
