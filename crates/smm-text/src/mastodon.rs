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

use crate::generated as g;
use crate::urlscan::{self, Flavor};
use crate::x::{remove_overlapping, XEntity, XEntityKind};

/// Default `configuration.statuses.max_characters`.
pub const DEFAULT_LIMIT: usize = 500;
/// `configuration.statuses.characters_reserved_per_url`.
pub const URL_LENGTH: usize = 23;

const UCHARS: &str = r"\x{A0}-\x{D7FF}\x{F900}-\x{FDCF}\x{FDF0}-\x{FFEF}\x{10000}-\x{1FFFD}\x{20000}-\x{2FFFD}\x{30000}-\x{3FFFD}\x{40000}-\x{4FFFD}\x{50000}-\x{5FFFD}\x{60000}-\x{6FFFD}\x{70000}-\x{7FFFD}\x{80000}-\x{8FFFD}\x{90000}-\x{9FFFD}\x{A0000}-\x{AFFFD}\x{B0000}-\x{BFFFD}\x{C0000}-\x{CFFFD}\x{D0000}-\x{DFFFD}\x{E1000}-\x{EFFFD}\x{E000}-\x{F8FF}\x{F0000}-\x{FFFFD}\x{100000}-\x{10FFFD}";

/// The pieces of Mastodon's URL regex after the domain (no lookaround).
fn url_parts() -> (String, String) {
    let general = r"[^\p{White_Space}<>()?]";
    let parens = format!(r"\((?:{general}+|(?:{general}*\({general}+\){general}*))\)");
    let ending = format!(r#"(?:[^\p{{White_Space}}()?!*"'「」<>;:=,.$%\[\]~&|@]|(?:{parens}))"#);
    let path = format!(r"(?:(?:{general}*(?:{parens}{general}*)*{ending})|(?:{general}+/))");
    let query = format!(r"[a-zA-Z0-9!?*'();:&=+$/%#\[\]\-_.,~|@\^{UCHARS}]");
    let query_end = format!(r"[a-zA-Z0-9_&=#/\-{UCHARS}]");
    (format!("/{path}*"), format!(r"\?{query}*{query_end}"))
}

const SCHEMES: &str = "(?i:https?|dat|dweb|ipfs|ipns|ssb|gopher|gemini)://";

/// Mastodon's URL regex as the scanner in `urlscan` runs it: twitter-text's
/// preceding characters and domain, Mastodon's schemes, path and query.
fn url_flavor() -> Option<&'static Flavor> {
    static CELL: OnceLock<Option<Flavor>> = OnceLock::new();
    CELL.get_or_init(|| {
        let (path, query) = url_parts();
        Flavor::new(&path, &query, Some(SCHEMES))
    })
    .as_ref()
}

/// `MENTION_RE` without its lookbehind `(?<![=/[:word:]])`, checked in code.
fn mention_re() -> Option<&'static regex::Regex> {
    static CELL: OnceLock<Option<regex::Regex>> = OnceLock::new();
    CELL.get_or_init(|| {
        regex::Regex::new(r"(?i)@(([a-z0-9_]+(?:[.-]+[a-z0-9_]+)*)(?:@\w+(?:[.-]+\w+)*)?)").ok()
    })
    .as_ref()
}

fn mention_lookbehind_re() -> Option<&'static regex::Regex> {
    static CELL: OnceLock<Option<regex::Regex>> = OnceLock::new();
    CELL.get_or_init(|| regex::Regex::new(r"^[=/\w]$").ok())
        .as_ref()
}

fn end_mention_re() -> Option<&'static regex::Regex> {
    static CELL: OnceLock<Option<regex::Regex>> = OnceLock::new();
    CELL.get_or_init(|| regex::Regex::new(g::TT_END_MENTION_MATCH).ok())
        .as_ref()
}

/// Makes sure every regex compiles (used by tests).
pub(crate) fn regexes_compile() -> bool {
    url_flavor().is_some()
        && mention_re().is_some()
        && mention_lookbehind_re().is_some()
        && end_mention_re().is_some()
}

