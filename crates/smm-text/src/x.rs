//! X (Twitter): a port of twitter-text 3.1.0 (`parseTweet` with the v3 config
//! and `extractEntitiesWithIndices`).
//!
//! The regexes are twitter-text's own, translated mechanically from the npm
//! package by `reference/gen-tables.js` (see `generated.rs`); the control flow
//! around them follows the JavaScript line by line, including its quirks, so
//! that the differential test in `tests/reference.rs` agrees on every string.

use std::collections::HashMap;
use std::sync::OnceLock;

use fancy_regex::Regex;
use unicode_normalization::UnicodeNormalization;

use crate::generated as g;
use crate::utf16;

/// twitter-text config v3: the limit in weighted characters.
pub const MAX_WEIGHTED_LENGTH: usize = 280;
/// Every URL counts as a t.co link of this length.
pub const TRANSFORMED_URL_LENGTH: usize = 23;
const SCALE: usize = 100;
const DEFAULT_WEIGHT: usize = 200;
/// Code unit ranges that weigh 1 (100 / SCALE); everything else weighs 2.
const RANGES: [(u16, u16); 4] = [(0, 4351), (8192, 8205), (8208, 8223), (8242, 8247)];
const MAX_URL_LENGTH: usize = 4096;
const MAX_TCO_SLUG_LENGTH: usize = 40;

/// The result of twitter-text's `parseTweet` (v3 config).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct XParse {
    pub weighted_length: usize,
    pub valid: bool,
    /// `floor(weighted_length / 280 * 1000)`.
    pub permillage: u64,
    /// Inclusive UTF-16 range of the whole text, as twitter-text reports it.
    pub display_range: (i64, i64),
    /// Inclusive UTF-16 range of the part that fits, as twitter-text reports it
    /// (computed on the NFC text, then shifted by the normalisation length change).
    pub valid_range: (i64, i64),
}

/// One entity found by twitter-text, with UTF-8 byte offsets into the input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct XEntity {
    pub start: usize,
    pub end: usize,
    pub kind: XEntityKind,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum XEntityKind {
    Url(String),
    /// Screen name and list slug (`"/slug"` or empty).
    Mention {
        screen_name: String,
        list_slug: String,
    },
    Hashtag(String),
    Cashtag(String),
}

fn re(cell: &'static OnceLock<Option<Regex>>, src: &str) -> Option<&'static Regex> {
    // The patterns are generated constants; a failure to compile is a bug that
    // the test suite catches, so library code degrades to "no match".
    cell.get_or_init(|| Regex::new(src).ok()).as_ref()
}

macro_rules! regex {
    ($name:ident, $src:expr) => {
        fn $name() -> Option<&'static Regex> {
            static CELL: OnceLock<Option<Regex>> = OnceLock::new();
            re(&CELL, $src)
        }
    };
}

regex!(extract_url_re, g::TT_EXTRACT_URL);
regex!(valid_tco_url_re, g::TT_VALID_TCO_URL);
regex!(valid_ascii_domain_re, g::TT_VALID_ASCII_DOMAIN);
regex!(
    invalid_url_without_protocol_preceding_re,
    g::TT_INVALID_URL_WITHOUT_PROTOCOL_PRECEDING
);
regex!(valid_mention_re, g::TT_VALID_MENTION_OR_LIST);
regex!(end_mention_re, g::TT_END_MENTION_MATCH);
regex!(valid_hashtag_re, g::TT_VALID_HASHTAG);
regex!(end_hashtag_re, g::TT_END_HASHTAG_MATCH);
regex!(valid_cashtag_re, g::TT_VALID_CASHTAG);
regex!(twemoji_re, g::TWEMOJI);

/// Makes sure every generated regex compiles (used by tests).
pub fn regexes_compile() -> bool {
    [
        extract_url_re(),
        valid_tco_url_re(),
        valid_ascii_domain_re(),
        invalid_url_without_protocol_preceding_re(),
        valid_mention_re(),
        end_mention_re(),
        valid_hashtag_re(),
        end_hashtag_re(),
        valid_cashtag_re(),
        twemoji_re(),
    ]
    .iter()
    .all(Option::is_some)
}

fn is_match(re: Option<&Regex>, s: &str) -> bool {
    re.is_some_and(|r| r.is_match(s).unwrap_or(false))
}

/// A URL entity in UTF-16 terms, as twitter-text builds it.
struct UrlEnt {
    url: String,
    start: usize,
    end: usize,
}

