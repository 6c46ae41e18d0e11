//! `smm history`: who changed a post and when (git log of its file, following moves), with what
//! apply recorded for its deliveries, newest first.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use git2::{DiffFindOptions, Repository, Sort};
use jiff::tz::TimeZone;
use jiff::Timestamp;
use serde::Serialize;

use crate::state::{Event, State};

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum What {
    /// A commit changed the post file.
    Commit {
        commit: String,
        author: String,
        summary: String,
        change: String,
        path: String,
    },
    /// apply recorded an event for one of the post's deliveries.
    Delivery {
        delivery: String,
        event: String,
        detail: String,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Entry {
    pub at: Timestamp,
    pub post: String,
    #[serde(flatten)]
    pub what: What,
}

/// Git history of `files` (workspace-relative paths of posts, with their post ids), following
/// renames back in time, merged with the state's events for those posts. Newest first.
pub fn history(
    repo: &Repository,
    workspace_root: &Path,
    files: &[(String, PathBuf)],
    state: &State,
) -> Result<Vec<Entry>, git2::Error> {
    let prefix = workspace_prefix(repo, workspace_root).unwrap_or_default();
    let mut entries = Vec::new();
    for (post, rel) in files {
        let mut path = prefix.join(rel);
        let mut walk = repo.revwalk()?;
        if walk.push_head().is_err() {
            break; // no commits yet
        }
        walk.set_sorting(Sort::TIME | Sort::TOPOLOGICAL)?;
        for oid in walk {
            let commit = repo.find_commit(oid?)?;
            let tree = commit.tree()?;
            let parent_tree = commit.parents().next().map(|p| p.tree()).transpose()?;
            let mut diff = repo.diff_tree_to_tree(parent_tree.as_ref(), Some(&tree), None)?;
            diff.find_similar(Some(DiffFindOptions::new().renames(true)))?;
            let mut hit = None;
            for delta in diff.deltas() {
                let new = delta.new_file().path().map(Path::to_path_buf);
                if new.as_deref() != Some(path.as_path()) {
                    continue;
                }
                let old = delta.old_file().path().map(Path::to_path_buf);
                let change = match delta.status() {
                    git2::Delta::Added => "added".to_string(),
                    git2::Delta::Renamed => format!(
                        "moved from {}",
                        old.as_deref()
                            .map(|p| strip(p, &prefix))
                            .unwrap_or_default()
                    ),
                    _ => "changed".to_string(),
                };
                hit = Some((change, old));
            }
            let Some((change, old)) = hit else { continue };
            let author = commit.author();
            entries.push(Entry {
                at: Timestamp::from_second(commit.time().seconds())
                    .unwrap_or(Timestamp::UNIX_EPOCH),
                post: post.clone(),
                what: What::Commit {
                    commit: commit.id().to_string(),
                    author: author.name().unwrap_or("unknown").to_string(),
                    summary: commit.summary().ok().flatten().unwrap_or("").to_string(),
                    change: change.clone(),
                    path: strip(&path, &prefix),
                },
            });
            // Before a move, the post lived at its old path.
            if change.starts_with("moved") {
                if let Some(old) = old {
                    path = old;
                }
            }
        }
    }
    let posts: BTreeSet<&str> = files.iter().map(|(p, _)| p.as_str()).collect();
    for (key, record) in &state.records {
        if !posts.contains(&*key.post) {
            continue;
        }
        // Newest first, like the commits from the walk.
        for e in record.entries.iter().rev() {
            let (event, detail) = describe(&e.event);
            entries.push(Entry {
                at: e.at,
                post: key.post.to_string(),
                what: What::Delivery {
                    delivery: key.to_string(),
                    event: event.into(),
                    detail,
                },
            });
        }
    }
    // Newest first; a stable sort keeps git's order (and the state's) for equal times.
    entries.sort_by_key(|e| std::cmp::Reverse(e.at));
    Ok(entries)
}

fn describe(event: &Event) -> (&'static str, String) {
    match event {
        Event::Intent {
            attempt, commit, ..
        } => (
            "intent",
            format!(
                "publishing (attempt {attempt}{})",
                commit
                    .as_deref()
                    .map(|c| format!(", content {}", &c[..c.len().min(7)]))
                    .unwrap_or_default()
            ),
        ),
        Event::Published { url, remote_id, .. } => (
            "published",
            url.clone().unwrap_or_else(|| remote_id.clone()),
        ),
        Event::Rejected { reason, .. } => ("rejected", reason.clone()),
        Event::Unknown { reason, .. } => ("unknown", reason.clone()),
        Event::Resolved {
            published: true,
            url,
        } => (
            "resolved",
            format!(
                "published{}",
                url.as_deref()
                    .map(|u| format!(" at {u}"))
                    .unwrap_or_default()
            ),
        ),
        Event::Resolved {
            published: false, ..
        } => ("resolved", "not published".into()),
        Event::Deleted { remote_id } => ("deleted", remote_id.clone()),
        Event::Withdrawn { reason } => ("withdrawn", format!("nothing was sent: {reason}")),
    }
}

fn workspace_prefix(repo: &Repository, root: &Path) -> Option<PathBuf> {
    let workdir = repo.workdir()?.canonicalize().ok()?;
    root.canonicalize()
        .ok()?
        .strip_prefix(&workdir)
        .ok()
        .map(Path::to_path_buf)
}

fn strip(path: &Path, prefix: &Path) -> String {
    path.strip_prefix(prefix)
        .unwrap_or(path)
        .display()
        .to_string()
}

pub fn render_text(entries: &[Entry], zone: &TimeZone, title: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "History of {title} (newest first, times in {})\n",
        zone.iana_name().unwrap_or("UTC")
    );
    if entries.is_empty() {
        out.push_str("Nothing recorded yet.\n");
        return out;
    }
    for e in entries {
        let when =
            e.at.to_zoned_datetime(zone.clone())
                .strftime("%Y-%m-%d %H:%M %:z");
        match &e.what {
            What::Commit {
                commit,
                author,
                summary,
                change,
                path,
            } => {
                let _ = writeln!(
                    out,
                    "{when}  {:<10} {}  {author}: \"{summary}\" ({}, {path})",
                    change.split(' ').next().unwrap_or(""),
                    e.post,
                    &commit[..7.min(commit.len())]
                );
                if let Some(from) = change.strip_prefix("moved from ") {
                    let _ = writeln!(out, "{:23}  {:<10} {}  from {from}", "", "", e.post);
                }
            }
            What::Delivery {
                delivery,
                event,
                detail,
            } => {
                let _ = writeln!(out, "{when}  {event:<10} {delivery}  {detail}");
            }
        }
    }
    out
}

pub fn render_json(entries: &[Entry]) -> String {
    let mut s =
        serde_json::to_string_pretty(&serde_json::json!({ "version": 1, "history": entries }))
            .unwrap_or_default();
    s.push('\n');
    s
}
