//! The brand's policy (smm.yaml `policy:`) and each platform's text limit.

use std::collections::{BTreeMap, BTreeSet};

use jiff::civil::{Date, Time};
use jiff::SignedDuration;
use smm_text::SpanKind;

use super::{find_in_source, severity};
use crate::diagnostic::{quoted_list, Diagnostic};
use crate::render::Delivery;
use crate::source::Sources;
use crate::workspace::{
    format_duration, parse_duration, Level, Policy, Post, Settings, When, Workspace,
};

const DEFAULT_DISCLOSURE_LABELS: [&str; 2] = ["paid", "partner"];
const DEFAULT_DISCLOSURE_WORDS: [&str; 1] = ["#ad"];

/// The rules about one post's texts: length, words and hashtags, links, disclosure and the
/// same text on several platforms. `deliveries` are all of the post's.
pub(super) fn post(
    settings: &Settings,
    post: &Post,
    deliveries: &[Delivery],
    sources: &Sources,
    out: &mut Vec<Diagnostic>,
) {
    let policy = &settings.policy;
    for d in deliveries {
        length(settings, d, post, sources, out);
        for part in d.parts.iter() {
            text_rules(policy, d, post, part, sources, out);
        }
        disclosure(policy, d, post, sources, out);
    }
    same_text(policy, post, deliveries, sources, out);
}

/// The rules across posts: quiet hours, blackouts, spacing and posts per day.
pub(super) fn across_posts(
    ws: &Workspace,
    deliveries: &[Delivery],
    sources: &Sources,
    out: &mut Vec<Diagnostic>,
) {
    if let Some(settings) = &ws.settings {
        schedule(settings, ws, deliveries, sources, out);
    }
}

fn length(
    settings: &Settings,
    d: &Delivery,
    post: &Post,
    sources: &Sources,
    out: &mut Vec<Diagnostic>,
) {
    let sev = severity(settings.policy.length.severity, Level::Error);
    for (index, part) in d.parts.iter().enumerate() {
        // Part 0 is the post itself, the others are the thread's replies.
        let which = match index {
            0 => String::new(),
            n => format!("reply {n} is "),
        };
        if part.text.trim().is_empty() {
            out.push(
                Diagnostic::error(
                    "E0505",
                    format!("the text for `{}` is empty after rendering", d.channel),
                )
                .at(post.file, post.doc(sources).value_span(&part.pointer))
                .help("write some text, or check the template's conditions"),
            );
            continue;
        }
        let Some(sev) = sev else { continue };
        for m in &part.measures {
            if !m.fits() {
                out.push(
                    Diagnostic::new(
                        sev,
                        "P0501",
                        format!(
                            "{which}too long for {} (channel `{}`): {}/{} {}",
                            d.platform.as_str(),
                            d.channel,
                            m.length,
                            m.limit,
                            m.unit
                        ),
                    )
                    .at(post.file, post.doc(sources).value_span(&part.pointer))
                    .label(format!("{}/{}", m.length, m.limit))
                    .help(if index == 0 {
                        format!(
                            "shorten it by {}, or write a variant for `{}`; counted as: {}",
                            m.length - m.limit,
                            d.platform.as_str(),
                            m.rule
                        )
                    } else {
                        format!(
                            "shorten it by {}, or split it into two replies; counted as: {}",
                            m.length - m.limit,
                            m.rule
                        )
                    }),
                );
            }
        }
    }
}

