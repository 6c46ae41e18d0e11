//! X (API v2): `POST {base}/2/tweets` with `{text, reply: {in_reply_to_tweet_id}}`, thread parts
//! replying to the part before. Authenticated with an OAuth 2.0 user token (`token`, Bearer) or
//! OAuth 1.0a user context (`api_key`, `api_secret`, `access_token`, `access_token_secret`),
//! signed with HMAC-SHA1 per RFC 5849 (only the query parameters and oauth_* values are signed:
//! a JSON body is not part of the signature).
//!
//! Images go up first (`POST /2/media/upload`, one request each, `media_category=tweet_image`),
//! their alt text with `POST /2/media/metadata`, then the post names them in `media.media_ids`.
//! Videos need X's chunked upload, which is not implemented: a part with a video is refused
//! before anything is sent.
//!
//! X has no idempotency key (`Dedup::Unsafe`); a lost answer is looked up in the account's own
//! timeline by text. Checked against X's OpenAPI document behind Prism (tests/contract.rs) and
//! a local fake server for the failure paths.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use hmac::{Hmac, Mac};
use jiff::Timestamp;
use reqwest::header::HeaderMap;
use reqwest::Method;
use serde_json::{json, Value};
use sha1::Sha1;
use sha2::{Digest, Sha256};

use super::{
    secret, Adapter, BoxFuture, Dedup, Lookup, Outgoing, OutgoingMedia, OutgoingPart, Posted,
    PublishError, SetupError,
};
use crate::workspace::Channel;

const DEFAULT_BASE: &str = "https://api.x.com";
/// A post found by `find()` may be this much older than its due time (clock skew).
const FIND_MARGIN_SECS: i64 = 15 * 60;
/// Pages of 100 posts `find()` reads at most (reads are paid per post on X).
const FIND_PAGES: usize = 3;

/// The four OAuth 1.0a user-context values.
#[derive(Clone)]
pub struct OAuth1Keys {
    pub consumer_key: String,
    pub consumer_secret: String,
    pub token: String,
    pub token_secret: String,
}

enum Auth {
    Bearer(String),
    OAuth1(OAuth1Keys),
}

pub struct X {
    http: reqwest::Client,
    base: String,
    auth: Auth,
    /// The environment variables holding the credentials: what messages name instead.
    variables: String,
    channel: String,
    /// The username without `@`, for post links.
    username: String,
}

impl X {
    pub fn new(channel: &Channel, http: reqwest::Client) -> Result<X, SetupError> {
        let var = |role: &str| channel.credentials.get(role).cloned().unwrap_or_default();
        // The user token wins when both are named (one set suffices; see credential_sets).
        let (auth, variables) = if channel.credentials.contains_key("token") {
            (Auth::Bearer(secret(channel, "token")?), var("token"))
        } else {
            let keys = OAuth1Keys {
                consumer_key: secret(channel, "api_key")?,
                consumer_secret: secret(channel, "api_secret")?,
                token: secret(channel, "access_token")?,
                token_secret: secret(channel, "access_token_secret")?,
            };
            let names = [
                "api_key",
                "api_secret",
                "access_token",
                "access_token_secret",
            ]
            .map(var)
            .join(", ");
            (Auth::OAuth1(keys), names)
        };
        Ok(X {
            http,
            base: channel
                .base_url
                .as_deref()
                .unwrap_or(DEFAULT_BASE)
                .trim_end_matches('/')
                .to_string(),
            auth,
            variables,
            channel: channel.name.clone(),
            username: channel.account.trim().trim_start_matches('@').to_string(),
        })
    }

    fn who(&self) -> String {
        format!(
            "X for channel `{}` (credentials from {})",
            self.channel, self.variables
        )
    }

    /// Removes every credential from text that came from a server.
    fn scrub(&self, mut text: String) -> String {
        let secrets: Vec<&str> = match &self.auth {
            Auth::Bearer(t) => vec![t],
            Auth::OAuth1(k) => vec![
                &k.consumer_key,
                &k.consumer_secret,
                &k.token,
                &k.token_secret,
            ],
        };
        for s in secrets {
            if !s.is_empty() && text.contains(s) {
                text = text.replace(s, "****");
            }
        }
        text
    }

