//! Mastodon: `POST /api/v1/statuses` with an `Idempotency-Key` derived from the delivery, so a
//! retry of the same delivery returns the status created the first time instead of a second one
//! (the server keeps keys for an hour; after that `find()` looks the post up by its text).
//! Images go through `POST /api/v2/media` with their alt text; threads reply to the previous part.

use std::time::Duration;

use jiff::Timestamp;
use reqwest::header::HeaderMap;
use reqwest::StatusCode;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tokio::sync::Mutex;

use super::{
    secret, short_error, Adapter, BoxFuture, Dedup, Lookup, Outgoing, OutgoingMedia, Posted,
    PublishError, SetupError,
};
use crate::workspace::Channel;

/// How long media processing may take before the delivery is put off to the next run.
const MEDIA_POLLS: u32 = 30;
const MEDIA_POLL_INTERVAL: Duration = Duration::from_secs(2);
/// A post found by `find()` must be at most this much older than its due time (clock skew).
const FIND_MARGIN_SECS: i64 = 15 * 60;
/// Pages of 40 statuses `find()` reads at most, newest first.
const FIND_PAGES: usize = 10;

pub struct Mastodon {
    http: reqwest::Client,
    /// `https://instance`, no trailing slash; empty when neither base_url nor the account says.
    base: String,
    account: String,
    token: String,
    account_id: Mutex<Option<String>>,
}

/// What a request came back with, or why it failed (already classified).
struct Reply {
    status: StatusCode,
    body: Value,
}

