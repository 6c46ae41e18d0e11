//! `smm plan`: the desired deliveries against the recorded state, at one instant.
//!
//! Planning reads only: the workspace, the state branch and (for "edited since review") the
//! workspace at a base revision. The same inputs give the same plan, byte for byte.

mod base;
mod json;
mod markdown;
mod text;
mod watch;
mod workspace;

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};

use jiff::tz::TimeZone;
use jiff::{Timestamp, ZonedDateTime};

pub use base::{snapshot_at, BaseSnapshot, BaseVersion, Snapshot};
pub use json::{render_json, PLAN_FORMAT_VERSION};
pub use markdown::render_markdown;
pub use text::{render_text, render_text_in_pieces, render_update};
pub use watch::{Reach, Session, Update, Watched};
pub use workspace::{plan_workspace, Options, PlanError};

use crate::render::{Delivery, Parts};
use crate::state::{ContentRevision, DeliveryKey, Outcome, State};
use crate::validate::Report;
use crate::words::plural;
use crate::workspace::{format_duration, When};

/// What apply will do (or a person must do) about one delivery.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Action {
    /// Due now, within the grace window: the next apply publishes it.
    Publish,
    /// Published, and the post says `delete: true`.
    Delete,
    /// Due later.
    Schedule,
    /// Published, and its text changed in git since: shown, never acted on.
    Drift,
    /// Published, and its post is gone from the repository: it stays on the platform.
    Kept,
    /// Its time passed beyond the grace window without being published: never published late.
    Missed,
    /// An intent without a result, or an unknown outcome: `smm resolve` it.
    Resolve,
    /// The platform refused this exact content; change the post to try again.
    Rejected,
    /// Matches a published delivery of a post that moved without an `id`: publishing would post twice.
    Moved,
    /// Published and unchanged: nothing to do (listed by `smm status`, not by plan).
    Published,
    /// Not scheduled yet.
    Draft,
}

impl Action {
    pub fn needs_attention(self) -> bool {
        matches!(
            self,
            Action::Missed | Action::Resolve | Action::Rejected | Action::Moved
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Action::Publish => "publish",
            Action::Delete => "delete",
            Action::Schedule => "schedule",
            Action::Drift => "drift",
            Action::Kept => "kept",
            Action::Missed => "missed",
            Action::Resolve => "resolve",
            Action::Rejected => "rejected",
            Action::Moved => "moved",
            Action::Published => "published",
            Action::Draft => "draft",
        }
    }
}

/// How an unpublished delivery differs from the base revision (what the reviewer saw before).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    New,
    Edited,
    Unchanged,
}

impl Change {
    pub fn as_str(self) -> &'static str {
        match self {
            Change::New => "new",
            Change::Edited => "edited",
            Change::Unchanged => "unchanged",
        }
    }
}

#[derive(Clone, Debug)]
pub struct Item {
    pub key: DeliveryKey,
    /// The post's campaign (folder name), if any; shared by the post's items.
    pub campaign: Option<Arc<str>>,
    pub platform: Option<smm_text::Platform>,
    /// The post file, relative to the workspace (absent for a removed post); shared by the
    /// post's items.
    pub file: Option<Arc<str>>,
    pub publish_at: Option<ZonedDateTime>,
    pub action: Action,
    /// Against the base revision, for publish and schedule.
    pub change: Option<Change>,
    /// Why, in one sentence.
    pub reason: Cow<'static, str>,
    /// The delivery's parts: copies that share a cached post's encoded texts, so a text is
    /// decoded (once) only if the plan is shown.
    pub parts: Parts,
    details: Option<Box<Details>>,
}

/// What few items have: boxed, so that the 400,000 scheduled items of a plan of 100,000 posts
/// do not each carry room for them (a third of an item).
#[derive(Clone, Debug, Default)]
struct Details {
    /// Texts to diff against: the base revision's (edited) or the published ones (drift).
    previous: Option<Vec<String>>,
    url: Option<String>,
    hint: Option<String>,
    /// For `Resolve`: what an earlier run left behind.
    pending: Option<Pending>,
}

// The plan's items are collected as options and filtered in place, which needs this.
const _: () = assert!(std::mem::size_of::<Option<Item>>() == std::mem::size_of::<Item>());

impl Item {
    /// Texts to diff against: the base revision's (edited) or the published ones (drift).
    pub fn previous(&self) -> Option<&[String]> {
        self.details.as_ref()?.previous.as_deref()
    }

    /// Where the delivery was published.
    pub fn url(&self) -> Option<&str> {
        self.details.as_ref()?.url.as_deref()
    }