fn text_rules(
    policy: &Policy,
    d: &Delivery,
    post: &Post,
    part: &crate::render::RenderedPart,
    sources: &Sources,
    out: &mut Vec<Diagnostic>,
) {
    let lower = part.text.to_lowercase();
    if let Some(sev) = severity(policy.banned_words.severity, Level::Error) {
        for word in &policy.banned_words.words {
            if contains_word(&lower, &word.to_lowercase()) {
                out.push(
                    Diagnostic::new(sev, "P0503", format!("banned word `{word}`"))
                        .at(
                            post.file,
                            find_in_source(post, sources, &part.pointer, word),
                        )
                        .label("banned by the policy in smm.yaml")
                        .help("rephrase; the list is `policy.banned_words` in smm.yaml"),
                );
            }
        }
    }
    let entities = &part.entities;
    let tags: Vec<&str> = entities
        .iter()
        .filter(|e| e.kind == SpanKind::Hashtag)
        .map(|e| e.value.as_str())
        .collect();
    if let Some(sev) = severity(policy.banned_hashtags.severity, Level::Error) {
        for banned in &policy.banned_hashtags.hashtags {
            let banned = banned.trim_start_matches('#');
            if tags.iter().any(|t| {
                t.eq_ignore_ascii_case(banned) || t.to_lowercase() == banned.to_lowercase()
            }) {
                out.push(
                    Diagnostic::new(sev, "P0504", format!("banned hashtag `#{banned}`"))
                        .at(
                            post.file,
                            find_in_source(post, sources, &part.pointer, &format!("#{banned}")),
                        )
                        .label("banned by the policy in smm.yaml")
                        .help("remove it; the list is `policy.banned_hashtags` in smm.yaml"),
                );
            }
        }
    }
    if let Some(sev) = severity(policy.max_hashtags.severity, Level::Warning) {
        let max = policy.max_hashtags.max.unwrap_or(5);
        if tags.len() > max {
            out.push(
                Diagnostic::new(
                    sev,
                    "P0505",
                    format!(
                        "{} hashtags on {} (policy: at most {max})",
                        tags.len(),
                        d.platform.as_str()
                    ),
                )
                .at(post.file, post.doc(sources).value_span(&part.pointer))
                .help("keep the few that people actually follow"),
            );
        }
    }
    if let Some(sev) = severity(policy.utm.severity, Level::Warning) {
        for link in entities.iter().filter(|e| e.kind == SpanKind::Link) {
            if !has_utm(&link.value) {
                out.push(
                    Diagnostic::new(
                        sev,
                        "P0507",
                        format!("link without UTM tags: {}", link.value),
                    )
                    .at(
                        post.file,
                        find_in_source(post, sources, &part.pointer, &link.value),
                    )
                    .help(format!(
                        "write it as {{{{ \"{}\" | utm }}}} so clicks are attributed",
                        link.value
                    )),
                );
            }
        }
    }
}

fn has_utm(url: &str) -> bool {
    ["utm_source=", "utm_medium=", "utm_campaign="]
        .iter()
        .all(|k| url.contains(k))
}

/// Whole-word, case-insensitive (both already lower-cased).
fn contains_word(haystack: &str, word: &str) -> bool {
    if word.is_empty() {
        return false;
    }
    haystack.match_indices(word).any(|(i, _)| {
        let before = haystack[..i].chars().next_back();
        let after = haystack[i + word.len()..].chars().next();
        !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
    })
}

fn disclosure(
    policy: &Policy,
    d: &Delivery,
    post: &Post,
    sources: &Sources,
    out: &mut Vec<Diagnostic>,
) {
    let Some(sev) = severity(policy.disclosure.severity, Level::Error) else {
        return;
    };
    let labels: Vec<&str> = match &policy.disclosure.labels {
        Some(l) => l.iter().map(String::as_str).collect(),
        None => DEFAULT_DISCLOSURE_LABELS.to_vec(),
    };
    let Some(label) = post
        .spec
        .labels
        .iter()
        .find(|l| labels.contains(&l.as_str()))
    else {
        return;
    };
    let words: Vec<&str> = match &policy.disclosure.words {
        Some(w) => w.iter().map(String::as_str).collect(),
        None => DEFAULT_DISCLOSURE_WORDS.to_vec(),
    };
    let Some(first) = d.parts.first() else { return };
    let lower = first.text.to_lowercase();
    if !words
        .iter()
        .any(|w| contains_word(&lower, &w.to_lowercase()))
    {
        out.push(
            Diagnostic::new(
                sev,
                "P0506",
                format!(
                    "post labelled `{label}` has no disclosure on {} (channel `{}`)",
                    d.platform.as_str(),
                    d.channel
                ),
            )
            .at(post.file, find_in_source(post, sources, &first.pointer, ""))
            .help(match words.as_slice() {
                [one] => format!("add {one} to the first part of the text"),
                _ => format!(
                    "add one of {} to the first part of the text",
                    words.join(", ")
                ),
            }),
        );
    }
}

