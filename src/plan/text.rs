//! The plan for people at a terminal, modelled on `terraform plan`.

use std::borrow::Cow;
use std::fmt::Write as _;

use anstyle::{AnsiColor, Style};
use similar::{ChangeTag, TextDiff};

use super::{Action, Change, Item, Plan};
use crate::state::DeliveryKey;

const ADD: Style = AnsiColor::Green.on_default();
const DEL: Style = AnsiColor::Red.on_default();
const WARN: Style = AnsiColor::Yellow.on_default();
const DIM: Style = Style::new().dimmed();
const BOLD: Style = Style::new().bold();

fn symbol(action: Action) -> (&'static str, Style, &'static str) {
    match action {
        Action::Publish => ("+", ADD, "publish now"),
        Action::Schedule => (">", AnsiColor::Cyan.on_default(), "scheduled"),
        Action::Delete => ("-", DEL, "delete"),
        Action::Drift => (
            "±",
            WARN,
            "drift (published text changed in git; not acted on)",
        ),
        Action::Kept => ("=", DIM, "removed from the repository, stays published"),
        Action::Missed | Action::Resolve | Action::Rejected | Action::Moved => {
            ("!", WARN.bold(), "needs attention")
        }
        Action::Published | Action::Draft => (" ", DIM, ""),
    }
}

/// Short commit ids, as git shows them.
pub(super) fn short(rev: &str) -> &str {
    rev.get(..7).unwrap_or(rev)
}

pub(super) fn header_facts(plan: &Plan) -> Vec<String> {
    let mut facts = Vec::new();
    let content = match (&plan.content.commit, &plan.content.branch) {
        (Some(c), Some(b)) => format!("content {} ({b})", short(c)),
        (Some(c), None) => format!("content {}", short(c)),
        (None, _) => "content not in git".to_string(),
    };
    facts.push(if plan.content.dirty {
        format!("{content} + uncommitted changes")
    } else {
        content
    });
    facts.push(match &plan.state_revision {
        Some(r) => format!("state {}", short(r)),
        None => "state empty".into(),
    });
    if let Some(b) = &plan.base {
        facts.push(format!("base {}", short(b)));
    }
    if plan.show_at {
        facts.push(format!("at {}", plan.format_timestamp(plan.at)));
    }
    facts
}

pub fn render_text(plan: &Plan) -> String {
    let mut text = String::new();
    render_text_in_pieces(plan, |pieces| {
        text.extend(pieces.iter().map(String::as_str))
    });
    text
}

/// Deliveries rendered at once: enough to keep both cores busy, few enough that a plan of
/// 400,000 deliveries (170 MB of text) is never held whole.
const BATCH: usize = 4096;

/// The text plan in pieces (header, one per delivery, summary), given to `emit` in order, a
/// batch at a time, to print as they come.
pub fn render_text_in_pieces(plan: &Plan, mut emit: impl FnMut(&[String])) {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{BOLD}smm plan{BOLD:#} · {} · {}",
        plan.brand,
        header_facts(plan).join(" · ")
    );
    let _ = writeln!(out, "{DIM}times in {}{DIM:#}", plan.zone_name);

    let mut seen: Vec<&str> = Vec::new();
    let mut legend = Vec::new();
    for item in plan.shown() {
        let (sym, style, words) = symbol(item.action);
        if !seen.contains(&sym) {
            seen.push(sym);
            legend.push(format!("  {style}{sym}{style:#} {words}"));
        }
        if item.change == Some(Change::Edited) && !seen.contains(&"~") {
            seen.push("~");
            legend.push(format!("  {WARN}~{WARN:#} edited since the base revision"));
        }
    }
    if !legend.is_empty() {
        let _ = writeln!(out, "\nSymbols:\n{}", legend.join("\n"));
    }

    emit(&[out]);
    // Items render independently: both cores write them (40,000 at 10,000 posts), in order.
    let shown: Vec<&Item> = plan.shown().collect();
    for (start, batch) in (0..).step_by(BATCH).zip(shown.chunks(BATCH)) {
        use rayon::prelude::*;
        let items: Vec<String> = batch
            .par_iter()
            .enumerate()
            .map(|(i, item)| {
                let before = (start + i).checked_sub(1).map(|before| shown[before]);
                render_shown(plan, item, before)
            })
            .collect();
        emit(&items);
    }
    let mut out = String::new();

    out.push('\n');
    let _ = writeln!(out, "{BOLD}{}{BOLD:#}", plan.summary_line());
    let s = plan.summary();
    let mut quiet = Vec::new();
    let unchanged = plan.unchanged();
    if unchanged > 0 {
        quiet.push(format!(
            "{unchanged} scheduled {} unchanged since the base revision (not shown)",
            crate::words::plural(unchanged, "delivery", "deliveries")
        ));
    }
    if s.published > 0 {
        quiet.push(format!("{} published and unchanged", s.published));
    }
    if s.drafts > 0 {
        quiet.push(format!(
            "{} draft {}",
            s.drafts,
            crate::words::plural(s.drafts, "delivery", "deliveries")
        ));
    }
    if plan.warnings > 0 {
        quiet.push(format!(
            "{} validate {}",
            plan.warnings,
            crate::words::plural(plan.warnings, "warning", "warnings")
        ));
    }
    if !quiet.is_empty() {
        let _ = writeln!(out, "{}.", quiet.join(", "));
    }
    if shown.iter().any(|item| listed(plan, item)) {
        let _ = writeln!(
            out,
            "{DIM}Texts of scheduled deliveries: `smm preview POST`; of what changed since REV: \
             `smm plan --base REV`.{DIM:#}"
        );
    }
    write_validity(&mut out, plan);
    emit(&[out]);
}

