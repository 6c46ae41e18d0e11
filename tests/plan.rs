//! `smm plan` and `smm status` over real git repositories with recorded state.

use std::path::Path;

use smm::state::{DeliveryKey, Entry, Event, Store};

use crate::support::{self, redact_ids, smm, stderr, stdout, write};

/// Planning instant: 2027-03-02 09:30 in Berlin; the base workspace's launch post is due since 09:00.
pub(crate) const AT: &str = "2027-03-02T08:30:00Z";

fn hash_of(root: &Path, post: &str, channel: &str) -> (String, Vec<String>) {
    let report = smm::validate::validate(root, AT.parse().expect("time"));
    let d = report
        .deliveries
        .iter()
        .find(|d| *d.post_id == *post && *d.channel == *channel)
        .unwrap_or_else(|| panic!("no delivery {post}@{channel}"));
    (
        d.content_hash().to_string(),
        d.parts.iter().map(|p| p.text.clone()).collect(),
    )
}

fn record(store: &Store, key: &str, events: Vec<Event>) {
    let rev = store.read().expect("read").revision;
    let key = DeliveryKey::parse(key).expect("key");
    let changes: Vec<(DeliveryKey, Entry)> = events
        .into_iter()
        .map(|event| {
            (
                key.clone(),
                Entry {
                    at: "2027-02-20T09:00:05Z".parse().expect("t"),
                    event,
                },
            )
        })
        .collect();
    store
        .append(rev.as_deref(), &changes, &format!("test: {key}"))
        .expect("append");
}

fn intent(hash: &str, texts: Vec<String>) -> Event {
    Event::Intent {
        content_hash: hash.to_string(),
        commit: None,
        attempt: 1,
        texts,
        run: None,
        lease_until: None,
    }
}

fn published(hash: &str, n: u32) -> Event {
    Event::Published {
        content_hash: hash.to_string(),
        remote_id: format!("at://did:plc:acme/app.bsky.feed.post/{n}"),
        url: Some(format!(
            "https://bsky.app/profile/acme.bsky.social/post/{n}"
        )),
    }
}