/// Entities Mastodon gives a length concession: URLs with a scheme and mentions.
fn entities(text: &str) -> Vec<XEntity> {
    let mut out = Vec::new();
    if let Some(flavor) = url_flavor() {
        for hit in urlscan::scan(text, flavor) {
            // Scheme-less matches still consume text but are not URLs here.
            if hit.domain_start == hit.url_start {
                continue;
            }
            out.push(XEntity {
                start: hit.url_start,
                end: hit.url_end,
                kind: XEntityKind::Url(text[hit.url_start..hit.url_end].to_string()),
            });
        }
    }
    if text.contains('@') {
        if let (Some(re), Some(behind)) = (mention_re(), mention_lookbehind_re()) {
            let mut pos = 0;
            while let Some(caps) = text.get(pos..).and_then(|_| re.captures_at(text, pos)) {
                let (Some(whole), Some(name)) = (caps.get(0), caps.get(1)) else {
                    break;
                };
                let prev = text[..whole.start()]
                    .chars()
                    .next_back()
                    .map_or(0, char::len_utf8);
                if behind.is_match(&text[whole.start() - prev..whole.start()]) {
                    // The lookbehind fails here: the regex moves on one character ('@').
                    pos = whole.start() + 1;
                    continue;
                }
                pos = whole.end();
                let after = &text[whole.end()..];
                if end_mention_re().is_some_and(|r| r.is_match(after)) {
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
    countable_from(text, &entities(text))
}

/// `countable_text` with the URLs and mentions already found.
fn countable_from(text: &str, found: &[XEntity]) -> String {
    if text.chars().all(char::is_whitespace) {
        return String::new();
    }
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for e in found {
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
    crate::bluesky::grapheme_length(&combined)
}

/// Links, mentions and hashtags as Mastodon's formatter detects them.
pub fn spans(text: &str) -> Vec<XEntity> {
    with_hashtags(text, entities(text))
}

/// The length (without a content warning) and the spans, finding URLs and mentions once.
pub fn length_and_spans(text: &str) -> (usize, Vec<XEntity>) {
    let found = entities(text);
    let length = crate::bluesky::grapheme_length(&countable_from(text, &found));
    (length, with_hashtags(text, found))
}

fn with_hashtags(text: &str, mut all: Vec<XEntity>) -> Vec<XEntity> {
    if !text.contains(['#', '＃']) {
        return all;
    }
    all.extend(
        crate::x::extract_entities(text)
            .into_iter()
            .filter(|e| matches!(e.kind, XEntityKind::Hashtag(_))),
    );
    remove_overlapping(&mut all);
    all
}

/// The previous implementation (fancy-regex, whole pattern), kept to
/// cross-check the scanner in tests.
#[cfg(test)]
pub(crate) fn entities_fancy(text: &str) -> Vec<XEntity> {
    use fancy_regex::Regex;
    let (path, query) = url_parts();
    let src = format!(
        r"({pre})((({SCHEMES}))?({domain})(?::([0-9]+))?({path})?({query})?)",
        pre = g::TT_VALID_URL_PRECEDING_CHARS,
        domain = g::TT_VALID_DOMAIN,
    );
    let url_re = Regex::new(&src).expect("url regex");
    let mention_re =
        Regex::new(r"(?i)(?<![=/\w])@(([a-z0-9_]+(?:[.-]+[a-z0-9_]+)*)(?:@\w+(?:[.-]+\w+)*)?)")
            .expect("mention");
    let end_re = Regex::new(g::TT_END_MENTION_MATCH).expect("end mention");
    let mut out = Vec::new();
    for caps in url_re.captures_iter(text) {
        let Ok(caps) = caps else { break };
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
    for caps in mention_re.captures_iter(text) {
        let Ok(caps) = caps else { break };
        let (Some(whole), Some(name)) = (caps.get(0), caps.get(1)) else {
            continue;
        };
        if end_re.is_match(&text[whole.end()..]).unwrap_or(false) {
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
    remove_overlapping(&mut out);
    out
}
