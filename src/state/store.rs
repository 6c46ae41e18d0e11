use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use git2::build::TreeUpdateBuilder;
use git2::{FileMode, ObjectType, Oid, Repository, Signature, TreeWalkMode, TreeWalkResult};

use super::record::{DeliveryKey, Entry, Record};

const STATE_README: &str = "# smm state\n\nThis branch is written by `smm apply`: one file per delivery (a post on a channel) under\n`deliveries/<channel>/<post id>.jsonl`, one JSON line per event (intent, published, rejected,\nunknown, resolved). Do not edit it by hand; use `smm resolve` to settle an unknown delivery.\n";

const FREEZE_FILE: &str = "freeze.json";

/// Every delivery record at one revision of the state branch.
#[derive(Debug, Default)]
pub struct State {
    /// The state branch's commit, or `None` before anything was recorded.
    pub revision: Option<String>,
    pub records: BTreeMap<DeliveryKey, Record>,
    /// Set by `smm freeze`: nothing is published until `smm unfreeze`.
    pub freeze: Option<Freeze>,
}

/// The crisis switch, kept on the state branch so it takes effect without a review.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Freeze {
    pub reason: String,
    pub by: String,
    pub at: jiff::Timestamp,
}

/// A rejected push: someone else moved the state branch on the remote first.
#[derive(Debug)]
pub enum PushError {
    Rejected,
    Failed(String),
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
    Corrupt {
        path: String,
        line: usize,
        message: String,
    },
    /// The branch moved since it was read: another writer was first.
    Conflict {
        expected: Option<String>,
        actual: Option<String>,
    },
    /// Fetching from or pushing to the remote failed.
    Remote(String),
}

impl fmt::Display for StateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StateError::Git(e) => write!(f, "git: {}", e.message()),
            StateError::Corrupt {
                path,
                line,
                message,
            } => write!(
                f,
                "state file {path} line {line} is not a valid record: {message}"
            ),
            StateError::Remote(m) => write!(f, "{m}"),
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

