//! Bluesky (AT Protocol): createRecord with a record key derived from the delivery, so a retry
//! can never create a second post; facets from smm-text; images with alt text; threads.

use std::time::Duration;

use jiff::Timestamp;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use smm_text::bluesky::{detect_facets, FacetFeature};
use tokio::sync::Mutex;

use super::{
    secret, short_error, Adapter, BoxFuture, Dedup, Lookup, Outgoing, OutgoingMedia, Posted,
    PublishError, SetupError,
};
use crate::workspace::Channel;

const COLLECTION: &str = "app.bsky.feed.post";
const DEFAULT_BASE: &str = "https://bsky.social";

pub struct Bluesky {
    http: reqwest::Client,
    base: String,
    identifier: String,
    password: String,
    session: Mutex<Option<Session>>,
}

#[derive(Clone)]
struct Session {
    access: String,
    did: String,
    handle: String,
}

/// A record this adapter created (or found): what a reply needs to point at it.
#[derive(Clone, Debug)]
struct StrongRef {
    uri: String,
    cid: String,
}

impl Bluesky {
    pub fn new(channel: &Channel, http: reqwest::Client) -> Result<Bluesky, SetupError> {
        Ok(Bluesky {
            http,
            base: channel
                .base_url
                .clone()
                .unwrap_or_else(|| DEFAULT_BASE.to_string())
                .trim_end_matches('/')
                .to_string(),
            identifier: channel.account.trim_start_matches('@').to_string(),
            password: secret(channel, "password")?,
            session: Mutex::new(None),
        })
    }

    fn url(&self, method: &str) -> String {
        format!("{}/xrpc/{method}", self.base)
    }

    /// A cached session: createSession is rate limited hard (30 per 5 minutes).
    async fn session(&self) -> Result<Session, PublishError> {
        let mut guard = self.session.lock().await;
        if let Some(s) = guard.as_ref() {
            return Ok(s.clone());
        }
        let resp = self
            .http
            .post(self.url("com.atproto.server.createSession"))
            .json(&json!({ "identifier": self.identifier, "password": self.password }))
            .send()
            .await
            .map_err(|e| {
                PublishError::NotSent(format!("cannot reach {}: {}", self.base, short_error(e)))
            })?;
        let status = resp.status();
        let body: Value = match resp.bytes().await.map(|b| serde_json::from_slice(&b)) {
            Ok(Ok(v)) => v,
            // Signing in creates nothing: an unreadable answer just means "try again later".
            _ => {
                return Err(PublishError::NotSent(format!(
                    "sign-in as {}: the answer was cut off",
                    self.identifier
                )))
            }
        };
        if !status.is_success() {
            // A server may quote the request: the password never leaves in a message.
            return Err(PublishError::Auth(self.scrub(format!(
                "sign-in as {} failed: {}",
                self.identifier,
                xrpc_error(status, &body)
            ))));
        }
        let s = Session {
            access: body["accessJwt"].as_str().unwrap_or_default().to_string(),
            did: body["did"].as_str().unwrap_or_default().to_string(),
            handle: body["handle"]
                .as_str()
                .unwrap_or(&self.identifier)
                .to_string(),
        };
        *guard = Some(s.clone());
        Ok(s)
    }

    /// Removes the app password from text that came from a server.
    fn scrub(&self, text: String) -> String {
        if self.password.is_empty() || !text.contains(&self.password) {
            return text;
        }
        text.replace(&self.password, "****")
    }

    async fn forget_session(&self) {
        *self.session.lock().await = None;
    }

    /// Sends one XRPC call, classifying failures by whether anything can have been created.
    async fn call(&self, req: reqwest::RequestBuilder) -> Result<Value, Failure> {
        let super::Answer {
            status,
            headers,
            body,
            ..
        } = super::exchange(req, &self.base, &|t| self.scrub(t))
            .await
            .map_err(Failure::Publish)?;
        // A garbled answer proves nothing either way: the request may have worked.
        if body.is_null() && status.as_u16() != 429 {
            return Err(Failure::Publish(PublishError::Unknown(format!(
                "the answer from {} ({status}) was unreadable",
                self.base
            ))));
        }
        if status.is_success() {
            return Ok(body);
        }
        let detail = self.scrub(xrpc_error(status, &body));
        Err(match status.as_u16() {
            401 => Failure::Expired(detail),
            429 => Failure::Publish(PublishError::RateLimited {
                retry_after: retry_after(&headers),
                detail,
            }),
            400..=499 => Failure::Client {
                error: body["error"].as_str().unwrap_or_default().to_string(),
                detail,
            },
            _ => Failure::Publish(PublishError::Unknown(detail)),
        })
    }

