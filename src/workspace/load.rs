//! Reading a workspace folder: discover files, parse YAML, check schemas, build typed values.
//!
//! Every file is loaded independently and every problem is reported; a file that fails is left
//! out of the model, so later checks never see half-valid data.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::string::FromUtf8Error;

use jiff::civil::DateTime;
use jiff::tz::{AmbiguousOffset, TimeZone};
use jiff::{SignedDuration, Timestamp};
use serde::de::DeserializeOwned;

use super::model::*;
use crate::cache::{Cache, Cached, Inputs, Stamp};
use crate::diagnostic::{Diagnostic, Severity};
use crate::schema::{self, FileKind};
use crate::source::{ContentId, FileId, SourceFile, Sources, Span};
use crate::yaml::{self, Document, YamlErrorKind};

pub const SETTINGS_FILE: &str = "smm.yaml";

/// Finds the workspace root: `start` or the nearest parent holding smm.yaml.
pub fn find_root(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .find(|dir| dir.join(SETTINGS_FILE).is_file())
        .map(Path::to_path_buf)
}

/// Loads everything under `root`; problems go to `diags`, file texts to `sources`.
pub fn load(root: &Path, sources: &mut Sources, diags: &mut Vec<Diagnostic>) -> Workspace {
    load_with(root, sources, diags, &Cache::off()).0
}

/// [`load`], taking unchanged posts from `cache`; says for each post (in `Workspace::posts`
/// order) what the cache had.
pub fn load_with(
    root: &Path,
    sources: &mut Sources,
    diags: &mut Vec<Diagnostic>,
    cache: &Cache,
) -> (Workspace, Vec<Cached>) {
    let mut ws = Workspace {
        root: root.to_path_buf(),
        ..Workspace::default()
    };
    let mut loader = Loader {
        root,
        sources,
        diags,
    };

    if let Some((file, doc)) = loader.read_yaml(Path::new(SETTINGS_FILE), FileKind::Workspace) {
        ws.settings = loader.settings(file, doc);
    }
    let zone = ws.settings.as_ref().map(|s| s.zone.clone());

    let mut campaign_dirs = Vec::new();
    let mut post_files: Vec<(PathBuf, Option<String>)> = Vec::new();
    let dirs: Vec<(String, PathBuf)> = sorted_entries(&root.join("campaigns"))
        .into_iter()
        .filter(|(_, is_dir)| *is_dir)
        .filter_map(|(dir, _)| dir.into_string().ok())
        .map(|slug| {
            let rel = Path::new("campaigns").join(&slug);
            (slug, rel)
        })
        .collect();
    // Listing folders of hundreds of files each waits on the file system: both cores list.
    let listed: Vec<Vec<PathBuf>> = {
        use rayon::prelude::*;
        dirs.par_iter()
            .map(|(_, rel)| yaml_files(root, rel))
            .collect()
    };
    for ((slug, rel), files) in dirs.into_iter().zip(listed) {
        campaign_dirs.push(slug.clone());
        let manifest = rel.join("campaign.yaml");
        if root.join(&manifest).is_file() {
            if let Some((file, doc)) = loader.read_yaml(&manifest, FileKind::Campaign) {
                if let Some(spec) = typed::<CampaignSpec>(file, &doc, loader.diags) {
                    loader.check_campaign_dates(file, &doc, &spec);
                    ws.campaigns.insert(
                        slug.clone(),
                        Campaign {
                            slug: slug.clone(),
                            file,
                            doc,
                            spec,
                        },
                    );
                }
            }
        }
        for path in files {
            if path
                .file_name()
                .is_some_and(|n| n == "campaign.yaml" || n == "campaign.yml")
            {
                continue;
            }
            post_files.push((path, Some(slug.clone())));
        }
    }
    post_files.extend(
        yaml_files(root, Path::new("posts"))
            .into_iter()
            .map(|p| (p, None)),
    );
    // Templates first: they are part of every post's cache key.
    ws.templates = read_templates(root, loader.diags);
    let inputs = post_inputs(&ws, loader.sources, cache);
    let (posts, cached) = loader.posts(&post_files, zone.as_ref(), &inputs, cache);
    ws.posts = posts;
    // Posts in a campaign folder that has no campaign.yaml.
    for slug in campaign_dirs
        .iter()
        .filter(|s| !ws.campaigns.contains_key(*s))
    {
        if root
            .join("campaigns")
            .join(slug)
            .join("campaign.yaml")
            .is_file()
        {
            continue; // it exists but failed to load; already reported
        }
        if let Some(first) = ws
            .posts
            .iter()
            .find(|p| p.campaign.as_deref() == Some(slug))
        {
            loader.diags.push(
                Diagnostic::error("E0202", format!("campaign folder `campaigns/{slug}` has no campaign.yaml"))
                    .at(first.file, Span::new(0, 0))
                    .help(format!("create campaigns/{slug}/campaign.yaml with at least `name:`, or move the post to posts/")),
            );
        }
    }
    loader.warn_stray_yaml();
    (ws, cached)
}

