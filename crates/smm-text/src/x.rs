//! X (Twitter): a port of twitter-text 3.1.0 (`parseTweet` with the v3 config
//! and `extractEntitiesWithIndices`).
//!
//! The regexes are twitter-text's own, translated mechanically from the npm
//! package by `reference/gen-tables.js` (see `generated.rs`); the control flow
//! around them follows the JavaScript line by line, including its quirks, so
//! that the differential test in `tests/reference.rs` agrees on every string.

use std::borrow::Cow;
use std::sync::OnceLock;

use fancy_regex::Regex;
use unicode_normalization::{is_nfc_quick, IsNormalized, UnicodeNormalization};

use crate::generated as g;
use crate::urlscan;
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

/// twemoji-parser's regex, run with JS's leftmost, backtracking semantics.
///
/// Its only lookaround is `(?!\uFE0E)` (a text-presentation selector turns an
/// emoji back into text), at the end of the match or before an optional skin
/// tone. The same pattern without it (`regex` crate, fast) finds the match;
/// only when that match is followed by U+FE0E can the lookahead matter, and
/// then the exact pattern (fancy-regex) is tried anchored at that position.
/// A real match at a position implies a relaxed match there, so scanning the
/// relaxed starts in order finds JS's match.
struct Twemoji {
    relaxed: regex::Regex,
    /// Anchored at the start of the haystack (the pattern has no `^`).
    anchored: Regex,
}

impl Twemoji {
    fn new() -> Option<Self> {
        Some(Twemoji {
            relaxed: regex::RegexBuilder::new(g::TWEMOJI_RELAXED)
                .size_limit(64 << 20)
                .dfa_size_limit(64 << 20)
                .build()
                .ok()?,
            anchored: Regex::new(&format!("^(?:{})", g::TWEMOJI)).ok()?,
        })
    }

    /// `regex.exec(text)` from byte `pos`, looking only at `text[..limit]`
    /// (a match never holds an ASCII character after its first): the match's
    /// byte range.
    fn exec(&self, text: &str, mut pos: usize, limit: usize) -> Option<(usize, usize)> {
        let hay = text.get(..limit)?;
        while pos <= hay.len() {
            let m = self.relaxed.find_at(hay, pos)?;
            if !text[m.end()..].starts_with('\u{FE0E}') {
                return Some((m.start(), m.end()));
            }
            // Only the characters up to the next space can take part, and no
            // emoji is near 256 characters long (this bounds the work).
            let cut = text[m.end()..]
                .char_indices()
                .take(256)
                .find(|&(_, c)| is_tt_space(c))
                .map_or_else(
                    || {
                        text[m.end()..]
                            .char_indices()
                            .nth(256)
                            .map_or(text.len(), |(i, _)| m.end() + i)
                    },
                    |(i, c)| m.end() + i + c.len_utf8(),
                );
            if let Ok(Some(exact)) = self.anchored.find(&text[m.start()..cut]) {
                return Some((m.start(), m.start() + exact.end()));
            }
            pos = m.start() + text[m.start()..].chars().next().map_or(1, char::len_utf8);
        }
        None
    }
}

fn twemoji() -> Option<&'static Twemoji> {
    static CELL: OnceLock<Option<Twemoji>> = OnceLock::new();
    CELL.get_or_init(Twemoji::new).as_ref()
}

use urlscan::{is_tt_space, CharSet};

fn plain(
    cell: &'static OnceLock<Option<regex::Regex>>,
    src: &str,
) -> Option<&'static regex::Regex> {
    cell.get_or_init(|| {
        regex::RegexBuilder::new(src)
            .size_limit(64 << 20)
            .dfa_size_limit(64 << 20)
            .build()
            .ok()
    })
    .as_ref()
}

/// A lookaround-free regex: the `regex` crate's leftmost-first semantics give
/// the same matches as JS backtracking.
macro_rules! plain_regex {
    ($name:ident, $src:expr) => {
        fn $name() -> Option<&'static regex::Regex> {
            static CELL: OnceLock<Option<regex::Regex>> = OnceLock::new();
            plain(&CELL, $src)
        }
    };
}

