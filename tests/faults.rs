//! `smm apply` under injected faults: a real Bluesky PDS (support/pds.rs) behind a
//! fault-injecting proxy (support/fault_proxy.py) that answers 429 with Bluesky's rate-limit
//! headers, 5xx before or after forwarding, drops the connection before or after the server acted,
//! delays past the client's timeout, or cuts an answer short. For every delivery the promise is
//! checked on the PDS itself (read directly, not through the proxy) and on the state branch:
//! on the platform exactly once, or recorded `unknown` — never twice, never silently skipped.

use std::path::Path;
use std::process::Output;
use std::time::Duration;

use serde_json::{json, Value};

use crate::support::fault_proxy::FaultProxy;
use crate::support::pds::Pds;
use crate::support::{self, clone, git, http_get, stderr, stdout};

/// The posts below are due 2027-03-02 09:00 Berlin (08:00Z); apply runs 5 minutes later.
const AT: &str = "2027-03-02T08:05:00Z";
const PASSWORD_VAR: &str = "SMM_TEST_BSKY_APP_PASSWORD";

const LAUNCH: &str = "id: launch\npublish_at: 2027-03-02 09:00\ntext: \"Spring tea is here. https://acme.tea/spring #tea\"\nmedia:\n  - { file: media/cup.png, alt: A cup of green tea on a wooden table }\n";

/// A plain post due at 09:00 whose text is `text` (ASCII, no quotes).
fn post(id: &str, text: &str) -> (String, String) {
    (
        format!("posts/{id}.yaml"),
        format!("id: {id}\npublish_at: 2027-03-02 09:00\ntext: \"{text}\"\n"),
    )
}

/// A PDS, the proxy in front of it, and a content repository (cloned from a bare remote, as in
/// CI) whose one Bluesky channel talks to the proxy.
struct Rig {
    pds: Pds,
    proxy: FaultProxy,
    remote: tempfile::TempDir,
    /// Every apply's output, for the secret scan.
    outputs: std::cell::RefCell<Vec<Output>>,
}

fn rig(posts: &[(String, String)]) -> Rig {
    let pds = Pds::start();
    let proxy = FaultProxy::start(&pds.url);
    let remote = support::bare_remote(
        &format!(
            "brand: Acme Tea\ntimezone: Europe/Berlin\nchannels:\n  bluesky:\n    platform: bluesky\n    account: {}\n    base_url: {}\n    credentials: {{ password: {PASSWORD_VAR} }}\ndefaults:\n  channels: [bluesky]\n",
            pds.handle, proxy.url
        ),
        posts,
    );
    Rig {
        pds,
        proxy,
        remote,
        outputs: Default::default(),
    }
}

impl Rig {
    /// `smm apply --at AT` in a fresh clone of the remote (a new CI job), with `env` added.
    fn apply(&self, env: &[(&str, &str)]) -> Output {
        let work = clone(self.remote.path());
        self.apply_in(work.path(), env)
    }

    fn apply_in(&self, root: &Path, env: &[(&str, &str)]) -> Output {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_smm"));
        cmd.args(["apply", "--at", AT])
            .current_dir(root)
            .env("NO_COLOR", "1")
            .env(PASSWORD_VAR, &self.pds.app_password);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let o = cmd.output().expect("run smm apply");
        self.outputs.borrow_mut().push(o.clone());
        o
    }

    /// Every post record in the account, read from the PDS directly (not through the proxy).
    fn records(&self) -> Vec<Value> {
        let url = format!(
            "{}/xrpc/com.atproto.repo.listRecords?repo={}&collection=app.bsky.feed.post&limit=100&reverse=true",
            self.pds.url, self.pds.did
        );
        let v: Value = serde_json::from_slice(&http_get(&url)).expect("json");
        v["records"].as_array().cloned().unwrap_or_default()
    }

    /// How many records on the PDS have exactly this text.
    fn on_pds(&self, text: &str) -> usize {
        self.records()
            .iter()
            .filter(|r| r["value"]["text"] == text)
            .count()
    }

    fn record(&self, text: &str) -> Value {
        self.records()
            .into_iter()
            .find(|r| r["value"]["text"] == text)
            .unwrap_or_else(|| panic!("no record {text:?} on the PDS"))
    }

