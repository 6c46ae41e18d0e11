//! Rendering posts into deliveries: one post on one channel, its final text parts and media.
//!
//! Post text is a minijinja template. Templates see only the workspace's `templates/` folder and
//! the variables documented in docs/format.md; a runaway loop runs out of fuel.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use minijinja::value::Kwargs;
use minijinja::{Environment, ErrorKind, State, UndefinedBehavior, Value};
use serde::Serialize;
use sha2::{Digest, Sha256};
use smm_text::Platform;

use crate::cache::{Cached, Deferred, Pending};
use crate::diagnostic::Diagnostic;
use crate::source::{SourceFile, Sources, Span};
use crate::workspace::{Channel, Media, Part, Post, Settings, When, Workspace};

/// Enough for any real post; stops `{% for i in range(10**9) %}`.
const FUEL: u64 = 100_000;

/// One post on one channel, rendered.
#[derive(Clone, Debug, Serialize)]
pub struct Delivery {
    /// Index of the post in `Workspace::posts`.
    #[serde(skip)]
    pub post: usize,
    /// Shared with the post's other deliveries, and with the plan's items.
    pub post_id: Arc<str>,
    /// Shared with the deliveries on the same channel, and with the plan's items.
    pub channel: Arc<str>,
    #[serde(serialize_with = "platform_name")]
    pub platform: Platform,
    /// Decoded on first use for a post from the cache (see [`Parts`]).
    pub parts: Parts,
    /// Whether a part carries media: the media check reads the parts of only these.
    #[serde(skip)]
    pub with_media: bool,
    pub link: Option<String>,
    /// Its content hash: the digest computed from the fields above at first use (deliveries do
    /// not change after rendering) or taken from the post cache; written out when asked for.
    #[serde(skip)]
    pub(crate) hash: ContentHash,
}

/// The SHA-256 digest of a delivery's content; its text form is written when asked for (only
/// what is compared with the state or recorded in it needs one).
#[derive(Clone, Debug, Default)]
pub(crate) struct ContentHash(OnceLock<[u8; 32]>);

impl ContentHash {
    /// A hash known from the post cache.
    pub(crate) fn known(digest: [u8; 32]) -> ContentHash {
        ContentHash(OnceLock::from(digest))
    }
}

/// A delivery's parts: a cached post's are decoded when first used, and copies share them.
pub type Parts = Deferred<Vec<RenderedPart>>;

impl Delivery {
    pub fn new(
        post: usize,
        post_id: Arc<str>,
        channel: Arc<str>,
        platform: Platform,
        parts: Vec<RenderedPart>,
        link: Option<String>,
    ) -> Delivery {
        Delivery {
            post,
            post_id,
            channel,
            platform,
            with_media: parts.iter().any(|p| !p.media.is_empty()),
            parts: Deferred::ready(parts),
            link,
            hash: ContentHash::default(),
        }
    }

    /// The identity of what would be sent: the same hash means the same post.
    pub fn content_hash(&self) -> String {
        let mut out = String::with_capacity(7 + 64);
        out.push_str("sha256:");
        for b in self.digest() {
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0xf)]));
        }
        out
    }

    /// Whether the content is the one its hash was computed from: always for a delivery just
    /// rendered; for one from the post cache (hash stored, parts decoded on use) a check, before
    /// publishing, that its decoded parts are what was kept.
    pub fn content_intact(&self) -> bool {
        content_digest(self) == *self.digest()
    }

    /// The SHA-256 of the content hash.
    pub(crate) fn digest(&self) -> &[u8; 32] {
        self.hash.0.get_or_init(|| content_digest(self))
    }
}

/// Where each post's deliveries are in `deliveries` (which come in post order, as rendered),
/// by post index, for a workspace of `posts` posts.
pub fn by_post(deliveries: &[Delivery], posts: usize) -> Vec<std::ops::Range<usize>> {
    let mut out = vec![0..0; posts];
    let mut at = 0;
    for run in deliveries.chunk_by(|a, b| a.post == b.post) {
        if let Some(slot) = out.get_mut(run[0].post) {
            *slot = at..at + run.len();
        }
        at += run.len();
    }
    out
}

