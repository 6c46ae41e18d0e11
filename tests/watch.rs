//! `smm plan --watch`: a session updated file by file shows what planning from scratch shows.

use std::collections::BTreeSet;
use std::io::BufRead as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use smm::diagnostic::Severity;
use smm::plan::{Options, PlanError, Reach, Session, Update, Watched};
use smm::validate::Report;

use crate::plan::AT;
use crate::support::{self, write};

fn options() -> Options<'static> {
    Options {
        at: Some(AT.parse().expect("time")),
        base: None,
    }
}

fn errors(report: &Report) -> String {
    let shown: Vec<String> = report
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| smm::diagnostic::render(d, &report.sources))
        .collect();
    format!("errors:\n{}", shown.join("\n"))
}

/// What `smm plan` from scratch shows now: the plan, or the errors.
fn from_scratch(root: &Path) -> String {
    match smm::plan::plan_workspace(root, &options()) {
        Ok((_, plan)) => smm::plan::render_text(&plan),
        Err(PlanError::Invalid(report)) => errors(&report),
        Err(e) => panic!("plan: {e:?}"),
    }
}

fn shown(session: &Session<'_>) -> String {
    match session.outcome() {
        Watched::Planned(plan) => smm::plan::render_text(plan),
        Watched::Invalid(report) => errors(report),
        Watched::Failed(e) => panic!("session: {e}"),
    }
}

/// Updates `session` with the files at `touched` and checks it shows what planning from scratch
/// shows; returns that.
fn step(session: &mut Session<'_>, root: &Path, touched: &[&str]) -> String {
    let paths: BTreeSet<PathBuf> = touched.iter().map(|t| root.join(t)).collect();
    assert_eq!(session.update(&paths), Update::Planned, "{touched:?}");
    let expected = from_scratch(root);
    assert_eq!(shown(session), expected, "after {touched:?}");
    expected
}

/// The base workspace, committed on `main`.
fn committed_workspace() -> (tempfile::TempDir, git2::Repository) {
    let dir = support::workspace(None);
    let repo = support::git_init(dir.path());
    (dir, repo)
}

/// Replaces `from` with `to` in the file at `rel`; returns the text it had.
fn edit(root: &Path, rel: &str, from: &str, to: &str) -> String {
    let text = std::fs::read_to_string(root.join(rel)).expect("read");
    write(root, rel, &text.replace(from, to));
    text
}

fn keys(items: &[&smm::plan::Item]) -> Vec<String> {
    items.iter().map(|i| i.key.to_string()).collect()
}

#[test]
fn a_session_updated_file_by_file_plans_as_planning_from_scratch() {
    let (dir, _) = committed_workspace();
    let root = dir.path();
    let mut session = Session::start(root, options());
    let first = shown(&session);
    assert_eq!(first, from_scratch(root));
    assert!(first.contains("Plan: "), "{first}");

    // An edit of a post's text: the post is replaced where it is.
    let hello = edit(
        root,
        "campaigns/launch/hello.yaml",
        "Spring tea is here.",
        "Spring tea is finally here.",
    );
    let text = step(&mut session, root, &["campaigns/launch/hello.yaml"]);
    assert!(text.contains("+ uncommitted changes"), "{text}");

    // A new time: only that post's deliveries are what changed.
    let notice = edit(
        root,
        "posts/notice.yaml",
        "2027-03-10 12:00",
        "2027-03-11 13:00",
    );
    let text = step(&mut session, root, &["posts/notice.yaml"]);
    assert!(text.contains("2027-03-11 13:00"), "{text}");
    let (items, gone) = session.changes();
    assert_eq!(keys(&items), ["notice@bluesky", "notice@mastodon"]);
    assert!(gone.is_empty(), "{gone:?}");
    // Planned again with nothing changed (the plan's window ended): nothing to show but the
    // summary, and the same plan.
    session.plan_again();
    let (items, gone) = session.changes();
    assert!(
        items.is_empty() && gone.is_empty(),
        "{:?} {gone:?}",
        keys(&items)
    );
    assert_eq!(shown(&session), text);

    // A new post, between the others in path order.
    write(
        root,
        "campaigns/launch/more.yaml",
        "publish_at: 2027-03-20 10:00\ntext: More spring tea.\n",
    );
    step(&mut session, root, &["campaigns/launch/more.yaml"]);
    let (items, _) = session.changes();
    assert_eq!(
        keys(&items),
        ["launch/more@bluesky", "launch/more@mastodon"]
    );

    // A post whose id another post has: an error of the checks across posts.
    write(
        root,
        "posts/again.yaml",
        "id: launch-hello\npublish_at: 2027-03-21 10:00\ntext: Again.\n",
    );
    let text = step(&mut session, root, &["posts/again.yaml"]);
    assert!(
        text.starts_with("errors:\n") && text.contains("launch-hello"),
        "{text}"
    );
    assert!(matches!(session.outcome(), Watched::Invalid(_)));

    // Removed: planned again, and compared with the last plan, not with the errors.
    std::fs::remove_file(root.join("posts/again.yaml")).expect("remove");
    step(&mut session, root, &["posts/again.yaml"]);

    // A file that does not parse, then fixed with fewer channels (fewer deliveries).
    write(root, "campaigns/launch/hello.yaml", "publish_at: [\n");
    let text = step(&mut session, root, &["campaigns/launch/hello.yaml"]);
    assert!(text.contains("campaigns/launch/hello.yaml"), "{text}");
    write(
        root,
        "campaigns/launch/hello.yaml",
        &hello.replace("channels: [bluesky, mastodon, x]", "channels: [bluesky]"),
    );
    step(&mut session, root, &["campaigns/launch/hello.yaml"]);
    let (items, gone) = session.changes();
    assert_eq!(keys(&items), ["launch-hello@bluesky"]);
    let gone: Vec<String> = gone.iter().map(ToString::to_string).collect();
    assert_eq!(gone, ["launch-hello@mastodon", "launch-hello@x"]);

    // Everything as committed again: no uncommitted changes, and the more post is gone.
    write(root, "campaigns/launch/hello.yaml", &hello);
    write(root, "posts/notice.yaml", &notice);
    std::fs::remove_file(root.join("campaigns/launch/more.yaml")).expect("remove");
    let text = step(
        &mut session,
        root,
        &[
            "campaigns/launch/hello.yaml",
            "posts/notice.yaml",
            "campaigns/launch/more.yaml",
        ],
    );
    assert!(!text.contains("uncommitted"), "{text}");
    assert_eq!(text, first);
}