/// Loads the post files `files` (root-relative, in path order, each a [`post_path_campaign`]
/// path) of the loaded workspace `ws` again, as [`load`] reads them but without the cache: for a
/// session that follows edits (`smm plan --watch`). Problems go to `diags`.
pub fn load_posts(
    ws: &Workspace,
    files: &[PathBuf],
    sources: &mut Sources,
    diags: &mut Vec<Diagnostic>,
) -> Vec<Post> {
    let files: Vec<(PathBuf, Option<String>)> = files
        .iter()
        .filter_map(|rel| Some((rel.clone(), post_path_campaign(rel)?)))
        .collect();
    let zone = ws.settings.as_ref().map(|s| s.zone.clone());
    let mut loader = Loader {
        root: &ws.root,
        sources,
        diags,
    };
    let off = Cache::off();
    let (posts, _) = loader.posts(&files, zone.as_ref(), &PostInputs::default(), &off);
    posts
}

/// Whether [`load`] reads `rel` (root-relative) as a post file: a YAML file in a folder of
/// campaigns/ (other than campaign.yaml) or in posts/, with no hidden name on the way. Then
/// `Some(campaign)`: the campaign folder's name, or `None` under posts/.
pub fn post_path_campaign(rel: &Path) -> Option<Option<String>> {
    use std::path::Component;
    let names: Vec<&str> = rel
        .components()
        .map(|c| match c {
            Component::Normal(name) => name.to_str().filter(|n| !n.starts_with('.')),
            _ => None,
        })
        .collect::<Option<_>>()?;
    let file = *names.last()?;
    let yaml = file.ends_with(".yaml") || file.ends_with(".yml");
    match names.as_slice() {
        ["campaigns", slug, _, ..] if yaml && file != "campaign.yaml" && file != "campaign.yml" => {
            Some(Some((*slug).to_string()))
        }
        ["posts", _, ..] if yaml => Some(None),
        _ => None,
    }
}

/// The cache inputs of posts besides the post itself: smm.yaml, templates/ and the campaign's
/// file. None without a cache or without valid settings.
#[derive(Default)]
struct PostInputs {
    /// For posts in posts/.
    shared: Option<Inputs>,
    /// For posts in a campaign with a valid campaign.yaml (the others are not cached).
    campaigns: BTreeMap<String, Inputs>,
}

impl PostInputs {
    fn of(&self, campaign: Option<&str>) -> Option<&Inputs> {
        match campaign {
            None => self.shared.as_ref(),
            Some(slug) => self.campaigns.get(slug),
        }
    }
}

fn post_inputs(ws: &Workspace, sources: &Sources, cache: &Cache) -> PostInputs {
    let Some(settings) = &ws.settings else {
        return PostInputs::default();
    };
    // Each file by its path in the workspace, so no two sets of files hash alike.
    let shared = cache.inputs(
        std::iter::once((SETTINGS_FILE.to_string(), sources.get(settings.file).text())).chain(
            ws.templates
                .iter()
                .map(|(n, t)| (format!("templates/{n}"), t.as_str())),
        ),
    );
    let Some(shared) = shared else {
        return PostInputs::default();
    };
    let campaigns = ws
        .campaigns
        .values()
        .map(|c| {
            let file = sources.get(c.file);
            let inputs = shared.with(&file.path.to_string_lossy(), file.text());
            (c.slug.clone(), inputs)
        })
        .collect();
    PostInputs {
        shared: Some(shared),
        campaigns,
    }
}

/// A post file as found: unread, its content known from its stamp, or read (with its stamp when
/// the cache keeps stamps).
enum Found {
    Known(PathBuf, Stamp, ContentId),
    Read(
        std::io::Result<Result<String, FromUtf8Error>>,
        Option<Stamp>,
    ),
}