/// The identity of what would be sent, computed (see [`Delivery::content_hash`]).
fn content_digest(d: &Delivery) -> [u8; 32] {
    // The hashed bytes are recorded in every state: they must never change. They are the JSON
    // `{"platform":…,"parts":[{"text":…,"media":[…]}],"link":…}`, fields in this order.
    #[derive(serde::Serialize)]
    struct Hashed<'a> {
        platform: &'a str,
        parts: Vec<HashedPart<'a>>,
        link: &'a Option<String>,
    }
    #[derive(serde::Serialize)]
    struct HashedPart<'a> {
        text: &'a str,
        media: &'a [crate::workspace::Media],
    }
    let hashed = Hashed {
        platform: d.platform.as_str(),
        parts: d
            .parts
            .iter()
            .map(|p| HashedPart {
                text: &p.text,
                media: &p.media,
            })
            .collect(),
        link: &d.link,
    };
    let bytes = serde_json::to_vec(&hashed).unwrap_or_default();
    Sha256::digest(&bytes).into()
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// One part of a delivery (the post, or a reply of its thread): its media, and its text with
/// what the platform counts in it. Reads as its [`PartText`] (`part.text`, `part.measures`).
#[derive(Clone, Debug)]
pub struct RenderedPart {
    pub media: Vec<Media>,
    /// JSON pointer of the media list (for diagnostics about media).
    pub media_pointer: String,
    /// Decoded on first use for a post from the cache: validating a cached post that passed its
    /// text checks reads only its media and schedule.
    body: Deferred<PartText>,
}

/// A part's text and what its platform counts in it.
#[derive(Clone, Debug, Default)]
pub struct PartText {
    pub text: String,
    /// JSON pointer of the template this text came from, in the post file.
    pub pointer: String,
    /// Every constraint the platform counts (first: the one users compare), computed once.
    pub measures: Vec<smm_text::Measure>,
    /// Links, mentions and hashtags as the platform detects them.
    pub entities: Vec<smm_text::Span>,
}

impl std::ops::Deref for RenderedPart {
    type Target = PartText;

    fn deref(&self) -> &PartText {
        self.body.get()
    }
}

impl Serialize for RenderedPart {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct as _;
        let mut st = s.serialize_struct("RenderedPart", 2)?;
        st.serialize_field("text", &self.body.get().text)?;
        st.serialize_field("media", &self.media)?;
        st.end()
    }
}

impl RenderedPart {
    fn new(
        text: String,
        media: Vec<Media>,
        pointer: String,
        media_pointer: String,
        platform: Platform,
        limit: Option<usize>,
    ) -> RenderedPart {
        let opts = smm_text::CountOptions {
            limit,
            caption: !media.is_empty(),
        };
        let (measures, entities) = smm_text::analyze(platform, &text, opts);
        let body = PartText {
            text,
            pointer,
            measures,
            entities,
        };
        RenderedPart::from_parts(media, media_pointer, Deferred::ready(body))
    }

    pub(crate) fn from_parts(
        media: Vec<Media>,
        media_pointer: String,
        body: Deferred<PartText>,
    ) -> RenderedPart {
        RenderedPart {
            media,
            media_pointer,
            body,
        }
    }

    /// The measure users compare ("312/280"); absent only for a platform without a limit.
    pub fn primary(&self) -> Option<&smm_text::Measure> {
        self.measures.first()
    }

    /// The length of the primary measure (0 without one).
    pub fn length(&self) -> usize {
        self.primary().map_or(0, |m| m.length)
    }

    /// The limit of the primary measure (0 without one).
    pub fn limit(&self) -> usize {
        self.primary().map_or(0, |m| m.limit)
    }

    /// What the primary measure counts ("characters" without one).
    pub fn unit(&self) -> &'static str {
        self.primary().map_or("characters", |m| m.unit)
    }
}

fn platform_name<S: serde::Serializer>(p: &Platform, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(p.as_str())
}

/// The `post` template variable.
fn post_var(post: &Post) -> Value {
    let publish_at = match &post.when {
        When::At(z) => Some(z.to_string()),
        When::Draft => None,
    };
    minijinja::context! { id => &post.id, labels => &post.spec.labels, publish_at => publish_at }
}

/// Templates compiled for one post, by source text.
type Compiled<'r, 'w> =
    std::collections::HashMap<&'w str, Result<minijinja::Template<'r, 'w>, minijinja::Error>>;