    /// The entries recorded for a delivery on the remote's state branch, oldest first.
    fn entries(&self, post: &str) -> Vec<Value> {
        let text = git(
            &[
                "show",
                &format!("smm-state:deliveries/bluesky/{post}.jsonl"),
            ],
            self.remote.path(),
        );
        text.lines()
            .map(|l| serde_json::from_str(l).expect("json line"))
            .collect()
    }

    fn events(&self, post: &str) -> Vec<String> {
        self.entries(post)
            .iter()
            .map(|e| e["event"].as_str().expect("event").to_string())
            .collect()
    }

    /// The app password appears in no output of this test's applies, in no version of any file
    /// of the state branch, and in no commit message.
    fn assert_no_secret(&self) {
        let secret = &self.pds.app_password;
        assert!(secret.len() >= 16, "an app password: {secret:?}");
        for o in self.outputs.borrow().iter() {
            let all = format!("{}{}", stdout(o), stderr(o));
            assert!(
                !all.contains(secret.as_str()),
                "the app password leaked into output:\n{all}"
            );
        }
        let history = git(
            &["log", "-p", "--format=%H%n%B", "smm-state"],
            self.remote.path(),
        );
        assert!(
            !history.contains(secret.as_str()),
            "the app password is in the state branch's history:\n{history}"
        );
    }

    fn assert_events(&self, post: &str, want: &[&str], o: &Output) {
        let got = self.events(post);
        assert_eq!(got, want, "{post}: {}", self.context(o));
    }

    fn context(&self, o: &Output) -> String {
        format!(
            "--- smm stdout ---\n{}--- smm stderr ---\n{}--- proxy stats ---\n{}\n--- PDS stderr (tail) ---\n{}",
            stdout(o),
            stderr(o),
            self.proxy.stats(),
            tail(&self.pds.stderr(), 3000)
        )
    }
}

fn tail(s: &str, n: usize) -> &str {
    let mut cut = s.len().saturating_sub(n);
    while !s.is_char_boundary(cut) {
        cut += 1;
    }
    &s[cut..]
}

/// The last entry is `published` with the URI of the one record holding `text`, and there is
/// exactly one `published` entry.
fn assert_published_as(rig: &Rig, post: &str, text: &str) {
    let entries = rig.entries(post);
    let published: Vec<&Value> = entries
        .iter()
        .filter(|e| e["event"] == "published")
        .collect();
    assert_eq!(published.len(), 1, "{post}: {entries:#?}");
    assert_eq!(
        entries.last().map(|e| &e["event"]),
        Some(&json!("published")),
        "{post}: {entries:#?}"
    );
    let record = rig.record(text);
    let uri = record["uri"].as_str().expect("uri");
    assert_eq!(
        published[0]["remote_id"], uri,
        "{post}: the state names the record on the PDS: {entries:#?}"
    );
    let rkey = uri.rsplit('/').next().expect("rkey");
    assert_eq!(
        published[0]["url"],
        format!("https://bsky.app/profile/{}/post/{rkey}", rig.pds.handle),
        "{post}: {entries:#?}"
    );
}

const CREATE: &str = "com.atproto.repo.createRecord";

#[test]
fn rate_limited_twice_then_published_once() {
    let r = rig(&[post("hello", "Hello from the tea garden")]);
    r.proxy.set_faults(json!([
        { "method": "POST", "path": CREATE, "times": 2, "action": "429", "seconds": 1 }
    ]));
    let o = r.apply(&[]);
    assert_eq!(o.status.code(), Some(0), "{}", r.context(&o));
    assert_eq!(
        r.on_pds("Hello from the tea garden"),
        1,
        "{}",
        r.context(&o)
    );
    assert_eq!(r.records().len(), 1);
    r.assert_events("hello", &["intent", "published"], &o);
    assert_published_as(&r, "hello", "Hello from the tea garden");
    // It asked three times; only the third reached the PDS.
    assert_eq!(r.proxy.received(CREATE), 3, "{}", r.context(&o));
    assert_eq!(r.proxy.forwarded(CREATE), 1, "{}", r.context(&o));
    r.assert_no_secret();
}

