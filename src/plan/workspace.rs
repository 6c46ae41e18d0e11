//! Everything a plan needs, gathered from disk and git: the validated workspace, the state, the
//! content revision and the base revision.

use std::path::Path;

use jiff::Timestamp;

use super::{plan, snapshot_at, BaseSnapshot, Inputs, Plan};
use crate::cache::Cache;
use crate::state::{ContentRevision, State, StateError, Store};
use crate::validate::{check_across, published_in, validate_posts, Report};

pub struct Options<'a> {
    /// The instant to plan at (default now).
    pub at: Option<Timestamp>,
    /// Revision to compare unpublished deliveries against; default: where HEAD left the publish
    /// branch (in a pull request, what the reviewers already approved).
    pub base: Option<&'a str>,
}

#[derive(Debug)]
pub enum PlanError {
    /// The workspace has errors: plan refuses to run on it.
    Invalid(Box<Report>),
    State(StateError),
    Base(String),
}

/// Validates the workspace at `root` and plans it against its state.
pub fn plan_workspace(root: &Path, options: &Options<'_>) -> Result<(Report, Plan), PlanError> {
    // One cache for the workspace and its base revision: most of their posts are the same.
    let cache = Cache::open(root);
    let planned = std::thread::scope(|scope| {
        // `git status` of the workspace (is it dirty?) waits on the file system: it runs beside
        // validation, on its own handle of the repository.
        let content = scope.spawn(|| {
            git2::Repository::discover(root)
                .ok()
                .map(|repo| ContentRevision::of(&repo, root))
        });
        plan_with(root, options, &cache, || {
            content.join().ok().flatten().unwrap_or_default()
        })
    });
    cache.save();
    planned
}

fn plan_with(
    root: &Path,
    options: &Options<'_>,
    cache: &Cache,
    content_revision: impl FnOnce() -> ContentRevision,
) -> Result<(Report, Plan), PlanError> {
    let mut report = validate_posts(root, cache);
    match plan_report(
        root,
        options,
        cache,
        &mut report,
        content_revision,
        &mut None,
    ) {
        Ok(plan) => Ok((report, plan)),
        Err(refusal) => Err(refusal.with(report)),
    }
}

/// Why a report was not planned; [`PlanError`] without the report.
pub(super) enum Refusal {
    Invalid,
    State(StateError),
    Base(String),
}

impl Refusal {
    pub(super) fn with(self, report: Report) -> PlanError {
        match self {
            Refusal::Invalid => PlanError::Invalid(Box::new(report)),
            Refusal::State(e) => PlanError::State(e),
            Refusal::Base(e) => PlanError::Base(e),
        }
    }
}

/// Plans the report of [`validate_posts`]: reads the state, adds the checks across posts to the
/// report and plans it against the state and the base revision. `base` keeps the base revision's
/// snapshot, rendered once for as long as the base is the same commit.
pub(super) fn plan_report(
    root: &Path,
    options: &Options<'_>,
    cache: &Cache,
    report: &mut Report,
    content_revision: impl FnOnce() -> ContentRevision,
    base: &mut Option<(String, BaseSnapshot)>,
) -> Result<Plan, Refusal> {
    let at = options.at.unwrap_or_else(Timestamp::now);
    // Validation needs the published posts, the plan the whole state.
    let opened: Result<Option<(Store, State)>, StateError> = match &report.workspace.settings {
        Some(settings) => Store::open(root, &settings.state_branch).and_then(|store| {
            store
                .map(|store| store.read().map(|state| (store, state)))
                .transpose()
        }),
        None => Ok(None),
    };
    let published = match &opened {
        Ok(Some((_, state))) => published_in(state),
        _ => Default::default(),
    };
    check_across(report, at, &published);
    if report.errors() > 0 {
        return Err(Refusal::Invalid);
    }
    let Some(settings) = report.workspace.settings.as_ref() else {
        return Err(Refusal::Invalid);
    };
    let (state, content) = match opened.map_err(Refusal::State)? {
        Some((store, state)) => {
            let content = content_revision();
            let base_rev = match options.base {
                Some(b) => Some(b.to_string()),
                None => default_base(&store, &content, &settings.publish_branch),
            };
            match base_rev {
                Some(rev) if base.as_ref().is_none_or(|(had, _)| *had != rev) => {
                    let snapshot = snapshot_at(store.repository(), &rev, root, at, cache, report)
                        .map_err(Refusal::Base)?;
                    *base = Some((rev, snapshot));
                }
                Some(_) => {}
                None => *base = None,
            }
            (state, content)
        }
        None if options.base.is_some() => {
            return Err(Refusal::Base(
                "the workspace is not in a git repository".into(),
            ))
        }
        None => {
            *base = None;
            (State::default(), ContentRevision::default())
        }
    };
    Ok(plan(&Inputs {
        report,
        state: &state,
        at,
        show_at: options.at.is_some(),
        content,
        base: base.as_ref().map(|(_, snapshot)| snapshot),
    }))
}

/// The merge base of HEAD and the publish branch, when HEAD is on another branch.
fn default_base(store: &Store, content: &ContentRevision, publish_branch: &str) -> Option<String> {
    if content.branch.as_deref() == Some(publish_branch) {
        return None;
    }
    let repo = store.repository();
    let head = repo.head().ok()?.target()?;
    let publish = [
        format!("refs/heads/{publish_branch}"),
        format!("refs/remotes/origin/{publish_branch}"),
    ]
    .iter()
    .find_map(|r| repo.refname_to_id(r).ok())?;
    repo.merge_base(head, publish).ok().map(|o| o.to_string())
}
