//! Static HTML pages: `smm calendar --html` (a month view with post previews) and
//! `smm preview --html` (one post, every platform).
//!
//! Each page is one self-contained file: CSS and a few lines of vanilla JS inline, no fonts,
//! scripts or images from the network, so it works opened from disk (`file://`), as a CI
//! artifact and on GitHub Pages alike. Every piece of user text goes through [`escape`].

use std::collections::BTreeMap;
use std::fmt::Write as _;

use jiff::civil::Date;
use jiff::ToSpan;
use smm_text::SpanKind;

use crate::calendar::{Entry, Window};
use crate::plan::Plan;
use crate::preview::{ChannelPreview, PostPreview};
use crate::status::DeliveryState;
use crate::validate::Report;
use crate::workspace::Post;

/// Escapes text for HTML element content and quoted attribute values alike.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The month view of `entries`: one grid per month the window touches, a card per entry, and a
/// preview dialog per card. `report` is the validation behind `plan` (the rendered deliveries).
pub fn calendar(
    plan: &Plan,
    report: &Report,
    entries: &[Entry<'_>],
    window: &Window<'_>,
) -> String {
    let mut body = String::new();
    let now = plan.at.to_zoned_datetime(plan.zone.clone());
    let today = now.date();
    let _ = writeln!(
        body,
        "<header><h1>{brand} <span>content calendar</span></h1>\
         <p class=\"meta\">{from} to {to} · times in {zone} · as of {now}</p>",
        brand = escape(&plan.brand),
        from = window.from.strftime("%-d %B %Y"),
        to = window.to.strftime("%-d %B %Y"),
        zone = escape(&plan.zone_name),
        now = now.strftime("%Y-%m-%d %H:%M"),
    );
    summary(&mut body, entries);
    legend(&mut body, entries);
    body.push_str("</header>\n<main>\n");
    if entries.is_empty() {
        body.push_str("<p class=\"note\">Nothing scheduled in this window.</p>\n");
    }

    let mut by_day: BTreeMap<Date, Vec<(usize, &Entry<'_>)>> = BTreeMap::new();
    for (i, e) in entries.iter().enumerate() {
        by_day.entry(e.at.date()).or_default().push((i, e));
    }
    let mut month = window.from.first_of_month();
    while month <= window.to {
        month_grid(&mut body, month, window, today, &by_day);
        match month.checked_add(1.month()) {
            Ok(next) => month = next,
            Err(_) => break,
        }
    }
    body.push_str("</main>\n");
    // By id once: a linear `Workspace::find_post` per entry would be quadratic in a large workspace.
    let posts: BTreeMap<&str, (usize, &Post)> = report
        .workspace
        .posts
        .iter()
        .enumerate()
        .map(|(i, p)| (p.id.as_str(), (i, p)))
        .collect();
    for (i, e) in entries.iter().enumerate() {
        let preview = posts
            .get(e.post)
            .map(|found| crate::preview::preview(report, *found));
        entry_dialog(&mut body, i, e, preview.as_ref());
    }
    page(
        &format!(
            "{} · content calendar {} to {}",
            plan.brand, window.from, window.to
        ),
        &body,
    )
}

/// A standalone page with one post's preview on every channel.
pub fn preview_page(brand: &str, preview: &PostPreview<'_>) -> String {
    let mut body = String::new();
    let _ = write!(
        body,
        "<header><h1>{} <span>post preview</span></h1></header>\n<main class=\"single\">",
        escape(brand)
    );
    post_heading(&mut body, preview, None);
    channels(&mut body, preview, None);
    body.push_str("</main>\n");
    page(&format!("{brand} · {}", preview.id), &body)
}

/// A campaign's colour: a hue from a hash of its name, so it stays the same across runs, months
/// and machines (no palette index that shifts when a campaign is added).
fn campaign_colour(campaign: Option<&str>) -> String {
    let Some(name) = campaign else {
        return "#6b7280".into();
    };
    // FNV-1a: tiny, and stable (unlike std's randomly seeded hasher).
    let hash = name.bytes().fold(0x811c_9dc5_u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    });
    format!("hsl({} 62% 40%)", hash % 360)
}

fn summary(out: &mut String, entries: &[Entry<'_>]) {
    let mut states: BTreeMap<&str, usize> = BTreeMap::new();
    for (_, s, _) in entries.iter().flat_map(|e| &e.channels) {
        *states.entry(s.as_str()).or_default() += 1;
    }
    let conflicts = entries.iter().filter(|e| !e.conflicts.is_empty()).count();
    let _ = write!(
        out,
        "<p class=\"summary\"><b>{}</b> posts · <b>{}</b> deliveries",
        entries.len(),
        states.values().sum::<usize>()
    );
    for (state, n) in &states {
        let _ = write!(out, " · <span class=\"st st-{state}\">{n} {state}</span>");
    }
    if conflicts > 0 {
        let _ = write!(
            out,
            " · <span class=\"st st-conflict\">⚠ {conflicts} with schedule conflicts</span>"
        );
    }
    out.push_str("</p>\n");
}

/// Campaign colours (each a button that hides or shows its cards).
fn legend(out: &mut String, entries: &[Entry<'_>]) {
    let mut campaigns: BTreeMap<Option<&str>, usize> = BTreeMap::new();
    for e in entries {
        *campaigns.entry(e.campaign).or_default() += 1;
    }
    if campaigns.is_empty() {
        return;
    }
    out.push_str("<ul class=\"legend\" aria-label=\"Campaigns\">");
    for (campaign, n) in &campaigns {
        let _ = write!(
            out,
            "<li><button type=\"button\" aria-pressed=\"true\" data-campaign-toggle=\"{key}\" style=\"--c:{colour}\">\
             <i></i>{name} <small>{n}</small></button></li>",
            key = escape(campaign.unwrap_or("")),
            colour = campaign_colour(*campaign),
            name = escape(campaign.unwrap_or("no campaign")),
        );
    }
    out.push_str("</ul>\n");
}

fn month_grid(
    out: &mut String,
    month: Date,
    window: &Window<'_>,
    today: Date,
    by_day: &BTreeMap<Date, Vec<(usize, &Entry<'_>)>>,
) {
    let _ = write!(
        out,
        "<section class=\"month\" aria-label=\"{m}\"><h2>{m}</h2><div class=\"grid\">",
        m = month.strftime("%B %Y")
    );
    for name in ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"] {
        let _ = write!(out, "<div class=\"wd\">{name}</div>");
    }
    out.push('\n');
    for _ in 0..month.weekday().to_monday_zero_offset() {
        out.push_str("<div class=\"day pad\"></div>");
    }
    let mut day = month;
    while day.month() == month.month() {
        let mut class = String::from("day");
        if day < window.from || day > window.to {
            class.push_str(" out");
        }
        if day == today {
            class.push_str(" today");
        }
        let cards = by_day.get(&day).map(Vec::as_slice).unwrap_or_default();
        if cards.iter().any(|(_, e)| !e.conflicts.is_empty()) {
            class.push_str(" has-conflict");
        }
        let _ = write!(
            out,
            "<div class=\"{class}\" id=\"day-{day}\"><div class=\"num\"><span class=\"dow\">{dow} </span>{n}</div>",
            dow = day.strftime("%a"),
            n = day.day()
        );
        for (i, e) in cards {
            out.push('\n');
            entry_card(out, *i, e);
        }
        if !cards.is_empty() {
            out.push('\n');
        }
        out.push_str("</div>\n");
        match day.tomorrow() {
            Ok(next) => day = next,
            Err(_) => break,
        }
    }
    // Complete the last week, so the grid has no hole.
    let last = month.last_of_month().weekday().to_monday_zero_offset();
    for _ in last..6 {
        out.push_str("<div class=\"day pad\"></div>");
    }
    out.push_str("</div></section>\n");
}

/// The id of entry `i`'s preview dialog.
fn dialog_id(i: usize) -> String {
    format!("preview-{i}")
}

fn entry_card(out: &mut String, i: usize, e: &Entry<'_>) {
    let conflict = if e.conflicts.is_empty() {
        ""
    } else {
        " conflict"
    };
    let _ = write!(
        out,
        "<article class=\"entry{conflict}\" data-post=\"{post}\" data-campaign=\"{campaign}\" style=\"--c:{colour}\">\
         <button type=\"button\" class=\"open\" data-preview=\"{dialog}\" aria-haspopup=\"dialog\" title=\"Preview {post}\">\
         <time datetime=\"{iso}\">{time}</time> <span class=\"text\">{text}</span></button><ul class=\"chans\">",
        post = escape(e.post),
        campaign = escape(e.campaign.unwrap_or("")),
        colour = campaign_colour(e.campaign),
        dialog = dialog_id(i),
        iso = e.at.strftime("%Y-%m-%dT%H:%M:%S%:z"),
        time = e.at.strftime("%H:%M"),
        text = escape(e.first_line),
    );
    for (channel, state, url) in &e.channels {
        // Scheduled is the usual case: only the exceptions are spelled out on a card.
        let label = match state {
            DeliveryState::Scheduled => escape(channel),
            s => format!("{} · {}", escape(channel), s.as_str()),
        };
        state_chip(out, &label, *state, *url);
    }
    out.push_str("</ul>");
    if !e.conflicts.is_empty() {
        out.push_str("<ul class=\"conflicts\">");
        for c in &e.conflicts {
            let _ = write!(out, "<li>⚠ {}</li>", escape(c));
        }
        out.push_str("</ul>");
    }
    out.push_str("</article>");
}

/// A delivery state chip with `label` (already escaped); a published one links to the post on
/// the platform.
fn state_chip(out: &mut String, label: &str, state: DeliveryState, url: Option<&str>) {
    let _ = write!(
        out,
        "<li class=\"st st-{s}\" title=\"{s}\">",
        s = state.as_str()
    );
    match url.and_then(safe_href) {
        Some(href) => {
            let _ = write!(
                out,
                "<a href=\"{href}\" target=\"_blank\" rel=\"noopener noreferrer\">{label} ↗</a>"
            );
        }
        None => out.push_str(label),
    }
    out.push_str("</li>");
}

/// An escaped `href` for a web URL; anything else (`javascript:`, `data:`) is not linked.
fn safe_href(url: &str) -> Option<String> {
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    (lower.starts_with("https://") || lower.starts_with("http://")).then(|| escape(url))
}

fn entry_dialog(out: &mut String, i: usize, e: &Entry<'_>, preview: Option<&PostPreview<'_>>) {
    let _ = writeln!(
        out,
        "<dialog id=\"{}\" class=\"preview\" data-post=\"{}\" aria-label=\"Preview of {}\">\
         <form method=\"dialog\"><button class=\"close\" aria-label=\"Close\">×</button></form>",
        dialog_id(i),
        escape(e.post),
        escape(e.post)
    );
    match preview {
        Some(p) => {
            post_heading(out, p, Some(e));
            channels(out, p, Some(e));
        }
        // A post removed from the workspace still has its recorded deliveries.
        None => {
            let _ = write!(
                out,
                "<h2>{}</h2><p class=\"note\">This post is no longer in the workspace: nothing to preview.</p>",
                escape(e.post)
            );
        }
    }
    out.push_str("</dialog>\n");
}

fn post_heading(out: &mut String, p: &PostPreview<'_>, entry: Option<&Entry<'_>>) {
    let _ = write!(
        out,
        "<h2>{}</h2><p class=\"meta\">{} · <code>{}</code>",
        escape(p.id),
        escape(&p.when),
        escape(&p.file)
    );
    if let Some(c) = entry.and_then(|e| e.campaign) {
        let _ = write!(
            out,
            " · <span class=\"camp\" style=\"--c:{}\">{}</span>",
            campaign_colour(Some(c)),
            escape(c)
        );
    }
    out.push_str("</p>\n");
    for c in entry.map(|e| e.conflicts.as_slice()).unwrap_or_default() {
        let _ = writeln!(out, "<p class=\"warn\">⚠ {}</p>", escape(c));
    }
}

/// Every channel's rendering; in the calendar only the entry's channels (it may be filtered).
fn channels(out: &mut String, p: &PostPreview<'_>, entry: Option<&Entry<'_>>) {
    let shown: Vec<&ChannelPreview<'_>> = p
        .channels
        .iter()
        .filter(|c| entry.is_none_or(|e| e.channels.iter().any(|(n, _, _)| *n == c.channel)))
        .collect();
    if shown.is_empty() {
        out.push_str(
            "<p class=\"note\">No deliveries: every channel is skipped, or the post has errors (smm validate).</p>",
        );
    }
    for c in shown {
        let _ = write!(
            out,
            "<section class=\"channel\" data-channel=\"{ch}\"><h3>{platform} <small>channel <code>{ch}</code></small>",
            ch = escape(c.channel),
            platform = escape(c.platform),
        );
        if let Some((_, state, url)) =
            entry.and_then(|e| e.channels.iter().find(|(n, _, _)| *n == c.channel))
        {
            out.push_str("</h3><ul class=\"chans\">");
            state_chip(out, state.as_str(), *state, *url);
            out.push_str("</ul>");
        } else {
            out.push_str("</h3>");
        }
        let thread = if c.parts.len() > 1 { " thread" } else { "" };
        let _ = write!(out, "<ol class=\"parts{thread}\">");
        for part in &c.parts {
            let _ = write!(
                out,
                "<li class=\"part\"><div class=\"counts\"><span class=\"label\">{}</span>",
                escape(&part.label)
            );
            for m in part.measures {
                let class = if m.fits() { "fits" } else { "over" };
                let _ = write!(
                    out,
                    " <span class=\"count {class}\" title=\"{rule}\">{len}/{limit} {unit}</span>",
                    rule = escape(m.rule),
                    len = m.length,
                    limit = m.limit,
                    unit = escape(m.unit),
                );
            }
            out.push_str("</div><div class=\"text\">");
            for s in &part.segments {
                segment(out, s);
            }
            out.push_str("</div>");
            for m in part.media {
                match m.alt.as_deref() {
                    Some(alt) => {
                        let _ = write!(
                            out,
                            "<figure class=\"media\"><span class=\"icon\">image</span><figcaption><code>{}</code><br><b>alt:</b> {}</figcaption></figure>",
                            escape(&m.file),
                            escape(alt)
                        );
                    }
                    None => {
                        let _ = write!(
                            out,
                            "<figure class=\"media noalt\"><span class=\"icon\">image</span><figcaption><code>{}</code><br><b>no alt text</b></figcaption></figure>",
                            escape(&m.file)
                        );
                    }
                }
            }
            out.push_str("</li>\n");
        }
        out.push_str("</ol>");
        if let Some(link) = c.link {
            out.push_str("<p class=\"linkcard\">link card: ");
            match safe_href(link) {
                Some(href) => {
                    let _ = write!(
                        out,
                        "<a href=\"{href}\" target=\"_blank\" rel=\"noopener noreferrer\">{}</a>",
                        escape(link)
                    );
                }
                None => out.push_str(&escape(link)),
            }
            out.push_str("</p>");
        }
        if let Some(rule) = c.rule {
            let _ = write!(out, "<p class=\"rule\">counted as: {}</p>", escape(rule));
        }
        out.push_str("</section>\n");
    }
}

/// A run of text: links become real links (web URLs only), hashtags and mentions are coloured.
fn segment(out: &mut String, s: &crate::preview::Segment<'_>) {
    let text = escape(s.text);
    match s.entity {
        None => out.push_str(&text),
        Some(e) => match e.kind {
            SpanKind::Link => match safe_href(&e.value) {
                Some(href) => {
                    let _ = write!(
                        out,
                        "<a class=\"link\" href=\"{href}\" target=\"_blank\" rel=\"noopener noreferrer\">{text}</a>"
                    );
                }
                None => {
                    let _ = write!(out, "<span class=\"link\">{text}</span>");
                }
            },
            SpanKind::Hashtag => {
                let _ = write!(out, "<span class=\"tag\">{text}</span>");
            }
            SpanKind::Mention => {
                let _ = write!(out, "<span class=\"mention\">{text}</span>");
            }
        },
    }
}

fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"generator\" content=\"smm\">\n<title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n{body}<script>{SCRIPT}</script>\n</body>\n</html>\n",
        escape(title)
    )
}

const STYLE: &str = r#"
:root { color-scheme: light; --ink: #1f2328; --muted: #656d76; --line: #d0d7de; --bg: #f6f8fa;
  --ok: #1a7f37; --bad: #cf222e; --warn: #9a6700; --info: #0969da; --odd: #8250df; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); background: var(--bg); }
header { padding: 20px 28px 12px; background: #fff; border-bottom: 1px solid var(--line); }
h1 { margin: 0; font-size: 22px; } h1 span { font-weight: 400; color: var(--muted); }
.meta { margin: 4px 0; color: var(--muted); }
.summary { margin: 8px 0; }
.legend { list-style: none; display: flex; flex-wrap: wrap; gap: 6px; margin: 8px 0 0; padding: 0; }
.legend button { font: inherit; display: inline-flex; align-items: center; gap: 6px; padding: 3px 10px; border: 1px solid var(--line); border-radius: 999px; background: #fff; cursor: pointer; }
.legend button i { width: 12px; height: 12px; border-radius: 3px; background: var(--c); }
.legend button[aria-pressed="false"] { opacity: .45; text-decoration: line-through; }
.legend small { color: var(--muted); }
main { padding: 12px 28px 40px; }
.month h2 { font-size: 18px; margin: 18px 0 8px; }
.grid { display: grid; grid-template-columns: repeat(7, minmax(0, 1fr)); gap: 1px; background: var(--line); border: 1px solid var(--line); border-radius: 8px; overflow: hidden; }
.wd { background: #eaeef2; padding: 4px 8px; font-weight: 600; font-size: 12px; color: var(--muted); }
.day { background: #fff; min-height: 96px; padding: 4px 5px 6px; display: flex; flex-direction: column; gap: 4px; }
.day.pad { background: #f3f4f6; }
.day.out { background: #f6f8fa; color: #8c959f; }
.day.today .num { background: var(--info); color: #fff; border-radius: 999px; padding: 0 7px; }
.day.has-conflict { box-shadow: inset 0 0 0 2px #ffb3b8; }
.num { align-self: flex-start; font-size: 12px; font-weight: 600; color: var(--muted); }
.day.today .num { color: #fff; }
.dow { display: none; }
.entry { border-left: 4px solid var(--c); background: color-mix(in srgb, var(--c) 9%, #fff); border-radius: 4px; padding: 3px 5px; font-size: 12px; }
.entry.conflict { outline: 2px solid var(--bad); outline-offset: -1px; }
.entry[hidden] { display: none; }
.open { all: unset; display: block; cursor: pointer; width: 100%; overflow: hidden; }
.open:focus-visible { outline: 2px solid var(--info); }
.open time { font-weight: 700; font-variant-numeric: tabular-nums; }
.open .text { display: -webkit-box; -webkit-line-clamp: 2; -webkit-box-orient: vertical; overflow: hidden; overflow-wrap: anywhere; }
.chans { list-style: none; display: inline-flex; flex-wrap: wrap; gap: 3px; margin: 3px 0 0; padding: 0; }
.st { display: inline-block; font-size: 11px; padding: 0 6px; border-radius: 999px; background: #eaeef2; color: var(--ink); white-space: nowrap; }
.st a { color: inherit; }
.st-published { background: #dafbe1; color: var(--ok); }
.st-due { background: #fff8c5; color: var(--warn); }
.st-missed, .st-failed, .st-conflict { background: #ffebe9; color: var(--bad); }
.st-unknown, .st-blocked, .st-drift { background: #fbefff; color: var(--odd); }
.st-draft, .st-removed { background: #eaeef2; color: var(--muted); }
.conflicts { list-style: none; margin: 3px 0 0; padding: 0; color: var(--bad); font-size: 11px; }
dialog.preview { width: min(760px, 94vw); max-height: 90vh; border: 0; border-radius: 10px; padding: 18px 22px; box-shadow: 0 10px 40px rgba(0,0,0,.3); }
dialog.preview::backdrop { background: rgba(31,35,40,.45); }
.close { float: right; font-size: 22px; line-height: 1; border: 0; background: none; cursor: pointer; color: var(--muted); }
main.single { max-width: 800px; }
h2 { margin: 0 0 2px; font-size: 18px; }
.camp { border-left: 4px solid var(--c); padding-left: 5px; }
.warn { color: var(--bad); margin: 4px 0; }
.note { color: var(--muted); }
.channel { margin-top: 14px; border: 1px solid var(--line); border-radius: 8px; padding: 10px 14px; background: #fff; }
.channel h3 { display: inline-block; margin: 0 8px 6px 0; font-size: 15px; text-transform: capitalize; }
.channel h3 small { text-transform: none; font-weight: 400; color: var(--muted); }
.channel > .chans { margin: 0; vertical-align: 2px; }
.parts { list-style: none; margin: 0; padding: 0; }
.parts.thread .part { border-left: 3px solid var(--line); padding-left: 10px; margin-left: 4px; }
.part + .part { margin-top: 10px; }
.counts { font-size: 12px; color: var(--muted); display: flex; flex-wrap: wrap; gap: 6px; align-items: center; }
.counts .label { font-weight: 600; }
.count { padding: 0 6px; border-radius: 999px; font-variant-numeric: tabular-nums; }
.count.fits { background: #dafbe1; color: var(--ok); }
.count.over { background: #ffebe9; color: var(--bad); font-weight: 700; }
.part .text { white-space: pre-wrap; overflow-wrap: anywhere; margin: 4px 0; font-size: 15px; }
.link { color: var(--info); }
.tag { color: var(--ok); font-weight: 600; }
.mention { color: var(--odd); font-weight: 600; }
.media { display: flex; gap: 8px; align-items: flex-start; margin: 6px 0 0; padding: 6px 8px; background: var(--bg); border-radius: 6px; font-size: 12px; }
.media .icon { flex: none; font-size: 10px; font-weight: 700; text-transform: uppercase; padding: 10px 6px; border: 1px solid var(--line); border-radius: 4px; background: #fff; color: var(--muted); }
.media.noalt { background: #ffebe9; color: var(--bad); }
.linkcard, .rule { margin: 8px 0 0; font-size: 12px; color: var(--muted); }
@media (max-width: 760px) {
  header, main { padding-left: 12px; padding-right: 12px; }
  .grid { display: block; border: 0; background: none; }
  .wd, .day.pad, .day.out, .day:not(:has(.entry)) { display: none; }
  .day { min-height: 0; border-bottom: 1px solid var(--line); }
  .dow { display: inline; }
}
@media print { .legend, dialog { display: none; } }
"#;

/// Opens a card's preview; a click on the backdrop closes it; legend buttons hide a campaign.
const SCRIPT: &str = r##"
(function () {
  "use strict";
  function open(id) {
    var dialog = document.getElementById(id);
    if (dialog && typeof dialog.showModal === "function" && !dialog.open) { dialog.showModal(); }
  }
  document.addEventListener("click", function (event) {
    var target = event.target;
    if (target instanceof HTMLDialogElement) { target.close(); return; }
    var opener = target.closest("[data-preview]");
    if (opener) { open(opener.getAttribute("data-preview")); return; }
    var toggle = target.closest("[data-campaign-toggle]");
    if (toggle) {
      var shown = toggle.getAttribute("aria-pressed") !== "true";
      toggle.setAttribute("aria-pressed", String(shown));
      var name = toggle.getAttribute("data-campaign-toggle");
      document.querySelectorAll(".entry").forEach(function (card) {
        if (card.getAttribute("data-campaign") === name) { card.hidden = !shown; }
      });
    }
  });
  // index.html#preview-3 opens that preview: a link a colleague can follow.
  if (location.hash.indexOf("#preview-") === 0) { open(location.hash.slice(1)); }
})();
"##;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_covers_text_and_attributes() {
        assert_eq!(
            escape(r#"<script>alert("x&y")</script> it's"#),
            "&lt;script&gt;alert(&quot;x&amp;y&quot;)&lt;/script&gt; it&#39;s"
        );
        assert_eq!(escape("Neukölln ☕"), "Neukölln ☕");
    }

    #[test]
    fn only_web_urls_become_links() {
        assert_eq!(
            safe_href("https://x.com/a?b=1&c=\"2\"").as_deref(),
            Some("https://x.com/a?b=1&amp;c=&quot;2&quot;")
        );
        assert_eq!(
            safe_href("HTTP://example.com").as_deref(),
            Some("HTTP://example.com")
        );
        assert_eq!(safe_href("javascript:alert(1)"), None);
        assert_eq!(safe_href("data:text/html,x"), None);
        assert_eq!(safe_href("é"), None);
    }

    #[test]
    fn campaign_colours_are_stable_and_differ() {
        assert_eq!(
            campaign_colour(Some("winter-blend-launch")),
            campaign_colour(Some("winter-blend-launch"))
        );
        assert_ne!(
            campaign_colour(Some("winter-blend-launch")),
            campaign_colour(Some("origin-stories"))
        );
        assert_eq!(campaign_colour(None), "#6b7280");
    }
}