/// A post file in the sources, with its stamp when the cache keeps stamps; `unread`: its stamp
/// vouched for its content, so it has not been read.
struct PostFile<'f> {
    file: FileId,
    rel: &'f Path,
    campaign: Option<&'f str>,
    stamp: Option<Stamp>,
    unread: bool,
}

struct Loader<'a> {
    root: &'a Path,
    sources: &'a mut Sources,
    diags: &'a mut Vec<Diagnostic>,
}

impl Loader<'_> {
    /// Reads, parses and schema-checks one file; `None` when it is unusable (already reported).
    fn read_yaml(&mut self, rel: &Path, kind: FileKind) -> Option<(FileId, Document)> {
        let file = self.read(rel)?;
        check_doc(self.sources, file, kind, self.diags).map(|doc| (file, doc))
    }

    /// Reads the post files in order, then checks them in parallel (each file independently);
    /// a post whose key is in the cache is taken from there. A file whose stamp the cache
    /// recorded is not read unless its post must be loaded again or a diagnostic quotes it.
    fn posts(
        &mut self,
        files: &[(PathBuf, Option<String>)],
        zone: Option<&TimeZone>,
        inputs: &PostInputs,
        cache: &Cache,
    ) -> (Vec<Post>, Vec<Cached>) {
        use rayon::prelude::*;
        let stamps = cache.stamps_for(self.root);
        // Reading thousands of small files waits on the file system: both cores read (and check
        // the UTF-8), or only look at the files' stamps.
        let found: Vec<Found> = files
            .par_iter()
            .map(|(rel, _)| {
                let path = self.root.join(rel);
                let stamp = if stamps {
                    std::fs::metadata(&path).ok().and_then(|m| Stamp::of(&m))
                } else {
                    None
                };
                match stamp.and_then(|s| Some((s, cache.known_content(rel, &s)?))) {
                    Some((stamp, content)) => Found::Known(path, stamp, content),
                    None => Found::Read(std::fs::read(&path).map(String::from_utf8), stamp),
                }
            })
            .collect();
        let read: Vec<PostFile> = files
            .iter()
            .zip(found)
            .filter_map(|((rel, campaign), found)| {
                let (file, stamp, unread) = match found {
                    Found::Known(path, stamp, content) => {
                        let source = SourceFile::unread(rel.clone(), path, content);
                        (Some(self.sources.add(source)), Some(stamp), true)
                    }
                    Found::Read(bytes, stamp) => (self.accept(rel, bytes), stamp, false),
                };
                Some(PostFile {
                    file: file?,
                    rel,
                    campaign: campaign.as_deref(),
                    stamp,
                    unread,
                })
            })
            .collect();
        let sources: &Sources = self.sources;
        let utc = TimeZone::UTC;
        let checked: Vec<(Option<Post>, Vec<Diagnostic>, Cached)> = read
            .par_iter()
            .map(|f| {
                let (file, rel, campaign) = (f.file, f.rel, f.campaign);
                let source = sources.get(file);
                let key = inputs
                    .of(campaign)
                    .map(|i| Cache::key(i, rel, source.content()));
                if let Some(key) = key {
                    if let Some((post, deliveries, checked)) =
                        cache.get(&key, file, campaign, zone.unwrap_or(&utc))
                    {
                        let hit = Cached::Hit {
                            deliveries,
                            checked,
                        };
                        return (Some(post), Vec::new(), hit);
                    }
                }
                let mut diags = Vec::new();
                let post = post(sources, file, rel, campaign, zone, &mut diags);
                // A file read now, after its stamp vouched for it, may have changed meanwhile:
                // keep it only under the key of the bytes it was rendered from.
                let as_keyed = !f.unread || ContentId::of(source.text()) == *source.content();
                let cached = match key {
                    Some(key) if diags.is_empty() && as_keyed => Cached::Miss(key),
                    _ => Cached::No,
                };
                (post, diags, cached)
            })
            .collect();
        if stamps {
            cache.saw(
                read.iter()
                    .filter_map(|f| {
                        Some((
                            f.rel.to_path_buf(),
                            f.stamp?,
                            *sources.get(f.file).content(),
                        ))
                    })
                    .collect(),
            );
        }
        let mut posts = Vec::with_capacity(checked.len());
        let mut cached = Vec::with_capacity(checked.len());
        for (p, diags, c) in checked {
            self.diags.extend(diags);
            if let Some(p) = p {
                posts.push(p);
                cached.push(c);
            }
        }
        (posts, cached)
    }

    /// Reads one file into the sources; `None` when it cannot be read or is not UTF-8 (reported).
    fn read(&mut self, rel: &Path) -> Option<FileId> {
        let read = std::fs::read(self.root.join(rel)).map(String::from_utf8);
        self.accept(rel, read)
    }

    /// Adds a file's text, as read, to the sources; `None` (reported) when it could not be
    /// read or is not UTF-8.
    fn accept(
        &mut self,
        rel: &Path,
        read: std::io::Result<Result<String, FromUtf8Error>>,
    ) -> Option<FileId> {
        let decoded = match read {
            Ok(d) => d,
            Err(e) => {
                // At the file (empty), so the error goes with it.
                let file = self
                    .sources
                    .add(SourceFile::new(rel.to_path_buf(), String::new()));
                self.diags.push(
                    Diagnostic::error("E0104", format!("cannot read {}: {e}", rel.display()))
                        .at(file, Span::new(0, 0)),
                );
                return None;
            }
        };
        let text = match decoded {
            Ok(t) => t,
            Err(e) => {
                let at = e.utf8_error().valid_up_to();
                let text = String::from_utf8_lossy(e.as_bytes()).into_owned();
                let file = self.sources.add(SourceFile::new(rel.to_path_buf(), text));
                self.diags.push(
                    Diagnostic::error("E0104", "this file is not valid UTF-8")
                        .at(file, Span::new(at, at + 1))
                        .help("save the file as UTF-8"),
                );
                return None;
            }
        };
        Some(self.sources.add(SourceFile::new(rel.to_path_buf(), text)))
    }

    fn settings(&mut self, file: FileId, doc: Document) -> Option<Settings> {
        #[derive(serde::Deserialize)]
        struct Raw {
            brand: String,
            timezone: String,
            channels: BTreeMap<String, Channel>,
            #[serde(default)]
            defaults: RawDefaults,
            grace: Option<String>,
            #[serde(default)]
            state: RawState,
            #[serde(default)]
            policy: Policy,
        }
        #[derive(serde::Deserialize, Default)]
        struct RawDefaults {
            channels: Option<Vec<String>>,
            #[serde(default)]
            utm: Utm,
        }
        #[derive(serde::Deserialize, Default)]
        struct RawState {
            branch: Option<String>,
            publish_branch: Option<String>,
        }
        let raw: Raw = typed(file, &doc, self.diags)?;
        let zone = match TimeZone::get(&raw.timezone) {
            Ok(z) => z,
            Err(_) => {
                let names: Vec<String> = jiff::tz::db()
                    .available()
                    .map(|n| n.as_str().to_string())
                    .collect();
                let d = Diagnostic::error("E0208", format!("unknown time zone `{}`", raw.timezone))
                    .at(file, doc.value_span("/timezone"))
                    .label("not an IANA time zone name")
                    .help(
                        match crate::suggest::closest(
                            &raw.timezone,
                            names.iter().map(String::as_str),
                        ) {
                            Some(s) => format!("did you mean `{s}`?"),
                            None => {
                                "use a name like Europe/Berlin, America/New_York or UTC".to_string()
                            }
                        },
                    );
                self.diags.push(d);
                return None;
            }
        };
        let mut channels = raw.channels;
        for (name, channel) in &mut channels {
            channel.name = name.clone();
            self.check_credentials(file, &doc, channel);
        }
        let grace = raw
            .grace
            .as_deref()
            .and_then(parse_duration)
            .unwrap_or(SignedDuration::from_hours(1));
        let mut default_channels = raw.defaults.channels.unwrap_or_default();
        let known: Vec<&str> = channels.keys().map(String::as_str).collect();
        for (i, name) in default_channels.iter().enumerate() {
            if !channels.contains_key(name) {
                self.diags.push(unknown_channel(
                    name,
                    &known,
                    file,
                    doc.value_span(&format!("/defaults/channels/{i}")),
                ));
            }
        }
        let before = default_channels.len();
        default_channels.retain(|c| channels.contains_key(c));
        let dropped_default_channels = default_channels.len() < before;
        Some(Settings {
            file,
            brand: raw.brand,
            zone_name: raw.timezone,
            zone,
            channels,
            default_channels,
            dropped_default_channels,
            utm: raw.defaults.utm,
            grace,
            state_branch: raw.state.branch.unwrap_or_else(|| "smm-state".into()),
            publish_branch: raw.state.publish_branch.unwrap_or_else(|| "main".into()),
            policy: raw.policy,
            doc,
        })
    }

    /// Each platform needs certain credentials; naming them up front catches a missing secret in
    /// review rather than at publish time.
    fn check_credentials(&mut self, file: FileId, doc: &Document, channel: &Channel) {
        let Some(missing) = crate::platforms::missing_credentials(channel.platform, |r| {
            channel.credentials.contains_key(r)
        }) else {
            return;
        };
        let pointer = format!("/channels/{}", yaml::pointer_segment(&channel.name));
        let example: Vec<String> = missing
            .iter()
            .map(|r| {
                format!(
                    "{r}: SMM_{}_{}",
                    channel.name.to_uppercase().replace('-', "_"),
                    r.to_uppercase()
                )
            })
            .collect();
        self.diags.push(
            Diagnostic::error(
                "E0211",
                format!(
                    "channel `{}` ({}) does not name its credential `{}`",
                    channel.name,
                    channel.platform.as_str(),
                    missing.join("`, `")
                ),
            )
            .at(file, doc.key_span(&pointer))
            .help(format!(
                "add `credentials: {{ {} }}` naming environment variables",
                example.join(", ")
            )),
        );
    }

    fn check_campaign_dates(&mut self, file: FileId, doc: &Document, spec: &CampaignSpec) {
        let mut dates = Vec::new();
        for field in ["starts", "ends"] {
            let value = if field == "starts" {
                &spec.starts
            } else {
                &spec.ends
            };
            if let Some(v) = value {
                match v.parse::<jiff::civil::Date>() {
                    Ok(d) => dates.push(d),
                    Err(_) => self.diags.push(
                        Diagnostic::error("E0304", format!("`{field}` is not a real date: {v}"))
                            .at(file, doc.value_span(&format!("/{field}")))
                            .help("write a date that exists, like 2026-12-01"),
                    ),
                }
            }
        }
        if let ([starts, ends], true) = (dates.as_slice(), spec.starts.is_some()) {
            if ends < starts {
                self.diags.push(
                    Diagnostic::error(
                        "E0305",
                        format!("campaign ends ({ends}) before it starts ({starts})"),
                    )
                    .at(file, doc.value_span("/ends"))
                    .help("swap the dates or fix the year"),
                );
            }
        }
    }

    /// YAML files outside campaigns/ and posts/ are not read; say so instead of ignoring them.
    fn warn_stray_yaml(&mut self) {
        const KNOWN: [&str; 6] = [
            "campaigns",
            "posts",
            "templates",
            "media",
            "schemas",
            "node_modules",
        ];
        for (dir, _) in sorted_entries(self.root)
            .into_iter()
            .filter(|(_, is_dir)| *is_dir)
        {
            let Some(name) = dir.to_str() else {
                continue;
            };
            if name.starts_with('.') || KNOWN.contains(&name) {
                continue;
            }
            if let Some(first) = yaml_files(self.root, Path::new(name)).first() {
                let hint = crate::suggest::closest(name, ["campaigns", "posts"]).unwrap_or("posts");
                // The file is not loaded, so there is no source to point into: name it instead.
                let moved = Path::new(hint).join(first.strip_prefix(name).unwrap_or(first));
                let d = Diagnostic::new(
                    Severity::Warning,
                    "W0105",
                    format!("the YAML files in `{name}/` are not read: posts live in campaigns/<slug>/ or posts/"),
                )
                .help(format!(
                    "move them under {hint}/, e.g. {} to {}",
                    first.display(),
                    moved.display()
                ));
                self.diags.push(d);
            }
        }
    }
}

