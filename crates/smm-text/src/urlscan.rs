//! A hand-written matcher for twitter-text's URL regex (and Mastodon's
//! variant of it), giving exactly the matches and groups of the backtracking
//! regex without running the 50 KB pattern.
//!
//! The regex (see `TT_URL_PLAIN` in `generated.rs`) is
//!
//! ```text
//! (before: C0 | C1 | ^)
//! (url: (https?://)?  (L1 \.)* L2 \.  (TLD (?=F) | PUNY)  (:port)? (/path)? (?query)? )
//! ```
//!
//! with L1 = `D (D|-|_)* D | D`, L2 the same without `_`, D the domain
//! characters and F the characters allowed after a TLD. Its backtracking
//! order is reproduced step by step:
//!
//! - `before`: C1 is a subset of C0 (checked by the generator), so a match
//!   starts with one C0 character, or at the very start of the text (`^`,
//!   tried after C0 at position 0).
//! - The protocol is all or nothing: without it the domain would start with
//!   `http`, which is followed by `:`, not `.`.
//! - A label runs from where it starts to the next `.` (neither D nor `-`/`_`
//!   contains `.`), so the only choice is how many labels `(L1\.)*` takes:
//!   as many as possible first. For a chain of labels c1..cK that is: the TLD
//!   after cK, else after cK-1, ... ("R" below, memoised per label).
//! - At one TLD position, every gTLD/ccTLD alternative in order, each needing
//!   a following F character or the end; then the punycode TLD. The TLD
//!   alternatives are a table read from the pattern: each of the (at most 18)
//!   prefixes of the text there, case-folded, is looked up, and the first
//!   alternative in the pattern's order that F follows wins.
//! - After the TLD, port, path and query are optional and nothing follows
//!   them, so each takes its own first (leftmost-first) match: the path and
//!   query regexes run anchored at that position.
//!
//! Every candidate position does O(1) work besides the TLD and tail regexes,
//! which run at most once per `.` and once per match: linear in the text.

use std::collections::HashMap;
use std::sync::OnceLock;

use crate::generated as g;

/// A set of characters given as sorted inclusive ranges, with an ASCII bitmap.
pub(crate) struct CharSet {
    ascii: u128,
    table: &'static [(u32, u32)],
}

impl CharSet {
    pub(crate) const fn new(table: &'static [(u32, u32)]) -> Self {
        let mut ascii = 0u128;
        let mut i = 0;
        while i < table.len() {
            let (lo, hi) = table[i];
            let mut c = lo;
            while c <= hi && c < 128 {
                ascii |= 1 << c;
                c += 1;
            }
            i += 1;
        }
        CharSet { ascii, table }
    }

    #[inline]
    pub(crate) fn contains(&self, c: char) -> bool {
        let u = u32::from(c);
        if u < 128 {
            return self.ascii & (1 << u) != 0;
        }
        in_table(self.table, c)
    }
}

pub(crate) fn in_table(table: &[(u32, u32)], c: char) -> bool {
    use std::cmp::Ordering::{Equal, Greater, Less};
    let c = u32::from(c);
    table
        .binary_search_by(|&(lo, hi)| {
            if hi < c {
                Less
            } else if lo > c {
                Greater
            } else {
                Equal
            }
        })
        .is_ok()
}

pub(crate) static PRECEDING: CharSet = CharSet::new(g::TT_URL_PRECEDING_CHARS);
static DOMAIN: CharSet = CharSet::new(g::TT_DOMAIN_CHARS);
static ASCII_DOMAIN: CharSet = CharSet::new(g::TT_ASCII_DOMAIN_CHARS);

/// twitter-text's `spaces` class.
pub(crate) fn is_tt_space(c: char) -> bool {
    matches!(c, '\u{9}'..='\u{D}' | ' ' | '\u{85}' | '\u{A0}' | '\u{1680}' | '\u{180E}' | '\u{2000}'..='\u{200A}')
        || matches!(
            c,
            '\u{2028}' | '\u{2029}' | '\u{202F}' | '\u{205F}' | '\u{3000}'
        )
}

fn build(src: &str) -> Option<regex::Regex> {
    regex::RegexBuilder::new(src)
        .size_limit(64 << 20)
        .dfa_size_limit(64 << 20)
        .build()
        .ok()
}