/// Warns when one text goes unchanged to several platforms ("never post the same message everywhere").
fn same_text(
    policy: &Policy,
    post: &Post,
    deliveries: &[Delivery],
    sources: &Sources,
    out: &mut Vec<Diagnostic>,
) {
    let Some(sev) = severity(policy.same_text.severity, Level::Warning) else {
        return;
    };
    let mut texts: BTreeMap<String, BTreeSet<&str>> = BTreeMap::new();
    for d in deliveries {
        let Some(first) = d.parts.first() else {
            continue;
        };
        texts
            .entry(strip_utm(&first.text))
            .or_default()
            .insert(d.platform.as_str());
    }
    for platforms in texts.values().filter(|p| p.len() > 1) {
        let list: Vec<&str> = platforms.iter().copied().collect();
        out.push(
            Diagnostic::new(
                sev,
                "P0512",
                format!("the same text goes to {}", list.join(", ")),
            )
            .at(post.file, post.doc(sources).value_span("/text"))
            .help(format!(
                "write a variant per platform, e.g. `variants: {{ {}: {{ text: ... }} }}`",
                list[0]
            )),
        );
    }
}

/// The text with UTM query parameters removed, so links tagged per platform still compare equal.
fn strip_utm(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("utm_") {
        let (head, tail) = rest.split_at(i);
        let sep = head.chars().next_back();
        if matches!(sep, Some('?' | '&')) {
            out.push_str(&head[..head.len() - 1]);
            let end = tail
                .find(|c: char| c == '&' || c == '#' || c.is_whitespace())
                .unwrap_or(tail.len());
            let after = &tail[end..];
            // Keep the separator for a following parameter.
            rest = match after.strip_prefix('&') {
                Some(a) => {
                    out.push(sep.unwrap_or('?'));
                    a
                }
                None => after,
            };
        } else {
            out.push_str(head);
            out.push_str("utm_");
            rest = &tail[4..];
        }
    }
    out.push_str(rest);
    out
}

