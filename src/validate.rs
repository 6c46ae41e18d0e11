//! `smm validate`: load, render and check a workspace; the report every later stage starts from.

use std::collections::BTreeSet;
use std::path::Path;

use jiff::Timestamp;
use serde::Serialize;

use crate::cache::{Cache, Pending};
use crate::check;
use crate::diagnostic::{self, Diagnostic, JsonDiagnostic, Severity};
use crate::render::{Delivery, Renderer};
use crate::source::Sources;
use crate::words::plural;
use crate::workspace::{self, When, Workspace};

/// Everything validate found: the workspace, its deliveries and every problem.
pub struct Report {
    pub workspace: Workspace,
    pub sources: Sources,
    pub deliveries: Vec<Delivery>,
    pub diagnostics: Vec<Diagnostic>,
}

impl std::fmt::Debug for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Report {{ errors: {}, warnings: {} }}",
            self.errors(),
            self.warnings()
        )
    }
}

impl Report {
    pub fn errors(&self) -> usize {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count()
    }

    pub fn warnings(&self) -> usize {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Warning)
            .count()
    }
}

/// Validates the workspace at `root` as of `now`, with the published posts read from its state,
/// through the workspace's post cache.
pub fn validate(root: &Path, now: Timestamp) -> Report {
    let cache = Cache::open(root);
    let report = validate_with(root, now, |ws| published_posts(root, ws), &cache);
    cache.save();
    report
}

/// Validates the workspace at `root` as of `now`; `published` gives the ids of the posts already
/// published (no "in the past" warning for them), once the workspace is loaded. For callers that
/// read the state themselves. Unchanged posts come from `cache`; the caller saves it.
pub fn validate_with(
    root: &Path,
    now: Timestamp,
    published: impl FnOnce(&Workspace) -> BTreeSet<String>,
    cache: &Cache,
) -> Report {
    let mut report = validate_posts(root, cache);
    let published = published(&report.workspace);
    check_across(&mut report, now, &published);
    report
}

/// Loads and renders the workspace and checks each post on its own: [`validate_with`] without
/// the checks across posts. The diagnostics are in no particular order.
pub(crate) fn validate_posts(root: &Path, cache: &Cache) -> Report {
    let mut sources = Sources::default();
    let mut diagnostics = Vec::new();
    let (ws, cached) = workspace::load_with(root, &mut sources, &mut diagnostics, cache);
    let (deliveries, pending) = {
        let renderer = Renderer::new(&ws, &mut sources, &mut diagnostics);
        renderer.deliveries(&sources, &mut diagnostics, cached)
    };
    let by_post = crate::render::by_post(&deliveries, ws.posts.len());
    let checked = check::each_post(&ws, &deliveries, &by_post, &sources, |post| {
        pending.get(post) == Some(&Pending::Checked)
    });
    keep(cache, &ws, &deliveries, &by_post, &pending, &checked);
    diagnostics.extend(checked.into_iter().flat_map(|(_, found)| found));
    Report {
        workspace: ws,
        sources,
        deliveries,
        diagnostics,
    }
}

/// Adds the checks across posts (as of `now`; `published`: ids of posts already published) to
/// the report of [`validate_posts`], and puts its diagnostics in order.
pub(crate) fn check_across(report: &mut Report, now: Timestamp, published: &BTreeSet<String>) {
    report.diagnostics.extend(check::across_posts(
        &report.workspace,
        &report.deliveries,
        &report.sources,
        now,
        published,
    ));
    // A shared text rendered for several channels can trip the same rule at the same place.
    diagnostic::sort(&mut report.diagnostics, &report.sources);
    report.diagnostics.dedup();
}

/// Keeps in the cache each post that rendered without a diagnostic, with whether it passed its
/// own checks (`checked`: the findings of each post checked).
fn keep(
    cache: &Cache,
    ws: &Workspace,
    deliveries: &[Delivery],
    by_post: &[std::ops::Range<usize>],
    pending: &[Pending],
    checked: &[(usize, Vec<Diagnostic>)],
) {
    let mut passed = vec![true; pending.len()];
    for (post, found) in checked {
        passed[*post] = found.is_empty();
    }
    use rayon::prelude::*;
    pending.par_iter().enumerate().for_each(|(post, pending)| {
        if let Pending::Keep(key) = pending {
            let of_post = &deliveries[by_post[post].clone()];
            cache.put(*key, &ws.posts[post], of_post, passed[post]);
        }
    });
}