/// `extractUrlsWithIndices(text)` with the default options (URLs without a
/// protocol are extracted). Indices are UTF-16.
fn extract_urls_utf16(text: &str) -> Vec<UrlEnt> {
    let mut urls = Vec::new();
    if !text.contains('.') {
        return urls;
    }
    let Some(re) = extract_url_re() else {
        return urls;
    };
    let idx = utf16::Index::new(text);
    let mut pos = 0;
    while pos <= text.len() {
        let Ok(Some(caps)) = re.captures_from_pos(text, pos) else {
            break;
        };
        let Some(whole) = caps.get(0) else { break };
        // JS `exec` resumes at lastIndex; matches are never empty here.
        pos = if whole.end() > whole.start() {
            whole.end()
        } else {
            whole.end() + 1
        };
        let group = |i: usize| caps.get(i).map_or("", |m| m.as_str());
        let before = group(2);
        let Some(url_m) = caps.get(3) else { continue };
        let mut url = url_m.as_str().to_string();
        let protocol = group(4);
        let domain = group(5);
        let path = group(7);
        let end_position = idx.utf16(whole.end());
        let start_position = end_position - utf16::len(&url);

        let proto_for_check = if protocol.is_empty() {
            "https://"
        } else {
            protocol
        };
        if !is_valid_url(&url, proto_for_check, domain) {
            continue;
        }
        if protocol.is_empty() {
            if is_match(invalid_url_without_protocol_preceding_re(), before) {
                continue;
            }
            let Some(ascii_re) = valid_ascii_domain_re() else {
                continue;
            };
            let mut last: Option<usize> = None;
            let mut ascii_end = 0usize; // UTF-16, within domain
            for m in ascii_re.find_iter(domain) {
                let Ok(m) = m else { break };
                let ascii = m.as_str();
                // `domain.indexOf(asciiDomain, asciiEndPosition)`
                let from = byte_of_utf16(domain, ascii_end);
                let found = domain
                    .get(from..)
                    .and_then(|rest| rest.find(ascii))
                    .map(|b| b + from);
                let Some(found) = found else { continue };
                let ascii_start = utf16::len(&domain[..found]);
                ascii_end = ascii_start + utf16::len(ascii);
                urls.push(UrlEnt {
                    url: ascii.to_string(),
                    start: start_position + ascii_start,
                    end: start_position + ascii_end,
                });
                last = Some(urls.len() - 1);
            }
            let Some(last) = last else { continue };
            if !path.is_empty() {
                let ent = &mut urls[last];
                // `url.replace(domain, lastUrl.url)`: first occurrence only.
                ent.url = url.replacen(domain, &ent.url, 1);
                ent.end = end_position;
            }
        } else {
            let mut end = end_position;
            if let Some(tco) = valid_tco_url_re() {
                if let Ok(Some(c)) = tco.captures(&url) {
                    let slug_len = c.get(1).map_or(0, |m| utf16::len(m.as_str()));
                    if slug_len > MAX_TCO_SLUG_LENGTH {
                        continue;
                    }
                    if let Some(m0) = c.get(0) {
                        url = m0.as_str().to_string();
                        end = start_position + utf16::len(&url);
                    }
                }
            }
            urls.push(UrlEnt {
                url,
                start: start_position,
                end,
            });
        }
    }
    urls
}

/// Byte offset of UTF-16 index `u` in `s` (clamped).
fn byte_of_utf16(s: &str, u: usize) -> usize {
    utf16::Index::new(s).byte(u)
}

fn is_valid_url(url: &str, protocol: &str, domain: &str) -> bool {
    // idna.toAscii: a punycode-looking domain must be ASCII.
    if domain.starts_with("xn--") && !is_match(valid_ascii_domain_re(), domain) {
        return false;
    }
    for label in domain.split('.') {
        let n = punycode_to_ascii_len(label);
        if !(1..=63).contains(&n) {
            return false;
        }
    }
    if domain.is_empty() {
        return false;
    }
    utf16::len(protocol) + utf16::len(url) <= MAX_URL_LENGTH
}

/// Length (UTF-16 units) of punycode.js 1.4.1 `toASCII(label)`.
fn punycode_to_ascii_len(input: &str) -> usize {
    let (prefix, rest) = match input.split_once('@') {
        // `split('@')` keeps parts[0] + '@' and encodes parts[1] only.
        Some((a, b)) => (utf16::len(a) + 1, b.split('@').next().unwrap_or("")),
        None => (0, input),
    };
    let mut total = prefix;
    let mut first = true;
    for label in rest.split(['.', '\u{3002}', '\u{FF0E}', '\u{FF61}']) {
        if !first {
            total += 1;
        }
        first = false;
        if label.chars().any(|c| !(' '..='~').contains(&c)) {
            total += 4 + punycode_encode_len(label);
        } else {
            total += label.len();
        }
    }
    total
}

