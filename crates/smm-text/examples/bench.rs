//! Micro-benchmark of `measure` + `entities` per platform on ~2,000
//! deterministic, realistic social posts.
//!
//! `cargo run --release -p smm-text --example bench`

use std::hint::black_box;
use std::time::{Duration, Instant};

use smm_text::{entities, measure, CountOptions, Platform};

#[path = "../tests/rng/mod.rs"]
mod rng;
use rng::Rng;

const EN: &[&str] = &[
    "Our new release is out today, with faster builds and a cleaner config format.",
    "We spent the last month rewriting the scheduler; here is what we learned.",
    "Join us next Tuesday for a live Q&A about the roadmap.",
    "Big thanks to everyone who filed bugs during the beta!",
    "Three tips for writing release notes people actually read:",
    "The conference talk recording is now online.",
];
const DE: &[&str] = &[
    "Unser neues Release ist da: schnellere Builds und eine übersichtlichere Konfiguration.",
    "Wir haben den Planer komplett neu geschrieben – hier die wichtigsten Erkenntnisse.",
    "Am Dienstag beantworten wir eure Fragen zur Roadmap. Schaut vorbei!",
    "Größere Änderungen kündigen wir künftig früher an.",
];
const JA: &[&str] = &[
    "新しいリリースを公開しました。ビルドが速くなり、設定もシンプルになりました。",
    "来週火曜日にロードマップについてのライブQ&Aを行います。",
    "ベータ期間中にバグを報告してくださった皆さん、ありがとうございました！",
];
const EMOJI: &[&str] = &["🚀", "🎉", "👍🏽", "❤️", "✨", "👨‍💻", "🇩🇪", "🔥", ""];
const DOMAINS: &[&str] = &[
    "example.com",
    "blog.example.org",
    "www.smm-tool.dev",
    "docs.example.co.uk",
    "shop.example.de",
];
const PATHS: &[&str] = &[
    "/blog/2024/06/new-release",
    "/changelog",
    "/events/roadmap-qa",
    "/p/12345",
    "",
];
const TAGS: &[&str] = &[
    "#release",
    "#rustlang",
    "#opensource",
    "#DevOps",
    "#Veröffentlichung",
    "#新機能",
    "#launch2024",
];
const MENTIONS: &[&str] = &[
    "@alice",
    "@bob_dev",
    "@smm.bsky.social",
    "@carol@mastodon.social",
    "",
];

fn url(rng: &mut Rng) -> String {
    let scheme = match rng.below(3) {
        0 => "",
        1 => "http://",
        _ => "https://",
    };
    let mut u = format!("{scheme}{}{}", rng.pick(DOMAINS), rng.pick(PATHS));
    if rng.below(3) > 0 {
        u.push_str(&format!(
            "?utm_source={}&utm_medium=social&utm_campaign=summer_launch_{}&utm_content=post{}",
            rng.pick(&["x", "bluesky", "mastodon", "linkedin"]),
            rng.below(100),
            rng.below(10000)
        ));
    }
    u
}

fn post(rng: &mut Rng) -> String {
    let body = match rng.below(10) {
        0..=5 => rng.pick(EN),
        6..=7 => rng.pick(DE),
        _ => rng.pick(JA),
    };
    let mut s = format!("{body} {}", rng.pick(EMOJI));
    if rng.below(4) > 0 {
        s.push(' ');
        s.push_str(rng.pick(body_extra()));
    }
    for _ in 0..1 + rng.below(2) {
        s.push(' ');
        s.push_str(&url(rng));
    }
    for _ in 0..rng.below(3) {
        s.push(' ');
        s.push_str(rng.pick(TAGS));
    }
    let m = rng.pick(MENTIONS);
    if !m.is_empty() {
        s.push_str(" cc ");
        s.push_str(m);
    }
    s
}

fn body_extra() -> &'static [&'static str] {
    &[
        "More details in the thread below.",
        "Read more:",
        "Feedback welcome.",
        "Details hier:",
        "詳しくはこちら：",
    ]
}

fn main() {
    let mut rng = Rng(42);
    let posts: Vec<String> = (0..2000).map(|_| post(&mut rng)).collect();
    let avg = posts.iter().map(|p| p.chars().count()).sum::<usize>() / posts.len();
    println!("{} posts, average {avg} chars", posts.len());
    let runs: usize = std::env::var("BENCH_RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(7);
    let only = std::env::args().nth(1);
    for platform in Platform::ALL {
        if only.as_deref().is_some_and(|o| o != platform.as_str()) {
            continue;
        }
        let mut m_times = Vec::new();
        let mut e_times = Vec::new();
        for _ in 0..runs {
            let t = Instant::now();
            for p in &posts {
                black_box(measure(platform, black_box(p), CountOptions::default()));
            }
            m_times.push(t.elapsed());
            let t = Instant::now();
            for p in &posts {
                black_box(entities(platform, black_box(p)));
            }
            e_times.push(t.elapsed());
        }
        let median = |v: &mut Vec<Duration>| {
            v.sort();
            v[v.len() / 2] / posts.len() as u32
        };
        let (m, e) = (median(&mut m_times), median(&mut e_times));
        // The fastest run too: less sensitive to other load on the machine.
        let (m_min, e_min) = (
            m_times[0] / posts.len() as u32,
            e_times[0] / posts.len() as u32,
        );
        println!(
            "{:<9} measure {m:>10.2?}/post (min {m_min:>9.2?})   entities {e:>10.2?}/post (min {e_min:>9.2?})",
            platform.as_str(),
        );
    }
}
