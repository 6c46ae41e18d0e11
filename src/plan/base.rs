//! The workspace as it was at a base revision (what a reviewer already approved), so the plan
//! can say which unpublished deliveries are new or edited.

use std::collections::BTreeMap;
use std::path::Path;

use git2::{ObjectType, Repository, TreeWalkMode, TreeWalkResult};
use jiff::Timestamp;

use crate::state::DeliveryKey;

/// A delivery at the base revision.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snapshot {
    pub content_hash: String,
    pub texts: Vec<String>,
}

#[derive(Debug)]
pub struct BaseSnapshot {
    /// The commit the base revision resolved to.
    pub revision: String,
    pub deliveries: BTreeMap<DeliveryKey, Snapshot>,
}

/// Renders the workspace as of `rev` (a commit, branch or tag). Files are written to a temporary
/// folder so the same loader runs on them; the working tree is not touched.
pub fn snapshot_at(
    repo: &Repository,
    rev: &str,
    workspace_root: &Path,
    at: Timestamp,
    cache: &crate::cache::Cache,
) -> Result<BaseSnapshot, String> {
    let commit = repo
        .revparse_single(rev)
        .and_then(|o| o.peel_to_commit())
        .map_err(|e| format!("cannot find the base revision `{rev}`: {}", e.message()))?;
    let workdir = repo.workdir().ok_or("the repository has no working tree")?;
    let workdir = workdir.canonicalize().map_err(|e| e.to_string())?;
    let root = workspace_root.canonicalize().map_err(|e| e.to_string())?;
    let rel = root
        .strip_prefix(&workdir)
        .map_err(|_| "the workspace is outside the repository".to_string())?;
    let tree = commit.tree().map_err(|e| e.message().to_string())?;
    let sub = if rel.as_os_str().is_empty() {
        tree
    } else {
        match tree.get_path(rel) {
            Ok(entry) => repo
                .find_tree(entry.id())
                .map_err(|e| e.message().to_string())?,
            // The workspace did not exist at the base: everything is new.
            Err(_) => {
                return Ok(BaseSnapshot {
                    revision: commit.id().to_string(),
                    deliveries: BTreeMap::new(),
                })
            }
        }
    };
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let mut failure = None;
    sub.walk(TreeWalkMode::PreOrder, |parent, entry| {
        if entry.kind() != Some(ObjectType::Blob) {
            return TreeWalkResult::Ok;
        }
        let Ok(name) = entry.name() else {
            return TreeWalkResult::Ok;
        };
        let path = dir.path().join(parent).join(name);
        let written = repo
            .find_blob(entry.id())
            .map_err(|e| e.message().to_string())
            .and_then(|b| {
                std::fs::create_dir_all(path.parent().unwrap_or(dir.path()))
                    .map_err(|e| e.to_string())?;
                std::fs::write(&path, b.content()).map_err(|e| e.to_string())
            });
        match written {
            Ok(()) => TreeWalkResult::Ok,
            Err(e) => {
                failure = Some(e);
                TreeWalkResult::Abort
            }
        }
    })
    .map_err(|e| failure.clone().unwrap_or_else(|| e.message().to_string()))?;
    if let Some(e) = failure {
        return Err(e);
    }
    // Nothing at the base is published as far as this check goes: its warnings are not shown.
    let report = crate::validate::validate_with(dir.path(), at, |_| Default::default(), cache);
    let deliveries = report
        .deliveries
        .iter()
        .map(|d| {
            let snap = Snapshot {
                content_hash: d.content_hash().to_string(),
                texts: d.parts.iter().map(|p| p.text.clone()).collect(),
            };
            (DeliveryKey::new(&d.post_id, &d.channel), snap)
        })
        .collect();
    Ok(BaseSnapshot {
        revision: commit.id().to_string(),
        deliveries,
    })
}
