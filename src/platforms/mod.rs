//! Platform adapters: one trait, one file per platform. Each platform's text rules live in the
//! `smm-text` crate; its API client lives here.

// One module per platform; add a line here and an arm in `adapter_for`.
pub mod bluesky;
pub mod discord;
pub mod mastodon;
pub mod slack;
pub mod telegram;
pub mod x;

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::time::Duration;

use smm_text::Platform;

use crate::state::DeliveryKey;
use crate::workspace::Channel;

/// The sets of credential roles a channel of this platform may name (any one set suffices),
/// each role mapped to an environment variable name in smm.yaml.
pub fn credential_sets(platform: Platform) -> &'static [&'static [&'static str]] {
    match platform {
        // The account handle is the identifier; the app password is the secret.
        Platform::Bluesky => &[&["password"]],
        Platform::Mastodon | Platform::LinkedIn | Platform::Threads => &[&["token"]],
        // OAuth 2.0 user token, or the four OAuth 1.0a user-context keys.
        Platform::X => &[
            &["token"],
            &[
                "api_key",
                "api_secret",
                "access_token",
                "access_token_secret",
            ],
        ],
        Platform::Discord => &[&["webhook_url"]],
        // A bot token can find a message again after a lost response (message metadata).
        Platform::Slack => &[&["token"], &["webhook_url"]],
        Platform::Telegram => &[&["bot_token"]],
    }
}

/// The roles still missing from the closest credential set, or `None` when one set is complete.
pub fn missing_credentials<'a>(
    platform: Platform,
    named: impl Fn(&str) -> bool + 'a,
) -> Option<Vec<&'static str>> {
    let mut best: Option<Vec<&'static str>> = None;
    for set in credential_sets(platform) {
        let missing: Vec<&'static str> = set.iter().copied().filter(|r| !named(r)).collect();
        if missing.is_empty() {
            return None;
        }
        if best.as_ref().is_none_or(|b| missing.len() < b.len()) {
            best = Some(missing);
        }
    }
    best
}

/// One delivery as the adapter sends it: the post and its thread replies, in order.
#[derive(Clone, Debug)]
pub struct Outgoing {
    pub key: DeliveryKey,
    pub content_hash: String,
    /// When it was due: adapters may derive stable identifiers from it.
    pub publish_at: jiff::Timestamp,
    pub parts: Vec<OutgoingPart>,
    pub link: Option<String>,
}

#[derive(Clone, Debug)]
pub struct OutgoingPart {
    pub text: String,
    pub media: Vec<OutgoingMedia>,
}

impl OutgoingPart {
    /// A part without media.
    pub fn text(text: impl Into<String>) -> OutgoingPart {
        OutgoingPart {
            text: text.into(),
            media: Vec::new(),
        }
    }
}

#[derive(Clone, Debug)]
pub struct OutgoingMedia {
    /// Absolute path of the file.
    pub path: PathBuf,
    pub alt: String,
}

/// What the platform created.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Posted {
    /// The platform's id of the first part (e.g. an at:// URI).
    pub remote_id: String,
    pub url: Option<String>,
}

/// Why a publish did not succeed. The distinction decides whether a post can exist.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PublishError {
    /// The platform refused it: provably nothing was created.
    Rejected(String),
    /// It may or may not have been created (timeout, 5xx, connection lost after sending).
    Unknown(String),
    /// Slow down; nothing was created.
    RateLimited {
        retry_after: Duration,
        detail: String,
    },
    /// Credentials missing or refused: nothing was sent for this delivery.
    Auth(String),
    /// The request never left (no connection): nothing was created, try again later.
    NotSent(String),
}

impl PublishError {
    /// What went wrong, in the platform's or smm's words.
    pub fn detail(&self) -> &str {
        match self {
            PublishError::Rejected(r)
            | PublishError::Unknown(r)
            | PublishError::Auth(r)
            | PublishError::NotSent(r) => r,
            PublishError::RateLimited { detail, .. } => detail,
        }
    }
}