/// `+02:00`, the offset form `publish_at` accepts (jiff displays `+02`).
/// Parses a file already in `sources` and checks it against its schema.
fn check_doc(
    sources: &Sources,
    file: FileId,
    kind: FileKind,
    diags: &mut Vec<Diagnostic>,
) -> Option<Document> {
    let doc = match yaml::parse(sources.get(file).text()) {
        Ok(doc) => doc,
        Err(e) => {
            let (code, help) = match e.kind {
                YamlErrorKind::Syntax => (
                    "E0101",
                    "check indentation, `key: value` pairs and closing quotes or brackets",
                ),
                YamlErrorKind::Alias => (
                    "E0102",
                    "write the value out, or share text through templates/",
                ),
                YamlErrorKind::MultipleDocuments => ("E0102", "put one post per file"),
                YamlErrorKind::UnsupportedKey => ("E0102", "use plain names as keys"),
                YamlErrorKind::DuplicateKey => ("E0103", "remove one of the two entries"),
            };
            let message = if code == "E0101" {
                format!("invalid YAML: {}", e.message)
            } else {
                e.message
            };
            let mut d = Diagnostic::error(code, message)
                .at(file, e.span)
                .help(e.help.unwrap_or_else(|| help.to_string()));
            if let Some(label) = e.label {
                d = d.label(label);
            }
            diags.push(d);
            return None;
        }
    };
    if !doc.value.is_object() {
        let what = if doc.value.is_null() {
            "empty"
        } else {
            "not a mapping of `key: value` fields"
        };
        diags.push(
            Diagnostic::error("E0112", format!("this file is {what}"))
                .at(file, doc.value_span(""))
                .help("see docs/format.md for the fields of this file"),
        );
        return None;
    }
    let errors = schema::check(kind, &doc, file);
    if !errors.is_empty() {
        diags.extend(errors);
        return None;
    }
    Some(doc)
}