/// The gTLD/ccTLD alternatives of `TT_TLD` as a table, for `^(?:TLD)F`: the first alternative
/// (in the alternation's order) that a permitted character follows. The 1,574-way regex took
/// 25-50 ms to build, most of the cost of the first post a run renders; this is read from the
/// same pattern in about a millisecond. Every alternative is a fixed sequence of characters or
/// case classes (`[Zz]`, `[\x{421}\x{441}\x{1C83}]`), so it matches at exactly one length.
struct Tlds {
    /// Each character of a case class to the class's smallest character.
    fold: HashMap<char, char>,
    /// A folded alternative to its place in the alternation (the first of equals).
    order: HashMap<String, usize>,
    /// The characters allowed after a TLD (`TT_TLD_FOLLOW`), as sorted ranges.
    follow: Vec<(u32, u32)>,
    /// Characters in the longest alternative.
    longest: usize,
}

fn tlds() -> Option<&'static Tlds> {
    static CELL: OnceLock<Option<Tlds>> = OnceLock::new();
    CELL.get_or_init(|| Tlds::parse(g::TT_TLD, g::TT_TLD_FOLLOW))
        .as_ref()
}

/// One position of a TLD alternative: a character, or a class of them (case variants).
type Atom = Vec<(u32, u32)>;

impl Tlds {
    /// `(?:(?:A|B|…)|(?:C|…))`: groups of alternatives, each a sequence of atoms. `None` for
    /// anything else (a generator change the table must learn about; a test checks it parses).
    fn parse(tld: &str, follow: &str) -> Option<Tlds> {
        let mut alternatives: Vec<Vec<Atom>> = vec![Vec::new()];
        let mut rest = tld;
        let mut depth = 0;
        while let Some(c) = rest.chars().next() {
            if let Some(r) = rest.strip_prefix("(?:") {
                depth += 1;
                // Groups of alternatives in a group, no deeper.
                if depth > 2 {
                    return None;
                }
                rest = r;
                continue;
            }
            rest = &rest[c.len_utf8()..];
            match c {
                ')' => depth -= 1,
                '|' if depth >= 1 => alternatives.push(Vec::new()),
                '[' if !rest.starts_with('^') => {
                    let (class, r) = class(rest)?;
                    alternatives.last_mut()?.push(class);
                    rest = r;
                }
                '\\' => {
                    let (c, r) = escaped(rest)?;
                    alternatives.last_mut()?.push(vec![(c, c)]);
                    rest = r;
                }
                c if c.is_alphanumeric() => {
                    alternatives.last_mut()?.push(vec![(c as u32, c as u32)])
                }
                _ => return None,
            }
        }
        if depth != 0 || alternatives.iter().any(Vec::is_empty) {
            return None;
        }
        // Folding is exact only if the classes are the same or share no character, and no
        // character that stands alone (matched exactly) is in a class.
        let single = |a: &Atom| matches!(a.as_slice(), [(lo, hi)] if lo == hi);
        let mut fold = HashMap::new();
        let mut classes: HashMap<char, Vec<char>> = HashMap::new();
        for atom in alternatives.iter().flatten().filter(|a| !single(a)) {
            let mut chars: Vec<char> = atom
                .iter()
                .flat_map(|&(lo, hi)| (lo..=hi).filter_map(char::from_u32))
                .collect();
            chars.sort_unstable();
            let least = *chars.first()?;
            if classes.entry(least).or_insert_with(|| chars.clone()) != &chars {
                return None;
            }
            for c in chars {
                if *fold.entry(c).or_insert(least) != least {
                    return None;
                }
            }
        }
        let alone = alternatives.iter().flatten().filter(|a| single(a));
        if alone
            .filter_map(|a| char::from_u32(a.first()?.0))
            .any(|c| fold.contains_key(&c))
        {
            return None;
        }
        let (follow, after) = class(follow.strip_prefix('[')?)?;
        if !after.is_empty() {
            return None;
        }
        let mut tlds = Tlds {
            fold,
            order: HashMap::new(),
            follow,
            longest: alternatives.iter().map(Vec::len).max()?,
        };
        for (i, alternative) in alternatives.iter().enumerate() {
            let text: String = alternative
                .iter()
                .map(|atom| {
                    let (c, _) = atom.first()?;
                    char::from_u32(*c).map(|c| tlds.folded(c))
                })
                .collect::<Option<_>>()?;
            tlds.order.entry(text).or_insert(i);
        }
        Some(tlds)
    }