/// Length of the RFC 3492 encoding of `input` (what punycode.js `encode` emits).
fn punycode_encode_len(input: &str) -> usize {
    const BASE: u32 = 36;
    const T_MIN: u32 = 1;
    const T_MAX: u32 = 26;
    const SKEW: u32 = 38;
    const DAMP: u32 = 700;
    fn adapt(mut delta: u32, num_points: u32, first: bool) -> u32 {
        delta = if first { delta / DAMP } else { delta / 2 };
        delta += delta / num_points;
        let mut k = 0;
        while delta > ((BASE - T_MIN) * T_MAX) / 2 {
            delta /= BASE - T_MIN;
            k += BASE;
        }
        k + (BASE - T_MIN + 1) * delta / (delta + SKEW)
    }
    let cps: Vec<u32> = input.chars().map(u32::from).collect();
    let basic = cps.iter().filter(|&&c| c < 0x80).count();
    let mut out = basic + usize::from(basic > 0);
    let mut n: u32 = 0x80;
    let mut delta: u32 = 0;
    let mut bias: u32 = 72;
    let mut handled = basic as u32;
    let total = cps.len() as u32;
    while handled < total {
        let m = cps.iter().copied().filter(|&c| c >= n).min().unwrap_or(n);
        delta = delta.saturating_add((m - n).saturating_mul(handled + 1));
        n = m;
        for &c in &cps {
            if c < n {
                delta = delta.saturating_add(1);
            }
            if c == n {
                let mut q = delta;
                let mut k = BASE;
                loop {
                    let t = if k <= bias {
                        T_MIN
                    } else if k >= bias + T_MAX {
                        T_MAX
                    } else {
                        k - bias
                    };
                    if q < t {
                        break;
                    }
                    out += 1;
                    q = (q - t) / (BASE - t);
                    k += BASE;
                }
                out += 1;
                bias = adapt(delta, handled + 1, handled == basic as u32);
                delta = 0;
                handled += 1;
            }
        }
        delta = delta.saturating_add(1);
        n += 1;
    }
    out
}

/// Emoji found by twemoji-parser 11.0.2: (UTF-16 start, UTF-16 length).
fn emoji_utf16(text: &str, idx: &utf16::Index) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let Some(re) = twemoji_re() else { return out };
    for m in re.find_iter(text) {
        let Ok(m) = m else { break };
        out.push((idx.utf16(m.start()), utf16::len(m.as_str())));
    }
    out
}

fn char_weight(unit: u16) -> usize {
    for (start, end) in RANGES {
        if (start..=end).contains(&unit) {
            return 100;
        }
    }
    DEFAULT_WEIGHT
}

/// twitter-text `parseTweet(text)` with the default (v3) configuration.
pub fn parse_tweet(text: &str) -> XParse {
    let normalized: String = text.nfc().collect();
    let idx = utf16::Index::new(&normalized);
    let units: Vec<u16> = normalized.encode_utf16().collect();

    let mut urls: HashMap<usize, usize> = HashMap::new(); // start -> url length
    for u in extract_urls_utf16(&normalized) {
        urls.insert(u.start, utf16::len(&u.url));
    }
    let mut emoji: HashMap<usize, usize> = HashMap::new();
    for (start, len) in emoji_utf16(&normalized, &idx) {
        emoji.insert(start, len);
    }

    let max_scaled = MAX_WEIGHTED_LENGTH * SCALE;
    let mut weighted = 0usize;
    let mut valid_display_index = 0usize;
    let mut valid = true;
    let mut i = 0usize;
    while i < units.len() {
        if let Some(&len) = urls.get(&i) {
            weighted += TRANSFORMED_URL_LENGTH * SCALE;
            i += len.saturating_sub(1);
        } else if let Some(&len) = emoji.get(&i) {
            weighted += DEFAULT_WEIGHT;
            i += len.saturating_sub(1);
        } else {
            let pair = i + 1 < units.len()
                && (0xD800..=0xDBFF).contains(&units[i])
                && (0xDC00..=0xDFFF).contains(&units[i + 1]);
            if pair {
                i += 1;
            }
            // `charAt(i)`: for a pair this is the low surrogate, weight 2.
            weighted += units.get(i).map_or(DEFAULT_WEIGHT, |&u| char_weight(u));
        }
        if valid {
            valid = !matches!(units.get(i), Some(0xFFFE | 0xFEFF | 0xFFFF));
        }
        if valid && weighted <= max_scaled {
            valid_display_index = i;
        }
        i += 1;
    }

    let weighted_length = weighted / SCALE;
    let valid = valid && weighted_length > 0 && weighted_length <= MAX_WEIGHTED_LENGTH;
    let permillage = (weighted_length as f64 / MAX_WEIGHTED_LENGTH as f64 * 1000.0).floor() as u64;
    let text_len = utf16::len(text) as i64;
    let offset = text_len - units.len() as i64;
    XParse {
        weighted_length,
        valid,
        permillage,
        display_range: (0, if text_len > 0 { text_len - 1 } else { 0 }),
        valid_range: (0, valid_display_index as i64 + offset),
    }
}