/// Checks every part before the first is sent, so a thread is never cut short by a limit the
/// platform would refuse halfway.
pub(crate) fn check_parts(
    delivery: &Outgoing,
    check: impl Fn(&OutgoingPart) -> Result<(), String>,
) -> Result<(), PublishError> {
    for (i, part) in delivery.parts.iter().enumerate() {
        check(part).map_err(|why| {
            PublishError::Rejected(format!("part {} of {}: {why}", i + 1, delivery.parts.len()))
        })?;
    }
    Ok(())
}

/// Posts a delivery's parts in order: `post(i, earlier)` sends part `i` of `delivery.parts`,
/// given the answers for the first part (the thread's root) and the part before (the one it
/// replies to). Returns the first part's answer. Once a part is out, any failure leaves the
/// delivery partly published: `Unknown`, never "not sent" or "refused", so it is completed by a
/// retry where the platform deduplicates, else settled by a person.
pub(crate) async fn post_thread<T: Clone, Sent>(
    delivery: &Outgoing,
    mut post: impl FnMut(usize, Earlier<T>) -> Sent,
) -> Result<T, PublishError>
where
    Sent: std::future::Future<Output = Result<T, PublishError>>,
{
    let total = delivery.parts.len();
    let mut earlier = Earlier {
        root: None,
        parent: None,
    };
    for i in 0..total {
        match post(i, earlier.clone()).await {
            Ok(answer) => {
                earlier.root.get_or_insert_with(|| answer.clone());
                earlier.parent = Some(answer);
            }
            Err(e) if earlier.root.is_some() => {
                return Err(PublishError::Unknown(format!(
                    "thread partly published ({i} of {total} parts): {}",
                    e.detail()
                )))
            }
            Err(e) => return Err(e),
        }
    }
    earlier
        .root
        .ok_or_else(|| PublishError::Rejected("nothing to publish".into()))
}

/// What the platform answered for the parts of a thread already posted.
#[derive(Clone)]
pub(crate) struct Earlier<T> {
    /// The first part's answer.
    pub root: Option<T>,
    /// The previous part's answer.
    pub parent: Option<T>,
}

/// Whether a platform lets a retry of the same delivery create at most one post.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dedup {
    /// Retrying is safe (Bluesky: a record key derived from the delivery; Mastodon: Idempotency-Key).
    Safe,
    /// Retrying could post twice; look the post up first, else ask a person.
    Unsafe,
}

/// The answer of a lookup after a crash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Lookup {
    Found(Posted),
    NotFound,
    /// The platform gives no way to look (Discord webhooks, Telegram bots).
    CannotTell,
}

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// One platform's API client for one channel.
pub trait Adapter: Send + Sync {
    fn dedup(&self) -> Dedup;

    /// Publishes every part of the delivery (thread replies after their parent). Safe to call
    /// again after an unknown outcome only when `dedup()` is `Safe`.
    fn publish<'a>(&'a self, delivery: &'a Outgoing)
        -> BoxFuture<'a, Result<Posted, PublishError>>;

    /// Looks for a delivery that may have been published by a run that died.
    fn find<'a>(&'a self, delivery: &'a Outgoing) -> BoxFuture<'a, Result<Lookup, PublishError>>;
}

/// Why an adapter could not be set up for a channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SetupError {
    /// The environment variable a credential names is not set. Holds the variable NAME only.
    MissingSecret {
        channel: String,
        role: String,
        variable: String,
    },
    NotSupported {
        channel: String,
        platform: Platform,
    },
}

impl std::fmt::Display for SetupError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SetupError::MissingSecret {
                channel,
                role,
                variable,
            } => {
                write!(
                    f,
                    "channel `{channel}`: environment variable {variable} (its {role}) is not set"
                )
            }
            SetupError::NotSupported { channel, platform } => {
                write!(
                    f,
                    "channel `{channel}`: publishing to {} is not available yet",
                    platform.as_str()
                )
            }
        }
    }
}

/// Reads a credential from the environment. The value never leaves the adapter.
pub(crate) fn secret(channel: &Channel, role: &str) -> Result<String, SetupError> {
    let variable = channel.credentials.get(role).cloned().unwrap_or_default();
    match std::env::var(&variable) {
        Ok(v) if !v.is_empty() => Ok(v),
        _ => Err(SetupError::MissingSecret {
            channel: channel.name.clone(),
            role: role.to_string(),
            variable,
        }),
    }
}