impl Mastodon {
    pub fn new(channel: &Channel, http: reqwest::Client) -> Result<Mastodon, SetupError> {
        Ok(Mastodon {
            http,
            base: base_url(channel.base_url.as_deref(), &channel.account),
            account: channel.account.clone(),
            token: secret(channel, "token")?,
            account_id: Mutex::new(None),
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn check_base(&self) -> Result<(), PublishError> {
        if self.base.is_empty() {
            return Err(PublishError::NotSent(format!(
                "no Mastodon instance for account `{}`: write it as @user@instance or set base_url",
                self.account
            )));
        }
        Ok(())
    }

    /// Sends one request and classifies the outcome by whether anything can have been created.
    async fn send(&self, req: reqwest::RequestBuilder) -> Result<Reply, PublishError> {
        let super::Answer {
            status,
            headers,
            body,
            ..
        } = super::exchange(req.bearer_auth(&self.token), &self.base, &|t| t).await?;
        // A success we cannot read says nothing about what was created.
        if status.is_success() && body.is_null() {
            return Err(PublishError::Unknown(format!(
                "the answer from {} ({status}) was unreadable",
                self.base
            )));
        }
        if status.is_success() {
            return Ok(Reply { status, body });
        }
        let detail = error_text(status, &body);
        Err(match status.as_u16() {
            401 | 403 => PublishError::Auth(format!(
                "{} refused the token of {}: {detail}",
                self.base, self.account
            )),
            429 => PublishError::RateLimited {
                retry_after: retry_after(&headers, Timestamp::now()),
                detail,
            },
            400..=499 => PublishError::Rejected(detail),
            _ => PublishError::Unknown(detail),
        })
    }

    async fn upload(&self, media: &OutgoingMedia) -> Result<String, PublishError> {
        let bytes = std::fs::read(&media.path).map_err(|e| {
            PublishError::Rejected(format!("cannot read {}: {e}", media.path.display()))
        })?;
        let name = media
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "media".to_string());
        let file = reqwest::multipart::Part::bytes(bytes)
            .file_name(name)
            .mime_str(super::mime_of(&media.path.to_string_lossy()))
            .map_err(|e| PublishError::Rejected(format!("media type: {}", short_error(e))))?;
        let form = reqwest::multipart::Form::new()
            .part("file", file)
            .text("description", media.alt.clone());
        let reply = self
            .send(self.http.post(self.url("/api/v2/media")).multipart(form))
            .await?;
        let id = str_of(&reply.body, "id");
        if id.is_empty() {
            return Err(PublishError::Unknown(
                "the media upload answer has no id".into(),
            ));
        }
        // 202: the server is still processing it; a status may only attach it once it is done.
        if reply.status == StatusCode::ACCEPTED || reply.body["url"].is_null() {
            self.wait_for_media(&id).await?;
        }
        Ok(id)
    }

    /// Polls `GET /api/v1/media/:id` (206 while processing, 200 when done), bounded.
    async fn wait_for_media(&self, id: &str) -> Result<(), PublishError> {
        for _ in 0..MEDIA_POLLS {
            let reply = self
                .send(self.http.get(self.url(&format!("/api/v1/media/{id}"))))
                .await?;
            if reply.status == StatusCode::OK && !reply.body["url"].is_null() {
                return Ok(());
            }
            tokio::time::sleep(MEDIA_POLL_INTERVAL).await;
        }
        // No status refers to it yet: nothing was published, so try again on the next run.
        Err(PublishError::NotSent(format!(
            "media {id} was still processing after {} s",
            MEDIA_POLLS as u64 * MEDIA_POLL_INTERVAL.as_secs()
        )))
    }

    async fn post_status(
        &self,
        key: &str,
        text: &str,
        media_ids: &[String],
        reply_to: Option<&str>,
    ) -> Result<Value, PublishError> {
        let mut body = json!({ "status": text, "visibility": "public" });
        if !media_ids.is_empty() {
            body["media_ids"] = json!(media_ids);
        }
        if let Some(parent) = reply_to {
            body["in_reply_to_id"] = json!(parent);
        }
        let reply = self
            .send(
                self.http
                    .post(self.url("/api/v1/statuses"))
                    .header("Idempotency-Key", key)
                    .json(&body),
            )
            .await?;
        if str_of(&reply.body, "id").is_empty() {
            return Err(PublishError::Unknown(
                "the answer to the new status has no id".into(),
            ));
        }
        Ok(reply.body)
    }

    /// The account's id (verify_credentials), cached.
    async fn account_id(&self) -> Result<String, PublishError> {
        let mut guard = self.account_id.lock().await;
        if let Some(id) = guard.as_ref() {
            return Ok(id.clone());
        }
        let reply = self
            .send(
                self.http
                    .get(self.url("/api/v1/accounts/verify_credentials")),
            )
            .await?;
        let id = str_of(&reply.body, "id");
        if id.is_empty() {
            return Err(PublishError::Unknown(
                "verify_credentials answered without an account id".into(),
            ));
        }
        *guard = Some(id.clone());
        Ok(id)
    }

    /// The account's own statuses created since `since`, newest first.
    async fn recent_statuses(&self, since: Timestamp) -> Result<Vec<Value>, PublishError> {
        let id = self.account_id().await?;
        let mut out = Vec::new();
        let mut max_id: Option<String> = None;
        for _ in 0..FIND_PAGES {
            let mut query = vec![("limit", "40".to_string())];
            if let Some(m) = &max_id {
                query.push(("max_id", m.clone()));
            }
            let reply = self
                .send(
                    self.http
                        .get(self.url(&format!("/api/v1/accounts/{id}/statuses")))
                        .query(&query),
                )
                .await?;
            let page = reply.body.as_array().cloned().unwrap_or_default();
            let full = page.len() >= 40;
            let mut older = false;
            for s in page {
                match created_at(&s) {
                    Some(t) if t >= since => {
                        max_id = Some(str_of(&s, "id"));
                        out.push(s);
                    }
                    _ => older = true,
                }
            }
            if older || !full || max_id.is_none() {
                break;
            }
        }
        Ok(out)
    }
}

impl Adapter for Mastodon {
    fn dedup(&self) -> Dedup {
        Dedup::Safe
    }

    fn publish<'a>(
        &'a self,
        delivery: &'a Outgoing,
    ) -> BoxFuture<'a, Result<Posted, PublishError>> {
        Box::pin(async move {
            self.check_base()?;
            let status = super::post_thread(
                delivery,
                move |i, earlier: super::Earlier<Value>| async move {
                    let part = &delivery.parts[i];
                    let mut media_ids = Vec::new();
                    for m in &part.media {
                        media_ids.push(self.upload(m).await?);
                    }
                    let parent = earlier.parent.map(|s| str_of(&s, "id"));
                    self.post_status(
                        &idempotency_key(delivery, i),
                        &part.text,
                        &media_ids,
                        parent.as_deref(),
                    )
                    .await
                },
            )
            .await?;
            Ok(Posted {
                remote_id: str_of(&status, "id"),
                url: status_url(&status),
            })
        })
    }