#[test]
fn what_a_changed_path_asks_of_a_session() {
    let (dir, _) = committed_workspace();
    let root = dir.path();
    let session = Session::start(root, options());
    let reach = |rel: &str| session.reach(&root.join(rel));
    let post = |rel: &str| Reach::Post(PathBuf::from(rel));
    let other = |rel: &str| Reach::Other(PathBuf::from(rel));
    assert_eq!(
        reach("campaigns/launch/hello.yaml"),
        post("campaigns/launch/hello.yaml")
    );
    assert_eq!(
        reach("campaigns/launch/new.yml"),
        post("campaigns/launch/new.yml")
    );
    assert_eq!(
        reach("posts/deeper/new.yaml"),
        post("posts/deeper/new.yaml")
    );
    // What validation reads as a whole.
    for whole in [
        "smm.yaml",
        "templates/sign.j2",
        "campaigns/launch/campaign.yaml",
        "campaigns/launch",
        "campaigns/other/post.yaml",
        "posts",
        ".git/HEAD",
        ".git/index",
        ".git/refs/heads/main",
    ] {
        assert_eq!(reach(whole), Reach::Restart, "{whole}");
    }
    // `sed -i`'s temporary file beside a post, an editor's, a media file, a README.
    for rel in [
        "campaigns/launch/sedAb12Cd",
        "campaigns/launch/.hello.yaml.swp",
        "media/cup.png",
        "README.md",
    ] {
        assert_eq!(reach(rel), other(rel), "{rel}");
    }
    for rel in [
        ".git/info/exclude",
        ".gitignore",
        "posts/.gitignore",
        "media",
        "notes.yml",
    ] {
        assert_eq!(reach(rel), Reach::Restart, "{rel}");
    }
    for rel in [".git/objects/ab/cdef", ".git/smm/posts-1.cache"] {
        assert_eq!(reach(rel), Reach::Nothing, "{rel}");
    }
}

#[test]
fn on_a_branch_a_session_compares_each_edit_with_the_base_as_from_scratch() {
    let (dir, repo) = committed_workspace();
    let root = dir.path();
    let head = repo.head().expect("head").peel_to_commit().expect("commit");
    repo.branch("change", &head, false).expect("branch");
    repo.set_head("refs/heads/change").expect("checkout");
    let mut session = Session::start(root, options());
    assert_eq!(shown(&session), from_scratch(root));

    // A post that was as in the base (main) is edited: shown as edited, with its diff.
    let notice = edit(
        root,
        "posts/notice.yaml",
        "Shop closed on Friday",
        "Shop closed on Saturday",
    );
    let text = step(&mut session, root, &["posts/notice.yaml"]);
    assert!(text.contains("edited since the base revision"), "{text}");
    // A new post sorting before the others moves every post's place.
    write(
        root,
        "campaigns/aaa/early.yaml",
        "publish_at: 2027-03-20 10:00\ntext: Early tea.\n",
    );
    write(root, "campaigns/aaa/campaign.yaml", "name: Early\n");
    assert_eq!(
        session.update(&[root.join("campaigns/aaa/campaign.yaml")].into()),
        Update::Restart
    );
    let mut session = session.restart();
    assert_eq!(shown(&session), from_scratch(root));
    write(root, "posts/notice.yaml", &notice);
    step(&mut session, root, &["posts/notice.yaml"]);
}

