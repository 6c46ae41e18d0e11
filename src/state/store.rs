use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use git2::build::TreeUpdateBuilder;
use git2::{FileMode, ObjectType, Oid, Repository, Signature, TreeWalkMode, TreeWalkResult};

use super::record::{DeliveryKey, Entry, Record};

const STATE_README: &str = "# smm state\n\nThis branch is written by `smm apply`: one file per delivery (a post on a channel) under\n`deliveries/<channel>/<post id>.jsonl`, one JSON line per event (intent, published, rejected,\nunknown, resolved). Do not edit it by hand; use `smm resolve` to settle an unknown delivery.\n";

/// Every delivery record at one revision of the state branch.
#[derive(Debug, Default)]
pub struct State {
    /// The state branch's commit, or `None` before anything was recorded.
    pub revision: Option<String>,
    pub records: BTreeMap<DeliveryKey, Record>,
}

/// Which content the workspace is at.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ContentRevision {
    pub commit: Option<String>,
    pub branch: Option<String>,
    /// Uncommitted changes under the workspace folder.
    pub dirty: bool,
}

#[derive(Debug)]
pub enum StateError {
    Git(git2::Error),
    /// A state file that does not parse: never guess, a person must look.
    Corrupt { path: String, line: usize, message: String },
    /// The branch moved since it was read: another writer was first.
    Conflict { expected: Option<String>, actual: Option<String> },
}

impl fmt::Display for StateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StateError::Git(e) => write!(f, "git: {}", e.message()),
            StateError::Corrupt { path, line, message } => write!(f, "state file {path} line {line} is not a valid record: {message}"),
            StateError::Conflict { expected, actual } => write!(
                f,
                "the state branch moved from {} to {} while this run was working",
                expected.as_deref().unwrap_or("(none)"),
                actual.as_deref().unwrap_or("(none)")
            ),
        }
    }
}

impl std::error::Error for StateError {}

impl From<git2::Error> for StateError {
    fn from(e: git2::Error) -> StateError {
        StateError::Git(e)
    }
}

/// The git repository holding a workspace, and its state branch.
pub struct Store {
    repo: Repository,
    branch: String,
}