plain_regex!(valid_tco_url_re, g::TT_VALID_TCO_URL);
plain_regex!(
    invalid_url_without_protocol_preceding_re,
    g::TT_INVALID_URL_WITHOUT_PROTOCOL_PRECEDING
);
plain_regex!(valid_mention_re, g::TT_VALID_MENTION_OR_LIST);
plain_regex!(end_mention_re, g::TT_END_MENTION_MATCH);
plain_regex!(end_hashtag_re, g::TT_END_HASHTAG_MATCH);

/// Makes sure every generated regex compiles (used by tests).
pub fn regexes_compile() -> bool {
    let plain = [
        valid_tco_url_re(),
        invalid_url_without_protocol_preceding_re(),
        valid_mention_re(),
        end_mention_re(),
        end_hashtag_re(),
    ];
    crate::urlscan::regexes_compile()
        && crate::mastodon::regexes_compile()
        && twemoji().is_some()
        && plain.iter().all(Option::is_some)
}

fn is_plain_match(re: Option<&regex::Regex>, s: &str) -> bool {
    re.is_some_and(|r| r.is_match(s))
}

/// A URL entity in UTF-16 terms, as twitter-text builds it.
struct UrlEnt {
    url: String,
    start: usize,
    end: usize,
}

/// Stand-ins for the halves of a surrogate pair. JS regexes without the `u`
/// flag see an astral character as two code units and can split it between
/// the "preceding character" and the domain (`x😀.example.com`); replacing each
/// astral character by two BMP characters that every URL character class
/// treats like a surrogate keeps UTF-16 indices and reproduces that.
const HIGH_HALF: char = '\u{E000}';
const LOW_HALF: char = '\u{E001}';

