//! The apply benchmark: 1,000 due deliveries over 10 Discord webhook channels, published by
//! `smm apply` against a local fake Discord that answers after 50 ms and allows each webhook
//! 5 requests per 1 s window (Discord's bucket headers on every answer, 429 past the limit).
//! Reports the median wall time of several runs against the lower bound the rate limits set,
//! and counts duplicates on the server (must be zero) and deliveries never posted (must be
//! zero). Each run starts from a fresh repository with a bare remote, as in CI.
//! Run: `cargo bench --bench apply` (`SMM_BENCH_APPLY_RUNS=N` to choose the number of runs).

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const CHANNELS: usize = 10;
const POSTS: usize = 100;
const LATENCY: Duration = Duration::from_millis(50);
const BUCKET: usize = 5;
const WINDOW: Duration = Duration::from_secs(1);

/// One webhook's fixed rate-limit window.
#[derive(Default)]
struct Bucket {
    started: Option<Instant>,
    used: usize,
}

#[derive(Default)]
struct Fake {
    buckets: HashMap<String, Bucket>,
    /// How often each message text was posted (a duplicate shows as a count above 1).
    posted: HashMap<String, usize>,
    refused: usize,
    /// When the first and the last message were posted.
    first: Option<Instant>,
    last: Option<Instant>,
}

fn serve(listener: TcpListener, fake: Arc<Mutex<Fake>>) {
    for stream in listener.incoming().flatten() {
        let fake = fake.clone();
        std::thread::spawn(move || connection(stream, &fake));
    }
}

/// Serves one keep-alive connection until the client closes it.
fn connection(stream: TcpStream, fake: &Mutex<Fake>) {
    let mut reader = BufReader::new(stream.try_clone().expect("clone stream"));
    let mut writer = stream;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut parts = line.split_whitespace();
        let method = parts.next().unwrap_or_default().to_string();
        let path = parts.next().unwrap_or_default().to_string();
        let mut length = 0;
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).unwrap_or(0) == 0 {
                return;
            }
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse().unwrap_or(0);
                }
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        std::thread::sleep(LATENCY);
        let hook = path.split('?').next().unwrap_or_default().to_string();
        let (status, headers, answer) = if method == "GET" {
            (
                200,
                String::new(),
                r#"{"id":"1","guild_id":"7","channel_id":"8"}"#.to_string(),
            )
        } else {
            post(fake, &hook, &body)
        };
        let reply = format!(
            "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\n{headers}\r\n{answer}",
            answer.len()
        );
        if writer.write_all(reply.as_bytes()).is_err() {
            return;
        }
    }
}

