//! Behaviour of the Telegram, Slack and X adapters against a tiny scripted HTTP server.
//!
//! The official API servers (and their specs: Slack's is stale Swagger 2.0, X's and Telegram's
//! are not installable here) cannot be run locally, so these tests check what the adapters SEND
//! (paths, bodies, signatures) and how they CLASSIFY scripted answers (rate limits, refusals,
//! 5xx, refused connections), which is where the failure handling lives. The answers are written
//! from each platform's documentation; they prove the adapters' logic, not the live APIs.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use smm::platforms::{Lookup, Outgoing, OutgoingMedia, Posted, PublishError};

use crate::support::adapter::{channel, find, outgoing, publish};

/// One request as the fake server received it.
#[derive(Debug, Clone)]
struct Request {
    method: String,
    /// Path with query string.
    path: String,
    /// Header names lowercased.
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("request body is JSON")
    }
    /// An `application/x-www-form-urlencoded` body as a JSON object of strings.
    fn form(&self) -> Value {
        assert_eq!(
            self.header("content-type"),
            Some("application/x-www-form-urlencoded")
        );
        let decode = |s: &str| {
            let s = s.replace('+', " ");
            let (bytes, mut out) = (s.as_bytes(), Vec::new());
            let mut i = 0;
            while i < bytes.len() {
                let hex = (bytes[i] == b'%' && i + 2 < bytes.len())
                    .then(|| u8::from_str_radix(&s[i + 1..i + 3], 16).ok())
                    .flatten();
                match hex {
                    Some(b) => {
                        out.push(b);
                        i += 3;
                    }
                    None => {
                        out.push(bytes[i]);
                        i += 1;
                    }
                }
            }
            String::from_utf8(out).expect("UTF-8 form value")
        };
        let fields = self.text();
        let map: serde_json::Map<String, Value> = fields
            .split('&')
            .filter(|f| !f.is_empty())
            .map(|f| {
                let (k, v) = f.split_once('=').unwrap_or((f, ""));
                (decode(k), Value::String(decode(v)))
            })
            .collect();
        Value::Object(map)
    }
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// A scripted answer.
struct Response {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: String,
}

fn answer(status: u16, body: Value) -> Response {
    Response {
        status,
        headers: vec![("content-type", "application/json".into())],
        body: body.to_string(),
    }
}

fn answer_with(status: u16, headers: &[(&'static str, &str)], body: &str) -> Response {
    Response {
        status,
        headers: headers.iter().map(|(n, v)| (*n, v.to_string())).collect(),
        body: body.to_string(),
    }
}

/// A server on 127.0.0.1 that answers `responses` in order, one per connection (it answers
/// `Connection: close`), then stops; it gives up after 20 s so a test that sends fewer requests
/// than scripted still ends. Joining it returns the requests it received.
struct FakeServer {
    base: String,
    thread: JoinHandle<Vec<Request>>,
}

impl FakeServer {
    fn start(responses: Vec<Response>) -> FakeServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        listener.set_nonblocking(true).expect("nonblocking");
        let thread = std::thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(20);
            let mut seen = Vec::new();
            for response in responses {
                let stream = loop {
                    match listener.accept() {
                        Ok((s, _)) => break Some(s),
                        Err(_) if Instant::now() < deadline => {
                            std::thread::sleep(Duration::from_millis(5))
                        }
                        Err(_) => break None,
                    }
                };
                let Some(mut stream) = stream else { break };
                let _ = stream.set_nonblocking(false);
                let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
                let Some(request) = read_request(&mut stream) else {
                    break;
                };
                seen.push(request);
                let mut out = format!(
                    "HTTP/1.1 {} X\r\ncontent-length: {}\r\nconnection: close\r\n",
                    response.status,
                    response.body.len()
                );
                for (n, v) in &response.headers {
                    out.push_str(&format!("{n}: {v}\r\n"));
                }
                out.push_str("\r\n");
                out.push_str(&response.body);
                let _ = stream.write_all(out.as_bytes());
                let _ = stream.flush();
            }
            seen
        });
        FakeServer { base, thread }
    }

    fn requests(self) -> Vec<Request> {
        self.thread.join().expect("fake server thread")
    }
}