impl Store {
    /// Opens the repository containing `workspace_root`; `None` when it is not in one.
    pub fn open(workspace_root: &Path, branch: &str) -> Result<Option<Store>, StateError> {
        match Repository::discover(workspace_root) {
            Ok(repo) => Ok(Some(Store { repo, branch: branch.to_string() })),
            Err(e) if e.code() == git2::ErrorCode::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    pub fn repository(&self) -> &Repository {
        &self.repo
    }

    fn local_ref(&self) -> String {
        format!("refs/heads/{}", self.branch)
    }

    /// The state's head: the local branch, else the remote's copy of it.
    fn head(&self) -> Option<Oid> {
        [self.local_ref(), format!("refs/remotes/origin/{}", self.branch)]
            .iter()
            .find_map(|r| self.repo.refname_to_id(r).ok())
    }

    pub fn read(&self) -> Result<State, StateError> {
        let Some(head) = self.head() else { return Ok(State::default()) };
        let tree = self.repo.find_commit(head)?.tree()?;
        let mut records = BTreeMap::new();
        let mut problem = None;
        tree.walk(TreeWalkMode::PreOrder, |dir, entry| {
            let Ok(name) = entry.name() else { return TreeWalkResult::Ok };
            let path = format!("{dir}{name}");
            let Some(rest) = path.strip_prefix("deliveries/").and_then(|p| p.strip_suffix(".jsonl")) else {
                return TreeWalkResult::Ok;
            };
            if entry.kind() != Some(ObjectType::Blob) {
                return TreeWalkResult::Ok;
            }
            let Some((channel, post)) = rest.split_once('/') else { return TreeWalkResult::Ok };
            let key = DeliveryKey::new(post, channel);
            let text = match self.repo.find_blob(entry.id()) {
                Ok(b) => String::from_utf8_lossy(b.content()).into_owned(),
                Err(e) => {
                    problem = Some(StateError::Git(e));
                    return TreeWalkResult::Abort;
                }
            };
            match Record::parse(key.clone(), &text) {
                Ok(r) => {
                    records.insert(key, r);
                    TreeWalkResult::Ok
                }
                Err((line, message)) => {
                    problem = Some(StateError::Corrupt { path: path.clone(), line, message });
                    TreeWalkResult::Abort
                }
            }
        })
        .or_else(|e| if problem.is_some() { Ok(()) } else { Err(e) })?;
        if let Some(p) = problem {
            return Err(p);
        }
        Ok(State { revision: Some(head.to_string()), records })
    }

    /// Appends entries as one commit on the state branch, only if the branch is still at
    /// `expected` (compare-and-swap). Returns the new revision.
    pub fn append(&self, expected: Option<&str>, changes: &[(DeliveryKey, Entry)], message: &str) -> Result<String, StateError> {
        let current = self.head();
        if current.map(|o| o.to_string()).as_deref() != expected {
            return Err(StateError::Conflict { expected: expected.map(str::to_string), actual: current.map(|o| o.to_string()) });
        }
        let parent = current.map(|o| self.repo.find_commit(o)).transpose()?;
        let base_tree = match &parent {
            Some(c) => c.tree()?,
            None => self.repo.find_tree(self.repo.treebuilder(None)?.write()?)?,
        };
        let mut update = TreeUpdateBuilder::new();
        if parent.is_none() {
            update.upsert("README.md", self.repo.blob(STATE_README.as_bytes())?, FileMode::Blob);
        }
        // Several entries for one file in one commit append in order.
        let mut contents: BTreeMap<String, Vec<u8>> = BTreeMap::new();
        for (key, entry) in changes {
            let path = key.path();
            if !contents.contains_key(&path) {
                let existing = base_tree
                    .get_path(Path::new(&path))
                    .ok()
                    .and_then(|e| self.repo.find_blob(e.id()).ok())
                    .map(|b| b.content().to_vec())
                    .unwrap_or_default();
                contents.insert(path.clone(), existing);
            }
            let buf = contents.entry(path).or_default();
            if !buf.is_empty() && !buf.ends_with(b"\n") {
                buf.push(b'\n');
            }
            let line = serde_json::to_string(entry).map_err(|e| StateError::Corrupt { path: key.path(), line: 0, message: e.to_string() })?;
            buf.extend_from_slice(line.as_bytes());
            buf.push(b'\n');
        }
        for (path, bytes) in &contents {
            update.upsert(path, self.repo.blob(bytes)?, FileMode::Blob);
        }
        let tree = self.repo.find_tree(update.create_updated(&self.repo, &base_tree)?)?;
        let sig = self.repo.signature().or_else(|_| Signature::now("smm", "smm@localhost"))?;
        let parents: Vec<&git2::Commit> = parent.iter().collect();
        let commit = self.repo.commit(None, &sig, &sig, message, &tree, &parents)?;
        let reflog = format!("smm: {message}");
        let result = match current {
            Some(old) => self.repo.reference_matching(&self.local_ref(), commit, true, old, &reflog).map(|_| ()),
            None => self.repo.reference(&self.local_ref(), commit, false, &reflog).map(|_| ()),
        };
        match result {
            Ok(()) => Ok(commit.to_string()),
            Err(e) if matches!(e.code(), git2::ErrorCode::Modified | git2::ErrorCode::Exists) => {
                Err(StateError::Conflict { expected: expected.map(str::to_string), actual: self.head().map(|o| o.to_string()) })
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The content commit the workspace is at, and whether its folder has uncommitted changes.
    pub fn content_revision(&self, workspace_root: &Path) -> ContentRevision {
        let head = self.repo.head().ok();
        let commit = head.as_ref().and_then(|h| h.target()).map(|o| o.to_string());
        let branch = head.as_ref().filter(|h| h.is_branch()).and_then(|h| h.shorthand().ok().map(str::to_string));
        let dirty = self.workspace_dirty(workspace_root).unwrap_or(true);
        ContentRevision { commit, branch, dirty }
    }

    fn workspace_dirty(&self, workspace_root: &Path) -> Option<bool> {
        let workdir = self.repo.workdir()?.canonicalize().ok()?;
        let root = workspace_root.canonicalize().ok()?;
        let rel = root.strip_prefix(&workdir).ok()?;
        let mut opts = git2::StatusOptions::new();
        opts.include_untracked(true).recurse_untracked_dirs(true).include_ignored(false);
        if !rel.as_os_str().is_empty() {
            opts.pathspec(rel);
        }
        let statuses = self.repo.statuses(Some(&mut opts)).ok()?;
        Some(!statuses.is_empty())
    }
}