    fn find<'a>(&'a self, delivery: &'a Outgoing) -> BoxFuture<'a, Result<Lookup, PublishError>> {
        Box::pin(async move {
            self.check_base()?;
            let since = delivery
                .publish_at
                .checked_sub(jiff::SignedDuration::from_secs(FIND_MARGIN_SECS))
                .unwrap_or(delivery.publish_at);
            let statuses = self.recent_statuses(since).await?;
            Ok(match_thread(&statuses, delivery))
        })
    }
}

/// The thread among `statuses`: the first part by its text, each later part by its text and by
/// replying to the part before. All parts: found; none: not found. Only some: a person decides,
/// since publishing again after the key expired (1 h) would post the first parts twice.
fn match_thread(statuses: &[Value], delivery: &Outgoing) -> Lookup {
    let mut found: Vec<&Value> = Vec::new();
    for (i, part) in delivery.parts.iter().enumerate() {
        let parent = found.last().map(|s| str_of(s, "id"));
        // Oldest first: if the same text went out twice, the first one is the delivery's.
        let hit = statuses.iter().rev().find(|s| {
            s["reblog"].is_null()
                && same_text(s, &part.text)
                && match (&parent, i) {
                    (_, 0) => true,
                    (Some(p), _) => s["in_reply_to_id"].as_str() == Some(p.as_str()),
                    (None, _) => false,
                }
        });
        match hit {
            Some(s) => found.push(s),
            None => break,
        }
    }
    match found.first() {
        None => Lookup::NotFound,
        Some(s) if found.len() == delivery.parts.len() => Lookup::Found(Posted {
            remote_id: str_of(s, "id"),
            url: status_url(s),
        }),
        Some(_) => Lookup::CannotTell,
    }
}

/// Whether a status says `text`: its source `text` where the server includes it, else its
/// HTML `content` turned back into text.
fn same_text(status: &Value, text: &str) -> bool {
    let want = normalize(text);
    if let Some(source) = status["text"].as_str() {
        return normalize(source) == want;
    }
    normalize(&html_to_text(
        status["content"].as_str().unwrap_or_default(),
    )) == want
}

/// Whitespace runs become one space (the server turns newlines into <br> and <p>), and remote
/// mentions `@user@domain` become `@user`, as the server renders them.
fn normalize(text: &str) -> String {
    let words: Vec<String> = text
        .split_whitespace()
        .map(|w| {
            let lead = w.len()
                - w.trim_start_matches(|c: char| !c.is_alphanumeric() && c != '@')
                    .len();
            let (before, rest) = w.split_at(lead);
            if let Some(handle) = rest.strip_prefix('@') {
                if let Some((user, domain)) = handle.split_once('@') {
                    let host_len = domain.len()
                        - domain
                            .trim_start_matches(|c: char| {
                                c.is_alphanumeric() || c == '.' || c == '-'
                            })
                            .len();
                    // A sentence's full stop after the domain is not part of it.
                    let host = domain[..host_len].trim_end_matches('.');
                    if !user.is_empty() && host.contains('.') {
                        return format!("{before}@{user}{}", &domain[host.len()..]);
                    }
                }
            }
            w.to_string()
        })
        .collect();
    words.join(" ")
}

/// The text of a status's HTML `content`: `<br>` is a newline, a new paragraph a blank line,
/// other tags go (a link's hidden `https://` and ellipsis spans are kept, so the full URL
/// comes back), entities are decoded.
pub fn html_to_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(start) = rest.find('<') {
        out.push_str(&decode_entities(&rest[..start]));
        let Some(end) = rest[start..].find('>') else {
            // A lone `<` is text (the server would have escaped it, but stay lenient).
            out.push_str(&decode_entities(&rest[start..]));
            rest = "";
            break;
        };
        let tag = rest[start + 1..start + end].trim().to_ascii_lowercase();
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        match name.as_str() {
            "br" => out.push('\n'),
            // A paragraph after another one: Mastodon turns a blank line into </p><p>.
            "p" if !tag.starts_with('/') && !out.is_empty() => out.push_str("\n\n"),
            _ => {}
        }
        rest = &rest[start + end + 1..];
    }
    out.push_str(&decode_entities(rest));
    out
}

