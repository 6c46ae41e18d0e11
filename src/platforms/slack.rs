//! Slack, in one of two modes, by the credential the channel names:
//!
//! - `token` (a bot token): `POST {base}/api/chat.postMessage` (form-encoded) with the smm
//!   delivery key in the message `metadata`, thread parts as replies (`thread_ts`). A lost answer is looked up with
//!   `conversations.history?include_all_metadata=true` by that exact key.
//! - `webhook_url` (an incoming webhook): `POST {webhook_url}` with `{text}`; the answer is the
//!   plain text `ok` and no message id, a webhook cannot thread (parts go as consecutive
//!   messages) and cannot read anything back (`Lookup::CannotTell`).
//!
//! Neither mode has idempotency (`Dedup::Unsafe`). Slack refuses with HTTP 200 and
//! `{ok: false, error}`; the classification below follows the chat.postMessage documentation.
//! Media (the three-call external upload) is not implemented: a part with media is refused
//! before anything is sent. Slack's published spec is Swagger 2.0 (2020); tests/contract.rs checks
//! the bot calls it describes against it (Prism), the behaviour tests run against a local fake.

use std::time::Duration;

use reqwest::header::HeaderMap;
use serde_json::{json, Value};

use super::{
    secret, Adapter, BoxFuture, Dedup, Lookup, Outgoing, OutgoingPart, Posted, PublishError,
    SetupError,
};
use crate::workspace::Channel;

const DEFAULT_BASE: &str = "https://slack.com";
/// Slack truncates `text` beyond 40,000 characters: treated as the limit.
const MAX_TEXT_CHARS: usize = 40_000;
/// The `metadata.event_type` smm's messages carry.
pub const EVENT_TYPE: &str = "smm_delivery";
/// A message found by `find()` may be this much older than its due time (clock skew).
const FIND_MARGIN_SECS: i64 = 15 * 60;
/// Pages of history `find()` reads at most (history calls are tightly rate limited).
const FIND_PAGES: usize = 3;

enum Mode {
    Bot { token: String },
    Webhook { url: String },
}

pub struct Slack {
    http: reqwest::Client,
    base: String,
    mode: Mode,
    /// The environment variable holding the secret: what messages name instead of it.
    variable: String,
    name: String,
    /// The conversation (`C0123…` or `#name`) for bot mode.
    conversation: String,
}

impl Slack {
    pub fn new(channel: &Channel, http: reqwest::Client) -> Result<Slack, SetupError> {
        // A bot token wins when both are named: only it can thread and look a message up.
        let (mode, role) = if channel.credentials.contains_key("token") {
            (
                Mode::Bot {
                    token: secret(channel, "token")?,
                },
                "token",
            )
        } else {
            (
                Mode::Webhook {
                    url: secret(channel, "webhook_url")?,
                },
                "webhook_url",
            )
        };
        Ok(Slack {
            http,
            base: channel
                .base_url
                .as_deref()
                .unwrap_or(DEFAULT_BASE)
                .trim_end_matches('/')
                .to_string(),
            mode,
            variable: channel.credentials.get(role).cloned().unwrap_or_default(),
            name: channel.name.clone(),
            conversation: channel.account.trim().to_string(),
        })
    }

    fn who(&self) -> String {
        match self.mode {
            Mode::Bot { .. } => format!(
                "Slack for channel `{}` (bot token from {})",
                self.name, self.variable
            ),
            Mode::Webhook { .. } => format!(
                "the Slack webhook of channel `{}` (from {})",
                self.name, self.variable
            ),
        }
    }

    fn api(&self, method: &str) -> String {
        format!("{}/api/{method}", self.base)
    }

    /// Removes the secret from text that came from a server.
    fn scrub(&self, text: String) -> String {
        let secret = match &self.mode {
            Mode::Bot { token } => token,
            Mode::Webhook { url } => url,
        };
        if secret.is_empty() || !text.contains(secret.as_str()) {
            return text;
        }
        text.replace(secret.as_str(), "****")
    }