    /// A request to `path` with `query`, authenticated (and signed over exactly that query).
    fn request(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
    ) -> reqwest::RequestBuilder {
        let url = format!("{}{path}", self.base);
        let req = self.http.request(method.clone(), &url).query(query);
        match &self.auth {
            Auth::Bearer(token) => req.bearer_auth(token),
            Auth::OAuth1(keys) => {
                let header = authorization_header(
                    method.as_str(),
                    &url,
                    query,
                    keys,
                    &nonce(),
                    Timestamp::now().as_second(),
                );
                req.header(reqwest::header::AUTHORIZATION, header)
            }
        }
    }

    /// Sends one request; failures are classified by whether a post can exist.
    async fn send(&self, req: reqwest::RequestBuilder) -> Result<Value, PublishError> {
        let super::Answer {
            status,
            headers,
            body,
            ..
        } = super::exchange(req, &self.who(), &|t| self.scrub(t)).await?;
        if status.is_success() && body.is_null() {
            // A success we cannot read says nothing about the post's id.
            return Err(PublishError::Unknown(format!(
                "the answer from {} ({status}) was unreadable",
                self.who()
            )));
        }
        if status.is_success() {
            return Ok(body);
        }
        let detail = self.scrub(error_text(status.as_u16(), &body));
        Err(match status.as_u16() {
            401 => PublishError::Auth(format!("{} was refused: {detail}", self.who())),
            429 => PublishError::RateLimited {
                retry_after: retry_after(&headers, Timestamp::now()),
                detail,
            },
            // 403: duplicate content, or the app may not post (both: nothing was created);
            // 400: an invalid request.
            400..=499 => PublishError::Rejected(detail),
            _ => PublishError::Unknown(detail),
        })
    }

    async fn post(
        &self,
        part: &OutgoingPart,
        reply_to: Option<&str>,
    ) -> Result<String, PublishError> {
        let mut body = json!({ "text": part.text });
        if let Some(parent) = reply_to {
            body["reply"] = json!({ "in_reply_to_tweet_id": parent });
        }
        if !part.media.is_empty() {
            let mut ids = Vec::new();
            for media in &part.media {
                // An image that failed to go up is not a post: whatever happened, none exists.
                ids.push(self.upload(media).await.map_err(|e| match e {
                    PublishError::Unknown(m) => PublishError::NotSent(m),
                    other => other,
                })?);
            }
            body["media"] = json!({ "media_ids": ids });
        }
        let answer = self
            .send(self.request(Method::POST, "/2/tweets", &[]).json(&body))
            .await?;
        match answer["data"]["id"].as_str() {
            Some(id) if !id.is_empty() => Ok(id.to_string()),
            // A success without an id (or with only `errors`): it may exist.
            _ => Err(PublishError::Unknown(format!(
                "{} answered without a post id: {}",
                self.who(),
                self.scrub(error_text(201, &answer))
            ))),
        }
    }

    /// Uploads one image and sets its alt text; returns the media id.
    async fn upload(&self, media: &OutgoingMedia) -> Result<String, PublishError> {
        let bytes = std::fs::read(&media.path).map_err(|e| {
            PublishError::Rejected(format!("cannot read {}: {e}", media.path.display()))
        })?;
        let name = media.path.to_string_lossy();
        let mime = super::mime_of(&name);
        let file = reqwest::multipart::Part::bytes(bytes)
            .file_name(
                media
                    .path
                    .file_name()
                    .map_or_else(|| "image".into(), |f| f.to_string_lossy().into_owned()),
            )
            .mime_str(mime)
            .map_err(|e| PublishError::Rejected(format!("{}: {e}", media.path.display())))?;
        let mut form = reqwest::multipart::Form::new()
            .part("media", file)
            .text("media_category", "tweet_image");
        // The API's list of declared image types has no GIF; X detects it from the bytes.
        if mime != "image/gif" {
            form = form.text("media_type", mime);
        }
        let answer = self
            .send(
                self.request(Method::POST, "/2/media/upload", &[])
                    .multipart(form),
            )
            .await?;
        let id = match answer["data"]["id"].as_str() {
            Some(id) if !id.is_empty() => id.to_string(),
            _ => {
                return Err(PublishError::NotSent(format!(
                    "{} answered the upload of {} without a media id",
                    self.who(),
                    media.path.display()
                )))
            }
        };
        if !media.alt.is_empty() {
            let metadata = json!({ "id": id, "metadata": { "alt_text": { "text": media.alt } } });
            self.send(
                self.request(Method::POST, "/2/media/metadata", &[])
                    .json(&metadata),
            )
            .await?;
        }
        Ok(id)
    }

    fn post_url(&self, id: &str) -> String {
        if self.username.is_empty() {
            format!("https://x.com/i/status/{id}")
        } else {
            format!("https://x.com/{}/status/{id}", self.username)
        }
    }

