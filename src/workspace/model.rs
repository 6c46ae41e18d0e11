//! The typed workspace: what the YAML files mean once they passed their schemas.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use jiff::tz::TimeZone;
use jiff::{SignedDuration, ZonedDateTime};
use serde::Deserialize;
use smm_text::Platform;

use crate::source::{FileId, Sources};
use crate::yaml::Document;

/// `smm.yaml`.
#[derive(Debug)]
pub struct Settings {
    pub file: FileId,
    pub doc: Document,
    pub brand: String,
    pub zone_name: String,
    pub zone: TimeZone,
    pub channels: BTreeMap<String, Channel>,
    pub default_channels: Vec<String>,
    /// Whether `defaults.channels` named unknown channels (reported, then left out), so checks
    /// that depend on the defaults do not report what only follows from that mistake.
    pub dropped_default_channels: bool,
    pub utm: Utm,
    pub grace: SignedDuration,
    pub state_branch: String,
    pub publish_branch: String,
    pub policy: Policy,
}

/// One account on one platform.
#[derive(Clone, Debug, Deserialize)]
pub struct Channel {
    #[serde(skip)]
    pub name: String,
    #[serde(deserialize_with = "platform")]
    pub platform: Platform,
    pub account: String,
    pub limit: Option<usize>,
    pub base_url: Option<String>,
    /// Credential role -> environment variable NAME (never the secret).
    #[serde(default)]
    pub credentials: BTreeMap<String, String>,
}

