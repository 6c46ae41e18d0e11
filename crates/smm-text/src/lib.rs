//! Per-platform text counting for smm, matching each platform's own counter.
//!
//! - X: a port of twitter-text 3.1.0 `parseTweet` (config v3) and entity extraction.
//! - Bluesky: a port of @atproto/api `RichText` (graphemes, bytes, facet detection).
//! - Mastodon: `StatusLengthValidator` (graphemes, URL = 23, `@user@domain` = `@user`).
//! - Telegram: UTF-16 code units. LinkedIn, Threads, Discord, Slack: characters.
//!
//! X and Bluesky are checked against the npm reference libraries by
//! `tests/reference.rs` (see `reference/`).

// The full URL regexes are kept for the cross-check in tests.rs.
#[cfg_attr(not(test), allow(dead_code))]
mod generated;
mod urlscan;

pub mod bluesky;
pub mod mastodon;
pub mod telegram;
pub mod utf16;
pub mod x;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Platform {
    Bluesky,
    Mastodon,
    X,
    LinkedIn,
    Threads,
    Discord,
    Telegram,
    Slack,
}

impl Platform {
    pub const ALL: [Platform; 8] = [
        Platform::Bluesky,
        Platform::Mastodon,
        Platform::X,
        Platform::LinkedIn,
        Platform::Threads,
        Platform::Discord,
        Platform::Telegram,
        Platform::Slack,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Bluesky => "bluesky",
            Platform::Mastodon => "mastodon",
            Platform::X => "x",
            Platform::LinkedIn => "linkedin",
            Platform::Threads => "threads",
            Platform::Discord => "discord",
            Platform::Telegram => "telegram",
            Platform::Slack => "slack",
        }
    }

    pub fn parse(s: &str) -> Option<Platform> {
        Platform::ALL.into_iter().find(|p| p.as_str() == s)
    }
}

/// One counted constraint, e.g. 312 of 300 graphemes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Measure {
    pub length: usize,
    pub limit: usize,
    /// e.g. "graphemes", "weighted characters", "UTF-8 bytes", "UTF-16 code units", "characters".
    pub unit: &'static str,
    /// One line a user reads, explaining how the platform counts.
    pub rule: &'static str,
}

impl Measure {
    pub fn fits(&self) -> bool {
        self.length <= self.limit
    }
}

#[derive(Clone, Copy, Debug, Default)]
pub struct CountOptions {
    /// Per-account override of the primary limit (X Premium, a Mastodon instance's setting).
    pub limit: Option<usize>,
    /// The text is a media caption (Telegram allows 1024 instead of 4096).
    pub caption: bool,
}

pub const LINKEDIN_LIMIT: usize = 3000;
pub const THREADS_LIMIT: usize = 500;
pub const DISCORD_LIMIT: usize = 2000;
/// Slack truncates `text` beyond 40,000 characters (chat.postMessage docs);
/// smm treats that as a hard limit rather than let a post be cut.
pub const SLACK_LIMIT: usize = 40_000;

fn chars(text: &str) -> usize {
    text.chars().count()
}

