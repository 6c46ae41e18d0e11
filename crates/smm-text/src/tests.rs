use super::*;

#[test]
fn generated_regexes_compile() {
    assert!(x::regexes_compile());
}

#[test]
fn platform_names_round_trip() {
    for p in Platform::ALL {
        assert_eq!(Platform::parse(p.as_str()), Some(p));
    }
    assert_eq!(Platform::parse("twitter"), None);
}

fn primary(p: Platform, text: &str) -> Measure {
    measure(p, text, CountOptions::default()).remove(0)
}

// Weighted lengths worked out by hand from twitter-text's config v3 (the same
// rules its conformance suite, validate.yml, exercises).
#[test]
fn x_weighted_length() {
    let w = |s: &str| x::parse_tweet(s).weighted_length;
    assert_eq!(w("Hello world"), 11);
    assert_eq!(w(&"a".repeat(280)), 280);
    assert!(x::parse_tweet(&"a".repeat(280)).valid);
    assert!(!x::parse_tweet(&"a".repeat(281)).valid);
    assert_eq!(w(&"中".repeat(140)), 280);
    assert!(!x::parse_tweet(&"中".repeat(141)).valid);
    assert_eq!(
        w("https://example.com/a/very/long/path/that/is/longer/than/23"),
        23
    );
    assert_eq!(w("see example.com"), 4 + 23);
    assert_eq!(w("😀"), 2);
    assert_eq!(w("👨\u{200D}👩\u{200D}👧\u{200D}👦"), 2);
    assert_eq!(w("🇯🇵"), 2);
    // NFC first: e + combining acute is one character.
    assert_eq!(w("cafe\u{301}"), 4);
    // U+2010..U+201F weigh 1; U+2026 (ellipsis) is outside the ranges.
    assert_eq!(w("\u{2010}"), 1);
    assert_eq!(w("\u{2026}"), 2);
    // Invalid characters make the tweet invalid but still count.
    let p = x::parse_tweet("a\u{FEFF}");
    assert!(!p.valid);
    // U+FEFF is outside the weight-1 ranges.
    assert_eq!(p.weighted_length, 3);
    assert!(!x::parse_tweet("").valid);
    assert_eq!(x::parse_tweet(&"a".repeat(140)).permillage, 500);
}

#[test]
fn x_entities() {
    let spans = entities(Platform::X, "hi @user #tag $AAPL https://example.com/x.");
    let got: Vec<(SpanKind, &str)> = spans.iter().map(|s| (s.kind, s.value.as_str())).collect();
    assert_eq!(
        got,
        [
            (SpanKind::Mention, "user"),
            (SpanKind::Hashtag, "tag"),
            (SpanKind::Hashtag, "$AAPL"),
            (SpanKind::Link, "https://example.com/x")
        ]
    );
    assert_eq!((spans[0].start, spans[0].end), (3, 8));
}

#[test]
fn bluesky_counts_graphemes_and_bytes() {
    let m = measure(
        Platform::Bluesky,
        "héllo 👨\u{200D}👩\u{200D}👧",
        CountOptions::default(),
    );
    assert_eq!(m.len(), 2);
    assert_eq!((m[0].length, m[0].limit, m[0].unit), (7, 300, "graphemes"));
    assert_eq!(
        (m[1].length, m[1].limit, m[1].unit),
        (6 + 1 + 18, 3000, "UTF-8 bytes")
    );
    let long = "é".repeat(1501);
    let m = measure(Platform::Bluesky, &long, CountOptions::default());
    assert!(!m[0].fits() && !m[1].fits());
}

#[test]
fn bluesky_facets() {
    let f = bluesky::detect_facets("hi @alice.bsky.social see example.com/x. #tag!");
    let got: Vec<_> = f
        .iter()
        .map(|f| (f.byte_start, f.byte_end, f.feature.clone()))
        .collect();
    assert_eq!(
        got,
        [
            (
                3,
                21,
                bluesky::FacetFeature::Mention {
                    handle: "alice.bsky.social".into()
                }
            ),
            (
                26,
                39,
                bluesky::FacetFeature::Link {
                    uri: "https://example.com/x".into()
                }
            ),
            (41, 45, bluesky::FacetFeature::Tag { tag: "tag".into() }),
        ]
    );
    // Unknown TLD: not a handle.
    assert!(bluesky::detect_facets("@alice.notatld").is_empty());
}

