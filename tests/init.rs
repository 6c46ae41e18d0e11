//! `smm init`: a new workspace validates and plans at once, and nothing is ever overwritten.

use crate::support::{self, smm, stderr, stdout};

#[test]
fn init_creates_a_workspace_that_validates_and_plans() {
    let dir = tempfile::tempdir().expect("tempdir");
    let o = smm(&["init", "brand"], dir.path());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let root = dir.path().join("brand");
    for f in [
        "smm.yaml",
        "campaigns/launch/hello.yaml",
        "posts/welcome.yaml",
        "templates/signature.j2",
        ".github/workflows/smm.yml",
        ".gitignore",
        "schemas/post.schema.json",
    ] {
        assert!(root.join(f).is_file(), "{f} missing");
    }
    assert!(root.join(".git").is_dir(), "a git repository is created");
    let o = smm(&["-C", "brand", "validate"], dir.path());
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    assert_eq!(stdout(&o), "ok: 2 posts, 3 deliveries, no problems\n");
    let o = smm(&["-C", "brand", "plan"], dir.path());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("> launch-hello@bluesky is scheduled for"),
        "{}",
        stdout(&o)
    );
    // Editors find the schemas from every file.
    for f in [
        "smm.yaml",
        "campaigns/launch/campaign.yaml",
        "campaigns/launch/hello.yaml",
        "posts/welcome.yaml",
    ] {
        let text = std::fs::read_to_string(root.join(f)).expect("read");
        let rel = text
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("# yaml-language-server: $schema="))
            .expect("schema comment");
        assert!(
            root.join(f).parent().expect("parent").join(rel).is_file(),
            "{f}: {rel}"
        );
    }
}

#[test]
fn init_never_overwrites() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("smm.yaml"), "brand: mine\n").expect("write");
    let o = smm(&["init"], dir.path());
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("already exists; nothing was written"),
        "{}",
        stderr(&o)
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("smm.yaml")).expect("read"),
        "brand: mine\n"
    );
    assert!(!dir.path().join("campaigns").exists());
    let _ = support::repo_root();
}
