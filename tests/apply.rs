//! `smm apply` against a real Bluesky PDS (started by the test, see support/pds.rs) with the
//! state in a git repository that pushes to a bare remote, as in CI.

use std::path::Path;
use std::process::Output;

use serde_json::Value;

use crate::support::pds::Pds;
use crate::support::{self, git, http_get, stderr, stdout, write};

/// The due time of the posts below is 2027-03-02 09:00 Berlin (08:00Z); apply runs 5 minutes later.
const AT: &str = "2027-03-02T08:05:00Z";
const PASSWORD_VAR: &str = "SMM_TEST_BSKY_APP_PASSWORD";

/// A content repository with one Bluesky channel pointing at the PDS, cloned from a bare remote.
struct Setup {
    remote: tempfile::TempDir,
    work: tempfile::TempDir,
}

fn settings(pds: &Pds) -> String {
    format!(
        "brand: Acme Tea\ntimezone: Europe/Berlin\nchannels:\n  bluesky:\n    platform: bluesky\n    account: {}\n    base_url: {}\n    credentials: {{ password: {PASSWORD_VAR} }}\ndefaults:\n  channels: [bluesky]\n",
        pds.handle, pds.url
    )
}

fn setup(pds: &Pds, posts: &[(&str, &str)]) -> Setup {
    let remote = support::bare_remote(&settings(pds), posts);
    let work = support::clone(remote.path());
    Setup { remote, work }
}

fn apply(pds: &Pds, root: &Path, extra: &[&str]) -> Output {
    apply_at(pds, root, AT, extra)
}

fn apply_at(pds: &Pds, root: &Path, at: &str, extra: &[&str]) -> Output {
    let mut args = vec!["apply", "--at", at];
    args.extend_from_slice(extra);
    std::process::Command::new(env!("CARGO_BIN_EXE_smm"))
        .args(&args)
        .current_dir(root)
        .env("NO_COLOR", "1")
        .env(PASSWORD_VAR, &pds.app_password)
        .output()
        .expect("run smm apply")
}

/// Every post record in the PDS account, oldest first.
fn records(pds: &Pds) -> Vec<Value> {
    let url = format!("{}/xrpc/com.atproto.repo.listRecords?repo={}&collection=app.bsky.feed.post&limit=100&reverse=true", pds.url, pds.did);
    let body = http_get(&url);
    let v: Value = serde_json::from_slice(&body).expect("json");
    v["records"].as_array().cloned().unwrap_or_default()
}

const LAUNCH: &str = "id: launch\npublish_at: 2027-03-02 09:00\ntext: \"Spring tea is here! https://acme.tea/spring #tea with @alice.test\"\nmedia:\n  - { file: media/cup.png, alt: A cup of green tea on a wooden table }\n";
const THREAD: &str = "id: story\npublish_at: 2027-03-02 08:58\ntext: How we pick tea, a thread.\nthread:\n  - First, the leaves are picked by hand.\n  - Then they dry for two days.\n";