/// Converts a schema-valid document into its type. The schema and the types agree, so a
/// failure here is reported as a bug rather than hidden.
fn typed<T: DeserializeOwned>(
    file: FileId,
    doc: &Document,
    diags: &mut Vec<Diagnostic>,
) -> Option<T> {
    match T::deserialize(&doc.value) {
        Ok(v) => Some(v),
        Err(e) => {
            diags.push(
                Diagnostic::error(
                    "E0199",
                    format!("internal: schema-valid file could not be read: {e}"),
                )
                .at(file, Span::new(0, 0))
                .help("please report this with the file"),
            );
            None
        }
    }
}

/// One post file (already read into `sources`): parse, check, resolve its time. Pure, so posts
/// load in parallel.
fn post(
    sources: &Sources,
    file: FileId,
    rel: &Path,
    campaign: Option<&str>,
    zone: Option<&TimeZone>,
    diags: &mut Vec<Diagnostic>,
) -> Option<Post> {
    let doc = check_doc(sources, file, FileKind::Post, diags)?;
    let spec: PostSpec = typed(file, &doc, diags)?;
    let when = match (&spec.publish_at, spec.draft) {
        (Some(_), true) => {
            diags.push(
                Diagnostic::error("E0210", "a post cannot be a draft and have `publish_at`")
                    .at(file, doc.key_span("/draft"))
                    .help("remove `draft: true` to schedule it, or remove `publish_at` to keep it a draft"),
            );
            return None;
        }
        (None, true) => When::Draft,
        (None, false) => {
            diags.push(
                Diagnostic::error("E0210", "the post has no `publish_at` and is not a draft")
                    .at(file, Span::new(0, 0))
                    .help(
                        "add `publish_at: 2026-12-01 09:00` (workspace time zone) or `draft: true`",
                    ),
            );
            return None;
        }
        (Some(at), false) => When::At(publish_time(file, &doc, at, zone, diags)?),
    };
    hashtags_lost_to_comments(file, sources.get(file).text(), &doc, &spec, diags);
    let (id, explicit_id) = match &spec.id {
        Some(id) => (id.clone(), true),
        None => (derived_id(rel), false),
    };
    Some(Post {
        file,
        doc: Box::new(doc).into(),
        id,
        explicit_id,
        campaign: campaign.map(str::to_string),
        when,
        delete: spec.delete,
        spec: crate::cache::Deferred::ready(spec),
    })
}