    /// What a person can do about it.
    pub fn hint(&self) -> Option<&str> {
        self.details.as_ref()?.hint.as_deref()
    }

    /// For `Resolve`: what an earlier run left behind.
    pub fn pending(&self) -> Option<Pending> {
        self.details.as_ref()?.pending
    }

    fn details(&mut self) -> &mut Details {
        self.details.get_or_insert_with(Box::default)
    }

    fn unchanged_since_base(&self) -> bool {
        self.action == Action::Schedule && self.change == Some(Change::Unchanged)
    }
}

/// What an earlier apply left for a delivery without a result.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pending {
    /// An intent: that run may still be working until `lease_until`, or died.
    Intent { lease_until: Option<Timestamp> },
    /// Recorded as unknown: it may or may not be on the platform.
    Unknown,
}

/// The whole plan.
#[derive(Debug)]
pub struct Plan {
    pub brand: String,
    pub zone: TimeZone,
    pub zone_name: String,
    pub at: Timestamp,
    /// Print `at` only when the user gave it: "now" would make every run's output differ.
    pub show_at: bool,
    pub content: ContentRevision,
    pub state_revision: Option<String>,
    pub base: Option<String>,
    /// Every delivery, in display order; renderers of the plan skip published and draft ones.
    pub items: Vec<Item>,
    pub warnings: usize,
    pub valid_until: Option<Timestamp>,
}

/// Counts for the summary line.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Summary {
    pub publish_now: usize,
    pub scheduled: usize,
    pub edits: usize,
    pub deletions: usize,
    pub drift: usize,
    pub kept: usize,
    pub needs_attention: usize,
    pub published: usize,
    pub drafts: usize,
}

impl Plan {
    pub fn summary(&self) -> Summary {
        let mut s = Summary::default();
        for i in &self.items {
            match i.action {
                Action::Published => s.published += 1,
                Action::Draft => s.drafts += 1,
                Action::Publish => s.publish_now += 1,
                Action::Schedule => s.scheduled += 1,
                Action::Delete => s.deletions += 1,
                Action::Drift => s.drift += 1,
                Action::Kept => s.kept += 1,
                _ => {}
            }
            if i.change == Some(Change::Edited) {
                s.edits += 1;
            }
            if i.action.needs_attention() {
                s.needs_attention += 1;
            }
        }
        s
    }

    /// The deliveries a plan shows: everything but the published and drafts.
    pub fn actions(&self) -> impl Iterator<Item = &Item> {
        self.items
            .iter()
            .filter(|i| !matches!(i.action, Action::Published | Action::Draft))
    }

    /// What a person reading the plan needs to see: the actions but the scheduled deliveries
    /// unchanged since the base revision (approved before; counted by [`Plan::unchanged`]).
    pub fn shown(&self) -> impl Iterator<Item = &Item> {
        self.actions().filter(|i| !i.unchanged_since_base())
    }

    /// How many scheduled deliveries are unchanged since the base revision.
    pub fn unchanged(&self) -> usize {
        self.items
            .iter()
            .filter(|i| i.unchanged_since_base())
            .count()
    }

    /// Whether `smm apply` would change anything on a platform now.
    pub fn has_changes(&self) -> bool {
        self.items
            .iter()
            .any(|i| matches!(i.action, Action::Publish | Action::Delete))
    }

    /// "Plan: 3 to publish now, 12 scheduled, 1 edit, 0 deletions, 1 needs attention."
    pub fn summary_line(&self) -> String {
        let s = self.summary();
        let mut line = format!(
            "Plan: {} to publish now, {} scheduled, {} {}, {} {}, {} {}",
            s.publish_now,
            s.scheduled,
            s.edits,
            plural(s.edits, "edit", "edits"),
            s.deletions,
            plural(s.deletions, "deletion", "deletions"),
            s.needs_attention,
            plural(s.needs_attention, "needs attention", "need attention"),
        );
        if s.drift > 0 {
            line.push_str(&format!(", {} drifted", s.drift));
        }
        line.push('.');
        line
    }

    pub fn format_time(&self, t: &ZonedDateTime) -> String {
        minute(t)
    }

    /// [`Plan::format_time`], appended to `out`.
    pub fn write_time(&self, out: &mut String, t: &ZonedDateTime) {
        write_minute(out, t)
    }

    pub fn format_timestamp(&self, t: Timestamp) -> String {
        self.format_time(&t.to_zoned_datetime(self.zone.clone()))
    }
}

/// What plan needs besides the validated workspace.
pub struct Inputs<'a> {
    pub report: &'a Report,
    pub state: &'a State,
    pub at: Timestamp,
    pub show_at: bool,
    pub content: ContentRevision,
    pub base: Option<&'a BaseSnapshot>,
}

