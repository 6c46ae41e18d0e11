//! Bluesky: a port of @atproto/api 0.19.19 `RichText` (grapheme length, UTF-8
//! length and `detectFacetsWithoutResolution`).
//!
//! The detector is four JavaScript regexes (`rich-text/util.js`) run one after
//! the other; they are simple enough to scan by hand, which keeps JS semantics
//! exact (JS `\s`, ASCII-only `\b`, `\p{P}` from the JS engine's own tables).

use std::collections::HashSet;
use std::sync::OnceLock;

use unicode_segmentation::UnicodeSegmentation;

use crate::generated as g;
use crate::urlscan::CharSet;
use crate::utf16;

/// `app.bsky.feed.post` text limit in grapheme clusters.
pub const MAX_GRAPHEMES: usize = 300;
/// `app.bsky.feed.post` text limit in UTF-8 bytes.
pub const MAX_BYTES: usize = 3000;

/// Number of extended grapheme clusters (what `RichText.graphemeLength` reports).
///
/// Between two ASCII characters there is always a grapheme boundary except
/// inside CR LF, and no segmentation rule looks back across one, so the text
/// is cut there and only the pieces with non-ASCII characters are segmented.
pub fn grapheme_length(text: &str) -> usize {
    let b = text.as_bytes();
    let mut count = 0;
    let mut piece = 0; // start of the current piece
    for i in 1..b.len() {
        if b[i - 1] < 0x80 && b[i] < 0x80 && !(b[i - 1] == b'\r' && b[i] == b'\n') {
            count += if i - piece == 1 {
                1
            } else {
                text[piece..i].graphemes(true).count()
            };
            piece = i;
        }
    }
    if piece < b.len() {
        count += text[piece..].graphemes(true).count();
    }
    count
}

/// UTF-8 length in bytes (what `RichText.length` reports).
pub fn byte_length(text: &str) -> usize {
    text.len()
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Facet {
    /// UTF-8 byte offsets, start inclusive, end exclusive.
    pub byte_start: usize,
    pub byte_end: usize,
    pub feature: FacetFeature,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FacetFeature {
    /// `uri` gets `https://` prepended for bare domains; one trailing
    /// punctuation character and an unbalanced `)` are stripped.
    Link { uri: String },
    /// The handle as written, without `@` (resolving it to a DID needs the network).
    Mention { handle: String },
    /// A hashtag without `#`, or a cashtag as `$TICKER` (uppercased).
    Tag { tag: String },
}

/// JavaScript `\s`.
pub(crate) fn is_js_space(c: char) -> bool {
    static SET: CharSet = CharSet::new(g::JS_WHITESPACE);
    SET.contains(c)
}

/// JavaScript `\p{P}` (Unicode punctuation, in Node's Unicode version).
fn is_js_punct(c: char) -> bool {
    static SET: CharSet = CharSet::new(g::JS_PUNCTUATION);
    SET.contains(c)
}

fn tlds() -> &'static HashSet<&'static str> {
    static SET: OnceLock<HashSet<&'static str>> = OnceLock::new();
    SET.get_or_init(|| g::BSKY_TLDS.iter().copied().collect())
}

/// `isValidDomain`: the string ends with `.` + a known TLD (case-sensitive).
fn is_valid_domain(s: &str) -> bool {
    s.match_indices('.')
        .any(|(i, _)| tlds().contains(&s[i + 1..]))
}

/// Chars of the text with their byte offsets, plus an end sentinel offset.
struct Text<'a> {
    s: &'a str,
    chars: Vec<(usize, char)>,
}

impl<'a> Text<'a> {
    fn new(s: &'a str) -> Self {
        Text {
            s,
            chars: s.char_indices().collect(),
        }
    }
    fn at(&self, i: usize) -> Option<char> {
        self.chars.get(i).map(|&(_, c)| c)
    }
    fn byte(&self, i: usize) -> usize {
        self.chars.get(i).map_or(self.s.len(), |&(b, _)| b)
    }
    fn slice(&self, from: usize, to: usize) -> &'a str {
        &self.s[self.byte(from)..self.byte(to)]
    }
    /// The first char index >= `from` whose char satisfies `pred`.
    fn next_at(&self, from: usize, pred: impl Fn(char) -> bool) -> Option<usize> {
        self.chars
            .get(from..)?
            .iter()
            .position(|&(_, c)| pred(c))
            .map(|i| from + i)
    }
    fn len(&self) -> usize {
        self.chars.len()
    }
}

