//! The benchmark harness: generates workspaces of 1k, 10k and 100k posts and measures
//! `smm validate` and `smm plan` (median wall time, peak RSS) next to two baselines run in the
//! same harness: the floor (reading every file with `cat`) and an independent validator
//! (check-jsonschema with the project's schemas). Run: `cargo bench --bench workspace`
//! (`SMM_BENCH_SIZES=1000,10000` to choose sizes). Results: target/bench/results.md.
//!
//! Each workspace is its own git repository (one commit on `main`), as a content repository is,
//! so smm's post cache lives in that repository's git directory (`.git/smm/posts-*.cache`, with
//! the posts' texts in `posts-*.texts` and the stamps of the files it read in `posts-*.stamps`).
//! Both commands are measured cold (`SMM_NO_CACHE=1`) and warm (the cache primed by one untimed
//! run, which is itself timed once from an empty cache). "Plan after one change": (a) one post
//! edited and not committed, on `main`; (b) the same edit committed on a branch off `main`, where
//! plan also renders the base revision (the merge base). Every sample of (a) and (b) is the first
//! run after its change: the edit adds a word never used before, so the cache can only hold the
//! post's old version (on `main` it also moves the post by a few minutes: that plan lists
//! scheduled deliveries without their texts, and shows the new time); (c) the edit of (a) under
//! `smm plan --watch`, from the write to the summary line of the update that shows it.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The generated workspace's own files the harness keeps next to the content: not content.
const GITIGNORE: &str = ".complete\n.files\n";

const CHANNELS: [(&str, &str); 8] = [
    ("bluesky", "bluesky"),
    ("mastodon", "mastodon"),
    ("x", "x"),
    ("linkedin", "linkedin"),
    ("threads", "threads"),
    ("discord", "discord"),
    ("telegram", "telegram"),
    ("slack", "slack"),
];

/// A small deterministic PRNG (xorshift), so every run generates the same workspace.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, text).expect("write");
}

/// A realistic workspace: campaigns of 50–500 posts, 8 channels, per-platform variants,
/// shared templates and macros, media with alt text, some threads.
fn generate(root: &Path, posts: usize) {
    if root.join(".complete").is_file() {
        return;
    }
    let _ = std::fs::remove_dir_all(root);
    let mut smm = String::from("brand: Bench Tea Co\ntimezone: Europe/Berlin\nchannels:\n");
    let creds = |p: &str| match p {
        "bluesky" => "password",
        "discord" => "webhook_url",
        "telegram" => "bot_token",
        "slack" => "webhook_url",
        _ => "token",
    };
    for (name, platform) in CHANNELS {
        let _ = writeln!(smm, "  {name}:\n    platform: {platform}\n    account: bench-{name}\n    credentials: {{ {}: SMM_{} }}", creds(platform), name.to_uppercase());
    }
    smm.push_str("defaults:\n  channels: [bluesky, mastodon, x, linkedin]\npolicy:\n  banned_words: { words: [guarantee] }\n  spacing: { severity: off }\n  max_per_day: { severity: off }\n  same_text: { severity: off }\n");
    write(&root.join("smm.yaml"), &smm);
    write(
        &root.join("templates/signature.j2"),
        "{% if channel.platform == \"mastodon\" %}— the Bench team{% else %}— Bench{% endif %}",
    );
    write(
        &root.join("templates/macros.j2"),
        "{% macro cta(url) %}Get it here: {{ url }}{% endmacro %}",
    );
    let png = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/base/media/cup.png"),
    )
    .expect("png");
    for i in 0..4 {
        std::fs::create_dir_all(root.join("media")).expect("mkdir");
        std::fs::write(root.join(format!("media/photo{i}.png")), &png).expect("png");
    }
    let mut rng = Rng(0x5eed);
    let mut written = 0;
    let mut campaign = 0;
    while written < posts {
        let size = (50 + rng.below(450) as usize).min(posts - written);
        let slug = format!("campaign-{campaign:04}");
        write(
            &root.join(format!("campaigns/{slug}/campaign.yaml")),
            &format!("name: Campaign {campaign}\nowner: \"@team\"\nutm:\n  campaign: {slug}\n"),
        );
        for j in 0..size {
            let n = written + j;
            let day = 1 + (n / 40) % 28;
            let month = 1 + (n / 1120) % 12;
            let year = 2027 + n / 13440;
            let hour = 8 + (n % 12);
            let minute = (n * 7) % 60;
            let mut post = format!(
                "id: p{n}\npublish_at: {year}-{month:02}-{day:02} {hour:02}:{minute:02}\nlabels: [bench]\ntext: |\n  Tea note {n}: a {} cup with notes of {}. #tea\n  {{{{ \"https://bench.tea/p/{n}\" | utm }}}}\n  {{% include \"signature.j2\" %}}\n",
                ["bright", "mellow", "smoky", "floral"][n % 4],
                ["honey", "peach", "toast", "pine"][(n / 4) % 4],
            );
            if n % 3 == 0 {
                let _ = write!(post, "media:\n  - {{ file: media/photo{}.png, alt: A cup of tea number {n} on a table }}\n", n % 4);
            }
            if n % 10 == 0 {
                let _ = write!(post, "thread:\n  - The second part of note {n}.\n  - \"The third part, with the brewing time: 3 minutes.\"\n");
            }
            let _ = write!(
                post,
                "variants:\n  x:\n    text: Tea note {n} ☕ {{{{ \"https://bench.tea/p/{n}\" | utm }}}}\n  mastodon:\n    text: |\n      {{% from \"macros.j2\" import cta %}}Tea note {n}, written for Mastodon. #TeaTime\n      {{{{ cta(\"https://bench.tea/p/{n}\" | utm) }}}}\n"
            );
            write(
                &root.join(format!("campaigns/{slug}/post-{n:06}.yaml")),
                &post,
            );
        }
        written += size;
        campaign += 1;
    }
    write(&root.join(".gitignore"), GITIGNORE);
    write(&root.join(".complete"), "");
}