    fn folded(&self, c: char) -> char {
        self.fold.get(&c).copied().unwrap_or(c)
    }

    /// Bytes of the first alternative at the start of `text` that an allowed character (or
    /// the end of the text, which passes like a space) follows.
    fn at(&self, text: &str) -> Option<usize> {
        let mut folded = String::new();
        let mut first: Option<(usize, usize)> = None;
        for (i, c) in text.char_indices().take(self.longest) {
            folded.push(self.folded(c));
            let end = i + c.len_utf8();
            let Some(&order) = self.order.get(&folded) else {
                continue;
            };
            // What follows is looked at only for an alternative that matched.
            let followed = || {
                text[end..]
                    .chars()
                    .next()
                    .is_none_or(|n| in_table(&self.follow, n))
            };
            if first.is_none_or(|(f, _)| order < f) && followed() {
                first = Some((order, end));
            }
        }
        first.map(|(_, end)| end)
    }
}

/// `x{HEX}` (what follows a backslash), and the rest.
fn escaped(s: &str) -> Option<(u32, &str)> {
    let (hex, rest) = s.strip_prefix("x{")?.split_once('}')?;
    Some((u32::from_str_radix(hex, 16).ok()?, rest))
}

/// A character class up to its `]` (what follows the `[`) as sorted ranges, and the rest.
fn class(mut s: &str) -> Option<(Vec<(u32, u32)>, &str)> {
    let one = |s: &mut &str| -> Option<u32> {
        let c = s.chars().next()?;
        *s = &s[c.len_utf8()..];
        if c != '\\' {
            return Some(c as u32);
        }
        let (c, rest) = escaped(s)?;
        *s = rest;
        Some(c)
    };
    let mut ranges = Vec::new();
    loop {
        if let Some(rest) = s.strip_prefix(']') {
            ranges.sort_unstable();
            return Some((ranges, rest));
        }
        let lo = one(&mut s)?;
        let hi = match s.strip_prefix('-') {
            Some(rest) => {
                s = rest;
                one(&mut s)?
            }
            None => lo,
        };
        ranges.push((lo, hi));
    }
}

/// Every alternative of the TLD table, folded (for tests).
#[cfg(test)]
pub(crate) fn tld_words() -> Vec<&'static str> {
    tlds().map_or(Vec::new(), |t| t.order.keys().map(String::as_str).collect())
}

/// End of the gTLD/ccTLD starting at `t` (followed by an F character or the end).
pub(crate) fn tld_end(text: &str, t: usize) -> Option<usize> {
    Some(t + tlds()?.at(text.get(t..)?)?)
}

fn punycode_re() -> Option<&'static regex::Regex> {
    static CELL: OnceLock<Option<regex::Regex>> = OnceLock::new();
    CELL.get_or_init(|| build(&format!("^{}", g::TT_PUNYCODE)))
        .as_ref()
}

/// Makes sure every regex of this module compiles (used by tests).
pub(crate) fn regexes_compile() -> bool {
    tlds().is_some() && punycode_re().is_some() && x_flavor().is_some()
}

fn punycode_end(text: &str, t: usize) -> Option<usize> {
    punycode_re()?.find(text.get(t..)?).map(|m| t + m.end())
}

/// How one regex flavour continues after the domain.
pub(crate) struct Flavor {
    /// `^/path*` (anchored by `^`, run on the rest of the text).
    path: regex::Regex,
    /// `^\?query`.
    query: regex::Regex,
    /// `^(scheme)://`, or None for twitter-text's ASCII `https?://`.
    scheme: Option<regex::Regex>,
}

impl Flavor {
    pub(crate) fn new(path: &str, query: &str, scheme: Option<&str>) -> Option<Flavor> {
        Some(Flavor {
            path: build(&format!("^(?:{path})"))?,
            query: build(&format!("^(?:{query})"))?,
            scheme: match scheme {
                Some(s) => Some(build(&format!("^(?:{s})"))?),
                None => None,
            },
        })
    }

    fn protocol_len(&self, text: &str, u: usize) -> usize {
        let rest = &text.as_bytes()[u..];
        match &self.scheme {
            Some(re) => text
                .get(u..)
                .and_then(|r| re.find(r))
                .map_or(0, |m| m.end()),
            None => {
                let http = rest.len() >= 7 && rest[..4].eq_ignore_ascii_case(b"http");
                if http && rest[4..7] == *b"://" {
                    7
                } else if http
                    && rest.len() >= 8
                    && rest[4].eq_ignore_ascii_case(&b's')
                    && rest[5..8] == *b"://"
                {
                    8
                } else {
                    0
                }
            }
        }
    }