    async fn authed(
        &self,
        build: impl Fn(&Session) -> reqwest::RequestBuilder,
    ) -> Result<Value, Failure> {
        let session = self.session().await.map_err(Failure::Publish)?;
        match self
            .call(build(&session).bearer_auth(&session.access))
            .await
        {
            Err(Failure::Expired(_)) => {
                // Access tokens are short-lived: sign in again once.
                self.forget_session().await;
                let session = self.session().await.map_err(Failure::Publish)?;
                self.call(build(&session).bearer_auth(&session.access))
                    .await
            }
            other => other,
        }
    }

    async fn get_record(&self, rkey: &str) -> Result<Option<(StrongRef, Value)>, PublishError> {
        let req = |s: &Session| {
            self.http
                .get(self.url("com.atproto.repo.getRecord"))
                .query(&[
                    ("repo", s.did.as_str()),
                    ("collection", COLLECTION),
                    ("rkey", rkey),
                ])
        };
        match self.authed(req).await {
            Ok(v) => Ok(Some((
                StrongRef {
                    uri: str_of(&v, "uri"),
                    cid: str_of(&v, "cid"),
                },
                v["value"].clone(),
            ))),
            Err(Failure::Client { error, .. })
                if error == "RecordNotFound" || error == "InvalidRequest" =>
            {
                Ok(None)
            }
            // A lookup creates nothing: any other failure means "cannot tell yet", never a refusal.
            Err(f) => Err(match f.into_publish() {
                PublishError::Rejected(r) => PublishError::Unknown(format!("lookup failed: {r}")),
                other => other,
            }),
        }
    }

    async fn upload(&self, media: &OutgoingMedia) -> Result<Value, PublishError> {
        let bytes = std::fs::read(&media.path).map_err(|e| {
            PublishError::Rejected(format!("cannot read {}: {e}", media.path.display()))
        })?;
        let mime = super::mime_of(&media.path.to_string_lossy());
        let req = |_: &Session| {
            self.http
                .post(self.url("com.atproto.repo.uploadBlob"))
                .header("content-type", mime)
                .body(bytes.clone())
        };
        // A blob upload creates nothing visible: any failure can be retried.
        match self.authed(req).await {
            Ok(v) => Ok(v["blob"].clone()),
            Err(f) => Err(f.into_publish()),
        }
    }

    async fn resolve_handle(&self, handle: &str) -> Option<String> {
        let resp = self
            .http
            .get(self.url("com.atproto.identity.resolveHandle"))
            .query(&[("handle", handle)])
            .send()
            .await
            .ok()?;
        let body: Value = resp.json().await.ok()?;
        body["did"].as_str().map(str::to_string)
    }

    async fn record(
        &self,
        text: &str,
        images: Vec<Value>,
        reply: Option<(&StrongRef, &StrongRef)>,
        link: Option<&str>,
    ) -> Value {
        let mut facets = Vec::new();
        for f in detect_facets(text) {
            let feature = match &f.feature {
                FacetFeature::Link { uri } => {
                    json!({ "$type": "app.bsky.richtext.facet#link", "uri": uri })
                }
                FacetFeature::Tag { tag } => {
                    json!({ "$type": "app.bsky.richtext.facet#tag", "tag": tag })
                }
                // A mention needs the account's DID; an unknown handle stays plain text.
                FacetFeature::Mention { handle } => match self.resolve_handle(handle).await {
                    Some(did) => json!({ "$type": "app.bsky.richtext.facet#mention", "did": did }),
                    None => continue,
                },
            };
            facets.push(json!({ "index": { "byteStart": f.byte_start, "byteEnd": f.byte_end }, "features": [feature] }));
        }
        let mut record =
            json!({ "$type": COLLECTION, "text": text, "createdAt": Timestamp::now().to_string() });
        if !facets.is_empty() {
            record["facets"] = Value::Array(facets);
        }
        if !images.is_empty() {
            record["embed"] = json!({ "$type": "app.bsky.embed.images", "images": images });
        } else if let Some(uri) = link {
            record["embed"] = json!({ "$type": "app.bsky.embed.external", "external": self.link_card(uri).await });
        }
        if let Some((root, parent)) = reply {
            record["reply"] = json!({
                "root": { "uri": root.uri, "cid": root.cid },
                "parent": { "uri": parent.uri, "cid": parent.cid },
            });
        }
        record
    }

