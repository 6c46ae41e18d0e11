//! `smm calendar`: the agenda of deliveries in the terminal, and an iCalendar feed.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use jiff::civil::Date;
use jiff::Timestamp;

use crate::plan::{Item, Plan};
use crate::status::DeliveryState;

/// Which deliveries the agenda shows.
#[derive(Debug)]
pub struct Window<'a> {
    /// Inclusive dates in the workspace zone.
    pub from: Date,
    pub to: Date,
    pub campaign: Option<&'a str>,
    pub channel: Option<&'a str>,
    pub label: Option<&'a str>,
}

/// One post at one time, with every channel it goes to.
#[derive(Debug)]
pub struct Entry<'a> {
    pub post: &'a str,
    pub at: jiff::ZonedDateTime,
    pub channels: Vec<(&'a str, DeliveryState, Option<&'a str>)>,
    pub campaign: Option<&'a str>,
    pub first_line: &'a str,
    /// Policy problems of this post's schedule (quiet hours, blackout, spacing, per day).
    pub conflicts: Vec<String>,
}

/// Entries in time order. `labels` maps post ids to their labels; `conflicts` post files to
/// schedule warnings from validate.
pub fn entries<'a>(
    plan: &'a Plan,
    window: &Window<'_>,
    labels: &BTreeMap<String, Vec<String>>,
    conflicts: &BTreeMap<String, Vec<String>>,
) -> Vec<Entry<'a>> {
    let mut by_post: BTreeMap<(Timestamp, &str), Entry<'a>> = BTreeMap::new();
    let keep = |i: &Item| {
        let Some(at) = &i.publish_at else {
            return false;
        };
        let day = at.date();
        day >= window.from
            && day <= window.to
            && window
                .campaign
                .is_none_or(|c| i.campaign.as_deref() == Some(c))
            && window.channel.is_none_or(|c| &*i.key.channel == c)
            && window.label.is_none_or(|l| {
                labels
                    .get(&*i.key.post)
                    .is_some_and(|ls| ls.iter().any(|x| x == l))
            })
    };
    for item in plan.items.iter().filter(|i| keep(i)) {
        let Some(at) = &item.publish_at else { continue };
        let entry = by_post
            .entry((at.timestamp(), &*item.key.post))
            .or_insert_with(|| Entry {
                post: &item.key.post,
                at: at.clone(),
                channels: Vec::new(),
                campaign: item.campaign.as_deref(),
                first_line: item
                    .parts
                    .first()
                    .and_then(|p| p.text.lines().next())
                    .unwrap_or(""),
                conflicts: item
                    .file
                    .as_deref()
                    .and_then(|f| conflicts.get(f))
                    .cloned()
                    .unwrap_or_default(),
            });
        entry.channels.push((
            &item.key.channel,
            DeliveryState::of(item.action),
            item.url(),
        ));
    }
    by_post.into_values().collect()
}

/// The terminal agenda: one heading per day, one line per post.
pub fn render_agenda(plan: &Plan, entries: &[Entry<'_>], window: &Window<'_>) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} · {} to {} · times in {}",
        plan.brand, window.from, window.to, plan.zone_name
    );
    if entries.is_empty() {
        out.push_str("\nNothing scheduled in this window.\n");
        return out;
    }
    let mut day = None;
    for e in entries {
        if day != Some(e.at.date()) {
            day = Some(e.at.date());
            let _ = writeln!(out, "\n{}", e.at.strftime("%A %Y-%m-%d"));
        }
        let channels: Vec<String> = e
            .channels
            .iter()
            .map(|(c, s, _)| {
                if *s == DeliveryState::Scheduled {
                    c.to_string()
                } else {
                    format!("{c} ({})", s.as_str())
                }
            })
            .collect();
        let text: String = e.first_line.chars().take(72).collect();
        let _ = writeln!(out, "  {}  {text}", e.at.strftime("%H:%M"));
        let _ = writeln!(out, "         {} → {}", e.post, channels.join(", "));
        for c in &e.conflicts {
            let _ = writeln!(out, "         ! {c}");
        }
    }
    out
}