/// A message post: counted against the webhook's bucket, with Discord's headers.
fn post(fake: &Mutex<Fake>, hook: &str, body: &[u8]) -> (u16, String, String) {
    let mut fake = fake.lock().expect("fake state");
    let now = Instant::now();
    let bucket = fake.buckets.entry(hook.to_string()).or_default();
    if bucket
        .started
        .is_none_or(|s| now.duration_since(s) >= WINDOW)
    {
        bucket.started = Some(now);
        bucket.used = 0;
    }
    let reset_after = WINDOW.saturating_sub(now.duration_since(bucket.started.unwrap_or(now)));
    if bucket.used >= BUCKET {
        fake.refused += 1;
        let secs = reset_after.as_secs_f64();
        return (
            429,
            format!("x-ratelimit-limit: {BUCKET}\r\nx-ratelimit-remaining: 0\r\nx-ratelimit-reset-after: {secs:.3}\r\nretry-after: {}\r\n", secs.ceil()),
            format!(r#"{{"message":"You are being rate limited.","retry_after":{secs:.3},"global":false}}"#),
        );
    }
    bucket.used += 1;
    let remaining = BUCKET - bucket.used;
    let message: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let content = message["content"].as_str().unwrap_or_default().to_string();
    fake.first.get_or_insert(now);
    fake.last = Some(now);
    let count = fake.posted.entry(content).or_default();
    *count += 1;
    let id = fake.posted.values().sum::<usize>();
    (
        200,
        format!(
            "x-ratelimit-limit: {BUCKET}\r\nx-ratelimit-remaining: {remaining}\r\nx-ratelimit-reset-after: {:.3}\r\n",
            reset_after.as_secs_f64()
        ),
        format!(r#"{{"id":"{id}","channel_id":"8"}}"#),
    )
}

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A workspace of `POSTS` posts, each to every channel, all due at 09:00 on 2027-01-04, in a
/// git repository with a bare remote.
fn workspace(root: &Path, port: u16) -> Vec<(String, String)> {
    let _ = std::fs::remove_dir_all(root);
    let ws = root.join("ws");
    std::fs::create_dir_all(ws.join("posts")).expect("mkdir");
    let mut smm = String::from("brand: Bench\ntimezone: UTC\nchannels:\n");
    let mut env = Vec::new();
    for c in 0..CHANNELS {
        smm.push_str(&format!(
            "  hook{c}:\n    platform: discord\n    account: bench\n    credentials: {{ webhook_url: SMM_BENCH_HOOK_{c} }}\n"
        ));
        env.push((
            format!("SMM_BENCH_HOOK_{c}"),
            format!("http://127.0.0.1:{port}/api/webhooks/{c}/token{c}"),
        ));
    }
    let all: Vec<String> = (0..CHANNELS).map(|c| format!("hook{c}")).collect();
    smm.push_str(&format!(
        "defaults:\n  channels: [{}]\npolicy:\n  spacing: {{ severity: off }}\n  max_per_day: {{ severity: off }}\n  same_text: {{ severity: off }}\n",
        all.join(", ")
    ));
    std::fs::write(ws.join("smm.yaml"), smm).expect("smm.yaml");
    for n in 0..POSTS {
        std::fs::write(
            ws.join(format!("posts/p{n:03}.yaml")),
            format!("publish_at: 2027-01-04 09:00\ntext: \"Bench post {n} for {{{{ channel.name }}}}\"\n"),
        )
        .expect("post");
    }
    git(&ws, &["init", "--quiet", "--initial-branch", "main"]);
    git(&ws, &["add", "."]);
    git(
        &ws,
        &[
            "-c",
            "user.name=bench",
            "-c",
            "user.email=b@example.org",
            "commit",
            "--quiet",
            "-m",
            "content",
        ],
    );
    git(root, &["init", "--quiet", "--bare", "remote.git"]);
    git(&ws, &["remote", "add", "origin", "../remote.git"]);
    git(&ws, &["push", "--quiet", "origin", "main"]);
    env
}

/// The least time the rate limits allow for one channel's posts: full windows, then the last
/// window's requests one after another.
fn lower_bound() -> Duration {
    let windows = POSTS.div_ceil(BUCKET);
    WINDOW * (windows as u32 - 1) + LATENCY * (POSTS - (windows - 1) * BUCKET) as u32
}

fn main() {
    let smm = env!("CARGO_BIN_EXE_smm");
    let runs: usize = std::env::var("SMM_BENCH_APPLY_RUNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench/apply");
    let bound = lower_bound();
    let mut times = Vec::new();
    let mut report = String::new();
    for run in 1..=runs {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let fake = Arc::new(Mutex::new(Fake::default()));
        let serving = fake.clone();
        std::thread::spawn(move || serve(listener, serving));
        let env = workspace(&base, port);
        let start = Instant::now();
        let out = Command::new(smm)
            .args(["apply", "--at", "2027-01-04T09:01:00Z"])
            .envs(env)
            .current_dir(base.join("ws"))
            .output()
            .expect("run smm apply");
        let wall = start.elapsed();
        let fake = fake.lock().expect("fake");
        let posted: usize = fake.posted.values().sum();
        let duplicates: usize = fake.posted.values().map(|c| c - 1).sum();
        let missing = CHANNELS * POSTS - fake.posted.len();
        let line = format!(
            "run {run}: {:.2} s ({:.2} s from the first post to the last), exit {}, {posted} posted, {duplicates} duplicates, {missing} never posted, {} refused with 429",
            wall.as_secs_f64(),
            fake.last.zip(fake.first).map_or(0.0, |(l, f)| l.duration_since(f).as_secs_f64()),
            out.status.code().unwrap_or(-1),
            fake.refused
        );
        println!("{line}");
        if !out.status.success() || duplicates > 0 || missing > 0 {
            eprintln!("{}", String::from_utf8_lossy(&out.stderr));
            panic!("apply did not publish every delivery exactly once: {line}");
        }
        report.push_str(&line);
        report.push('\n');
        times.push(wall);
    }
    times.sort();
    let median = times[times.len() / 2];
    let summary = format!(
        "apply {} deliveries over {CHANNELS} channels ({BUCKET} per {} s per channel, {} ms latency): median {:.2} s, lower bound {:.2} s, ratio {:.2}×, 0 duplicates",
        CHANNELS * POSTS,
        WINDOW.as_secs(),
        LATENCY.as_millis(),
        median.as_secs_f64(),
        bound.as_secs_f64(),
        median.as_secs_f64() / bound.as_secs_f64()
    );
    println!("{summary}");
    report.push_str(&summary);
    report.push('\n');
    std::fs::write(base.with_file_name("results-apply.md"), report).expect("write results");
}