/// A workspace in git whose state holds every kind of outcome.
pub(crate) fn scenario() -> tempfile::TempDir {
    let ws = support::workspace(None);
    let root = ws.path();
    write(root, "posts/missed.yaml", "id: missed\npublish_at: 2027-03-01 18:00\nchannels: [bluesky]\ntext: A post whose time passed.\n");
    write(
        root,
        "posts/thread.yaml",
        "id: dst-thread\n# Berlin springs forward at 02:00 that night: 03:30 is +02:00.\npublish_at: 2027-03-28 03:30\nchannels: [bluesky]\ntext: A thread, first part.\nthread:\n  - The second part.\n  - text: The third part, with a picture.\n    media: [{ file: media/cup.png, alt: A cup of tea }]\n",
    );
    write(root, "posts/published.yaml", "id: pub-same\npublish_at: 2027-02-20 10:00\nchannels: [bluesky]\ntext: Already out, unchanged.\n");
    write(root, "posts/drift.yaml", "id: pub-drift\npublish_at: 2027-02-20 11:00\nchannels: [bluesky]\ntext: The text as it is in git now.\n");
    write(root, "posts/unknown.yaml", "id: unk\npublish_at: 2027-03-02 09:10\nchannels: [x]\ntext: Nobody knows if this went out.\n");
    write(root, "posts/inflight.yaml", "id: inflight\npublish_at: 2027-03-02 09:15\nchannels: [mastodon]\ntext: An apply died while sending this.\n");
    write(root, "posts/rejected.yaml", "id: rej\npublish_at: 2027-03-02 09:20\nchannels: [bluesky]\ntext: The platform refused this.\n");
    write(root, "posts/delete.yaml", "id: del\npublish_at: 2027-02-21 10:00\ndelete: true\nchannels: [bluesky]\ntext: Take this down.\n");
    write(
        root,
        "posts/renamed/moved.yaml",
        "publish_at: 2027-02-22 10:00\nchannels: [bluesky]\ntext: This file moved and has no id.\n",
    );
    write(
        root,
        "posts/draft.yaml",
        "draft: true\nchannels: [mastodon]\ntext: Not ready yet.\n",
    );

    let repo = support::git_init(root);
    let store = Store::open(root, "smm-state").expect("open").expect("repo");
    drop(repo);

    let (same, same_texts) = hash_of(root, "pub-same", "bluesky");
    record(
        &store,
        "pub-same@bluesky",
        vec![intent(&same, same_texts), published(&same, 1)],
    );
    record(
        &store,
        "pub-drift@bluesky",
        vec![
            intent("sha256:old", vec!["The text as it was published.".into()]),
            published("sha256:old", 2),
        ],
    );
    record(
        &store,
        "gone-post@mastodon",
        vec![
            intent("sha256:gone", vec!["A post deleted from the repo.".into()]),
            published("sha256:gone", 3),
        ],
    );
    let (unk, unk_texts) = hash_of(root, "unk", "x");
    record(
        &store,
        "unk@x",
        vec![
            intent(&unk, unk_texts),
            Event::Unknown {
                content_hash: unk.clone(),
                reason: "timeout after 30s".into(),
            },
        ],
    );
    let (infl, infl_texts) = hash_of(root, "inflight", "mastodon");
    record(&store, "inflight@mastodon", vec![intent(&infl, infl_texts)]);
    let (rej, rej_texts) = hash_of(root, "rej", "bluesky");
    record(
        &store,
        "rej@bluesky",
        vec![
            intent(&rej, rej_texts),
            Event::Rejected {
                content_hash: rej.clone(),
                reason: "400 InvalidRecord: text too long".into(),
            },
        ],
    );
    let (del, del_texts) = hash_of(root, "del", "bluesky");
    record(
        &store,
        "del@bluesky",
        vec![intent(&del, del_texts), published(&del, 4)],
    );
    // The moved post was published under its old path-derived id.
    let (moved, moved_texts) = hash_of(root, "renamed/moved", "bluesky");
    record(
        &store,
        "old-place/moved@bluesky",
        vec![intent(&moved, moved_texts), published(&moved, 5)],
    );
    ws
}

fn plan_output(root: &Path, format: &str) -> String {
    let o = smm(&["plan", "--at", AT, "--format", format], root);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    redact_ids(&stdout(&o))
}

#[test]
fn plan_shows_every_action_in_three_formats() {
    let ws = scenario();
    let text = plan_output(ws.path(), "text");
    for needle in [
        "# launch-hello@bluesky will be published now",
        // Without a base, a scheduled delivery is one line: where, when, which file.
        "> dst-thread@bluesky is scheduled for 2027-03-28 03:30 +02:00 · posts/thread.yaml\n",
        "# pub-drift@bluesky has drifted",
        "The text as it [-was published.-]{+is in git now.+}",
        "# gone-post@mastodon was removed from the repository and stays published",
        "# unk@x needs `smm resolve`",
        "# inflight@mastodon needs `smm resolve`",
        "# rej@bluesky was rejected by the platform",
        "# missed@bluesky was missed",
        "# del@bluesky will be deleted from the platform",
        "# renamed/moved@bluesky looks moved and will not be published",
        "add `id: old-place/moved`",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
    assert!(
        !text.contains("pub-same@bluesky"),
        "unchanged published deliveries are not listed:\n{text}"
    );
    assert!(
        !text.contains("A thread, first part."),
        "scheduled texts are left to a review with a base:\n{text}"
    );
    assert!(
        text.contains("Texts of scheduled deliveries: `smm preview POST`"),
        "the plan says where the texts are:\n{text}"
    );
    insta::assert_snapshot!("plan_every_action_text", text);
    insta::assert_snapshot!(
        "plan_every_action_markdown",
        plan_output(ws.path(), "markdown")
    );

    let json = plan_output(ws.path(), "json");
    let doc: serde_json::Value = serde_json::from_str(&json).expect("json");
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(support::repo_root().join("schemas/plan.schema.json"))
            .expect("schema"),
    )
    .expect("json");
    let validator = jsonschema::draft202012::new(&schema).expect("schema");
    let errors: Vec<String> = validator
        .iter_errors(&doc)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    assert_eq!(doc["summary"]["publish_now"], 3);
    assert_eq!(doc["summary"]["deletions"], 1);
    assert_eq!(doc["summary"]["needs_attention"], 5);
    assert_eq!(doc["has_changes"], true);
    insta::assert_snapshot!("plan_every_action_json", json);
}