// Cases after Mastodon's spec/validators/status_length_validator_spec.rb.
#[test]
fn mastodon_length() {
    assert_eq!(mastodon::length(&"a".repeat(500)), 500);
    assert!(!primary(Platform::Mastodon, &"a".repeat(501)).fits());
    // A URL counts 23 however long it is.
    let url = format!("http://{}.com", "b".repeat(490));
    assert_eq!(mastodon::length(&url), 23);
    assert_eq!(mastodon::length(&format!("{} {url}", "a".repeat(476))), 500);
    // Without a scheme it is plain text.
    assert_eq!(mastodon::length("example.com/abc"), 15);
    // A remote mention counts only its local part.
    assert_eq!(
        mastodon::length(&format!(
            "{} @alice@{}.com",
            "a".repeat(475),
            "b".repeat(30)
        )),
        475 + 1 + 6
    );
    assert_eq!(
        mastodon::length("@alice@mastodon.social hi"),
        "@alice hi".len()
    );
    assert_eq!(mastodon::length("@bob hi"), 7);
    // Grapheme clusters, not code points.
    assert_eq!(mastodon::length("👨\u{200D}👩\u{200D}👧\u{200D}👦"), 1);
    assert_eq!(mastodon::length("e\u{301}"), 1);
    // Blank text counts nothing; the content warning counts in full.
    assert_eq!(mastodon::length("   \n"), 0);
    assert_eq!(mastodon::length_with_spoiler("hi", "CW: x"), 7);
    // A per-instance limit.
    let m = measure(
        Platform::Mastodon,
        &"a".repeat(600),
        CountOptions {
            limit: Some(1000),
            caption: false,
        },
    );
    assert!(m[0].fits());
}

#[test]
fn telegram_utf16() {
    assert_eq!(telegram::utf16_len("a"), 1);
    assert_eq!(telegram::utf16_len("中"), 1);
    assert_eq!(telegram::utf16_len("😀"), 2);
    assert_eq!(telegram::utf16_len("👨\u{200D}👩\u{200D}👧\u{200D}👦"), 11);
    let m = primary(Platform::Telegram, &"😀".repeat(2048));
    assert_eq!((m.length, m.limit), (4096, 4096));
    assert!(m.fits());
    let caption = measure(
        Platform::Telegram,
        &"😀".repeat(513),
        CountOptions {
            limit: None,
            caption: true,
        },
    );
    assert_eq!((caption[0].length, caption[0].limit), (1026, 1024));
    assert!(!caption[0].fits());
}

#[test]
fn character_platforms() {
    // Discord, LinkedIn, Threads and Slack count Unicode scalar values.
    let m = primary(Platform::Discord, "e\u{301}😀");
    assert_eq!((m.length, m.limit), (3, 2000));
    assert!(!primary(Platform::Discord, &"a".repeat(2001)).fits());
    assert_eq!(primary(Platform::LinkedIn, "a").limit, 3000);
    assert_eq!(primary(Platform::Threads, "a").limit, 500);
    assert_eq!(primary(Platform::Slack, "a").limit, 40_000);
}

#[test]
fn media_rules_match_the_brief() {
    let b = media_rules(Platform::Bluesky);
    assert_eq!(
        (b.max_items, b.max_image_bytes, b.alt_text),
        (4, 2_000_000, true)
    );
    assert_eq!(media_rules(Platform::X).max_alt_chars, 1000);
    assert!(!media_rules(Platform::Telegram).alt_text);
    assert!(!media_rules(Platform::Slack).alt_text);
    assert_eq!(media_rules(Platform::Discord).max_items, 10);
    assert_eq!(media_rules(Platform::LinkedIn).max_items, 20);
}