fn read_request(stream: &mut TcpStream) -> Option<Request> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break p;
        }
        let n = stream.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let method = first.next()?.to_string();
    let path = first.next()?.to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let mut body = buf[head_end + 4..].to_vec();
    let get = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    };
    if let Some(len) = get("content-length").and_then(|v| v.parse::<usize>().ok()) {
        while body.len() < len {
            let n = stream.read(&mut chunk).ok()?;
            if n == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..n]);
        }
    } else if get("transfer-encoding").is_some_and(|v| v.contains("chunked")) {
        // Read to the terminating chunk, then decode.
        while !body.ends_with(b"0\r\n\r\n") {
            let n = stream.read(&mut chunk).ok()?;
            if n == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..n]);
        }
        body = dechunk(&body);
    }
    Some(Request {
        method,
        path,
        headers,
        body,
    })
}

fn dechunk(mut raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(p) = raw.windows(2).position(|w| w == b"\r\n") {
        let size =
            usize::from_str_radix(String::from_utf8_lossy(&raw[..p]).trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        let start = p + 2;
        out.extend_from_slice(&raw[start..(start + size).min(raw.len())]);
        raw = &raw[(start + size + 2).min(raw.len())..];
    }
    out
}

/// A base URL nothing listens on: the port was just free.
fn refused_base() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    format!("http://{addr}")
}

/// The error's every text, checked to hold none of `secrets`.
fn assert_no_secret<T: std::fmt::Debug>(result: &T, secrets: &[&str]) {
    let text = format!("{result:?}");
    for s in secrets {
        assert!(!text.contains(s), "a secret leaked into {text}");
    }
}

// ---------------------------------------------------------------- Telegram

const TG_TOKEN: &str = "123456:AAbbCCsecretTOKEN_x-y";

fn tg_ok(id: i64) -> Response {
    answer(
        200,
        json!({ "ok": true, "result": { "message_id": id, "chat": { "id": -100, "type": "channel" } } }),
    )
}

#[test]
fn telegram_thread_replies_to_the_part_before() {
    let server = FakeServer::start(vec![tg_ok(10), tg_ok(11)]);
    let c = channel(
        "tg1",
        "telegram",
        "@northwind",
        &server.base,
        &[("bot_token", TG_TOKEN)],
    );
    let mut d = outgoing("tg1", &["First", "Second"]);
    d.link = Some("https://northwind.coffee/winter".into());
    let posted = publish(&c, &d).expect("published");
    assert_eq!(
        posted,
        Posted {
            remote_id: "10".into(),
            url: Some("https://t.me/northwind/10".into())
        }
    );
    let reqs = server.requests();
    assert_eq!(reqs.len(), 2);
    assert_eq!(reqs[0].method, "POST");
    assert_eq!(reqs[0].path, format!("/bot{TG_TOKEN}/sendMessage"));
    let first = reqs[0].json();
    assert_eq!(first["chat_id"], "@northwind");
    assert_eq!(first["text"], "First");
    assert_eq!(
        first["link_preview_options"]["url"],
        "https://northwind.coffee/winter"
    );
    assert!(first.get("reply_parameters").is_none());
    assert!(
        first.get("parse_mode").is_none(),
        "plain text, never markup"
    );
    let second = reqs[1].json();
    assert_eq!(second["text"], "Second");
    assert_eq!(second["reply_parameters"]["message_id"], 10);
}

