//! Discord through a channel webhook: `POST {webhook_url}?wait=true` (with `wait`, the answer is
//! the created Message, whose id is kept). The webhook URL is the secret itself: it is never
//! printed, and errors name its environment variable instead. Webhooks have no idempotency and
//! cannot list messages, so a retry after an unknown outcome could post twice (`Dedup::Unsafe`)
//! and a lost answer cannot be looked up (`Lookup::CannotTell`): a person resolves it.

use std::time::Duration;

use reqwest::header::HeaderMap;
use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio::sync::Mutex;

use super::{
    secret, Adapter, BoxFuture, Dedup, Lookup, Outgoing, OutgoingPart, Posted, PublishError,
    SetupError,
};
use crate::workspace::Channel;

/// Discord's limits for one webhook message.
const MAX_CONTENT_CHARS: usize = 2000;
const MAX_FILES: usize = 10;
const MAX_DESCRIPTION_CHARS: usize = 1024;

pub struct Discord {
    http: reqwest::Client,
    webhook_url: String,
    /// The environment variable holding the URL: what messages name instead of the URL.
    variable: String,
    channel: String,
    /// (guild id, channel id) of the webhook, asked once: the message link needs the guild.
    place: Mutex<Option<(Option<String>, String)>>,
    /// When the webhook's bucket is empty (`X-RateLimit-Remaining: 0`), the moment its
    /// `X-RateLimit-Reset-After` allows the next request. Waiting for it instead of running into
    /// a 429 matters: Discord blocks clients that keep making refused requests.
    next_request: Mutex<Option<tokio::time::Instant>>,
}

impl Discord {
    pub fn new(channel: &Channel, http: reqwest::Client) -> Result<Discord, SetupError> {
        Ok(Discord {
            http,
            webhook_url: secret(channel, "webhook_url")?,
            variable: channel
                .credentials
                .get("webhook_url")
                .cloned()
                .unwrap_or_default(),
            channel: channel.name.clone(),
            place: Mutex::new(None),
            next_request: Mutex::new(None),
        })
    }

    fn who(&self) -> String {
        format!(
            "the Discord webhook of channel `{}` (from {})",
            self.channel, self.variable
        )
    }

    fn check_url(&self) -> Result<(), PublishError> {
        match reqwest::Url::parse(&self.webhook_url) {
            Ok(u) if matches!(u.scheme(), "https" | "http") => Ok(()),
            // The value itself is never shown: it may be a valid secret pasted wrongly.
            _ => Err(PublishError::Auth(format!(
                "environment variable {} does not hold a webhook URL (https://discord.com/api/webhooks/ID/TOKEN)",
                self.variable
            ))),
        }
    }

    /// Sends one request; failures are classified by whether a message can have been created.
    async fn send(&self, req: reqwest::RequestBuilder) -> Result<Value, PublishError> {
        let mut next_request = self.next_request.lock().await;
        if let Some(at) = next_request.take() {
            tokio::time::sleep_until(at).await;
        }
        let super::Answer {
            status,
            headers,
            body,
            ..
        } = super::exchange(req, &self.who(), &|t| t).await?;
        *next_request = bucket_empty_for(&headers).map(|wait| tokio::time::Instant::now() + wait);
        drop(next_request);
        // With wait=true a message comes back; a success we cannot read says nothing about it.
        if status.is_success() && body.is_null() {
            return Err(PublishError::Unknown(format!(
                "the answer from {} ({status}) was unreadable",
                self.who()
            )));
        }
        if status.is_success() {
            return Ok(body);
        }
        let detail = error_text(status, &body);
        Err(match status.as_u16() {
            // 404 Unknown Webhook: deleted or a wrong token; nothing was posted.
            401 | 403 | 404 => PublishError::Auth(format!("{} was refused: {detail}", self.who())),
            429 => PublishError::RateLimited {
                retry_after: retry_after(&headers, &body),
                detail,
            },
            400..=499 => PublishError::Rejected(detail),
            _ => PublishError::Unknown(detail),
        })
    }

    /// The webhook's guild and channel (`GET {webhook_url}`), cached. Also proves the webhook
    /// exists before anything is posted.
    async fn place(&self) -> Result<(Option<String>, String), PublishError> {
        let mut guard = self.place.lock().await;
        if let Some(p) = guard.as_ref() {
            return Ok(p.clone());
        }
        let body = self
            .send(self.http.get(&self.webhook_url))
            .await
            // Only a read: whatever failed, nothing was posted.
            .map_err(|e| match e {
                PublishError::Unknown(m) | PublishError::Rejected(m) => PublishError::NotSent(m),
                other => other,
            })?;
        let place = (
            body["guild_id"].as_str().map(str::to_string),
            body["channel_id"].as_str().unwrap_or_default().to_string(),
        );
        *guard = Some(place.clone());
        Ok(place)
    }