/// The hand-written URL scanner against the full twitter-text URL regex it
/// replaces (`TT_URL_PLAIN`, run with captures), on tricky strings.
#[test]
fn url_scanner_matches_the_full_regex() {
    let full = regex::RegexBuilder::new(crate::generated::TT_URL_PLAIN)
        .size_limit(256 << 20)
        .dfa_size_limit(256 << 20)
        .build()
        .expect("TT_URL_PLAIN compiles");
    let Some(flavor) = crate::urlscan::x_flavor() else {
        panic!("x flavor")
    };
    let cases = [
        "see example.com and https://a.b.co.uk/x?y=1#z.",
        "a.b.com.evil",
        "x.comx y.com",
        "foo_bar.baz.com/p",
        "sub_d.example.com",
        "https://sub_domain.example.com/",
        "example.com:8080/x?q=1",
        "example.com:x",
        "xn--bcher-kva.example/ and xn--p1ai.com",
        "test.xn--p1ai/path",
        "中国中文.中国 日本.みんな",
        "例え.jp/パス",
        "(https://example.com/foo_(bar))",
        "a.co.",
        "http://t.co/abc?x=1",
        "https://example.com/?q=a,b&c=",
        "www.x.org/)",
        "x.com/@user/",
        "-example.com",
        ".com",
        "a..com",
        "a.-b.com",
        "ab-.com",
        "a.b",
        "1.2.3.4.com",
        "https://",
        "http://.com",
        "HTTPS://EXAMPLE.COM/UP",
        "ex\u{E000}\u{E001}.com",
        "$example.com #x.com @y.com",
        "\u{200E}example.com",
        "e.comé",
        "e.com-x",
        "e.com+",
        "e.com@",
        "a.b.c.d.e.f.g.h.i.j",
        "ü.com",
        "x ü.com/ä",
    ];
    for text in cases {
        let mut want = Vec::new();
        let mut pos = 0;
        while pos <= text.len() {
            let Some(c) = full.captures_at(text, pos) else {
                break;
            };
            let (Some(url), Some(before)) = (c.get(2), c.get(1)) else {
                break;
            };
            let end = c.get(11).map_or(url.end(), |t| t.start());
            let dom_s = c.get(3).map_or(url.start(), |p| p.end());
            let Some(dom_e) = c.get(4).or(c.get(12)).map(|m| m.start()) else {
                break;
            };
            let path = [6, 8, 14]
                .into_iter()
                .find_map(|i| c.get(i))
                .map(|m| (m.start(), m.end()));
            want.push((before.start(), url.start(), dom_s, dom_e, path, end));
            pos = end;
        }
        let got: Vec<_> = crate::urlscan::scan(text, flavor)
            .into_iter()
            .map(|h| {
                (
                    h.before_start,
                    h.url_start,
                    h.domain_start,
                    h.domain_end,
                    h.path,
                    h.url_end,
                )
            })
            .collect();
        assert_eq!(got, want, "{text:?}");
    }
}

/// The hand-written `validAsciiDomain` search against the full regex.
#[test]
fn ascii_domain_scanner_matches_the_full_regex() {
    let full = regex::RegexBuilder::new(crate::generated::TT_ASCII_DOMAIN_PLAIN)
        .size_limit(256 << 20)
        .dfa_size_limit(256 << 20)
        .build()
        .expect("TT_ASCII_DOMAIN_PLAIN compiles");
    let cases = [
        "example.com",
        "a.b.co.uk",
        "bücher.de",
        "例え.jp",
        "xn--bcher-kva.example",
        "a.b.c.d",
        "ü.com.例え.jp.x.org",
        "foo-.bar.com",
        "a..b.com",
        "a.comx.net",
        "x.co.jp.",
        "é.みんな.com",
        "a_b.com",
        "1.2.3",
    ];
    for domain in cases {
        let mut want = Vec::new();
        let mut pos = 0;
        while pos < domain.len() {
            let Some(c) = full.captures_at(domain, pos) else {
                break;
            };
            let Some(m) = c.get(0) else { break };
            let end = c.get(1).map_or(m.end(), |t| t.start());
            want.push((m.start(), end));
            pos = end.max(m.start() + 1);
        }
        let mut got = Vec::new();
        let mut pos = 0;
        while pos < domain.len() {
            let Some((s, e)) = crate::urlscan::ascii_domain_at(domain, pos) else {
                break;
            };
            got.push((s, e));
            pos = e.max(s + 1);
        }
        assert_eq!(got, want, "{domain:?}");
    }
}