/// `text: New tea #tea` is YAML for the text "New tea" and a comment: the hashtag silently
/// disappears. Flags plain (unquoted, single-line) text values followed by ` #` on their line.
fn hashtags_lost_to_comments(
    file: FileId,
    text: &str,
    doc: &Document,
    spec: &PostSpec,
    out: &mut Vec<Diagnostic>,
) {
    let mut pointers = vec!["/text".to_string()];
    pointers.extend((0..spec.thread.len()).map(|i| format!("/thread/{i}")));
    pointers.extend(
        spec.variants
            .keys()
            .map(|k| format!("/variants/{}/text", yaml::pointer_segment(k))),
    );
    for pointer in pointers {
        let Some(node) = doc.node(&pointer) else {
            continue;
        };
        let span = node.value;
        let plain = text[span.start..]
            .chars()
            .next()
            .is_some_and(|c| !matches!(c, '"' | '\'' | '|' | '>'));
        let rest = text[span.end..].split('\n').next().unwrap_or_default();
        let Some(comment) = rest
            .strip_prefix(|c: char| c == ' ' || c == '\t')
            .map(str::trim_start)
            .filter(|r| r.starts_with('#'))
        else {
            continue;
        };
        if !plain {
            continue;
        }
        let at = span.end + (rest.len() - rest.trim_start().len());
        let shown: String = comment.chars().take(30).collect();
        out.push(
            Diagnostic::new(Severity::Warning, "W0108", format!("`{shown}` is a YAML comment, not part of the text"))
                .at(file, Span::new(at, at + comment.len()))
                .label("dropped from the post")
                .help("put the text in quotes, or write it as a block: `text: |` and the text on the next lines"),
        );
    }
}