/// The template environment of a workspace.
pub struct Renderer<'w> {
    env: Environment<'w>,
    ws: &'w Workspace,
    /// Templates in `templates/` that did not compile (reported at the template file).
    broken: Vec<String>,
    /// The `channel` and `campaign` template variables, built once rather than per delivery.
    channel_vars: BTreeMap<&'w str, Value>,
    /// Each channel's name, shared by its deliveries.
    channel_names: BTreeMap<&'w str, Arc<str>>,
    campaign_vars: BTreeMap<&'w str, Value>,
}

impl<'w> Renderer<'w> {
    /// Builds the environment; syntax errors in `templates/` are reported at the template file.
    pub fn new(
        ws: &'w Workspace,
        sources: &mut Sources,
        diags: &mut Vec<Diagnostic>,
    ) -> Renderer<'w> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_fuel(Some(FUEL));
        env.add_filter("utm", utm);
        env.add_filter("hashtag", |s: String| hashtag(&s));
        env.add_filter("hashtags", |v: Vec<String>| {
            v.iter().map(|s| hashtag(s)).collect::<Vec<_>>().join(" ")
        });
        let mut broken = Vec::new();
        for (name, source) in &ws.templates {
            if let Err(e) = env.add_template(name, source) {
                broken.push(name.clone());
                let file = sources.add(crate::source::SourceFile::new(
                    format!("templates/{name}").into(),
                    source.clone(),
                ));
                let src = sources.get(file);
                // The template is the whole file, so minijinja's range is the span.
                let span = match (e.range(), e.line()) {
                    (Some(r), _) if r.start < r.end && r.end <= source.len() => {
                        Span::new(r.start, r.end)
                    }
                    (_, Some(l)) => src.line_span(l),
                    _ => Span::new(0, 0),
                };
                diags.push(
                    Diagnostic::error(
                        "E0401",
                        format!(
                            "template syntax error: {}",
                            e.detail().unwrap_or("invalid template")
                        ),
                    )
                    .at(file, span)
                    .help("see https://docs.rs/minijinja for the template syntax"),
                );
            }
        }
        let channel_vars = ws
            .settings
            .iter()
            .flat_map(|s| s.channels.values())
            .map(|c| {
                let var = minijinja::context! {
                    name => &c.name, platform => c.platform.as_str(), account => &c.account,
                };
                (c.name.as_str(), var)
            })
            .collect();
        let channel_names = ws
            .settings
            .iter()
            .flat_map(|s| s.channels.values())
            .map(|c| (c.name.as_str(), Arc::from(c.name.as_str())))
            .collect();
        let workspace_utm_campaign = ws.settings.as_ref().and_then(|s| s.utm.campaign.clone());
        let campaign_vars = ws
            .campaigns
            .values()
            .map(|c| {
                // The utm campaign of a post's links depends on its campaign alone.
                let utm_campaign = pick_utm(
                    c.spec.utm.campaign.clone(),
                    &workspace_utm_campaign,
                    &c.slug,
                );
                // Fields in name order: "did you mean" help lists them as they are stored.
                let var = minijinja::context! {
                    goal => &c.spec.goal, labels => &c.spec.labels, name => &c.spec.name,
                    owner => &c.spec.owner, slug => &c.slug,
                    utm => minijinja::context! { campaign => utm_campaign },
                };
                (c.slug.as_str(), var)
            })
            .collect();
        Renderer {
            env,
            ws,
            broken,
            channel_vars,
            channel_names,
            campaign_vars,
        }
    }

    /// Renders every delivery of every post; errors are reported at the post's text. `cached`
    /// (one per post, from loading) gives posts already rendered. Says for each post what the
    /// cache is to do with it once checked.
    pub fn deliveries(
        &self,
        sources: &Sources,
        diags: &mut Vec<Diagnostic>,
        cached: Vec<Cached>,
    ) -> (Vec<Delivery>, Vec<Pending>) {
        let Some(settings) = &self.ws.settings else {
            return Default::default();
        };
        use rayon::prelude::*;
        // Posts render independently: both cores share the work, results keep post order.
        let per_post: Vec<(PostDeliveries, Vec<Diagnostic>, Pending)> = self
            .ws
            .posts
            .par_iter()
            .zip(cached)
            .enumerate()
            .map(|(index, (post, cached))| {
                let key = match cached {
                    Cached::Hit {
                        deliveries,
                        checked,
                    } => {
                        let pending = if checked {
                            Pending::Checked
                        } else {
                            Pending::Nothing
                        };
                        return (PostDeliveries::Cached(deliveries), Vec::new(), pending);
                    }
                    Cached::Miss(key) => Some(key),
                    Cached::No => None,
                };
                let mut out = Vec::new();
                let mut post_diags = Vec::new();
                // Channels of a post mostly share its text: compile each template source once.
                let mut compiled = Compiled::new();
                let post_var = post_var(post);
                // Shared by the post's deliveries.
                let post_id: Arc<str> = post.id.as_str().into();
                for channel_name in channels_of(post, settings) {
                    let Some(channel) = settings.channels.get(channel_name) else {
                        continue;
                    };
                    if let Some(d) = self.delivery(
                        (index, &post_id),
                        post,
                        &post_var,
                        channel,
                        settings,
                        sources,
                        &mut compiled,
                        &mut post_diags,
                    ) {
                        out.push(d);
                    }
                }
                let pending = match key {
                    Some(key) if post_diags.is_empty() => Pending::Keep(key),
                    _ => Pending::Nothing,
                };
                (PostDeliveries::Rendered(out), post_diags, pending)
            })
            .collect();
        let mut out = Vec::with_capacity(per_post.iter().map(|(d, ..)| d.len()).sum());
        let mut pending = Vec::with_capacity(per_post.len());
        let mut names = crate::cache::Names::default();
        for (index, (d, post_diags, mut p)) in per_post.into_iter().enumerate() {
            match d {
                PostDeliveries::Rendered(d) => out.extend(d),
                PostDeliveries::Cached(d) => {
                    if !d.decode_into(index, &mut out, &mut names) {
                        let file = sources.path(self.ws.posts[index].file);
                        diags.push(
                            Diagnostic::error(
                                "E0106",
                                format!(
                                    "the post cache gave deliveries of {} that smm cannot read",
                                    file.display()
                                ),
                            )
                            .help("run again: the damaged cache was removed"),
                        );
                        p = Pending::Nothing;
                    }
                }
            }
            diags.extend(post_diags);
            pending.push(p);
        }
        (out, pending)
    }

    #[allow(clippy::too_many_arguments)]
    fn delivery<'r>(
        &'r self,
        (index, post_id): (usize, &Arc<str>),
        post: &'w Post,
        post_var: &Value,
        channel: &Channel,
        settings: &Settings,
        sources: &Sources,
        compiled: &mut Compiled<'r, 'w>,
        diags: &mut Vec<Diagnostic>,
    ) -> Option<Delivery> {
        let platform_key = channel.platform.as_str();
        let channel_variant = post.spec.variants.get(&channel.name);
        let platform_variant = post.spec.variants.get(platform_key);
        // A channel variant wins over a platform variant, field by field.
        let pick = |f: &dyn Fn(&crate::workspace::Variant) -> bool| -> Option<String> {
            if channel_variant.is_some_and(f) {
                Some(channel.name.clone())
            } else if platform_variant.is_some_and(f) {
                Some(platform_key.to_string())
            } else {
                None
            }
        };
        if channel_variant
            .map(|v| v.skip)
            .or(platform_variant.map(|v| v.skip))
            .unwrap_or(false)
        {
            return None;
        }
        let variant_ptr = |key: &str, field: &str| {
            format!("/variants/{}/{field}", crate::yaml::pointer_segment(key))
        };
        let variants = [channel_variant, platform_variant];

        let (text, text_ptr): (&'w str, String) = match pick(&|v| v.text.is_some()) {
            Some(k) => (
                variants
                    .iter()
                    .flatten()
                    .find_map(|v| v.text.as_deref())
                    .unwrap_or_default(),
                variant_ptr(&k, "text"),
            ),
            None => (post.spec.text.as_str(), "/text".to_string()),
        };
        let (media, media_ptr) = match pick(&|v| v.media.is_some()) {
            Some(k) => (
                variants
                    .iter()
                    .flatten()
                    .find_map(|v| v.media.clone())
                    .unwrap_or_default(),
                variant_ptr(&k, "media"),
            ),
            None => (post.spec.media.clone(), "/media".to_string()),
        };
        let (thread, thread_ptr): (&'w [Part], String) = match pick(&|v| v.thread.is_some()) {
            Some(k) => (
                variants
                    .iter()
                    .flatten()
                    .find_map(|v| v.thread.as_deref())
                    .unwrap_or_default(),
                variant_ptr(&k, "thread"),
            ),
            None => (post.spec.thread.as_slice(), "/thread".to_string()),
        };
        let link = variants
            .iter()
            .flatten()
            .find_map(|v| v.link.clone())
            .or_else(|| post.spec.link.clone());

        let ctx = self.context(post, post_var, channel, settings);
        let mut parts = Vec::with_capacity(1 + thread.len());
        let mut failed = false;
        let first = self.render_text(text, &ctx, post, &text_ptr, sources, compiled, diags);
        match first {
            Some(t) => parts.push(RenderedPart::new(
                t,
                media,
                text_ptr,
                media_ptr,
                channel.platform,
                channel.limit,
            )),
            None => failed = true,
        }
        for (i, part) in thread.iter().enumerate() {
            let ptr = match part {
                Part::Text(_) => format!("{thread_ptr}/{i}"),
                Part::Full { .. } => format!("{thread_ptr}/{i}/text"),
            };
            match self.render_text(part.text(), &ctx, post, &ptr, sources, compiled, diags) {
                Some(t) => parts.push(RenderedPart::new(
                    t,
                    part.media().to_vec(),
                    ptr,
                    format!("{thread_ptr}/{i}/media"),
                    channel.platform,
                    channel.limit,
                )),
                None => failed = true,
            }
        }
        if failed {
            return None;
        }
        let channel_name = match self.channel_names.get(channel.name.as_str()) {
            Some(name) => Arc::clone(name),
            None => channel.name.as_str().into(),
        };
        Some(Delivery::new(
            index,
            Arc::clone(post_id),
            channel_name,
            channel.platform,
            parts,
            link,
        ))
    }

    fn context(
        &self,
        post: &Post,
        post_var: &Value,
        channel: &Channel,
        settings: &Settings,
    ) -> Value {
        let campaign = post
            .campaign
            .as_ref()
            .and_then(|slug| self.ws.campaigns.get(slug));
        let utm_defaults = ResolvedUtm {
            source: pick_utm(
                campaign.and_then(|c| c.spec.utm.source.clone()),
                &settings.utm.source,
                channel.platform.as_str(),
            ),
            medium: pick_utm(
                campaign.and_then(|c| c.spec.utm.medium.clone()),
                &settings.utm.medium,
                "social",
            ),
            campaign: pick_utm(
                campaign.and_then(|c| c.spec.utm.campaign.clone()),
                &settings.utm.campaign,
                post.campaign.as_deref().unwrap_or("always-on"),
            ),
            content: pick_utm(
                campaign.and_then(|c| c.spec.utm.content.clone()),
                &settings.utm.content,
                &post.id,
            ),
        };
        let mut ctx = BTreeMap::new();
        ctx.insert("brand", Value::from(settings.brand.clone()));
        if let Some(var) = self.channel_vars.get(channel.name.as_str()) {
            ctx.insert("channel", var.clone());
        }
        ctx.insert("post", post_var.clone());
        if let Some(var) = campaign.and_then(|c| self.campaign_vars.get(c.slug.as_str())) {
            ctx.insert("campaign", var.clone());
        }
        ctx.insert(UTM_VAR, Value::from_object(utm_defaults));
        Value::from(ctx)
    }

    #[allow(clippy::too_many_arguments)]
    fn render_text<'r>(
        &'r self,
        source: &'w str,
        ctx: &Value,
        post: &Post,
        pointer: &str,
        sources: &Sources,
        compiled: &mut Compiled<'r, 'w>,
        diags: &mut Vec<Diagnostic>,
    ) -> Option<String> {
        // Most thread parts and many posts are plain text: nothing for minijinja to do.
        if !source.contains('{') {
            return Some(source.trim_end().to_string());
        }
        let template = compiled
            .entry(source)
            .or_insert_with(|| self.env.template_from_str(source));
        let rendered = match template {
            Ok(t) => t.render(ctx.clone()),
            // Errors are not Clone: compile again for this report (rare: a broken template).
            Err(_) => self
                .env
                .template_from_str(source)
                .and_then(|t| t.render(ctx.clone())),
        };
        match rendered {
            Ok(text) => Some(text.trim_end().to_string()),
            Err(e) => {
                // Including a template that did not compile fails as "non-existing template"; it
                // is reported once at the template file, not again at every post including it.
                let cause = innermost(&e);
                let broken_include = cause.kind() == ErrorKind::TemplateNotFound
                    && cause
                        .detail()
                        .is_some_and(|d| self.broken.iter().any(|n| d.contains(&format!("'{n}'"))));
                if !broken_include {
                    diags.push(self.template_error(&e, source, ctx, post, pointer, sources));
                }
                None
            }
        }
    }

    /// Points a template error at the expression of the post file that caused it.
    fn template_error(
        &self,
        e: &minijinja::Error,
        template: &str,
        ctx: &Value,
        post: &Post,
        pointer: &str,
        sources: &Sources,
    ) -> Diagnostic {
        // Explain the cause; `e` itself points into the post (at the include, if that is where
        // the cause is).
        let cause = innermost(e);
        let detail = cause
            .detail()
            .map_or_else(|| cause.kind().to_string(), str::to_string);
        // The text the utm filter refused, as in `got `acme.tea/spring``.
        let not_a_link = (cause.kind() == ErrorKind::InvalidOperation
            && detail.starts_with(UTM_NOT_A_LINK))
        .then(|| detail.rsplit('`').nth(1).unwrap_or_default());
        let span = match not_a_link {
            Some(text) => crate::check::find_in_source(post, sources, pointer, text),
            None => {
                let value = post.doc(sources).value_span(pointer);
                error_span(e, template, sources.get(post.file), value).unwrap_or(value)
            }
        };
        let (code, message, help) = match cause.kind() {
            ErrorKind::OutOfFuel => (
                "E0403",
                "template runs too long (loop limit reached)".to_string(),
                "shorten the loop; templates must finish quickly".to_string(),
            ),
            ErrorKind::SyntaxError => (
                "E0401",
                format!("template syntax error: {detail}"),
                "check `{{ }}` and `{% %}` pairs".to_string(),
            ),
            ErrorKind::TemplateNotFound => {
                let names: Vec<&str> = self.ws.templates.keys().map(String::as_str).collect();
                let help = if names.is_empty() {
                    "templates are looked up in the workspace's templates/ folder, which has none"
                        .to_string()
                } else {
                    format!("templates are looked up in the workspace's templates/ folder, which has: {}", names.join(", "))
                };
                ("E0402", format!("template error: {detail}"), help)
            }
            ErrorKind::UndefinedError => (
                "E0402",
                format!("template error: {detail}"),
                undefined_help(&detail, ctx, post, sources),
            ),
            _ if not_a_link.is_some() => (
                "E0402",
                format!("template error: {detail}"),
                format!(
                    "write the full link with https://, e.g. {{{{ \"https://{}\" | utm }}}}",
                    not_a_link.unwrap_or_default()
                ),
            ),
            _ => (
                "E0402",
                format!("template error: {detail}"),
                "see docs/format.md, section Templates".to_string(),
            ),
        };
        let message = match cause.name().filter(|&n| n != "<string>") {
            Some(name) => format!(
                "{message} (in templates/{name}{})",
                cause
                    .line()
                    .map(|l| format!(", line {l}"))
                    .unwrap_or_default()
            ),
            None => message,
        };
        Diagnostic::error(code, message)
            .at(post.file, span)
            .help(help)
    }
}

