//! Shared helpers: fixture workspaces in temporary folders, running the smm binary.

#![allow(dead_code)]

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