/// Runs git in `root`, quietly; a failure stops the harness (it cannot go on without the repo).
fn git(root: &Path, args: &[&str]) -> String {
    git_env(root, args, &[])
}

fn git_command(root: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new("git");
    cmd.arg("-C")
        .arg(root)
        // No hooks of the user's configuration in the bench repository.
        .args(["-c", "core.hooksPath=/dev/null"])
        .args(args)
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .env_remove("GIT_INDEX_FILE")
        .stdin(Stdio::null());
    cmd
}

fn git_env(root: &Path, args: &[&str], envs: &[(&str, &str)]) -> String {
    let out = git_command(root, args)
        .envs(envs.iter().copied())
        .output()
        .expect("run git");
    assert!(
        out.status.success(),
        "git {} failed in {} ({}):\n{}",
        args.join(" "),
        root.display(),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Whether a git command succeeds (for questions like "is there a HEAD").
fn git_ok(root: &Path, args: &[&str]) -> bool {
    git_command(root, args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("run git")
        .success()
}

/// Makes the generated workspace its own git repository with one commit on `main` (a cached
/// workspace from before this is made one too). Without it, smm would find the repository the
/// harness runs in.
fn ensure_repo(root: &Path) {
    let committed =
        root.join(".git").is_dir() && git_ok(root, &["rev-parse", "-q", "--verify", "HEAD"]);
    if !committed {
        eprintln!("  making {} a git repository", root.display());
        if !root.join(".gitignore").is_file() {
            write(&root.join(".gitignore"), GITIGNORE);
        }
        // The index is written more than a second after the last file: no entry is "racily
        // clean", which would make every status check in smm hash those files again.
        std::thread::sleep(Duration::from_millis(1100));
        git(root, &["init", "-q", "-b", "main"]);
        git(root, &["config", "user.name", "smm bench"]);
        git(root, &["config", "user.email", "bench@example.invalid"]);
        git(root, &["config", "commit.gpgsign", "false"]);
        git(root, &["add", "-A"]);
        let date = "2026-11-01T00:00:00Z";
        git_env(
            root,
            &["commit", "-q", "-m", "Generated workspace"],
            &[("GIT_AUTHOR_DATE", date), ("GIT_COMMITTER_DATE", date)],
        );
        // The files and objects just written go to disk now, not during the first timed runs.
        let _ = Command::new("sync").arg("-f").arg(root).status();
    }
    assert_own_repo(root);
}

/// The harness resets and commits in the workspace: make sure that is the workspace's own
/// repository, never the one around it.
fn assert_own_repo(root: &Path) {
    let top = git(root, &["rev-parse", "--show-toplevel"]);
    let top = std::fs::canonicalize(top.trim()).expect("toplevel");
    let root = std::fs::canonicalize(root).expect("root");
    assert_eq!(
        top, root,
        "the bench workspace is not its own git repository"
    );
}

/// Back to a clean `main` (an interrupted run may have left an edit or the `change` branch).
fn clean_main(root: &Path) {
    assert_own_repo(root);
    git(root, &["checkout", "-q", "-f", "main"]);
    git(root, &["reset", "-q", "--hard", "main"]);
    if git_ok(root, &["rev-parse", "-q", "--verify", "refs/heads/change"]) {
        git(root, &["branch", "-q", "-D", "change"]);
    }
    let status = git(root, &["status", "--porcelain"]);
    assert!(
        status.is_empty(),
        "the bench workspace is not clean:\n{status}"
    );
}

/// Empties smm's post cache in the workspace's git directory (`.git/smm/posts-*`: entries,
/// texts and file stamps).
fn clear_cache(root: &Path) {
    for file in cache_files(root) {
        std::fs::remove_file(file).expect("remove the post cache");
    }
}

fn cache_files(root: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(root.join(".git/smm")) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter(|e| {
            let name = e.file_name();
            let name = name.to_string_lossy();
            name.starts_with("posts-")
        })
        .map(|e| e.path())
        .collect()
}

#[derive(Clone, Copy)]
enum Cache {
    /// `SMM_NO_CACHE=1`.
    Off,
    /// The variable unset, whatever the harness's environment says.
    On,
}

struct Run {
    wall: Duration,
    rss_kb: u64,
    stdout: Vec<u8>,
}

struct Stats {
    median: Duration,
    rss_kb: u64,
}

fn tail(text: &[u8], lines: usize) -> String {
    let text = String::from_utf8_lossy(text);
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

fn median(mut times: Vec<Duration>) -> Option<Duration> {
    times.sort();
    times.get(times.len() / 2).copied()
}

/// Runs `cmd` once in `cwd` under /usr/bin/time: wall time, peak RSS and stdout, or what went
/// wrong (a non-zero exit is a failure: `smm plan` exits 1 on an invalid workspace).
fn run_once(cmd: &[&str], cwd: &Path, cache: Cache) -> Result<Run, String> {
    let mut command = Command::new("/usr/bin/time");
    command
        .arg("-f")
        .arg("%M")
        .args(cmd)
        .current_dir(cwd)
        .stdin(Stdio::null());
    match cache {
        Cache::Off => command.env("SMM_NO_CACHE", "1"),
        Cache::On => command.env_remove("SMM_NO_CACHE"),
    };
    let start = Instant::now();
    let out = command
        .output()
        .expect("run /usr/bin/time (Debian package `time`)");
    let wall = start.elapsed();
    if !out.status.success() {
        return Err(format!(
            "`{}` in {} exited with {}\n--- stderr (end) ---\n{}\n--- stdout (end) ---\n{}",
            cmd.join(" "),
            cwd.display(),
            out.status,
            tail(&out.stderr, 15),
            tail(&out.stdout, 15)
        ));
    }
    let rss_kb = String::from_utf8_lossy(&out.stderr)
        .lines()
        .last()
        .and_then(|l| l.trim().parse().ok())
        .unwrap_or(0);
    Ok(Run {
        wall,
        rss_kb,
        stdout: out.stdout,
    })
}

struct Bench {
    smm: &'static str,
    at: &'static str,
    failures: Vec<String>,
}

impl Bench {
    fn fail(&mut self, what: &str, error: &str) {
        eprintln!("\n!!!!!!!! FAILED: {what}\n{error}\n!!!!!!!!\n");
        let first = error.lines().next().unwrap_or_default();
        self.failures.push(format!("{what}: {first}"));
    }

    /// One run that must succeed (and whose stdout must contain each of `expect`).
    fn once(
        &mut self,
        what: &str,
        cmd: &[&str],
        cwd: &Path,
        cache: Cache,
        expect: &[&str],
    ) -> Option<Run> {
        let run = run_once(cmd, cwd, cache).and_then(|run| {
            match expect.iter().find(|e| !contains(&run.stdout, e)) {
                Some(missing) => Err(format!(
                    "`{}` succeeded but its output lacks `{missing}`\n--- stdout (end) ---\n{}",
                    cmd.join(" "),
                    tail(&run.stdout, 15)
                )),
                None => Ok(run),
            }
        });
        run.map_err(|e| self.fail(what, &e)).ok()
    }

    /// `runs` runs: the median wall time and the largest peak RSS; `None` (reported) if any fails.
    fn measure(
        &mut self,
        what: &str,
        runs: usize,
        cmd: &[&str],
        cwd: &Path,
        cache: Cache,
    ) -> Option<Stats> {
        eprintln!("  {what} ({runs} runs)");
        let mut times = Vec::new();
        let mut rss_kb = 0;
        for _ in 0..runs {
            let run = self.once(what, cmd, cwd, cache, &[])?;
            times.push(run.wall);
            rss_kb = rss_kb.max(run.rss_kb);
        }
        let median = median(times)?;
        eprintln!("    {}, {}", secs(median), mb(rss_kb));
        Some(Stats { median, rss_kb })
    }

    fn validate(&self) -> [&'static str; 4] {
        [self.smm, "validate", "--at", self.at]
    }

    fn plan(&self) -> [&'static str; 4] {
        [self.smm, "plan", "--at", self.at]
    }
}

/// A post's text with `word` appended to the first line of its `text:` (the generator ends it
/// with ` #tea`), so it stays valid.
fn with_word(path: &Path, text: &str, word: &str) -> String {
    let edited = text.replacen(" #tea\n", &format!(" #tea {word}\n"), 1);
    assert_ne!(edited, text, "{}: no ` #tea` line to edit", path.display());
    edited
}

/// A post's text with its `publish_at` moved by a minute or more within its hour, so the plan on
/// `main` (one line per scheduled delivery, without texts) shows that it saw an edit; and what
/// the post's Bluesky line says then.
fn retimed(path: &Path, text: &str, sample: usize) -> (String, String) {
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .unwrap_or_else(|| panic!("{}: no `{name}` line", path.display()))
            .to_string()
    };
    let (id, at) = (field("id: "), field("publish_at: "));
    let (hour, minute) = at.rsplit_once(':').expect("publish_at is `date hh:mm`");
    let minute: usize = minute.parse().expect("minutes");
    let moved = format!("{hour}:{:02}", (minute + 1 + sample % 58) % 60);
    let edited = text.replacen(
        &format!("publish_at: {at}\n"),
        &format!("publish_at: {moved}\n"),
        1,
    );
    (edited, format!("{id}@bluesky is scheduled for {moved} "))
}

/// Edits a post on `main` in one write (a new word, a new time); returns its original text and
/// what its Bluesky line says after the edit.
fn edit_and_retime(path: &Path, word: &str, sample: usize) -> (String, String) {
    let original = std::fs::read_to_string(path).expect("read post");
    let (edited, line) = retimed(path, &with_word(path, &original, word), sample);
    std::fs::write(path, edited).expect("write post");
    (original, line)
}

/// A word never used in this workspace before, so no cache can hold the edited post.
fn fresh_word(nonce: u64, sample: usize) -> String {
    format!("brewed{nonce:x}n{sample}")
}

/// The post edited in a sample: a different one each time, spread over the workspace.
fn pick(files: &[PathBuf], sample: usize) -> &Path {
    &files[(files.len() / 2 + sample * 7919) % files.len()]
}

/// (a) One uncommitted edit on `main`: prime, edit one post, time one plan, restore, re-prime.
fn uncommitted_edit(
    bench: &mut Bench,
    root: &Path,
    files: &[PathBuf],
    samples: usize,
    nonce: u64,
) -> Option<Duration> {
    let what = "plan after one uncommitted edit";
    eprintln!("  {what} ({samples} samples)");
    let plan = bench.plan();
    bench.once(&format!("{what}: priming"), &plan, root, Cache::On, &[])?;
    let mut times = Vec::new();
    for i in 0..samples {
        let post = pick(files, i);
        let word = fresh_word(nonce, i);
        let (original, moved) = edit_and_retime(post, &word, i);
        let run = bench.once(
            what,
            &plan,
            root,
            Cache::On,
            &[&moved, "+ uncommitted changes"],
        );
        std::fs::write(post, original).expect("restore post");
        times.push(run?.wall);
        bench.once(&format!("{what}: re-priming"), &plan, root, Cache::On, &[])?;
    }
    let median = median(times)?;
    eprintln!("    {}", secs(median));
    Some(median)
}

/// (b) A pull request's shape: on branch `change` off `main`, plan renders the merge base too.
/// Prime, commit the edit of one post, time one plan, reset the branch, re-prime (those re-priming
/// runs, warm and without a change, are the reference). Skipped when the priming run takes longer
/// than `max_prime`. Returns the table cells (one change, no change).
fn committed_edit(
    bench: &mut Bench,
    root: &Path,
    files: &[PathBuf],
    samples: usize,
    nonce: u64,
    max_prime: Duration,
) -> [String; 2] {
    let what = "plan after one commit on a branch";
    eprintln!("  {what} ({samples} samples)");
    let plan = bench.plan();
    git(root, &["checkout", "-q", "-B", "change", "main"]);
    let base = ["· base "];
    let mut changed = Vec::new();
    let mut unchanged = Vec::new();
    let primed = bench.once(&format!("{what}: priming"), &plan, root, Cache::On, &base);
    let mut ok = primed.is_some();
    if let Some(prime) = primed.filter(|p| p.wall > max_prime) {
        clean_main(root);
        let skipped = format!("skipped (priming took {})", secs(prime.wall));
        eprintln!("    {skipped}");
        return [skipped, "–".into()];
    }
    for i in 0..samples {
        if !ok {
            break;
        }
        let post = pick(files, samples + i);
        let word = fresh_word(nonce, samples + i);
        let text = std::fs::read_to_string(post).expect("read post");
        std::fs::write(post, with_word(post, &text, &word)).expect("write post");
        git(root, &["commit", "-q", "-a", "-m", "Edit one post"]);
        // One post, two of its four channels without a variant of their own: two edits.
        let expect = [
            word.as_str(),
            "edited since the base revision",
            " scheduled, 2 edits,",
        ];
        let run = bench.once(what, &plan, root, Cache::On, &expect);
        git(root, &["reset", "-q", "--hard", "main"]);
        let Some(run) = run else {
            ok = false;
            break;
        };
        changed.push(run.wall);
        let again = bench.once(
            &format!("{what}: re-priming"),
            &plan,
            root,
            Cache::On,
            &base,
        );
        ok = again.is_some();
        unchanged.extend(again.map(|r| r.wall));
    }
    clean_main(root);
    match (ok, median(changed), median(unchanged)) {
        (true, Some(c), Some(u)) => {
            eprintln!("    {} (no change: {})", secs(c), secs(u));
            [secs(c), secs(u)]
        }
        _ => ["FAILED".into(), "FAILED".into()],
    }
}

/// The same branch, nothing changed, cache off: what the base costs without the cache.
fn branch_cold(bench: &mut Bench, root: &Path, runs: usize) -> Option<Stats> {
    git(root, &["checkout", "-q", "-B", "change", "main"]);
    let plan = bench.plan();
    let stats = bench.measure("plan on a branch, cold", runs, &plan, root, Cache::Off);
    clean_main(root);
    stats
}

/// (c) `smm plan --watch` on `main`: the edit of (a), timed from writing the file to the watch
/// printing the summary line after the lines that show it; the file is restored, and that update
/// awaited, before the next sample. With the session's peak RSS.
fn watched_edit(
    bench: &mut Bench,
    root: &Path,
    files: &[PathBuf],
    samples: usize,
    nonce: u64,
) -> Option<Stats> {
    let what = "plan --watch, one edit";
    eprintln!("  {what} ({samples} samples)");
    let mut child = Command::new(bench.smm)
        .args(["plan", "--watch", "--at", bench.at])
        .current_dir(root)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start smm plan --watch");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead as _;
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send((Instant::now(), line)).is_err() {
                break;
            }
        }
    });
    // Reads up to the next summary line, which must come after one containing `expect`; when it
    // came.
    let summary = |expect: &str| -> Result<Instant, String> {
        let mut seen = expect.is_empty();
        loop {
            let (at, line) = rx
                .recv_timeout(Duration::from_secs(300))
                .map_err(|_| "no summary line from `smm plan --watch` within 300 s".to_string())?;
            seen |= line.contains(expect);
            if line.starts_with("Plan: ") {
                return match seen {
                    true => Ok(at),
                    false => Err(format!("an update lacks `{expect}`")),
                };
            }
        }
    };
    let times = (|| {
        summary("")?;
        let mut times = Vec::new();
        for i in 0..samples {
            let sample = 2 * samples + i;
            let post = pick(files, sample);
            let written = Instant::now();
            let (original, moved) = edit_and_retime(post, &fresh_word(nonce, sample), sample);
            let shown = summary(&moved);
            std::fs::write(post, original).expect("restore post");
            times.push(shown? - written);
            summary("")?;
        }
        Ok::<_, String>(times)
    })();
    // The session's peak memory, all updates included.
    let peak_kb = std::fs::read_to_string(format!("/proc/{}/status", child.id()))
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
            line.split_whitespace().nth(1)?.parse().ok()
        })
        .unwrap_or(0);
    let _ = child.kill();
    let _ = child.wait();
    match times {
        Ok(times) => {
            let median = median(times)?;
            eprintln!("    {}, {}", secs(median), mb(peak_kb));
            Some(Stats {
                median,
                rss_kb: peak_kb,
            })
        }
        Err(e) => {
            bench.fail(what, &e);
            None
        }
    }
}

