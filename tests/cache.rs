//! The post cache (`.git/smm/posts-*.cache`): a run that takes posts from the cache says exactly
//! what a run without it says, after any kind of edit, and a damaged or missing cache only costs
//! time.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::support::{self, git_commit_all, git_init, stdout, write};

const AT: &str = "2027-01-15T10:00:00Z";

fn run(args: &[&str], root: &Path, cache: bool) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_smm"));
    cmd.args(args).current_dir(root).env("NO_COLOR", "1");
    if cache {
        cmd.env_remove("SMM_NO_CACHE");
    } else {
        cmd.env("SMM_NO_CACHE", "1");
    }
    cmd.output().expect("run smm")
}

/// Everything a user sees from `args`: exit code, stdout and stderr.
fn seen(args: &[&str], root: &Path, cache: bool) -> String {
    let o = run(args, root, cache);
    format!(
        "exit {:?}\n{}\n--- stderr\n{}",
        o.status.code(),
        stdout(&o),
        support::stderr(&o)
    )
}

/// The files in `.git/smm` named `*.{extension}`.
fn smm_files(root: &Path, extension: &str) -> Vec<PathBuf> {
    std::fs::read_dir(root.join(".git/smm"))
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == extension))
                .collect()
        })
        .unwrap_or_default()
}

fn cache_files(root: &Path) -> Vec<PathBuf> {
    smm_files(root, "cache")
}

/// Runs validate and plan (JSON and text) with the cache, twice, and without it; asserts all
/// three agree and returns what they said.
fn agreed(root: &Path) -> String {
    let commands: [&[&str]; 3] = [
        &["validate", "--format", "json"],
        &["plan", "--at", AT, "--format", "json"],
        &["plan", "--at", AT],
    ];
    let mut all = String::new();
    for args in commands {
        let fresh = seen(args, root, false);
        let first = seen(args, root, true);
        let second = seen(args, root, true);
        assert_eq!(
            first,
            fresh,
            "`smm {}` with the cache differs",
            args.join(" ")
        );
        assert_eq!(
            second,
            fresh,
            "`smm {}` from the cache differs",
            args.join(" ")
        );
        all.push_str(&fresh);
    }
    all
}

fn edit(root: &Path, rel: &str, from: &str, to: &str) {
    let path = root.join(rel);
    let text = std::fs::read_to_string(&path).expect("read");
    assert!(text.contains(from), "{rel} has no `{from}`");
    std::fs::write(&path, text.replacen(from, to, 1)).expect("write");
}

#[test]
fn cached_runs_say_what_fresh_runs_say_after_every_kind_of_edit() {
    let ws = support::workspace(None);
    let root = ws.path();
    git_init(root);
    let mut before = agreed(root);
    assert_eq!(cache_files(root).len(), 1, "one cache file in .git/smm");

    // Each edit changes an input of some post's rendering; each must show, cached or not.
    let edits = [
        (
            "templates/sign.j2",
            "- the Acme team",
            "- the Acme tea team",
        ),
        (
            "campaigns/launch/campaign.yaml",
            "name: Spring Launch",
            "name: Spring Launch\nutm: { campaign: spring-27 }",
        ),
        (
            "smm.yaml",
            "timezone: Europe/Berlin",
            "timezone: Europe/Lisbon",
        ),
        (
            "smm.yaml",
            "    account: \"@acmetea\"",
            "    account: \"@acmetea\"\n    limit: 25000",
        ),
        (
            "campaigns/launch/hello.yaml",
            "Spring tea, finally.",
            "Spring tea, at last.",
        ),
    ];
    for (rel, from, to) in edits {
        edit(root, rel, from, to);
        let after = agreed(root);
        assert_ne!(after, before, "editing {rel} changed nothing");
        before = after;
    }

    // A pull request: the plan also renders the base revision, through the same cache.
    git_commit_all(&git2::Repository::open(root).expect("repo"), "edits");
    support::git(&["checkout", "-q", "-b", "change"], root);
    edit(
        root,
        "posts/notice.yaml",
        "Back on Saturday!",
        "Back on Monday!",
    );
    git_commit_all(&git2::Repository::open(root).expect("repo"), "notice");
    let pr = agreed(root);
    assert!(
        pr.contains("\"edited\""),
        "the plan compares with main:\n{pr}"
    );
}

