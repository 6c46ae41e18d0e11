//! `smm calendar --html` and `smm preview --html`: the pages a social media manager opens.
//!
//! The month view is checked in a real browser (Debian's headless Chromium, installed by
//! scripts/test): it renders, the known posts are in the DOM, and the page logs no console error.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::support::{self, smm, stderr, stdout, write};

const CHROMIUM: &str = "/usr/bin/chromium";

/// The example calendar's first three months, as of before the first post.
const EXAMPLE_ARGS: [&str; 8] = [
    "--at",
    "2026-11-28T12:00:00Z",
    "--from",
    "2026-12-01",
    "--to",
    "2027-02-28",
    "--html",
    "",
];

/// Writes the example calendar's month view into `dir` and returns the index.html path.
fn example_page(dir: &Path) -> PathBuf {
    let mut args = vec!["-C", "example-calendar", "calendar"];
    let out = dir.to_str().expect("utf-8 temp path");
    args.extend(
        EXAMPLE_ARGS
            .iter()
            .map(|a| if a.is_empty() { out } else { a }),
    );
    let o = smm(&args, &support::repo_root());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("index.html"), "{}", stdout(&o));
    dir.join("index.html")
}

/// Runs headless Chromium on `page` with `args`; returns (stdout, stderr). Panics when Chromium
/// is missing (never skips) or takes longer than a minute.
fn chromium(page: &Path, args: &[&str]) -> (String, String) {
    assert!(
        Path::new(CHROMIUM).is_file(),
        "{CHROMIUM} is missing: run scripts/test (it installs Debian's chromium)"
    );
    // A fresh profile per run; output to files, since a pipe nobody reads while waiting would
    // fill up with a large DOM and stall Chromium.
    let scratch = tempfile::tempdir().expect("profile dir");
    let (out, err) = (scratch.path().join("stdout"), scratch.path().join("stderr"));
    let file = |p: &Path| std::fs::File::create(p).expect("create output file");
    let mut child = Command::new(CHROMIUM)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!(
            "--user-data-dir={}",
            scratch.path().join("profile").display()
        ))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .stdout(file(&out))
        .stderr(file(&err))
        .spawn()
        .expect("start chromium");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if started.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium {args:?} did not finish within 60s");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let read =
        |p: &Path| String::from_utf8_lossy(&std::fs::read(p).expect("read output")).into_owned();
    let (stdout, stderr) = (read(&out), read(&err));
    assert!(status.success(), "chromium {args:?} failed: {stderr}");
    (stdout, stderr)
}

/// Console messages of the page in Chromium's log. Chromium logs every console message, and every
/// uncaught exception as `Uncaught ...`, on a `CONSOLE` line naming the page's source, e.g.
/// `[..:INFO:CONSOLE:12] "Uncaught Error: boom", source: file:///tmp/x/index.html (12)`.
/// The pages log nothing themselves, so any such line is a failure.
fn console_errors(log: &str) -> Vec<&str> {
    log.lines()
        .filter(|l| (l.contains(":CONSOLE") && l.contains("file://")) || l.contains("Uncaught"))
        .collect()
}

/// Text content of an HTML fragment: tags dropped, the entities the page and Chromium's
/// serialiser use decoded.
fn text_content(html: &str) -> String {
    let mut out = String::new();
    let mut rest = html;
    while let Some(lt) = rest.find('<') {
        out.push_str(&rest[..lt]);
        rest = rest[lt..].split_once('>').map_or("", |(_, after)| after);
    }
    out.push_str(rest);
    out.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&nbsp;", "\u{a0}")
        .replace("&amp;", "&")
}

/// The element starting at `open` (e.g. `<dialog id="preview-3"`) up to its `close` tag.
fn element<'h>(html: &'h str, open: &str, close: &str) -> Option<&'h str> {
    let start = html.find(open)?;
    let end = html[start..].find(close)? + start + close.len();
    Some(&html[start..end])
}

/// Every `<div class="text">` in `html`, as text: the exact text of each part. A text div holds
/// only inline elements, so the next `</div>` closes it.
fn part_texts(html: &str) -> Vec<String> {
    html.split("<div class=\"text\">")
        .skip(1)
        .map(|s| text_content(s.split_once("</div>").map_or(s, |(t, _)| t)))
        .collect()
}

/// The value of attribute `name` in the first tag of `html`.
fn attr<'h>(html: &'h str, name: &str) -> Option<&'h str> {
    let tag = &html[..html.find('>')?];
    let at = tag.find(&format!(" {name}=\""))? + name.len() + 3;
    tag[at..].split('"').next()
}