#[test]
fn telegram_media_go_as_photo_or_album_with_the_caption_first() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = |n: &str| {
        let p = dir.path().join(n);
        std::fs::write(&p, b"\x89PNG fake").expect("write");
        OutgoingMedia {
            path: p,
            alt: "a cup".into(),
        }
    };
    let server = FakeServer::start(vec![
        tg_ok(20),
        answer(
            200,
            json!({ "ok": true, "result": [ { "message_id": 21 }, { "message_id": 22 } ] }),
        ),
    ]);
    let c = channel(
        "tg2",
        "telegram",
        "@northwind",
        &server.base,
        &[("bot_token", TG_TOKEN)],
    );
    let mut d = outgoing("tg2", &["One photo", "Two photos"]);
    d.parts[0].media = vec![file("a.png")];
    d.parts[1].media = vec![file("b.png"), file("c.jpg")];
    let posted = publish(&c, &d).expect("published");
    assert_eq!(posted.remote_id, "20");
    let reqs = server.requests();
    assert_eq!(reqs[0].path, format!("/bot{TG_TOKEN}/sendPhoto"));
    assert!(reqs[0]
        .header("content-type")
        .is_some_and(|v| v.starts_with("multipart/form-data")));
    let body = reqs[0].text();
    assert!(body.contains("name=\"caption\"\r\n\r\nOne photo"), "{body}");
    assert!(
        body.contains("name=\"photo\"; filename=\"a.png\""),
        "{body}"
    );
    assert_eq!(reqs[1].path, format!("/bot{TG_TOKEN}/sendMediaGroup"));
    let body = reqs[1].text();
    assert!(
        body.contains(r#"{"type":"photo","media":"attach://file0","caption":"Two photos"}"#),
        "{body}"
    );
    assert!(
        body.contains(r#"{"type":"photo","media":"attach://file1"}"#),
        "{body}"
    );
    assert!(
        body.contains(
            r#"name="reply_parameters"

{"message_id":20}"#
                .replace('\n', "\r\n")
                .as_str()
        ),
        "{body}"
    );
}

#[test]
fn telegram_rate_limit_refusal_and_server_error_are_classified() {
    let server = FakeServer::start(vec![
        answer(
            429,
            json!({ "ok": false, "error_code": 429, "description": "Too Many Requests: retry after 35", "parameters": { "retry_after": 35 } }),
        ),
        answer(
            400,
            json!({ "ok": false, "error_code": 400, "description": "Bad Request: chat not found" }),
        ),
        answer(
            403,
            json!({ "ok": false, "error_code": 403, "description": "Forbidden: bot is not a member of the channel chat" }),
        ),
        answer_with(502, &[], "<html>Bad Gateway</html>"),
        answer(
            401,
            json!({ "ok": false, "error_code": 401, "description": "Unauthorized" }),
        ),
    ]);
    let c = channel(
        "tg3",
        "telegram",
        "@northwind",
        &server.base,
        &[("bot_token", TG_TOKEN)],
    );
    let d = outgoing("tg3", &["Hello"]);
    let results: Vec<_> = (0..5).map(|_| publish(&c, &d)).collect();
    for r in &results {
        assert_no_secret(r, &[TG_TOKEN, "AAbbCCsecretTOKEN"]);
    }
    assert!(
        matches!(&results[0], Err(PublishError::RateLimited { retry_after, .. }) if *retry_after == Duration::from_secs(35)),
        "{:?}",
        results[0]
    );
    assert_eq!(
        results[1],
        Err(PublishError::Rejected(
            "400 Bad Request: chat not found".into()
        ))
    );
    assert!(matches!(&results[2], Err(PublishError::Rejected(m)) if m.contains("not a member")));
    assert!(
        matches!(&results[3], Err(PublishError::Unknown(m)) if m.contains("502")),
        "{:?}",
        results[3]
    );
    assert!(
        matches!(&results[4], Err(PublishError::Auth(m)) if m.contains("SMM_ADAPTER_TEST_TG3_BOT_TOKEN")),
        "{:?}",
        results[4]
    );
    assert_eq!(server.requests().len(), 5);
}

#[test]
fn telegram_a_thread_cut_short_is_unknown_and_a_refused_connection_not_sent() {
    let server = FakeServer::start(vec![
        tg_ok(30),
        answer(
            400,
            json!({ "ok": false, "error_code": 400, "description": "Bad Request: message to be replied not found" }),
        ),
    ]);
    let c = channel(
        "tg4",
        "telegram",
        "@northwind",
        &server.base,
        &[("bot_token", TG_TOKEN)],
    );
    let r = publish(&c, &outgoing("tg4", &["One", "Two"]));
    assert!(
        matches!(&r, Err(PublishError::Unknown(m)) if m.contains("partly published (1 of 2")),
        "{r:?}"
    );
    assert_eq!(server.requests().len(), 2);

    let c = channel(
        "tg5",
        "telegram",
        "@northwind",
        &refused_base(),
        &[("bot_token", TG_TOKEN)],
    );
    let r = publish(&c, &outgoing("tg5", &["One"]));
    assert!(matches!(&r, Err(PublishError::NotSent(_))), "{r:?}");
    assert_no_secret(&r, &[TG_TOKEN, "AAbbCCsecretTOKEN"]);
    // Bots cannot read channel history.
    assert_eq!(find(&c, &outgoing("tg5", &["One"])), Ok(Lookup::CannotTell));
}

#[test]
fn telegram_parts_over_the_limits_are_refused_before_anything_is_sent() {
    let c = channel(
        "tg6",
        "telegram",
        "@northwind",
        &refused_base(),
        &[("bot_token", TG_TOKEN)],
    );
    let r = publish(&c, &outgoing("tg6", &["fine", &"x".repeat(4097)]));
    assert!(
        matches!(&r, Err(PublishError::Rejected(m)) if m.starts_with("part 2 of 2")),
        "{r:?}"
    );
}

// ---------------------------------------------------------------- Slack

const SLACK_TOKEN: &str = "xoxb-1111-2222-secretSLACKtoken";

fn slack_ok(ts: &str) -> Response {
    answer(
        200,
        json!({ "ok": true, "channel": "C0123", "ts": ts, "message": { "text": "x" } }),
    )
}

fn permalink(ts: &str) -> Response {
    answer(
        200,
        json!({ "ok": true, "channel": "C0123", "permalink": format!("https://northwind.slack.com/archives/C0123/p{}", ts.replace('.', "")) }),
    )
}

#[test]
fn slack_bot_threads_with_metadata_and_links_the_first_message() {
    let server = FakeServer::start(vec![
        slack_ok("1700000000.000100"),
        slack_ok("1700000001.000200"),
        permalink("1700000000.000100"),
    ]);
    let c = channel(
        "sl1",
        "slack",
        "C0123",
        &server.base,
        &[("token", SLACK_TOKEN)],
    );
    let posted =
        publish(&c, &outgoing("sl1", &["Hello <!channel> & all", "Reply"])).expect("published");
    assert_eq!(
        posted,
        Posted {
            remote_id: "1700000000.000100".into(),
            url: Some("https://northwind.slack.com/archives/C0123/p1700000000000100".into())
        }
    );
    let reqs = server.requests();
    assert_eq!(reqs[0].path, "/api/chat.postMessage");
    assert_eq!(
        reqs[0].header("authorization"),
        Some(format!("Bearer {SLACK_TOKEN}").as_str())
    );
    let metadata = |fields: &Value| -> Value {
        serde_json::from_str(fields["metadata"].as_str().expect("metadata")).expect("JSON")
    };
    let first = reqs[0].form();
    assert_eq!(first["channel"], "C0123");
    assert_eq!(
        first["text"], "Hello &lt;!channel&gt; &amp; all",
        "never pings anyone"
    );
    assert_eq!(first["unfurl_links"], "true");
    assert_eq!(metadata(&first)["event_type"], "smm_delivery");
    assert_eq!(metadata(&first)["event_payload"]["key"], "launch@sl1");
    assert_eq!(metadata(&first)["event_payload"]["content_hash"], "hash1");
    assert!(first.get("thread_ts").is_none());
    let second = reqs[1].form();
    assert_eq!(second["thread_ts"], "1700000000.000100");
    assert_eq!(metadata(&second)["event_payload"]["part"], 1);
    assert!(
        reqs[2].path.starts_with("/api/chat.getPermalink?"),
        "{}",
        reqs[2].path
    );
    assert!(reqs[2].path.contains("message_ts=1700000000.000100"));
}

#[test]
fn slack_bot_refusals_rate_limits_and_errors_are_classified() {
    let server = FakeServer::start(vec![
        answer(200, json!({ "ok": false, "error": "channel_not_found" })),
        answer_with(
            429,
            &[("retry-after", "12")],
            r#"{"ok":false,"error":"ratelimited"}"#,
        ),
        answer(200, json!({ "ok": false, "error": "invalid_auth" })),
        answer_with(500, &[], "oops"),
        answer(200, json!({ "ok": false, "error": "ratelimited" })),
    ]);
    let c = channel(
        "sl2",
        "slack",
        "C0123",
        &server.base,
        &[("token", SLACK_TOKEN)],
    );
    let d = outgoing("sl2", &["Hello"]);
    let r: Vec<_> = (0..5).map(|_| publish(&c, &d)).collect();
    for x in &r {
        assert_no_secret(x, &[SLACK_TOKEN, "secretSLACKtoken"]);
    }
    assert!(
        matches!(&r[0], Err(PublishError::Rejected(m)) if m.contains("channel_not_found")),
        "{:?}",
        r[0]
    );
    assert!(
        matches!(&r[1], Err(PublishError::RateLimited { retry_after, .. }) if *retry_after == Duration::from_secs(12)),
        "{:?}",
        r[1]
    );
    assert!(
        matches!(&r[2], Err(PublishError::Auth(m)) if m.contains("SMM_ADAPTER_TEST_SL2_TOKEN")),
        "{:?}",
        r[2]
    );
    assert!(matches!(&r[3], Err(PublishError::Unknown(_))), "{:?}", r[3]);
    assert!(
        matches!(&r[4], Err(PublishError::RateLimited { .. })),
        "{:?}",
        r[4]
    );
    assert_eq!(server.requests().len(), 5);
}

#[test]
fn slack_media_are_refused_before_anything_is_sent() {
    // Nothing listens: a request would come back NotSent, not Rejected.
    let c = channel(
        "sl3",
        "slack",
        "C0123",
        &refused_base(),
        &[("token", SLACK_TOKEN)],
    );
    let mut d = outgoing("sl3", &["Text only", "With a picture"]);
    d.parts[1].media.push(OutgoingMedia {
        path: "/nonexistent.png".into(),
        alt: String::new(),
    });
    assert_eq!(
        publish(&c, &d),
        Err(PublishError::Rejected(
            "part 2 of 2: Slack media upload is not supported yet".into()
        ))
    );
    let r = publish(&c, &outgoing("sl3", &["Hi"]));
    assert!(matches!(&r, Err(PublishError::NotSent(_))), "{r:?}");
    assert_no_secret(&r, &[SLACK_TOKEN]);
}

#[test]
fn slack_bot_finds_a_lost_delivery_by_its_exact_key() {
    let meta = |key: &str, part: u64| json!({ "event_type": "smm_delivery", "event_payload": { "key": key, "content_hash": "hash1", "part": part } });
    let server = FakeServer::start(vec![
        // Newest first; a near-miss key and a message without metadata around it.
        answer(
            200,
            json!({ "ok": true, "has_more": false, "messages": [
            { "ts": "1796284900.000300", "text": "other", "metadata": meta("launch-2@sl4", 0) },
            { "ts": "1796284800.000200", "text": "Hello", "metadata": meta("launch@sl4", 0) },
            { "ts": "1796284700.000100", "text": "Hello" },
        ], "response_metadata": { "next_cursor": "" } }),
        ),
        answer(
            200,
            json!({ "ok": true, "messages": [
            { "ts": "1796284800.000200", "metadata": meta("launch@sl4", 0) },
            { "ts": "1796284801.000500", "thread_ts": "1796284800.000200", "metadata": meta("launch@sl4", 1) },
        ] }),
        ),
        permalink("1796284800.000200"),
        // Second lookup: nothing there, and every page read.
        answer(
            200,
            json!({ "ok": true, "messages": [], "response_metadata": { "next_cursor": "" } }),
        ),
    ]);
    let c = channel(
        "sl4",
        "slack",
        "C0123",
        &server.base,
        &[("token", SLACK_TOKEN)],
    );
    let d = outgoing("sl4", &["Hello", "Reply"]);
    assert_eq!(
        find(&c, &d),
        Ok(Lookup::Found(Posted {
            remote_id: "1796284800.000200".into(),
            url: Some("https://northwind.slack.com/archives/C0123/p1796284800000200".into())
        }))
    );
    assert_eq!(find(&c, &d), Ok(Lookup::NotFound));
    let reqs = server.requests();
    let history = &reqs[0].path;
    assert!(
        history.starts_with("/api/conversations.history?"),
        "{history}"
    );
    assert!(history.contains("channel=C0123"));
    assert!(history.contains("include_all_metadata=true"));
    // publish_at 2026-12-03T08:00:00Z minus 15 minutes.
    let oldest = "2026-12-03T07:45:00Z"
        .parse::<jiff::Timestamp>()
        .expect("time")
        .as_second();
    assert!(history.contains(&format!("oldest={oldest}")), "{history}");
    assert!(reqs[1].path.starts_with("/api/conversations.replies?"));
    assert!(reqs[1].path.contains("ts=1796284800.000200"));
}

#[test]
fn slack_webhook_posts_text_parts_in_order_and_cannot_look_up() {
    let server = FakeServer::start(vec![
        answer_with(200, &[("content-type", "text/plain")], "ok"),
        answer_with(200, &[("content-type", "text/plain")], "ok"),
        answer_with(404, &[], "no_service"),
        answer_with(400, &[], "invalid_payload"),
        answer_with(429, &[("retry-after", "3")], "rate_limited"),
    ]);
    let hook = format!("{}/services/T000/B000/secretHOOKpart", server.base);
    let c = channel(
        "sl5",
        "slack",
        "#general",
        "https://unused.invalid",
        &[("webhook_url", &hook)],
    );
    let d = outgoing("sl5", &["One", "Two"]);
    assert_eq!(
        publish(&c, &d),
        Ok(Posted {
            remote_id: "slack-webhook".into(),
            url: None
        })
    );
    let one = outgoing("sl5", &["One"]);
    let r: Vec<_> = (0..3).map(|_| publish(&c, &one)).collect();
    for x in &r {
        assert_no_secret(x, &[&hook, "secretHOOKpart", "/services/"]);
    }
    assert!(
        matches!(&r[0], Err(PublishError::Auth(m)) if m.contains("no_service")),
        "{:?}",
        r[0]
    );
    assert!(
        matches!(&r[1], Err(PublishError::Rejected(m)) if m.contains("invalid_payload")),
        "{:?}",
        r[1]
    );
    assert!(
        matches!(&r[2], Err(PublishError::RateLimited { retry_after, .. }) if *retry_after == Duration::from_secs(3)),
        "{:?}",
        r[2]
    );
    assert_eq!(find(&c, &d), Ok(Lookup::CannotTell));
    let reqs = server.requests();
    assert_eq!(reqs[0].path, "/services/T000/B000/secretHOOKpart");
    assert_eq!(
        reqs[0].json(),
        json!({ "text": "One", "unfurl_links": true })
    );
    assert_eq!(reqs[1].json()["text"], "Two");

    // A refused connection names the variable, never the URL.
    let hook = format!("{}/services/T000/B000/secretHOOKpart", refused_base());
    let c = channel(
        "sl6",
        "slack",
        "#general",
        "https://unused.invalid",
        &[("webhook_url", &hook)],
    );
    let r = publish(&c, &one);
    assert!(
        matches!(&r, Err(PublishError::NotSent(m)) if m.contains("SMM_ADAPTER_TEST_SL6_WEBHOOK_URL")),
        "{r:?}"
    );
    assert_no_secret(&r, &[&hook, "secretHOOKpart"]);
}

// ---------------------------------------------------------------- X

const X_KEYS: [(&str, &str); 4] = [
    ("api_key", "consumerKEY123"),
    ("api_secret", "consumerSECRETabc"),
    ("access_token", "42-accessTOKENxyz"),
    ("access_token_secret", "tokenSECRETdef"),
];
const X_SECRETS: [&str; 4] = [
    "consumerKEY123",
    "consumerSECRETabc",
    "42-accessTOKENxyz",
    "tokenSECRETdef",
];

fn x_created(id: &str) -> Response {
    answer(
        201,
        json!({ "data": { "id": id, "text": "x", "edit_history_tweet_ids": [id] } }),
    )
}

/// Percent-decoding of a query component (`+` is a space in form encoding).
fn unescape(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("00");
                out.push(u8::from_str_radix(hex, 16).unwrap_or(0));
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Checks an OAuth 1.0a header the way a server does: recomputes the signature from the
/// request's method, URL and query with the shared secrets, and compares.
fn assert_oauth_signed(req: &Request, base: &str) {
    let header = req.header("authorization").expect("authorization header");
    let fields = header.strip_prefix("OAuth ").expect("OAuth scheme");
    let mut params: Vec<(String, String)> = Vec::new();
    let mut sent_signature = String::new();
    for f in fields.split(", ") {
        let (k, v) = f.split_once('=').expect("k=v");
        let v = unescape(v.trim_matches('"'));
        if k == "oauth_signature" {
            sent_signature = v;
        } else {
            params.push((k.to_string(), v));
        }
    }
    for k in [
        "oauth_consumer_key",
        "oauth_nonce",
        "oauth_signature_method",
        "oauth_timestamp",
        "oauth_token",
        "oauth_version",
    ] {
        assert!(
            params.iter().any(|(n, _)| n == k),
            "{k} missing in {header}"
        );
    }
    assert!(params.contains(&("oauth_consumer_key".into(), "consumerKEY123".into())));
    assert!(params.contains(&("oauth_token".into(), "42-accessTOKENxyz".into())));
    assert!(!header.contains("consumerSECRETabc") && !header.contains("tokenSECRETdef"));
    let (path, query) = req.path.split_once('?').unwrap_or((&req.path, ""));
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        params.push((unescape(k), unescape(v)));
    }
    let base_string =
        smm::platforms::x::signature_base_string(&req.method, &format!("{base}{path}"), &params);
    assert_eq!(
        smm::platforms::x::signature(&base_string, "consumerSECRETabc", "tokenSECRETdef"),
        sent_signature,
        "signature of {base_string}"
    );
}

#[test]
fn x_oauth1_thread_is_signed_and_chained() {
    let server = FakeServer::start(vec![x_created("100"), x_created("101")]);
    let c = channel("x1", "x", "@northwind", &server.base, &X_KEYS);
    let posted = publish(&c, &outgoing("x1", &["Hello X", "Second"])).expect("published");
    assert_eq!(
        posted,
        Posted {
            remote_id: "100".into(),
            url: Some("https://x.com/northwind/status/100".into())
        }
    );
    let base = server.base.clone();
    let reqs = server.requests();
    assert_eq!(reqs[0].method, "POST");
    assert_eq!(reqs[0].path, "/2/tweets");
    assert_eq!(reqs[0].json(), json!({ "text": "Hello X" }));
    assert_eq!(
        reqs[1].json(),
        json!({ "text": "Second", "reply": { "in_reply_to_tweet_id": "100" } })
    );
    for r in &reqs {
        assert_oauth_signed(r, &base);
    }
    assert_ne!(
        reqs[0].header("authorization"),
        reqs[1].header("authorization"),
        "a fresh nonce per request"
    );
}

#[test]
fn x_user_token_is_a_bearer() {
    let server = FakeServer::start(vec![x_created("7")]);
    let c = channel("x2", "x", "", &server.base, &[("token", "userTOKENoauth2")]);
    let posted = publish(&c, &outgoing("x2", &["Hi"])).expect("published");
    assert_eq!(posted.url.as_deref(), Some("https://x.com/i/status/7"));
    let reqs = server.requests();
    assert_eq!(
        reqs[0].header("authorization"),
        Some("Bearer userTOKENoauth2")
    );
}

#[test]
fn x_failures_are_classified_without_secrets() {
    let reset = (jiff::Timestamp::now().as_second() + 120).to_string();
    let server = FakeServer::start(vec![
        answer_with(
            429,
            &[
                ("x-rate-limit-reset", &reset),
                ("x-rate-limit-remaining", "0"),
            ],
            r#"{"title":"Too Many Requests","detail":"Too Many Requests","type":"about:blank","status":429}"#,
        ),
        answer(
            403,
            json!({ "detail": "You are not allowed to create a Tweet with duplicate content.", "type": "about:blank", "title": "Forbidden", "status": 403 }),
        ),
        answer(
            401,
            json!({ "title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized" }),
        ),
        answer_with(503, &[], "Service Unavailable"),
        // A thread whose second part fails: partly published.
        x_created("200"),
        answer(400, json!({ "errors": [{ "message": "Invalid reply" }] })),
    ]);
    let c = channel("x3", "x", "@northwind", &server.base, &X_KEYS);
    let one = outgoing("x3", &["Hello"]);
    let mut r: Vec<_> = (0..4).map(|_| publish(&c, &one)).collect();
    r.push(publish(&c, &outgoing("x3", &["One", "Two"])));
    for x in &r {
        assert_no_secret(x, &X_SECRETS);
    }
    assert!(
        matches!(&r[0], Err(PublishError::RateLimited { retry_after, .. }) if (115..=121).contains(&retry_after.as_secs())),
        "{:?}",
        r[0]
    );
    assert_eq!(
        r[1],
        Err(PublishError::Rejected(
            "403 You are not allowed to create a Tweet with duplicate content.".into()
        ))
    );
    assert!(
        matches!(&r[2], Err(PublishError::Auth(m)) if m.contains("SMM_ADAPTER_TEST_X3_API_KEY")),
        "{:?}",
        r[2]
    );
    assert!(
        matches!(&r[3], Err(PublishError::Unknown(m)) if m.contains("503")),
        "{:?}",
        r[3]
    );
    assert!(
        matches!(&r[4], Err(PublishError::Unknown(m)) if m.contains("partly published (1 of 2")),
        "{:?}",
        r[4]
    );
    assert_eq!(server.requests().len(), 6);
}

#[test]
fn x_videos_are_refused_before_sending_and_a_refused_connection_is_not_sent() {
    let c = channel("x4", "x", "@northwind", &refused_base(), &X_KEYS);
    let mut d = outgoing("x4", &["Picture"]);
    d.parts[0].media.push(OutgoingMedia {
        path: "/clips/pour.mp4".into(),
        alt: "alt".into(),
    });
    assert_eq!(
        publish(&c, &d),
        Err(PublishError::Rejected(
            "part 1 of 1: /clips/pour.mp4: smm uploads images to X, not videos (X's chunked upload is not supported yet)".into()
        ))
    );
    let r = publish(&c, &outgoing("x4", &["Hi"]));
    assert!(matches!(&r, Err(PublishError::NotSent(_))), "{r:?}");
    assert_no_secret(&r, &X_SECRETS);
    // Could not ask: checked again on the next run, not given up on.
    assert!(matches!(
        find(&c, &outgoing("x4", &["Hi"])),
        Err(PublishError::NotSent(_))
    ));
}

fn x_image_part(dir: &std::path::Path) -> Outgoing {
    let png = dir.join("cup.png");
    std::fs::write(&png, b"\x89PNG fake").expect("write");
    let mut d = outgoing("x5", &["Our winter cup", "And the beans"]);
    d.parts[0].media.push(OutgoingMedia {
        path: png,
        alt: "A cup of coffee on a wooden table".into(),
    });
    d
}

#[test]
fn x_images_go_up_with_their_alt_text_before_the_post_names_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = FakeServer::start(vec![
        answer(
            200,
            json!({ "data": { "id": "1146654567674912769", "media_key": "3_1146654567674912769" } }),
        ),
        answer(200, json!({ "data": { "associated_metadata": {} } })),
        x_created("100"),
        x_created("101"),
    ]);
    let c = channel("x5", "x", "@northwind", &server.base, &X_KEYS);
    let posted = publish(&c, &x_image_part(dir.path())).expect("published");
    assert_eq!(posted.remote_id, "100");
    let reqs = server.requests();
    let paths: Vec<&str> = reqs.iter().map(|r| r.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "/2/media/upload",
            "/2/media/metadata",
            "/2/tweets",
            "/2/tweets"
        ]
    );
    let upload = reqs[0].text();
    assert!(
        reqs[0]
            .header("content-type")
            .is_some_and(|t| t.starts_with("multipart/form-data")),
        "{:?}",
        reqs[0].headers
    );
    for needle in [
        "name=\"media_category\"",
        "tweet_image",
        "image/png",
        "PNG fake",
    ] {
        assert!(upload.contains(needle), "missing {needle:?} in {upload}");
    }
    assert!(reqs[0]
        .header("authorization")
        .is_some_and(|a| a.starts_with("OAuth ")));
    assert_eq!(
        reqs[1].json(),
        json!({ "id": "1146654567674912769", "metadata": { "alt_text": { "text": "A cup of coffee on a wooden table" } } })
    );
    assert_eq!(
        reqs[2].json()["media"],
        json!({ "media_ids": ["1146654567674912769"] })
    );
    assert!(
        reqs[3].json().get("media").is_none(),
        "the reply has no image"
    );
}

