//! `smm plan --watch`: a plan kept up to date while files change.
//!
//! A changed post file is read, rendered and checked on its own, spliced into the validated
//! workspace, and the checks across posts and the plan run again: the cost follows the change,
//! not the workspace. Anything else validation reads as a whole (smm.yaml, templates, a
//! campaign.yaml or any other YAML file that is not a post, a folder, what git ignores, git's
//! HEAD, index or refs) starts the session over from disk.

use std::collections::{BTreeSet, HashSet};
use std::path::{Path, PathBuf};

use git2::Repository;

use super::workspace::{plan_report, Refusal};
use super::{display_order, BaseSnapshot, Item, Options, Plan};
use crate::cache::{Cache, Cached};
use crate::check;
use crate::diagnostic::Diagnostic;
use crate::render::{by_post, Delivery, Renderer};
use crate::state::{in_repository, ContentRevision, DeliveryKey, WorkspaceStatus};
use crate::validate::{validate_posts, Report};
use crate::workspace::{load_posts, post_path_campaign, Post};

/// A validated workspace and its plan, updated file by file.
pub struct Session<'o> {
    root: PathBuf,
    options: Options<'o>,
    /// Diagnostics are those of loading, rendering and checking each post (see `own`) plus,
    /// after planning, those of the checks across posts.
    report: Report,
    /// The diagnostics before the checks across posts, which run again on every update.
    own: Vec<Diagnostic>,
    base: Option<(String, BaseSnapshot)>,
    /// The repository, with its `git status` of the workspace (`None`: none could be had, and
    /// the workspace counts as changed, as in `smm plan`).
    git: Option<(Repository, Option<WorkspaceStatus>)>,
    /// The workspace's folders (workspace-relative): moving or removing one changes files that no
    /// event names.
    folders: BTreeSet<PathBuf>,
    plan: Result<Plan, Refusal>,
    /// The last plan before it, to show what changed.
    previous: Option<Plan>,
    /// The post files the last update read again.
    changed: BTreeSet<PathBuf>,
    /// How many files the sources held when the session started.
    files_at_start: usize,
}