    /// One Web API call with the bot token; `Ok` only for `ok: true`.
    async fn call(&self, req: reqwest::RequestBuilder) -> Result<Value, PublishError> {
        let Mode::Bot { token } = &self.mode else {
            return Err(PublishError::Auth(format!(
                "{} cannot call the Web API",
                self.who()
            )));
        };
        let super::Answer {
            status,
            headers,
            body,
            ..
        } = super::exchange(req.bearer_auth(token), &self.who(), &|t| self.scrub(t)).await?;
        if status.is_success() && body["ok"].as_bool() == Some(true) {
            return Ok(body);
        }
        let error = body["error"].as_str().unwrap_or_default();
        if status.as_u16() == 429 || error == "ratelimited" {
            return Err(PublishError::RateLimited {
                retry_after: retry_after(&headers),
                detail: format!("{} is rate limited", self.who()),
            });
        }
        if !status.is_success() {
            let detail = if error.is_empty() {
                format!("HTTP {status}")
            } else {
                format!("HTTP {status}: {error}")
            };
            return Err(match status.as_u16() {
                401 | 403 => PublishError::Auth(format!("{} was refused: {detail}", self.who())),
                400..=499 => PublishError::Rejected(self.scrub(detail)),
                _ => PublishError::Unknown(self.scrub(detail)),
            });
        }
        Err(classify_api_error(error, &self.who(), &body))
    }

    async fn post_message(
        &self,
        delivery: &Outgoing,
        index: usize,
        part: &OutgoingPart,
        thread_ts: Option<&str>,
    ) -> Result<String, PublishError> {
        // Form-encoded, the encoding Slack's published Web API spec declares for
        // chat.postMessage (it accepts JSON too, but only the form fields are specified, so only
        // they can be checked against the spec). `metadata` is then a JSON string, as Slack's
        // method documentation says for form posts.
        let metadata = json!({
            "event_type": EVENT_TYPE,
            "event_payload": {
                "key": delivery.key.to_string(),
                "content_hash": delivery.content_hash,
                "part": index,
            },
        });
        let mut form = vec![
            ("channel", self.conversation.clone()),
            ("text", escape(&part.text)),
            ("unfurl_links", "true".to_string()),
            // What `find()` looks for: the exact delivery key, never a text match.
            ("metadata", metadata.to_string()),
        ];
        if let Some(ts) = thread_ts {
            form.push(("thread_ts", ts.to_string()));
        }
        let answer = self
            .call(self.http.post(self.api("chat.postMessage")).form(&form))
            .await?;
        match answer["ts"].as_str() {
            Some(ts) if !ts.is_empty() => Ok(ts.to_string()),
            _ => Err(PublishError::Unknown(format!(
                "{} answered without a message ts",
                self.who()
            ))),
        }
    }

    /// The message's permalink; `None` when Slack will not say (the message exists anyway).
    async fn permalink(&self, ts: &str) -> Option<String> {
        let answer = self
            .call(
                self.http
                    .get(self.api("chat.getPermalink"))
                    .query(&[("channel", self.conversation.as_str()), ("message_ts", ts)]),
            )
            .await
            .ok()?;
        answer["permalink"].as_str().map(str::to_string)
    }

    async fn publish_bot(&self, delivery: &Outgoing) -> Result<Posted, PublishError> {
        // Replies go to the thread of the first message.
        let ts = super::post_thread(
            delivery,
            move |i, earlier: super::Earlier<String>| async move {
                let part = &delivery.parts[i];
                self.post_message(delivery, i, part, earlier.root.as_deref())
                    .await
            },
        )
        .await?;
        Ok(Posted {
            url: self.permalink(&ts).await,
            remote_id: ts,
        })
    }

    async fn publish_webhook(
        &self,
        url: &str,
        delivery: &Outgoing,
    ) -> Result<Posted, PublishError> {
        match reqwest::Url::parse(url) {
            Ok(u) if matches!(u.scheme(), "https" | "http") => {}
            // The value itself is never shown: it may be a valid secret pasted wrongly.
            _ => {
                return Err(PublishError::Auth(format!(
                    "environment variable {} does not hold a webhook URL (https://hooks.slack.com/services/...)",
                    self.variable
                )))
            }
        }
        // A webhook cannot thread: the parts go out as consecutive messages.
        super::post_thread(delivery, move |i, _: super::Earlier<()>| async move {
            let body = json!({ "text": escape(&delivery.parts[i].text), "unfurl_links": true });
            self.webhook_post(url, &body).await
        })
        .await?;
        // A webhook answers "ok" and nothing else: there is no id to keep or link to.
        Ok(Posted {
            remote_id: "slack-webhook".into(),
            url: None,
        })
    }