/// Start positions (char index) of the text after each alternative of a
/// `(^|\s|\()`-style prefix at position `p`, in the regex's alternation order.
fn prefix_ends(
    t: &Text<'_>,
    p: usize,
    line_start: bool,
    paren: bool,
) -> impl Iterator<Item = usize> {
    let at_start = p == 0
        || (line_start && matches!(t.at(p - 1), Some('\n' | '\r' | '\u{2028}' | '\u{2029}')));
    let after = t
        .at(p)
        .filter(|&c| is_js_space(c) || (paren && c == '('))
        .map(|_| p + 1);
    [at_start.then_some(p), after].into_iter().flatten()
}

/// A char index range, start inclusive, end exclusive.
type Range = (usize, usize);

fn is_word(c: Option<char>) -> bool {
    c.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn is_handle_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '.' || c == '-'
}

/// `/(^|\s|\()(@)([a-zA-Z0-9.-]+)(\b)/g`: (match end, handle start, handle end).
fn mention_at(t: &Text<'_>, p: usize) -> Option<(usize, usize, usize)> {
    for q in prefix_ends(t, p, false, true) {
        if t.at(q) != Some('@') {
            continue;
        }
        let hs = q + 1;
        let mut he = hs;
        while t.at(he).is_some_and(is_handle_char) {
            he += 1;
        }
        // Greedy, then back off until an ASCII word boundary follows.
        let mut k = he;
        while k > hs {
            if is_word(t.at(k - 1)) != is_word(t.at(k)) {
                return Some((k, hs, k));
            }
            k -= 1;
        }
    }
    None
}

/// The link regex at position `p`:
/// `/(^|\s|\()((https?:\/\/[\S]+)|((?<domain>[a-z][a-z0-9]*(\.[a-z0-9]+)+)[\S]*))/gim`.
/// Returns (match end, uri start, bare domain range) in char indices.
fn link_at(t: &Text<'_>, p: usize) -> Option<(usize, usize, Option<Range>)> {
    let non_space = |i: usize| t.at(i).is_some_and(|c| !is_js_space(c));
    for q in prefix_ends(t, p, true, true) {
        // Alternative 1: an explicit http(s) scheme followed by non-space.
        let starts_with = |s: &str| {
            s.chars()
                .enumerate()
                .all(|(k, e)| t.at(q + k).is_some_and(|c| c.to_ascii_lowercase() == e))
        };
        let scheme = if starts_with("https://") {
            Some(8)
        } else if starts_with("http://") {
            Some(7)
        } else {
            None
        };
        if let Some(n) = scheme {
            let mut e = q + n;
            while non_space(e) {
                e += 1;
            }
            if e > q + n {
                return Some((e, q, None));
            }
        }
        // Alternative 2: a bare domain, then any non-space.
        if t.at(q).is_some_and(|c| c.is_ascii_alphabetic()) {
            let mut e = q + 1;
            while t.at(e).is_some_and(|c| c.is_ascii_alphanumeric()) {
                e += 1;
            }
            let mut labels = 0;
            while t.at(e) == Some('.') && t.at(e + 1).is_some_and(|c| c.is_ascii_alphanumeric()) {
                e += 2;
                while t.at(e).is_some_and(|c| c.is_ascii_alphanumeric()) {
                    e += 1;
                }
                labels += 1;
            }
            if labels > 0 {
                let domain_end = e;
                while non_space(e) {
                    e += 1;
                }
                return Some((e, q, Some((q, domain_end))));
            }
        }
    }
    None
}

/// TAG_REGEX: `(^|\s)[#＃]((?!\ufe0f)X*[^\d\s\p{P}ZW]+X*)?` with X = `[^\sZW]`.
/// Returns (match end, hash position, tag run end if the group matched).
fn tag_at(t: &Text<'_>, p: usize) -> Option<(usize, usize, Option<usize>)> {
    const ZW: [char; 7] = [
        '\u{AD}', '\u{2060}', '\u{200A}', '\u{200B}', '\u{200C}', '\u{200D}', '\u{20E2}',
    ];
    let is_x = |c: char| !is_js_space(c) && !ZW.contains(&c);
    let is_y = |c: char| is_x(c) && !c.is_ascii_digit() && !is_js_punct(c);
    for q in prefix_ends(t, p, false, false) {
        if !matches!(t.at(q), Some('#' | '＃')) {
            continue;
        }
        let rs = q + 1;
        let mut re = rs;
        while t.at(re).is_some_and(is_x) {
            re += 1;
        }
        let has_y = (rs..re).any(|i| t.at(i).is_some_and(is_y));
        if has_y && t.at(rs) != Some('\u{FE0F}') {
            return Some((re, q, Some(re)));
        }
        return Some((rs, q, None));
    }
    None
}

