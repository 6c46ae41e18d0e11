//! Cross-file references: channels, variants, duplicate ids, dates against campaigns.

use jiff::Timestamp;

use crate::diagnostic::{Diagnostic, Severity};
use crate::source::Sources;
use crate::workspace::{unknown_channel, Post, When, Workspace};
use crate::yaml::pointer_segment;

/// What one post refers to: its channels and variants, and its date against its campaign's.
/// Depends only on the post, smm.yaml and the campaign file.
pub(super) fn post(ws: &Workspace, post: &Post, sources: &Sources, out: &mut Vec<Diagnostic>) {
    let Some(settings) = &ws.settings else { return };
    let known: Vec<&str> = settings.channels.keys().map(String::as_str).collect();
    match &post.spec.channels {
        Some(channels) => {
            for (i, name) in channels.iter().enumerate() {
                if !settings.channels.contains_key(name) {
                    out.push(unknown_channel(
                        name,
                        &known,
                        post.file,
                        post.doc(sources).value_span(&format!("/channels/{i}")),
                    ));
                }
            }
        }
        None if settings.default_channels.is_empty() => out.push(
            Diagnostic::error(
                "E0209",
                "the post names no channels and smm.yaml has no `defaults.channels`",
            )
            .at(post.file, crate::source::Span::new(0, 0))
            .help(
                "add `channels: [...]` to the post, or `defaults: { channels: [...] }` to smm.yaml",
            ),
        ),
        None => {}
    }

    let targets: Vec<&str> = post
        .spec
        .channels
        .as_deref()
        .unwrap_or(&settings.default_channels)
        .iter()
        .map(String::as_str)
        .collect();
    for key in post.spec.variants.keys() {
        let pointer = format!("/variants/{}", pointer_segment(key));
        let as_platform = smm_text::Platform::parse(key);
        let used = match as_platform {
            Some(p) => targets
                .iter()
                .any(|c| settings.channels.get(*c).is_some_and(|ch| ch.platform == p)),
            None if settings.channels.contains_key(key) => targets.contains(&key.as_str()),
            None => {
                let mut names: Vec<&str> =
                    smm_text::Platform::ALL.iter().map(|p| p.as_str()).collect();
                names.extend(known.iter().copied());
                let d = Diagnostic::error(
                    "E0206",
                    format!("variant `{key}` is neither a platform nor a channel"),
                )
                .at(post.file, post.doc(sources).key_span(&pointer))
                .label("unknown variant");
                out.push(match crate::suggest::closest(key, names.iter().copied()) {
                    Some(s) => d.help(format!("did you mean `{s}`?")),
                    None => d.help(format!(
                        "use a platform ({}) or a channel name from smm.yaml",
                        smm_text::Platform::ALL.map(|p| p.as_str()).join(", ")
                    )),
                });
                continue;
            }
        };
        // With an unknown default channel left out, the variant may be for that channel.
        let defaults_broken = post.spec.channels.is_none() && settings.dropped_default_channels;
        if !used && !defaults_broken {
            out.push(
                Diagnostic::new(
                    Severity::Warning,
                    "W0207",
                    format!("variant `{key}` is never used: the post does not go to it"),
                )
                .at(post.file, post.doc(sources).key_span(&pointer))
                .help("add the channel to `channels:` or remove the variant"),
            );
        }
    }

    if let When::At(at) = &post.when {
        if let Some(campaign) = post.campaign.as_ref().and_then(|c| ws.campaigns.get(c)) {
            let date = at.date();
            let starts = campaign
                .spec
                .starts
                .as_deref()
                .and_then(|d| d.parse::<jiff::civil::Date>().ok());
            let ends = campaign
                .spec
                .ends
                .as_deref()
                .and_then(|d| d.parse::<jiff::civil::Date>().ok());
            // Reversed dates are reported at the campaign (E0305); every post would be outside.
            let reversed = matches!((starts, ends), (Some(s), Some(e)) if e < s);
            if !reversed && (starts.is_some_and(|s| date < s) || ends.is_some_and(|e| date > e)) {
                out.push(
                    Diagnostic::new(Severity::Warning, "W0306", format!("the post is scheduled outside its campaign ({} to {})",
                        campaign.spec.starts.as_deref().unwrap_or("…"), campaign.spec.ends.as_deref().unwrap_or("…")))
                        .at(post.file, post.doc(sources).value_span("/publish_at"))
                        .help(format!("move it into the campaign's dates or extend them in campaigns/{}/campaign.yaml", campaign.slug)),
                );
            }
        }
    }
}

/// Across posts and against the clock: ids used twice, and times already past (`now`) for
/// posts not in `published`.
pub(super) fn across_posts(
    ws: &Workspace,
    sources: &Sources,
    now: Timestamp,
    published: &std::collections::BTreeSet<String>,
    out: &mut Vec<Diagnostic>,
) {
    let mut ids: std::collections::HashMap<&str, &Post> =
        std::collections::HashMap::with_capacity(ws.posts.len());
    for post in &ws.posts {
        if let Some(first) = ids.get(post.id.as_str()) {
            let where_ = if post.explicit_id {
                post.doc(sources).value_span("/id")
            } else {
                crate::source::Span::new(0, 0)
            };
            out.push(
                Diagnostic::error("E0203", format!("duplicate post id `{}`, also used by {}", post.id, sources.path(first.file).display()))
                    .at(post.file, where_)
                    .help("give each post its own `id:`; ids identify posts in the state, so they must be unique"),
            );
        } else {
            ids.insert(&post.id, post);
        }

        if let When::At(at) = &post.when {
            if at.timestamp() < now && !published.contains(&post.id) {
                out.push(
                    Diagnostic::new(Severity::Warning, "W0303", format!("`publish_at` {} is in the past", at.strftime("%Y-%m-%d %H:%M %Z")))
                        .at(post.file, post.doc(sources).value_span("/publish_at"))
                        .help("unless it was already published, move it to a future time: apply never publishes late beyond the grace window"),
                );
            }
        }
    }
}