    /// `(?::([0-9]+))?(/path*)?(\?query)?` at `t`: (end, path span).
    fn tail(&self, text: &str, t: usize) -> (usize, Option<(usize, usize)>) {
        let b = text.as_bytes();
        let mut e = t;
        if b.get(e) == Some(&b':') && b.get(e + 1).is_some_and(u8::is_ascii_digit) {
            e += 1;
            while b.get(e).is_some_and(u8::is_ascii_digit) {
                e += 1;
            }
        }
        let mut path = None;
        if b.get(e) == Some(&b'/') {
            if let Some(m) = self.path.find(&text[e..]) {
                path = Some((e, e + m.end()));
                e += m.end();
            }
        }
        if b.get(e) == Some(&b'?') {
            if let Some(m) = self.query.find(&text[e..]) {
                e += m.end();
            }
        }
        (e, path)
    }
}

pub(crate) fn x_flavor() -> Option<&'static Flavor> {
    static CELL: OnceLock<Option<Flavor>> = OnceLock::new();
    CELL.get_or_init(|| Flavor::new(g::TT_URL_PATH, g::TT_URL_QUERY, None))
        .as_ref()
}

/// One match of the URL regex. Byte offsets into the searched text.
#[derive(Clone, Copy, Debug)]
pub(crate) struct UrlHit {
    /// Start of the preceding character (== `url_start` for `^`).
    pub before_start: usize,
    pub url_start: usize,
    /// End of the protocol (== `url_start` without one): the domain starts here.
    pub domain_start: usize,
    /// End of the domain (start of port / path / query).
    pub domain_end: usize,
    pub path: Option<(usize, usize)>,
    /// End of the URL (JS `lastIndex`; a character the TLD lookahead saw is not included).
    pub url_end: usize,
}

#[derive(Clone, Copy)]
struct DomainHit {
    domain_end: usize,
    url_end: usize,
    path: Option<(usize, usize)>,
}

/// The stretch of a label between two dots (or from the word start).
struct Segment {
    /// The `.` that ends it, if any.
    dot: Option<usize>,
    /// Last byte position in the segment holding a character that is neither D, `-` nor `_`.
    last_bad: Option<usize>,
    last_underscore: Option<usize>,
    /// The character before the dot is a D character.
    ends_ok: bool,
}

/// The labels of one word, and the memoised results per label start.
struct Labels {
    segs: Vec<Segment>,
    /// Byte position where segment k starts.
    starts: Vec<usize>,
    /// R(start of segment k), computed lazily from the back.
    r: Vec<Option<Option<DomainHit>>>,
    /// TLD match after the dot of segment k.
    t: Vec<Option<Option<DomainHit>>>,
}

impl Labels {
    fn new(text: &str, word_start: usize, word_end: usize, domain: &CharSet) -> Labels {
        let mut segs = Vec::new();
        let mut starts = vec![word_start];
        let mut cur = Segment {
            dot: None,
            last_bad: None,
            last_underscore: None,
            ends_ok: false,
        };
        let mut prev_ok = false;
        for (i, c) in text[word_start..word_end].char_indices() {
            let i = word_start + i;
            if c == '.' {
                cur.dot = Some(i);
                cur.ends_ok = prev_ok;
                segs.push(std::mem::replace(
                    &mut cur,
                    Segment {
                        dot: None,
                        last_bad: None,
                        last_underscore: None,
                        ends_ok: false,
                    },
                ));
                starts.push(i + 1);
                prev_ok = false;
                continue;
            }
            let d = domain.contains(c);
            if !d && c != '-' && c != '_' {
                cur.last_bad = Some(i);
            }
            if c == '_' {
                cur.last_underscore = Some(i);
            }
            prev_ok = d;
        }
        segs.push(cur);
        let n = segs.len();
        Labels {
            segs,
            starts,
            r: vec![None; n],
            t: vec![None; n],
        }
    }

    /// Segment holding byte position `u`.
    fn seg_of(&self, u: usize) -> usize {
        self.starts.partition_point(|&s| s <= u).saturating_sub(1)
    }