#[test]
fn rate_limited_longer_than_the_run_waits_is_withdrawn_and_published_by_a_later_run() {
    let r = rig(&[post("hello", "Hello from the tea garden")]);
    // An hour (only RateLimit-Reset, no Retry-After): far beyond what one run waits.
    r.proxy.set_faults(json!([
        { "method": "POST", "path": CREATE, "action": "429", "seconds": 3600, "retry_after": false }
    ]));
    let o = r.apply(&[]);
    assert_eq!(o.status.code(), Some(3), "{}", r.context(&o));
    assert!(
        stderr(&o).contains("not sent hello@bluesky"),
        "{}",
        r.context(&o)
    );
    assert_eq!(r.records().len(), 0);
    assert_eq!(r.proxy.forwarded(CREATE), 0);
    r.assert_events("hello", &["intent", "withdrawn"], &o);

    r.proxy.clear();
    let o = r.apply(&[]);
    assert_eq!(o.status.code(), Some(0), "{}", r.context(&o));
    assert_eq!(r.on_pds("Hello from the tea garden"), 1);
    r.assert_events("hello", &["intent", "withdrawn", "intent", "published"], &o);
    assert_published_as(&r, "hello", "Hello from the tea garden");
    r.assert_no_secret();
}

#[test]
fn server_errors_before_the_post_is_created_are_retried_and_published_once() {
    let r = rig(&[post("hello", "Hello from the tea garden")]);
    r.proxy.set_faults(json!([
        { "method": "POST", "path": CREATE, "nth": [1], "action": "500" },
        { "method": "POST", "path": CREATE, "nth": [2], "action": "502" }
    ]));
    let o = r.apply(&[]);
    assert_eq!(o.status.code(), Some(0), "{}", r.context(&o));
    assert_eq!(r.on_pds("Hello from the tea garden"), 1);
    assert_eq!(r.records().len(), 1);
    r.assert_events("hello", &["intent", "published"], &o);
    assert_published_as(&r, "hello", "Hello from the tea garden");
    assert_eq!(r.proxy.received(CREATE), 3, "{}", r.context(&o));
    assert_eq!(r.proxy.forwarded(CREATE), 1, "{}", r.context(&o));
    r.assert_no_secret();
}

#[test]
fn a_lost_answer_after_the_post_was_created_is_found_at_its_derived_key() {
    let r = rig(&[
        post("first", "First cup of the day"),
        post("second", "Second cup of the day"),
    ]);
    // The PDS creates each post; the answer is a 500 for one and a dropped connection for the
    // other.
    r.proxy.set_faults(json!([
        { "method": "POST", "path": CREATE, "body": "First cup", "times": 1, "action": "500_after" },
        { "method": "POST", "path": CREATE, "body": "Second cup", "times": 1, "action": "drop_after" }
    ]));
    let o = r.apply(&[]);
    assert_eq!(o.status.code(), Some(0), "{}", r.context(&o));
    assert_eq!(r.on_pds("First cup of the day"), 1, "{}", r.context(&o));
    assert_eq!(r.on_pds("Second cup of the day"), 1, "{}", r.context(&o));
    assert_eq!(r.records().len(), 2);
    r.assert_events("first", &["intent", "published"], &o);
    r.assert_events("second", &["intent", "published"], &o);
    assert_published_as(&r, "first", "First cup of the day");
    assert_published_as(&r, "second", "Second cup of the day");
    // Each was created by its first request; the retry found it and created nothing.
    assert_eq!(r.proxy.forwarded(CREATE), 2, "{}", r.context(&o));
    r.assert_no_secret();
}

