//! Stoplight Prism in mock mode on 127.0.0.1, for contract tests: every request is validated
//! against an OpenAPI document, and a request that breaks it gets 422 (401 when the security
//! scheme is not met). The reasons are NOT in the body (the specs declare their own error
//! responses, which Prism mocks); they are in the `sl-violations` response header and in
//! Prism's log, one line per violation: `[VALIDATOR] ✖ error Violation: request.body Request
//! body must ...`. [`Prism::violations`] reads them from the log. `let prism =
//! Prism::start(&spec);` gives its URL; dropping the value kills it.
//!
//! Needs `tests/contract/install.sh` (run by `scripts/test`); without it this panics, it never
//! skips.

#![allow(dead_code)]

use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

const READY_TIMEOUT: Duration = Duration::from_secs(120);

pub struct Prism {
    /// `http://127.0.0.1:PORT`
    pub url: String,
    /// How long it took until Prism listened (spec loading dominates).
    pub startup: Duration,
    /// Locked to ask whether it is still running (`try_wait` needs `&mut`).
    child: Mutex<Child>,
    log: Arc<Mutex<String>>,
}

pub fn contract_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/contract")
}

fn free_port() -> u16 {
    // The port is free when asked; Prism binds it a moment later (a race only with other
    // processes grabbing ports, which the ready check below would report).
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port on 127.0.0.1")
}

impl Prism {
    /// Starts `prism mock` for `spec`. Panics, with Prism's output, if Prism or the spec is
    /// missing, or it does not listen within 120 s.
    pub fn start(spec: &Path) -> Prism {
        let bin = contract_dir().join("node_modules/.bin/prism");
        if !bin.is_file() {
            panic!(
                "\n\n*** Prism is not installed: {} is missing.\n\
                 *** run tests/contract/install.sh or scripts/test\n\n",
                bin.display()
            );
        }
        if !spec.is_file() {
            panic!(
                "\n\n*** The OpenAPI spec {} is missing.\n\n",
                spec.display()
            );
        }
        let port = free_port();
        let started = Instant::now();
        let mut child = Command::new(&bin)
            .args(["mock", "--host", "127.0.0.1", "--port", &port.to_string()])
            .arg(spec)
            .current_dir(contract_dir())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", bin.display()));
        let log = Arc::new(Mutex::new(String::new()));
        for pipe in [
            child
                .stdout
                .take()
                .map(|p| Box::new(p) as Box<dyn Read + Send>),
            child
                .stderr
                .take()
                .map(|p| Box::new(p) as Box<dyn Read + Send>),
        ]
        .into_iter()
        .flatten()
        {
            // Drain both pipes for the whole life of the server: a full pipe would block it.
            let log = Arc::clone(&log);
            thread::spawn(move || {
                let mut pipe = pipe;
                let mut buf = [0u8; 8192];
                while let Ok(n) = pipe.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    log.lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push_str(&String::from_utf8_lossy(&buf[..n]));
                }
            });
        }
        let url = format!("http://127.0.0.1:{port}");
        loop {
            let listening = log
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .contains("Prism is listening");
            if listening && TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            if let Ok(Some(status)) = child.try_wait() {
                thread::sleep(Duration::from_millis(200));
                panic!(
                    "\n\n*** Prism exited ({status}) before listening; its output:\n{}\n",
                    log.lock().unwrap_or_else(|e| e.into_inner())
                );
            }
            if started.elapsed() > READY_TIMEOUT {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "\n\n*** Prism did not listen within {} s; its output:\n{}\n",
                    READY_TIMEOUT.as_secs(),
                    log.lock().unwrap_or_else(|e| e.into_inner())
                );
            }
            thread::sleep(Duration::from_millis(50));
        }
        Prism {
            url,
            startup: started.elapsed(),
            child: Mutex::new(child),
            log,
        }
    }

    /// Everything Prism printed so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Prism's log without its findings about its own mocked answers (`Violation: response…`,
    /// often hundreds of lines from incomplete examples): what a failing test should show.
    pub fn request_log(&self) -> String {
        self.lines()
            .into_iter()
            .filter(|l| !l.contains("Violation: response"))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Everything Prism printed so far, without colours, one entry per line.
    fn lines(&self) -> Vec<String> {
        super::strip_ansi(&self.log())
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// The requests Prism received, as `"post /2/tweets"` (method lowercase, path without the
    /// query), in order.
    pub fn requests(&self) -> Vec<String> {
        self.lines()
            .iter()
            .filter(|l| l.ends_with("Request received"))
            .filter_map(|l| {
                let rest = &l[l.find("[HTTP SERVER] ")? + "[HTTP SERVER] ".len()..];
                let mut words = rest.split_whitespace();
                Some(format!("{} {}", words.next()?, words.next()?))
            })
            .collect()
    }

    /// Log lines showing a request that the spec does not allow: each violation of a request
    /// (`Violation: request.…`, at error or warning level), and each request for a route or
    /// method the spec does not have (`Request terminated with error: …NO_PATH_MATCHED…`).
    /// Violations of Prism's own mocked responses (`Violation: response.…`) are not the
    /// client's doing and are left out. A Prism that exited (some malformed requests crash it)
    /// is reported too: the requests it did not answer were not checked.
    pub fn violations(&self) -> Vec<String> {
        let mut found: Vec<String> = self
            .lines()
            .into_iter()
            .filter(|l| {
                (l.contains("[VALIDATOR]") && l.contains("Violation: request"))
                    || (l.contains("[HTTP SERVER]") && l.contains("Request terminated with error"))
            })
            .collect();
        let exited = self
            .child
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .try_wait();
        if let Ok(Some(status)) = exited {
            found.push(format!("Prism exited ({status}); see its log"));
        }
        found
    }
}

impl Drop for Prism {
    fn drop(&mut self) {
        let child = self.child.get_mut().unwrap_or_else(|e| e.into_inner());
        let _ = child.kill();
        let _ = child.wait();
    }
}