/// The plan of a session, or why it has none.
pub enum Watched<'s> {
    Planned(&'s Plan),
    /// The workspace has errors: they are in the report's diagnostics.
    Invalid(&'s Report),
    /// The state or the base revision could not be read.
    Failed(String),
}

/// What [`Session::update`] did.
#[derive(Debug, PartialEq, Eq)]
pub enum Update {
    /// Planned again.
    Planned,
    /// Nothing: the changes were not the workspace's.
    Nothing,
    /// Nothing: a change needs a new session ([`Session::restart`]), or the session has read
    /// so many files again that starting over costs less than keeping them.
    Restart,
}

/// What a changed path asks of a session.
#[derive(Debug, PartialEq, Eq)]
pub enum Reach {
    /// A post file: read again on its own.
    Post(PathBuf),
    /// Another file under the workspace: only `git status` of it, and the checks across posts
    /// (media files), run again.
    Other(PathBuf),
    /// Something validation reads as a whole: start over.
    Restart,
    /// Not the workspace's (git's objects, smm's own cache).
    Nothing,
}

impl<'o> Session<'o> {
    /// Validates and plans the workspace at `root` from disk, through its post cache.
    pub fn start(root: &Path, options: Options<'o>) -> Session<'o> {
        let cache = Cache::open(root);
        let git = Repository::discover(root).ok().map(|repo| {
            let status = WorkspaceStatus::of(&repo, root);
            (repo, status)
        });
        let folders = folders(root, git.as_ref().map(|(repo, _)| repo));
        let report = validate_posts(root, &cache);
        let mut session = Session {
            root: root.to_path_buf(),
            options,
            own: report.diagnostics.clone(),
            folders,
            report,
            base: None,
            git,
            plan: Err(Refusal::Invalid),
            previous: None,
            changed: BTreeSet::new(),
            files_at_start: 0,
        };
        session.files_at_start = session.report.sources.count();
        session.replan(&cache);
        cache.save();
        session
    }

    /// A new session of the same workspace, from disk, that shows its changes against this
    /// session's last plan.
    pub fn restart(self) -> Session<'o> {
        let Session {
            root,
            options,
            report,
            plan,
            previous,
            ..
        } = self;
        // The old workspace goes before the new one is read.
        drop(report);
        let previous = plan.ok().or(previous);
        let mut session = Session::start(&root, options);
        session.previous = previous;
        session
    }

    /// What to show after the last update or restart: the items of the posts read again, and
    /// every other item that is new or different; and the keys no longer in the plan. Nothing
    /// without a plan.
    pub fn changes(&self) -> (Vec<&Item>, Vec<DeliveryKey>) {
        match &self.plan {
            Ok(plan) => changes(self.previous.as_ref(), plan, &self.changed),
            Err(_) => Default::default(),
        }
    }

    /// The plan as of the last update, or why there is none.
    pub fn outcome(&self) -> Watched<'_> {
        match &self.plan {
            Ok(plan) => Watched::Planned(plan),
            Err(Refusal::Invalid) => Watched::Invalid(&self.report),
            Err(Refusal::State(e)) => Watched::Failed(format!("cannot read the state: {e}")),
            Err(Refusal::Base(e)) => Watched::Failed(e.clone()),
        }
    }

    /// The repository's git folders (its own, and the one its worktrees share), which a watcher
    /// must follow too when they are not inside the workspace.
    pub fn git_dirs(&self) -> Vec<&Path> {
        match &self.git {
            Some((repo, _)) => vec![repo.path(), repo.commondir()],
            None => Vec::new(),
        }
    }

    /// What a change at `path` (absolute) asks of the session.
    pub fn reach(&self, path: &Path) -> Reach {
        // A git folder, by its own path or as .git in the workspace (the two may differ by a
        // symbolic link).
        let in_git = self
            .git_dirs()
            .into_iter()
            .find_map(|dir| path.strip_prefix(dir).ok())
            .or_else(|| path.strip_prefix(self.root.join(".git")).ok());
        if let Some(in_git) = in_git {
            let mut names = in_git.components().map(|c| c.as_os_str().to_str());
            return match (names.next().flatten(), names.next().flatten()) {
                (Some("HEAD" | "index" | "packed-refs" | "refs"), _) => Reach::Restart,
                // What git status ignores.
                (Some("info"), Some("exclude")) => Reach::Restart,
                _ => Reach::Nothing,
            };
        }
        let Ok(rel) = path.strip_prefix(&self.root) else {
            return Reach::Nothing;
        };
        match post_path_campaign(rel) {
            // A post in a campaign folder without a valid campaign.yaml is an error of the
            // folder, found by loading it whole.
            Some(Some(slug)) if !self.report.workspace.campaigns.contains_key(&slug) => {
                Reach::Restart
            }
            Some(_) => Reach::Post(rel.to_path_buf()),
            None => {
                let yaml = rel.extension().is_some_and(|e| e == "yaml" || e == "yml");
                // A folder moved or removed: the files in it (posts, media, whether git lists
                // them) changed without an event each.
                let folder = self.folders.contains(rel) || path.is_dir();
                // smm.yaml, a campaign.yaml, a stray YAML file (a warning), what git ignores.
                if yaml
                    || folder
                    || rel.starts_with("templates")
                    || rel.file_name().is_some_and(|n| n == ".gitignore")
                {
                    Reach::Restart
                } else {
                    // An editor's or sed's temporary file beside a post, a media file, a README.
                    Reach::Other(rel.to_path_buf())
                }
            }
        }
    }

    /// Takes in the changes at `paths` (absolute) and plans again, unless none of them is the
    /// workspace's or one needs a new session ([`Reach::Restart`]): then nothing changes.
    pub fn update(&mut self, paths: &BTreeSet<PathBuf>) -> Update {
        // Each update adds the files it read (which diagnostics quote) and the templates to the
        // sources: a long session starts over once they have doubled, rather than grow forever.
        if self.report.sources.count() > 2 * self.files_at_start + 1000 {
            return Update::Restart;
        }
        let mut posts = BTreeSet::new();
        let mut files = Vec::new();
        for path in paths {
            match self.reach(path) {
                Reach::Restart => return Update::Restart,
                Reach::Post(rel) => {
                    files.push(rel.clone());
                    posts.insert(rel);
                }
                Reach::Other(rel) => files.push(rel),
                Reach::Nothing => {}
            }
        }
        if files.is_empty() {
            return Update::Nothing;
        }
        if let Some((repo, Some(status))) = &mut self.git {
            for rel in &files {
                status.refresh(repo, rel);
            }
        }
        // The base revision's snapshot knows which posts were as in the base, by their place.
        let cache = if !posts.is_empty() && self.base.take().is_some() {
            Cache::open(&self.root)
        } else {
            Cache::off()
        };
        if !posts.is_empty() {
            self.reload(&posts);
        }
        self.changed = posts;
        self.replan(&cache);
        cache.save();
        Update::Planned
    }

    /// Plans again as of now with nothing changed: the plan's window ended, and what is due
    /// with it.
    pub fn plan_again(&mut self) {
        self.changed.clear();
        self.replan(&Cache::off());
    }

    /// Reads the post files `changed` (workspace-relative, in path order) again: each one's
    /// post, deliveries and diagnostics replace those it had.
    fn reload(&mut self, changed: &BTreeSet<PathBuf>) {
        let present: Vec<PathBuf> = changed
            .iter()
            // A link to nowhere is read, and cannot be, as in a whole load.
            .filter(|rel| std::fs::symlink_metadata(self.root.join(rel)).is_ok())
            .cloned()
            .collect();
        let report = &mut self.report;
        let mut found = Vec::new();
        let loaded = load_posts(&report.workspace, &present, &mut report.sources, &mut found);
        // Rendered and checked as a workspace of these posts alone: each post's deliveries and
        // findings depend only on it, smm.yaml, templates and its campaign (as the cache keys).
        let every = std::mem::replace(&mut report.workspace.posts, loaded);
        let fresh = (0..report.workspace.posts.len())
            .map(|_| Cached::No)
            .collect();
        let (deliveries, _) = {
            // Template errors are the workspace's, reported when the session started.
            let mut again = Vec::new();
            let renderer = Renderer::new(&report.workspace, &mut report.sources, &mut again);
            renderer.deliveries(&report.sources, &mut found, fresh)
        };
        let ranges = by_post(&deliveries, report.workspace.posts.len());
        let checked = check::each_post(
            &report.workspace,
            &deliveries,
            &ranges,
            &report.sources,
            |_| false,
        );
        found.extend(checked.into_iter().flat_map(|(_, f)| f));
        let loaded = std::mem::replace(&mut report.workspace.posts, every);

        let sources = &report.sources;
        self.own.retain(|d| {
            d.location
                .as_ref()
                .is_none_or(|l| !changed.contains(sources.path(l.file)))
        });
        self.own.extend(found);
        if loaded.len() == changed.len() {
            if let Err((l, d)) = replace(report, loaded, deliveries) {
                splice(report, changed, l, d);
            }
        } else {
            splice(report, changed, loaded, deliveries);
        }
    }

    /// Plans the report as it is now, as of now.
    fn replan(&mut self, cache: &Cache) {
        if let Ok(plan) = std::mem::replace(&mut self.plan, Err(Refusal::Invalid)) {
            self.previous = Some(plan);
        }
        self.report.diagnostics = self.own.clone();
        let content = || match &self.git {
            Some((repo, status)) => {
                ContentRevision::at_head(repo, status.as_ref().is_none_or(|s| s.dirty()))
            }
            None => ContentRevision::default(),
        };
        self.plan = plan_report(
            &self.root,
            &self.options,
            cache,
            &mut self.report,
            content,
            &mut self.base,
        );
    }
}