#[test]
fn apply_publishes_to_a_real_pds_exactly_once_and_records_it_in_git() {
    let pds = Pds::start();
    let s = setup(
        &pds,
        &[("posts/launch.yaml", LAUNCH), ("posts/story.yaml", THREAD)],
    );
    let root = s.work.path();

    let o = apply(&pds, root, &[]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    let recs = records(&pds);
    assert_eq!(recs.len(), 4, "one post + a thread of three: {recs:#?}");

    // The post: text, facets as UTF-8 byte ranges, the image's bytes and alt text.
    let launch = recs
        .iter()
        .find(|r| {
            r["value"]["text"]
                .as_str()
                .is_some_and(|t| t.starts_with("Spring tea"))
        })
        .expect("launch post");
    let text = launch["value"]["text"].as_str().expect("text");
    let facets = launch["value"]["facets"].as_array().expect("facets");
    let mut seen: Vec<(String, String)> = facets
        .iter()
        .map(|f| {
            let (a, b) = (
                f["index"]["byteStart"].as_u64().expect("start") as usize,
                f["index"]["byteEnd"].as_u64().expect("end") as usize,
            );
            (
                text[a..b].to_string(),
                f["features"][0]["$type"]
                    .as_str()
                    .expect("type")
                    .to_string(),
            )
        })
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        [
            (
                "#tea".to_string(),
                "app.bsky.richtext.facet#tag".to_string()
            ),
            (
                "@alice.test".to_string(),
                "app.bsky.richtext.facet#mention".to_string()
            ),
            (
                "https://acme.tea/spring".to_string(),
                "app.bsky.richtext.facet#link".to_string()
            ),
        ]
    );
    let mention = facets
        .iter()
        .find(|f| f["features"][0]["did"].is_string())
        .expect("mention");
    assert_eq!(mention["features"][0]["did"], pds.did.as_str());
    let image = &launch["value"]["embed"]["images"][0];
    assert_eq!(image["alt"], "A cup of green tea on a wooden table");
    let cid = image["image"]["ref"]["$link"].as_str().expect("blob cid");
    let blob = http_get(&format!(
        "{}/xrpc/com.atproto.sync.getBlob?did={}&cid={cid}",
        pds.url, pds.did
    ));
    assert_eq!(
        blob,
        std::fs::read(root.join("media/cup.png")).expect("png"),
        "the image arrives byte for byte"
    );

    // The thread: replies point at their root and parent.
    let by_text = |t: &str| {
        recs.iter()
            .find(|r| r["value"]["text"] == t)
            .unwrap_or_else(|| panic!("no record {t:?}"))
    };
    let first = by_text("How we pick tea, a thread.");
    let second = by_text("First, the leaves are picked by hand.");
    let third = by_text("Then they dry for two days.");
    assert!(first["value"]["reply"].is_null());
    assert_eq!(second["value"]["reply"]["root"]["uri"], first["uri"]);
    assert_eq!(second["value"]["reply"]["parent"]["uri"], first["uri"]);
    assert_eq!(third["value"]["reply"]["root"]["uri"], first["uri"]);
    assert_eq!(third["value"]["reply"]["parent"]["uri"], second["uri"]);
    assert_eq!(third["value"]["reply"]["parent"]["cid"], second["cid"]);

    // Recorded in git and pushed: a fresh clone knows, so a second apply publishes nothing.
    let again = support::clone(s.remote.path());
    let o = apply(&pds, again.path(), &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(records(&pds).len(), 4, "nothing is published twice");
    let status = support::smm(&["status", "--at", AT], again.path());
    let status = stdout(&status);
    assert!(
        status.contains("published")
            && status.contains("https://bsky.app/profile/alice.test/post/"),
        "{status}"
    );
    let log = git(&["log", "--format=%B", "origin/smm-state"], again.path());
    assert!(
        log.contains("intent launch@bluesky") && log.contains("result launch@bluesky"),
        "{log}"
    );

    assert_no_secret(&pds, again.path(), &[&o]);
}

/// The app password appears in no output and no file of the state branch.
fn assert_no_secret(pds: &Pds, root: &Path, outputs: &[&Output]) {
    for o in outputs {
        let all = format!("{}{}", stdout(o), stderr(o));
        assert!(
            !all.contains(&pds.app_password),
            "the app password leaked into output:\n{all}"
        );
    }
    for file in git(&["ls-tree", "-r", "--name-only", "origin/smm-state"], root).lines() {
        let text = git(&["show", &format!("origin/smm-state:{file}")], root);
        assert!(
            !text.contains(&pds.app_password),
            "the app password is in {file}"
        );
    }
    let log = git(&["log", "--format=%B", "origin/smm-state"], root);
    assert!(
        !log.contains(&pds.app_password),
        "the app password is in a commit message"
    );
}

/// Keys and outcomes recorded on the remote's state branch, per delivery.
fn recorded_events(root: &Path, key_path: &str) -> Vec<String> {
    git(
        &[
            "fetch",
            "--quiet",
            "origin",
            "+refs/heads/smm-state:refs/remotes/origin/smm-state",
        ],
        root,
    );
    let text = git(
        &["show", &format!("origin/smm-state:deliveries/{key_path}")],
        root,
    );
    text.lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).expect("json line")["event"]
                .as_str()
                .expect("event")
                .to_string()
        })
        .collect()
}

