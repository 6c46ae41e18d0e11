//! Mastodon: `StatusLengthValidator` (Mastodon 4.x).
//!
//! ```text
//! length = grapheme clusters of (spoiler_text + countable_text(text))
//! countable_text: blank text counts as ""; every URL found by the extractor
//!   becomes 23 'x'; every mention `@user@domain` becomes `@user`.
//! ```
//!
//! URL regex (Mastodon's `config/initializers/twitter_regex.rb` override of
//! twitter-text's `valid_url`), with `extract_url_without_protocol: false`, so
//! only URLs with a scheme count (a scheme-less match is skipped, but still
//! consumes its text, as in Ruby's `scan`):
//!
//! ```text
//! (valid_url_preceding_chars)
//! ((?:https?|dat|dweb|ipfs|ipns|ssb|gopher|gemini)://)?    scheme, case-insensitive
//! (valid_domain)                                           twitter-text 3.1 domains + TLD list
//! (?::([0-9]+))?
//! (/valid_url_path*)?      path chars: anything but White_Space < > ( ) ?,
//!                          not ending in ! * " ' 「 」 ; : = , . $ % [ ] ~ & | @,
//!                          two levels of balanced parentheses
//! (\?query_chars*query_ending_char)?
//! ```
//!
//! Mentions use `Account::MENTION_RE`:
//! `(?<![=/[:word:]])@(([a-z0-9_]+([.-]+[a-z0-9_]+)*)(?:@[[:word:]]+([.-]+[[:word:]]+)*)?)`
//! (case-insensitive), rejected when followed by `@`, a Latin accent or `://`.
//!
//! Exactness: the counting rule is Mastodon's own, but there is no JavaScript
//! reference for it (it is Ruby), so it is covered by hand-computed unit tests
//! rather than the differential test. Ruby's `[[:word:]]` is taken as Rust's
//! Unicode `\w`, and grapheme clusters follow `unicode-segmentation` (Ruby's
//! Onigmo version may lag a Unicode version behind).

use std::sync::OnceLock;

use fancy_regex::Regex;
use unicode_segmentation::UnicodeSegmentation;

use crate::generated as g;
use crate::x::{remove_overlapping, XEntity, XEntityKind};

/// Default `configuration.statuses.max_characters`.
pub const DEFAULT_LIMIT: usize = 500;
/// `configuration.statuses.characters_reserved_per_url`.
pub const URL_LENGTH: usize = 23;

const UCHARS: &str = r"\x{A0}-\x{D7FF}\x{F900}-\x{FDCF}\x{FDF0}-\x{FFEF}\x{10000}-\x{1FFFD}\x{20000}-\x{2FFFD}\x{30000}-\x{3FFFD}\x{40000}-\x{4FFFD}\x{50000}-\x{5FFFD}\x{60000}-\x{6FFFD}\x{70000}-\x{7FFFD}\x{80000}-\x{8FFFD}\x{90000}-\x{9FFFD}\x{A0000}-\x{AFFFD}\x{B0000}-\x{BFFFD}\x{C0000}-\x{CFFFD}\x{D0000}-\x{DFFFD}\x{E1000}-\x{EFFFD}\x{E000}-\x{F8FF}\x{F0000}-\x{FFFFD}\x{100000}-\x{10FFFD}";

fn url_re() -> Option<&'static Regex> {
    static CELL: OnceLock<Option<Regex>> = OnceLock::new();
    CELL.get_or_init(|| {
        let general = r"[^\p{White_Space}<>()?]";
        let parens = format!(r"\((?:{general}+|(?:{general}*\({general}+\){general}*))\)");
        let ending = format!(r#"(?:[^\p{{White_Space}}()?!*"'「」<>;:=,.$%\[\]~&|@]|(?:{parens}))"#);
        let path = format!(r"(?:(?:{general}*(?:{parens}{general}*)*{ending})|(?:{general}+/))");
        let query = format!(r"[a-zA-Z0-9!?*'();:&=+$/%#\[\]\-_.,~|@\^{UCHARS}]");
        let query_end = format!(r"[a-zA-Z0-9_&=#/\-{UCHARS}]");
        let src = format!(
            r"({pre})(((?i:https?|dat|dweb|ipfs|ipns|ssb|gopher|gemini)://)?({domain})(?::([0-9]+))?(/{path}*)?(\?{query}*{query_end})?)",
            pre = g::TT_VALID_URL_PRECEDING_CHARS,
            domain = g::TT_VALID_DOMAIN,
        );
        Regex::new(&src).ok()
    })
    .as_ref()
}

