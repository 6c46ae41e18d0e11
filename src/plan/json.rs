//! The plan as a versioned JSON document (schemas/plan.schema.json); also the saved plan file.

use serde::Serialize;

use super::{Plan, Summary};

pub const PLAN_FORMAT_VERSION: &str = "1";

#[derive(Serialize)]
struct Document<'a> {
    format_version: &'static str,
    brand: &'a str,
    timezone: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    at: Option<String>,
    content: Content<'a>,
    state_revision: Option<&'a str>,
    base: Option<&'a str>,
    valid_until: Option<String>,
    has_changes: bool,
    summary: Summary,
    deliveries: Vec<Delivery<'a>>,
}

#[derive(Serialize)]
struct Content<'a> {
    commit: Option<&'a str>,
    branch: Option<&'a str>,
    dirty: bool,
}

#[derive(Serialize)]
struct Delivery<'a> {
    key: String,
    post: &'a str,
    channel: &'a str,
    platform: Option<&'a str>,
    file: Option<&'a str>,
    publish_at: Option<String>,
    action: &'static str,
    change: Option<&'static str>,
    needs_attention: bool,
    reason: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    hint: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<&'a str>,
    parts: Vec<Part<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    previous_texts: Option<&'a [String]>,
}

#[derive(Serialize)]
struct Part<'a> {
    text: &'a str,
    length: usize,
    limit: usize,
    unit: &'static str,
    media: &'a [crate::workspace::Media],
}

fn rfc3339(t: &jiff::ZonedDateTime) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%S%:z").to_string()
}

pub fn render_json(plan: &Plan) -> String {
    let doc = Document {
        format_version: PLAN_FORMAT_VERSION,
        brand: &plan.brand,
        timezone: &plan.zone_name,
        at: plan.show_at.then(|| plan.at.to_string()),
        content: Content {
            commit: plan.content.commit.as_deref(),
            branch: plan.content.branch.as_deref(),
            dirty: plan.content.dirty,
        },
        state_revision: plan.state_revision.as_deref(),
        base: plan.base.as_deref(),
        valid_until: plan
            .valid_until
            .map(|t| rfc3339(&t.to_zoned_datetime(plan.zone.clone()))),
        has_changes: plan.has_changes(),
        summary: plan.summary(),
        deliveries: plan
            .actions()
            .map(|i| Delivery {
                key: i.key.to_string(),
                post: &i.key.post,
                channel: &i.key.channel,
                platform: i.platform.map(|p| p.as_str()),
                file: i.file.as_deref(),
                publish_at: i.publish_at.as_ref().map(rfc3339),
                action: i.action.as_str(),
                change: i.change.map(|c| c.as_str()),
                needs_attention: i.action.needs_attention(),
                reason: &i.reason,
                hint: i.hint(),
                url: i.url(),
                parts: i
                    .parts
                    .iter()
                    .map(|p| Part {
                        text: &p.text,
                        length: p.length(),
                        limit: p.limit(),
                        unit: p.unit(),
                        media: &p.media,
                    })
                    .collect(),
                previous_texts: i.previous(),
            })
            .collect(),
    };
    let mut s = serde_json::to_string_pretty(&doc).unwrap_or_default();
    s.push('\n');
    s
}