    /// Is `[u, dot of segment k)` an L1 label / an L2 label?
    fn label(&self, text: &str, k: usize, u: usize) -> (bool, bool) {
        let seg = &self.segs[k];
        let Some(dot) = seg.dot else {
            return (false, false);
        };
        let first_ok = text[u..].chars().next().is_some_and(|c| DOMAIN.contains(c));
        let l1 = u < dot && first_ok && seg.ends_ok && seg.last_bad.is_none_or(|b| b < u);
        (l1, l1 && seg.last_underscore.is_none_or(|b| b < u))
    }

    /// TLD or punycode right after the dot of segment k, then the tail.
    fn tld_after(&mut self, text: &str, k: usize, flavor: &Flavor) -> Option<DomainHit> {
        if let Some(hit) = self.t[k] {
            return hit;
        }
        let hit = self.segs[k].dot.and_then(|dot| {
            let t = dot + 1;
            let end = tld_end(text, t).or_else(|| punycode_end(text, t))?;
            let (url_end, path) = flavor.tail(text, end);
            Some(DomainHit {
                domain_end: end,
                url_end,
                path,
            })
        });
        self.t[k] = Some(hit);
        hit
    }

    /// R(start of segment k) for every k > first, from the back (no recursion).
    fn fill(&mut self, text: &str, first: usize, flavor: &Flavor) {
        let n = self.segs.len();
        if self.r[n - 1].is_none() {
            self.r[n - 1] = Some(None);
        }
        for k in (first + 1..n).rev() {
            if self.r[k].is_none() {
                let v = self.domain_at(text, k, self.starts[k], flavor);
                self.r[k] = Some(v);
            }
        }
    }

    /// `(L1\.)* L2\. (TLD|PUNY) tail` starting at `u` in segment k, when
    /// R(start of segment k+1) is known.
    fn domain_at(&mut self, text: &str, k: usize, u: usize, flavor: &Flavor) -> Option<DomainHit> {
        let (l1, l2) = self.label(text, k, u);
        if l1 {
            if let Some(Some(hit)) = self.r.get(k + 1).copied().flatten() {
                return Some(hit);
            }
        }
        if l2 {
            return self.tld_after(text, k, flavor);
        }
        None
    }
}

/// Every match of the URL regex as JS's `exec` loop (or Ruby's `scan`) sees
/// them, resuming at the end of each URL.
///
/// A match cannot contain a twitter-text space before its port/path/query,
/// and its domain has a '.', so only the words with a '.' hold candidates.
pub(crate) fn scan(text: &str, flavor: &Flavor) -> Vec<UrlHit> {
    let mut out = Vec::new();
    if !text.contains('.') {
        return out;
    }
    let mut pos = 0;
    // Each word (between twitter-text spaces) holding a '.', found from its dots.
    let mut done = 0; // words before this byte are handled
    while let Some(d) = text.get(done..).and_then(|rest| rest.find('.')) {
        let dot = done + d;
        let word_start = text[done..dot]
            .char_indices()
            .rev()
            .find(|&(_, c)| is_tt_space(c))
            .map_or(done, |(i, c)| done + i + c.len_utf8());
        let word_end = text[dot..]
            .char_indices()
            .find(|&(_, c)| is_tt_space(c))
            .map_or(text.len(), |(i, _)| dot + i);
        if word_end > pos {
            scan_word(text, word_start, word_end, flavor, &mut pos, &mut out);
        }
        done = word_end;
    }
    out
}

fn scan_word(
    text: &str,
    word_start: usize,
    word_end: usize,
    flavor: &Flavor,
    pos: &mut usize,
    out: &mut Vec<UrlHit>,
) {
    let mut labels = Labels::new(text, word_start, word_end, &DOMAIN);
    labels.fill(text, 0, flavor);
    // Candidates: the character before the word, then each one in it.
    let first = text[..word_start]
        .chars()
        .next_back()
        .map_or(0, |c| word_start - c.len_utf8());
    let mut p = first;
    while p < word_end {
        let Some(c) = text[p..].chars().next() else {
            break;
        };
        let next = p + c.len_utf8();
        if p >= *pos {
            let mut hit = None;
            if PRECEDING.contains(c) && next < word_end {
                hit = url_at(text, next, &mut labels, flavor).map(|h| (p, h));
            }
            if hit.is_none() && p == 0 {
                hit = url_at(text, 0, &mut labels, flavor).map(|h| (0, h));
            }
            if let Some((before_start, (url_start, domain_start, d))) = hit {
                out.push(UrlHit {
                    before_start,
                    url_start,
                    domain_start,
                    domain_end: d.domain_end,
                    path: d.path,
                    url_end: d.url_end,
                });
                *pos = d.url_end;
                if d.url_end >= word_end {
                    return;
                }
                p = d.url_end;
                continue;
            }
        }
        p = next;
    }
}