/// Where `{{ link | utm }}` finds the per-delivery defaults. Not documented: an implementation detail.
const UTM_VAR: &str = "__smm_utm";

/// The start of the utm filter's error for a text that is not a link (the help is chosen by it).
const UTM_NOT_A_LINK: &str = "utm expects a link starting with https://";

/// Kept in the context as an opaque object: the filter reads it back without any conversion.
#[derive(Debug)]
struct ResolvedUtm {
    source: String,
    medium: String,
    campaign: String,
    content: String,
}

impl minijinja::value::Object for ResolvedUtm {}

fn pick_utm(campaign: Option<String>, workspace: &Option<String>, builtin: &str) -> String {
    campaign
        .or_else(|| workspace.clone())
        .unwrap_or_else(|| builtin.to_string())
}

fn channels_of<'a>(post: &'a Post, settings: &'a Settings) -> &'a [String] {
    post.spec
        .channels
        .as_deref()
        .unwrap_or(&settings.default_channels)
}

/// The error that started it all: an error in an included template comes wrapped in one about
/// the include (`error in "sign.j2"`).
fn innermost(e: &minijinja::Error) -> &minijinja::Error {
    let mut e = e;
    while let Some(inner) =
        std::error::Error::source(e).and_then(|s| s.downcast_ref::<minijinja::Error>())
    {
        e = inner;
    }
    e
}

