//! Differential test: smm-text against the official JavaScript libraries
//! (twitter-text 3.1.0 and @atproto/api, pinned in `reference/package.json`).
//!
//! Setup once: `npm ci --prefix crates/smm-text/reference`.
//! A deterministic corpus of generated and hand-picked strings goes to one
//! node process (`reference/reference.js`); every field must agree exactly.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use unicode_normalization::UnicodeNormalization;

use smm_text::{bluesky, x};

const CORPUS_SIZE: usize = 20_000;

mod rng;
use rng::Rng;

const WORDS: &[&str] = &[
    "hello",
    "Hello world",
    "The quick brown fox",
    "naïve café",
    "cafe\u{301}",
    "e\u{301}\u{302}",
    "A\u{30A}",
    "a\u{20DD}",
    "ﬁle",
    "Straße",
    "İstanbul",
    "\u{212A}elvin",
    "\u{17F}ign",
    "Ωmega",
    "Ελληνικά",
    "Русский текст",
    "ÀÉÎÕÜ",
    "x",
    "ok",
    "中文字符",
    "日本語のテキスト",
    "カタカナ",
    "ひらがな",
    "ﾊﾝｶｸ",
    "한국어 텍스트",
    "\u{1100}\u{1161}\u{11A8}",
    "\u{3400}",
    "𠀋𡈽",
    "مرحبا بالعالم",
    "שלום עולם",
    "\u{200F}",
    "\u{061C}",
    "\u{202E}abc\u{202C}",
    "สวัสดีครับ",
    "นํ้า",
    "नमस्ते दुनिया",
    "क्षि",
    "\u{0958}",
    "\u{0915}\u{094D}\u{0937}",
    "ন্ত্র",
    "தமிழ்",
    "ᄀᄀ",
    "👋 hi",
    "123",
    "3.14",
    "2024-01-01",
    "a_b",
    "a-b",
    "~tilde",
    "\u{1F1E6}",
    "\u{E0067}",
    "\u{10FFFD}",
    "\u{FFFD}",
    "\u{2000}",
    "\u{2047}",
    "\u{2033}",
    "\u{1100}",
    "\u{1160}",
];

const EMOJI: &[&str] = &[
    "😀",
    "👍🏽",
    "👨‍👩‍👧‍👦",
    "🇯🇵",
    "🇺🇸",
    "1️⃣",
    "#️⃣",
    "*️⃣",
    "❤",
    "❤️",
    "☺︎",
    "☺️",
    "🏳️‍🌈",
    "🧑🏿‍🚀",
    "👩‍❤️‍💋‍👨",
    "🫠",
    "🫨",
    "🏴󠁧󠁢󠁳󠁣󠁴󠁿",
    "🧑‍🦯",
    "©",
    "©️",
    "™",
    "↔️",
    "🇦🇽🇧",
    "👍🏽👍",
    "🙂\u{FE0E}",
    "⌚",
    "🤷‍♀️",
    "🏃🏻‍♂️",
    "🐕‍🦺",
    "🧔‍♂",
    "🫱🏼‍🫲🏿",
    "🐦‍🔥",
    "🍋‍🟩",
    "\u{1F3FB}",
    "\u{200D}",
    "🇿",
    "✊🏾",
    "⭐",
    "☝",
    "⚡️",
    "🇪🇺",
];

const INVISIBLE: &[&str] = &[
    "\u{200B}", "\u{200C}", "\u{200D}", "\u{FEFF}", "\u{2060}", "\u{AD}", "\u{FFFE}", "\u{FFFF}",
    "\u{FE0F}", "\u{FE0E}", "\u{20E3}", "\u{20E2}", "\u{180E}", "\u{0}", "\u{7}", "\u{7F}",
    "\u{85}",
];

