//! Media attached to deliveries: the file exists, and the platform takes its count, format and size.

use std::collections::BTreeMap;

use crate::diagnostic::Diagnostic;
use crate::render::Delivery;
use crate::source::{FileId, Sources, Span};
use crate::workspace::{Level, Workspace};

pub(super) fn check(
    ws: &Workspace,
    deliveries: &[Delivery],
    sources: &Sources,
    out: &mut Vec<Diagnostic>,
) {
    let alt_severity = ws
        .settings
        .as_ref()
        .and_then(|s| super::severity(s.policy.alt_text.severity, Level::Error));
    // A refused format is reported once per file reference, naming every platform that refuses it.
    let mut refused: BTreeMap<(FileId, Span), Refused> = BTreeMap::new();
    // Many posts share a picture: look each file up once. `None`: missing or not a file.
    let mut sizes: std::collections::HashMap<String, Option<u64>> =
        std::collections::HashMap::new();
    for d in deliveries.iter().filter(|d| d.with_media) {
        let post = &ws.posts[d.post];
        let rules = smm_text::media_rules(d.platform);
        // Decoded for this pass only: kept, a third of the deliveries' parts stay in memory.
        d.parts.with(|parts| for part in parts {
            if part.media.len() > rules.max_items {
                out.push(
                    Diagnostic::error(
                        "E0502",
                        format!(
                            "{} takes at most {} media per post; this part has {}",
                            d.platform.as_str(),
                            rules.max_items,
                            part.media.len()
                        ),
                    )
                    .at(
                        post.file,
                        post.doc(sources)
                            .value_span(&format!("{}/{}", part.media_pointer, rules.max_items)),
                    )
                    .label(format!(
                        "{} too many from here",
                        part.media.len() - rules.max_items
                    ))
                    .help(format!(
                        "move some media to a thread part, or give `{}` a variant with fewer",
                        d.platform.as_str()
                    )),
                );
            }
            for (i, media) in part.media.iter().enumerate() {
                // Only a diagnostic needs the position (a cached post parses its file for it).
                let span = || {
                    post.doc(sources)
                        .value_span(&format!("{}/{i}/file", part.media_pointer))
                };
                let size = match sizes.get(media.file.as_str()) {
                    Some(size) => *size,
                    None => {
                        let size = std::fs::metadata(ws.root.join(&media.file))
                            .ok()
                            .filter(|m| m.is_file())
                            .map(|m| m.len());
                        sizes.insert(media.file.clone(), size);
                        size
                    }
                };
                let size = match size {
                    Some(size) => size,
                    None => {
                        out.push(
                            Diagnostic::error(
                                "E0204",
                                format!("media file `{}` does not exist", media.file),
                            )
                            .at(post.file, span())
                            .label("not found")
                            .help("paths are relative to the workspace root, e.g. media/cup.jpg"),
                        );
                        continue;
                    }
                };
                let ext = media
                    .file
                    .rsplit_once('.')
                    .map(|(_, e)| e.to_ascii_lowercase())
                    .unwrap_or_default();
                let is_image = rules.image_formats.contains(&ext.as_str());
                let is_video = rules.video_formats.contains(&ext.as_str());
                if !is_image && !is_video {
                    let accepted = rules
                        .image_formats
                        .iter()
                        .chain(rules.video_formats)
                        .copied();
                    let entry = refused
                        .entry((post.file, span()))
                        .or_insert_with(|| Refused {
                            ext: ext.clone(),
                            platforms: Vec::new(),
                            accepted: accepted.clone().collect(),
                        });
                    if !entry.platforms.contains(&d.platform.as_str()) {
                        entry.platforms.push(d.platform.as_str());
                    }
                    // Suggest only formats every platform of this post takes.
                    entry.accepted.retain(|f| accepted.clone().any(|a| a == *f));
                } else if let Some(why) = not_uploadable(d.platform, is_video) {
                    out.push(
                        Diagnostic::error(
                            "E0507",
                            format!("smm cannot upload `{}` to {}: {why}", media.file, d.platform.as_str()),
                        )
                        .at(post.file, span())
                        .help(format!(
                            "give `{}` a variant without it (`variants: {{ {}: {{ media: [] }} }}`), or leave the channel out of this post",
                            d.platform.as_str(),
                            d.platform.as_str()
                        )),
                    );
                } else {
                    let max = if is_image {
                        rules.max_image_bytes
                    } else {
                        rules.max_video_bytes
                    };
                    if size > max {
                        out.push(
                            Diagnostic::error("E0504", format!("`{}` is {} bytes; {} takes at most {max}", media.file, size, d.platform.as_str()))
                                .at(post.file, span())
                                .help("compress or resize the file, or give this platform a variant with a smaller one"),
                        );
                    }
                }
                let alt = media.alt.as_deref().map(str::trim).unwrap_or_default();
                if rules.alt_text {
                    if let (Some(sev), true) = (alt_severity, alt.is_empty()) {
                        out.push(
                            Diagnostic::new(
                                sev,
                                "P0502",
                                format!("`{}` has no alt text", media.file),
                            )
                            .at(post.file, span())
                            .help(
                                "add `alt:` describing the image for people using screen readers",
                            ),
                        );
                    }
                    let alt_len = alt.chars().count();
                    if alt_len > rules.max_alt_chars {
                        out.push(
                            Diagnostic::error(
                                "E0506",
                                format!(
                                    "alt text is {alt_len} characters; {} takes at most {}",
                                    d.platform.as_str(),
                                    rules.max_alt_chars
                                ),
                            )
                            .at(
                                post.file,
                                post.doc(sources)
                                    .value_span(&format!("{}/{i}/alt", part.media_pointer)),
                            )
                            .help("shorten the description"),
                        );
                    }
                }
            }
        });
    }
    for (
        (file, span),
        Refused {
            ext,
            platforms,
            accepted,
        },
    ) in refused
    {
        let help = if accepted.is_empty() {
            "give each platform a variant with a format it takes".to_string()
        } else {
            format!("use one of: {}", accepted.join(", "))
        };
        out.push(
            Diagnostic::error(
                "E0503",
                format!(
                    "`.{ext}` files are not accepted on {}",
                    platforms.join(", ")
                ),
            )
            .at(file, span)
            .help(help),
        );
    }
}

/// A media file in a format some platforms of its post do not take.
struct Refused {
    ext: String,
    platforms: Vec<&'static str>,
    /// The formats every one of those platforms takes.
    accepted: Vec<&'static str>,
}

/// Media a platform takes but smm's adapter cannot upload yet: refused here rather than at
/// publishing time.
fn not_uploadable(platform: smm_text::Platform, is_video: bool) -> Option<&'static str> {
    match platform {
        smm_text::Platform::X if is_video => {
            Some("videos need X's chunked upload, which smm does not do yet (images work)")
        }
        smm_text::Platform::Slack => Some("file uploads to Slack are not supported yet"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::not_uploadable;
    use smm_text::Platform;

    #[test]
    fn only_what_the_adapters_cannot_upload_is_refused() {
        assert!(not_uploadable(Platform::X, true).is_some());
        assert!(not_uploadable(Platform::X, false).is_none());
        assert!(not_uploadable(Platform::Slack, false).is_some());
        for p in [
            Platform::Bluesky,
            Platform::Mastodon,
            Platform::Discord,
            Platform::Telegram,
        ] {
            assert!(not_uploadable(p, false).is_none() && not_uploadable(p, true).is_none());
        }
    }
}
