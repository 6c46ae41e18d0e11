use std::fmt;
use std::sync::Arc;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// A delivery's identity: one post on one channel. Stable across file moves when the post has an `id`.
/// Shared texts: a plan's keys are its deliveries' names (400,000 at 100,000 posts), not copies.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DeliveryKey {
    pub post: Arc<str>,
    pub channel: Arc<str>,
}

impl DeliveryKey {
    pub fn new(post: impl Into<Arc<str>>, channel: impl Into<Arc<str>>) -> DeliveryKey {
        DeliveryKey {
            post: post.into(),
            channel: channel.into(),
        }
    }

    /// `post@channel`, as users write it (`smm resolve launch-hello@x`).
    pub fn parse(s: &str) -> Option<DeliveryKey> {
        let (post, channel) = s.rsplit_once('@')?;
        (!post.is_empty() && !channel.is_empty()).then(|| DeliveryKey::new(post, channel))
    }

    /// Path of this delivery's file on the state branch.
    pub fn path(&self) -> String {
        format!("deliveries/{}/{}.jsonl", self.channel, self.post)
    }
}

impl fmt::Display for DeliveryKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.post, self.channel)
    }
}

/// One line of a delivery's file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub at: Timestamp,
    #[serde(flatten)]
    pub event: Event,
}

/// What happened to a delivery. The intent is written (and pushed) before the request leaves;
/// the outcome after the response.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// About to send: what, from which content commit, which attempt.
    Intent {
        content_hash: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        commit: Option<String>,
        attempt: u32,
        /// The exact texts sent (the post and its thread replies), for drift diffs and history.
        texts: Vec<String>,
        /// The apply run that holds this delivery, and until when: another run leaves it alone
        /// until then, and treats it as crashed after.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        run: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        lease_until: Option<Timestamp>,
    },
    /// The platform created it.
    Published {
        content_hash: String,
        remote_id: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        url: Option<String>,
    },
    /// The platform refused it: provably not created.
    Rejected {
        content_hash: String,
        reason: String,
    },
    /// The request may or may not have created it (timeout, 5xx, crash).
    Unknown {
        content_hash: String,
        reason: String,
    },
    /// A person settled an unknown delivery.
    Resolved {
        published: bool,
        #[serde(skip_serializing_if = "Option::is_none")]
        url: Option<String>,
    },
    /// Deleted from the platform on request (`delete: true`).
    Deleted { remote_id: String },
    /// The intent was given up before anything was sent (no connection, rate limited, missing
    /// credentials): the delivery is planned again as if never tried.
    Withdrawn { reason: String },
}

/// Where a delivery stands, from its entries.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    Published {
        content_hash: String,
        url: Option<String>,
        remote_id: String,
        at: Timestamp,
        texts: Vec<String>,
    },
    /// An intent without a result: a run died or is running right now.
    InFlight {
        content_hash: String,
        since: Timestamp,
        run: Option<String>,
        lease_until: Option<Timestamp>,
    },
    Unknown {
        content_hash: String,
        reason: String,
        since: Timestamp,
    },
    Rejected {
        content_hash: String,
        reason: String,
    },
    /// Resolved as not published, or deleted: nothing of it is on the platform.
    NotPublished,
    Deleted,
}

/// All entries of one delivery.
#[derive(Clone, Debug, PartialEq)]
pub struct Record {
    pub key: DeliveryKey,
    pub entries: Vec<Entry>,
}