const URLS: &[&str] = &[
    "example.com",
    "example.com/path",
    "https://a.b.co.uk/x?y=1#z",
    "www.x.org",
    "http://xn--bcher-kva.example/",
    "https://bücher.de/",
    "bücher.de",
    "https://t.co/abc123",
    "https://t.co/abcdefghijklmnopqrstuvwxyz0123456789abcdefghij",
    "https://example.com/foo_(bar)",
    "(https://example.com/a)",
    "example.com.",
    "https://example.com/path.",
    "https://example.com/?q=a,b",
    "http://localhost:8080/x",
    "ftp://example.com",
    "HTTPS://EXAMPLE.COM/UP",
    "https://example.com/#hash",
    "example.co.jp",
    "sub.domain.example.museum",
    "https://例え.jp/パス",
    "x.com/@user",
    "https://ja.wikipedia.org/wiki/日本",
    "http://example.com:80/",
    "mailto:a@b.com",
    "a@example.com",
    "192.168.0.1",
    "https://[::1]/",
    "example.c",
    "foo.bar",
    "foo.test",
    "user.bsky.social",
    "google.com/#hashtag",
    "httpbin.org/get",
    ".com",
    "-example.com",
    "example.com/trailing)",
    "test.xn--p1ai",
    "xn--p1ai.com",
    "t.co/abc",
    "https://t.co",
    "https://example.com/a(b)c",
    "https://example.com/a((b))",
    "https://en.wikipedia.org/wiki/Rust_(programming_language)",
    "http://example.com/path?query=1&other=2",
    "https://example.com/@user/post",
    "www.example.com/ünïcödé",
    "https://пример.рф/путь",
    "пример.рф",
    "https://example.com/path!",
    "https://example.com/path?",
    "example.com:",
    "https://user:pass@example.com/",
    "http://a.co",
    "a.co",
    "A.CO",
    "https://example.com/\u{2013}dash",
    "example.com/a%20b",
    "https://sub_domain.example.com/",
    "https://example.com/trailing/",
    "example.com/#!/spa",
    "EXAMPLE.ORG/Path",
    "https://example.com/",
    "dat://example.com/x",
    "gemini://example.org/",
    "https://xn--n3h.com",
    "☃.net",
    "http://☃.net/",
    "https://a.b.c.d.e.f.example.co.uk/deep/path/here.html?x=1&y=2#frag",
    "www.x.org/)",
    "https://example.com/path;x=1",
    "https://example.com/path\u{FF1F}",
    "example.com\u{3002}jp",
    "https://example.com/.well-known/x",
];

const TAGS: &[&str] = &[
    "#tag",
    "#Tag_2",
    "#123",
    "#日本語",
    "#café",
    "#한국어",
    "＃fullwidth",
    "#tag!",
    "#tag.",
    "#a#b",
    "##double",
    "#\u{FE0F}x",
    "#tag's",
    "#🙂",
    "#_underscore",
    "#tag…",
    "#x https://a.com#frag",
    "#1a",
    "#a1",
    "#ab-cd",
    "#ab.cd",
    "#\u{200D}x",
    "#ä",
    "#e\u{301}",
    "#ทดสอบ",
    "#नमस्ते",
    "#Ελλάδα",
    "#русский",
    "#a\u{FE0F}",
    "#tag\u{3000}",
    "#😀tag",
    "#123456",
    "#-",
    "#averyveryveryveryveryveryveryveryveryveryveryveryveryverylongtagthatgoesonandonandon",
    "#\u{AD}x",
    "#tag?",
    "#tag:x",
];

const MENTIONS: &[&str] = &[
    "@user",
    "@user_name",
    "@alice.bsky.social",
    "@user@mastodon.social",
    "@a",
    "@toolongusername_abcdefghijklmnop",
    "＠fullwidth",
    "@user/list-name",
    "RT @user:",
    "email@example.com",
    "@handle.test",
    "@UPPER.Bsky.Social",
    "(@alice.bsky.social)",
    "@alice.bsky.social.",
    "@-bad",
    "@bob.example.com",
    "@x.y",
    "@123",
    "@user/123list",
    "rt@user",
    "@é",
    "@user@",
    "@@user",
    "@alice.bsky.social's",
    "@ alice",
    "@alice.bsky.socialé",
    "@bob_",
];

const CASHTAGS: &[&str] = &[
    "$AAPL",
    "$aapl",
    "$BRK.A",
    "$TOOLONGX",
    "$1",
    "($TSLA)",
    "$TSLA.",
    "$BTC,",
    "$x",
    "$AB_CD",
    "$€",
];

const SEPARATORS: &[&str] = &[
    " ", " ", " ", " ", "\n", "\r\n", "\t", ", ", ". ", "!", "?", "(", ")", "\"", "'", "\u{3000}",
    "\u{A0}", "\u{2028}", "", "...", "—", "…", ": ", "\n\n", "/", "@", "#", "$",
];