/// The folders under the workspace (relative), but git's and those git ignores.
fn folders(root: &Path, repo: Option<&Repository>) -> BTreeSet<PathBuf> {
    // Git asks of paths in the repository's working folder.
    let prefix = repo.and_then(|repo| Some((repo, in_repository(repo, root)?)));
    let ignored = |rel: &Path| {
        prefix
            .as_ref()
            .is_some_and(|(repo, prefix)| repo.is_path_ignored(prefix.join(rel)).unwrap_or(false))
    };
    let mut out = BTreeSet::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(root.join(&dir)) else {
            continue;
        };
        for entry in entries.flatten() {
            let rel = dir.join(entry.file_name());
            let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
            if is_dir && rel != Path::new(".git") && !ignored(&rel) {
                out.insert(rel.clone());
                stack.push(rel);
            }
        }
    }
    out
}

/// Puts each of `loaded` (rendered as `deliveries`) in the place of the post from the same file,
/// when each has one with as many deliveries: the usual edit, without moving the others. Gives
/// them back otherwise, changing nothing.
fn replace(
    report: &mut Report,
    loaded: Vec<Post>,
    deliveries: Vec<Delivery>,
) -> Result<(), (Vec<Post>, Vec<Delivery>)> {
    let (posts, sources) = (&report.workspace.posts, &report.sources);
    let new_ranges = by_post(&deliveries, loaded.len());
    let places: Option<Vec<(usize, std::ops::Range<usize>)>> = loaded
        .iter()
        .zip(&new_ranges)
        .map(|(post, new)| {
            let path = sources.path(post.file);
            let at = posts
                .binary_search_by(|p| sources.path(p.file).cmp(path))
                .ok()?;
            let start = report.deliveries.partition_point(|d| d.post < at);
            let end = report.deliveries.partition_point(|d| d.post <= at);
            (end - start == new.len()).then_some((at, start..end))
        })
        .collect();
    let Some(places) = places else {
        return Err((loaded, deliveries));
    };
    let mut deliveries = deliveries.into_iter();
    for (post, (at, range)) in loaded.into_iter().zip(places) {
        report.workspace.posts[at] = post;
        for (slot, mut d) in report.deliveries[range].iter_mut().zip(deliveries.by_ref()) {
            d.post = at;
            *slot = d;
        }
    }
    Ok(())
}