/// The failing expression in the post file, found from minijinja's line and byte range in the
/// template; `None` when the template line cannot be placed in the file.
fn error_span(
    e: &minijinja::Error,
    template: &str,
    file: &SourceFile,
    value: Span,
) -> Option<Span> {
    let line = e.line()?;
    let (value_line, _) = file.line_col(value.start);
    // The value's span starts at its first non-blank character, but the blank lines before it
    // (kept by `|` and `>`) are lines of the template too.
    let blank = template.len() - template.trim_start_matches('\n').len();
    let target = (value_line + line - 1).checked_sub(blank)?;
    let line = file.line_span(target);
    let line = Span::new(line.start.max(value.start), line.end.min(value.end));
    let text = file.text().get(line.start..line.end)?.trim_end();
    let indent = text.len() - text.trim_start().len();
    if indent == text.len() {
        return None;
    }
    // The expression itself when the file holds it as written (escapes in a quoted scalar can
    // hide it), from that line on: a `>` block folds lines, so it may be further down.
    let rest = file.text().get(line.start..value.end)?;
    let snippet = e
        .range()
        .and_then(|r| template.get(r))
        .filter(|s| !s.trim().is_empty() && !s.contains('\n'));
    Some(
        match snippet.and_then(|s| rest.find(s).map(|i| (i, s.len()))) {
            Some((i, len)) => Span::new(line.start + i, line.start + i + len),
            None => Span::new(line.start + indent, line.start + text.len()),
        },
    )
}