    /// The account's own posts since `since`, newest first; `complete` is false when there were
    /// more pages than were read.
    async fn timeline(&self, since: Timestamp) -> Result<(Vec<Value>, bool), PublishError> {
        let me = self
            .send(self.request(Method::GET, "/2/users/me", &[]))
            .await?;
        let id = me["data"]["id"].as_str().unwrap_or_default().to_string();
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(PublishError::Unknown(
                "users/me answered without a user id".into(),
            ));
        }
        let path = format!("/2/users/{id}/tweets");
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        for _ in 0..FIND_PAGES {
            let mut query = vec![
                (
                    "start_time",
                    since.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
                ),
                ("max_results", "100".to_string()),
                ("tweet.fields", "created_at,referenced_tweets".to_string()),
                ("exclude", "retweets".to_string()),
            ];
            if let Some(t) = &token {
                query.push(("pagination_token", t.clone()));
            }
            let page = self.send(self.request(Method::GET, &path, &query)).await?;
            out.extend(page["data"].as_array().cloned().unwrap_or_default());
            token = page["meta"]["next_token"]
                .as_str()
                .filter(|t| !t.is_empty())
                .map(str::to_string);
            if token.is_none() {
                return Ok((out, true));
            }
        }
        Ok((out, false))
    }
}

impl Adapter for X {
    fn dedup(&self) -> Dedup {
        Dedup::Unsafe
    }

    fn publish<'a>(
        &'a self,
        delivery: &'a Outgoing,
    ) -> BoxFuture<'a, Result<Posted, PublishError>> {
        Box::pin(async move {
            super::check_parts(delivery, check_part)?;
            let id = super::post_thread(
                delivery,
                move |i, earlier: super::Earlier<String>| async move {
                    self.post(&delivery.parts[i], earlier.parent.as_deref())
                        .await
                },
            )
            .await?;
            Ok(Posted {
                url: Some(self.post_url(&id)),
                remote_id: id,
            })
        })
    }

    fn find<'a>(&'a self, delivery: &'a Outgoing) -> BoxFuture<'a, Result<Lookup, PublishError>> {
        Box::pin(async move {
            let since = delivery
                .publish_at
                .checked_sub(jiff::SignedDuration::from_secs(FIND_MARGIN_SECS))
                .unwrap_or(delivery.publish_at);
            match self.timeline(since).await {
                Ok((posts, complete)) => Ok(match match_thread(&posts, delivery) {
                    // Unread pages could hold it: only a full read proves absence.
                    Lookup::NotFound if !complete => Lookup::CannotTell,
                    found => found.map_url(|id| self.post_url(id)),
                }),
                // Could not ask right now (offline, rate limited, signed out): the caller checks
                // again on the next run rather than giving up.
                Err(
                    e @ (PublishError::NotSent(_)
                    | PublishError::RateLimited { .. }
                    | PublishError::Auth(_)),
                ) => Err(e),
                // Any other failure of the lookup (reads not in the API tier, 5xx, odd
                // answers): X cannot tell us, a person decides.
                Err(_) => Ok(Lookup::CannotTell),
            }
        })
    }
}

trait MapUrl {
    fn map_url(self, url: impl Fn(&str) -> String) -> Lookup;
}

impl MapUrl for Lookup {
    fn map_url(self, url: impl Fn(&str) -> String) -> Lookup {
        match self {
            Lookup::Found(p) => Lookup::Found(Posted {
                url: Some(url(&p.remote_id)),
                remote_id: p.remote_id,
            }),
            other => other,
        }
    }
}

fn check_part(part: &OutgoingPart) -> Result<(), String> {
    if let Some(video) = part
        .media
        .iter()
        .find(|m| !super::mime_of(&m.path.to_string_lossy()).starts_with("image/"))
    {
        return Err(format!(
            "{}: smm uploads images to X, not videos (X's chunked upload is not supported yet)",
            video.path.display()
        ));
    }
    if part.text.trim().is_empty() {
        return Err("an empty post".into());
    }
    Ok(())
}