/// Mastodon's URL and mention detection against the fancy-regex version it replaces.
#[test]
fn mastodon_scanner_matches_fancy_regex() {
    let cases = [
        "see https://example.com/path?q=1 and example.org",
        "gemini://example.org/x dat://a.b.com",
        "HTTPS://EXAMPLE.COM/UP",
        "@alice@mastodon.social hi @bob",
        "a=@x /@y é@z",
        "mail me@example.com",
        "https://例え.jp/パス?q=ä\u{A0}x",
        "(https://en.wikipedia.org/wiki/Rust_(programming_language))",
        "https://a.b.c.d/",
        "xhttps://x.com",
        "https://x.comx",
        "http://xn--bcher-kva.example/ ok",
        "https://sub_d.example.com",
        "@user@ @a.b-c_d @@x @x:",
        "ipfs://a.io ssb://x.co",
        "https://example.com:8080/a(b)c?d=e&f=g#h",
        "https://t.co/abc.",
        "😀https://x.com/😀",
        "https://x.com\u{3000}y",
    ];
    for text in cases {
        assert_eq!(
            mastodon::spans(text)
                .into_iter()
                .filter(|e| !matches!(e.kind, x::XEntityKind::Hashtag(_)))
                .collect::<Vec<_>>(),
            mastodon::entities_fancy(text),
            "{text:?}"
        );
    }
}

#[test]
fn analyze_agrees_with_measure_and_entities_on_every_platform() {
    let texts = [
        "Plain words.",
        "Read https://example.org/a?b=c and example.com, ping @alice@mastodon.social #Tea",
        "@bob hi @carol@example.org: #one #two https://x.co ＃three",
        "   ",
        "Emoji 👩‍👩‍👧 and café https://bench.tea/p/1?utm_source=x",
        // Not in NFC (X counts the composed form, extracts from the text as written).
        "Cafe\u{301} https://decomposed.example/cafe\u{301} #cafe\u{301}",
        // Astral characters around a URL (UTF-16 indices differ from bytes).
        "𝒳 https://astral.example/path 𝒳 #𝒳 @x",
    ];
    for platform in Platform::ALL {
        for text in texts {
            for caption in [false, true] {
                let opts = CountOptions {
                    limit: Some(400),
                    caption,
                };
                assert_eq!(
                    analyze(platform, text, opts),
                    (measure(platform, text, opts), entities(platform, text)),
                    "{platform:?} {text:?}"
                );
            }
        }
    }
}

/// The TLD table gives what the regex it replaced gave (`^(?:TT_TLD)TT_TLD_FOLLOW`, run on at
/// most 19 characters with a space for the end of the text): every alternative, as folded,
/// lower- and upper-cased, followed by allowed and refused characters, and near misses.
#[test]
fn tld_table_agrees_with_the_tld_regex() {
    use crate::generated as g;
    let re = regex::RegexBuilder::new(&format!("^(?:{}){}", g::TT_TLD, g::TT_TLD_FOLLOW))
        .size_limit(64 << 20)
        .dfa_size_limit(64 << 20)
        .build()
        .expect("the TLD regex compiles");
    let regex_end = |text: &str| -> Option<usize> {
        let take = text
            .char_indices()
            .nth(g::TT_TLD_MAX_CHARS + 1)
            .map_or(text.len(), |(i, _)| i);
        let hay = if take < text.len() {
            text[..take].to_string()
        } else {
            format!("{text} ")
        };
        let m = re.find(&hay)?;
        let follow = hay[..m.end()].chars().next_back()?;
        Some(m.end() - follow.len_utf8())
    };
    let words = crate::urlscan::tld_words();
    assert!(words.len() > 1500, "{} TLDs", words.len());
    let mut checked = 0;
    for word in &words {
        let variants = [word.to_string(), word.to_lowercase(), word.to_uppercase()];
        let cut: String = word.chars().skip(1).collect();
        for text in variants.iter().chain([&cut]) {
            for after in [
                "", " ", ".", "/", "a", "Z", "1", "-", "_", ":", "é", "x.com", "\u{3000}", "中",
            ] {
                let text = format!("{text}{after}");
                assert_eq!(
                    crate::urlscan::tld_end(&text, 0),
                    regex_end(&text),
                    "{text:?}"
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 60_000, "{checked}");
}