fn random_char(rng: &mut Rng) -> char {
    loop {
        let cp = match rng.below(4) {
            0 => rng.below(0x80) as u32,
            1 => rng.below(0x800) as u32,
            2 => rng.below(0x10000) as u32,
            _ => rng.below(0x110000) as u32,
        };
        if let Some(c) = char::from_u32(cp) {
            return c;
        }
    }
}

fn fragment(rng: &mut Rng) -> String {
    let mut s = match rng.below(10) {
        0..=2 => rng.pick(WORDS).to_string(),
        3 => rng.pick(EMOJI).to_string(),
        4 => rng.pick(INVISIBLE).to_string(),
        5 | 6 => rng.pick(URLS).to_string(),
        7 => rng.pick(TAGS).to_string(),
        8 => rng.pick(MENTIONS).to_string(),
        _ => rng.pick(CASHTAGS).to_string(),
    };
    match rng.below(20) {
        0 => s = s.nfd().collect(),
        1 => s = s.to_uppercase(),
        2 => {
            let c = random_char(rng);
            let at = s
                .char_indices()
                .map(|(i, _)| i)
                .nth(rng.below(s.chars().count().max(1)))
                .unwrap_or(0);
            s.insert(at, c);
        }
        _ => {}
    }
    s
}

fn generated(rng: &mut Rng) -> String {
    let mut s = String::new();
    // Mostly short posts; some around the 280/300 limits, a few around the
    // 3000-byte cap (long strings dominate the run time on both sides).
    let target = match rng.below(100) {
        0..=5 => 250 + rng.below(120),
        6 => 2900 + rng.below(300),
        _ => 0,
    };
    let parts = 1 + rng.below(10);
    let mut i = 0;
    while i < parts || s.len() < target {
        if i > 0 {
            s.push_str(rng.pick(SEPARATORS));
        }
        s.push_str(&fragment(rng));
        i += 1;
    }
    s
}

fn hand_picked() -> Vec<String> {
    let mut v: Vec<String> = [
        "",
        " ",
        "\n",
        "a",
        "😀",
        "👨‍👩‍👧‍👦",
        "🇯🇵🇺🇸",
        "\u{FEFF}",
        "\u{FFFE}abc",
        "abc\u{FFFF}",
        "\u{0958}\u{FEFF}",
        "Check out https://example.com and example.org!",
        "(see example.com/a_(b))",
        "http://t.co/abc?x=1 done",
        "@alice.bsky.social @bob.test @carol.invalidtld",
        "#hashtag #123 #日本語 #tag_with_underscore",
        "$AAPL and $msft and $BRK.A",
        "RT @user: hello",
        "@user/list",
        "https://example.com/#hashtag",
        "example.com#not",
        "e\u{301}\u{301}\u{301}",
        "x\u{200D}y",
        "a\u{0308}\u{0301}b",
        "🏳️‍🌈🏳️‍⚧️",
        "1️⃣2️⃣3️⃣",
        "\u{1F469}\u{200D}\u{1F4BB}",
        "日本語のツイートです。",
        "한국어",
        "Ελληνικά",
        "\r\n\r\n",
        "a\u{2028}example.com",
        "x example.com\n#tag",
        "@user@mastodon.social says hi",
        "https://xn--bcher-kva.example/ and xn--bcher.com",
        "www.ümlaut.de",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    // Limits: exactly at and one past each boundary.
    v.push("a".repeat(280));
    v.push("a".repeat(281));
    v.push("中".repeat(140));
    v.push("中".repeat(141));
    v.push("😀".repeat(140));
    v.push("😀".repeat(141));
    v.push("https://example.com/ ".repeat(12));
    v.push("x".repeat(300));
    v.push("x".repeat(301));
    v.push("é".repeat(1500));
    v.push("é".repeat(1501));
    v.push(format!("https://example.com/{}", "a".repeat(4100)));
    v
}

fn corpus() -> Vec<String> {
    let mut rng = Rng(0x005E_ED0F_533D);
    let mut v = hand_picked();
    while v.len() < CORPUS_SIZE {
        v.push(generated(&mut rng));
    }
    v
}

fn reference_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("reference")
}