#[test]
fn plan_output_is_byte_identical_across_runs() {
    let ws = scenario();
    for format in ["text", "json", "markdown"] {
        let a = smm(&["plan", "--at", AT, "--format", format], ws.path());
        let b = smm(&["plan", "--at", AT, "--format", format], ws.path());
        assert_eq!(a.stdout, b.stdout, "{format} differs between runs");
    }
    // Without --at the output does not print the current time, so it stays stable too.
    let a = smm(&["plan"], ws.path());
    let b = smm(&["plan"], ws.path());
    assert_eq!(stdout(&a), stdout(&b));
}

#[test]
fn status_lists_every_delivery_with_its_url_and_filters() {
    let ws = scenario();
    let o = smm(&["status", "--at", AT], ws.path());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(
        text.contains("https://bsky.app/profile/acme.bsky.social/post/1"),
        "{text}"
    );
    insta::assert_snapshot!("status_all", text);

    let o = smm(
        &[
            "status",
            "--at",
            AT,
            "--state",
            "published",
            "--format",
            "json",
        ],
        ws.path(),
    );
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    let keys: Vec<&str> = doc["deliveries"]
        .as_array()
        .expect("list")
        .iter()
        .map(|d| d["delivery"].as_str().expect("key"))
        .collect();
    assert_eq!(keys, ["pub-same@bluesky", "del@bluesky"]);

    let o = smm(&["status", "--at", AT, "--campaign", "launch"], ws.path());
    let text = stdout(&o);
    assert!(
        text.contains("launch-hello@x") && !text.contains("notice@"),
        "{text}"
    );
    let o = smm(&["status", "--at", AT, "--channel", "x"], ws.path());
    assert!(
        stdout(&o)
            .lines()
            .skip(1)
            .filter(|l| !l.is_empty())
            .all(|l| l.contains("@x") || l.contains("deliver")),
        "{}",
        stdout(&o)
    );
}

#[test]
fn detailed_exitcode_says_whether_apply_has_work_now() {
    let ws = support::workspace(None);
    support::git_init(ws.path());
    let o = smm(
        &[
            "plan",
            "--at",
            "2027-01-10T08:00:00Z",
            "--detailed-exitcode",
        ],
        ws.path(),
    );
    assert_eq!(o.status.code(), Some(0), "nothing due: {}", stdout(&o));
    let o = smm(&["plan", "--at", AT, "--detailed-exitcode"], ws.path());
    assert_eq!(o.status.code(), Some(2), "a post is due: {}", stdout(&o));
    let o = smm(&["plan", "--at", AT], ws.path());
    assert_eq!(
        o.status.code(),
        Some(0),
        "without the flag changes are not an exit code"
    );
}

#[test]
fn plan_refuses_an_invalid_workspace() {
    let ws = support::workspace(Some(&support::fixtures().join("broken/unknown-channel")));
    let o = smm(&["plan", "--at", AT], ws.path());
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).is_empty(), "no plan is printed: {}", stdout(&o));
    let err = stderr(&o);
    assert!(
        err.contains("error[E0201]") && err.contains("nothing was planned"),
        "{err}"
    );
}