/// Every constraint the platform applies to one post's text; the first is the
/// primary one shown to users.
pub fn measure(platform: Platform, text: &str, opts: CountOptions) -> Vec<Measure> {
    let primary = |default: usize| opts.limit.unwrap_or(default);
    match platform {
        Platform::Bluesky => vec![
            Measure {
                length: bluesky::grapheme_length(text),
                limit: primary(bluesky::MAX_GRAPHEMES),
                unit: "graphemes",
                rule: "Bluesky post length in grapheme clusters (URLs count in full)",
            },
            Measure {
                length: bluesky::byte_length(text),
                limit: bluesky::MAX_BYTES,
                unit: "UTF-8 bytes",
                rule: "Bluesky post record limit in UTF-8 bytes",
            },
        ],
        Platform::Mastodon => vec![mastodon_measure(mastodon::length(text), opts)],
        Platform::X => vec![x_measure(x::parse_tweet(text).weighted_length, opts)],
        Platform::LinkedIn => vec![Measure {
            length: chars(text),
            limit: primary(LINKEDIN_LIMIT),
            unit: "characters",
            rule: "LinkedIn commentary length in characters",
        }],
        Platform::Threads => vec![Measure {
            length: chars(text),
            limit: primary(THREADS_LIMIT),
            unit: "characters",
            rule: "Threads post length in characters",
        }],
        Platform::Discord => vec![Measure {
            length: chars(text),
            limit: primary(DISCORD_LIMIT),
            unit: "characters",
            rule: "Discord message content length in characters",
        }],
        Platform::Telegram => {
            let (limit, rule) = if opts.caption {
                (telegram::CAPTION_LIMIT, "Telegram media caption length in UTF-16 code units (after entity parsing)")
            } else {
                (telegram::MESSAGE_LIMIT, "Telegram message length in UTF-16 code units (after entity parsing)")
            };
            vec![Measure {
                length: telegram::utf16_len(text),
                limit: primary(limit),
                unit: "UTF-16 code units",
                rule,
            }]
        }
        Platform::Slack => vec![Measure {
            length: chars(text),
            limit: primary(SLACK_LIMIT),
            unit: "characters",
            rule: "Slack message text: longer than 40,000 characters is truncated, so treated as the limit",
        }],
    }
}

/// Byte ranges (UTF-8, start inclusive, end exclusive) of things in text as
/// the platform detects them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Span {
    pub start: usize,
    pub end: usize,
    pub kind: SpanKind,
    /// URL as written (Bluesky: the facet's URI, `https://` added to bare
    /// domains) / tag without '#' (cashtags keep their '$') / handle without '@'.
    pub value: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpanKind {
    Link,
    Mention,
    Hashtag,
}

fn span_of(e: x::XEntity) -> Span {
    let (kind, value) = match e.kind {
        x::XEntityKind::Url(u) => (SpanKind::Link, u),
        x::XEntityKind::Mention {
            screen_name,
            list_slug,
        } => (SpanKind::Mention, screen_name + &list_slug),
        x::XEntityKind::Hashtag(h) => (SpanKind::Hashtag, h),
        x::XEntityKind::Cashtag(c) => (SpanKind::Hashtag, format!("${c}")),
    };
    Span {
        start: e.start,
        end: e.end,
        kind,
        value,
    }
}

fn x_measure(weighted_length: usize, opts: CountOptions) -> Measure {
    Measure {
        length: weighted_length,
        limit: opts.limit.unwrap_or(x::MAX_WEIGHTED_LENGTH),
        unit: "weighted characters",
        rule: "X weighted length (twitter-text v3: URLs count 23, CJK and emoji 2)",
    }
}

fn mastodon_measure(length: usize, opts: CountOptions) -> Measure {
    Measure {
        length,
        limit: opts.limit.unwrap_or(mastodon::DEFAULT_LIMIT),
        unit: "characters",
        rule:
            "Mastodon length in grapheme clusters: each URL counts 23, @user@domain counts as @user",
    }
}

/// `measure` and `entities` together, sharing the work where a platform's rules allow
/// (Mastodon finds URLs and mentions once for both, X its URLs).
pub fn analyze(platform: Platform, text: &str, opts: CountOptions) -> (Vec<Measure>, Vec<Span>) {
    match platform {
        Platform::Mastodon => {
            let (length, spans) = mastodon::length_and_spans(text);
            (
                vec![mastodon_measure(length, opts)],
                spans.into_iter().map(span_of).collect(),
            )
        }
        Platform::X => {
            let (parse, entities) = x::parse_and_extract(text);
            (
                vec![x_measure(parse.weighted_length, opts)],
                entities.into_iter().map(span_of).collect(),
            )
        }
        _ => (measure(platform, text, opts), entities(platform, text)),
    }
}