/// Replaces the posts at the paths `changed` (and their deliveries) with `loaded` (in path
/// order, rendered as `deliveries`), keeping the report's posts in path order as loading them
/// all would, and each delivery's post index right.
fn splice(
    report: &mut Report,
    changed: &BTreeSet<PathBuf>,
    loaded: Vec<Post>,
    deliveries: Vec<Delivery>,
) {
    let sources = &report.sources;
    let old_posts = std::mem::take(&mut report.workspace.posts);
    let old_deliveries = std::mem::take(&mut report.deliveries);
    let old_ranges = by_post(&old_deliveries, old_posts.len());
    let new_ranges = by_post(&deliveries, loaded.len());
    let mut posts = Vec::with_capacity(old_posts.len() + loaded.len());
    let mut all = Vec::with_capacity(old_deliveries.len() + deliveries.len());
    let mut push = |post: Post, of_post: &mut dyn Iterator<Item = Delivery>| {
        for mut d in of_post {
            d.post = posts.len();
            all.push(d);
        }
        posts.push(post);
    };
    let mut old_d = old_deliveries.into_iter();
    let mut new_d = deliveries.into_iter();
    let mut loaded = loaded.into_iter().zip(new_ranges).peekable();
    for (post, range) in old_posts.into_iter().zip(old_ranges) {
        let path = sources.path(post.file);
        while let Some((new, r)) = loaded.next_if(|(p, _)| sources.path(p.file) < path) {
            push(new, &mut new_d.by_ref().take(r.len()));
        }
        let mut of_post = old_d.by_ref().take(range.len());
        if changed.contains(path) {
            of_post.for_each(drop);
        } else {
            push(post, &mut of_post);
        }
    }
    for (new, r) in loaded {
        push(new, &mut new_d.by_ref().take(r.len()));
    }
    report.workspace.posts = posts;
    report.deliveries = all;
}

/// The items of the posts at `posts`, and every other item that is new or whose action, time,
/// change, reason or file differs from `before`; and the deliveries no longer in the plan.
/// Both plans are in display order: one pass over each, side by side.
fn changes<'p>(
    before: Option<&Plan>,
    after: &'p Plan,
    posts: &BTreeSet<PathBuf>,
) -> (Vec<&'p Item>, Vec<DeliveryKey>) {
    let Some(before) = before else {
        return (after.shown().collect(), Vec::new());
    };
    let files: Vec<&str> = posts.iter().filter_map(|p| p.to_str()).collect();
    let mut old = before.shown().peekable();
    let mut shown = Vec::new();
    let mut gone = Vec::new();
    for item in after.shown() {
        while let Some(o) = old.next_if(|o| display_order(o, item).is_lt()) {
            gone.push(&o.key);
        }
        let same = old
            .next_if(|o| display_order(o, item).is_eq())
            .is_some_and(|o| {
                (o.change, &o.reason, &o.file) == (item.change, &item.reason, &item.file)
            });
        let of_changed = item.file.as_deref().is_some_and(|f| files.contains(&f));
        if !same || of_changed {
            shown.push(item);
        }
    }
    gone.extend(old.map(|o| &o.key));
    // A delivery that moved is shown where it is now.
    let here: HashSet<&DeliveryKey> = shown.iter().map(|i| &i.key).collect();
    let gone = gone
        .into_iter()
        .filter(|k| !here.contains(k))
        .cloned()
        .collect();
    (shown, gone)
}