#[test]
fn the_example_month_view_renders_in_headless_chromium_without_console_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let page = example_page(dir.path());
    let html = std::fs::read_to_string(&page).expect("read page");
    // Self-contained: nothing fetched, so it works from file:// and offline.
    for external in ["<link", "<img", "<script src", "@import", "url("] {
        assert!(!html.contains(external), "page loads {external}");
    }

    // (a) a screenshot a person can look at.
    let png = dir.path().join("calendar.png");
    chromium(
        &page,
        &[
            &format!("--screenshot={}", png.display()),
            "--window-size=1280,2000",
        ],
    );
    let bytes = std::fs::read(&png).expect("screenshot written");
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    assert!(
        bytes.len() > 50_000,
        "{} bytes: an empty page?",
        bytes.len()
    );
    if let Some(keep) = std::env::var_os("SMM_KEEP_SCREENSHOT") {
        std::fs::copy(&png, keep).expect("keep screenshot");
    }

    // (b) the DOM after the page's script ran: launch day, 3 December 2026, with its posts.
    let (dom, log) = chromium(&page, &["--dump-dom"]);
    // The cell runs up to the next day's cell.
    let day = dom
        .split_once("<div class=\"day\" id=\"day-2026-12-03\"")
        .and_then(|(_, rest)| rest.split_once("<div class=\"day"))
        .map(|(cell, _)| cell)
        .unwrap_or_else(|| panic!("no 2026-12-03 cell in the DOM:\n{dom}"));
    assert!(day.contains("data-post=\"winter-launch\""), "{day}");
    assert!(day.contains("<time datetime=\"2026-12-03T09:00:00+01:00\">09:00</time>"));
    assert!(day.contains("Winter Blend is here ☕"), "{day}");
    for channel in [
        "bluesky",
        "mastodon",
        "x",
        "discord-community",
        "telegram",
        "slack-team",
    ] {
        assert!(
            day.contains(&format!(
                "<li class=\"st st-scheduled\" title=\"scheduled\">{channel}</li>"
            )),
            "{channel} missing: {day}"
        );
    }
    assert!(dom.contains("<h2>December 2026</h2>") && dom.contains("<h2>February 2027</h2>"));
    assert!(dom.contains("data-campaign-toggle=\"winter-blend-launch\""));

    // (c) no console error or uncaught exception.
    assert_eq!(console_errors(&log), Vec::<&str>::new(), "{log}");
}

/// The detector above must be able to fail: a page that throws, and one that logs an error.
#[test]
fn the_console_error_detector_catches_a_page_that_throws() {
    let dir = tempfile::tempdir().expect("tempdir");
    let page = dir.path().join("bad.html");
    std::fs::write(
        &page,
        "<!DOCTYPE html><title>bad</title><p>x</p>\n<script>\nconsole.error(\"deliberate console error\");\nthrow new Error(\"deliberate failure\");\n</script>\n",
    )
    .expect("write");
    let (_, log) = chromium(&page, &["--dump-dom"]);
    let errors = console_errors(&log);
    assert!(
        errors
            .iter()
            .any(|l| l.contains("Uncaught Error: deliberate failure")),
        "{log}"
    );
    assert!(
        errors
            .iter()
            .any(|l| l.contains("deliberate console error")),
        "{log}"
    );
}

/// Each card opens its own post's preview, and the preview shows exactly the text every channel
/// will get, part by part, with its counted length.
#[test]
fn every_card_opens_the_preview_of_its_post_with_each_channels_exact_text() {
    let dir = tempfile::tempdir().expect("tempdir");
    let page = example_page(dir.path());
    let (dom, _) = chromium(&page, &["--dump-dom"]);
    let report = smm::validate::validate(
        &support::repo_root().join("example-calendar"),
        "2026-11-28T12:00:00Z".parse().expect("time"),
    );
    let cards: Vec<&str> = dom.split("<article ").skip(1).collect();
    assert!(cards.len() >= 20, "{} cards", cards.len());
    let mut channels_checked = 0;
    for card in cards {
        let post = attr(card, "data-post").expect("card names its post");
        let button = &card[card.find("<button").expect("card has a button")..];
        let dialog_id = attr(button, "data-preview").expect("button opens a preview");
        let dialog = element(&dom, &format!("<dialog id=\"{dialog_id}\""), "</dialog>")
            .unwrap_or_else(|| panic!("{post}: no dialog {dialog_id}"));
        assert_eq!(attr(dialog, "data-post"), Some(post), "{dialog}");
        let sections: Vec<&str> = dialog.split("<section class=\"channel\"").skip(1).collect();
        let expected: Vec<&smm::render::Delivery> = report
            .deliveries
            .iter()
            .filter(|d| *d.post_id == *post)
            .collect();
        assert_eq!(sections.len(), expected.len(), "{post}: {dialog}");
        for (section, d) in sections.iter().zip(&expected) {
            assert_eq!(attr(section, "data-channel"), Some(&*d.channel), "{post}");
            let texts: Vec<String> = d.parts.iter().map(|p| p.text.clone()).collect();
            assert_eq!(part_texts(section), texts, "{post}@{}", d.channel);
            for p in d.parts.iter() {
                let m = p.primary().expect("every platform counts");
                let count = format!("{}/{} {}</span>", m.length, m.limit, m.unit);
                assert!(section.contains(&count), "{post}@{}: {count}", d.channel);
            }
            channels_checked += 1;
        }
    }
    assert!(channels_checked >= 60, "{channels_checked}");
}