#[test]
fn an_unchanged_workspace_does_not_rewrite_the_cache() {
    let ws = support::workspace(None);
    let root = ws.path();
    git_init(root);
    run(&["validate"], root, true);
    let [file] = cache_files(root).try_into().expect("one cache file");
    // The posts' texts are in their own file beside the entries.
    let texts = file.with_extension("texts");
    let written = read_pair(&file, &texts);
    let modified = || {
        [&file, &texts].map(|f| {
            std::fs::metadata(f)
                .and_then(|m| m.modified())
                .expect("mtime")
        })
    };
    let before = modified();
    std::thread::sleep(std::time::Duration::from_millis(20));

    run(&["validate"], root, true);
    run(&["plan", "--at", AT], root, true);
    assert_eq!(
        modified(),
        before,
        "every post came from the cache, so it was not written again"
    );

    // One post changed: its new rendering is appended, the file is not rewritten.
    edit(
        root,
        "posts/notice.yaml",
        "Back on Saturday!",
        "Back on Monday!",
    );
    run(&["validate"], root, true);
    let appended = read_pair(&file, &texts);
    for (appended, written) in appended.iter().zip(&written) {
        assert!(appended.len() > written.len() && appended.starts_with(written));
    }
    let has = |bytes: &[u8], word: &str| bytes.windows(word.len()).any(|w| w == word.as_bytes());
    assert!(has(&appended[1], "Monday") && has(&appended[1], "Saturday"));

    // Once the renderings no run uses outnumber the used ones, the file is rewritten with only
    // these: the old texts are gone and it is back to its size.
    for day in ["Tuesday", "Wednesday"] {
        edit(
            root,
            "posts/notice.yaml",
            "Back on ",
            &format!("Back on {day} or "),
        );
        run(&["plan", "--at", AT], root, true);
    }
    let compacted = read_pair(&file, &texts);
    assert!(!has(&compacted[1], "Saturday") && has(&compacted[1], "Wednesday"));
    for (compacted, appended) in compacted.iter().zip(&appended) {
        assert!(
            compacted.len() < appended.len(),
            "{} bytes",
            compacted.len()
        );
    }
    // It kept every post: the next run finds them all and writes nothing.
    run(&["validate"], root, true);
    assert_eq!(read_pair(&file, &texts), compacted);
}

/// The test workspace, in git, with a post that has a picture (`posts/photo.yaml`, the file
/// named on line 4, column 11).
fn with_photo_post() -> tempfile::TempDir {
    let ws = support::workspace(None);
    write(
        ws.path(),
        "posts/photo.yaml",
        "publish_at: 2027-02-01 10:00\n\
         text: A cup of tea.\n\
         media:\n  - file: media/cup.png\n    alt: A cup of green tea on a wooden table\n",
    );
    git_init(ws.path());
    ws
}

#[test]
fn a_cached_post_is_still_checked_and_points_at_the_right_line() {
    let ws = with_photo_post();
    let root = ws.path();
    let clean = agreed(root);
    assert!(!clean.contains("E0204"));

    // The media file is not an input of the rendering: the cached post is checked again, and
    // its diagnostic points into the file (parsed again just for the position).
    std::fs::remove_file(root.join("media/cup.png")).expect("remove");
    let broken = agreed(root);
    assert!(
        broken.contains("media file `media/cup.png` does not exist"),
        "{broken}"
    );
    let text = seen(&["validate"], root, true);
    assert!(text.contains("posts/photo.yaml:4:11"), "{text}");
}