/// Until when the plan holds, or that nothing is scheduled.
fn write_validity(out: &mut String, plan: &Plan) {
    match plan.valid_until {
        Some(t) => {
            let _ = writeln!(
                out,
                "Valid until {}: then what is due changes; plan again.",
                plan.format_timestamp(t)
            );
        }
        None => {
            let _ = writeln!(out, "Nothing is scheduled.");
        }
    }
}

/// One item of the plan as shown after `before`: listed items follow each other without a blank
/// line.
fn render_shown(plan: &Plan, item: &Item, before: Option<&Item>) -> String {
    if listed(plan, item) {
        let mut text = String::with_capacity(128);
        if !before.is_some_and(|b| listed(plan, b)) {
            text.push('\n');
        }
        render_listed(&mut text, plan, item);
        return text;
    }
    // Room for the usual item, so it is not regrown a few bytes at a time.
    let mut text = String::with_capacity(1024);
    text.push('\n');
    render_item(&mut text, plan, item);
    text
}

/// An update of `smm plan --watch`: the items `shown` as the plan shows them, the deliveries
/// `gone` from the plan, and the summary line.
pub fn render_update(plan: &Plan, shown: &[&Item], gone: &[DeliveryKey]) -> String {
    let mut out = String::new();
    for (i, item) in shown.iter().enumerate() {
        let before = i.checked_sub(1).map(|b| shown[b]);
        out.push_str(&render_shown(plan, item, before));
    }
    if !gone.is_empty() {
        out.push('\n');
    }
    for key in gone {
        let _ = writeln!(
            out,
            "  {DIM}✕{DIM:#} {BOLD}{key}{BOLD:#} is no longer in the plan"
        );
    }
    let _ = writeln!(out, "\n{BOLD}{}{BOLD:#}", plan.summary_line());
    write_validity(&mut out, plan);
    out
}

/// What happens to the delivery, appended to `out` (written in place: one per delivery).
fn write_headline(out: &mut String, plan: &Plan, item: &Item) {
    let said = match item.action {
        Action::Publish => "will be published now",
        Action::Schedule => {
            out.push_str("is scheduled for ");
            if let Some(t) = &item.publish_at {
                plan.write_time(out, t);
            }
            match item.change {
                Some(Change::Edited) => ", edited since the base revision",
                Some(Change::New) if plan.base.is_some() => ", new since the base revision",
                _ => "",
            }
        }
        Action::Delete => "will be deleted from the platform",
        Action::Drift => "has drifted: its text changed after publishing",
        Action::Kept => "was removed from the repository and stays published",
        Action::Missed => "was missed",
        Action::Resolve => "needs `smm resolve`",
        Action::Rejected => "was rejected by the platform",
        Action::Moved => "looks moved and will not be published",
        Action::Published => "is published",
        Action::Draft => "is a draft",
    };
    out.push_str(said);
}

/// Without a base revision, the scheduled deliveries are the whole calendar (40,000 of them at
/// 10,000 posts): one line each says where, when and from which file; their texts are what a
/// review with a base shows.
fn listed(plan: &Plan, item: &Item) -> bool {
    plan.base.is_none() && item.action == Action::Schedule
}

fn render_listed(out: &mut String, plan: &Plan, item: &Item) {
    let (sym, style, _) = symbol(item.action);
    let _ = write!(out, "  {style}{sym}{style:#} {BOLD}{}{BOLD:#} ", item.key);
    write_headline(out, plan, item);
    if let Some(file) = &item.file {
        let _ = write!(out, " {DIM}· ");
        out.push_str(file);
        let _ = write!(out, "{DIM:#}");
    }
    out.push('\n');
}

