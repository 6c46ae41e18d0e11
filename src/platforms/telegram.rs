//! Telegram through the Bot API: `POST {base}/bot{token}/sendMessage` (plain text, no
//! `parse_mode`, so nothing in a post is read as markup), `sendPhoto`/`sendVideo` for one file
//! and `sendMediaGroup` for 2–10; thread parts reply to the part before (`reply_parameters`).
//!
//! The bot token is part of every URL path, so no URL is ever formatted into a message: reqwest
//! errors lose their URL (`short_error`) and errors name the token's environment variable.
//! Bots cannot read a channel's history, so a lost answer cannot be looked up
//! (`Lookup::CannotTell`), and there is no idempotency key (`Dedup::Unsafe`).
//!
//! Written against the Bot API documentation (core.telegram.org/bots/api); the official server
//! is not installable here, so the behaviour tests run against a local fake server.

use std::time::Duration;

use reqwest::header::HeaderMap;
use serde_json::{json, Value};
use smm_text::telegram::{utf16_len, CAPTION_LIMIT, MESSAGE_LIMIT};

use super::{
    secret, Adapter, BoxFuture, Dedup, Lookup, Outgoing, OutgoingMedia, OutgoingPart, Posted,
    PublishError, SetupError,
};
use crate::workspace::Channel;

const DEFAULT_BASE: &str = "https://api.telegram.org";
/// sendMediaGroup takes 2–10 items; one item goes through sendPhoto/sendVideo.
const MAX_MEDIA: usize = 10;

pub struct Telegram {
    http: reqwest::Client,
    base: String,
    token: String,
    /// The environment variable holding the token: what messages name instead of the token.
    variable: String,
    channel: String,
    /// `chat_id`: `@publicchannel` or a numeric id such as `-1001234567890`.
    chat: String,
}

impl Telegram {
    pub fn new(channel: &Channel, http: reqwest::Client) -> Result<Telegram, SetupError> {
        Ok(Telegram {
            http,
            base: channel
                .base_url
                .as_deref()
                .unwrap_or(DEFAULT_BASE)
                .trim_end_matches('/')
                .to_string(),
            token: secret(channel, "bot_token")?,
            variable: channel
                .credentials
                .get("bot_token")
                .cloned()
                .unwrap_or_default(),
            channel: channel.name.clone(),
            chat: channel.account.trim().to_string(),
        })
    }

    /// The method's URL. It holds the token: never put it in a message.
    fn url(&self, method: &str) -> String {
        format!("{}/bot{}/{method}", self.base, self.token)
    }

    fn who(&self) -> String {
        format!(
            "the Telegram bot of channel `{}` (token from {})",
            self.channel, self.variable
        )
    }

    /// A token with characters a URL path would change (a slash, spaces) would send the request
    /// somewhere else; tokens look like `123456:ABC-def_...`.
    fn check_token(&self) -> Result<(), PublishError> {
        let ok = self
            .token
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, ':' | '-' | '_'));
        if ok {
            Ok(())
        } else {
            // The value itself is never shown.
            Err(PublishError::Auth(format!(
                "environment variable {} does not hold a bot token (123456:ABC-...)",
                self.variable
            )))
        }
    }

    /// Removes the token from text that came from a server (a proxy may echo the path).
    fn scrub(&self, text: String) -> String {
        if self.token.is_empty() || !text.contains(&self.token) {
            return text;
        }
        text.replace(&self.token, "****")
    }

    /// Sends one Bot API call; failures are classified by whether a message can exist.
    async fn call(&self, req: reqwest::RequestBuilder) -> Result<Value, PublishError> {
        let super::Answer {
            status,
            headers,
            body,
            ..
        } = super::exchange(req, &self.who(), &|t| self.scrub(t)).await?;
        if status.is_success() && body["ok"].as_bool() == Some(true) {
            return Ok(body["result"].clone());
        }
        let detail = self.scrub(error_text(status.as_u16(), &body));
        // The body's error_code wins: it is what the API means even behind a proxy.
        let code = body["error_code"]
            .as_u64()
            .map(|c| c as u16)
            .unwrap_or(status.as_u16());
        Err(match code {
            // A success status without `ok: true`: the message may exist, unreadably.
            200..=299 => PublishError::Unknown(format!(
                "{} answered {status} without a readable result",
                self.who()
            )),
            // 401 Unauthorized, or 404 for a token the API does not know.
            401 | 404 => PublishError::Auth(format!("{} was refused: {detail}", self.who())),
            429 => PublishError::RateLimited {
                retry_after: retry_after(&headers, &body),
                detail,
            },
            // 400 Bad Request (e.g. chat not found, message is too long), 403 Forbidden (the
            // bot is not an admin of the channel): nothing was posted.
            400..=499 => PublishError::Rejected(detail),
            _ => PublishError::Unknown(detail),
        })
    }

    /// Sends one part; answers the message id of the first message it created.
    async fn send_part(
        &self,
        part: &OutgoingPart,
        reply_to: Option<i64>,
        link: Option<&str>,
    ) -> Result<i64, PublishError> {
        let reply = reply_to.map(|id| json!({ "message_id": id }));
        let result = match part.media.as_slice() {
            [] => {
                let mut body = json!({
                    "chat_id": self.chat,
                    "text": part.text,
                    "link_preview_options": link_preview(link),
                });
                if let Some(r) = &reply {
                    body["reply_parameters"] = r.clone();
                }
                self.call(self.http.post(self.url("sendMessage")).json(&body))
                    .await?
            }
            [one] => {
                let kind = kind_of(one);
                let mut form = reqwest::multipart::Form::new()
                    .text("chat_id", self.chat.clone())
                    .part(kind, file_part(one)?);
                if !part.text.is_empty() {
                    form = form.text("caption", part.text.clone());
                }
                if let Some(r) = &reply {
                    form = form.text("reply_parameters", r.to_string());
                }
                let method = if kind == "video" {
                    "sendVideo"
                } else {
                    "sendPhoto"
                };
                self.call(self.http.post(self.url(method)).multipart(form))
                    .await?
            }
            many => {
                let mut form = reqwest::multipart::Form::new().text("chat_id", self.chat.clone());
                let mut items = Vec::new();
                for (n, m) in many.iter().enumerate() {
                    // Files are attached by name: `attach://file0` points at the part `file0`.
                    let mut item =
                        json!({ "type": kind_of(m), "media": format!("attach://file{n}") });
                    // The album's caption is the first item's (Telegram shows it under the album).
                    if n == 0 && !part.text.is_empty() {
                        item["caption"] = json!(part.text);
                    }
                    items.push(item);
                    form = form.part(format!("file{n}"), file_part(m)?);
                }
                form = form.text("media", Value::Array(items).to_string());
                if let Some(r) = &reply {
                    form = form.text("reply_parameters", r.to_string());
                }
                let result = self
                    .call(self.http.post(self.url("sendMediaGroup")).multipart(form))
                    .await?;
                // An array of Messages: the album's first is the one to link and reply to.
                result[0].clone()
            }
        };
        result["message_id"].as_i64().ok_or_else(|| {
            PublishError::Unknown(format!("{} answered without a message id", self.who()))
        })
    }
}