/// The adapter for a channel.
pub fn adapter_for(
    channel: &Channel,
    http: &reqwest::Client,
) -> Result<Box<dyn Adapter>, SetupError> {
    match channel.platform {
        Platform::Bluesky => Ok(Box::new(bluesky::Bluesky::new(channel, http.clone())?)),
        Platform::Mastodon => Ok(Box::new(mastodon::Mastodon::new(channel, http.clone())?)),
        Platform::Discord => Ok(Box::new(discord::Discord::new(channel, http.clone())?)),
        Platform::Telegram => Ok(Box::new(telegram::Telegram::new(channel, http.clone())?)),
        Platform::Slack => Ok(Box::new(slack::Slack::new(channel, http.clone())?)),
        Platform::X => Ok(Box::new(x::X::new(channel, http.clone())?)),
        platform => Err(SetupError::NotSupported {
            channel: channel.name.clone(),
            platform,
        }),
    }
}

/// How long one request may take before its outcome counts as unknown: 60 s, or
/// `SMM_HTTP_TIMEOUT_SECS` (slow networks; tests).
fn request_timeout() -> Duration {
    let secs = std::env::var("SMM_HTTP_TIMEOUT_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(60);
    Duration::from_secs(secs)
}

/// The HTTP client every adapter shares: rustls with the ring provider (cheaper to build than
/// aws-lc), the system's trust store, bounded timeouts.
pub fn http_client() -> Result<reqwest::Client, String> {
    // Installing twice fails harmlessly: another client in this process did it first.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .tls_backend_rustls()
        .connect_timeout(Duration::from_secs(10))
        .timeout(request_timeout())
        .user_agent(concat!("smm/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| e.to_string())
}

/// A reqwest error as text without its URL (a Discord webhook URL is the secret itself, and
/// query strings may carry tokens), with its causes, which say what actually went wrong.
pub(crate) fn short_error(e: reqwest::Error) -> String {
    let e = e.without_url();
    let mut s = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(inner) = source {
        s = format!("{s}: {inner}");
        source = inner.source();
    }
    s
}

/// A platform's complete answer: status, headers, and the body as JSON (`Null` when it is not
/// JSON, e.g. a proxy's error page).
pub(crate) struct Answer {
    pub status: reqwest::StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: serde_json::Value,
    /// The body as sent, for answers in plain text (Slack webhooks answer `ok`).
    pub raw: Vec<u8>,
}

/// Sends one request, classifying transport failures by whether anything can have been created:
/// no connection is `NotSent`; no answer, or an answer cut off, is `Unknown`. `who` names the
/// platform in messages; `scrub` removes the adapter's secrets from any text that came back.
pub(crate) async fn exchange(
    req: reqwest::RequestBuilder,
    who: &str,
    scrub: &(dyn Fn(String) -> String + Sync),
) -> Result<Answer, PublishError> {
    let resp = req.send().await.map_err(|e| {
        if e.is_connect() {
            PublishError::NotSent(format!(
                "cannot connect to {who}: {}",
                scrub(short_error(e))
            ))
        } else {
            // Timed out or cut off after the request left: it may have been acted on.
            PublishError::Unknown(format!("no answer from {who}: {}", scrub(short_error(e))))
        }
    })?;
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = resp.bytes().await.map_err(|e| {
        PublishError::Unknown(format!(
            "the answer from {who} ({status}) was cut off: {}",
            scrub(short_error(e))
        ))
    })?;
    let body = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
    Ok(Answer {
        status,
        headers,
        body,
        raw: bytes.to_vec(),
    })
}

/// The MIME type uploads declare, from the file extension.
pub(crate) fn mime_of(path: &str) -> &'static str {
    match path
        .rsplit('.')
        .next()
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("png") => "image/png",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("gif") => "image/gif",
        Some("webp") => "image/webp",
        Some("mp4") => "video/mp4",
        _ => "application/octet-stream",
    }
}