impl Record {
    /// The state the entries add up to; `None` for an empty file.
    pub fn outcome(&self) -> Option<Outcome> {
        let mut outcome = None;
        let mut texts: Vec<String> = Vec::new();
        for e in &self.entries {
            outcome = Some(match &e.event {
                Event::Intent {
                    content_hash,
                    texts: t,
                    run,
                    lease_until,
                    ..
                } => {
                    texts = t.clone();
                    Outcome::InFlight {
                        content_hash: content_hash.clone(),
                        since: e.at,
                        run: run.clone(),
                        lease_until: *lease_until,
                    }
                }
                Event::Published {
                    content_hash,
                    remote_id,
                    url,
                } => Outcome::Published {
                    content_hash: content_hash.clone(),
                    url: url.clone(),
                    remote_id: remote_id.clone(),
                    at: e.at,
                    texts: texts.clone(),
                },
                Event::Rejected {
                    content_hash,
                    reason,
                } => Outcome::Rejected {
                    content_hash: content_hash.clone(),
                    reason: reason.clone(),
                },
                Event::Unknown {
                    content_hash,
                    reason,
                } => Outcome::Unknown {
                    content_hash: content_hash.clone(),
                    reason: reason.clone(),
                    since: e.at,
                },
                Event::Resolved {
                    published: true,
                    url,
                } => {
                    let hash = match &outcome {
                        Some(
                            Outcome::Unknown { content_hash, .. }
                            | Outcome::InFlight { content_hash, .. },
                        ) => content_hash.clone(),
                        _ => String::new(),
                    };
                    Outcome::Published {
                        content_hash: hash,
                        url: url.clone(),
                        remote_id: url.clone().unwrap_or_default(),
                        at: e.at,
                        texts: texts.clone(),
                    }
                }
                Event::Resolved {
                    published: false, ..
                } => Outcome::NotPublished,
                Event::Deleted { .. } => Outcome::Deleted,
                Event::Withdrawn { .. } => Outcome::NotPublished,
            });
        }
        outcome
    }

    pub fn parse(key: DeliveryKey, text: &str) -> Result<Record, (usize, String)> {
        let mut entries = Vec::new();
        for (i, line) in text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            entries.push(serde_json::from_str(line).map_err(|e| (i + 1, e.to_string()))?);
        }
        Ok(Record { key, entries })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(at: &str, event: Event) -> Entry {
        Entry {
            at: at.parse().expect("time"),
            event,
        }
    }

    #[test]
    fn keys_round_trip_and_map_to_paths() {
        let k = DeliveryKey::parse("winter/launch@bluesky").expect("key");
        assert_eq!(k, DeliveryKey::new("winter/launch", "bluesky"));
        assert_eq!(k.path(), "deliveries/bluesky/winter/launch.jsonl");
        assert_eq!(k.to_string(), "winter/launch@bluesky");
        assert_eq!(DeliveryKey::parse("nochannel"), None);
    }

    #[test]
    fn outcome_follows_the_last_event() {
        let hash = "sha256:a".to_string();
        let mut r = Record {
            key: DeliveryKey::new("p", "x"),
            entries: vec![entry(
                "2026-12-01T08:00:00Z",
                Event::Intent {
                    content_hash: hash.clone(),
                    commit: None,
                    attempt: 1,
                    texts: vec!["hi".into()],
                    run: None,
                    lease_until: None,
                },
            )],
        };
        assert!(matches!(r.outcome(), Some(Outcome::InFlight { .. })));
        r.entries.push(entry(
            "2026-12-01T08:00:05Z",
            Event::Unknown {
                content_hash: hash.clone(),
                reason: "timeout".into(),
            },
        ));
        assert!(matches!(r.outcome(), Some(Outcome::Unknown { .. })));
        r.entries.push(entry(
            "2026-12-01T09:00:00Z",
            Event::Resolved {
                published: true,
                url: Some("https://x.com/a/1".into()),
            },
        ));
        match r.outcome() {
            Some(Outcome::Published {
                content_hash,
                texts,
                ..
            }) => {
                assert_eq!(content_hash, hash);
                assert_eq!(texts, vec!["hi".to_string()]);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn entries_serialize_as_one_json_line_each() {
        let e = entry(
            "2026-12-01T08:00:00Z",
            Event::Published {
                content_hash: "sha256:a".into(),
                remote_id: "at://did/x/1".into(),
                url: None,
            },
        );
        let line = serde_json::to_string(&e).expect("json");
        assert_eq!(
            line,
            r#"{"at":"2026-12-01T08:00:00Z","event":"published","content_hash":"sha256:a","remote_id":"at://did/x/1"}"#
        );
        let r = Record::parse(DeliveryKey::new("p", "x"), &format!("{line}\n")).expect("parse");
        assert_eq!(r.entries, vec![e]);
    }
}
