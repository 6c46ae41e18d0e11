//! A fault-injecting HTTP proxy (tests/support/fault_proxy.py, Python standard library only) in
//! front of a real server: `let proxy = FaultProxy::start(&pds.url);` then point the client at
//! `proxy.url`. Everything is forwarded unchanged until a test schedules faults with
//! [`FaultProxy::set_faults`]; [`FaultProxy::stats`] counts requests per path. Dropping the value
//! stops the proxy (its stdin closes).

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

pub struct FaultProxy {
    /// `http://127.0.0.1:PORT`: use it instead of the upstream's URL.
    pub url: String,
    port: u16,
    child: Child,
    stdin: Option<ChildStdin>,
}

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/support/fault_proxy.py")
}

impl FaultProxy {
    /// Starts a proxy forwarding to `upstream` (`http://127.0.0.1:PORT`). Panics if it is not
    /// listening within 20 s.
    pub fn start(upstream: &str) -> FaultProxy {
        let mut child = Command::new("python3")
            .arg(script())
            .arg("--upstream")
            .arg(upstream)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("fault proxy: cannot run python3");
        let stdin = child.stdin.take();
        let (tx, rx) = mpsc::channel();
        let out = child.stdout.take().expect("piped stdout");
        thread::spawn(move || {
            let mut lines = BufReader::new(out).lines();
            let _ = tx.send(lines.next());
            for _ in lines {}
        });
        let line = match rx.recv_timeout(Duration::from_secs(20)) {
            Ok(Some(Ok(line))) => line,
            other => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("fault proxy did not start: {other:?}");
            }
        };
        let port: u16 = line
            .strip_prefix("READY ")
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or_else(|| panic!("fault proxy: unexpected first line {line:?}"));
        FaultProxy {
            url: format!("http://127.0.0.1:{port}"),
            port,
            child,
            stdin,
        }
    }

    /// Replaces the fault rules (see fault_proxy.py), e.g.
    /// `json!([{"method": "POST", "path": "createRecord", "times": 2, "action": "429"}])`.
    pub fn set_faults(&self, rules: Value) {
        let body = serde_json::json!({ "rules": rules }).to_string();
        let (status, text) = self.request("POST", "/__faults", &body);
        assert_eq!(status, 200, "fault proxy refused the rules: {text}");
    }

    /// Removes every rule: from now on everything is forwarded unchanged.
    pub fn clear(&self) {
        let (status, text) = self.request("DELETE", "/__faults", "");
        assert_eq!(status, 200, "fault proxy: {text}");
    }

    /// `{"received": {path: n}, "forwarded": {path: n}, "completed": {path: n}, "in_flight": n,
    /// "faults": [...]}`.
    pub fn stats(&self) -> Value {
        let (status, text) = self.request("GET", "/__stats", "");
        assert_eq!(status, 200, "fault proxy: {text}");
        serde_json::from_str(&text).expect("stats json")
    }

    /// How many requests whose path ends with `method` (an XRPC NSID) went to the upstream.
    pub fn forwarded(&self, method: &str) -> u64 {
        count(&self.stats()["forwarded"], method)
    }

    /// How many requests whose path ends with `method` reached the proxy.
    pub fn received(&self, method: &str) -> u64 {
        count(&self.stats()["received"], method)
    }

    /// Waits until no request is in flight (e.g. a delayed one that the client gave up on has
    /// reached the upstream and been answered), at most `limit`.
    pub fn wait_idle(&self, limit: Duration) {
        let deadline = Instant::now() + limit;
        while self.stats()["in_flight"].as_u64() != Some(0) {
            assert!(
                Instant::now() < deadline,
                "fault proxy still busy after {limit:?}"
            );
            thread::sleep(Duration::from_millis(100));
        }
    }

    fn request(&self, method: &str, path: &str, body: &str) -> (u16, String) {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).expect("connect to fault proxy");
        s.set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        write!(
            s,
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .expect("write to fault proxy");
        let mut raw = String::new();
        s.read_to_string(&mut raw).expect("read from fault proxy");
        let status = raw
            .split(' ')
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        let text = raw
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_string())
            .unwrap_or_default();
        (status, text)
    }
}

fn count(table: &Value, method: &str) -> u64 {
    table
        .as_object()
        .map(|m| {
            m.iter()
                .filter(|(k, _)| k.ends_with(method))
                .filter_map(|(_, v)| v.as_u64())
                .sum()
        })
        .unwrap_or(0)
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