fn post_files(root: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for c in std::fs::read_dir(root.join("campaigns")).expect("campaigns") {
        for f in std::fs::read_dir(c.expect("entry").path()).expect("campaign") {
            let p = f.expect("entry").path();
            if p.file_name().is_some_and(|n| n != "campaign.yaml") {
                files.push(p);
            }
        }
    }
    files.sort();
    files
}

fn secs(d: Duration) -> String {
    format!("{:.3} s", d.as_secs_f64())
}

fn mb(kb: u64) -> String {
    format!("{} MB", kb / 1024)
}

fn cell<T>(value: Option<T>, show: impl Fn(T) -> String) -> String {
    value.map_or_else(|| "FAILED".into(), show)
}

fn ratio(a: Duration, b: Duration) -> String {
    format!("{:.1}×", a.as_secs_f64() / b.as_secs_f64().max(1e-9))
}

/// "a / b" of two optional values (– for a missing one).
fn pair(a: Option<String>, b: Option<String>) -> String {
    format!(
        "{} / {}",
        a.as_deref().unwrap_or("–"),
        b.as_deref().unwrap_or("–")
    )
}

/// One row of the full-run table: `smm validate` or `smm plan`, cold and warm.
#[allow(clippy::too_many_arguments)]
fn full_row(
    table: &mut String,
    n: usize,
    command: &str,
    cold: &Option<Stats>,
    fill: Option<Duration>,
    warm: &Option<Stats>,
    floor: &Option<Stats>,
    baseline: Option<Duration>,
) {
    let over_floor = |s: &Option<Stats>| match (s, floor) {
        (Some(s), Some(f)) => ratio(s.median, f.median),
        _ => "–".into(),
    };
    let baseline_over = |s: &Option<Stats>| match (baseline, s) {
        (Some(b), Some(s)) => Some(ratio(b, s.median)),
        _ => None,
    };
    let _ = writeln!(
        table,
        "| {n} | {command} | {} | {} | {} | {} | {} | {} | {} | {} |",
        cell(cold.as_ref(), |s| secs(s.median)),
        cell(warm.as_ref(), |s| secs(s.median)),
        cell(fill, secs),
        pair(
            cold.as_ref().map(|s| mb(s.rss_kb)),
            warm.as_ref().map(|s| mb(s.rss_kb))
        ),
        cell(floor.as_ref(), |s| secs(s.median)),
        pair(Some(over_floor(cold)), Some(over_floor(warm))),
        baseline.map_or("–".into(), secs),
        if baseline.is_some() {
            pair(baseline_over(cold), baseline_over(warm))
        } else {
            "–".into()
        },
    );
}