/// A small workspace with a post that tries to inject a script, for the escaping tests.
fn hostile_workspace() -> tempfile::TempDir {
    let ws = support::workspace(None);
    write(
        ws.path(),
        "posts/hostile.yaml",
        "id: hostile\npublish_at: 2027-03-05 10:00\nchannels: [bluesky, mastodon]\n\
         text: \"<script>alert('x')</script> & <b>bold</b> \\\"quoted\\\" https://acme.tea/a?b=1&c=2 #tea\"\n",
    );
    ws
}

#[test]
fn post_text_is_escaped_in_the_month_view_and_the_preview_page() {
    let ws = hostile_workspace();
    let o = smm(
        &["calendar", "--at", "2027-03-01T08:00:00Z", "--html", "site"],
        ws.path(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // Without --from/--to the month view is the month of --at.
    assert!(
        stdout(&o).contains("(2027-03-01 to 2027-03-31)"),
        "{}",
        stdout(&o)
    );
    let page = std::fs::read_to_string(ws.path().join("site/index.html")).expect("page");
    let out = ws.path().join("hostile.html");
    let o = smm(
        &["preview", "hostile", "--html", out.to_str().expect("utf-8")],
        ws.path(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let preview = std::fs::read_to_string(&out).expect("preview page");
    for html in [&page, &preview] {
        assert_eq!(
            html.matches("<script").count(),
            1,
            "only the page's own script"
        );
        assert!(!html.contains("<b>bold"));
        assert!(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt; &quot;quoted&quot;"));
        assert!(html.contains(
            "<a class=\"link\" href=\"https://acme.tea/a?b=1&amp;c=2\" target=\"_blank\" rel=\"noopener noreferrer\">https://acme.tea/a?b=1&amp;c=2</a>"
        ), "{html}");
        assert!(html.contains("<span class=\"tag\">#tea</span>"), "{html}");
    }
}

#[test]
fn preview_html_shows_each_channels_exact_text_and_counted_length() {
    let out = tempfile::tempdir().expect("tempdir");
    let file = out.path().join("winter-launch.html");
    let o = smm(
        &[
            "-C",
            "example-calendar",
            "preview",
            "winter-launch",
            "--html",
            file.to_str().expect("utf-8"),
        ],
        &support::repo_root(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("(6 channels)"), "{}", stdout(&o));
    let html = std::fs::read_to_string(&file).expect("page");
    let report = smm::validate::validate(
        &support::repo_root().join("example-calendar"),
        jiff::Timestamp::now(),
    );
    let sections: Vec<&str> = html.split("<section class=\"channel\"").skip(1).collect();
    let expected: Vec<&smm::render::Delivery> = report
        .deliveries
        .iter()
        .filter(|d| &*d.post_id == "winter-launch")
        .collect();
    assert_eq!(sections.len(), 6);
    for (section, d) in sections.iter().zip(expected) {
        assert_eq!(attr(section, "data-channel"), Some(&*d.channel));
        let texts: Vec<String> = d.parts.iter().map(|p| p.text.clone()).collect();
        assert_eq!(part_texts(section), texts, "{}", d.channel);
        for m in d.parts.iter().flat_map(|p| &p.measures) {
            assert!(
                section.contains(&format!(
                    "{}/{} {}</span>",
                    m.length,
                    m.limit,
                    smm::html::escape(m.unit)
                )),
                "{}: {m:?}",
                d.channel
            );
        }
        assert!(section.contains("counted as: "), "{section}");
    }
    // Media with alt text, and thread replies, as in the terminal preview.
    assert!(html.contains("<code>media/winter-blend.png</code><br><b>alt:</b> A steaming cup"));
    assert!(html.contains("<span class=\"label\">reply 2</span>"));
    // The browser reads the same six channels, without a console error.
    let (dom, log) = chromium(&file, &["--dump-dom"]);
    assert_eq!(dom.matches("<section class=\"channel\"").count(), 6);
    assert_eq!(console_errors(&log), Vec::<&str>::new(), "{log}");
}

/// The month view of a workspace with every delivery state, conflicts and a published post.
#[test]
fn month_view_snapshot_with_states_conflicts_and_published_links() {
    let ws = crate::plan::scenario();
    let o = smm(
        &[
            "calendar",
            "--at",
            crate::plan::AT,
            "--from",
            "2027-02-15",
            "--to",
            "2027-03-31",
            "--html",
            "site",
        ],
        ws.path(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let html = std::fs::read_to_string(ws.path().join("site/index.html")).expect("page");
    assert!(html.contains(
        "<li class=\"st st-published\" title=\"published\"><a href=\"https://bsky.app/profile/acme.bsky.social/post/1\" target=\"_blank\" rel=\"noopener noreferrer\">bluesky · published ↗</a></li>"
    ), "{html}");
    assert!(html.contains("<article class=\"entry conflict\" data-post=\"unk\""));
    assert!(html.contains("<li>⚠ only 10m after `launch-hello` on `x` (policy: at least 30m)</li>"));
    // The styles and script are constants; the snapshot is the part that depends on the data.
    let body = html
        .split_once("<body>")
        .and_then(|(_, b)| b.split_once("<script>"))
        .map(|(b, _)| b)
        .expect("body");
    insta::assert_snapshot!("calendar_html", body);
}