#[test]
fn a_request_slower_than_the_timeout_creates_one_post() {
    let r = rig(&[
        post("late", "Late but there"),
        post("slow", "Slow and steady"),
    ]);
    r.proxy.set_faults(json!([
        // Reaches the PDS 5 s later, after the client gave up and its retry created the post.
        { "method": "POST", "path": CREATE, "body": "Late but", "nth": [1], "action": "delay", "seconds": 5 },
        // Every attempt reaches the PDS 2.5 s later: the first creates it, after the timeout.
        { "method": "POST", "path": CREATE, "body": "Slow and", "action": "delay", "seconds": 2.5 }
    ]));
    let o = r.apply(&[("SMM_HTTP_TIMEOUT_SECS", "2")]);
    // The delayed requests reach the PDS whatever the client did meanwhile: wait for them.
    r.proxy.wait_idle(Duration::from_secs(30));
    assert_eq!(o.status.code(), Some(0), "{}", r.context(&o));
    assert_eq!(r.on_pds("Late but there"), 1, "{}", r.context(&o));
    assert_eq!(r.on_pds("Slow and steady"), 1, "{}", r.context(&o));
    assert_eq!(r.records().len(), 2, "{:#?}", r.records());
    r.assert_events("late", &["intent", "published"], &o);
    r.assert_events("slow", &["intent", "published"], &o);
    assert_published_as(&r, "late", "Late but there");
    assert_published_as(&r, "slow", "Slow and steady");
    r.assert_no_secret();
}

#[test]
fn a_failed_image_upload_is_retried_and_the_post_has_its_image() {
    let r = rig(&[("posts/launch.yaml".into(), LAUNCH.into())]);
    r.proxy.set_faults(json!([
        { "method": "POST", "path": "com.atproto.repo.uploadBlob", "nth": [1], "action": "500" },
        { "method": "POST", "path": "com.atproto.repo.uploadBlob", "nth": [2], "action": "drop_after" }
    ]));
    let o = r.apply(&[]);
    assert_eq!(o.status.code(), Some(0), "{}", r.context(&o));
    let text = "Spring tea is here. https://acme.tea/spring #tea";
    assert_eq!(r.on_pds(text), 1, "{}", r.context(&o));
    assert_eq!(r.records().len(), 1);
    r.assert_events("launch", &["intent", "published"], &o);
    assert_published_as(&r, "launch", text);
    assert_eq!(
        r.proxy.received("com.atproto.repo.uploadBlob"),
        3,
        "{}",
        r.context(&o)
    );
    let record = r.record(text);
    let image = &record["value"]["embed"]["images"][0];
    assert_eq!(image["alt"], "A cup of green tea on a wooden table");
    let cid = image["image"]["ref"]["$link"].as_str().expect("blob cid");
    let blob = http_get(&format!(
        "{}/xrpc/com.atproto.sync.getBlob?did={}&cid={cid}",
        r.pds.url, r.pds.did
    ));
    assert_eq!(
        blob,
        std::fs::read(support::fixtures().join("base/media/cup.png")).expect("png"),
        "the image arrives byte for byte"
    );
    r.assert_no_secret();
}