    /// Creates one part at its derived key, or finds it there from an earlier attempt.
    async fn create_part(
        &self,
        rkey: &str,
        text: &str,
        record: Value,
    ) -> Result<StrongRef, PublishError> {
        let body = |s: &Session| {
            self.http
                .post(self.url("com.atproto.repo.createRecord"))
                .json(&json!({ "repo": s.did, "collection": COLLECTION, "rkey": rkey, "record": record }))
        };
        match self.authed(body).await {
            Ok(v) if str_of(&v, "uri").starts_with("at://") && !str_of(&v, "cid").is_empty() => {
                Ok(StrongRef {
                    uri: str_of(&v, "uri"),
                    cid: str_of(&v, "cid"),
                })
            }
            // Created, but the answer does not say where: the retry finds it at its key.
            Ok(_) => Err(PublishError::Unknown(
                "the answer to createRecord has no record URI".into(),
            )),
            Err(Failure::Client { detail, .. }) => {
                // A record at this key means an earlier attempt got through: use it, if it is ours.
                match self.get_record(rkey).await? {
                    Some((r, value)) if value["text"].as_str() == Some(text) => Ok(r),
                    Some(_) => Err(PublishError::Rejected(format!(
                        "record key {rkey} holds a different post"
                    ))),
                    None => Err(PublishError::Rejected(detail)),
                }
            }
            Err(f) => Err(f.into_publish()),
        }
    }

    /// A link card: Bluesky does not unfurl links itself, so the page's OpenGraph title,
    /// description and image are read here. A page that cannot be read still gets a card with
    /// its address: a missing preview never stops a post.
    async fn link_card(&self, uri: &str) -> Value {
        let mut card = json!({ "uri": uri, "title": uri, "description": "" });
        let Some(html) = self.fetch(uri, 1_000_000).await else {
            return card;
        };
        let html = String::from_utf8_lossy(&html);
        let og = opengraph(&html);
        if let Some(t) = og.get("og:title").or_else(|| og.get("title")) {
            card["title"] = json!(t);
        }
        if let Some(d) = og.get("og:description").or_else(|| og.get("description")) {
            card["description"] = json!(d);
        }
        if let Some(image) = og.get("og:image") {
            let image = resolve_url(uri, image);
            // The lexicon caps the thumbnail at 1,000,000 bytes.
            if let Some(bytes) = self.fetch(&image, 1_000_000).await {
                let req = |_: &Session| {
                    self.http
                        .post(self.url("com.atproto.repo.uploadBlob"))
                        .header("content-type", super::mime_of(&image))
                        .body(bytes.clone())
                };
                if let Ok(v) = self.authed(req).await {
                    card["thumb"] = v["blob"].clone();
                }
            }
        }
        card
    }

    /// GETs a public page or image, at most `limit` bytes; `None` on any failure.
    async fn fetch(&self, url: &str, limit: usize) -> Option<Vec<u8>> {
        let resp = self
            .http
            .get(url)
            .timeout(std::time::Duration::from_secs(10))
            .send()
            .await
            .ok()?;
        if !resp.status().is_success() {
            return None;
        }
        let bytes = resp.bytes().await.ok()?;
        (bytes.len() <= limit).then(|| bytes.to_vec())
    }

    /// One part at its derived key: reused when an earlier attempt created it, else created.
    async fn part(
        &self,
        delivery: &Outgoing,
        i: usize,
        rkey: &str,
        reply: Option<(&StrongRef, &StrongRef)>,
    ) -> Result<StrongRef, PublishError> {
        let part = &delivery.parts[i];
        match self.get_record(rkey).await? {
            Some((r, value)) if value["text"].as_str() == Some(part.text.as_str()) => Ok(r),
            Some(_) => Err(PublishError::Rejected(format!(
                "record key {rkey} holds a different post"
            ))),
            None => {
                let mut images = Vec::new();
                for m in &part.media {
                    let blob = self.upload(m).await?;
                    images.push(json!({ "alt": m.alt, "image": blob }));
                }
                let link = if i == 0 {
                    delivery.link.as_deref()
                } else {
                    None
                };
                let record = self.record(&part.text, images, reply, link).await;
                self.create_part(rkey, &part.text, record).await
            }
        }
    }

    fn post_url(&self, handle: &str, uri: &str) -> String {
        let rkey = uri.rsplit('/').next().unwrap_or_default();
        format!("https://bsky.app/profile/{handle}/post/{rkey}")
    }
}

impl Adapter for Bluesky {
    fn dedup(&self) -> Dedup {
        Dedup::Safe
    }