/// Resolves `publish_at` to an instant. Local times in a DST gap or fold are refused: a
/// scheduler must never guess which 02:30 was meant.
fn publish_time(
    file: FileId,
    doc: &Document,
    text: &str,
    zone: Option<&TimeZone>,
    diags: &mut Vec<Diagnostic>,
) -> Option<jiff::ZonedDateTime> {
    let span = doc.value_span("/publish_at");
    let zone = zone.cloned().unwrap_or(TimeZone::UTC);
    let has_offset = text.ends_with('Z') || text.len() > 16 && text[16..].contains(['+', '-']);
    if has_offset {
        return match text.replacen(' ', "T", 1).parse::<Timestamp>() {
            Ok(ts) => Some(ts.to_zoned_datetime(zone)),
            Err(_) => {
                diags.push(invalid_time(file, span, text));
                None
            }
        };
    }
    let dt = match text.parse::<DateTime>() {
        Ok(dt) => dt,
        Err(_) => {
            diags.push(invalid_time(file, span, text));
            return None;
        }
    };
    let ambiguous = zone.to_ambiguous_zoned_datetime(dt);
    match ambiguous.offset() {
        AmbiguousOffset::Unambiguous { .. } => ambiguous.unambiguous().ok(),
        AmbiguousOffset::Gap { before, after } => {
            diags.push(
                Diagnostic::error(
                    "E0301",
                    format!(
                        "{text} does not exist in {}: clocks jump from {} to {}",
                        zone_name(&zone),
                        hh_mm(before),
                        hh_mm(after)
                    ),
                )
                .at(file, span)
                .label("skipped by the daylight saving change")
                .help("pick a time outside the skipped hour, or write it with an explicit offset"),
            );
            None
        }
        AmbiguousOffset::Fold { before, after } => {
            diags.push(
                Diagnostic::error(
                    "E0302",
                    format!(
                        "{text} happens twice in {} (offsets {} and {})",
                        zone_name(&zone),
                        hh_mm(before),
                        hh_mm(after)
                    ),
                )
                .at(file, span)
                .label("ambiguous: the clocks go back")
                .help({
                    // The form the schema takes: seconds and a `+HH:MM` offset.
                    let local = dt.strftime("%Y-%m-%dT%H:%M:%S");
                    format!(
                        "write it with an explicit offset: `{local}{}` for the first, `{local}{}` for the second",
                        hh_mm(before),
                        hh_mm(after)
                    )
                }),
            );
            None
        }
    }
}

fn hh_mm(offset: jiff::tz::Offset) -> String {
    let secs = offset.seconds();
    let sign = if secs < 0 { '-' } else { '+' };
    let mins = secs.unsigned_abs() / 60;
    format!("{sign}{:02}:{:02}", mins / 60, mins % 60)
}

fn zone_name(zone: &TimeZone) -> String {
    zone.iana_name()
        .unwrap_or("the workspace time zone")
        .to_string()
}

fn invalid_time(file: FileId, span: Span, text: &str) -> Diagnostic {
    Diagnostic::error(
        "E0304",
        format!("`publish_at` is not a real date and time: {text}"),
    )
    .at(file, span)
    .help("check the day of the month and the hour, e.g. 2026-12-01 09:00")
}

