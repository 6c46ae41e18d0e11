//! Shared helpers: fixture workspaces in temporary folders, running the smm binary.

#![allow(dead_code)]

pub mod adapter;
pub mod fault_proxy;
pub mod pds;
pub mod prism;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The instant tests validate at, so "in the past" checks are stable.
pub const NOW: &str = "2027-01-01T00:00:00Z";

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn fixtures() -> PathBuf {
    repo_root().join("tests/fixtures")
}

/// Copies `src` into `dst` recursively, overwriting files that exist.
pub fn copy_tree(src: &Path, dst: &Path) {
    for entry in std::fs::read_dir(src).expect("read fixture dir") {
        let entry = entry.expect("dir entry");
        let target = dst.join(entry.file_name());
        if entry.path().is_dir() {
            std::fs::create_dir_all(&target).expect("create dir");
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy file");
        }
    }
}

/// A workspace made of the base fixture with `overlay`'s files laid over it. A file named
/// `DELETE` in the overlay lists base paths to remove, one per line.
pub fn workspace(overlay: Option<&Path>) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    copy_tree(&fixtures().join("base"), dir.path());
    if let Some(overlay) = overlay {
        copy_tree(overlay, dir.path());
        let delete = dir.path().join("DELETE");
        if let Ok(list) = std::fs::read_to_string(&delete) {
            for line in list.lines().map(str::trim).filter(|l| !l.is_empty()) {
                let p = dir.path().join(line);
                if p.is_dir() {
                    std::fs::remove_dir_all(&p).expect("delete dir");
                } else {
                    std::fs::remove_file(&p).expect("delete file");
                }
            }
            std::fs::remove_file(&delete).expect("remove DELETE");
        }
        let _ = std::fs::remove_file(dir.path().join("EXPECT"));
    }
    dir
}