/// JS `String.prototype.replace(globalRegex, fn)` driver: every match, in order,
/// resuming after each one (after one unit for an empty match).
fn for_each_match(re: &Regex, text: &str, mut f: impl FnMut(&fancy_regex::Captures<'_, str>)) {
    let mut pos = 0;
    while pos <= text.len() {
        let Ok(Some(caps)) = re.captures_from_pos(text, pos) else {
            break;
        };
        let Some(m) = caps.get(0) else { break };
        f(&caps);
        pos = if m.end() > m.start() {
            m.end()
        } else {
            match text[m.end()..].chars().next() {
                Some(c) => m.end() + c.len_utf8(),
                None => break,
            }
        };
    }
}

fn extract_mentions(text: &str) -> Vec<XEntity> {
    let mut out = Vec::new();
    if !text.contains(['@', '＠']) {
        return out;
    }
    let (Some(re), end_re) = (valid_mention_re(), end_mention_re()) else {
        return out;
    };
    for_each_match(re, text, |caps| {
        let (Some(m), Some(before), Some(name)) = (caps.get(0), caps.get(1), caps.get(3)) else {
            return;
        };
        if is_match(end_re, &text[m.end()..]) {
            return;
        }
        let slug = caps.get(4).map_or("", |s| s.as_str());
        let start = before.end();
        // The '@' (or '＠') sign precedes the screen name.
        let end = name.end() + slug.len();
        out.push(XEntity {
            start,
            end,
            kind: XEntityKind::Mention {
                screen_name: name.as_str().to_string(),
                list_slug: slug.to_string(),
            },
        });
    });
    out
}

fn extract_hashtags(text: &str) -> Vec<XEntity> {
    let mut out = Vec::new();
    if !text.contains(['#', '＃']) {
        return out;
    }
    let (Some(re), end_re) = (valid_hashtag_re(), end_hashtag_re()) else {
        return out;
    };
    for_each_match(re, text, |caps| {
        let (Some(m), Some(before), Some(tag)) = (caps.get(0), caps.get(1), caps.get(3)) else {
            return;
        };
        if is_match(end_re, &text[m.end()..]) {
            return;
        }
        out.push(XEntity {
            start: before.end(),
            end: tag.end(),
            kind: XEntityKind::Hashtag(tag.as_str().to_string()),
        });
    });
    out
}

fn extract_cashtags(text: &str) -> Vec<XEntity> {
    let mut out = Vec::new();
    if !text.contains('$') {
        return out;
    }
    let Some(re) = valid_cashtag_re() else {
        return out;
    };
    for_each_match(re, text, |caps| {
        let (Some(before), Some(tag)) = (caps.get(1), caps.get(3)) else {
            return;
        };
        out.push(XEntity {
            start: before.end(),
            end: tag.end(),
            kind: XEntityKind::Cashtag(tag.as_str().to_string()),
        });
    });
    out
}

/// twitter-text `extractEntitiesWithIndices(text)`: URLs, mentions and lists,
/// hashtags and cashtags, overlaps removed, sorted by start. Byte offsets.
pub fn extract_entities(text: &str) -> Vec<XEntity> {
    let idx = utf16::Index::new(text);
    let mut all: Vec<XEntity> = extract_urls_utf16(text)
        .into_iter()
        .map(|u| XEntity {
            start: idx.byte(u.start),
            end: idx.byte(u.end),
            kind: XEntityKind::Url(u.url),
        })
        .collect();
    all.extend(extract_mentions(text));
    all.extend(extract_hashtags(text));
    all.extend(extract_cashtags(text));
    remove_overlapping(&mut all);
    all
}

/// twitter-text `removeOverlappingEntities`: stable sort by start, then drop
/// every entity that starts before the previous kept one ends.
pub(crate) fn remove_overlapping(entities: &mut Vec<XEntity>) {
    entities.sort_by_key(|e| e.start);
    let mut kept: Vec<XEntity> = Vec::with_capacity(entities.len());
    for e in entities.drain(..) {
        match kept.last() {
            Some(prev) if prev.end > e.start => {}
            _ => kept.push(e),
        }
    }
    *entities = kept;
}

/// URLs as twitter-text extracts them (byte offsets), used by other platforms.
pub fn extract_urls(text: &str) -> Vec<XEntity> {
    let idx = utf16::Index::new(text);
    extract_urls_utf16(text)
        .into_iter()
        .map(|u| XEntity {
            start: idx.byte(u.start),
            end: idx.byte(u.end),
            kind: XEntityKind::Url(u.url),
        })
        .collect()
}