fn decode_entities(s: &str) -> String {
    if !s.contains('&') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp + 1..];
        let decoded = after.find(';').filter(|&n| n <= 10).and_then(|semi| {
            let name = &after[..semi];
            let c = match name {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                "nbsp" => Some('\u{a0}'),
                _ => {
                    let num = name.strip_prefix('#')?;
                    let code = match num.strip_prefix(['x', 'X']) {
                        Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                        None => num.parse().ok()?,
                    };
                    char::from_u32(code)
                }
            }?;
            Some((c, semi))
        });
        match decoded {
            Some((c, semi)) => {
                out.push(c);
                rest = &after[semi + 1..];
            }
            None => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The `Idempotency-Key` of one part: the same delivery, part and content always give the same
/// key (a retry is deduplicated by the server); edited content gives a new one.
pub fn idempotency_key(delivery: &Outgoing, part: usize) -> String {
    let digest =
        Sha256::digest(format!("{}\n{part}\n{}", delivery.key, delivery.content_hash).as_bytes());
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("smm-{hex}")
}

/// `base_url` as given, else `https://instance` from an account written `@user@instance`.
fn base_url(configured: Option<&str>, account: &str) -> String {
    if let Some(b) = configured {
        return b.trim_end_matches('/').to_string();
    }
    match account.trim_start_matches('@').split_once('@') {
        Some((_, instance)) if !instance.is_empty() && !instance.contains('/') => {
            format!("https://{instance}")
        }
        _ => String::new(),
    }
}

/// How long to wait after a 429: `Retry-After` (seconds or an HTTP date) where given, else
/// Mastodon's `X-RateLimit-Reset` (an ISO 8601 time), else 60 s. At least 1 s, at most 1 h.
pub fn retry_after(headers: &HeaderMap, now: Timestamp) -> Duration {
    let get = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    let until = |t: Timestamp| (t.as_second() - now.as_second()).clamp(1, 3600) as u64;
    if let Some(v) = get("retry-after") {
        if let Ok(secs) = v.parse::<u64>() {
            return Duration::from_secs(secs.clamp(1, 3600));
        }
        if let Ok(t) = jiff::fmt::rfc2822::parse(v) {
            return Duration::from_secs(until(t.timestamp()));
        }
    }
    if let Some(t) = get("x-ratelimit-reset").and_then(|v| v.parse::<Timestamp>().ok()) {
        return Duration::from_secs(until(t));
    }
    Duration::from_secs(60)
}

fn error_text(status: StatusCode, body: &Value) -> String {
    match (body["error"].as_str(), body["error_description"].as_str()) {
        (Some(e), Some(d)) => format!("{} {e}: {d}", status.as_u16()),
        (Some(e), None) => format!("{} {e}", status.as_u16()),
        _ => format!("HTTP {status}"),
    }
}

fn created_at(status: &Value) -> Option<Timestamp> {
    status["created_at"].as_str()?.parse().ok()
}

/// The status's web page, else its ActivityPub id (also a URL).
fn status_url(status: &Value) -> Option<String> {
    status["url"]
        .as_str()
        .or_else(|| status["uri"].as_str())
        .filter(|u| !u.is_empty())
        .map(str::to_string)
}

fn str_of(v: &Value, key: &str) -> String {
    v[key].as_str().unwrap_or_default().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platforms::OutgoingPart;
    use crate::state::DeliveryKey;

    fn outgoing(post: &str, hash: &str, parts: &[&str]) -> Outgoing {
        Outgoing {
            key: DeliveryKey::new(post, "mastodon"),
            content_hash: hash.to_string(),
            publish_at: "2026-12-03T08:00:00Z".parse().expect("time"),
            parts: parts.iter().copied().map(OutgoingPart::text).collect(),
            link: None,
        }
    }

    #[test]
    fn idempotency_keys_are_stable_and_distinct_per_delivery_part_and_content() {
        let a = outgoing("launch", "h1", &["x"]);
        let k = idempotency_key(&a, 0);
        assert_eq!(k, idempotency_key(&a, 0), "stable across retries");
        assert!(k.starts_with("smm-") && k.len() == 4 + 32, "{k}");
        assert_ne!(k, idempotency_key(&a, 1));
        assert_ne!(k, idempotency_key(&outgoing("launch", "h2", &["x"]), 0));
        assert_ne!(k, idempotency_key(&outgoing("teaser", "h1", &["x"]), 0));
    }

    #[test]
    fn rate_limit_waits_come_from_retry_after_or_the_iso_reset_time() {
        let now: Timestamp = "2026-12-03T08:00:00Z".parse().expect("time");
        let mut h = HeaderMap::new();
        assert_eq!(retry_after(&h, now), Duration::from_secs(60));
        h.insert(
            "x-ratelimit-reset",
            "2026-12-03T08:04:10.123Z".parse().expect("header"),
        );
        assert_eq!(retry_after(&h, now), Duration::from_secs(250));
        h.insert(
            "x-ratelimit-reset",
            "2026-12-03T07:00:00Z".parse().expect("header"),
        );
        assert_eq!(retry_after(&h, now), Duration::from_secs(1), "a past reset");
        h.insert("retry-after", "30".parse().expect("header"));
        assert_eq!(retry_after(&h, now), Duration::from_secs(30));
        h.insert(
            "retry-after",
            "Thu, 03 Dec 2026 08:02:00 GMT".parse().expect("header"),
        );
        assert_eq!(retry_after(&h, now), Duration::from_secs(120));
        h.insert("retry-after", "99999".parse().expect("header"));
        assert_eq!(retry_after(&h, now), Duration::from_secs(3600), "bounded");
    }

    #[test]
    fn html_content_turns_back_into_the_text_that_was_posted() {
        let html = r#"<p>Winter Blend is here &amp; it&#39;s good. <a href="https://northwind.coffee/winter?utm_source=mastodon" rel="nofollow noopener" target="_blank"><span class="invisible">https://</span><span class="ellipsis">northwind.coffee/winter?utm_so</span><span class="invisible">urce=mastodon</span></a> <a href="https://m.social/tags/coffee" class="mention hashtag" rel="tag">#<span>coffee</span></a></p><p>Second paragraph<br />line two &lt;3 &#x1F600;</p>"#;
        assert_eq!(
            html_to_text(html),
            "Winter Blend is here & it's good. https://northwind.coffee/winter?utm_source=mastodon #coffee\n\nSecond paragraph\nline two <3 😀"
        );
        assert_eq!(html_to_text("a &bogus; & b < c"), "a &bogus; & b < c");
    }

    #[test]
    fn find_matches_by_text_and_reply_chain() {
        let d = outgoing("story", "h", &["Hi @bob@example.org!\n\nMore.", "Part two"]);
        assert_eq!(
            normalize("Ask @bob@example.org. Or @x@y"),
            "Ask @bob. Or @x@y"
        );
        let status = |id: &str, content: &str, reply: Option<&str>| {
            json!({ "id": id, "url": format!("https://m.example/@a/{id}"), "content": content,
                    "in_reply_to_id": reply, "reblog": null, "created_at": "2026-12-03T08:00:05Z" })
        };
        let first = status(
            "1",
            r#"<p>Hi <span class="h-card"><a href="https://example.org/@bob" class="u-url mention">@<span>bob</span></a></span>!</p><p>More.</p>"#,
            None,
        );
        let second = status("2", "<p>Part two</p>", Some("1"));
        let unrelated = status("3", "<p>Part two</p>", None);
        // Newest first, as the API lists them.
        assert_eq!(
            match_thread(&[second.clone(), first.clone()], &d),
            Lookup::Found(Posted {
                remote_id: "1".into(),
                url: Some("https://m.example/@a/1".into())
            })
        );
        assert_eq!(
            match_thread(std::slice::from_ref(&first), &d),
            Lookup::CannotTell
        );
        assert_eq!(
            match_thread(&[unrelated.clone(), first], &d),
            Lookup::CannotTell
        );
        assert_eq!(match_thread(&[unrelated], &d), Lookup::NotFound);
        assert_eq!(match_thread(&[], &d), Lookup::NotFound);
        // The source text, where present, wins over the HTML.
        let with_text =
            json!({ "id": "9", "content": "<p>x</p>", "text": "Only   part", "reblog": null });
        assert!(same_text(&with_text, "Only part"));
    }

    #[test]
    fn the_instance_comes_from_base_url_or_the_account() {
        assert_eq!(
            base_url(None, "@northwind@mastodon.social"),
            "https://mastodon.social"
        );
        assert_eq!(
            base_url(Some("http://127.0.0.1:4010/"), "@a@b.c"),
            "http://127.0.0.1:4010"
        );
        assert_eq!(base_url(None, "@northwind"), "");
    }
}