pub(crate) fn unknown_channel(name: &str, known: &[&str], file: FileId, span: Span) -> Diagnostic {
    let d = Diagnostic::error("E0201", format!("unknown channel `{name}`"))
        .at(file, span)
        .label("not defined in smm.yaml");
    match crate::suggest::closest(name, known.iter().copied()) {
        Some(s) => d.help(format!("did you mean `{s}`?")),
        None => d.help(format!(
            "define it under `channels:` in smm.yaml, or use one of: {}",
            known.join(", ")
        )),
    }
}

/// `campaigns/launch/teaser.yaml` -> `launch/teaser`; `posts/hours.yaml` -> `hours`.
fn derived_id(rel: &Path) -> String {
    let no_ext = rel.with_extension("");
    let stripped = no_ext
        .strip_prefix("campaigns")
        .or_else(|_| no_ext.strip_prefix("posts"))
        .unwrap_or(&no_ext);
    stripped
        .components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// The names in `dir`, sorted, each with whether it is a folder. The type comes with the
/// directory listing (no `stat` per file); a symbolic link is followed to find out.
fn sorted_entries(dir: &Path) -> Vec<(std::ffi::OsString, bool)> {
    let mut v: Vec<(std::ffi::OsString, bool)> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| {
                    let is_dir = match e.file_type() {
                        Ok(t) if !t.is_symlink() => t.is_dir(),
                        _ => e.path().is_dir(),
                    };
                    (e.file_name(), is_dir)
                })
                .collect()
        })
        .unwrap_or_default();
    v.sort_unstable();
    v
}

/// YAML files below `rel` (relative to root), recursively, as root-relative paths in path
/// order: each folder's names in order, a folder's files where its name sorts (as comparing
/// the paths would order them, without sorting 10,000 paths component by component).
fn yaml_files(root: &Path, rel: &Path) -> Vec<PathBuf> {
    fn visit(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) {
        for (name, is_dir) in sorted_entries(&root.join(dir)) {
            if name.as_encoded_bytes().starts_with(b".") {
                continue;
            }
            let rel = dir.join(&name);
            if is_dir {
                visit(root, &rel, out);
            } else if rel.extension().is_some_and(|e| e == "yaml" || e == "yml") {
                out.push(rel);
            }
        }
    }
    let mut out = Vec::new();
    visit(root, rel, &mut out);
    out
}

fn read_templates(root: &Path, diags: &mut Vec<Diagnostic>) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![PathBuf::from("templates")];
    while let Some(dir) = stack.pop() {
        for (name, is_dir) in sorted_entries(&root.join(&dir)) {
            let rel = dir.join(name);
            if is_dir {
                stack.push(rel);
                continue;
            }
            let key = rel
                .strip_prefix("templates")
                .unwrap_or(&rel)
                .components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/");
            match std::fs::read_to_string(root.join(&rel)) {
                Ok(text) => {
                    out.insert(key, text);
                }
                Err(e) => diags.push(Diagnostic::error(
                    "E0104",
                    format!("cannot read {}: {e}", rel.display()),
                )),
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_files_come_in_path_order_without_hidden_or_other_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        for f in [
            "posts/b.yml",
            "posts/a.yaml",
            "posts/a-b.yaml",
            "posts/a/z.yaml",
            "posts/a/deeper/x.yaml",
            "posts/a/c.yaml",
            "posts/.hidden.yaml",
            "posts/.drafts/y.yaml",
            "posts/notes.txt",
        ] {
            let path = root.join(f);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(path, "").expect("write");
        }
        let found = yaml_files(root, Path::new("posts"));
        let mut sorted = found.clone();
        sorted.sort();
        assert_eq!(found, sorted, "listed in the order paths compare");
        let names: Vec<_> = found
            .iter()
            .map(|p| p.to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            names,
            [
                "posts/a/c.yaml",
                "posts/a/deeper/x.yaml",
                "posts/a/z.yaml",
                "posts/a-b.yaml",
                "posts/a.yaml",
                "posts/b.yml"
            ]
        );
    }

    #[test]
    fn offsets_are_written_as_publish_at_takes_them() {
        let offset = |secs| jiff::tz::Offset::from_seconds(secs).expect("valid offset");
        assert_eq!(hh_mm(offset(7200)), "+02:00");
        assert_eq!(hh_mm(offset(-(9 * 3600 + 30 * 60))), "-09:30");
    }
}
