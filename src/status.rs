//! `smm status`: where every delivery stands, from the plan's view of workspace and state.

use std::fmt::Write as _;

use serde::Serialize;

use crate::plan::{Action, Plan};

/// A delivery's state as users see it.
/// Also the values of `smm status --state`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryState {
    Draft,
    Scheduled,
    Due,
    Published,
    Missed,
    Unknown,
    Failed,
    Drift,
    Removed,
    Blocked,
}

impl DeliveryState {
    pub fn of(action: Action) -> DeliveryState {
        match action {
            Action::Draft => DeliveryState::Draft,
            Action::Schedule => DeliveryState::Scheduled,
            Action::Publish => DeliveryState::Due,
            Action::Published | Action::Delete => DeliveryState::Published,
            Action::Missed => DeliveryState::Missed,
            Action::Resolve => DeliveryState::Unknown,
            Action::Rejected => DeliveryState::Failed,
            Action::Drift => DeliveryState::Drift,
            Action::Kept => DeliveryState::Removed,
            Action::Moved => DeliveryState::Blocked,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Draft => "draft",
            DeliveryState::Scheduled => "scheduled",
            DeliveryState::Due => "due",
            DeliveryState::Published => "published",
            DeliveryState::Missed => "missed",
            DeliveryState::Unknown => "unknown",
            DeliveryState::Failed => "failed",
            DeliveryState::Drift => "drift",
            DeliveryState::Removed => "removed",
            DeliveryState::Blocked => "blocked",
        }
    }
}

/// Which deliveries to list.
#[derive(Debug, Default)]
pub struct Filter<'a> {
    pub campaign: Option<&'a str>,
    pub channel: Option<&'a str>,
    pub state: Option<DeliveryState>,
}

#[derive(Debug, Serialize)]
pub struct Row<'a> {
    pub delivery: String,
    pub state: DeliveryState,
    pub publish_at: Option<String>,
    pub campaign: Option<&'a str>,
    pub channel: &'a str,
    pub platform: Option<&'a str>,
    pub file: Option<&'a str>,
    pub url: Option<&'a str>,
    /// The first line of the text, for people scanning the list.
    pub text: Option<&'a str>,
}

/// The rows, by time then delivery (the plan's order differs: it groups by action).
pub fn rows<'a>(plan: &'a Plan, filter: &Filter<'_>) -> Vec<Row<'a>> {
    let mut items: Vec<_> = plan
        .items
        .iter()
        .filter(|i| {
            filter
                .campaign
                .is_none_or(|c| i.campaign.as_deref() == Some(c))
        })
        .filter(|i| filter.channel.is_none_or(|c| &*i.key.channel == c))
        .filter(|i| {
            filter
                .state
                .is_none_or(|s| DeliveryState::of(i.action) == s)
        })
        .collect();
    items.sort_by(|a, b| {
        (a.publish_at.as_ref().map(|t| t.timestamp()), &a.key)
            .cmp(&(b.publish_at.as_ref().map(|t| t.timestamp()), &b.key))
    });
    items
        .into_iter()
        .map(|i| Row {
            delivery: i.key.to_string(),
            state: DeliveryState::of(i.action),
            publish_at: i.publish_at.as_ref().map(|t| plan.format_time(t)),
            campaign: i.campaign.as_deref(),
            channel: &i.key.channel,
            platform: i.platform.map(|p| p.as_str()),
            file: i.file.as_deref(),
            url: i.url(),
            text: i.parts.first().and_then(|p| p.text.lines().next()),
        })
        .collect()
}

pub fn render_text(plan: &Plan, rows: &[Row<'_>]) -> String {
    let mut out = String::new();
    if rows.is_empty() {
        out.push_str("No deliveries match.\n");
        return out;
    }
    let key_width = rows
        .iter()
        .map(|r| r.delivery.chars().count())
        .max()
        .unwrap_or(8)
        .max(8);
    let _ = writeln!(
        out,
        "{:<10} {:<23} {:<key_width$}  URL OR TEXT",
        "STATE",
        format!("WHEN ({})", short_zone(&plan.zone_name)),
        "DELIVERY"
    );
    for r in rows {
        let when = r.publish_at.as_deref().unwrap_or("–");
        let note = r.url.or(r.text).unwrap_or("");
        let note: String = note.chars().take(60).collect();
        let _ = writeln!(
            out,
            "{:<10} {:<23} {:<key_width$}  {note}",
            r.state.as_str(),
            when,
            r.delivery
        );
    }
    let mut counts: Vec<(DeliveryState, usize)> = Vec::new();
    for r in rows {
        match counts.iter_mut().find(|(s, _)| *s == r.state) {
            Some((_, n)) => *n += 1,
            None => counts.push((r.state, 1)),
        }
    }
    let parts: Vec<String> = counts
        .iter()
        .map(|(s, n)| format!("{n} {}", s.as_str()))
        .collect();
    let _ = writeln!(
        out,
        "\n{} {}: {}.",
        rows.len(),
        crate::words::plural(rows.len(), "delivery", "deliveries"),
        parts.join(", ")
    );
    out
}

fn short_zone(zone: &str) -> &str {
    zone.rsplit('/').next().unwrap_or(zone)
}

pub fn render_json(rows: &[Row<'_>]) -> String {
    let mut s =
        serde_json::to_string_pretty(&serde_json::json!({ "version": 1, "deliveries": rows }))
            .unwrap_or_default();
    s.push('\n');
    s
}