/// Help for `` `campaign.nmae` is undefined ``: the closest name that exists, and what the
/// variable holds.
fn undefined_help(detail: &str, ctx: &Value, post: &Post, sources: &Sources) -> String {
    const GENERAL: &str =
        "available variables: brand, campaign (posts in a campaign), post, channel";
    let Some(path) = detail.split('`').nth(1) else {
        return GENERAL.to_string();
    };
    let names: Vec<&str> = path.split('.').collect();
    let mut value = ctx.clone();
    for (i, name) in names.iter().enumerate() {
        let next = value.get_attr(name).unwrap_or_default();
        if !next.is_undefined() {
            value = next;
            continue;
        }
        if i == 0 && *name == "campaign" && post.campaign.is_none() {
            let folder = sources
                .path(post.file)
                .parent()
                .map_or_else(String::new, |p| format!(" (it is in {}/)", p.display()));
            return format!("this post is not in a campaign{folder}: only posts in campaigns/<slug>/ have `campaign`");
        }
        let parent = names[..i].join(".");
        let fields: Vec<String> = match value.kind() {
            minijinja::value::ValueKind::Map => value
                .try_iter()
                .map(|keys| {
                    keys.map(|k| k.to_string())
                        .filter(|k| k != UTM_VAR)
                        .collect()
                })
                .unwrap_or_default(),
            _ => return format!("`{parent}` has no fields"),
        };
        let holds = if parent.is_empty() {
            format!("available variables: {}", fields.join(", "))
        } else {
            format!("`{parent}` has: {}", fields.join(", "))
        };
        return match crate::suggest::closest(name, fields.iter().map(String::as_str)) {
            Some(s) if parent.is_empty() => format!("did you mean `{s}`? {holds}"),
            Some(s) => format!("did you mean `{parent}.{s}`? {holds}"),
            None => holds,
        };
    }
    GENERAL.to_string()
}