/// A workspace in git with `name` branched off `main` and checked out, as a pull request's.
fn on_a_branch(name: &str) -> (tempfile::TempDir, git2::Repository) {
    let ws = support::workspace(None);
    let repo = support::git_init(ws.path());
    {
        let main = repo.head().expect("head").peel_to_commit().expect("commit");
        repo.branch(name, &main, false).expect("branch");
    }
    repo.set_head(&format!("refs/heads/{name}"))
        .expect("switch");
    (ws, repo)
}

/// The text plan of the branch `on_a_branch` made, at an instant before its posts are due,
/// with generated ids redacted; the plan must succeed.
fn plan_on_the_branch(root: &Path) -> String {
    let o = smm(&["plan", "--at", "2027-03-01T08:00:00Z"], root);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    redact_ids(&stdout(&o))
}

#[test]
fn edits_since_the_base_revision_show_as_word_diffs() {
    // A pull request branch: one post edited, one added.
    let (ws, repo) = on_a_branch("spring-copy");
    let root = ws.path();
    let hello = std::fs::read_to_string(root.join("campaigns/launch/hello.yaml")).expect("read");
    write(
        root,
        "campaigns/launch/hello.yaml",
        &hello.replace("Spring tea, finally.", "Spring tea, at last."),
    );
    write(root, "campaigns/launch/more.yaml", "publish_at: 2027-03-05 10:00\nchannels: [x]\ntext: One more thing. {{ \"https://acme.tea/more\" | utm }}\n");
    support::git_commit_all(&repo, "edit the launch copy");

    let text = plan_on_the_branch(root);
    assert!(text.contains("# launch-hello@x is scheduled for 2027-03-02 09:00 +01:00, edited since the base revision"), "{text}");
    assert!(
        text.contains("Spring tea, [-finally.-]{+at last.+}"),
        "{text}"
    );
    assert!(
        text.contains(
            "# launch/more@x is scheduled for 2027-03-05 10:00 +01:00, new since the base revision"
        ),
        "{text}"
    );
    // What the reviewers approved before is counted, not shown again.
    assert!(!text.contains("launch-hello@bluesky"), "{text}");
    assert!(!text.contains("notice@"), "{text}");
    assert!(
        text.contains("4 scheduled deliveries unchanged since the base revision (not shown)"),
        "{text}"
    );
    assert!(text.contains("1 edit,"), "{text}");
    insta::assert_snapshot!("plan_edits_since_base", text);

    let md = redact_ids(&stdout(&smm(
        &[
            "plan",
            "--at",
            "2027-03-01T08:00:00Z",
            "--format",
            "markdown",
        ],
        root,
    )));
    assert!(md.contains("```diff\n- Spring tea, finally."), "{md}");
    assert!(!md.contains("launch-hello@bluesky"), "{md}");
    assert!(
        md.contains("4 scheduled deliveries unchanged since the base revision are not shown."),
        "{md}"
    );
    // The saved plan (JSON) keeps every delivery: apply and scripts read it.
    let json = stdout(&smm(
        &["plan", "--at", "2027-03-01T08:00:00Z", "--format", "json"],
        root,
    ));
    assert!(json.contains("launch-hello@bluesky"), "{json}");
}

/// A branch that only adds a post: the base has nothing of its own to render (every post file
/// there is unchanged), and the plan shows the new post alone.
#[test]
fn a_branch_that_only_adds_a_post_shows_it_new_and_the_rest_unchanged() {
    let (ws, repo) = on_a_branch("extra");
    let root = ws.path();
    write(
        root,
        "posts/extra.yaml",
        "id: extra\npublish_at: 2027-03-20 10:00\ntext: One more cup.\n",
    );
    support::git_commit_all(&repo, "one more post");

    let text = plan_on_the_branch(root);
    assert!(
        text.contains("is scheduled for 2027-03-20 10:00 +01:00, new since the base revision"),
        "{text}"
    );
    assert!(text.contains("One more cup."), "{text}");
    assert!(!text.contains("edited since the base revision"), "{text}");
    assert!(
        text.contains("unchanged since the base revision (not shown)"),
        "{text}"
    );
}