impl Adapter for Telegram {
    fn dedup(&self) -> Dedup {
        Dedup::Unsafe
    }

    fn publish<'a>(
        &'a self,
        delivery: &'a Outgoing,
    ) -> BoxFuture<'a, Result<Posted, PublishError>> {
        Box::pin(async move {
            self.check_token()?;
            super::check_parts(delivery, check_part)?;
            let id = super::post_thread(
                delivery,
                move |i, earlier: super::Earlier<i64>| async move {
                    // The delivery's link drives the first message's preview only.
                    let link = if i == 0 {
                        delivery.link.as_deref()
                    } else {
                        None
                    };
                    self.send_part(&delivery.parts[i], earlier.parent, link)
                        .await
                },
            )
            .await?;
            Ok(Posted {
                remote_id: id.to_string(),
                url: message_url(&self.chat, id),
            })
        })
    }

    fn find<'a>(&'a self, _delivery: &'a Outgoing) -> BoxFuture<'a, Result<Lookup, PublishError>> {
        // The Bot API has no way to read a channel's history (getUpdates only delivers new
        // updates, once, and not the bot's own posts), so a lost answer cannot be looked up.
        Box::pin(async { Ok(Lookup::CannotTell) })
    }
}

/// `link_preview_options`: previews stay on; with a delivery link, the preview shows that link
/// rather than whichever URL comes first in the text.
fn link_preview(link: Option<&str>) -> Value {
    match link {
        Some(url) => json!({ "is_disabled": false, "url": url }),
        None => json!({ "is_disabled": false }),
    }
}

fn check_part(part: &OutgoingPart) -> Result<(), String> {
    let len = utf16_len(&part.text);
    if part.media.is_empty() {
        if part.text.trim().is_empty() {
            return Err("an empty message".into());
        }
        if len > MESSAGE_LIMIT {
            return Err(format!(
                "{len} UTF-16 code units, Telegram allows {MESSAGE_LIMIT} in a message"
            ));
        }
    } else {
        if len > CAPTION_LIMIT {
            return Err(format!(
                "a caption of {len} UTF-16 code units, Telegram allows {CAPTION_LIMIT} with media"
            ));
        }
        if part.media.len() > MAX_MEDIA {
            return Err(format!(
                "{} files, Telegram allows {MAX_MEDIA} in an album",
                part.media.len()
            ));
        }
    }
    Ok(())
}

/// `photo` or `video`, by the file's extension (Telegram has no alt text for either).
fn kind_of(media: &OutgoingMedia) -> &'static str {
    let ext = media
        .path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase());
    match ext.as_deref() {
        Some("mp4" | "mov" | "webm") => "video",
        _ => "photo",
    }
}