fn mention_re() -> Option<&'static Regex> {
    static CELL: OnceLock<Option<Regex>> = OnceLock::new();
    CELL.get_or_init(|| {
        Regex::new(r"(?i)(?<![=/\w])@(([a-z0-9_]+(?:[.-]+[a-z0-9_]+)*)(?:@\w+(?:[.-]+\w+)*)?)").ok()
    })
    .as_ref()
}

fn end_mention_re() -> Option<&'static Regex> {
    static CELL: OnceLock<Option<Regex>> = OnceLock::new();
    CELL.get_or_init(|| Regex::new(g::TT_END_MENTION_MATCH).ok())
        .as_ref()
}

/// Entities Mastodon gives a length concession: URLs with a scheme and mentions.
fn entities(text: &str) -> Vec<XEntity> {
    let mut out = Vec::new();
    if let Some(re) = url_re() {
        for caps in re.captures_iter(text) {
            let Ok(caps) = caps else { break };
            // Scheme-less matches still consume text but are not URLs here.
            if caps.get(3).is_none() {
                continue;
            }
            if let Some(url) = caps.get(2) {
                out.push(XEntity {
                    start: url.start(),
                    end: url.end(),
                    kind: XEntityKind::Url(url.as_str().to_string()),
                });
            }
        }
    }
    if text.contains(['@', '＠']) {
        if let Some(re) = mention_re() {
            for caps in re.captures_iter(text) {
                let Ok(caps) = caps else { break };
                let (Some(whole), Some(name)) = (caps.get(0), caps.get(1)) else {
                    continue;
                };
                let after = &text[whole.end()..];
                if end_mention_re().is_some_and(|r| r.is_match(after).unwrap_or(false)) {
                    continue;
                }
                out.push(XEntity {
                    start: name.start() - 1,
                    end: name.end(),
                    kind: XEntityKind::Mention {
                        screen_name: name.as_str().to_string(),
                        list_slug: String::new(),
                    },
                });
            }
        }
    }
    remove_overlapping(&mut out);
    out
}

/// `StatusLengthValidator#countable_text`.
pub fn countable_text(text: &str) -> String {
    if text.chars().all(char::is_whitespace) {
        return String::new();
    }
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for e in entities(text) {
        out.push_str(&text[last..e.start]);
        match &e.kind {
            XEntityKind::Mention { screen_name, .. } => {
                out.push('@');
                out.push_str(screen_name.split('@').next().unwrap_or(""));
            }
            _ => out.extend(std::iter::repeat_n('x', URL_LENGTH)),
        }
        last = e.end;
    }
    out.push_str(&text[last..]);
    out
}

/// Status length as Mastodon counts it (without a content warning).
pub fn length(text: &str) -> usize {
    length_with_spoiler(text, "")
}

/// Status length including the content warning (`spoiler_text`).
pub fn length_with_spoiler(text: &str, spoiler_text: &str) -> usize {
    let combined = format!("{spoiler_text}{}", countable_text(text));
    combined.graphemes(true).count()
}

/// Links, mentions and hashtags as Mastodon's formatter detects them.
pub fn spans(text: &str) -> Vec<XEntity> {
    let mut all = entities(text);
    all.extend(
        crate::x::extract_entities(text)
            .into_iter()
            .filter(|e| matches!(e.kind, XEntityKind::Hashtag(_))),
    );
    remove_overlapping(&mut all);
    all
}