fn run_reference(corpus: &[String]) -> Vec<Value> {
    let dir = reference_dir();
    const HOWTO: &str =
        "run `npm ci --prefix crates/smm-text/reference` (needs Node 20+ and the npm registry)";
    assert!(
        dir.join("node_modules").join("twitter-text").is_dir()
            && dir
                .join("node_modules")
                .join("@atproto")
                .join("api")
                .is_dir(),
        "the reference libraries are not installed in {}: {HOWTO}",
        dir.display()
    );
    let input = std::env::temp_dir().join(format!("smm-text-corpus-{}.json", std::process::id()));
    std::fs::write(&input, Value::from(corpus.to_vec()).to_string()).expect("write corpus file");
    let out = Command::new("node")
        .arg(dir.join("reference.js"))
        .arg(&input)
        .output()
        .unwrap_or_else(|e| panic!("could not run `node` ({e}): install Node 20+, then {HOWTO}"));
    let _ = std::fs::remove_file(&input);
    assert!(
        out.status.success(),
        "reference.js failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let parsed: Value =
        serde_json::from_slice(&out.stdout).expect("reference.js printed invalid JSON");
    let arr = parsed
        .as_array()
        .expect("reference.js printed no array")
        .clone();
    assert_eq!(
        arr.len(),
        corpus.len(),
        "reference.js answered for a different number of strings"
    );
    arr
}

fn ours(text: &str) -> Value {
    let p = x::parse_tweet(text);
    let xe: Vec<Value> = x::extract_entities(text)
        .into_iter()
        .map(|e| {
            let (kind, value) = match e.kind {
                x::XEntityKind::Url(u) => ("url", u),
                x::XEntityKind::Mention {
                    screen_name,
                    list_slug,
                } => ("mention", screen_name + &list_slug),
                x::XEntityKind::Hashtag(h) => ("hashtag", h),
                x::XEntityKind::Cashtag(c) => ("cashtag", c),
            };
            serde_json::json!([kind, value, e.start, e.end])
        })
        .collect();
    let bf: Vec<Value> = bluesky::detect_facets(text)
        .into_iter()
        .map(|f| {
            let (kind, value) = match f.feature {
                bluesky::FacetFeature::Link { uri } => ("link", uri),
                bluesky::FacetFeature::Mention { handle } => ("mention", handle),
                bluesky::FacetFeature::Tag { tag } => ("tag", tag),
            };
            serde_json::json!([kind, value, f.byte_start, f.byte_end])
        })
        .collect();
    serde_json::json!({
        "x": [p.weighted_length, p.valid, p.permillage, p.valid_range.0, p.valid_range.1, p.display_range.0, p.display_range.1],
        "xe": xe,
        "bg": bluesky::grapheme_length(text),
        "bl": bluesky::byte_length(text),
        "bf": bf,
    })
}

const FIELDS: [(&str, &str); 5] = [
    (
        "x",
        "twitter-text parseTweet [weightedLength, valid, permillage, validRange, displayRange]",
    ),
    ("xe", "twitter-text extractEntitiesWithIndices"),
    ("bg", "RichText.graphemeLength"),
    ("bl", "RichText.length (UTF-8 bytes)"),
    ("bf", "RichText.detectFacetsWithoutResolution"),
];

#[test]
fn agrees_with_official_libraries() {
    let corpus = corpus();
    assert!(corpus.len() >= 20_000);
    let clock = std::time::Instant::now();
    let reference = run_reference(&corpus);
    let node_time = clock.elapsed();
    let clock = std::time::Instant::now();
    let mut report = String::new();
    let mut mismatched_strings = 0;
    let mut per_field = [0usize; FIELDS.len()];
    for (text, want) in corpus.iter().zip(&reference) {
        let got = ours(text);
        let mut bad = false;
        for (i, (field, what)) in FIELDS.iter().enumerate() {
            if got[field] != want[field] {
                per_field[i] += 1;
                if !bad && mismatched_strings < 20 {
                    let _ = writeln!(report, "\n{text:?}");
                }
                if mismatched_strings < 20 {
                    let _ = writeln!(
                        report,
                        "  {what}:\n    reference: {}\n    smm-text:  {}",
                        want[field], got[field]
                    );
                }
                bad = true;
            }
        }
        if bad {
            mismatched_strings += 1;
        }
    }
    let summary: Vec<String> = FIELDS
        .iter()
        .zip(per_field)
        .map(|((f, _), n)| format!("{f}: {n}"))
        .collect();
    assert!(
        mismatched_strings == 0,
        "{mismatched_strings} of {} strings disagree with the reference ({}); first ones:\n{report}",
        corpus.len(),
        summary.join(", ")
    );
    eprintln!(
        "smm-text agrees with twitter-text and @atproto/api on all {} strings (node {node_time:?}, smm-text {:?})",
        corpus.len(),
        clock.elapsed()
    );
}