/// Runs the smm binary with `args`, without colour.
pub fn smm(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_smm"))
        .args(args)
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        .output()
        .expect("run smm")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Removes ANSI escape sequences.
pub fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Makes `dir` a git repository on `main` with everything committed (fixed author and time, so
/// commit ids are stable).
pub fn git_init(dir: &Path) -> git2::Repository {
    let mut opts = git2::RepositoryInitOptions::new();
    opts.initial_head("main");
    let repo = git2::Repository::init_opts(dir, &opts).expect("git init");
    {
        let mut cfg = repo.config().expect("config");
        cfg.set_str("user.name", "Test Author").expect("name");
        cfg.set_str("user.email", "author@example.com")
            .expect("email");
    }
    git_commit_all(&repo, "initial content");
    repo
}

/// Commits every change in the working tree on the current branch.
pub fn git_commit_all(repo: &git2::Repository, message: &str) -> git2::Oid {
    let mut index = repo.index().expect("index");
    index
        .add_all(["*"], git2::IndexAddOption::DEFAULT, None)
        .expect("add");
    index.update_all(["*"], None).expect("update");
    index.write().expect("write index");
    let tree = repo
        .find_tree(index.write_tree().expect("tree"))
        .expect("find tree");
    let parent = repo.head().ok().and_then(|h| h.peel_to_commit().ok());
    // A minute after the previous commit: stable ids, and history in a meaningful order.
    let time = parent
        .as_ref()
        .map_or(1_800_000_000, |p| p.time().seconds() + 60);
    let sig = git2::Signature::new(
        "Test Author",
        "author@example.com",
        &git2::Time::new(time, 0),
    )
    .expect("sig");
    let parents: Vec<&git2::Commit> = parent.iter().collect();
    repo.commit(Some("HEAD"), &sig, &sig, message, &tree, &parents)
        .expect("commit")
}

/// Replaces 40- and 7-character hex commit ids with placeholders, for snapshots.
pub fn redact_ids(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let run = bytes[i..]
            .iter()
            .take_while(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
            .count();
        let boundary_before = i == 0 || !bytes[i - 1].is_ascii_alphanumeric();
        let boundary_after = bytes
            .get(i + run)
            .is_none_or(|b| !b.is_ascii_alphanumeric());
        if boundary_before
            && boundary_after
            && (run == 40 || run == 7)
            && bytes[i..i + run].iter().any(u8::is_ascii_digit)
        {
            out.push_str(if run == 40 { "<commit>" } else { "<rev>" });
            i += run;
        } else {
            let ch = s[i..].chars().next().expect("char");
            out.push(ch);
            i += ch.len_utf8();
        }
    }
    out
}

/// Writes a file below `root`, creating folders.
pub fn write(root: &Path, rel: &str, text: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
    std::fs::write(p, text).expect("write");
}

/// Runs the `git` command and returns its stdout; panics with git's message on failure.
pub fn git(args: &[&str], cwd: &Path) -> String {
    let o = Command::new("git")
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("git");
    assert!(
        o.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A content repository as CI finds it: `smm_yaml`, media/cup.png and `posts` (path, text),
/// committed and cloned into a bare remote, which is returned.
pub fn bare_remote(
    smm_yaml: &str,
    posts: &[(impl AsRef<str>, impl AsRef<str>)],
) -> tempfile::TempDir {
    let seed = tempfile::tempdir().expect("tempdir");
    let root = seed.path();
    write(root, "smm.yaml", smm_yaml);
    std::fs::create_dir_all(root.join("media")).expect("mkdir");
    std::fs::copy(
        fixtures().join("base/media/cup.png"),
        root.join("media/cup.png"),
    )
    .expect("copy");
    for (path, text) in posts {
        write(root, path.as_ref(), text.as_ref());
    }
    git_init(root);
    let remote = tempfile::tempdir().expect("tempdir");
    let (from, to) = (
        root.to_str().expect("utf-8"),
        remote.path().to_str().expect("utf-8"),
    );
    git(&["clone", "--quiet", "--bare", from, to], Path::new("/"));
    remote
}

/// A fresh clone of `remote`, as a CI runner has it.
pub fn clone(remote: &Path) -> tempfile::TempDir {
    let work = tempfile::tempdir().expect("tempdir");
    let (from, to) = (
        remote.to_str().expect("utf-8"),
        work.path().to_str().expect("utf-8"),
    );
    git(&["clone", "--quiet", from, to], Path::new("/"));
    git(&["config", "user.name", "CI"], work.path());
    git(&["config", "user.email", "ci@example.com"], work.path());
    work
}

/// GET a URL (a local test server) and return the body; panics on a non-success status.
pub fn http_get(url: &str) -> Vec<u8> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let resp = smm::platforms::http_client()
            .expect("client")
            .get(url)
            .send()
            .await
            .expect("GET");
        assert!(resp.status().is_success(), "GET {url}: {}", resp.status());
        resp.bytes().await.expect("body").to_vec()
    })
}

/// Where the first entry starts in a post cache file (`.git/smm/posts-*.cache`): after the magic
/// line, the build id line and the 16-byte id of its texts file. An entry is a head of 56 bytes
/// (key 32, length u32 LE, where its texts are in the texts file: offset u64 LE, length u32 LE,
/// XXH3-64 u64 LE), then an XXH3-128 of its payload (16 bytes) and the payload.
/// Where an entry's fields are in its head, from the head's start (see [`cache_entries_start`]).
pub mod entry_head {
    use std::ops::Range;
    pub const LEN: Range<usize> = 32..36;
    pub const TEXTS_AT: Range<usize> = 36..44;
    pub const TEXTS_LEN: Range<usize> = 44..48;
    pub const TEXTS_CHECK: Range<usize> = 48..56;
    pub const SIZE: usize = 56;
}

pub fn cache_entries_start(cache: &[u8]) -> usize {
    let header = cache
        .iter()
        .enumerate()
        .filter(|(_, b)| **b == b'\n')
        .nth(1)
        .expect("a cache header")
        .0;
    header + 1 + 16
}