fn file_part(media: &OutgoingMedia) -> Result<reqwest::multipart::Part, PublishError> {
    let bytes = std::fs::read(&media.path).map_err(|e| {
        PublishError::Rejected(format!("cannot read {}: {e}", media.path.display()))
    })?;
    let name = media
        .path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "file".to_string());
    Ok(reqwest::multipart::Part::bytes(bytes).file_name(name))
}

/// The message's public link: `https://t.me/name/ID` for a public channel `@name`;
/// `https://t.me/c/INTERNAL/ID` for a private channel's `-100…` id (members only).
pub fn message_url(chat: &str, message_id: i64) -> Option<String> {
    if let Some(name) = chat.strip_prefix('@').filter(|n| !n.is_empty()) {
        return Some(format!("https://t.me/{name}/{message_id}"));
    }
    let internal = chat.strip_prefix("-100")?;
    (!internal.is_empty() && internal.bytes().all(|b| b.is_ascii_digit()))
        .then(|| format!("https://t.me/c/{internal}/{message_id}"))
}

/// How long to wait after a 429: the body's `parameters.retry_after` (seconds), else
/// `Retry-After`; 5 s when neither says. At least 1 s, at most 1 h.
pub fn retry_after(headers: &HeaderMap, body: &Value) -> Duration {
    let secs = body["parameters"]["retry_after"]
        .as_u64()
        .or_else(|| {
            headers
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse().ok())
        })
        .unwrap_or(5);
    Duration::from_secs(secs.clamp(1, 3600))
}

fn error_text(status: u16, body: &Value) -> String {
    let code = body["error_code"].as_u64().unwrap_or(status as u64);
    let mut s = match body["description"].as_str() {
        Some(d) => format!("{code} {d}"),
        None => format!("HTTP {status}"),
    };
    // A group that became a supergroup has a new id: say which, the fix is in smm.yaml.
    if let Some(id) = body["parameters"]["migrate_to_chat_id"].as_i64() {
        s.push_str(&format!(
            " (the chat is now {id}: use it as the channel's account)"
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(text: &str, media: usize) -> OutgoingPart {
        OutgoingPart {
            text: text.to_string(),
            media: (0..media)
                .map(|n| OutgoingMedia {
                    path: format!("/tmp/{n}.png").into(),
                    alt: String::new(),
                })
                .collect(),
        }
    }

    #[test]
    fn message_links_for_public_and_private_channels() {
        assert_eq!(
            message_url("@northwind", 42).as_deref(),
            Some("https://t.me/northwind/42")
        );
        assert_eq!(
            message_url("-1001234567890", 7).as_deref(),
            Some("https://t.me/c/1234567890/7")
        );
        assert_eq!(message_url("12345", 7), None, "a private chat has no link");
        assert_eq!(message_url("@", 7), None);
    }

    #[test]
    fn rate_limit_waits_come_from_the_body_then_the_header() {
        let mut h = HeaderMap::new();
        assert_eq!(retry_after(&h, &Value::Null), Duration::from_secs(5));
        h.insert("retry-after", "9".parse().expect("header"));
        assert_eq!(retry_after(&h, &Value::Null), Duration::from_secs(9));
        let body = json!({ "ok": false, "error_code": 429,
            "description": "Too Many Requests: retry after 35", "parameters": { "retry_after": 35 } });
        assert_eq!(retry_after(&h, &body), Duration::from_secs(35));
        let huge = json!({ "parameters": { "retry_after": 99999 } });
        assert_eq!(retry_after(&h, &huge), Duration::from_secs(3600));
    }

    #[test]
    fn limits_count_utf16_and_captions_are_shorter() {
        assert!(check_part(&part(&"a".repeat(4096), 0)).is_ok());
        // An emoji outside the BMP is two UTF-16 code units.
        assert!(check_part(&part(&"😀".repeat(2049), 0)).is_err());
        assert!(check_part(&part(&"a".repeat(1024), 1)).is_ok());
        assert!(check_part(&part(&"a".repeat(1025), 1)).is_err());
        assert!(
            check_part(&part("", 2)).is_ok(),
            "an album needs no caption"
        );
        assert!(check_part(&part(" ", 0)).is_err());
        assert!(check_part(&part("x", 11)).is_err());
    }

    #[test]
    fn errors_quote_the_description_and_the_new_chat_id() {
        let body = json!({ "ok": false, "error_code": 400,
            "description": "Bad Request: group chat was upgraded to a supergroup chat",
            "parameters": { "migrate_to_chat_id": -1009876 } });
        assert_eq!(
            error_text(400, &body),
            "400 Bad Request: group chat was upgraded to a supergroup chat (the chat is now -1009876: use it as the channel's account)"
        );
        assert_eq!(error_text(502, &Value::Null), "HTTP 502");
    }

    #[test]
    fn media_kind_by_extension() {
        let m = |p: &str| OutgoingMedia {
            path: p.into(),
            alt: String::new(),
        };
        assert_eq!(kind_of(&m("/a/b.PNG")), "photo");
        assert_eq!(kind_of(&m("/a/b.mp4")), "video");
    }
}