/// Time rules: quiet hours, blackouts, spacing and posts per day, per channel.
fn schedule(
    settings: &Settings,
    ws: &Workspace,
    deliveries: &[Delivery],
    sources: &Sources,
    out: &mut Vec<Diagnostic>,
) {
    let policy = &settings.policy;
    // By channel, time and post id; channels by their rank among the names (no string compare
    // per step of a 40,000-delivery sort).
    let ranks: std::collections::HashMap<&str, usize> = settings
        .channels
        .keys()
        .enumerate()
        .map(|(i, name)| (name.as_str(), i))
        .collect();
    let mut ranked: Vec<(usize, &Delivery, &jiff::ZonedDateTime)> = deliveries
        .iter()
        .filter_map(|d| match &ws.posts[d.post].when {
            When::At(z) => Some((ranks.get(&*d.channel).copied()?, d, z)),
            When::Draft => None,
        })
        .collect();
    ranked.sort_by(|a, b| {
        (a.0, a.2.timestamp(), &a.1.post_id).cmp(&(b.0, b.2.timestamp(), &b.1.post_id))
    });
    let timed: Vec<(&Delivery, &jiff::ZonedDateTime)> =
        ranked.into_iter().map(|(_, d, z)| (d, z)).collect();

    let at_span = |d: &Delivery| {
        let p = &ws.posts[d.post];
        (p.file, p.doc(sources).value_span("/publish_at"))
    };

    // One diagnostic per post naming every channel, not one per channel at the same place.
    let by_post = |hit: &dyn Fn(&Delivery, &jiff::ZonedDateTime) -> bool| {
        let mut posts: BTreeMap<usize, (&jiff::ZonedDateTime, Vec<&str>)> = BTreeMap::new();
        for (d, z) in timed.iter().filter(|(d, z)| hit(d, z)) {
            posts
                .entry(d.post)
                .or_insert((z, Vec::new()))
                .1
                .push(&d.channel);
        }
        posts
    };

    if let Some(q) = &policy.quiet_hours {
        if let (Some(sev), Ok(from), Ok(to)) = (
            severity(q.severity, Level::Warning),
            q.from.parse::<Time>(),
            q.to.parse::<Time>(),
        ) {
            let quiet = |_: &Delivery, z: &jiff::ZonedDateTime| {
                let t = z.time();
                if from <= to {
                    t >= from && t < to
                } else {
                    t >= from || t < to
                }
            };
            for (post, (z, channels)) in by_post(&quiet) {
                let p = &ws.posts[post];
                out.push(
                    Diagnostic::new(
                        sev,
                        "P0508",
                        format!(
                            "{} is in quiet hours ({}–{}) on {}",
                            z.strftime("%H:%M"),
                            q.from,
                            q.to,
                            quoted_list(&channels)
                        ),
                    )
                    .at(p.file, p.doc(sources).value_span("/publish_at"))
                    .help("move it outside quiet hours, or change `policy.quiet_hours`"),
                );
            }
        }
    }

    if let Some(sev) = severity(policy.blackouts.severity, Level::Error) {
        for w in &policy.blackouts.windows {
            let (Ok(from), Ok(to)) = (w.from.parse::<Date>(), w.to.parse::<Date>()) else {
                continue;
            };
            let blocked = |d: &Delivery, z: &jiff::ZonedDateTime| {
                w.channels
                    .as_ref()
                    .is_none_or(|c| c.iter().any(|c| *c == *d.channel))
                    && z.date() >= from
                    && z.date() <= to
            };
            let why = w
                .reason
                .as_deref()
                .map(|r| format!(" ({r})"))
                .unwrap_or_default();
            for (post, (_, channels)) in by_post(&blocked) {
                let p = &ws.posts[post];
                out.push(
                    Diagnostic::new(
                        sev,
                        "P0509",
                        format!(
                            "scheduled in a blackout window {}..{}{why} on {}",
                            w.from,
                            w.to,
                            quoted_list(&channels)
                        ),
                    )
                    .at(p.file, p.doc(sources).value_span("/publish_at"))
                    .help("nothing may go out in a blackout window: move the post"),
                );
            }
        }
    }

    let spacing_sev = severity(policy.spacing.severity, Level::Warning);
    let min_gap = policy
        .spacing
        .min
        .as_deref()
        .and_then(parse_duration)
        .unwrap_or(SignedDuration::from_mins(30));
    let per_day_sev = severity(policy.max_per_day.severity, Level::Warning);
    let max_per_day = policy.max_per_day.max.unwrap_or(10);
    let mut per_day: std::collections::HashMap<(&str, Date), usize> =
        std::collections::HashMap::new();
    for (i, (d, z)) in timed.iter().enumerate() {
        if let (Some(sev), Some((prev, prev_z))) = (spacing_sev, i.checked_sub(1).map(|j| timed[j]))
        {
            let gap = z.timestamp().duration_since(prev_z.timestamp());
            if prev.channel == d.channel && prev.post != d.post && gap < min_gap {
                let (file, span) = at_span(d);
                out.push(
                    Diagnostic::new(
                        sev,
                        "P0510",
                        format!(
                            "only {} after `{}` on `{}` (policy: at least {})",
                            format_duration(gap),
                            prev.post_id,
                            d.channel,
                            format_duration(min_gap)
                        ),
                    )
                    .at(file, span)
                    .help("space the posts out, or change `policy.spacing.min`"),
                );
            }
        }
        let count = per_day.entry((&*d.channel, z.date())).or_default();
        *count += 1;
        if let (Some(sev), true) = (per_day_sev, *count == max_per_day + 1) {
            let (file, span) = at_span(d);
            out.push(
                Diagnostic::new(
                    sev,
                    "P0511",
                    format!(
                        "more than {max_per_day} posts on `{}` on {}",
                        d.channel,
                        z.date()
                    ),
                )
                .at(file, span)
                .help("move some posts to another day, or change `policy.max_per_day.max`"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_match_whole_words_only() {
        assert!(contains_word("a risk-free offer", "risk-free"));
        assert!(!contains_word("guaranteed", "guarantee"));
        assert!(contains_word("we guarantee it", "guarantee"));
    }

    #[test]
    fn utm_parameters_are_ignored_when_comparing_texts() {
        assert_eq!(
            strip_utm("see https://a.example/x?utm_source=x&utm_medium=social&ref=1 now"),
            strip_utm("see https://a.example/x?utm_source=bluesky&utm_medium=social&ref=1 now"),
        );
        assert_eq!(
            strip_utm("https://a.example/x?utm_source=x"),
            "https://a.example/x"
        );
    }
}