/// The URL part (after `before`) anchored at `u`.
fn url_at(
    text: &str,
    u: usize,
    labels: &mut Labels,
    flavor: &Flavor,
) -> Option<(usize, usize, DomainHit)> {
    let d = u + flavor.protocol_len(text, u);
    let k = labels.seg_of(d);
    labels.domain_at(text, k, d, flavor).map(|h| (u, d, h))
}

/// twitter-text `validAsciiDomain` (with its TLD lookahead) searched in
/// `domain` from `pos`: the match's byte range, the lookahead character excluded.
///
/// `(?:(?:A+)\.)+(?:TLD(?=F)|PUNY)` with A the ASCII domain characters: the
/// leftmost match starts where a run of A characters starts (or at `pos`);
/// labels are taken greedily as above.
pub(crate) fn ascii_domain_at(domain: &str, pos: usize) -> Option<(usize, usize)> {
    let mut memo: HashMap<usize, Option<usize>> = HashMap::new();
    let mut prev_a = false;
    for (i, c) in domain.get(pos..)?.char_indices() {
        let i = pos + i;
        let a = ASCII_DOMAIN.contains(c);
        if a && !prev_a {
            if let Some(end) = ascii_labels(domain, i, &mut memo) {
                return Some((i, end));
            }
        }
        prev_a = a;
    }
    None
}

/// At `s`: one label `A+\.` then G(after the dot), where G(d) tries another
/// label first, then a TLD at d. Iterative over the chain of labels.
fn ascii_labels(domain: &str, s: usize, memo: &mut HashMap<usize, Option<usize>>) -> Option<usize> {
    // The chain of label ends (positions after each dot) reachable from s.
    let mut chain = Vec::new();
    let mut d = s;
    loop {
        if let Some(&known) = memo.get(&d) {
            if d != s {
                // G(d) is known: unwind the chain on it.
                let mut g = known;
                for &after in chain.iter().rev().skip(1) {
                    g = g.or_else(|| tld_or_puny(domain, after));
                    memo.insert(after, g);
                }
                return if chain.is_empty() { None } else { g };
            }
        }
        let run = domain[d..]
            .char_indices()
            .find(|&(_, c)| !ASCII_DOMAIN.contains(c))
            .map_or(domain.len(), |(i, _)| d + i);
        if run == d || domain.as_bytes().get(run) != Some(&b'.') {
            break;
        }
        d = run + 1;
        chain.push(d);
    }
    // The last label start in the chain has no further label: G = TLD there.
    let mut g: Option<usize> = None;
    for &after in chain.iter().rev() {
        g = g.or_else(|| tld_or_puny(domain, after));
        memo.insert(after, g);
    }
    if chain.is_empty() {
        None
    } else {
        g
    }
}

fn tld_or_puny(domain: &str, t: usize) -> Option<usize> {
    tld_end(domain, t).or_else(|| punycode_end(domain, t))
}

#[cfg(test)]
mod tests {
    use super::Tlds;

    /// What the table cannot stand for is refused (a test elsewhere checks that the generated
    /// pattern parses), not read into a table that matches something else.
    #[test]
    fn the_tld_table_refuses_what_it_cannot_match_exactly() {
        let follow = "[ .]";
        assert!(Tlds::parse("(?:(?:[Cc][Oo][Mm]|[Nn][Ee][Tt])|(?:[Dd][Ee]))", follow).is_some());
        for pattern in [
            "(?:(?:[^c]om))",                 // a negated class
            "(?:(?:c(?:o|m)))",               // a group inside an alternative
            "(?:(?:[Cc]om|[Cc\\x{10D2}]at))", // two different classes sharing a character
            "(?:(?:[Cc]om|cat))",             // a character alone that a class folds
            "(?:(?:com|net)",                 // unbalanced
            "(?:(?:c.m))",                    // a wildcard
        ] {
            assert!(Tlds::parse(pattern, follow).is_none(), "{pattern}");
        }
        assert!(
            Tlds::parse("(?:(?:com))", "[ .]x").is_none(),
            "text after the follow class"
        );
    }
}
