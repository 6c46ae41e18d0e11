//! Adversarial inputs: every platform's `measure` + `entities` must stay
//! linear (doubling a case about doubles its time).
//!
//! `cargo run --release -p smm-text --example adversarial`

use smm_text::{entities, measure, CountOptions, Platform};
use std::time::Instant;
fn main() {
    let cases: Vec<(&str, String)> = vec![
        ("a. x3000", "a.".repeat(1500)),
        ("a. x6000", "a.".repeat(3000)),
        ("emoji x2", "😀\u{FE0E}".repeat(2000)),
        ("urls x2", "x.com ".repeat(1000)),
        ("a.b.c words", "a.b.c ".repeat(500)),
        ("cjk.com", format!("{}.com", "中".repeat(3000))),
        ("cjk-dots", "中.".repeat(1500)),
        ("@ x3000", "@".repeat(3000)),
        ("#a x1500", "#a".repeat(1500)),
        ("https:// x300", "https://".repeat(300)),
        ("x.com/( x", format!("x.com/{}", "(a".repeat(1500))),
        ("url?q x", format!("https://x.com/?{}", "a=b&".repeat(750))),
        ("urls", "x.com ".repeat(500)),
        ("emoji", "😀\u{FE0E}".repeat(1000)),
        ("keycap", "1\u{FE0F}".repeat(1500)),
        ("$ x", "$A ".repeat(1000)),
        ("xn--", format!("xn--{}.com", "a.xn--".repeat(500))),
        ("a-.b", "a-_.".repeat(750)),
    ];
    for p in Platform::ALL {
        std::hint::black_box(entities(p, "warm up https://x.com/ 😀 #a @b"));
        std::hint::black_box(measure(
            p,
            "warm up https://x.com/ 😀 #a @b",
            CountOptions::default(),
        ));
    }
    for (name, text) in &cases {
        let t = Instant::now();
        for p in Platform::ALL {
            std::hint::black_box(measure(p, text, CountOptions::default()));
            std::hint::black_box(entities(p, text));
        }
        println!("{name:<14} {:>6} bytes  {:>10.2?}", text.len(), t.elapsed());
    }
}