/// Computes the plan. The report must be free of errors (plan refuses an invalid workspace).
pub fn plan(inputs: &Inputs<'_>) -> Plan {
    let report = inputs.report;
    let ws = &report.workspace;
    let settings = ws.settings.as_ref();
    let zone = settings.map_or(TimeZone::UTC, |s| s.zone.clone());
    let grace = settings.map_or(jiff::SignedDuration::from_hours(1), |s| s.grace);
    let at = inputs.at;

    // Only the recorded deliveries are looked up (no state: nothing to look up).
    let desired: HashSet<(&str, &str)> = if inputs.state.records.is_empty() {
        HashSet::new()
    } else {
        report
            .deliveries
            .iter()
            .map(|d| (&*d.post_id, &*d.channel))
            .collect()
    };
    let desired = |key: &DeliveryKey| desired.contains(&(&*key.post, &*key.channel));
    // Published deliveries whose post is gone, by content: a file moved without an id.
    let mut removed_by_hash: BTreeMap<String, DeliveryKey> = BTreeMap::new();
    for (key, record) in inputs.state.records.iter().filter(|(k, _)| !desired(k)) {
        if let Some(Outcome::Published { content_hash, .. }) = record.outcome() {
            removed_by_hash.insert(content_hash, key.clone());
        }
    }

    // Each post's file and campaign, shared by its items.
    let of_post: Vec<(Arc<str>, Option<Arc<str>>)> = {
        use rayon::prelude::*;
        ws.posts
            .par_iter()
            .map(|post| {
                let file = report.sources.path(post.file).display().to_string();
                (file.into(), post.campaign.as_deref().map(Arc::from))
            })
            .collect()
    };
    // The published deliveries that a delivery of a moved post repeats (rare: a lock is cheap).
    let moved_from: Mutex<BTreeSet<DeliveryKey>> = Mutex::default();
    // Each delivery's item depends on that delivery alone: both cores build them.
    let item_of = |d: &Delivery| -> Option<Item> {
        // Written out only when compared: a plan without records compares nothing.
        let hash = || d.content_hash();
        let post = &ws.posts[d.post];
        let key = DeliveryKey::new(d.post_id.clone(), d.channel.clone());
        let (file, campaign) = &of_post[d.post];
        let publish_at = match &post.when {
            When::At(z) => Some(z.clone()),
            When::Draft => None,
        };
        let mut item = Item {
            key: key.clone(),
            campaign: campaign.clone(),
            platform: Some(d.platform),
            file: Some(Arc::clone(file)),
            publish_at: publish_at.clone(),
            action: Action::Schedule,
            change: None,
            reason: Cow::Borrowed(""),
            parts: d.parts.clone(),
            details: None,
        };
        let outcome = inputs.state.records.get(&key).and_then(|r| r.outcome());
        match outcome {
            Some(Outcome::Published {
                content_hash,
                url,
                texts,
                ..
            }) => {
                if url.is_some() {
                    item.details().url = url;
                }
                if post.delete {
                    item.action = Action::Delete;
                    item.reason =
                        "the post says `delete: true`: it will be deleted from the platform".into();
                } else if !content_hash.is_empty() && content_hash != hash() {
                    item.action = Action::Drift;
                    item.reason = "was published, and its text changed in git since; the published post is left as it is".into();
                    item.details().previous = Some(texts);
                    item.details().hint = Some("to publish the new text as a new post, give the post a new `id`; editing published posts is not done implicitly".into());
                } else {
                    item.action = Action::Published;
                    item.reason = "published".into();
                }
            }
            Some(Outcome::InFlight {
                since, lease_until, ..
            }) => {
                item.action = Action::Resolve;
                item.details().pending = Some(Pending::Intent { lease_until });
                item.reason = format!(
                    "an apply started publishing it at {} and left no result",
                    inputs_time(&zone, since)
                )
                .into();
                item.details().hint = Some(format!("the next apply checks the platform where it can; else run `smm resolve {key} --published URL` or `--not-published`"));
            }
            Some(Outcome::Unknown { reason, .. }) => {
                item.action = Action::Resolve;
                item.details().pending = Some(Pending::Unknown);
                item.reason = format!(
                    "the outcome is unknown ({reason}): it may or may not be on the platform"
                )
                .into();
                item.details().hint = Some(format!("look on the platform, then `smm resolve {key} --published URL` or `smm resolve {key} --not-published`"));
            }
            Some(Outcome::Rejected {
                content_hash,
                reason,
            }) if content_hash == hash() => {
                item.action = Action::Rejected;
                item.reason = format!("the platform refused it: {reason}").into();
                item.details().hint =
                    Some("change the post; the changed content is tried again".into());
            }
            Some(Outcome::Deleted) => {
                item.action = Action::Published;
                item.reason = "deleted from the platform on request".into();
            }
            _ if post.delete => return None,
            _ => {
                let Some(when) = &publish_at else {
                    item.action = Action::Draft;
                    item.reason = "a draft: not scheduled".into();
                    return Some(item);
                };
                let due = when.timestamp();
                let repeats = (!removed_by_hash.is_empty())
                    .then(|| removed_by_hash.get(&hash()))
                    .flatten();
                if let Some(old) = repeats {
                    moved_from
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .insert(old.clone());
                    item.action = Action::Moved;
                    item.reason = format!("the same content was published as `{old}`, whose post is gone: publishing would post it twice").into();
                    item.details().hint = Some(format!("add `id: {}` to this post to keep its identity, or change its text if it is a new post", old.post));
                } else if due > at {
                    item.action = Action::Schedule;
                    item.reason =
                        "not published yet: the first apply after this time publishes it".into();
                } else if at.duration_since(due) <= grace {
                    item.action = Action::Publish;
                    item.reason = format!(
                        "due since {}: the next apply publishes it",
                        inputs_time(&zone, due)
                    )
                    .into();
                } else {
                    item.action = Action::Missed;
                    item.reason = format!(
                        "was due at {}, past the grace window of {}: it will not be published late",
                        inputs_time(&zone, due),
                        format_duration(grace)
                    )
                    .into();
                    item.details().hint =
                        Some("set a new `publish_at` to publish it, or remove the post".into());
                }
                if matches!(item.action, Action::Publish | Action::Schedule) {
                    // Without a base there is nothing to compare with: no change is claimed.
                    item.change = inputs.base.map(|b| match b.version_of(d) {
                        Some(BaseVersion::Same) => Change::Unchanged,
                        Some(BaseVersion::Other(texts)) => {
                            item.details().previous = Some(texts.to_vec());
                            Change::Edited
                        }
                        None => Change::New,
                    });
                }
            }
        }
        Some(item)
    };
    // Collected at their known count (a filtered collect would regrow 40,000 items), then
    // the skipped ones dropped in place: no second vector of 400,000 items at 100,000 posts.
    let built: Vec<Option<Item>> = {
        use rayon::prelude::*;
        report.deliveries.par_iter().map(item_of).collect()
    };
    // `filter_map` collects in place where `flatten` copies into a new vector.
    #[allow(clippy::filter_map_identity)]
    let mut items: Vec<Item> = built.into_iter().filter_map(|item| item).collect();
    let moved_from = moved_from.into_inner().unwrap_or_else(|e| e.into_inner());

    for (key, record) in &inputs.state.records {
        if desired(key) || moved_from.contains(key) {
            continue;
        }
        let (action, reason, url) = match record.outcome() {
            Some(Outcome::Published { url, .. }) => (
                Action::Kept,
                "its post was removed from the repository; it stays on the platform",
                url,
            ),
            Some(Outcome::InFlight { .. } | Outcome::Unknown { .. }) => (
                Action::Resolve,
                "its post was removed, but an earlier publish has no known outcome",
                None,
            ),
            _ => continue,
        };
        items.push(Item {
            key: key.clone(),
            campaign: None,
            platform: None,
            file: None,
            publish_at: None,
            action,
            change: None,
            reason: reason.into(),
            parts: Parts::ready(Vec::new()),
            details: Some(Box::new(Details {
                url,
                hint: (action == Action::Kept)
                    .then(|| "to take it down, restore the post with `delete: true`".to_string()),
                ..Details::default()
            })),
        });
    }

    let items = in_display_order(items);

    let valid_until = items
        .iter()
        .filter_map(|i| match (i.action, &i.publish_at) {
            (Action::Schedule, Some(t)) => Some(t.timestamp()),
            (Action::Publish, Some(t)) => t.timestamp().checked_add(grace).ok(),
            _ => None,
        })
        .min();

    Plan {
        brand: settings.map(|s| s.brand.clone()).unwrap_or_default(),
        zone_name: settings
            .map(|s| s.zone_name.clone())
            .unwrap_or_else(|| "UTC".into()),
        zone,
        at,
        show_at: inputs.show_at,
        content: inputs.content.clone(),
        state_revision: inputs.state.revision.clone(),
        base: inputs.base.map(|b| b.revision.clone()),
        items,
        warnings: report.warnings(),
        valid_until,
    }
}