/// The base revision is rendered with its own templates and settings: a pull request that edits
/// a shared template shows every post that includes it as edited, and only those.
#[test]
fn a_template_edited_since_the_base_shows_in_every_post_that_uses_it() {
    let (ws, repo) = on_a_branch("signature");
    let root = ws.path();
    write(root, "templates/sign.j2", "- the Acme tea team");
    // Also moved without an id (a new post at the new path) and one deleted.
    std::fs::rename(
        root.join("posts/notice.yaml"),
        root.join("posts/closed.yaml"),
    )
    .expect("move");
    support::git_commit_all(&repo, "sign as the tea team");

    let text = plan_on_the_branch(root);
    assert!(
        text.contains("# closed@bluesky is scheduled for 2027-03-10 12:00 +01:00, new since the base revision"),
        "{text}"
    );
    assert!(text.contains("- the Acme tea team"), "{text}");
    // hello does not include the template: unchanged, so not shown.
    assert!(!text.contains("launch-hello@"), "{text}");
    assert!(
        text.contains("3 scheduled deliveries unchanged since the base revision"),
        "{text}"
    );

    // Now only the template: notice is edited where it includes it, on bluesky (mastodon has a
    // variant without it).
    std::fs::rename(
        root.join("posts/closed.yaml"),
        root.join("posts/notice.yaml"),
    )
    .expect("move back");
    support::git_commit_all(&repo, "move back");
    let text = redact_ids(&stdout(&smm(
        &["plan", "--at", "2027-03-01T08:00:00Z"],
        root,
    )));
    assert!(
        text.contains("# notice@bluesky is scheduled for 2027-03-10 12:00 +01:00, edited since the base revision"),
        "{text}"
    );
    assert!(text.contains("- the Acme {+tea +}team"), "{text}");
    assert!(!text.contains("notice@mastodon"), "{text}");
    assert!(text.contains("1 edit,"), "{text}");
}

#[test]
fn moving_a_post_that_has_an_id_keeps_its_identity() {
    let ws = support::workspace(None);
    let root = ws.path();
    support::git_init(root);
    let store = Store::open(root, "smm-state").expect("open").expect("repo");
    let (h, texts) = hash_of(root, "launch-hello", "bluesky");
    record(
        &store,
        "launch-hello@bluesky",
        vec![intent(&h, texts), published(&h, 9)],
    );
    // Moved within its campaign (moving it out would change its UTM campaign, a real change).
    std::fs::create_dir_all(root.join("campaigns/launch/archive")).expect("mkdir");
    std::fs::rename(
        root.join("campaigns/launch/hello.yaml"),
        root.join("campaigns/launch/archive/hello.yaml"),
    )
    .expect("move");
    let text = stdout(&smm(&["plan", "--at", AT], root));
    assert!(
        !text.contains("launch-hello@bluesky"),
        "published and unchanged after the move:\n{text}"
    );
    assert!(!text.contains("stays published"), "{text}");
}

#[test]
fn state_is_read_from_the_remote_when_there_is_no_local_branch() {
    let ws = scenario();
    let remote = tempfile::tempdir().expect("tempdir");
    let bare = git2::Repository::init_bare(remote.path()).expect("bare");
    bare.set_head("refs/heads/main").expect("head");
    drop(bare);
    let status = std::process::Command::new("git")
        .args(["push", "--quiet"])
        .arg(remote.path())
        .args(["main", "smm-state"])
        .current_dir(ws.path())
        .status()
        .expect("git push");
    assert!(status.success());
    let clone_dir = tempfile::tempdir().expect("tempdir");
    let clone = git2::Repository::clone(remote.path().to_str().expect("utf-8"), clone_dir.path())
        .expect("clone");
    assert!(
        clone.find_reference("refs/heads/smm-state").is_err(),
        "only main is checked out"
    );
    let a = plan_output(ws.path(), "text");
    let b = plan_output(clone_dir.path(), "text");
    assert_eq!(
        a.replace("<rev> (main) + uncommitted changes", "<rev> (main)"),
        b
    );
}