/// Ids of posts with a delivery recorded as published, from the state branch when the
/// workspace is in git. Validation reads the state only for this, and treats an unreadable
/// state as empty: `smm plan` and `smm status` report state problems.
fn published_posts(root: &Path, ws: &Workspace) -> BTreeSet<String> {
    let Some(settings) = &ws.settings else {
        return Default::default();
    };
    let Ok(Some(store)) = crate::state::Store::open(root, &settings.state_branch) else {
        return Default::default();
    };
    match store.read() {
        Ok(state) => published_in(&state),
        Err(_) => Default::default(),
    }
}

/// Ids of the posts with a delivery recorded as published in `state`.
pub fn published_in(state: &crate::state::State) -> BTreeSet<String> {
    state
        .records
        .values()
        .filter(|r| matches!(r.outcome(), Some(crate::state::Outcome::Published { .. })))
        .map(|r| r.key.post.to_string())
        .collect()
}

/// Human output: every diagnostic, then a one-line summary.
pub fn render_text(report: &Report) -> String {
    let mut out = String::new();
    for d in &report.diagnostics {
        out.push_str(&diagnostic::render(d, &report.sources));
        out.push('\n');
    }
    let posts = report.workspace.posts.len();
    let deliveries = report.deliveries.len();
    let (e, w) = (report.errors(), report.warnings());
    let summary = match (e, w) {
        (0, 0) => format!("ok: {posts} posts, {deliveries} deliveries, no problems"),
        (0, w) => format!(
            "ok: {posts} posts, {deliveries} deliveries, {w} {}",
            plural(w, "warning", "warnings")
        ),
        (e, w) => format!(
            "failed: {e} {}, {w} {}",
            plural(e, "error", "errors"),
            plural(w, "warning", "warnings")
        ),
    };
    out.push_str(&summary);
    out.push('\n');
    out
}

/// The JSON report (schemas/validate-report.schema.json).
pub fn render_json(report: &Report) -> String {
    #[derive(Serialize)]
    struct Json<'a> {
        version: u32,
        ok: bool,
        errors: usize,
        warnings: usize,
        diagnostics: Vec<JsonDiagnostic<'a>>,
        deliveries: Vec<JsonDelivery<'a>>,
    }
    #[derive(Serialize)]
    struct JsonDelivery<'a> {
        post: &'a str,
        channel: &'a str,
        platform: &'a str,
        file: String,
        publish_at: Option<String>,
        parts: Vec<JsonPart<'a>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        link: Option<&'a str>,
    }
    #[derive(Serialize)]
    struct JsonPart<'a> {
        text: &'a str,
        length: usize,
        limit: usize,
        unit: &'static str,
        fits: bool,
        media: &'a [crate::workspace::Media],
    }
    let json = Json {
        version: 1,
        ok: report.errors() == 0,
        errors: report.errors(),
        warnings: report.warnings(),
        diagnostics: report
            .diagnostics
            .iter()
            .map(|d| JsonDiagnostic::new(d, &report.sources))
            .collect(),
        deliveries: report
            .deliveries
            .iter()
            .map(|d| {
                let post = &report.workspace.posts[d.post];
                JsonDelivery {
                    post: &d.post_id,
                    channel: &d.channel,
                    platform: d.platform.as_str(),
                    file: report.sources.path(post.file).display().to_string(),
                    publish_at: match &post.when {
                        When::At(z) => Some(z.strftime("%Y-%m-%dT%H:%M:%S%:z").to_string()),
                        When::Draft => None,
                    },
                    parts: d
                        .parts
                        .iter()
                        .map(|p| {
                            // The primary measure is what users compare ("312/280"); any other
                            // constraint that fails makes the part not fit.
                            let measures = &p.measures;
                            JsonPart {
                                text: &p.text,
                                length: p.length(),
                                limit: p.limit(),
                                unit: p.unit(),
                                fits: measures.iter().all(smm_text::Measure::fits),
                                media: &p.media,
                            }
                        })
                        .collect(),
                    link: d.link.as_deref(),
                }
            })
            .collect(),
    };
    let mut s = serde_json::to_string_pretty(&json).unwrap_or_default();
    s.push('\n');
    s
}