    fn publish<'a>(
        &'a self,
        delivery: &'a Outgoing,
    ) -> BoxFuture<'a, Result<Posted, PublishError>> {
        Box::pin(async move {
            let session = self.session().await?;
            // Once a part is out, a retry (same keys) completes the thread.
            let root = super::post_thread(
                delivery,
                move |i, earlier: super::Earlier<StrongRef>| async move {
                    let reply = earlier.root.as_ref().zip(earlier.parent.as_ref());
                    self.part(delivery, i, &record_key(delivery, i), reply)
                        .await
                },
            )
            .await?;
            Ok(Posted {
                url: Some(self.post_url(&session.handle, &root.uri)),
                remote_id: root.uri,
            })
        })
    }

    fn find<'a>(&'a self, delivery: &'a Outgoing) -> BoxFuture<'a, Result<Lookup, PublishError>> {
        Box::pin(async move {
            let session = self.session().await?;
            // Every part must be there; a thread cut short by a crash is finished by publishing again.
            let mut first = None;
            for (i, part) in delivery.parts.iter().enumerate() {
                match self.get_record(&record_key(delivery, i)).await? {
                    Some((r, value)) if value["text"].as_str() == Some(part.text.as_str()) => {
                        first.get_or_insert(r);
                    }
                    _ => return Ok(Lookup::NotFound),
                }
            }
            Ok(match first {
                Some(r) => Lookup::Found(Posted {
                    url: Some(self.post_url(&session.handle, &r.uri)),
                    remote_id: r.uri,
                }),
                None => Lookup::NotFound,
            })
        })
    }
}

/// A record key in TID form (13 base32-sortable characters) derived from the delivery and part:
/// the same delivery always maps to the same keys, so a retry cannot create a second post.
/// The timestamp part is the due second plus sub-second bits from a hash of the delivery key.
pub fn record_key(delivery: &Outgoing, part: usize) -> String {
    let digest = Sha256::digest(format!("{}#{part}", delivery.key).as_bytes());
    let h = u64::from_be_bytes([
        digest[0], digest[1], digest[2], digest[3], digest[4], digest[5], digest[6], digest[7],
    ]);
    let seconds = u64::try_from(delivery.publish_at.as_second()).unwrap_or(0);
    let micros = seconds * 1_000_000 + (h % 1_000_000);
    let clock_id = (h >> 32) & 0x3ff;
    let tid = ((micros & ((1 << 53) - 1)) << 10) | clock_id;
    const ALPHABET: &[u8; 32] = b"234567abcdefghijklmnopqrstuvwxyz";
    (0..13)
        .rev()
        .map(|i| ALPHABET[((tid >> (i * 5)) & 31) as usize] as char)
        .collect()
}

enum Failure {
    Publish(PublishError),
    /// 401: the access token expired.
    Expired(String),
    /// Another 4xx: the request was refused.
    Client {
        error: String,
        detail: String,
    },
}

impl Failure {
    fn into_publish(self) -> PublishError {
        match self {
            Failure::Publish(p) => p,
            Failure::Expired(d) => PublishError::Auth(d),
            Failure::Client { detail, .. } => PublishError::Rejected(detail),
        }
    }
}

/// `<meta property="og:title" content="…">` and `<title>` values of a page, by name. A small
/// scanner rather than an HTML parser: pages only need their head read, and anything odd is
/// simply not found.
fn opengraph(html: &str) -> std::collections::HashMap<String, String> {
    let mut found = std::collections::HashMap::new();
    let lower = html.to_ascii_lowercase();
    let mut at = 0;
    while let Some(i) = lower[at..].find("<meta") {
        let start = at + i;
        let Some(end) = lower[start..].find('>').map(|e| start + e) else {
            break;
        };
        let tag = &html[start..end];
        let key = attribute(tag, "property").or_else(|| attribute(tag, "name"));
        if let (Some(k), Some(v)) = (key, attribute(tag, "content")) {
            found
                .entry(k.to_ascii_lowercase())
                .or_insert_with(|| unescape(&v));
        }
        at = end;
    }
    if let (Some(a), Some(b)) = (lower.find("<title>"), lower.find("</title>")) {
        if a + 7 <= b {
            found
                .entry("title".into())
                .or_insert_with(|| unescape(html[a + 7..b].trim()));
        }
    }
    found
}