    async fn webhook_post(&self, url: &str, body: &Value) -> Result<(), PublishError> {
        let super::Answer {
            status,
            headers,
            raw,
            ..
        } = super::exchange(self.http.post(url).json(body), &self.who(), &|t| {
            self.scrub(t)
        })
        .await?;
        // Webhooks answer plain text: `ok`, or an error code such as `invalid_payload`.
        let text: String = self.scrub(
            String::from_utf8_lossy(&raw)
                .trim()
                .chars()
                .take(200)
                .collect(),
        );
        if status.is_success() {
            return Ok(());
        }
        let detail = if text.is_empty() {
            format!("HTTP {status}")
        } else {
            format!("HTTP {status}: {text}")
        };
        Err(match status.as_u16() {
            429 => PublishError::RateLimited {
                retry_after: retry_after(&headers),
                detail,
            },
            // 403 action_prohibited, 404 no_service / channel_not_found: the webhook is gone
            // or not allowed to post; nothing was posted.
            401 | 403 | 404 => PublishError::Auth(format!("{} was refused: {detail}", self.who())),
            // 400 invalid_payload / no_text, 410 channel_is_archived.
            400..=499 => PublishError::Rejected(detail),
            _ => PublishError::Unknown(detail),
        })
    }

    /// Top-level messages since `oldest` carrying smm metadata; `complete` is false when there
    /// were more pages than were read.
    async fn history(&self, oldest: i64) -> Result<(Vec<Value>, bool), PublishError> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..FIND_PAGES {
            let mut query = vec![
                ("channel", self.conversation.clone()),
                ("include_all_metadata", "true".to_string()),
                ("oldest", oldest.to_string()),
                ("limit", "100".to_string()),
            ];
            if let Some(c) = &cursor {
                query.push(("cursor", c.clone()));
            }
            let answer = self
                .call(
                    self.http
                        .get(self.api("conversations.history"))
                        .query(&query),
                )
                .await?;
            out.extend(answer["messages"].as_array().cloned().unwrap_or_default());
            cursor = answer["response_metadata"]["next_cursor"]
                .as_str()
                .filter(|c| !c.is_empty())
                .map(str::to_string);
            if cursor.is_none() {
                return Ok((out, true));
            }
        }
        Ok((out, false))
    }

    /// The replies in a thread (the parent first), one page.
    async fn replies(&self, ts: &str) -> Result<Vec<Value>, PublishError> {
        let answer = self
            .call(self.http.get(self.api("conversations.replies")).query(&[
                ("channel", self.conversation.as_str()),
                ("ts", ts),
                ("include_all_metadata", "true"),
                ("limit", "200"),
            ]))
            .await?;
        Ok(answer["messages"].as_array().cloned().unwrap_or_default())
    }

    async fn find_bot(&self, delivery: &Outgoing) -> Result<Lookup, PublishError> {
        let oldest = delivery.publish_at.as_second() - FIND_MARGIN_SECS;
        let (messages, complete) = self.history(oldest).await?;
        let key = delivery.key.to_string();
        // Newest first, as Slack lists them: the oldest match is the delivery's.
        let Some(first) = messages.iter().rfind(|m| is_part(m, &key, 0)) else {
            // Unread pages could hold it: only a full read proves absence.
            return Ok(if complete {
                Lookup::NotFound
            } else {
                Lookup::CannotTell
            });
        };
        let ts = first["ts"].as_str().unwrap_or_default().to_string();
        if delivery.parts.len() > 1 {
            // A thread counts only when every part is there; some only: a person decides.
            let replies = self.replies(&ts).await?;
            let all =
                (1..delivery.parts.len()).all(|i| replies.iter().any(|m| is_part(m, &key, i)));
            if !all {
                return Ok(Lookup::CannotTell);
            }
        }
        Ok(Lookup::Found(Posted {
            url: self.permalink(&ts).await,
            remote_id: ts,
        }))
    }
}

impl Adapter for Slack {
    fn dedup(&self) -> Dedup {
        Dedup::Unsafe
    }

    fn publish<'a>(
        &'a self,
        delivery: &'a Outgoing,
    ) -> BoxFuture<'a, Result<Posted, PublishError>> {
        Box::pin(async move {
            super::check_parts(delivery, check_part)?;
            match &self.mode {
                Mode::Bot { .. } => self.publish_bot(delivery).await,
                Mode::Webhook { url } => self.publish_webhook(url, delivery).await,
            }
        })
    }

    fn find<'a>(&'a self, delivery: &'a Outgoing) -> BoxFuture<'a, Result<Lookup, PublishError>> {
        Box::pin(async move {
            match self.mode {
                Mode::Bot { .. } => self.find_bot(delivery).await,
                // A webhook can only post: it cannot read the channel back.
                Mode::Webhook { .. } => Ok(Lookup::CannotTell),
            }
        })
    }
}

/// Whether a message is part `index` of the delivery `key` (by its metadata, exactly).
fn is_part(message: &Value, key: &str, index: usize) -> bool {
    let meta = &message["metadata"];
    meta["event_type"].as_str() == Some(EVENT_TYPE)
        && meta["event_payload"]["key"].as_str() == Some(key)
        // Messages without a part number are first parts.
        && meta["event_payload"]["part"].as_u64().unwrap_or(0) == index as u64
}