#[test]
fn an_unread_file_is_read_again_when_its_stamp_changes_and_for_a_diagnostic() {
    let ws = with_photo_post();
    let root = ws.path();
    // Stamps vouch only for files last changed two seconds before a run.
    std::thread::sleep(std::time::Duration::from_millis(2100));
    let before = agreed(root);
    let [stamps] = smm_files(root, "stamps")
        .try_into()
        .expect("one stamps file");
    let recorded = std::fs::read(&stamps).expect("stamps");
    assert!(recorded
        .windows("posts/notice.yaml".len())
        .any(|w| w == b"posts/notice.yaml"));

    // Same size, and the modification time set back as `touch -d` would: the change time still
    // tells, so the post is read and rendered again.
    let path = root.join("posts/notice.yaml");
    let modified = std::fs::metadata(&path)
        .and_then(|m| m.modified())
        .expect("mtime");
    edit(root, "posts/notice.yaml", "Saturday", "Thursday");
    std::fs::File::options()
        .write(true)
        .open(&path)
        .and_then(|f| f.set_modified(modified))
        .expect("set mtime");
    let after = agreed(root);
    assert!(
        !before.contains("Thursday") && after.contains("Thursday"),
        "{after}"
    );

    // A post no run read since its stamp was recorded is read for a diagnostic's position.
    std::fs::remove_file(root.join("media/cup.png")).expect("remove");
    let text = seen(&["validate"], root, true);
    assert!(text.contains("posts/photo.yaml:4:11"), "{text}");
    assert!(text.contains("  - file: media/cup.png"), "{text}");
}

#[test]
fn a_post_with_a_warning_warns_on_every_run() {
    let ws = support::workspace(None);
    let root = ws.path();
    write(
        root,
        "posts/tag.yaml",
        "publish_at: 2027-02-01 10:00\ntext: New tea #tea\n",
    );
    git_init(root);
    for _ in 0..3 {
        let o = seen(&["validate"], root, true);
        assert!(o.contains("W0108"), "{o}");
    }
}

/// The test workspace in git, its cache filled by `agreed`: the workspace, what its runs say,
/// and its cache file.
fn cached_workspace() -> (tempfile::TempDir, String, PathBuf) {
    let ws = support::workspace(None);
    git_init(ws.path());
    let expected = agreed(ws.path());
    let [file] = cache_files(ws.path()).try_into().expect("one cache file");
    (ws, expected, file)
}

#[test]
fn a_damaged_cache_is_ignored_and_replaced() {
    let (ws, expected, file) = cached_workspace();
    let root = ws.path();
    let good = std::fs::read(&file).expect("cache");
    let damaged: [Vec<u8>; 5] = [
        b"not a cache at all".to_vec(),
        good[..good.len() / 2].to_vec(),
        // A torn append: a key and half a length.
        [good.as_slice(), &[7; 34]].concat(),
        // Same header and layout, payload bytes flipped.
        {
            let mut b = good.clone();
            let n = b.len();
            for byte in &mut b[n - 40..] {
                *byte ^= 0x5a;
            }
            b
        },
        Vec::new(),
    ];
    for bytes in damaged {
        std::fs::write(&file, &bytes).expect("damage");
        assert_eq!(agreed(root), expected);
        assert_eq!(
            std::fs::read(&file).expect("cache"),
            good,
            "rewritten whole"
        );
    }
}