/// By action, time and delivery: each delivery once, a total order, so an unstable sort (on
/// both cores) gives the same order every run.
fn in_display_order(mut items: Vec<Item>) -> Vec<Item> {
    use rayon::prelude::*;
    items.par_sort_unstable_by(display_order);
    items
}

/// The order of a plan's items: by action, time and delivery.
fn display_order(a: &Item, b: &Item) -> std::cmp::Ordering {
    let key = |i: &Item| {
        (
            i.action,
            i.publish_at.as_ref().map(ZonedDateTime::timestamp),
        )
    };
    key(a).cmp(&key(b)).then_with(|| a.key.cmp(&b.key))
}

fn inputs_time(zone: &TimeZone, t: Timestamp) -> String {
    minute(&t.to_zoned_datetime(zone.clone()))
}

fn minute(t: &ZonedDateTime) -> String {
    let mut out = String::with_capacity(23);
    write_minute(&mut out, t);
    out
}

/// `2026-12-01 10:00 +01:00`, as `strftime("%Y-%m-%d %H:%M %:z")` writes it, appended digit by
/// digit: a plan on `main` writes one per scheduled delivery (40,000 at 10,000 posts).
fn write_minute(out: &mut String, t: &ZonedDateTime) {
    let offset = t.offset().seconds();
    if !(0..=9999).contains(&t.year()) || offset % 60 != 0 {
        let _ = write!(out, "{}", t.strftime("%Y-%m-%d %H:%M %:z"));
        return;
    }
    let digits = |out: &mut String, value: i32, width: u32| {
        for place in (0..width).rev() {
            let digit = value / 10i32.pow(place) % 10;
            out.push(char::from(b'0' + digit as u8));
        }
    };
    digits(out, t.year().into(), 4);
    out.push('-');
    digits(out, t.month().into(), 2);
    out.push('-');
    digits(out, t.day().into(), 2);
    out.push(' ');
    digits(out, t.hour().into(), 2);
    out.push(':');
    digits(out, t.minute().into(), 2);
    out.push(' ');
    out.push(if offset < 0 { '-' } else { '+' });
    digits(out, offset.abs() / 3600, 2);
    out.push(':');
    digits(out, offset.abs() / 60 % 60, 2);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::{PartText, RenderedPart};
    use crate::workspace::Media;
    use sha2::{Digest, Sha256};

    fn part(text: &str, media: Vec<Media>) -> RenderedPart {
        let body = PartText {
            text: text.into(),
            ..PartText::default()
        };
        RenderedPart::from_parts(media, String::new(), crate::cache::Deferred::ready(body))
    }

    #[test]
    fn times_read_as_strftime_writes_them() {
        for zone in [
            "Europe/Berlin",
            "America/St_Johns",
            "Asia/Kathmandu",
            "UTC",
            "Africa/Monrovia",
        ] {
            let zone = TimeZone::get(zone).expect("zone");
            for at in [
                "2026-12-01T09:05:00Z",
                "1960-06-01T00:00:00Z",
                "1900-01-01T12:00:00Z",
                "0001-01-01T12:00:00Z",
            ] {
                let t = at
                    .parse::<Timestamp>()
                    .expect("ts")
                    .to_zoned_datetime(zone.clone());
                assert_eq!(
                    minute(&t),
                    t.strftime("%Y-%m-%d %H:%M %:z").to_string(),
                    "{t}"
                );
            }
        }
    }

    /// The content hash is recorded in every state: the bytes hashed must stay exactly those of
    /// the first format (a JSON value built field by field), or every published post would show
    /// as drift.
    #[test]
    fn the_content_hash_never_changes() {
        let d = Delivery::new(
            0,
            "launch".into(),
            "x".into(),
            smm_text::Platform::X,
            vec![
                part(
                    "Winter \"blend\" ☕ https://example.org/?a=1&b=2",
                    vec![Media {
                        file: "media/cup.png".into(),
                        alt: Some("A cup".into()),
                    }],
                ),
                part("reply", Vec::new()),
            ],
            Some("https://example.org/".into()),
        );
        let first_format = serde_json::json!({
            "platform": d.platform.as_str(),
            "parts": d.parts.iter().map(|p| serde_json::json!({ "text": p.text, "media": p.media })).collect::<Vec<_>>(),
            "link": d.link,
        });
        let digest = Sha256::digest(first_format.to_string().as_bytes());
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(d.content_hash(), format!("sha256:{hex}"));
        let no_link = Delivery {
            link: None,
            hash: Default::default(),
            ..d.clone()
        };
        assert_ne!(no_link.content_hash(), d.content_hash());
    }
}