/// Links, mentions and hashtags as the platform detects them: twitter-text for
/// X (and, as the closest public rules, LinkedIn, Threads, Discord, Telegram
/// and Slack), RichText facets for Bluesky, Mastodon's own URL and mention rules.
pub fn entities(platform: Platform, text: &str) -> Vec<Span> {
    match platform {
        Platform::Bluesky => bluesky::detect_facets(text)
            .into_iter()
            .map(|f| {
                let (kind, value) = match f.feature {
                    bluesky::FacetFeature::Link { uri } => (SpanKind::Link, uri),
                    bluesky::FacetFeature::Mention { handle } => (SpanKind::Mention, handle),
                    bluesky::FacetFeature::Tag { tag } => (SpanKind::Hashtag, tag),
                };
                Span {
                    start: f.byte_start,
                    end: f.byte_end,
                    kind,
                    value,
                }
            })
            .collect(),
        Platform::Mastodon => mastodon::spans(text).into_iter().map(span_of).collect(),
        _ => x::extract_entities(text).into_iter().map(span_of).collect(),
    }
}

pub struct MediaRules {
    pub max_items: usize,
    pub max_image_bytes: u64,
    pub max_video_bytes: u64,
    /// Extensions, lowercase.
    pub image_formats: &'static [&'static str],
    pub video_formats: &'static [&'static str],
    /// The platform has an alt text field.
    pub alt_text: bool,
    pub max_alt_chars: usize,
}

const MB: u64 = 1024 * 1024;

/// Media limits per post. Where a platform's limits vary (Mastodon instances)
/// these are the defaults; see /work/shared/notes/platform-apis.md.
pub fn media_rules(platform: Platform) -> MediaRules {
    const IMG: &[&str] = &["jpg", "jpeg", "png", "webp", "gif"];
    match platform {
        // app.bsky.embed.images: 4 × 2,000,000 B; or one mp4 (embed.video).
        Platform::Bluesky => MediaRules {
            max_items: 4,
            max_image_bytes: 2_000_000,
            max_video_bytes: 100 * MB,
            image_formats: IMG,
            video_formats: &["mp4"],
            alt_text: true,
            max_alt_chars: 2000,
        },
        Platform::Mastodon => MediaRules {
            max_items: 4,
            max_image_bytes: 16 * MB,
            max_video_bytes: 99 * MB,
            image_formats: &["jpg", "jpeg", "png", "webp", "gif", "heic", "heif", "avif"],
            video_formats: &["mp4", "m4v", "mov", "webm"],
            alt_text: true,
            max_alt_chars: 1500,
        },
        Platform::X => MediaRules {
            max_items: 4,
            max_image_bytes: 5 * MB,
            max_video_bytes: 512 * MB,
            image_formats: IMG,
            video_formats: &["mp4", "mov"],
            alt_text: true,
            max_alt_chars: 1000,
        },
        Platform::LinkedIn => MediaRules {
            max_items: 20,
            max_image_bytes: 36_152_320,
            max_video_bytes: 5 * 1024 * MB,
            image_formats: &["jpg", "jpeg", "png", "gif"],
            video_formats: &["mp4"],
            alt_text: true,
            max_alt_chars: 4086,
        },
        Platform::Threads => MediaRules {
            max_items: 20,
            max_image_bytes: 8 * MB,
            max_video_bytes: 1024 * MB,
            image_formats: &["jpg", "jpeg", "png"],
            video_formats: &["mp4", "mov"],
            alt_text: true,
            max_alt_chars: 1000,
        },
        // Attachment `description` is the alt text.
        Platform::Discord => MediaRules {
            max_items: 10,
            max_image_bytes: 10 * MB,
            max_video_bytes: 10 * MB,
            image_formats: IMG,
            video_formats: &["mp4", "mov", "webm"],
            alt_text: true,
            max_alt_chars: 1024,
        },
        // Bot API sendPhoto ≤ 10 MB, other uploads ≤ 50 MB; no alt text.
        Platform::Telegram => MediaRules {
            max_items: 10,
            max_image_bytes: 10 * MB,
            max_video_bytes: 50 * MB,
            image_formats: &["jpg", "jpeg", "png", "webp", "gif"],
            video_formats: &["mp4"],
            alt_text: false,
            max_alt_chars: 0,
        },
        // Slack file uploads have no alt text field (only a title); 1 GB per file.
        Platform::Slack => MediaRules {
            max_items: 10,
            max_image_bytes: 1024 * MB,
            max_video_bytes: 1024 * MB,
            image_formats: IMG,
            video_formats: &["mp4", "mov", "webm"],
            alt_text: false,
            max_alt_chars: 0,
        },
    }
}

#[cfg(test)]
mod tests;