/// The agenda as JSON: `{version: 1, from, to, timezone, entries: [...]}`.
pub fn render_json(plan: &Plan, entries: &[Entry<'_>], window: &Window<'_>) -> String {
    let entries: Vec<serde_json::Value> = entries
        .iter()
        .map(|e| {
            serde_json::json!({
                "post": e.post,
                "publish_at": e.at.strftime("%Y-%m-%dT%H:%M:%S%:z").to_string(),
                "campaign": e.campaign,
                "text": e.first_line,
                "channels": e.channels.iter().map(|(c, s, u)| serde_json::json!({ "channel": c, "state": s, "url": u })).collect::<Vec<_>>(),
                "conflicts": e.conflicts,
            })
        })
        .collect();
    let doc = serde_json::json!({
        "version": 1,
        "from": window.from.to_string(),
        "to": window.to.to_string(),
        "timezone": plan.zone_name,
        "entries": entries,
    });
    let mut s = serde_json::to_string_pretty(&doc).unwrap_or_default();
    s.push('\n');
    s
}

/// An iCalendar (RFC 5545) feed: one event per delivery, stable UIDs, times in UTC.
pub fn render_ics(plan: &Plan, entries: &[Entry<'_>]) -> String {
    let mut out = String::new();
    let mut line = |s: String| fold(&mut out, &s);
    line("BEGIN:VCALENDAR".into());
    line("VERSION:2.0".into());
    line("PRODID:-//smm//content calendar//EN".into());
    line("CALSCALE:GREGORIAN".into());
    line(format!(
        "X-WR-CALNAME:{}",
        escape(&format!("{} social calendar", plan.brand))
    ));
    line(format!("X-WR-TIMEZONE:{}", plan.zone_name));
    for e in entries {
        let start = e.at.timestamp();
        for (channel, state, url) in &e.channels {
            line("BEGIN:VEVENT".into());
            line(format!(
                "UID:{}",
                escape(&format!("{}@{channel}.smm", e.post))
            ));
            // DTSTAMP is when the entry was made; the due time keeps the feed byte-stable.
            line(format!("DTSTAMP:{}", utc(start)));
            line(format!("DTSTART:{}", utc(start)));
            line("DURATION:PT15M".into());
            line(format!(
                "SUMMARY:{}",
                escape(&format!("[{channel}] {}", e.first_line))
            ));
            let mut description = format!("{} · {} · {}", e.post, channel, state.as_str());
            if let Some(c) = e.campaign {
                description.push_str(&format!(" · campaign {c}"));
            }
            line(format!("DESCRIPTION:{}", escape(&description)));
            line(format!(
                "CATEGORIES:{}",
                escape(e.campaign.unwrap_or("posts"))
            ));
            line(format!(
                "STATUS:{}",
                if *state == DeliveryState::Missed {
                    "CANCELLED"
                } else {
                    "CONFIRMED"
                }
            ));
            if let Some(u) = url {
                line(format!("URL:{u}"));
            }
            line("END:VEVENT".into());
        }
    }
    line("END:VCALENDAR".into());
    out
}

fn utc(t: Timestamp) -> String {
    t.strftime("%Y%m%dT%H%M%SZ").to_string()
}

/// TEXT escaping of RFC 5545 §3.3.11.
fn escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace(';', "\\;")
        .replace(',', "\\,")
        .replace('\n', "\\n")
}

/// Lines longer than 75 octets are folded (RFC 5545 §3.1), never inside a UTF-8 character.
fn fold(out: &mut String, line: &str) {
    let mut width = 0;
    for c in line.chars() {
        if width + c.len_utf8() > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += c.len_utf8();
    }
    out.push_str("\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lines_fold_at_75_octets_without_splitting_characters() {
        let mut out = String::new();
        fold(&mut out, &format!("SUMMARY:{}", "é".repeat(60)));
        for l in out.split("\r\n").filter(|l| !l.is_empty()) {
            assert!(l.len() <= 75, "{l}");
        }
        assert_eq!(
            out.replace("\r\n ", "").trim_end(),
            format!("SUMMARY:{}", "é".repeat(60))
        );
        assert_eq!(escape("a,b;c\nd"), "a\\,b\\;c\\nd");
    }
}