#[test]
fn x_a_failed_image_upload_sends_no_post() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = FakeServer::start(vec![answer(
        503,
        json!({ "title": "Service Unavailable", "detail": "try again" }),
    )]);
    let c = channel("x5", "x", "@northwind", &server.base, &X_KEYS);
    let r = publish(&c, &x_image_part(dir.path()));
    // No post request was made, so nothing can exist: not sent, retried by a later run.
    assert!(matches!(&r, Err(PublishError::NotSent(_))), "{r:?}");
    assert_no_secret(&r, &X_SECRETS);
    let reqs = server.requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].path, "/2/media/upload");
}

#[test]
fn x_find_matches_the_timeline_by_text_and_replies() {
    let server = FakeServer::start(vec![
        answer(
            200,
            json!({ "data": { "id": "42", "name": "Northwind", "username": "northwind" } }),
        ),
        answer(
            200,
            json!({ "data": [
            { "id": "301", "text": "Part two", "referenced_tweets": [{ "type": "replied_to", "id": "300" }] },
            { "id": "300", "text": "Winter &amp; co https://t.co/AbC123" },
            { "id": "299", "text": "Something else" },
        ], "meta": { "result_count": 3 } }),
        ),
        // Second lookup: reads are not in this API tier.
        answer(
            200,
            json!({ "data": { "id": "42", "username": "northwind" } }),
        ),
        answer(
            403,
            json!({ "title": "Client Forbidden", "detail": "not enrolled", "status": 403 }),
        ),
    ]);
    let c = channel("x5", "x", "@northwind", &server.base, &X_KEYS);
    let d = outgoing(
        "x5",
        &["Winter & co https://northwind.coffee/winter", "Part two"],
    );
    assert_eq!(
        find(&c, &d),
        Ok(Lookup::Found(Posted {
            remote_id: "300".into(),
            url: Some("https://x.com/northwind/status/300".into())
        }))
    );
    assert_eq!(find(&c, &d), Ok(Lookup::CannotTell));
    let base = server.base.clone();
    let reqs = server.requests();
    assert_eq!(reqs[0].path, "/2/users/me");
    assert!(
        reqs[1].path.starts_with("/2/users/42/tweets?"),
        "{}",
        reqs[1].path
    );
    assert!(
        reqs[1].path.contains("start_time=2026-12-03T07%3A45%3A00Z"),
        "{}",
        reqs[1].path
    );
    for r in &reqs[..2] {
        assert_oauth_signed(r, &base);
    }
}