/// The value of `name="…"` (or `'…'`) in one tag.
fn attribute(tag: &str, name: &str) -> Option<String> {
    let lower = tag.to_ascii_lowercase();
    let mut from = 0;
    while let Some(i) = lower[from..].find(name) {
        let pos = from + i;
        let rest = tag[pos + name.len()..].trim_start();
        let preceded = pos == 0 || lower.as_bytes()[pos - 1].is_ascii_whitespace();
        if let (true, Some(rest)) = (preceded, rest.strip_prefix('=')) {
            let rest = rest.trim_start();
            let quote = rest.chars().next()?;
            if quote == '"' || quote == '\'' {
                return rest[1..].find(quote).map(|e| rest[1..1 + e].to_string());
            }
        }
        from = pos + name.len();
    }
    None
}

fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// An image address relative to the page, made absolute.
fn resolve_url(page: &str, url: &str) -> String {
    if url.starts_with("http://") || url.starts_with("https://") {
        return url.to_string();
    }
    let origin_end = page
        .find("://")
        .and_then(|i| page[i + 3..].find('/').map(|j| i + 3 + j))
        .unwrap_or(page.len());
    if url.starts_with('/') {
        format!("{}{url}", &page[..origin_end])
    } else {
        let dir_end = page
            .rfind('/')
            .filter(|&i| i >= origin_end)
            .map_or(page.len(), |i| i + 1);
        let base = if dir_end == page.len() && !page.ends_with('/') {
            format!("{page}/")
        } else {
            page[..dir_end].to_string()
        };
        format!("{base}{url}")
    }
}

fn str_of(v: &Value, key: &str) -> String {
    v[key].as_str().unwrap_or_default().to_string()
}

fn xrpc_error(status: reqwest::StatusCode, body: &Value) -> String {
    match (body["error"].as_str(), body["message"].as_str()) {
        (Some(e), Some(m)) => format!("{} {e}: {m}", status.as_u16()),
        (Some(e), None) => format!("{} {e}", status.as_u16()),
        _ => format!("HTTP {status}"),
    }
}

/// Bluesky sends `RateLimit-Reset` (epoch seconds); `Retry-After` (seconds) where present.
fn retry_after(headers: &reqwest::header::HeaderMap) -> Duration {
    let get = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<i64>().ok())
    };
    if let Some(secs) = get("retry-after") {
        return Duration::from_secs(secs.clamp(0, 3600) as u64);
    }
    if let Some(reset) = get("ratelimit-reset") {
        let wait = reset - Timestamp::now().as_second();
        return Duration::from_secs(wait.clamp(1, 3600) as u64);
    }
    Duration::from_secs(5)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::DeliveryKey;

    fn outgoing(post: &str) -> Outgoing {
        Outgoing {
            key: DeliveryKey::new(post, "bluesky"),
            content_hash: String::new(),
            publish_at: "2026-12-03T08:00:00Z".parse().expect("time"),
            parts: Vec::new(),
            link: None,
        }
    }

    #[test]
    fn link_cards_read_opengraph_tags() {
        let html = r#"<html><head><title>Fallback</title>
            <meta property="og:title" content="Winter Blend &amp; friends">
            <meta name='description' content='Dark, sweet, warming.'>
            <META PROPERTY="og:image" CONTENT="/img/cup.png"></head></html>"#;
        let og = opengraph(html);
        assert_eq!(
            og.get("og:title").map(String::as_str),
            Some("Winter Blend & friends")
        );
        assert_eq!(
            og.get("description").map(String::as_str),
            Some("Dark, sweet, warming.")
        );
        assert_eq!(og.get("title").map(String::as_str), Some("Fallback"));
        assert_eq!(
            resolve_url("https://a.example/shop/winter", "/img/cup.png"),
            "https://a.example/img/cup.png"
        );
        assert_eq!(
            resolve_url("https://a.example/shop/winter", "cup.png"),
            "https://a.example/shop/cup.png"
        );
        assert_eq!(
            resolve_url("https://a.example", "cup.png"),
            "https://a.example/cup.png"
        );
    }

    #[test]
    fn record_keys_are_stable_tids_distinct_per_delivery_and_part() {
        let a = outgoing("winter-launch");
        let k0 = record_key(&a, 0);
        assert_eq!(k0.len(), 13);
        assert!(k0
            .chars()
            .all(|c| "234567abcdefghijklmnopqrstuvwxyz".contains(c)));
        assert_eq!(
            k0,
            record_key(&a, 0),
            "the same delivery maps to the same key"
        );
        assert_ne!(k0, record_key(&a, 1));
        assert_ne!(k0, record_key(&outgoing("winter-teaser"), 0));
        // The first character of a TID is limited to the first half of the alphabet.
        assert!("234567abcdefghij".contains(&k0[..1]), "{k0}");
    }
}
