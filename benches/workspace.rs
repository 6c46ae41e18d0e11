//! The benchmark harness: generates workspaces of 1k, 10k and 100k posts and measures
//! `smm validate` and `smm plan` (median wall time, peak RSS) next to two baselines run in the
//! same harness: the floor (reading every file with `cat`) and an independent validator
//! (check-jsonschema with the project's schemas). Run: `cargo bench --bench workspace`
//! (`SMM_BENCH_SIZES=1000,10000` to choose sizes). Results: target/bench/results.md.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

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
    write(&root.join(".complete"), "");
}

/// Runs a command `runs` times under /usr/bin/time; median wall time and the largest peak RSS.
fn measure(runs: usize, cmd: &[&str], cwd: &Path) -> (Duration, u64) {
    let mut times = Vec::new();
    let mut rss = 0;
    for _ in 0..runs {
        let start = Instant::now();
        let out = Command::new("/usr/bin/time")
            .arg("-f")
            .arg("%M")
            .args(cmd)
            .current_dir(cwd)
            .output()
            .expect("run /usr/bin/time (Debian package `time`)");
        times.push(start.elapsed());
        let stderr = String::from_utf8_lossy(&out.stderr);
        let kb: u64 = stderr
            .lines()
            .last()
            .and_then(|l| l.trim().parse().ok())
            .unwrap_or(0);
        rss = rss.max(kb);
    }
    times.sort();
    (times[times.len() / 2], rss)
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

fn main() {
    let smm = env!("CARGO_BIN_EXE_smm");
    let sizes: Vec<usize> = std::env::var("SMM_BENCH_SIZES")
        .unwrap_or_else(|_| "1000,10000,100000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench");
    let at = "2026-12-01T00:00:00Z";
    let mut table = String::from("| posts | floor (cat) | smm validate | smm plan | validate RSS | plan RSS | check-jsonschema | validate/floor | baseline/validate |\n|---|---|---|---|---|---|---|---|---|\n");
    for n in sizes {
        let root = base.join(format!("ws-{n}"));
        generate(&root, n);
        let runs = if n >= 100_000 { 3 } else { 5 };
        let files = post_files(&root);
        let list = root.join(".files");
        std::fs::write(
            &list,
            files
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join("\n"),
        )
        .expect("list");
        let floor = measure(runs, &["sh", "-c", "xargs cat < .files > /dev/null"], &root);
        let validate = measure(runs, &[smm, "validate", "--at", at], &root);
        let plan = measure(runs, &[smm, "plan", "--at", at], &root);
        let checker =
            Path::new(env!("CARGO_MANIFEST_DIR")).join(".tools/venv/bin/check-jsonschema");
        let schema = Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/post.schema.json");
        let baseline = if checker.is_file() && n <= 10_000 {
            let cmd = format!(
                "xargs {} --schemafile {} < .files > /dev/null",
                checker.display(),
                schema.display()
            );
            Some(measure(1, &["sh", "-c", &cmd], &root).0)
        } else {
            None
        };
        let _ = writeln!(
            table,
            "| {n} | {} | {} | {} | {} MB | {} MB | {} | {:.1}× | {} |",
            secs(floor.0),
            secs(validate.0),
            secs(plan.0),
            validate.1 / 1024,
            plan.1 / 1024,
            baseline.map_or("–".into(), secs),
            validate.0.as_secs_f64() / floor.0.as_secs_f64().max(1e-9),
            baseline.map_or("–".into(), |b| format!(
                "{:.1}×",
                b.as_secs_f64() / validate.0.as_secs_f64()
            )),
        );
        eprintln!("{n} posts done");
    }
    println!("{table}");
    std::fs::write(base.join("results.md"), &table).expect("results");
}