fn platform<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Platform, D::Error> {
    let s = String::deserialize(d)?;
    Platform::parse(&s).ok_or_else(|| serde::de::Error::custom(format!("unknown platform `{s}`")))
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
pub struct Utm {
    pub source: Option<String>,
    pub medium: Option<String>,
    pub campaign: Option<String>,
    pub content: Option<String>,
}

/// `campaigns/<slug>/campaign.yaml`.
#[derive(Debug)]
pub struct Campaign {
    pub slug: String,
    pub file: FileId,
    pub doc: Document,
    pub spec: CampaignSpec,
}

#[derive(Clone, Debug, Deserialize)]
pub struct CampaignSpec {
    pub name: String,
    pub starts: Option<String>,
    pub ends: Option<String>,
    pub owner: Option<String>,
    pub goal: Option<String>,
    #[serde(default)]
    pub kpis: Vec<Kpi>,
    #[serde(default)]
    pub utm: Utm,
    #[serde(default)]
    pub labels: Vec<String>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Kpi {
    pub metric: String,
    pub target: f64,
}

/// When a post goes out.
#[derive(Clone, Debug, PartialEq)]
pub enum When {
    Draft,
    At(ZonedDateTime),
}

/// One post file.
#[derive(Debug)]
pub struct Post {
    pub file: FileId,
    /// The parsed file with its spans: kept from loading, or parsed again on first use for a
    /// post that came from the cache (only diagnostics need it). Use [`Post::doc`]. Boxed: a
    /// document is half a post's size, and most cached posts never parse theirs.
    pub(crate) doc: OnceLock<Box<Document>>,
    pub id: String,
    /// Whether `id:` was written in the file (identity survives a move) or derived from the path.
    pub explicit_id: bool,
    pub campaign: Option<String>,
    pub when: When,
    /// `delete: true`: kept beside the spec because plan asks it of every post, and a cached
    /// post's spec is decoded only when used.
    pub delete: bool,
    /// What the file says; for a post from the cache, decoded when first used (validating a
    /// cached post that passed its own checks needs only the fields above).
    pub spec: crate::cache::Deferred<PostSpec>,
}

impl Post {
    /// The post file parsed, with the spans of its nodes.
    pub fn doc(&self, sources: &Sources) -> &Document {
        self.doc.get_or_init(|| {
            // The same bytes parsed when the post was cached, so this cannot fail; an empty
            // document only loses the position of a diagnostic.
            Box::new(crate::yaml::parse(sources.get(self.file).text()).unwrap_or_default())
        })
    }
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct PostSpec {
    pub id: Option<String>,
    pub publish_at: Option<String>,
    #[serde(default)]
    pub draft: bool,
    /// Delete the published deliveries; removing the file never does.
    #[serde(default)]
    pub delete: bool,
    pub channels: Option<Vec<String>>,
    #[serde(default)]
    pub labels: Vec<String>,
    pub text: String,
    #[serde(default)]
    pub thread: Vec<Part>,
    #[serde(default)]
    pub media: Vec<Media>,
    pub link: Option<String>,
    #[serde(default)]
    pub variants: BTreeMap<String, Variant>,
}

/// A thread part: a text, or a text with media.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum Part {
    Text(String),
    Full {
        text: String,
        #[serde(default)]
        media: Vec<Media>,
    },
}

impl Part {
    pub fn text(&self) -> &str {
        match self {
            Part::Text(t) | Part::Full { text: t, .. } => t,
        }
    }

    pub fn media(&self) -> &[Media] {
        match self {
            Part::Text(_) => &[],
            Part::Full { media, .. } => media,
        }
    }
}

#[derive(Clone, Debug, Deserialize, PartialEq, Eq, serde::Serialize)]
pub struct Media {
    pub file: String,
    pub alt: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct Variant {
    pub text: Option<String>,
    pub thread: Option<Vec<Part>>,
    pub media: Option<Vec<Media>>,
    pub link: Option<String>,
    #[serde(default)]
    pub skip: bool,
}

/// How strictly a policy rule is enforced.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Error,
    Warning,
    Off,
}

/// A rule's severity as written; the rule supplies its default.
#[derive(Clone, Copy, Debug, Default, Deserialize)]
#[serde(default)]
pub struct Rule {
    pub severity: Option<Level>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct Policy {
    pub length: Rule,
    pub alt_text: Rule,
    pub utm: Rule,
    pub same_text: Rule,
    pub banned_words: BannedWords,
    pub banned_hashtags: BannedHashtags,
    pub max_hashtags: MaxHashtags,
    pub disclosure: Disclosure,
    pub quiet_hours: Option<QuietHours>,
    pub blackouts: Blackouts,
    pub spacing: Spacing,
    pub max_per_day: MaxPerDay,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct BannedWords {
    pub severity: Option<Level>,
    pub words: Vec<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct BannedHashtags {
    pub severity: Option<Level>,
    pub hashtags: Vec<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct MaxHashtags {
    pub severity: Option<Level>,
    pub max: Option<usize>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct Disclosure {
    pub severity: Option<Level>,
    pub labels: Option<Vec<String>>,
    pub words: Option<Vec<String>>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct QuietHours {
    pub severity: Option<Level>,
    pub from: String,
    pub to: String,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct Blackouts {
    pub severity: Option<Level>,
    pub windows: Vec<Blackout>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Blackout {
    pub from: String,
    pub to: String,
    pub reason: Option<String>,
    pub channels: Option<Vec<String>>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct Spacing {
    pub severity: Option<Level>,
    pub min: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct MaxPerDay {
    pub severity: Option<Level>,
    pub max: Option<usize>,
}

/// The whole workspace as loaded; parts that failed to load are absent and reported.
#[derive(Debug, Default)]
pub struct Workspace {
    pub root: std::path::PathBuf,
    pub settings: Option<Settings>,
    pub campaigns: BTreeMap<String, Campaign>,
    pub posts: Vec<Post>,
    /// Template name (path under templates/) -> source.
    pub templates: BTreeMap<String, String>,
}

impl Workspace {
    /// A post by its id or by its file's path (with or without `.yaml`), with its index in
    /// `posts`.
    pub fn find_post(
        &self,
        sources: &crate::source::Sources,
        wanted: &str,
    ) -> Option<(usize, &Post)> {
        let stem = std::path::Path::new(wanted.trim_end_matches(".yaml"));
        self.posts
            .iter()
            .enumerate()
            .find(|(_, p)| p.id == wanted || sources.path(p.file).with_extension("") == stem)
    }
}

/// Parses `30m`, `2h`, `1h30m`, `1d` (the schema's duration form).
pub fn parse_duration(s: &str) -> Option<SignedDuration> {
    let mut total: i64 = 0;
    let mut num = String::new();
    for c in s.chars() {
        if c.is_ascii_digit() {
            num.push(c);
            continue;
        }
        let n: i64 = num.parse().ok()?;
        num.clear();
        let unit = match c {
            'd' => 86_400,
            'h' => 3_600,
            'm' => 60,
            _ => return None,
        };
        total = total.checked_add(n.checked_mul(unit)?)?;
    }
    (num.is_empty() && !s.is_empty()).then(|| SignedDuration::from_secs(total))
}

/// `90m` -> `1h30m`, the form durations are written in.
pub fn format_duration(d: SignedDuration) -> String {
    let mins = d.as_secs() / 60;
    match (mins / 60, mins % 60) {
        (0, m) => format!("{m}m"),
        (h, 0) => format!("{h}h"),
        (h, m) => format!("{h}h{m}m"),
    }
}

#[cfg(test)]
mod tests {
    use super::{format_duration, parse_duration};
    use jiff::SignedDuration;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("1h30m"), Some(SignedDuration::from_mins(90)));
        assert_eq!(parse_duration("1d"), Some(SignedDuration::from_hours(24)));
        assert_eq!(parse_duration("90"), None);
        assert_eq!(parse_duration(""), None);
        assert_eq!(format_duration(SignedDuration::from_mins(90)), "1h30m");
        assert_eq!(format_duration(SignedDuration::from_mins(45)), "45m");
    }
}