/// `{{ "https://x.example/a" | utm }}` adds utm_source/medium/campaign/content for this delivery.
fn utm(state: &State, url: String, kwargs: Kwargs) -> Result<String, minijinja::Error> {
    let utm = state.lookup(UTM_VAR);
    let defaults = utm
        .as_ref()
        .and_then(|v| v.downcast_object_ref::<ResolvedUtm>())
        .ok_or_else(|| {
            minijinja::Error::new(
                ErrorKind::InvalidOperation,
                "utm is only available in post text",
            )
        })?;
    let pick = |key: &str, default: String| -> Result<String, minijinja::Error> {
        Ok(kwargs.get::<Option<String>>(key)?.unwrap_or(default))
    };
    let params = [
        ("utm_source", pick("source", defaults.source.clone())?),
        ("utm_medium", pick("medium", defaults.medium.clone())?),
        ("utm_campaign", pick("campaign", defaults.campaign.clone())?),
        ("utm_content", pick("content", defaults.content.clone())?),
    ];
    kwargs.assert_all_used()?;
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        return Err(minijinja::Error::new(
            ErrorKind::InvalidOperation,
            format!("{UTM_NOT_A_LINK}, got `{url}`"),
        ));
    }
    Ok(add_query(&url, &params))
}

/// Appends query parameters the link does not already carry, keeping any `#fragment` last.
pub fn add_query(url: &str, params: &[(&str, String)]) -> String {
    let (base, fragment) = match url.split_once('#') {
        Some((b, f)) => (b, Some(f)),
        None => (url, None),
    };
    let existing: Vec<&str> = base
        .split_once('?')
        .map(|(_, q)| q.split('&').filter_map(|kv| kv.split('=').next()).collect())
        .unwrap_or_default();
    let mut out = base.to_string();
    for (key, value) in params {
        if existing.contains(key) || value.is_empty() {
            continue;
        }
        out.push(if out.contains('?') { '&' } else { '?' });
        out.push_str(key);
        out.push('=');
        out.push_str(&encode(value));
    }
    if let Some(f) = fragment {
        out.push('#');
        out.push_str(f);
    }
    out
}

fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `winter blend` -> `#WinterBlend` (CamelCase reads well in screen readers); `coffee` -> `#coffee`.
pub fn hashtag(s: &str) -> String {
    let s = s.trim().trim_start_matches('#');
    let words: Vec<&str> = s
        .split(|c: char| !c.is_alphanumeric() && c != '_')
        .filter(|w| !w.is_empty())
        .collect();
    if words.len() <= 1 {
        return format!("#{}", words.first().copied().unwrap_or_default());
    }
    let mut out = String::from("#");
    for w in words {
        let mut chars = w.chars();
        if let Some(first) = chars.next() {
            out.extend(first.to_uppercase());
            out.push_str(chars.as_str());
        }
    }
    out
}

/// A post's deliveries as rendering leaves them: rendered now, or still in the post cache.
enum PostDeliveries {
    Rendered(Vec<Delivery>),
    Cached(crate::cache::CachedDeliveries),
}

impl PostDeliveries {
    fn len(&self) -> usize {
        match self {
            PostDeliveries::Rendered(d) => d.len(),
            PostDeliveries::Cached(d) => d.count(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utm_links_keep_fragment_and_existing_params() {
        let p = [
            ("utm_source", "x".to_string()),
            ("utm_medium", "social media".to_string()),
        ];
        assert_eq!(
            add_query("https://a.example/p#top", &p),
            "https://a.example/p?utm_source=x&utm_medium=social%20media#top"
        );
        assert_eq!(
            add_query("https://a.example/p?utm_source=news", &p),
            "https://a.example/p?utm_source=news&utm_medium=social%20media"
        );
    }

    #[test]
    fn hashtags_are_camel_cased_when_several_words() {
        assert_eq!(hashtag("winter blend"), "#WinterBlend");
        assert_eq!(hashtag("coffee"), "#coffee");
        assert_eq!(hashtag("#already"), "#already");
    }

    #[test]
    fn template_errors_point_at_the_expression_in_the_file() {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        for (yaml, line) in [
            ("text: Hi {{ nope }}\n", 1),
            ("id: a\ntext: |\n  Hello\n  and {{ nope }}\n", 4),
            // Blank lines before a block's first text are template lines too.
            ("text: >-\n\n  Hello\n  {{ nope }}\n", 4),
        ] {
            let doc = crate::yaml::parse(yaml).expect("valid");
            let template = doc.value["text"].as_str().unwrap_or_default();
            let e = env.render_str(template, ()).expect_err(yaml);
            let file = SourceFile::new("p.yaml".into(), yaml.to_string());
            let span = error_span(&e, template, &file, doc.value_span("/text")).expect(yaml);
            assert_eq!(&yaml[span.start..span.end], "nope", "{yaml:?}");
            assert_eq!(file.line_col(span.start).0, line, "{yaml:?}");
        }
    }
}