fn push_error(e: PushError) -> StateError {
    match e {
        PushError::Rejected => {
            StateError::Remote("the remote's state branch moved while syncing; run again".into())
        }
        PushError::Failed(m) => StateError::Remote(format!("git push failed: {m}")),
    }
}

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
            Ok(repo) => Ok(Some(Store {
                repo,
                branch: branch.to_string(),
            })),
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
        [
            self.local_ref(),
            format!("refs/remotes/origin/{}", self.branch),
        ]
        .iter()
        .find_map(|r| self.repo.refname_to_id(r).ok())
    }

    /// The state's current revision, without reading the records (cheap: one ref lookup).
    pub fn revision(&self) -> Option<String> {
        self.head().map(|o| o.to_string())
    }

    pub fn read(&self) -> Result<State, StateError> {
        let Some(head) = self.head() else {
            return Ok(State::default());
        };
        self.read_commit(head)
    }

    fn read_commit(&self, head: Oid) -> Result<State, StateError> {
        let tree = self.repo.find_commit(head)?.tree()?;
        let mut records = BTreeMap::new();
        let mut problem = None;
        tree.walk(TreeWalkMode::PreOrder, |dir, entry| {
            let Ok(name) = entry.name() else {
                return TreeWalkResult::Ok;
            };
            let path = format!("{dir}{name}");
            let Some(rest) = path
                .strip_prefix("deliveries/")
                .and_then(|p| p.strip_suffix(".jsonl"))
            else {
                return TreeWalkResult::Ok;
            };
            if entry.kind() != Some(ObjectType::Blob) {
                return TreeWalkResult::Ok;
            }
            let Some((channel, post)) = rest.split_once('/') else {
                return TreeWalkResult::Ok;
            };
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
                    problem = Some(StateError::Corrupt {
                        path: path.clone(),
                        line,
                        message,
                    });
                    TreeWalkResult::Abort
                }
            }
        })
        .or_else(|e| if problem.is_some() { Ok(()) } else { Err(e) })?;
        if let Some(p) = problem {
            return Err(p);
        }
        let freeze = match tree.get_path(Path::new(FREEZE_FILE)) {
            Ok(entry) => {
                let blob = self.repo.find_blob(entry.id())?;
                Some(
                    serde_json::from_slice(blob.content()).map_err(|e| StateError::Corrupt {
                        path: FREEZE_FILE.into(),
                        line: 1,
                        message: e.to_string(),
                    })?,
                )
            }
            Err(_) => None,
        };
        Ok(State {
            revision: Some(head.to_string()),
            records,
            freeze,
        })
    }

    /// Appends entries as one commit on the state branch, only if the branch is still at
    /// `expected` (compare-and-swap). Returns the new revision.
    pub fn append(
        &self,
        expected: Option<&str>,
        changes: &[(DeliveryKey, Entry)],
        message: &str,
    ) -> Result<String, StateError> {
        self.commit(expected, changes, None, message)
    }

    /// Sets (`Some`) or lifts (`None`) the freeze, as one commit (compare-and-swap like `append`).
    pub fn set_freeze(
        &self,
        expected: Option<&str>,
        freeze: Option<&Freeze>,
        message: &str,
    ) -> Result<String, StateError> {
        self.commit(expected, &[], Some(freeze), message)
    }

    fn commit(
        &self,
        expected: Option<&str>,
        changes: &[(DeliveryKey, Entry)],
        freeze: Option<Option<&Freeze>>,
        message: &str,
    ) -> Result<String, StateError> {
        let current = self.head();
        if current.map(|o| o.to_string()).as_deref() != expected {
            return Err(StateError::Conflict {
                expected: expected.map(str::to_string),
                actual: current.map(|o| o.to_string()),
            });
        }
        let parent = current.map(|o| self.repo.find_commit(o)).transpose()?;
        let base_tree = match &parent {
            Some(c) => c.tree()?,
            None => self.repo.find_tree(self.repo.treebuilder(None)?.write()?)?,
        };
        let mut update = TreeUpdateBuilder::new();
        if parent.is_none() {
            update.upsert(
                "README.md",
                self.repo.blob(STATE_README.as_bytes())?,
                FileMode::Blob,
            );
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
            let line = serde_json::to_string(entry).map_err(|e| StateError::Corrupt {
                path: key.path(),
                line: 0,
                message: e.to_string(),
            })?;
            buf.extend_from_slice(line.as_bytes());
            buf.push(b'\n');
        }
        for (path, bytes) in &contents {
            update.upsert(path, self.repo.blob(bytes)?, FileMode::Blob);
        }
        match freeze {
            Some(Some(f)) => {
                let json = serde_json::to_vec_pretty(f).map_err(|e| StateError::Corrupt {
                    path: FREEZE_FILE.into(),
                    line: 0,
                    message: e.to_string(),
                })?;
                update.upsert(FREEZE_FILE, self.repo.blob(&json)?, FileMode::Blob);
            }
            Some(None) => {
                update.remove(FREEZE_FILE);
            }
            None => {}
        }
        let tree = self
            .repo
            .find_tree(update.create_updated(&self.repo, &base_tree)?)?;
        let sig = self
            .repo
            .signature()
            .or_else(|_| Signature::now("smm", "smm@localhost"))?;
        let parents: Vec<&git2::Commit> = parent.iter().collect();
        let commit = self
            .repo
            .commit(None, &sig, &sig, message, &tree, &parents)?;
        let reflog = format!("smm: {message}");
        let result = match current {
            Some(old) => self
                .repo
                .reference_matching(&self.local_ref(), commit, true, old, &reflog)
                .map(|_| ()),
            None => self
                .repo
                .reference(&self.local_ref(), commit, false, &reflog)
                .map(|_| ()),
        };
        match result {
            Ok(()) => Ok(commit.to_string()),
            Err(e)
                if matches!(
                    e.code(),
                    git2::ErrorCode::Modified | git2::ErrorCode::Exists
                ) =>
            {
                Err(StateError::Conflict {
                    expected: expected.map(str::to_string),
                    actual: self.head().map(|o| o.to_string()),
                })
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The remote the state is shared through (`origin`), if the repository has one.
    pub fn remote(&self) -> Option<String> {
        self.repo
            .find_remote("origin")
            .ok()
            .map(|_| "origin".to_string())
    }

    fn git(&self) -> std::process::Command {
        let mut cmd = std::process::Command::new("git");
        cmd.arg("--git-dir").arg(self.repo.path());
        // Never prompt: CI has no terminal, and a hanging apply is worse than a failed one.
        cmd.env("GIT_TERMINAL_PROMPT", "0");
        cmd
    }

    /// Brings the local state branch level with the remote's: fetch, then fast-forward, or push
    /// local results the remote lacks. Uses the `git` command so CI's credentials apply.
    pub fn sync(&self) -> Result<(), StateError> {
        let Some(remote) = self.remote() else {
            return Ok(());
        };
        let tracking = format!("refs/remotes/{remote}/{}", self.branch);
        let out = self
            .git()
            .args(["fetch", "--quiet", "--no-tags", &remote])
            .arg(format!("+{}:{tracking}", self.local_ref()))
            .output()
            .map_err(|e| StateError::Remote(format!("cannot run git: {e}")))?;
        let stderr = String::from_utf8_lossy(&out.stderr);
        let missing_on_remote = stderr.contains("couldn't find remote ref");
        if !out.status.success() && !missing_on_remote {
            return Err(StateError::Remote(format!(
                "git fetch {remote} failed: {}",
                stderr.trim()
            )));
        }
        let local = self.repo.refname_to_id(&self.local_ref()).ok();
        let theirs = if missing_on_remote {
            None
        } else {
            self.repo.refname_to_id(&tracking).ok()
        };
        match (local, theirs) {
            (None, None) => Ok(()),
            (None, Some(t)) => {
                self.repo
                    .reference(&self.local_ref(), t, false, "smm: state from remote")?;
                Ok(())
            }
            (Some(_), None) => self.push().map_err(push_error),
            (Some(l), Some(t)) if l == t => Ok(()),
            (Some(l), Some(t)) if self.repo.graph_descendant_of(t, l)? => {
                self.repo.reference_matching(
                    &self.local_ref(),
                    t,
                    true,
                    l,
                    "smm: fast-forward state",
                )?;
                Ok(())
            }
            (Some(l), Some(t)) if self.repo.graph_descendant_of(l, t)? => {
                self.push().map_err(push_error)
            }
            (Some(l), Some(t)) => self.rebase_onto(l, t),
        }
    }

    /// The local branch has commits the remote never got, and the remote moved on: results
    /// recorded locally (a post that went out) are appended again on top of the remote's state.
    /// Local intents that never reached the remote are dropped: their requests were never sent.
    fn rebase_onto(&self, local: Oid, theirs: Oid) -> Result<(), StateError> {
        let mine = self.read_commit(local)?;
        self.repo.reference_matching(
            &self.local_ref(),
            theirs,
            true,
            local,
            "smm: take remote state",
        )?;
        let remote = self.read()?;
        let mut changes = Vec::new();
        for (key, record) in &mine.records {
            let known = remote.records.get(key).map_or(0, |r| r.entries.len());
            for entry in record.entries.iter().skip(known) {
                if !matches!(entry.event, super::Event::Intent { .. }) {
                    changes.push((key.clone(), entry.clone()));
                }
            }
        }
        if !changes.is_empty() {
            self.append(
                remote.revision.as_deref(),
                &changes,
                "record results kept from an earlier run",
            )?;
            self.push().map_err(push_error)?;
        }
        Ok(())
    }

    /// Pushes the local state branch; a non-fast-forward rejection means another runner wrote first.
    pub fn push(&self) -> Result<(), PushError> {
        let Some(remote) = self.remote() else {
            return Ok(());
        };
        let out = self
            .git()
            .args(["push", "--porcelain", "--quiet", &remote])
            .arg(format!("{0}:{0}", self.local_ref()))
            .output()
            .map_err(|e| PushError::Failed(format!("cannot run git: {e}")))?;
        if out.status.success() {
            // Keep the tracking ref current so the next read sees what the remote has.
            if let Ok(id) = self.repo.refname_to_id(&self.local_ref()) {
                let _ = self.repo.reference(
                    &format!("refs/remotes/{remote}/{}", self.branch),
                    id,
                    true,
                    "smm: pushed",
                );
            }
            return Ok(());
        }
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        // A race lost on the remote shows as a rejection, or (another push holding the ref's
        // lock at that moment) as "failed to update ref" / "cannot lock ref".
        let lost_race = [
            "[rejected]",
            "non-fast-forward",
            "fetch first",
            "stale info",
            "failed to update ref",
            "cannot lock ref",
        ];
        if lost_race.iter().any(|m| text.contains(m)) {
            Err(PushError::Rejected)
        } else {
            Err(PushError::Failed(text.trim().to_string()))
        }
    }

    /// Moves the local state branch back (after a push was rejected: the commit never counted).
    pub fn reset_local(&self, to: Option<&str>) -> Result<(), StateError> {
        match to {
            Some(rev) => {
                self.repo.reference(
                    &self.local_ref(),
                    Oid::from_str(rev)?,
                    true,
                    "smm: drop rejected commit",
                )?;
            }
            None => {
                if let Ok(mut r) = self.repo.find_reference(&self.local_ref()) {
                    r.delete()?;
                }
            }
        }
        Ok(())
    }
}

impl ContentRevision {
    /// The revision of the workspace at `workspace_root` in `repo`: HEAD, its branch, and
    /// whether anything under the workspace differs from it (a `git status`).
    pub fn of(repo: &Repository, workspace_root: &Path) -> ContentRevision {
        let status = WorkspaceStatus::of(repo, workspace_root);
        ContentRevision::at_head(repo, status.is_none_or(|s| s.dirty()))
    }

    /// HEAD and its branch in `repo`, with `dirty` as found by the caller.
    pub fn at_head(repo: &Repository, dirty: bool) -> ContentRevision {
        let head = repo.head().ok();
        let commit = head
            .as_ref()
            .and_then(|h| h.target())
            .map(|o| o.to_string());
        let branch = head
            .as_ref()
            .filter(|h| h.is_branch())
            .and_then(|h| h.shorthand().ok().map(str::to_string));
        ContentRevision {
            commit,
            branch,
            dirty,
        }
    }
}

/// The files under a workspace that `git status` lists (changed, staged, new or deleted), kept up
/// to date one file at a time by a session that follows edits (`smm plan --watch`).
pub struct WorkspaceStatus {
    /// The workspace folder, relative to the repository's working folder.
    prefix: PathBuf,
    /// Repository-relative paths.
    listed: std::collections::BTreeSet<PathBuf>,
}

impl WorkspaceStatus {
    /// A whole `git status` of the workspace; `None` when it cannot be had (then the workspace
    /// counts as changed).
    pub fn of(repo: &Repository, workspace_root: &Path) -> Option<WorkspaceStatus> {
        let prefix = in_repository(repo, workspace_root)?;
        let mut opts = git2::StatusOptions::new();
        opts.include_untracked(true)
            .recurse_untracked_dirs(true)
            .include_ignored(false);
        if !prefix.as_os_str().is_empty() {
            opts.pathspec(&prefix);
        }
        let statuses = repo.statuses(Some(&mut opts)).ok()?;
        let listed = statuses
            .iter()
            .filter_map(|e| e.path().ok().map(PathBuf::from))
            .collect();
        Some(WorkspaceStatus { prefix, listed })
    }

    pub fn dirty(&self) -> bool {
        !self.listed.is_empty()
    }

    /// Looks at the file at `rel` (workspace-relative) again, as `git status` would.
    pub fn refresh(&mut self, repo: &Repository, rel: &Path) {
        let path = self.prefix.join(rel);
        // A path gone and never tracked is not found: nothing to list.
        let listed = match repo.status_file(&path) {
            Ok(s) => !s.is_empty() && !s.contains(git2::Status::IGNORED),
            Err(e) => e.code() != git2::ErrorCode::NotFound,
        };
        if listed {
            self.listed.insert(path);
        } else {
            self.listed.remove(&path);
        }
    }
}

/// Where the workspace at `workspace_root` is in `repo`'s working folder (empty at its top);
/// `None` outside it, or in a bare repository.
pub fn in_repository(repo: &Repository, workspace_root: &Path) -> Option<PathBuf> {
    let workdir = repo.workdir()?.canonicalize().ok()?;
    let root = workspace_root.canonicalize().ok()?;
    Some(root.strip_prefix(&workdir).ok()?.to_path_buf())
}