#[test]
fn a_saved_plan_is_the_json_document() {
    let ws = scenario();
    let out = ws.path().join("plan.json");
    let o = smm(
        &["plan", "--at", AT, "--out", out.to_str().expect("utf-8")],
        ws.path(),
    );
    assert_eq!(o.status.code(), Some(0));
    assert!(stderr(&o).contains("smm apply"), "{}", stderr(&o));
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).expect("read")).expect("json");
    assert_eq!(saved["format_version"], "1");
    assert!(saved["content"]["commit"]
        .as_str()
        .is_some_and(|c| c.len() == 40));
    assert!(saved["state_revision"]
        .as_str()
        .is_some_and(|c| c.len() == 40));
    assert_eq!(saved["valid_until"], "2027-03-02T10:00:00+01:00");
}

#[test]
fn history_follows_moves_and_interleaves_state_events() {
    let ws = support::workspace(None);
    let root = ws.path();
    let repo = support::git_init(root);
    let hello = std::fs::read_to_string(root.join("campaigns/launch/hello.yaml")).expect("read");
    write(
        root,
        "campaigns/launch/hello.yaml",
        &hello.replace("Spring tea is here.", "Spring tea is finally here."),
    );
    support::git_commit_all(&repo, "Sharpen the launch copy");
    std::fs::create_dir_all(root.join("campaigns/launch/week1")).expect("mkdir");
    std::fs::rename(
        root.join("campaigns/launch/hello.yaml"),
        root.join("campaigns/launch/week1/hello.yaml"),
    )
    .expect("mv");
    support::git_commit_all(&repo, "Group launch posts by week");
    let store = Store::open(root, "smm-state").expect("open").expect("repo");
    let (h, texts) = hash_of(root, "launch-hello", "bluesky");
    record(
        &store,
        "launch-hello@bluesky",
        vec![intent(&h, texts), published(&h, 7)],
    );

    let o = smm(&["history", "launch-hello"], root);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = redact_ids(&stdout(&o));
    let lines: Vec<&str> = text.lines().collect();
    let pos = |needle: &str| {
        lines
            .iter()
            .position(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no {needle:?} in\n{text}"))
    };
    // Newest first: state events (2027) before the commits (2027-01-15 from the fixed commit time).
    assert!(
        pos("published") < pos("Group launch posts by week"),
        "{text}"
    );
    assert!(
        pos("Group launch posts by week") < pos("Sharpen the launch copy"),
        "{text}"
    );
    assert!(
        pos("Sharpen the launch copy") < pos("initial content"),
        "{text}"
    );
    assert!(
        text.contains("from campaigns/launch/hello.yaml"),
        "the move is followed: {text}"
    );
    assert!(
        text.contains("https://bsky.app/profile/acme.bsky.social/post/7"),
        "{text}"
    );

    let o = smm(
        &["history", "--campaign", "launch", "--format", "json"],
        root,
    );
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert!(
        doc["history"].as_array().is_some_and(|h| h.len() >= 5),
        "{doc}"
    );

    let o = smm(&["history", "launch-helo"], root);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("did you mean `launch-hello`?"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn published_posts_are_not_warned_about_being_in_the_past() {
    let ws = scenario();
    let o = smm(&["validate", "--at", AT, "--format", "json"], ws.path());
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    let past: Vec<&str> = doc["diagnostics"]
        .as_array()
        .expect("diagnostics")
        .iter()
        .filter(|d| d["code"] == "W0303")
        .filter_map(|d| d["file"].as_str())
        .collect();
    assert!(
        past.contains(&"posts/missed.yaml"),
        "an unpublished past post warns: {past:?}"
    );
    assert!(
        !past.contains(&"posts/published.yaml"),
        "a published post does not: {past:?}"
    );
}

#[test]
fn calendar_agenda_and_an_ics_feed_a_real_icalendar_parser_reads() {
    let ws = scenario();
    let o = smm(
        &[
            "calendar",
            "--at",
            AT,
            "--from",
            "2027-03-01",
            "--to",
            "2027-03-31",
        ],
        ws.path(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let agenda = stdout(&o);
    assert!(
        agenda.contains("Sunday 2027-03-28\n  03:30  A thread, first part."),
        "{agenda}"
    );
    assert!(
        agenda.contains("launch-hello → bluesky (due), mastodon (due), x (due)"),
        "{agenda}"
    );
    insta::assert_snapshot!("calendar_agenda", agenda);
    let o = smm(
        &[
            "calendar",
            "--at",
            AT,
            "--from",
            "2027-03-01",
            "--to",
            "2027-03-31",
            "--format",
            "json",
        ],
        ws.path(),
    );
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    let launch = doc["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .find(|e| e["post"] == "launch-hello")
        .expect("launch");
    assert_eq!(launch["publish_at"], "2027-03-02T09:00:00+01:00");
    assert_eq!(launch["channels"].as_array().map(Vec::len), Some(3));
    assert_eq!(launch["channels"][0]["state"], "due");

    let ics = ws.path().join("cal.ics");
    let o = smm(
        &[
            "calendar",
            "--at",
            AT,
            "--from",
            "2027-02-01",
            "--to",
            "2027-03-31",
            "--ics",
            ics.to_str().expect("utf-8"),
        ],
        ws.path(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // Parsed and re-serialised by PyPI icalendar (installed by scripts/test).
    let python = support::repo_root().join(".tools/venv/bin/python");
    assert!(
        python.is_file(),
        "run scripts/test: it installs icalendar into .tools/venv"
    );
    let script = r#"
import json, sys
from icalendar import Calendar
data = open(sys.argv[1], 'rb').read()
cal = Calendar.from_ical(data)
again = Calendar.from_ical(cal.to_ical())
def events(c):
    return [{"uid": str(e["UID"]), "start": e.decoded("DTSTART").isoformat(), "summary": str(e["SUMMARY"]),
             "url": str(e.get("URL", "")), "status": str(e["STATUS"])} for e in c.walk("VEVENT")]
assert events(cal) == events(again), "round trip changed the events"
print(json.dumps(events(cal)))
"#;
    let o = std::process::Command::new(&python)
        .arg("-c")
        .arg(script)
        .arg(&ics)
        .output()
        .expect("python");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let events: Vec<serde_json::Value> = serde_json::from_slice(&o.stdout).expect("json");
    let uids: std::collections::BTreeSet<&str> =
        events.iter().filter_map(|e| e["uid"].as_str()).collect();
    assert_eq!(uids.len(), events.len(), "UIDs are unique");
    let thread = events
        .iter()
        .find(|e| e["uid"] == "dst-thread@bluesky.smm")
        .expect("thread event");
    assert_eq!(
        thread["start"], "2027-03-28T01:30:00+00:00",
        "03:30 Berlin summer time is 01:30 UTC"
    );
    let published = events
        .iter()
        .find(|e| e["uid"] == "pub-same@bluesky.smm")
        .expect("published event");
    assert_eq!(
        published["url"],
        "https://bsky.app/profile/acme.bsky.social/post/1"
    );
    let missed = events
        .iter()
        .find(|e| e["uid"] == "missed@bluesky.smm")
        .expect("missed");
    assert_eq!(missed["status"], "CANCELLED");
}
