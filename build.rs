//! Puts the git commit into `smm --version`, so a CI log says exactly which build ran, and a
//! hash of the sources into the post cache's header, so a cache written by another build of smm
//! (even an uncommitted one) is never read.

use std::hash::Hasher;
use std::path::Path;

/// Folders and files whose content decides what smm makes of a workspace.
const SOURCES: [&str; 5] = [
    "src",
    "crates/smm-text/src",
    "schemas",
    "Cargo.lock",
    "build.rs",
];

fn main() {
    let commit = std::process::Command::new("git")
        .args(["rev-parse", "--short=9", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "unknown commit".to_string());
    println!("cargo:rustc-env=SMM_GIT_COMMIT={commit}");
    // In a worktree `.git` is a file: a path under it never exists and would rebuild every time.
    if Path::new(".git").is_dir() {
        println!("cargo:rerun-if-changed=.git/HEAD");
        println!("cargo:rerun-if-changed=.git/refs/heads");
    }

    // SipHash with fixed keys: the same sources give the same id on every build.
    #[allow(deprecated)]
    let mut hasher = std::hash::SipHasher::new();
    for source in SOURCES {
        println!("cargo:rerun-if-changed={source}");
        hash_tree(Path::new(source), &mut hasher);
    }
    println!("cargo:rustc-env=SMM_BUILD_ID={:016x}", hasher.finish());
}

fn hash_tree(path: &Path, hasher: &mut impl Hasher) {
    if path.is_dir() {
        let mut entries: Vec<_> = std::fs::read_dir(path)
            .into_iter()
            .flatten()
            .filter_map(Result::ok)
            .map(|e| e.path())
            .collect();
        entries.sort();
        for entry in entries {
            hash_tree(&entry, hasher);
        }
    } else if let Ok(bytes) = std::fs::read(path) {
        hasher.write(path.to_string_lossy().as_bytes());
        hasher.write_usize(bytes.len());
        hasher.write(&bytes);
    }
}
