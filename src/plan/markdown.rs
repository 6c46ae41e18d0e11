//! The plan as one pull-request comment: the summary first, then each post in a collapsible block.

use std::fmt::Write as _;

use super::text::{header_facts, short};
use super::{Action, Change, Item, Plan};

/// Hidden marker so CI can find and update its own comment instead of adding another.
pub const COMMENT_MARKER: &str = "<!-- smm-plan -->";

fn label(item: &Item) -> &'static str {
    match (item.action, item.change) {
        (Action::Publish, _) => "🟢 publish now",
        (Action::Schedule, Some(Change::Edited)) => "✏️ scheduled, edited",
        (Action::Schedule, Some(Change::New)) => "🆕 scheduled",
        (Action::Schedule, _) => "🕒 scheduled",
        (Action::Delete, _) => "🗑️ delete",
        (Action::Drift, _) => "⚠️ drift",
        (Action::Kept, _) => "📌 removed, kept",
        (Action::Missed, _) => "❗ missed",
        (Action::Resolve, _) => "❗ needs resolve",
        (Action::Rejected, _) => "❗ rejected",
        (Action::Moved, _) => "❗ moved without id",
        (Action::Published, _) => "✅ published",
        (Action::Draft, _) => "📝 draft",
    }
}

pub fn render_markdown(plan: &Plan) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{COMMENT_MARKER}");
    let _ = writeln!(out, "### smm plan · {}\n", plan.brand);
    let _ = writeln!(out, "**{}**\n", plan.summary_line());
    let mut facts = header_facts(plan);
    facts.push(format!("times in {}", plan.zone_name));
    let _ = writeln!(out, "{}\n", facts.join(" · "));
    let s = plan.summary();
    let mut notes = Vec::new();
    if s.needs_attention > 0 {
        notes.push(format!(
            "> [!WARNING]\n> {} {} attention: see the ❗ rows.",
            s.needs_attention,
            crate::words::plural(s.needs_attention, "delivery needs", "deliveries need")
        ));
    }
    if plan.warnings > 0 {
        notes.push(format!(
            "> [!NOTE]\n> `smm validate` reports {} {}.",
            plan.warnings,
            crate::words::plural(plan.warnings, "warning", "warnings")
        ));
    }
    let unchanged = plan.unchanged();
    if unchanged > 0 {
        notes.push(format!(
            "> [!NOTE]\n> {unchanged} scheduled {} unchanged since the base revision {} not shown.",
            crate::words::plural(unchanged, "delivery", "deliveries"),
            crate::words::plural(unchanged, "is", "are")
        ));
    }
    if plan.content.dirty {
        notes.push("> [!CAUTION]\n> Planned from uncommitted changes.".to_string());
    }
    for n in notes {
        let _ = writeln!(out, "{n}\n");
    }

    if plan.shown().next().is_some() {
        let _ = writeln!(out, "| | delivery | when | length |");
        let _ = writeln!(out, "|---|---|---|---|");
        for item in plan.shown() {
            let when = item
                .publish_at
                .as_ref()
                .map(|t| plan.format_time(t))
                .unwrap_or_else(|| "–".into());
            let length = item
                .parts
                .iter()
                .map(|p| format!("{}/{}", p.length(), p.limit()))
                .collect::<Vec<_>>()
                .join(", ");
            let _ = writeln!(
                out,
                "| {} | `{}` | {when} | {} |",
                label(item),
                item.key,
                if length.is_empty() {
                    "–".into()
                } else {
                    length
                }
            );
        }
        out.push('\n');
    }

    for item in plan.shown() {
        let file = item
            .file
            .as_deref()
            .map(|f| format!(" · {f}"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "<details><summary>{} <code>{}</code>{file}</summary>\n",
            label(item),
            item.key
        );
        let _ = writeln!(out, "{}\n", item.reason);
        if let Some(url) = item.url() {
            let _ = writeln!(out, "Published: {url}\n");
        }
        let diffing = matches!(item.change, Some(Change::Edited)) || item.action == Action::Drift;
        for (i, part) in item.parts.iter().enumerate() {
            let name = if i == 0 {
                "text".to_string()
            } else {
                format!("reply {i}")
            };
            let _ = writeln!(
                out,
                "**{name}** ({}/{} {})\n",
                part.length(),
                part.limit(),
                part.unit()
            );
            match item.previous().filter(|_| diffing) {
                Some(prev) => {
                    let _ = writeln!(out, "```diff");
                    for line in prev.get(i).map(String::as_str).unwrap_or("").lines() {
                        let _ = writeln!(out, "- {line}");
                    }
                    for line in part.text.lines() {
                        let _ = writeln!(out, "+ {line}");
                    }
                    let _ = writeln!(out, "```\n");
                }
                None => {
                    let _ = writeln!(out, "```text\n{}\n```\n", part.text);
                }
            }
            for m in &part.media {
                let alt = m.alt.as_deref().unwrap_or("(no alt text)");
                let _ = writeln!(out, "- media `{}`: {alt}", m.file);
            }
            if !part.media.is_empty() {
                out.push('\n');
            }
        }
        if let Some(hint) = item.hint() {
            let _ = writeln!(out, "💡 {hint}\n");
        }
        let _ = writeln!(out, "</details>\n");
    }
    match plan.valid_until {
        Some(t) => {
            let _ = writeln!(
                out,
                "<sub>Valid until {}. State {}.</sub>",
                plan.format_timestamp(t),
                plan.state_revision.as_deref().map(short).unwrap_or("empty")
            );
        }
        None => {
            let _ = writeln!(out, "<sub>Nothing is scheduled.</sub>");
        }
    }
    out
}