    async fn post_part(&self, part: &OutgoingPart) -> Result<Value, PublishError> {
        let mut payload = json!({
            "content": part.text,
            // Never ping anyone: @everyone, roles or users written in a post stay plain text.
            "allowed_mentions": { "parse": [] },
        });
        let req = self.http.post(&self.webhook_url).query(&[("wait", "true")]);
        let req = if part.media.is_empty() {
            req.json(&payload)
        } else {
            let mut form = reqwest::multipart::Form::new();
            let mut attachments = Vec::new();
            for (n, m) in part.media.iter().enumerate() {
                let bytes = std::fs::read(&m.path).map_err(|e| {
                    PublishError::Rejected(format!("cannot read {}: {e}", m.path.display()))
                })?;
                let filename = m
                    .path
                    .file_name()
                    .map(|f| f.to_string_lossy().into_owned())
                    .unwrap_or_else(|| format!("file{n}"));
                attachments.push(json!({ "id": n, "filename": filename, "description": m.alt }));
                // Each file part says what it is, as in Discord's upload examples; without a
                // Content-Type a multipart parser has to guess (Prism's crashed on it).
                let file = reqwest::multipart::Part::bytes(bytes)
                    .mime_str(super::mime_of(&filename))
                    .map_err(|e| {
                        PublishError::Rejected(format!("media type: {}", super::short_error(e)))
                    })?
                    .file_name(filename);
                form = form.part(format!("files[{n}]"), file);
            }
            payload["attachments"] = Value::Array(attachments);
            form = form.text("payload_json", payload.to_string());
            req.multipart(form)
        };
        let message = self.send(req).await?;
        if message["id"].as_str().is_none_or(str::is_empty) {
            return Err(PublishError::Unknown(
                "Discord answered without a message id".into(),
            ));
        }
        Ok(message)
    }
}

impl Adapter for Discord {
    fn dedup(&self) -> Dedup {
        Dedup::Unsafe
    }

    fn publish<'a>(
        &'a self,
        delivery: &'a Outgoing,
    ) -> BoxFuture<'a, Result<Posted, PublishError>> {
        Box::pin(async move {
            self.check_url()?;
            super::check_parts(delivery, check_part)?;
            let (guild, channel) = self.place().await?;
            // Webhooks cannot reply: a thread goes out as consecutive messages.
            let message =
                super::post_thread(delivery, move |i, _: super::Earlier<Value>| async move {
                    self.post_part(&delivery.parts[i]).await
                })
                .await?;
            let id = message["id"].as_str().unwrap_or_default().to_string();
            let channel = message["channel_id"].as_str().unwrap_or(&channel);
            let guild = message["guild_id"].as_str().or(guild.as_deref());
            Ok(Posted {
                url: guild.map(|g| format!("https://discord.com/channels/{g}/{channel}/{id}")),
                remote_id: id,
            })
        })
    }

    fn find<'a>(&'a self, _delivery: &'a Outgoing) -> BoxFuture<'a, Result<Lookup, PublishError>> {
        // A webhook can only fetch a message by an id we would have had to receive; it cannot
        // list the channel (that needs a bot token), so a lost answer cannot be looked up.
        Box::pin(async { Ok(Lookup::CannotTell) })
    }
}

fn check_part(part: &OutgoingPart) -> Result<(), String> {
    let chars = part.text.chars().count();
    if chars > MAX_CONTENT_CHARS {
        return Err(format!(
            "{chars} characters, Discord allows {MAX_CONTENT_CHARS}"
        ));
    }
    if part.media.len() > MAX_FILES {
        return Err(format!(
            "{} files, Discord allows {MAX_FILES}",
            part.media.len()
        ));
    }
    if let Some(m) = part
        .media
        .iter()
        .find(|m| m.alt.chars().count() > MAX_DESCRIPTION_CHARS)
    {
        return Err(format!(
            "the alt text of {} is longer than {MAX_DESCRIPTION_CHARS} characters",
            m.path.display()
        ));
    }
    Ok(())
}

/// How long to wait after a 429: the body's `retry_after` (seconds, fractional), else the
/// `X-RateLimit-Reset-After` or `Retry-After` header; to the millisecond, at most 1 h.
pub fn retry_after(headers: &HeaderMap, body: &Value) -> Duration {
    let secs = body["retry_after"]
        .as_f64()
        .or_else(|| header_secs(headers, "x-ratelimit-reset-after"))
        .or_else(|| header_secs(headers, "retry-after"))
        .filter(|s| s.is_finite())
        .unwrap_or(5.0);
    seconds(secs)
}