fn render_item(out: &mut String, plan: &Plan, item: &Item) {
    let (sym, style, _) = symbol(item.action);
    let _ = write!(out, "  {BOLD}# {}{BOLD:#} ", item.key);
    write_headline(out, plan, item);
    out.push('\n');
    let _ = writeln!(out, "  {DIM}# {}{DIM:#}", item.reason);
    if let Some(file) = &item.file {
        let platform = item.platform.map(|p| p.as_str()).unwrap_or_default();
        let _ = writeln!(out, "  {DIM}# {file} · {platform}{DIM:#}");
    }
    if let Some(url) = item.url() {
        let _ = writeln!(out, "  {DIM}# published at {url}{DIM:#}");
    }
    let edited = matches!(item.change, Some(Change::Edited)) || item.action == Action::Drift;
    for (i, part) in item.parts.iter().enumerate() {
        let label: Cow<str> = if i == 0 {
            "text".into()
        } else {
            format!("reply {i}").into()
        };
        let fits = part.length() <= part.limit();
        let count_style = if fits { DIM } else { DEL.bold() };
        let (line_sym, line_style) = if edited { ("~", WARN) } else { (sym, style) };
        let _ =
            writeln!(
            out,
            "  {line_style}{line_sym}{line_style:#} {label} {count_style}({}/{} {}){count_style:#}",
            part.length(), part.limit(), part.unit()
        );
        let body: Cow<str> = match item.previous().filter(|_| edited) {
            Some(prev) => {
                word_diff(prev.get(i).map(String::as_str).unwrap_or(""), &part.text).into()
            }
            None => part.text.as_str().into(),
        };
        for line in body.lines() {
            let _ = writeln!(out, "        {line}");
        }
        for m in &part.media {
            let alt = m
                .alt
                .as_deref()
                .map(|a| format!(" \"{a}\""))
                .unwrap_or_else(|| " (no alt text)".into());
            let _ = writeln!(out, "        {DIM}[media {}{alt}]{DIM:#}", m.file);
        }
    }
    if let Some(prev) = item.previous().filter(|_| edited) {
        for (i, old) in prev.iter().enumerate().skip(item.parts.len()) {
            let _ = writeln!(out, "  {DEL}-{DEL:#} reply {i} (removed)");
            for line in old.lines() {
                let _ = writeln!(out, "        {DEL}[-{line}-]{DEL:#}");
            }
        }
    }
    if let Some(hint) = item.hint() {
        let _ = writeln!(out, "  {WARN}# hint:{WARN:#} {hint}");
    }
}

/// Word-level diff: `[-removed-]` and `{+added+}` inline, coloured on a terminal. Neighbouring
/// changes (and the spaces between them) are joined, so a changed phrase reads as one edit.
pub(super) fn word_diff(old: &str, new: &str) -> String {
    let diff = TextDiff::from_words(old, new);
    let changes: Vec<(ChangeTag, &str)> = diff
        .iter_all_changes()
        .map(|c| (c.tag(), c.value()))
        .collect();
    let mut out = String::new();
    let (mut removed, mut added) = (String::new(), String::new());
    let flush = |out: &mut String, removed: &mut String, added: &mut String| {
        if !removed.is_empty() {
            let _ = write!(out, "{DEL}[-{removed}-]{DEL:#}");
        }
        if !added.is_empty() {
            let _ = write!(out, "{ADD}{{+{added}+}}{ADD:#}");
        }
        removed.clear();
        added.clear();
    };
    for (i, &(tag, value)) in changes.iter().enumerate() {
        match tag {
            ChangeTag::Delete => removed.push_str(value),
            ChangeTag::Insert => added.push_str(value),
            ChangeTag::Equal => {
                let pending = !removed.is_empty() || !added.is_empty();
                let more_follow = changes[i + 1..]
                    .first()
                    .is_some_and(|(t, _)| *t != ChangeTag::Equal);
                if pending && more_follow && value.trim().is_empty() {
                    removed.push_str(value);
                    added.push_str(value);
                } else {
                    flush(&mut out, &mut removed, &mut added);
                    out.push_str(value);
                }
            }
        }
    }
    flush(&mut out, &mut removed, &mut added);
    out
}

#[cfg(test)]
mod tests {
    use super::word_diff;

    #[test]
    fn a_changed_phrase_reads_as_one_edit() {
        let d = anstream::adapter::strip_str(&word_diff(
            "The text as it was published.",
            "The text as it is in git now.",
        ))
        .to_string();
        assert_eq!(d, "The text as it [-was published.-]{+is in git now.+}");
        let d = anstream::adapter::strip_str(&word_diff(
            "Spring tea, finally. https://a.b",
            "Spring tea, at last. https://a.b",
        ))
        .to_string();
        assert_eq!(d, "Spring tea, [-finally.-]{+at last.+} https://a.b");
    }
}