/// The thread among `posts` (newest first): the first part by its text, each later part by its
/// text and by replying to the part before. All parts: found; none: not found; some: a person
/// decides.
fn match_thread(posts: &[Value], delivery: &Outgoing) -> Lookup {
    let mut found: Vec<String> = Vec::new();
    for (i, part) in delivery.parts.iter().enumerate() {
        let want = comparable(&part.text);
        let parent = found.last().cloned();
        // Oldest first: if the same text went out twice, the first one is the delivery's.
        let hit = posts.iter().rev().find(|p| {
            comparable(p["text"].as_str().unwrap_or_default()) == want
                && match (&parent, i) {
                    (_, 0) => true,
                    (Some(parent), _) => replied_to(p) == Some(parent.as_str()),
                    (None, _) => false,
                }
        });
        match hit.and_then(|p| p["id"].as_str()) {
            Some(id) => found.push(id.to_string()),
            None => break,
        }
    }
    match found.first() {
        None => Lookup::NotFound,
        Some(id) if found.len() == delivery.parts.len() => Lookup::Found(Posted {
            remote_id: id.clone(),
            url: None,
        }),
        Some(_) => Lookup::CannotTell,
    }
}

fn replied_to(post: &Value) -> Option<&str> {
    post["referenced_tweets"]
        .as_array()?
        .iter()
        .find(|r| r["type"].as_str() == Some("replied_to"))?["id"]
        .as_str()
}

/// Text as it can be compared with what X returns. X returns every URL shortened to a t.co link
/// and `&`, `<`, `>` as HTML entities, so URLs (as twitter-text finds them, on both sides)
/// become one placeholder, entities are decoded and whitespace runs collapse. A match is only as
/// good as that: two posts differing only in their URLs look the same.
pub fn comparable(text: &str) -> String {
    let decoded = text
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&");
    let mut out = String::with_capacity(decoded.len());
    let mut at = 0;
    for url in smm_text::x::extract_urls(&decoded) {
        if url.start < at {
            continue;
        }
        out.push_str(&decoded[at..url.start]);
        out.push_str("\u{1}URL\u{1}");
        at = url.end;
    }
    out.push_str(&decoded[at..]);
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// RFC 3986 percent-encoding as OAuth 1.0a requires (RFC 5849 §3.6): everything but
/// `A-Z a-z 0-9 - . _ ~` is encoded, bytes of UTF-8, uppercase hex.
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The base string URI (RFC 5849 §3.4.1.2): scheme and host lowercase, the port only when not
/// the scheme's default, the path, no query.
fn base_string_uri(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(u) => {
            let port = u.port().map(|p| format!(":{p}")).unwrap_or_default();
            format!(
                "{}://{}{port}{}",
                u.scheme(),
                u.host_str().unwrap_or_default().to_ascii_lowercase(),
                u.path()
            )
        }
        Err(_) => url.to_string(),
    }
}

/// The signature base string (RFC 5849 §3.4.1): `METHOD&uri&params`, the parameters
/// (query, form body and oauth_* values) encoded, sorted by name then value, joined, and the
/// whole encoded once more.
pub fn signature_base_string(method: &str, url: &str, params: &[(String, String)]) -> String {
    let mut encoded: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| (percent_encode(k), percent_encode(v)))
        .collect();
    encoded.sort();
    let joined = encoded
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    format!(
        "{}&{}&{}",
        method.to_ascii_uppercase(),
        percent_encode(&base_string_uri(url)),
        percent_encode(&joined)
    )
}

/// HMAC-SHA1 of the base string keyed with `consumer_secret&token_secret`, in base64.
pub fn signature(base_string: &str, consumer_secret: &str, token_secret: &str) -> String {
    let key = format!(
        "{}&{}",
        percent_encode(consumer_secret),
        percent_encode(token_secret)
    );
    // HMAC accepts keys of any length: new_from_slice cannot fail for it.
    let mut mac = match Hmac::<Sha1>::new_from_slice(key.as_bytes()) {
        Ok(m) => m,
        Err(_) => return String::new(),
    };
    mac.update(base_string.as_bytes());
    base64(&mac.finalize().into_bytes())
}

/// The `Authorization: OAuth …` header for a request to `url` with `query` (a JSON body is not
/// signed).
pub fn authorization_header(
    method: &str,
    url: &str,
    query: &[(&str, String)],
    keys: &OAuth1Keys,
    nonce: &str,
    timestamp: i64,
) -> String {
    let mut oauth = vec![
        ("oauth_consumer_key".to_string(), keys.consumer_key.clone()),
        ("oauth_nonce".to_string(), nonce.to_string()),
        (
            "oauth_signature_method".to_string(),
            "HMAC-SHA1".to_string(),
        ),
        ("oauth_timestamp".to_string(), timestamp.to_string()),
        ("oauth_token".to_string(), keys.token.clone()),
        ("oauth_version".to_string(), "1.0".to_string()),
    ];
    let mut params = oauth.clone();
    params.extend(query.iter().map(|(k, v)| (k.to_string(), v.clone())));
    let base = signature_base_string(method, url, &params);
    oauth.push((
        "oauth_signature".to_string(),
        signature(&base, &keys.consumer_secret, &keys.token_secret),
    ));
    oauth.sort();
    let fields: Vec<String> = oauth
        .iter()
        .map(|(k, v)| format!("{}=\"{}\"", percent_encode(k), percent_encode(v)))
        .collect();
    format!("OAuth {}", fields.join(", "))
}