#[test]
fn a_file_that_could_not_be_read_is_planned_once_it_can() {
    let (dir, _) = committed_workspace();
    let root = dir.path();
    // A link to nothing: unreadable even for root.
    let notice = root.join("posts/notice.yaml");
    std::fs::remove_file(&notice).expect("remove");
    std::os::unix::fs::symlink(root.join("nowhere.yaml"), &notice).expect("symlink");
    let mut session = Session::start(root, options());
    let text = shown(&session);
    assert!(text.contains("cannot read posts/notice.yaml"), "{text}");
    std::fs::remove_file(&notice).expect("remove");
    write(
        root,
        "posts/notice.yaml",
        "publish_at: 2027-03-10 12:00\ntext: Closed Friday.\n",
    );
    let text = step(&mut session, root, &["posts/notice.yaml"]);
    assert!(text.contains("Plan: "), "{text}");
}

#[test]
fn a_long_session_starts_over_rather_than_grow() {
    let (dir, _) = committed_workspace();
    let root = dir.path();
    let mut session = Session::start(root, options());
    let notice = std::fs::read_to_string(root.join("posts/notice.yaml")).expect("read");
    let touched: BTreeSet<PathBuf> = [root.join("posts/notice.yaml")].into();
    let updates = (0..5000)
        .position(|i| {
            let text = notice.replace("Friday", &format!("Friday ({i})"));
            write(root, "posts/notice.yaml", &text);
            session.update(&touched) == Update::Restart
        })
        .expect("a restart within 5,000 saves");
    assert!(updates > 100, "{updates}");
    let session = session.restart();
    assert_eq!(shown(&session), from_scratch(root));
}

/// Lines of a child's output, as they come.
fn lines(out: impl std::io::Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(out).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// The lines up to the next summary line (`Plan: …`), which must come within a minute.
fn up_to_summary(rx: &mpsc::Receiver<String>) -> Vec<String> {
    let mut seen = Vec::new();
    loop {
        match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(line) => {
                let last = line.starts_with("Plan: ");
                seen.push(line);
                if last {
                    return seen;
                }
            }
            Err(e) => panic!("no summary line ({e}); got:\n{}", seen.join("\n")),
        }
    }
}

#[test]
fn plan_watch_shows_what_an_edit_changed_in_the_plan() {
    let (dir, _) = committed_workspace();
    let root = dir.path();
    let mut child = Command::new(env!("CARGO_BIN_EXE_smm"))
        .args(["plan", "--watch", "--at", AT])
        .current_dir(root)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start smm plan --watch");
    let out = lines(child.stdout.take().expect("stdout"));
    let err = lines(child.stderr.take().expect("stderr"));
    let whole = up_to_summary(&out);
    assert!(
        whole
            .iter()
            .any(|l| l.contains("notice@bluesky is scheduled for 2027-03-10 12:00")),
        "{whole:#?}"
    );

    let notice = edit(
        root,
        "posts/notice.yaml",
        "2027-03-10 12:00",
        "2027-03-11 13:00",
    );
    let update = up_to_summary(&out).join("\n");
    assert!(update.contains(" · posts/notice.yaml\n"), "{update}");
    assert!(
        update.contains(
            "> notice@bluesky is scheduled for 2027-03-11 13:00 +01:00 · posts/notice.yaml"
        ),
        "{update}"
    );
    // Only what changed: not the launch post's deliveries.
    assert!(!update.contains("launch-hello"), "{update}");

    // An error: said on stderr, and no plan until it is fixed.
    write(root, "posts/notice.yaml", "publish_at: [\n");
    let said = (0..200)
        .map_while(|_| err.recv_timeout(Duration::from_secs(60)).ok())
        .find(|l| l.contains("nothing was planned"))
        .expect("the error on stderr");
    assert!(said.contains("the workspace has 1 error"), "{said}");
    write(root, "posts/notice.yaml", &notice);
    let update = up_to_summary(&out).join("\n");
    assert!(
        update.contains("> notice@bluesky is scheduled for 2027-03-10 12:00"),
        "{update}"
    );
    let _ = child.kill();
    let _ = child.wait();
}