/// The texts file goes with its cache file: missing, cut short or from another pair, the
/// entries that refer to it are not used and both files are written again.
#[test]
fn a_damaged_texts_file_is_ignored_and_replaced() {
    let (ws, expected, file) = cached_workspace();
    let root = ws.path();
    let texts = file.with_extension("texts");
    let good = read_pair(&file, &texts);
    let id = b"smm post texts\n".len();
    let damaged: [Option<Vec<u8>>; 4] = [
        None,
        Some(Vec::new()),
        Some(good[1][..good[1].len() / 2].to_vec()),
        // The texts of another pair of files.
        Some({
            let mut b = good[1].clone();
            b[id] ^= 1;
            b
        }),
    ];
    for bytes in damaged {
        match bytes {
            Some(bytes) => std::fs::write(&texts, bytes).expect("damage"),
            None => std::fs::remove_file(&texts).expect("remove"),
        }
        assert_eq!(agreed(root), expected);
        assert_eq!(read_pair(&file, &texts), good, "rewritten whole");
    }

    // A text changed inside the file fails its block's checksum when first read (after that
    // run's cache was saved): that run ends in an error saying so, the texts file goes, and the
    // next run renders every post again.
    let mut bytes = good[1].clone();
    let at = bytes
        .windows(b"Back on".len())
        .position(|w| w == b"Back on")
        .expect("a text");
    bytes[at] = b'Z';
    std::fs::write(&texts, bytes).expect("damage");
    let o = seen(&["plan", "--at", AT, "--format", "json"], root, true);
    assert!(
        o.starts_with("exit Some(1)")
            && o.contains("texts that do not match their checksum")
            && !o.contains("Zack on"),
        "{o}"
    );
    assert!(!texts.exists(), "the damaged texts were removed");
    assert_eq!(agreed(root), expected);
    assert_eq!(read_pair(&file, &texts), good);
}

/// An entry whose checksum matches but whose deliveries do not decode (only a hand-made file
/// is like that): the run says so and fails instead of planning without them, and the next
/// run renders the post again.
#[test]
fn a_cache_entry_that_does_not_decode_is_an_error_once() {
    let (ws, expected, file) = cached_workspace();
    let root = ws.path();
    let mut bytes = std::fs::read(&file).expect("cache");
    // One byte added to the first entry's payload, its length and checksum made to match.
    use support::entry_head::{LEN, SIZE};
    let head = support::cache_entries_start(&bytes);
    let len_at = head + LEN.start..head + LEN.end;
    let len = u32::from_le_bytes(bytes[len_at.clone()].try_into().expect("len")) as usize;
    let entry = head + SIZE;
    bytes.insert(entry + len, 0);
    bytes[len_at].copy_from_slice(&((len + 1) as u32).to_le_bytes());
    let sum = xxhash_rust::xxh3::xxh3_128(&bytes[entry + 16..entry + len + 1]).to_le_bytes();
    bytes[entry..entry + 16].copy_from_slice(&sum);
    std::fs::write(&file, bytes).expect("write cache");

    let o = seen(&["validate"], root, true);
    assert!(
        o.starts_with("exit Some(1)") && o.contains("error[E0106]") && o.contains("run again"),
        "{o}"
    );
    assert_eq!(agreed(root), expected);
}

#[test]
fn no_cache_without_git_or_with_smm_no_cache() {
    let ws = support::workspace(None);
    let root = ws.path();
    let listing = |root: &Path| {
        let mut all = Vec::new();
        let mut stack = vec![root.to_path_buf()];
        while let Some(dir) = stack.pop() {
            for e in std::fs::read_dir(&dir).expect("dir").filter_map(Result::ok) {
                if e.path().is_dir() {
                    stack.push(e.path());
                }
                all.push(e.path());
            }
        }
        all.sort();
        all
    };
    let files = listing(root);
    run(&["validate"], root, true);
    run(&["plan", "--at", AT], root, true);
    assert_eq!(listing(root), files, "outside git nothing is written");

    git_init(root);
    run(&["validate"], root, false);
    run(&["plan", "--at", AT], root, false);
    assert!(
        cache_files(root).is_empty(),
        "SMM_NO_CACHE=1 writes no cache"
    );
}

/// The cache file and its texts file, as they are now.
fn read_pair(file: &Path, texts: &Path) -> [Vec<u8>; 2] {
    [file, texts].map(|f| std::fs::read(f).expect("cache"))
}