/// A fresh nonce: unique per request (time, a counter and the process), not a secret.
fn nonce() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let now = Timestamp::now();
    let digest = Sha256::digest(
        format!(
            "{}:{}:{n}:{}",
            now.as_second(),
            now.subsec_nanosecond(),
            std::process::id()
        )
        .as_bytes(),
    );
    digest[..16].iter().map(|b| format!("{b:02x}")).collect()
}

/// Standard base64 with padding (RFC 4648).
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// How long to wait after a 429: until `x-rate-limit-reset` (epoch seconds), or until the
/// 24-hour user limit resets when that one is used up; 60 s when neither says. 1 s to 1 h.
pub fn retry_after(headers: &HeaderMap, now: Timestamp) -> Duration {
    let get = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<i64>().ok())
    };
    let reset = if get("x-user-limit-24hour-remaining") == Some(0) {
        get("x-user-limit-24hour-reset").or_else(|| get("x-rate-limit-reset"))
    } else {
        get("x-rate-limit-reset")
    };
    let secs = match reset {
        Some(epoch) => (epoch - now.as_second()).clamp(1, 3600) as u64,
        None => 60,
    };
    Duration::from_secs(secs)
}

/// X's error answers: a problem `{title, detail}`, or `{errors: [{message}]}`.
fn error_text(status: u16, body: &Value) -> String {
    let message = body["detail"]
        .as_str()
        .or_else(|| body["errors"][0]["message"].as_str())
        .or_else(|| body["errors"][0]["detail"].as_str())
        .or_else(|| body["title"].as_str());
    match message {
        Some(m) => format!("{status} {m}"),
        None => format!("HTTP {status}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::DeliveryKey;

    /// Twitter's "Creating a signature" worked example (developer docs, OAuth 1.0a).
    fn documented() -> (OAuth1Keys, Vec<(String, String)>) {
        let keys = OAuth1Keys {
            consumer_key: "xvz1evFS4wEEPTGEFPHBog".into(),
            consumer_secret: "kAcSOqF21Fu85e7zjz7ZN2U4ZRhfV3WpwPAoE3Z7kBw".into(),
            token: "370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb".into(),
            token_secret: "LswwdoUaIvS8ltyTt5jkRh4J50vUPVVHtR2YPi5kE".into(),
        };
        let params = [
            (
                "status",
                "Hello Ladies + Gentlemen, a signed OAuth request!",
            ),
            ("include_entities", "true"),
            ("oauth_consumer_key", "xvz1evFS4wEEPTGEFPHBog"),
            ("oauth_nonce", "kYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg"),
            ("oauth_signature_method", "HMAC-SHA1"),
            ("oauth_timestamp", "1318622958"),
            (
                "oauth_token",
                "370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb",
            ),
            ("oauth_version", "1.0"),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .to_vec();
        (keys, params)
    }

    #[test]
    fn the_documented_signature_example_reproduces() {
        let (keys, params) = documented();
        let base = signature_base_string(
            "POST",
            "https://api.twitter.com/1.1/statuses/update.json",
            &params,
        );
        assert_eq!(
            base,
            "POST&https%3A%2F%2Fapi.twitter.com%2F1.1%2Fstatuses%2Fupdate.json&include_entities%3Dtrue%26oauth_consumer_key%3Dxvz1evFS4wEEPTGEFPHBog%26oauth_nonce%3DkYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg%26oauth_signature_method%3DHMAC-SHA1%26oauth_timestamp%3D1318622958%26oauth_token%3D370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb%26oauth_version%3D1.0%26status%3DHello%2520Ladies%2520%252B%2520Gentlemen%252C%2520a%2520signed%2520OAuth%2520request%2521"
        );
        assert_eq!(
            signature(&base, &keys.consumer_secret, &keys.token_secret),
            "hCtSmYh+iHYCEqBWrE7C7hYmtUk="
        );
    }

    #[test]
    fn the_header_signs_the_query_and_encodes_every_value() {
        let (keys, _) = documented();
        // The documented request, with both parameters in the query this time.
        let header = authorization_header(
            "POST",
            "https://api.twitter.com/1.1/statuses/update.json",
            &[
                ("include_entities", "true".to_string()),
                (
                    "status",
                    "Hello Ladies + Gentlemen, a signed OAuth request!".to_string(),
                ),
            ],
            &keys,
            "kYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg",
            1318622958,
        );
        assert_eq!(
            header,
            "OAuth oauth_consumer_key=\"xvz1evFS4wEEPTGEFPHBog\", oauth_nonce=\"kYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg\", oauth_signature=\"hCtSmYh%2BiHYCEqBWrE7C7hYmtUk%3D\", oauth_signature_method=\"HMAC-SHA1\", oauth_timestamp=\"1318622958\", oauth_token=\"370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb\", oauth_version=\"1.0\""
        );
    }

    #[test]
    fn encoding_and_base64_edge_cases() {
        assert_eq!(percent_encode("a b+c~*é"), "a%20b%2Bc~%2A%C3%A9");
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
        assert_eq!(
            base_string_uri("HTTP://API.X.com:443/2/tweets?x=1"),
            "http://api.x.com:443/2/tweets"
        );
        assert_eq!(
            base_string_uri("https://api.x.com:443/2/tweets"),
            "https://api.x.com/2/tweets"
        );
        assert_eq!(
            base_string_uri("http://127.0.0.1:8080/2/tweets"),
            "http://127.0.0.1:8080/2/tweets"
        );
    }

    #[test]
    fn rate_limit_waits_until_the_reset() {
        let now: Timestamp = "2026-12-03T08:00:00Z".parse().expect("time");
        let mut h = HeaderMap::new();
        assert_eq!(retry_after(&h, now), Duration::from_secs(60));
        let reset = (now.as_second() + 300).to_string();
        h.insert("x-rate-limit-reset", reset.parse().expect("header"));
        assert_eq!(retry_after(&h, now), Duration::from_secs(300));
        h.insert(
            "x-user-limit-24hour-remaining",
            "0".parse().expect("header"),
        );
        let day = (now.as_second() + 7200).to_string();
        h.insert("x-user-limit-24hour-reset", day.parse().expect("header"));
        assert_eq!(retry_after(&h, now), Duration::from_secs(3600), "bounded");
    }

    #[test]
    fn errors_quote_the_detail() {
        let dup = json!({ "detail": "You are not allowed to create a Tweet with duplicate content.",
            "type": "about:blank", "title": "Forbidden", "status": 403 });
        assert_eq!(
            error_text(403, &dup),
            "403 You are not allowed to create a Tweet with duplicate content."
        );
        assert_eq!(
            error_text(400, &json!({ "errors": [{ "message": "Invalid reply" }] })),
            "400 Invalid reply"
        );
        assert_eq!(error_text(503, &Value::Null), "HTTP 503");
    }

    #[test]
    fn returned_text_matches_after_urls_and_entities() {
        assert_eq!(
            comparable("Winter & co https://t.co/AbC123 <3\n\nmore"),
            comparable("Winter &amp; co  https://northwind.coffee/winter?utm_source=x &lt;3 more")
        );
        assert_ne!(comparable("Winter"), comparable("Winter https://t.co/x"));
    }

    #[test]
    fn find_matches_text_and_reply_chain() {
        let d = Outgoing {
            key: DeliveryKey::new("launch", "x"),
            content_hash: "h".into(),
            publish_at: "2026-12-03T08:00:00Z".parse().expect("time"),
            parts: ["One https://northwind.coffee", "Two"]
                .map(OutgoingPart::text)
                .to_vec(),
            link: None,
        };
        let post = |id: &str, text: &str, reply: Option<&str>| {
            let mut p = json!({ "id": id, "text": text });
            if let Some(r) = reply {
                p["referenced_tweets"] = json!([{ "type": "replied_to", "id": r }]);
            }
            p
        };
        let one = post("1", "One https://t.co/abc", None);
        let two = post("2", "Two", Some("1"));
        let stray = post("3", "Two", None);
        assert_eq!(
            match_thread(&[two.clone(), one.clone()], &d),
            Lookup::Found(Posted {
                remote_id: "1".into(),
                url: None
            })
        );
        assert_eq!(match_thread(&[stray.clone(), one], &d), Lookup::CannotTell);
        assert_eq!(match_thread(&[stray], &d), Lookup::NotFound);
    }
}