#[test]
fn an_interrupted_run_is_reconciled_without_a_second_post() {
    let pds = Pds::start();
    let s = setup(&pds, &[("posts/launch.yaml", LAUNCH)]);
    let root = s.work.path();
    // A run published the post, then died before recording the result: only its intent is there.
    let o = apply(&pds, root, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(records(&pds).len(), 1);
    let crashed = support::clone(s.remote.path());
    git(
        &["fetch", "--quiet", "origin", "smm-state:smm-state"],
        crashed.path(),
    );
    git(&["checkout", "--quiet", "smm-state"], crashed.path());
    let file = crashed.path().join("deliveries/bluesky/launch.jsonl");
    let lines: Vec<String> = std::fs::read_to_string(&file)
        .expect("read")
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(lines.len(), 2, "intent and result: {lines:?}");
    // Keep the intent, drop the result, and make its lease expire, as after a crash.
    let intent = lines[0].replace(
        "\"lease_until\":\"",
        "\"lease_until\":\"2000-01-01T00:00:00Z\",\"old_lease\":\"",
    );
    std::fs::write(&file, format!("{intent}\n")).expect("write");
    git(
        &[
            "commit",
            "--quiet",
            "-am",
            "simulate a crash after the request",
        ],
        crashed.path(),
    );
    git(
        &["push", "--quiet", "--force", "origin", "smm-state"],
        crashed.path(),
    );

    let fresh = support::clone(s.remote.path());
    let o = apply(&pds, fresh.path(), &[]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    assert!(
        stderr(&o).contains("found launch@bluesky"),
        "{}",
        stderr(&o)
    );
    assert_eq!(
        records(&pds).len(),
        1,
        "the post is found, not published again"
    );
    assert_eq!(
        recorded_events(fresh.path(), "bluesky/launch.jsonl"),
        ["intent", "published"]
    );
}

#[test]
fn an_intent_that_never_reached_the_platform_is_published_once() {
    let pds = Pds::start();
    let s = setup(&pds, &[("posts/launch.yaml", LAUNCH)]);
    let crashed = support::clone(s.remote.path());
    // A run recorded its intent and died before sending anything.
    git(
        &["checkout", "--quiet", "--orphan", "smm-state"],
        crashed.path(),
    );
    git(&["rm", "-rq", "--cached", "."], crashed.path());
    for entry in std::fs::read_dir(crashed.path()).expect("dir") {
        let p = entry.expect("entry").path();
        if p.file_name().is_some_and(|n| n != ".git") {
            if p.is_dir() {
                std::fs::remove_dir_all(&p).expect("rm")
            } else {
                std::fs::remove_file(&p).expect("rm")
            }
        }
    }
    write(
        crashed.path(),
        "deliveries/bluesky/launch.jsonl",
        "{\"at\":\"2027-03-02T08:01:00Z\",\"event\":\"intent\",\"content_hash\":\"sha256:x\",\"attempt\":1,\"texts\":[],\"lease_until\":\"2027-03-02T08:02:00Z\"}\n",
    );
    git(&["add", "."], crashed.path());
    git(
        &["commit", "--quiet", "-m", "intent from a run that died"],
        crashed.path(),
    );
    git(&["push", "--quiet", "origin", "smm-state"], crashed.path());

    let o = apply(&pds, s.work.path(), &[]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    assert_eq!(records(&pds).len(), 1, "published once after looking");
    let events = recorded_events(s.work.path(), "bluesky/launch.jsonl");
    assert_eq!(events.first().map(String::as_str), Some("intent"));
    assert_eq!(
        events.last().map(String::as_str),
        Some("published"),
        "{events:?}"
    );
}

#[test]
fn frozen_stale_and_wrong_branch_publish_nothing() {
    let pds = Pds::start();
    let s = setup(&pds, &[("posts/launch.yaml", LAUNCH)]);
    let root = s.work.path();

    let o = support::smm(&["freeze", "--reason", "crisis: hold everything"], root);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = apply(&pds, support::clone(s.remote.path()).path(), &[]);
    assert_eq!(
        o.status.code(),
        Some(6),
        "frozen for every clone: {}",
        stderr(&o)
    );
    assert!(
        stderr(&o).contains("crisis: hold everything"),
        "{}",
        stderr(&o)
    );
    assert_eq!(records(&pds).len(), 0);
    assert_eq!(support::smm(&["unfreeze"], root).status.code(), Some(0));

    // A saved plan is bound to the content commit: a new commit makes it stale.
    let plan = root.join("../plan.json");
    let o = support::smm(
        &["plan", "--at", AT, "--out", plan.to_str().expect("utf-8")],
        root,
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    write(
        root,
        "posts/extra.yaml",
        "publish_at: 2027-03-10 10:00\ntext: Later.\n",
    );
    git(&["add", "."], root);
    git(&["commit", "--quiet", "-m", "another post"], root);
    let o = apply(&pds, root, &[plan.to_str().expect("utf-8")]);
    assert_eq!(o.status.code(), Some(5), "{}", stderr(&o));
    assert!(stderr(&o).contains("stale"), "{}", stderr(&o));
    assert_eq!(records(&pds).len(), 0);

    // Expired: a plan made now, applied after its window.
    let o = support::smm(
        &["plan", "--at", AT, "--out", plan.to_str().expect("utf-8")],
        root,
    );
    assert_eq!(o.status.code(), Some(0));
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_smm"))
        .args([
            "apply",
            "--at",
            "2027-03-02T10:00:00Z",
            plan.to_str().expect("utf-8"),
        ])
        .current_dir(root)
        .env(PASSWORD_VAR, &pds.app_password)
        .output()
        .expect("run");
    assert_eq!(o.status.code(), Some(5), "{}", stderr(&o));
    assert!(stderr(&o).contains("expired"), "{}", stderr(&o));

    // The saved plan, still current: exactly that is published.
    let o = apply(&pds, root, &[plan.to_str().expect("utf-8")]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(records(&pds).len(), 1);

    git(&["checkout", "--quiet", "-b", "feature"], root);
    let o = apply(&pds, root, &[]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("apply publishes from `main`"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn a_missing_secret_sends_nothing_and_says_which_variable() {
    let pds = Pds::start();
    let s = setup(&pds, &[("posts/launch.yaml", LAUNCH)]);
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_smm"))
        .args(["apply", "--at", AT])
        .current_dir(s.work.path())
        .env_remove(PASSWORD_VAR)
        .output()
        .expect("run");
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(stderr(&o).contains(PASSWORD_VAR), "{}", stderr(&o));
    assert_eq!(records(&pds).len(), 0);
}

/// A post cache changed by hand (its checksum made to match) gives other content than the hash
/// it keeps: apply stops before publishing it; without the cache the post goes out as written.
#[test]
fn a_cache_entry_changed_by_hand_is_not_published() {
    let pds = Pds::start();
    let s = setup(&pds, &[("posts/launch.yaml", LAUNCH)]);
    let root = s.work.path();
    // Files settled, so their stamps are recorded and the cached entry is used.
    std::thread::sleep(std::time::Duration::from_millis(2100));
    let o = support::smm(&["validate", "--at", AT], root);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));

    let dir = root.join(".git/smm");
    let cache = std::fs::read_dir(&dir)
        .expect("cache folder")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "cache"))
        .expect("a post cache");
    let texts_file = cache.with_extension("texts");
    let mut bytes = std::fs::read(&cache).expect("read cache");
    let mut texts = std::fs::read(&texts_file).expect("read texts");
    // Each entry's texts are changed and their checksum made to match.
    let mut at = support::cache_entries_start(&bytes);
    let mut changed = 0;
    let field = |b: &[u8], range: std::ops::Range<usize>| {
        let mut n = [0; 8];
        n[..range.len()].copy_from_slice(&b[range]);
        u64::from_le_bytes(n) as usize
    };
    let fields = |r: std::ops::Range<usize>, at: usize| at + r.start..at + r.end;
    while at < bytes.len() {
        use support::entry_head::*;
        let len = field(&bytes, fields(LEN, at));
        let (start, texts_len) = (
            field(&bytes, fields(TEXTS_AT, at)),
            field(&bytes, fields(TEXTS_LEN, at)),
        );
        let block = start..start + texts_len;
        for i in block.clone() {
            if texts[i..].starts_with(b"Spring tea") {
                texts[i] = b'Z';
                changed += 1;
            }
        }
        let sum = xxhash_rust::xxh3::xxh3_64(&texts[block]).to_le_bytes();
        bytes[fields(TEXTS_CHECK, at)].copy_from_slice(&sum);
        at += SIZE + len;
    }
    assert!(changed > 0, "the post's text is in the cache");
    std::fs::write(&texts_file, texts).expect("write texts");
    std::fs::write(&cache, bytes).expect("write cache");

    let o = apply(&pds, root, &[]);
    assert_eq!(o.status.code(), Some(1), "{}{}", stdout(&o), stderr(&o));
    assert!(
        stderr(&o).contains("stopped before publishing launch@bluesky: the post cache gave it content that does not match its hash"),
        "{}",
        stderr(&o)
    );
    assert_eq!(records(&pds).len(), 0, "nothing published");

    let o = std::process::Command::new(env!("CARGO_BIN_EXE_smm"))
        .args(["apply", "--at", AT])
        .current_dir(root)
        .env("NO_COLOR", "1")
        .env("SMM_NO_CACHE", "1")
        .env(PASSWORD_VAR, &pds.app_password)
        .output()
        .expect("run smm apply");
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    let posted = records(&pds);
    assert_eq!(posted.len(), 1, "published once");
    assert!(
        posted[0]["value"]["text"]
            .as_str()
            .is_some_and(|t| t.starts_with("Spring tea is here!")),
        "{posted:?}"
    );
}

/// Posts all due at AT, on one channel, with texts unique to `tag`.
fn many_posts(tag: &str, n: usize) -> Vec<(String, String)> {
    (0..n)
        .map(|i| {
            let thread = if i % 3 == 0 { format!("thread:\n  - \"{tag} post {i}, reply\"\n") } else { String::new() };
            (format!("posts/{tag}-{i}.yaml"), format!("id: {tag}-{i}\npublish_at: 2027-03-02 09:0{}\ntext: \"{tag} post {i}\"\n{thread}", i % 5))
        })
        .collect()
}

/// Each expected text appears exactly once among the PDS's records.
fn assert_exactly_once(pds: &Pds, posts: &[(String, String)], tag: &str) {
    let recs = records(pds);
    let texts: Vec<&str> = recs
        .iter()
        .filter_map(|r| r["value"]["text"].as_str())
        .filter(|t| t.starts_with(tag))
        .collect();
    for (i, _) in posts.iter().enumerate() {
        for want in [format!("{tag} post {i}"), format!("{tag} post {i}, reply")] {
            if want.ends_with("reply") && i % 3 != 0 {
                continue;
            }
            let n = texts.iter().filter(|t| **t == want).count();
            assert_eq!(
                n, 1,
                "{want:?} is on the platform {n} times; all: {texts:#?}"
            );
        }
    }
}

fn spawn_apply(pds: &Pds, root: &Path, at: &str) -> std::process::Child {
    std::process::Command::new(env!("CARGO_BIN_EXE_smm"))
        .args(["apply", "--at", at])
        .current_dir(root)
        .env("NO_COLOR", "1")
        .env(PASSWORD_VAR, &pds.app_password)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn smm apply")
}

#[test]
fn apply_killed_at_random_points_never_posts_twice_nor_loses_a_post() {
    let pds = Pds::start();
    // Kill points spread over the run: before, during and after the requests (deterministic).
    for (trial, delay_ms) in [40u64, 150, 300, 450, 650, 900, 1200, 1600]
        .into_iter()
        .enumerate()
    {
        let tag = format!("k{trial}");
        let posts = many_posts(&tag, 6);
        let refs: Vec<(&str, &str)> = posts
            .iter()
            .map(|(p, t)| (p.as_str(), t.as_str()))
            .collect();
        let s = setup(&pds, &refs);
        let mut child = spawn_apply(&pds, s.work.path(), AT);
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        let _ = child.kill(); // SIGKILL: no cleanup at all
        let _ = child.wait();
        // The next scheduled run, after the killed run's leases ran out (10 minutes).
        let o = apply_at(
            &pds,
            support::clone(s.remote.path()).path(),
            "2027-03-02T08:20:00Z",
            &[],
        );
        assert_eq!(
            o.status.code(),
            Some(0),
            "trial {trial} (kill after {delay_ms} ms):\n{}{}\n--- PDS stderr ---\n{}",
            stdout(&o),
            stderr(&o),
            pds.stderr()
        );
        assert_exactly_once(&pds, &posts, &tag);
        let status = stdout(&support::smm(
            &["status", "--at", "2027-03-02T08:20:00Z", "--format", "json"],
            support::clone(s.remote.path()).path(),
        ));
        let doc: Value = serde_json::from_str(&status).expect("json");
        for d in doc["deliveries"].as_array().expect("list") {
            assert_eq!(d["state"], "published", "trial {trial}: {d}");
        }
    }
}

#[test]
fn two_applies_at_once_publish_each_post_once() {
    let pds = Pds::start();
    let posts = many_posts("race", 8);
    let refs: Vec<(&str, &str)> = posts
        .iter()
        .map(|(p, t)| (p.as_str(), t.as_str()))
        .collect();
    let s = setup(&pds, &refs);
    let other = support::clone(s.remote.path());
    let a = spawn_apply(&pds, s.work.path(), AT);
    let b = spawn_apply(&pds, other.path(), AT);
    let a = a.wait_with_output().expect("a");
    let b = b.wait_with_output().expect("b");
    for o in [&a, &b] {
        // 0: did its share; 4: some deliveries were held by the other run.
        assert!(
            matches!(o.status.code(), Some(0 | 4)),
            "{:?}: {}",
            o.status,
            stderr(o)
        );
    }
    assert_exactly_once(&pds, &posts, "race");
    // Whatever one run held, the other finished: nothing is left due.
    let o = apply(&pds, support::clone(s.remote.path()).path(), &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("Publishing 0 deliveries"),
        "{}",
        stderr(&o)
    );
    assert_exactly_once(&pds, &posts, "race");
}

/// Serves one HTML page with OpenGraph tags and its image on 127.0.0.1, for up to `n` requests.
fn page_server(n: usize) -> String {
    use std::io::{BufRead, BufReader, Write as _};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let png = std::fs::read(support::fixtures().join("base/media/cup.png")).expect("png");
    std::thread::spawn(move || {
        for stream in listener.incoming().take(n) {
            let Ok(mut stream) = stream else { continue };
            let mut line = String::new();
            let _ = BufReader::new(&stream).read_line(&mut line);
            let (ctype, body): (&str, Vec<u8>) = if line.contains("/cup.png") {
                ("image/png", png.clone())
            } else {
                ("text/html", b"<html><head><meta property=\"og:title\" content=\"Spring tea is here\"><meta property=\"og:description\" content=\"First flush, picked by hand.\"><meta property=\"og:image\" content=\"/cup.png\"></head></html>".to_vec())
            };
            let _ = write!(stream, "HTTP/1.1 200 OK\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len());
            let _ = stream.write_all(&body);
        }
    });
    format!("http://{addr}")
}

#[test]
fn a_link_card_carries_the_pages_title_description_and_thumbnail() {
    let pds = Pds::start();
    let site = page_server(4);
    let post = format!(
        "id: card\npublish_at: 2027-03-02 09:00\ntext: Spring tea is here.\nlink: {site}/spring\n"
    );
    let s = setup(&pds, &[("posts/card.yaml", post.as_str())]);
    let o = apply(&pds, s.work.path(), &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let recs = records(&pds);
    let external = &recs[0]["value"]["embed"]["external"];
    assert_eq!(
        recs[0]["value"]["embed"]["$type"],
        "app.bsky.embed.external"
    );
    assert_eq!(external["uri"], format!("{site}/spring"));
    assert_eq!(external["title"], "Spring tea is here");
    assert_eq!(external["description"], "First flush, picked by hand.");
    let cid = external["thumb"]["ref"]["$link"]
        .as_str()
        .expect("thumbnail blob");
    let blob = http_get(&format!(
        "{}/xrpc/com.atproto.sync.getBlob?did={}&cid={cid}",
        pds.url, pds.did
    ));
    assert_eq!(
        blob,
        std::fs::read(support::fixtures().join("base/media/cup.png")).expect("png")
    );
}