/// CASHTAG_REGEX: `(^|\s|\()\$([A-Za-z][A-Za-z0-9]{0,4})(?=\s|$|[.,;:!?)"'\u2019])`.
fn cashtag_at(t: &Text<'_>, p: usize) -> Option<(usize, usize)> {
    for q in prefix_ends(t, p, false, true) {
        if t.at(q) != Some('$') || !t.at(q + 1).is_some_and(|c| c.is_ascii_alphabetic()) {
            continue;
        }
        let mut e = q + 2;
        while e < q + 6 && t.at(e).is_some_and(|c| c.is_ascii_alphanumeric()) {
            e += 1;
        }
        let ok = match t.at(e) {
            None => true,
            Some(c) => is_js_space(c) || ".,;:!?)\"'\u{2019}".contains(c),
        };
        if ok {
            return Some((e, q));
        }
    }
    None
}

/// `new RichText({text}).detectFacetsWithoutResolution()`; facets sorted by start.
pub fn detect_facets(text: &str) -> Vec<Facet> {
    let mut facets = Vec::new();
    let (mentions, links) = (text.contains('@'), text.contains(['.', ':']));
    let (tags, cashtags) = (text.contains(['#', '＃']), text.contains('$'));
    if !(mentions || links || tags || cashtags) {
        return facets;
    }
    let t = Text::new(text);
    let idx_cell = std::cell::OnceCell::new();
    let idx = || idx_cell.get_or_init(|| utf16::Index::new(text));
    let u16_of = |ci: usize| idx().utf16(t.byte(ci));

    // mentions
    let mut p = 0;
    while mentions && p <= t.len() {
        // A match needs its trigger character at p or p + 1.
        let Some(q) = t.next_at(p, |c| c == '@') else {
            break;
        };
        p = p.max(q.saturating_sub(1));
        let Some((end, hs, he)) = mention_at(&t, p) else {
            p += 1;
            continue;
        };
        p = end;
        let handle = t.slice(hs, he);
        if !is_valid_domain(handle) && !handle.ends_with(".test") {
            continue;
        }
        facets.push(Facet {
            byte_start: t.byte(hs - 1),
            byte_end: t.byte(he),
            feature: FacetFeature::Mention {
                handle: handle.to_string(),
            },
        });
    }

    // links
    let mut p = 0;
    while links && p <= t.len() {
        let Some((end, us, domain)) = link_at(&t, p) else {
            p += 1;
            continue;
        };
        p = end;
        let mut uri = t.slice(us, end).to_string();
        if !uri.starts_with("http") {
            match domain {
                Some((ds, de)) if is_valid_domain(t.slice(ds, de)) => {}
                _ => continue,
            }
            uri = format!("https://{uri}");
        }
        let start = u16_of(us);
        let mut end16 = u16_of(end);
        if uri.ends_with(['.', ',', ';', ':', '!', '?']) {
            uri.pop();
            end16 -= 1;
        }
        if uri.ends_with(')') && !uri.contains('(') {
            uri.pop();
            end16 -= 1;
        }
        facets.push(Facet {
            byte_start: idx().byte(start),
            byte_end: idx().byte(end16),
            feature: FacetFeature::Link { uri },
        });
    }

    // tags
    let mut p = 0;
    while tags && p <= t.len() {
        // A match needs its trigger character at p or p + 1.
        let Some(q) = t.next_at(p, |c| matches!(c, '#' | '＃')) else {
            break;
        };
        p = p.max(q.saturating_sub(1));
        let Some((end, hash, run_end)) = tag_at(&t, p) else {
            p += 1;
            continue;
        };
        p = end;
        let Some(run_end) = run_end else { continue };
        let raw = t.slice(hash + 1, run_end);
        // `tag.trim()` is a no-op (the run has no whitespace); strip `\p{P}+$`.
        let tag = raw.trim_end_matches(is_js_punct);
        let tag_len = utf16::len(tag);
        if tag_len == 0 || tag_len > 64 {
            continue;
        }
        let start = u16_of(hash);
        facets.push(Facet {
            byte_start: idx().byte(start),
            byte_end: idx().byte(start + 1 + tag_len),
            feature: FacetFeature::Tag {
                tag: tag.to_string(),
            },
        });
    }

    // cashtags
    let mut p = 0;
    while cashtags && p <= t.len() {
        // A match needs its trigger character at p or p + 1.
        let Some(q) = t.next_at(p, |c| c == '$') else {
            break;
        };
        p = p.max(q.saturating_sub(1));
        let Some((end, dollar)) = cashtag_at(&t, p) else {
            p += 1;
            continue;
        };
        p = end;
        facets.push(Facet {
            byte_start: t.byte(dollar),
            byte_end: t.byte(end),
            feature: FacetFeature::Tag {
                tag: format!("${}", t.slice(dollar + 1, end).to_ascii_uppercase()),
            },
        });
    }

    // Array.prototype.sort is stable, so equal starts keep detection order.
    facets.sort_by_key(|f| f.byte_start);
    facets
}