fn check_part(part: &OutgoingPart) -> Result<(), String> {
    if !part.media.is_empty() {
        return Err("Slack media upload is not supported yet".into());
    }
    if part.text.trim().is_empty() {
        return Err("an empty message".into());
    }
    let chars = part.text.chars().count();
    if chars > MAX_TEXT_CHARS {
        return Err(format!(
            "{chars} characters, Slack truncates text beyond {MAX_TEXT_CHARS}"
        ));
    }
    Ok(())
}

/// Slack reads `&`, `<` and `>` in `text` as markup (`<!channel>` pings everyone, `<url|label>`
/// hides a link): escaped, a post says exactly what it was written to say.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// An `ok: false` answer (HTTP 200) by its `error` code.
fn classify_api_error(error: &str, who: &str, body: &Value) -> PublishError {
    let detail = if error.is_empty() {
        format!("{who} answered without ok: true")
    } else {
        format!("{who}: {error}")
    };
    let detail = match body["response_metadata"]["messages"][0].as_str() {
        Some(m) => format!("{detail} ({m})"),
        None => detail,
    };
    match error {
        "not_authed"
        | "invalid_auth"
        | "account_inactive"
        | "token_revoked"
        | "token_expired"
        | "no_permission"
        | "missing_scope"
        | "not_allowed_token_type"
        | "ekm_access_denied"
        | "org_login_required" => PublishError::Auth(detail),
        // Slack's own failures after the request arrived: the message may exist.
        "" | "internal_error" | "fatal_error" | "service_unavailable" | "request_timeout" => {
            PublishError::Unknown(detail)
        }
        // channel_not_found, not_in_channel, is_archived, msg_too_long, invalid_metadata_format…
        _ => PublishError::Rejected(detail),
    }
}

/// `Retry-After` in seconds; 30 s when absent. At least 1 s, at most 1 h.
pub fn retry_after(headers: &HeaderMap) -> Duration {
    let secs = headers
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or(30);
    Duration::from_secs(secs.clamp(1, 3600))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_characters_are_escaped() {
        assert_eq!(
            escape("Tom & Jerry <!channel> a>b"),
            "Tom &amp; Jerry &lt;!channel&gt; a&gt;b"
        );
        assert_eq!(escape("https://x.y/?a=1"), "https://x.y/?a=1");
    }

    #[test]
    fn api_errors_are_classified_by_code() {
        let who = "Slack";
        assert!(matches!(
            classify_api_error("invalid_auth", who, &Value::Null),
            PublishError::Auth(_)
        ));
        assert!(matches!(
            classify_api_error("channel_not_found", who, &Value::Null),
            PublishError::Rejected(_)
        ));
        assert!(matches!(
            classify_api_error("internal_error", who, &Value::Null),
            PublishError::Unknown(_)
        ));
        let body = json!({ "ok": false, "error": "invalid_metadata_format",
            "response_metadata": { "messages": ["[ERROR] bad payload"] } });
        assert_eq!(
            classify_api_error("invalid_metadata_format", who, &body),
            PublishError::Rejected("Slack: invalid_metadata_format ([ERROR] bad payload)".into())
        );
    }

    #[test]
    fn parts_match_by_exact_key_and_index() {
        let m = |key: &str, part: Option<u64>| {
            let mut payload = json!({ "key": key, "content_hash": "h" });
            if let Some(p) = part {
                payload["part"] = json!(p);
            }
            json!({ "ts": "1.2", "metadata": { "event_type": EVENT_TYPE, "event_payload": payload } })
        };
        assert!(is_part(&m("launch@slack", Some(0)), "launch@slack", 0));
        assert!(is_part(&m("launch@slack", None), "launch@slack", 0));
        assert!(!is_part(&m("launch@slack", Some(1)), "launch@slack", 0));
        assert!(!is_part(&m("launch-2@slack", Some(0)), "launch@slack", 0));
        assert!(!is_part(&json!({ "ts": "1.2" }), "launch@slack", 0));
    }

    #[test]
    fn retry_after_is_bounded() {
        let mut h = HeaderMap::new();
        assert_eq!(retry_after(&h), Duration::from_secs(30));
        h.insert("retry-after", "7".parse().expect("header"));
        assert_eq!(retry_after(&h), Duration::from_secs(7));
        h.insert("retry-after", "0".parse().expect("header"));
        assert_eq!(retry_after(&h), Duration::from_secs(1));
    }
}