/// `extractUrlsWithIndices(text)` with the default options (URLs without a
/// protocol are extracted). Indices are UTF-16.
fn extract_urls_utf16(text: &str) -> Vec<UrlEnt> {
    let mut urls = Vec::new();
    if !text.contains('.') {
        return urls;
    }
    let Some(flavor) = urlscan::x_flavor() else {
        return urls;
    };
    let astral = text.chars().any(|c| c.len_utf16() == 2);
    let mapped: Cow<'_, str> = if astral {
        Cow::Owned(
            text.chars()
                .flat_map(|c| {
                    if c.len_utf16() == 2 {
                        [Some(HIGH_HALF), Some(LOW_HALF)]
                    } else {
                        [Some(c), None]
                    }
                })
                .flatten()
                .collect(),
        )
    } else {
        Cow::Borrowed(text)
    };
    let hits = urlscan::scan(&mapped, flavor);
    if hits.is_empty() {
        return urls;
    }
    // Without astral characters `mapped` is `text`, and UTF-16 ranges are byte ranges of it.
    let units: Vec<u16> = if astral {
        text.encode_utf16().collect()
    } else {
        Vec::new()
    };
    let from_units = |a: usize, b: usize, bytes: (usize, usize)| {
        if astral {
            String::from_utf16_lossy(units.get(a..b).unwrap_or(&[]))
        } else {
            mapped.get(bytes.0..bytes.1).unwrap_or("").to_string()
        }
    };
    let mut cur = utf16::Cursor::new(&mapped);
    for hit in hits {
        let (url_s, url_e) = (hit.url_start, hit.url_end);
        let (dom_s, dom_e) = (hit.domain_start, hit.domain_end);
        let url_s16 = cur.utf16(url_s);
        let (dom_s16, dom_e16) = (cur.utf16(dom_s), cur.utf16(dom_e));
        let url_e16 = cur.utf16(url_e);
        let before = &mapped[hit.before_start..url_s];
        let protocol = &mapped[url_s..dom_s];
        let domain_mapped = &mapped[dom_s..dom_e];
        let domain_owned: Vec<u16>;
        let domain_units: &[u16] = if astral {
            units.get(dom_s16..dom_e16).unwrap_or(&[])
        } else {
            domain_owned = domain_mapped.encode_utf16().collect();
            &domain_owned
        };
        let has_path = hit.path.is_some_and(|(a, b)| b > a);
        let end_position = url_e16;
        let start_position = url_s16;

        let proto_for_check = if protocol.is_empty() {
            "https://"
        } else {
            protocol
        };
        if !is_valid_url(
            url_e16 - url_s16,
            proto_for_check,
            domain_mapped,
            domain_units,
        ) {
            continue;
        }
        if protocol.is_empty() {
            if is_plain_match(invalid_url_without_protocol_preceding_re(), before) {
                continue;
            }
            let didx = utf16::Index::new(domain_mapped);
            let mut last: Option<usize> = None;
            let mut ascii_end = 0usize; // UTF-16, within domain
            for (ms, me) in ascii_domains(domain_mapped) {
                let ascii = &domain_mapped[ms..me];
                // `domain.indexOf(asciiDomain, asciiEndPosition)`
                let from = didx.byte(ascii_end);
                let Some(found) = domain_mapped
                    .get(from..)
                    .and_then(|rest| rest.find(ascii))
                    .map(|b| b + from)
                else {
                    continue;
                };
                let ascii_start = didx.utf16(found);
                ascii_end = ascii_start + utf16::len(ascii);
                urls.push(UrlEnt {
                    url: ascii.to_string(),
                    start: start_position + ascii_start,
                    end: start_position + ascii_end,
                });
                last = Some(urls.len() - 1);
            }
            let Some(last) = last else { continue };
            if has_path {
                let ent = &mut urls[last];
                // `url.replace(domain, lastUrl.url)`: the URL starts with its domain.
                ent.url = format!(
                    "{}{}",
                    ent.url,
                    from_units(dom_e16, url_e16, (dom_e, url_e))
                );
                ent.end = end_position;
            }
        } else {
            let mut url = from_units(url_s16, url_e16, (url_s, url_e));
            let mut end = end_position;
            if let Some(tco) = valid_tco_url_re() {
                if let Some(c) = tco.captures(&url) {
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

/// `domain.replace(validAsciiDomain, fn)`: byte ranges of every match.
fn ascii_domains(domain: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < domain.len() {
        let Some((start, end)) = urlscan::ascii_domain_at(domain, pos) else {
            break;
        };
        out.push((start, end));
        pos = end.max(start + 1);
    }
    out
}

fn is_valid_url(url_len16: usize, protocol: &str, domain_mapped: &str, domain: &[u16]) -> bool {
    // idna.toAscii: a punycode-looking domain must be ASCII.
    if domain_mapped.starts_with("xn--") && ascii_domains(domain_mapped).is_empty() {
        return false;
    }
    for label in domain.split(|&u| u == u16::from(b'.')) {
        let n = punycode_to_ascii_len(label);
        if !(1..=63).contains(&n) {
            return false;
        }
    }
    !domain.is_empty() && utf16::len(protocol) + url_len16 <= MAX_URL_LENGTH
}

/// Length (UTF-16 units) of punycode.js 1.4.1 `toASCII(label)`, on UTF-16
/// units because a label may start or end with half a surrogate pair.
fn punycode_to_ascii_len(input: &[u16]) -> usize {
    const AT: u16 = b'@' as u16;
    let mut parts = input.split(|&u| u == AT);
    let first = parts.next().unwrap_or(&[]);
    // `split('@')`: with an '@', parts[0] + '@' is kept and only parts[1] is encoded.
    let (prefix, rest) = match parts.next() {
        Some(second) => (first.len() + 1, second),
        None => (0, first),
    };
    let mut total = prefix;
    for (i, label) in rest
        .split(|&u| matches!(u, 0x2E | 0x3002 | 0xFF0E | 0xFF61))
        .enumerate()
    {
        if i > 0 {
            total += 1;
        }
        if label.iter().any(|&u| !(0x20..=0x7E).contains(&u)) {
            total += 4 + punycode_encode_len(&ucs2_decode(label));
        } else {
            total += label.len();
        }
    }
    total
}

/// punycode.js `ucs2decode`: pairs become code points, lone surrogates stay.
fn ucs2_decode(units: &[u16]) -> Vec<u32> {
    char::decode_utf16(units.iter().copied())
        .map(|r| match r {
            Ok(c) => u32::from(c),
            Err(e) => u32::from(e.unpaired_surrogate()),
        })
        .collect()
}

/// Length of the RFC 3492 encoding of `cps` (what punycode.js `encode` emits).
fn punycode_encode_len(cps: &[u32]) -> usize {
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
        for &c in cps {
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

/// Emoji found by twemoji-parser 11.0.2: byte ranges.
///
/// twemoji's only ASCII characters are the keycap bases `#`, `*` and `0-9`,
/// first in a match and followed by U+FE0F or U+20E3; so every match lies in
/// a run of non-ASCII characters (plus the ASCII character before it), and
/// only those runs are searched.
fn emoji_spans(text: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let Some(re) = twemoji() else { return out };
    let b = text.as_bytes();
    let mut pos = 0; // JS lastIndex
    let mut i = 0;
    while let Some(off) = b
        .get(i..)
        .and_then(|rest| rest.iter().position(|&x| x >= 0x80))
    {
        let run_s = i + off;
        let run_e = b[run_s..]
            .iter()
            .position(|&x| x < 0x80)
            .map_or(b.len(), |o| run_s + o);
        let keycap = run_s > 0 && matches!(b[run_s - 1], b'#' | b'*' | b'0'..=b'9');
        let mut from = (if keycap { run_s - 1 } else { run_s }).max(pos);
        while from < run_e {
            let Some((s, e)) = re.exec(text, from, run_e) else {
                break;
            };
            out.push((s, e));
            // Emoji matches are never empty; guard anyway against looping.
            from = if e > s {
                e
            } else {
                e + text[e..].chars().next().map_or(1, char::len_utf8)
            };
            pos = from;
        }
        i = run_e;
    }
    out
}

/// Sorted (start, length) pairs, last one kept for equal starts (like a JS
/// object keyed by start).
fn by_start(mut v: Vec<(usize, usize)>) -> Vec<(usize, usize)> {
    v.sort_by_key(|&(s, _)| s);
    let mut out: Vec<(usize, usize)> = Vec::with_capacity(v.len());
    for e in v {
        match out.last_mut() {
            Some(last) if last.0 == e.0 => *last = e,
            _ => out.push(e),
        }
    }
    out
}

/// The entry of `v` starting at `i`; `k` is a cursor for increasing `i`.
fn at(v: &[(usize, usize)], k: &mut usize, i: usize) -> Option<usize> {
    while v.get(*k).is_some_and(|&(s, _)| s < i) {
        *k += 1;
    }
    v.get(*k).filter(|&&(s, _)| s == i).map(|&(_, len)| len)
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
    let normalized = nfc(text);
    let urls = extract_urls_utf16(&normalized);
    parse_with_urls(text, &normalized, &urls)
}

/// [`parse_tweet`] and [`extract_entities`] of one text. Counting works on the NFC form and
/// extraction on the text as written; a text already in NFC (nearly every one) has its URLs
/// scanned once for both.
pub fn parse_and_extract(text: &str) -> (XParse, Vec<XEntity>) {
    let normalized = nfc(text);
    let urls = extract_urls_utf16(&normalized);
    let parse = parse_with_urls(text, &normalized, &urls);
    let urls = match normalized {
        Cow::Borrowed(_) => urls,
        Cow::Owned(_) => extract_urls_utf16(text),
    };
    (parse, entities_with_urls(text, urls))
}

fn nfc(text: &str) -> Cow<'_, str> {
    if text.is_ascii() || is_nfc_quick(text.chars()) == IsNormalized::Yes {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(text.nfc().collect())
    }
}

/// The weighted length of `normalized` (the NFC form of `text`) whose URLs are `urls`.
fn parse_with_urls(text: &str, normalized: &str, urls: &[UrlEnt]) -> XParse {
    let units: Vec<u16> = normalized.encode_utf16().collect();

    // start -> url length
    let urls = by_start(urls.iter().map(|u| (u.start, utf16::len(&u.url))).collect());
    let emoji_bytes = if normalized.is_ascii() {
        Vec::new()
    } else {
        emoji_spans(normalized)
    };
    let emoji = if emoji_bytes.is_empty() {
        Vec::new()
    } else {
        let mut cur = utf16::Cursor::new(normalized);
        by_start(
            emoji_bytes
                .into_iter()
                .map(|(s, e)| (cur.utf16(s), utf16::len(&normalized[s..e])))
                .collect(),
        )
    };
    let (mut url_k, mut emoji_k) = (0, 0);

    let max_scaled = MAX_WEIGHTED_LENGTH * SCALE;
    let mut weighted = 0usize;
    let mut valid_display_index = 0usize;
    let mut valid = true;
    let mut i = 0usize;
    while i < units.len() {
        if let Some(len) = at(&urls, &mut url_k, i) {
            weighted += TRANSFORMED_URL_LENGTH * SCALE;
            i += len.saturating_sub(1);
        } else if let Some(len) = at(&emoji, &mut emoji_k, i) {
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

fn extract_mentions(text: &str) -> Vec<XEntity> {
    let mut out = Vec::new();
    if !text.contains(['@', '＠']) {
        return out;
    }
    let Some(re) = valid_mention_re() else {
        return out;
    };
    for caps in re.captures_iter(text) {
        let (Some(m), Some(before), Some(name)) = (caps.get(0), caps.get(1), caps.get(3)) else {
            continue;
        };
        if is_plain_match(end_mention_re(), &text[m.end()..]) {
            continue;
        }
        let slug = caps.get(4).map_or("", |s| s.as_str());
        // `before` is followed by the '@' (or '＠'), then the screen name and slug.
        out.push(XEntity {
            start: before.end(),
            end: name.end() + slug.len(),
            kind: XEntityKind::Mention {
                screen_name: name.as_str().to_string(),
                list_slug: slug.to_string(),
            },
        });
    }
    out
}

static HASHTAG_ALPHA: CharSet = CharSet::new(g::TT_HASHTAG_ALPHA);
static HASHTAG_ALNUM: CharSet = CharSet::new(g::TT_HASHTAG_ALPHANUMERIC);

fn is_hashtag_alpha(c: char) -> bool {
    HASHTAG_ALPHA.contains(c)
}

fn is_hashtag_alnum(c: char) -> bool {
    HASHTAG_ALNUM.contains(c)
}

/// twitter-text's `validHashtag` (flags `gi`) at char index `p`:
/// `(^|\uFE0E|\uFE0F|$|(?!alnum|&)anychar)([#＃])(?!\uFE0F|\u20E3)(alnum*alpha alnum*)`.
/// Returns (hash index, tag end index) in chars. Scanned by hand: the regex
/// needs lookaround and is slow in a backtracking engine.
fn hashtag_at(chars: &[char], p: usize) -> Option<(usize, usize)> {
    let is_hash = |i: usize| matches!(chars.get(i), Some('#' | '＃'));
    // The tag: first char not FE0F/20E3, then the maximal alphanumeric run,
    // which must hold a letter (greedy `alnum* alpha alnum*` ends there).
    let tag = |t: usize| -> Option<usize> {
        if matches!(chars.get(t), Some('\u{FE0F}' | '\u{20E3}')) {
            return None;
        }
        let mut e = t;
        while chars.get(e).is_some_and(|&c| is_hashtag_alnum(c)) {
            e += 1;
        }
        chars[t..e]
            .iter()
            .any(|&c| is_hashtag_alpha(c))
            .then_some(e)
    };
    // Alternatives in the regex's order; each is tried through to the end.
    if p == 0 && is_hash(0) {
        if let Some(e) = tag(1) {
            return Some((0, e));
        }
    }
    let c = *chars.get(p)?;
    if !is_hash(p + 1) {
        return None;
    }
    let boundary = matches!(c, '\u{FE0E}' | '\u{FE0F}') || !(is_hashtag_alnum(c) || c == '&');
    if boundary && is_hash(p + 1) {
        if let Some(e) = tag(p + 2) {
            return Some((p + 1, e));
        }
    }
    None
}

fn extract_hashtags(text: &str) -> Vec<XEntity> {
    if !text.contains(['#', '＃']) {
        return Vec::new();
    }
    tags_at(text, hashtag_at)
        .into_iter()
        // `replace` resumes after the match, used or not.
        .filter(|&(_, _, end)| !is_plain_match(end_hashtag_re(), &text[end..]))
        .map(|(start, value, end)| XEntity {
            start,
            end,
            kind: XEntityKind::Hashtag(text[value..end].to_string()),
        })
        .collect()
}

/// A tag pattern tried at one character index: the indices of its sign and of the tag's end.
type TagAt = fn(&[char], usize) -> Option<(usize, usize)>;

/// Every match of a `#tag`/`$tag` pattern tried at each character, resuming after each match:
/// byte offsets of the sign, of the tag after it, and of its end.
fn tags_at(text: &str, at: TagAt) -> Vec<(usize, usize, usize)> {
    let offsets: Vec<usize> = text
        .char_indices()
        .map(|(b, _)| b)
        .chain([text.len()])
        .collect();
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut p = 0;
    while p < chars.len() {
        let Some((sign, end)) = at(&chars, p) else {
            p += 1;
            continue;
        };
        p = end;
        out.push((offsets[sign], offsets[sign + 1], offsets[end]));
    }
    out
}

/// twitter-text `validCashtag` (flags `gi`) at char index `p`:
/// `(^|spaces)(\$)([a-z]{1,6}(?:[._][a-z]{1,2})?)(?=$|\s|punct)`.
/// Returns (dollar index, ticker end index).
fn cashtag_at(chars: &[char], p: usize) -> Option<(usize, usize)> {
    const PUNCT: &str = "!'#%&()*+,\\-./:;<=>?@[]^_{|}~$";
    let follows_ok = |i: usize| {
        chars
            .get(i)
            .is_none_or(|&c| crate::bluesky::is_js_space(c) || PUNCT.contains(c))
    };
    let letters = |from: usize, max: usize| {
        let mut e = from;
        while e < from + max && chars.get(e).is_some_and(char::is_ascii_alphabetic) {
            e += 1;
        }
        e
    };
    let mut starts = Vec::with_capacity(2);
    if p == 0 {
        starts.push(0);
    }
    if chars.get(p).is_some_and(|&c| is_tt_space(c)) {
        starts.push(p + 1);
    }
    for d in starts {
        if chars.get(d) != Some(&'$') {
            continue;
        }
        let e = letters(d + 1, 6);
        if e == d + 1 {
            continue;
        }
        // Shorter tickers would leave a letter next, which fails the lookahead.
        if matches!(chars.get(e), Some('.' | '_')) {
            let e2 = letters(e + 1, 2);
            for k in (e + 2..=e2).rev() {
                if follows_ok(k) {
                    return Some((d, k));
                }
            }
        }
        if follows_ok(e) {
            return Some((d, e));
        }
    }
    None
}

fn extract_cashtags(text: &str) -> Vec<XEntity> {
    if !text.contains('$') {
        return Vec::new();
    }
    tags_at(text, cashtag_at)
        .into_iter()
        .map(|(start, value, end)| XEntity {
            start,
            end,
            kind: XEntityKind::Cashtag(text[value..end].to_string()),
        })
        .collect()
}

/// twitter-text `extractEntitiesWithIndices(text)`: URLs, mentions and lists,
/// hashtags and cashtags, overlaps removed, sorted by start. Byte offsets.
pub fn extract_entities(text: &str) -> Vec<XEntity> {
    entities_with_urls(text, extract_urls_utf16(text))
}

/// [`extract_entities`] of `text` whose URLs (UTF-16 indices) are `urls`.
fn entities_with_urls(text: &str, urls: Vec<UrlEnt>) -> Vec<XEntity> {
    let mut all: Vec<XEntity> = urls_in_bytes(text, urls);
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
    urls_in_bytes(text, extract_urls_utf16(text))
}

/// URL entities with UTF-16 indices into `text` as entities with byte offsets.
fn urls_in_bytes(text: &str, urls: Vec<UrlEnt>) -> Vec<XEntity> {
    if urls.is_empty() {
        return Vec::new();
    }
    let mut cur = utf16::Cursor::new(text);
    urls.into_iter()
        .map(|u| XEntity {
            start: cur.byte(u.start),
            end: cur.byte(u.end),
            kind: XEntityKind::Url(u.url),
        })
        .collect()
}