/// After an answer saying the webhook's bucket is empty (`X-RateLimit-Remaining: 0`): how long
/// until it refills (`X-RateLimit-Reset-After`).
fn bucket_empty_for(headers: &HeaderMap) -> Option<Duration> {
    if header_secs(headers, "x-ratelimit-remaining") != Some(0.0) {
        return None;
    }
    header_secs(headers, "x-ratelimit-reset-after")
        .filter(|s| s.is_finite())
        .map(seconds)
}

fn header_secs(headers: &HeaderMap, name: &str) -> Option<f64> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<f64>().ok())
}

/// Seconds from Discord, rounded up to the millisecond; at least 1 ms, at most 1 h.
fn seconds(secs: f64) -> Duration {
    Duration::from_millis((secs * 1000.0).ceil().clamp(1.0, 3_600_000.0) as u64)
}

fn error_text(status: StatusCode, body: &Value) -> String {
    let mut s = match (body["code"].as_u64(), body["message"].as_str()) {
        (Some(code), Some(m)) => format!("{} {m} (code {code})", status.as_u16()),
        (None, Some(m)) => format!("{} {m}", status.as_u16()),
        _ => format!("HTTP {status}"),
    };
    if body["global"].as_bool() == Some(true) {
        s.push_str(" (global rate limit)");
    }
    // Form errors name the field that was refused, e.g. content: must be 2000 or fewer.
    if let Some(errors) = body.get("errors").filter(|e| e.is_object()) {
        s.push_str(&format!(": {}", first_error(errors, String::new())));
    }
    s
}

/// The first `_errors[].message` in Discord's nested error object, with its field path.
fn first_error(v: &Value, path: String) -> String {
    if let Some(m) = v["_errors"][0]["message"].as_str() {
        return if path.is_empty() {
            m.to_string()
        } else {
            format!("{path}: {m}")
        };
    }
    if let Some(map) = v.as_object() {
        for (k, child) in map {
            if child.is_object() {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                let found = first_error(child, p);
                if !found.is_empty() {
                    return found;
                }
            }
        }
    }
    String::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limit_waits_come_from_the_body_then_the_headers() {
        let mut h = HeaderMap::new();
        assert_eq!(retry_after(&h, &Value::Null), Duration::from_secs(5));
        h.insert("x-ratelimit-reset-after", "2.5".parse().expect("header"));
        assert_eq!(retry_after(&h, &Value::Null), Duration::from_millis(2500));
        let body = json!({ "message": "You are being rate limited.", "retry_after": 0.2, "global": false });
        assert_eq!(retry_after(&h, &body), Duration::from_millis(200));
        assert_eq!(
            retry_after(&HeaderMap::new(), &json!({ "retry_after": 64.5701 })),
            Duration::from_millis(64571)
        );
        assert_eq!(
            retry_after(&HeaderMap::new(), &json!({ "retry_after": 1e9 })),
            Duration::from_secs(3600)
        );
    }

    #[test]
    fn an_empty_bucket_delays_the_next_request_until_it_refills() {
        let mut h = HeaderMap::new();
        h.insert("x-ratelimit-reset-after", "0.75".parse().expect("header"));
        h.insert("x-ratelimit-remaining", "2".parse().expect("header"));
        assert_eq!(bucket_empty_for(&h), None, "requests left");
        h.insert("x-ratelimit-remaining", "0".parse().expect("header"));
        assert_eq!(bucket_empty_for(&h), Some(Duration::from_millis(750)));
        h.remove("x-ratelimit-reset-after");
        assert_eq!(
            bucket_empty_for(&h),
            None,
            "no reset time: nothing to wait for"
        );
    }

    #[test]
    fn errors_name_the_refused_field() {
        let body = json!({ "code": 50035, "message": "Invalid Form Body",
            "errors": { "content": { "_errors": [{ "code": "BASE_TYPE_MAX_LENGTH", "message": "Must be 2000 or fewer in length." }] } } });
        assert_eq!(
            error_text(StatusCode::BAD_REQUEST, &body),
            "400 Invalid Form Body (code 50035): content: Must be 2000 or fewer in length."
        );
    }

    #[test]
    fn parts_over_discord_limits_are_refused_before_sending() {
        let part = OutgoingPart::text;
        assert!(check_part(&part("é".repeat(2000))).is_ok());
        assert!(check_part(&part("é".repeat(2001))).is_err());
    }
}
