//! The workspace as it was at a base revision (what a reviewer already approved), so the plan
//! can say which unpublished deliveries are new or edited.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use git2::{ObjectType, Oid, Repository, TreeWalkMode, TreeWalkResult};
use jiff::Timestamp;

use crate::cache::Cache;
use crate::render::Delivery;
use crate::source::{ContentId, FileId};
use crate::state::DeliveryKey;
use crate::validate::Report;

/// A delivery at the base revision.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snapshot {
    /// The digest of its content hash (see `Delivery::content_hash`).
    pub digest: [u8; 32],
    pub texts: Vec<String>,
}

#[derive(Debug)]
pub struct BaseSnapshot {
    /// The commit the base revision resolved to.
    pub revision: String,
    /// The deliveries rendered from the base's own files.
    pub deliveries: BTreeMap<DeliveryKey, Snapshot>,
    /// The posts of the working tree (indices into its `Workspace::posts`) whose file is the same
    /// at the base, with everything posts share: their deliveries are the base's, unchanged.
    pub unchanged_posts: HashSet<usize>,
}

impl BaseSnapshot {
    /// The base's version of a delivery of the working tree, if it had one: `None` for a new
    /// delivery.
    pub fn version_of(&self, delivery: &Delivery) -> Option<BaseVersion<'_>> {
        if self.unchanged_posts.contains(&delivery.post) {
            return Some(BaseVersion::Same);
        }
        let key = DeliveryKey::new(delivery.post_id.clone(), delivery.channel.clone());
        let snap = self.deliveries.get(&key)?;
        Some(if snap.digest == *delivery.digest() {
            BaseVersion::Same
        } else {
            BaseVersion::Other(&snap.texts)
        })
    }
}

/// A delivery at the base: the same, or other texts.
pub enum BaseVersion<'b> {
    Same,
    Other(&'b [String]),
}

/// Renders the workspace as of `rev` (a commit, branch or tag). A post file that is byte for
/// byte the same at `rev` as in `current` (the validated working tree) renders the same there
/// when everything posts share (smm.yaml, templates, campaign files) is the same too: its
/// deliveries are taken from `current`. The base's other files are rendered (see `render_own`)
/// when a post file is among them.
pub fn snapshot_at(
    repo: &Repository,
    rev: &str,
    workspace_root: &Path,
    at: Timestamp,
    cache: &Cache,
    current: &Report,
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
                    unchanged_posts: HashSet::new(),
                })
            }
        }
    };
    // Deliveries come from smm.yaml, templates and post files alone: media (possibly large
    // videos) and anything else are neither walked nor written.
    let renders = |path: &Path| {
        path == Path::new(crate::workspace::SETTINGS_FILE)
            || ["templates", "campaigns", "posts"]
                .iter()
                .any(|dir| path.starts_with(dir))
    };
    // By path, looked up by path: a hash map (comparing 100,000 paths component by component to
    // keep them in order was a tenth of a plan on a branch).
    let mut files: HashMap<PathBuf, Oid> = HashMap::new();
    sub.walk(TreeWalkMode::PreOrder, |parent, entry| {
        let Ok(name) = entry.name() else {
            return TreeWalkResult::Skip;
        };
        let path = Path::new(parent).join(name);
        if !renders(&path) {
            return TreeWalkResult::Skip;
        }
        if entry.kind() == Some(ObjectType::Blob) {
            files.insert(path, entry.id());
        }
        TreeWalkResult::Ok
    })
    .map_err(|e| e.message().to_string())?;

    let unchanged_posts = unchanged_posts(&files, current);
    let reused: HashSet<&Path> = unchanged_posts
        .iter()
        .map(|&post| current.sources.path(current.workspace.posts[post].file))
        .collect();
    // The base's own files: all but the working tree's unchanged posts.
    let own: Vec<(&PathBuf, &Oid)> = files
        .iter()
        .filter(|(path, _)| !reused.contains(path.as_path()))
        .collect();
    let is_post =
        |p: &Path| p.starts_with("posts") || (p.starts_with("campaigns") && !is_campaign_file(p));
    // Without a post file of its own (the usual branch before its first edit) the base has
    // nothing to render.
    let deliveries = if own.iter().any(|(path, _)| is_post(path)) {
        render_own(repo, &own, at, cache)?
    } else {
        BTreeMap::new()
    };
    Ok(BaseSnapshot {
        revision: commit.id().to_string(),
        deliveries,
        unchanged_posts,
    })
}