#[test]
fn persistent_failures_leave_only_that_delivery_unknown_and_a_later_run_publishes_it_once() {
    let r = rig(&[
        post("a-doomed", "Doomed for now"),
        post("b-fine", "Fine as ever"),
        (
            "posts/c-story.yaml".into(),
            "id: c-story\npublish_at: 2027-03-02 09:00\ntext: \"Story opening\"\nthread:\n  - \"Story middle\"\n  - \"Story ending\"\n".into(),
        ),
        post("d-fine", "Fine again"),
    ]);
    r.proxy.set_faults(json!([
        // Every attempt of this post answers 502 (nothing reaches the PDS).
        { "method": "POST", "path": CREATE, "body": "Doomed for now", "action": "502" },
        // The thread's second part: the connection drops after sending, every time (the client
        // cannot tell whether the PDS got it; it did not).
        { "method": "POST", "path": CREATE, "body": "Story middle", "action": "drop_before" }
    ]));
    let o = r.apply(&[]);
    assert_eq!(o.status.code(), Some(3), "{}", r.context(&o));
    let err = stderr(&o);
    assert!(
        err.contains("unknown a-doomed@bluesky"),
        "{}",
        r.context(&o)
    );
    assert!(err.contains("unknown c-story@bluesky"), "{}", r.context(&o));
    r.assert_events("a-doomed", &["intent", "unknown"], &o);
    r.assert_events("c-story", &["intent", "unknown"], &o);
    // An unknown delivery blocks only itself.
    r.assert_events("b-fine", &["intent", "published"], &o);
    r.assert_events("d-fine", &["intent", "published"], &o);
    assert_eq!(r.on_pds("Fine as ever"), 1);
    assert_eq!(r.on_pds("Fine again"), 1);
    assert_eq!(r.on_pds("Doomed for now"), 0);
    assert_eq!(
        r.on_pds("Story opening"),
        1,
        "the first part got through once"
    );
    assert_eq!(r.on_pds("Story middle"), 0);
    assert_eq!(r.on_pds("Story ending"), 0);

    // The next run, with the faults gone, looks, finds nothing (or part of the thread) and
    // publishes the rest exactly once.
    r.proxy.clear();
    let o = r.apply(&[]);
    assert_eq!(o.status.code(), Some(0), "{}", r.context(&o));
    for text in [
        "Doomed for now",
        "Fine as ever",
        "Fine again",
        "Story opening",
        "Story middle",
        "Story ending",
    ] {
        assert_eq!(r.on_pds(text), 1, "{text:?}: {:#?}", r.records());
    }
    assert_eq!(r.records().len(), 6);
    assert_published_as(&r, "a-doomed", "Doomed for now");
    assert_published_as(&r, "c-story", "Story opening");
    r.assert_events("b-fine", &["intent", "published"], &o);
    let middle = r.record("Story middle");
    let ending = r.record("Story ending");
    let opening = r.record("Story opening");
    assert_eq!(middle["value"]["reply"]["parent"]["uri"], opening["uri"]);
    assert_eq!(ending["value"]["reply"]["parent"]["uri"], middle["uri"]);
    assert_eq!(ending["value"]["reply"]["root"]["uri"], opening["uri"]);

    // And a third run has nothing left to do.
    let o = r.apply(&[]);
    assert_eq!(o.status.code(), Some(0), "{}", r.context(&o));
    assert_eq!(r.records().len(), 6);
    r.assert_no_secret();
}

#[test]
fn an_unreachable_server_gets_nothing_sent_and_a_later_run_publishes_once() {
    let r = rig(&[post("hello", "Hello from the tea garden")]);
    // Every connection is closed before anything is forwarded, sign-in included.
    r.proxy.set_faults(json!([{ "action": "drop_before" }]));
    let o = r.apply(&[]);
    assert_eq!(o.status.code(), Some(3), "{}", r.context(&o));
    assert!(
        stderr(&o).contains("not sent hello@bluesky"),
        "{}",
        r.context(&o)
    );
    r.assert_events("hello", &["intent", "withdrawn"], &o);
    assert_eq!(r.records().len(), 0);
    let stats = r.proxy.stats();
    assert_eq!(
        stats["forwarded"],
        json!({}),
        "nothing reached the PDS: {stats}"
    );

    r.proxy.clear();
    let o = r.apply(&[]);
    assert_eq!(o.status.code(), Some(0), "{}", r.context(&o));
    assert_eq!(r.on_pds("Hello from the tea garden"), 1);
    r.assert_events("hello", &["intent", "withdrawn", "intent", "published"], &o);
    assert_published_as(&r, "hello", "Hello from the tea garden");
    r.assert_no_secret();
}

#[test]
fn the_app_password_appears_nowhere_across_failing_runs() {
    let r = rig(&[
        post("hello", "Hello from the tea garden"),
        post("other", "Another cup"),
    ]);
    let session = "com.atproto.server.createSession";
    let runs = [
        json!([{ "path": session, "action": "429", "seconds": 3600 }]),
        json!([{ "path": session, "action": "500" }]),
        json!([{ "path": session, "action": "drop_after" }]),
        json!([{ "path": session, "action": "delay", "seconds": 3 }]),
        json!([{ "path": CREATE, "body": "Hello from", "action": "500" }]),
        json!([]),
    ];
    for rules in runs {
        r.proxy.set_faults(rules.clone());
        let o = r.apply(&[("SMM_HTTP_TIMEOUT_SECS", "2")]);
        assert!(
            matches!(o.status.code(), Some(0 | 3)),
            "{rules}: {}",
            r.context(&o)
        );
        r.proxy.wait_idle(Duration::from_secs(30));
    }
    assert_eq!(r.on_pds("Hello from the tea garden"), 1);
    assert_eq!(r.on_pds("Another cup"), 1);
    // The password did go out (sign-in works through the proxy) ...
    assert!(r.proxy.forwarded(session) >= 1);
    // ... and is in no output, state file or commit message.
    r.assert_no_secret();
}