fn main() {
    let sizes: Vec<usize> = std::env::var("SMM_BENCH_SIZES")
        .unwrap_or_else(|_| "1000,10000,100000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench");
    let mut bench = Bench {
        smm: env!("CARGO_BIN_EXE_smm"),
        at: "2026-12-01T00:00:00Z",
        failures: Vec::new(),
    };
    // Makes every edit's word new, in this run and against the caches of earlier runs.
    let nonce = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_nanos() as u64;
    let mut full = String::from(
        "| posts | command | cold | warm | first run, empty cache | peak RSS cold / warm | floor (cat) | smm ÷ floor cold / warm | check-jsonschema | check-jsonschema ÷ smm cold / warm |\n\
         |---|---|---|---|---|---|---|---|---|---|\n",
    );
    let mut change = String::from(
        "| posts | samples | plan warm, no change | one uncommitted edit | `plan --watch`, one edit (session peak RSS) | plan on a branch, warm, no change | one commit on a branch | plan on a branch, cold |\n\
         |---|---|---|---|---|---|---|---|\n",
    );
    for n in sizes {
        let started = Instant::now();
        let root = base.join(format!("ws-{n}"));
        eprintln!("[{n} posts] workspace {}", root.display());
        generate(&root, n);
        ensure_repo(&root);
        clean_main(&root);
        let runs = if n >= 100_000 { 3 } else { 5 };
        let files = post_files(&root);
        std::fs::write(
            root.join(".files"),
            files
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join("\n"),
        )
        .expect("list");
        let floor = bench.measure(
            "floor: cat every post",
            runs,
            &["sh", "-c", "xargs cat < .files > /dev/null"],
            &root,
            Cache::Off,
        );
        let checker =
            Path::new(env!("CARGO_MANIFEST_DIR")).join(".tools/venv/bin/check-jsonschema");
        let schema = Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/post.schema.json");
        let baseline = if checker.is_file() && n <= 10_000 {
            let cmd = format!(
                "xargs {} --schemafile {} < .files > /dev/null",
                checker.display(),
                schema.display()
            );
            bench
                .measure(
                    "check-jsonschema",
                    1,
                    &["sh", "-c", &cmd],
                    &root,
                    Cache::Off,
                )
                .map(|s| s.median)
        } else {
            eprintln!("  check-jsonschema skipped (not installed in .tools, or over 10k posts)");
            None
        };
        let full_runs = |bench: &mut Bench, command: &str, cmd: &[&str]| {
            clear_cache(&root);
            let cold = bench.measure(&format!("{command}, cold"), runs, cmd, &root, Cache::Off);
            if !cache_files(&root).is_empty() {
                eprintln!("  !!!!!!!! WARNING: runs with SMM_NO_CACHE=1 wrote a post cache");
            }
            eprintln!("  {command}, first run with an empty cache (1 run)");
            let fill = bench
                .once(
                    &format!("{command}, empty cache"),
                    cmd,
                    &root,
                    Cache::On,
                    &[],
                )
                .map(|r| r.wall);
            let cached: u64 = cache_files(&root)
                .iter()
                .filter_map(|f| f.metadata().ok())
                .map(|m| m.len())
                .sum();
            match fill {
                Some(_) if cached == 0 => eprintln!(
                    "  !!!!!!!! WARNING: no post cache after priming: the warm runs are not warm"
                ),
                Some(t) => eprintln!("    {}, post cache {}", secs(t), mb(cached / 1024)),
                None => {}
            }
            let warm = fill.and_then(|_| {
                bench.measure(&format!("{command}, warm"), runs, cmd, &root, Cache::On)
            });
            (cold, fill, warm)
        };
        let (validate, plan) = (bench.validate(), bench.plan());
        let (validate_cold, validate_fill, validate_warm) =
            full_runs(&mut bench, "smm validate", &validate);
        let (plan_cold, plan_fill, plan_warm) = full_runs(&mut bench, "smm plan", &plan);
        full_row(
            &mut full,
            n,
            "validate",
            &validate_cold,
            validate_fill,
            &validate_warm,
            &floor,
            baseline,
        );
        full_row(
            &mut full, n, "plan", &plan_cold, plan_fill, &plan_warm, &floor, None,
        );

        // "Plan after one change" costs about 2 plans per sample in each shape: at 100k only
        // once the cache makes a warm plan cheap.
        let samples = runs;
        let warm_plan = plan_warm.as_ref().map(|s| s.median);
        let affordable = n <= 10_000 || warm_plan.is_some_and(|t| t <= Duration::from_millis(2500));
        if affordable && warm_plan.is_some() {
            let uncommitted = uncommitted_edit(&mut bench, &root, &files, samples, nonce);
            let watched = watched_edit(&mut bench, &root, &files, samples, nonce);
            // Plan on a branch writes the base revision's files out (~0.5 ms a file here).
            let max_prime = if n <= 10_000 {
                Duration::MAX
            } else {
                Duration::from_secs(10)
            };
            let [committed, branch_warm] =
                committed_edit(&mut bench, &root, &files, samples, nonce, max_prime);
            let cold = if n <= 10_000 {
                cell(branch_cold(&mut bench, &root, runs), |s| secs(s.median))
            } else {
                "–".into()
            };
            let _ = writeln!(
                change,
                "| {n} | {samples} | {} | {} | {} | {branch_warm} | {committed} | {cold} |",
                cell(warm_plan, secs),
                cell(uncommitted, secs),
                cell(watched, |s| format!("{}, {}", secs(s.median), mb(s.rss_kb))),
            );
        } else {
            eprintln!(
                "  plan after one change skipped (warm plan {})",
                cell(warm_plan, secs)
            );
            let _ = writeln!(
                change,
                "| {n} | – | {} | skipped | skipped | – | skipped | – |",
                cell(warm_plan, secs)
            );
        }
        eprintln!(
            "[{n} posts] done in {:.0} s",
            started.elapsed().as_secs_f64()
        );
    }
    let results = format!(
        "{full}\nMedians of 5 runs (3 at 100k posts); peak RSS is the largest of those runs. \
         Cold: `SMM_NO_CACHE=1`. Warm: the cache in the workspace's git directory primed by one \
         untimed run; that run, from an empty cache, is the \"first run\" column. The floor is \
         `cat` of every post file; check-jsonschema (one run, up to 10k posts) validates every post \
         against `schemas/post.schema.json`.\n\n\
         Plan after one change (medians; each sample is the first plan after a new edit of one \
         post's text, the cache primed with the workspace before it):\n\n{change}\n\
         Uncommitted: the edit is not committed, on `main`. On a branch: the edit is committed on \
         `change` off `main`, and plan also renders the merge base with `main`; \"no change\" is \
         the same branch with nothing changed (the re-priming runs between samples).\n"
    );
    println!("{results}");
    std::fs::write(base.join("results.md"), &results).expect("results");
    if !bench.failures.is_empty() {
        eprintln!(
            "\n!!!!!!!! {} FAILED COMMAND(S), their times are not in the tables:",
            bench.failures.len()
        );
        for f in &bench.failures {
            eprintln!("  - {f}");
        }
        std::process::exit(1);
    }
}