/// The deliveries of the base's own files (with the shared ones they need), rendered from a
/// temporary folder by the same loader; the working tree is not touched.
fn render_own(
    repo: &Repository,
    own: &[(&PathBuf, &Oid)],
    at: Timestamp,
    cache: &Cache,
) -> Result<BTreeMap<DeliveryKey, Snapshot>, String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    for (path, oid) in own {
        let blob = repo.find_blob(**oid).map_err(|e| e.message().to_string())?;
        let to = dir.path().join(path);
        std::fs::create_dir_all(to.parent().unwrap_or(dir.path())).map_err(|e| e.to_string())?;
        std::fs::write(&to, blob.content()).map_err(|e| e.to_string())?;
    }
    // Nothing at the base is published as far as this check goes: its warnings are not shown.
    let report = crate::validate::validate_with(dir.path(), at, |_| Default::default(), cache);
    Ok(report
        .deliveries
        .iter()
        .map(|d| {
            let snap = Snapshot {
                digest: *d.digest(),
                texts: d.parts.iter().map(|p| p.text.clone()).collect(),
            };
            (DeliveryKey::new(d.post_id.clone(), d.channel.clone()), snap)
        })
        .collect())
}

/// The posts of `current` (indices) whose file is the same at the base (`files`: path in the
/// workspace to blob id), when smm.yaml, every template and every campaign file are the same
/// too; else none.
fn unchanged_posts(files: &HashMap<PathBuf, Oid>, current: &Report) -> HashSet<usize> {
    let ws = &current.workspace;
    let same_id = |path: &Path, id: Oid| files.get(path) == Some(&id);
    // A source file knows its blob id (from its stamp, or computed once from its text).
    let same_file = |file: FileId| {
        let f = current.sources.get(file);
        same_id(&f.path, git_oid(f.content()))
    };
    let Some(settings) = &ws.settings else {
        return HashSet::new();
    };
    let templates_at_base = files.keys().filter(|p| p.starts_with("templates")).count();
    let shared_same = same_file(settings.file)
        && templates_at_base == ws.templates.len()
        && ws
            .templates
            .iter()
            .all(|(name, text)| same_id(&Path::new("templates").join(name), blob_id(text)))
        && files.keys().filter(|p| is_campaign_file(p)).count() == ws.campaigns.len()
        && ws.campaigns.values().all(|c| same_file(c.file));
    if !shared_same {
        return HashSet::new();
    }
    use rayon::prelude::*;
    ws.posts
        .par_iter()
        .enumerate()
        .filter(|(_, p)| same_file(p.file))
        .map(|(index, _)| index)
        .collect()
}

/// The id git gives `text` as a file (computed by the sha1 crate, which uses the CPU's SHA
/// instructions: libgit2's collision-detecting SHA-1 took 3% of a plan).
fn blob_id(text: &str) -> Oid {
    git_oid(&ContentId::of(text))
}

fn git_oid(content: &ContentId) -> Oid {
    Oid::from_bytes(&content.git_blob).unwrap_or(Oid::ZERO_SHA1)
}

/// `campaigns/<slug>/campaign.yaml` (or `.yml`).
fn is_campaign_file(path: &Path) -> bool {
    let parts: Vec<_> = path.components().collect();
    parts.len() == 3
        && parts[0].as_os_str() == "campaigns"
        && matches!(
            parts[2].as_os_str().to_str(),
            Some("campaign.yaml" | "campaign.yml")
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blob_ids_are_gits() {
        for text in [
            "",
            "text: Spring tea is here.\n",
            "Café ☕ 𝒳\r\n",
            &"x".repeat(70_000),
        ] {
            assert_eq!(
                blob_id(text),
                Oid::hash_object(ObjectType::Blob, text.as_bytes()).expect("hash")
            );
        }
    }
}