#[test]
fn a_sign_in_error_that_quotes_the_request_does_not_leak_the_password() {
    let r = rig(&[post("hello", "Hello from the tea garden")]);
    // Some servers and gateways quote the request they refuse; the request carries the password.
    r.proxy.set_faults(json!([
        { "path": "com.atproto.server.createSession", "action": "reflect", "status": 400 }
    ]));
    let o = r.apply(&[]);
    assert_eq!(o.status.code(), Some(3), "{}", r.context(&o));
    r.assert_events("hello", &["intent", "withdrawn"], &o);
    assert_eq!(r.records().len(), 0);
    r.assert_no_secret();
}

#[test]
fn an_answer_cut_off_after_the_post_was_created_is_recorded_with_its_uri() {
    let r = rig(&[post("hello", "Hello from the tea garden")]);
    // The PDS creates the post; its answer (status 200) is cut off halfway through the body.
    r.proxy.set_faults(json!([
        { "method": "POST", "path": CREATE, "times": 1, "action": "truncate_after" }
    ]));
    let o = r.apply(&[]);
    assert_eq!(
        r.on_pds("Hello from the tea garden"),
        1,
        "{}",
        r.context(&o)
    );
    assert_eq!(o.status.code(), Some(0), "{}", r.context(&o));
    assert_published_as(&r, "hello", "Hello from the tea garden");
    r.assert_no_secret();
}

#[test]
fn a_thread_whose_first_answer_is_cut_off_is_published_whole_once() {
    let r = rig(&[(
        "posts/story.yaml".into(),
        "id: story\npublish_at: 2027-03-02 09:00\ntext: \"Story opening\"\nthread:\n  - \"Story middle\"\n".into(),
    )]);
    r.proxy.set_faults(json!([
        { "method": "POST", "path": CREATE, "body": "Story opening", "times": 1, "action": "truncate_after" }
    ]));
    let o = r.apply(&[]);
    // Never twice; each part once, or the delivery recorded unknown (never `rejected`: its first
    // part exists).
    assert_eq!(r.on_pds("Story opening"), 1, "{}", r.context(&o));
    assert!(r.on_pds("Story middle") <= 1, "{}", r.context(&o));
    let events = r.events("story");
    assert!(
        events
            .last()
            .is_some_and(|e| e == "published" || e == "unknown"),
        "the first part is on the PDS, so the delivery is published or unknown: {events:?}\n{}",
        r.context(&o)
    );
    assert_eq!(o.status.code(), Some(0), "{}", r.context(&o));
    assert_eq!(r.on_pds("Story middle"), 1, "{}", r.context(&o));
    assert_published_as(&r, "story", "Story opening");
    let middle = r.record("Story middle");
    assert_eq!(
        middle["value"]["reply"]["parent"]["uri"],
        r.record("Story opening")["uri"]
    );
    r.assert_no_secret();
}

#[test]
fn a_lookup_answer_cut_off_is_not_taken_for_a_refusal() {
    let r = rig(&[post("hello", "Hello from the tea garden")]);
    // Before creating, apply looks at the derived key; that answer is cut off once.
    r.proxy.set_faults(json!([
        { "method": "GET", "path": "com.atproto.repo.getRecord", "times": 1, "action": "truncate_after" }
    ]));
    let o = r.apply(&[]);
    let events = r.events("hello");
    assert!(
        !events.contains(&"rejected".to_string()),
        "a cut-off answer is no refusal by the platform: {events:?}\n{}",
        r.context(&o)
    );
    assert_eq!(o.status.code(), Some(0), "{}", r.context(&o));
    assert_eq!(r.on_pds("Hello from the tea garden"), 1);
    assert_published_as(&r, "hello", "Hello from the tea garden");
    r.assert_no_secret();
}
