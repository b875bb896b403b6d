//! What the CLI tests share: `smsctl` against a SQLite file in a temporary
//! folder, and `smsctl serve` spoken to over plain HTTP/1.1.
#![allow(dead_code)] // each test file uses its own part

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;

pub const BIN: &str = env!("CARGO_BIN_EXE_smsctl");
pub const DEMO_KEY: &str = "demo-key-59-abcdef0123";
pub const GUIDE_BODY: &str = "WW91IGhhdmUgcmVjZWl2ZWQgYSBuZXcgdm9pY2VtYWlsLg==";

/// A temporary folder with the SQLite file; removed when dropped.
pub struct Env {
    pub dir: PathBuf,
}

impl Env {
    pub fn new(name: &str) -> Env {
        static N: AtomicUsize = AtomicUsize::new(0);
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos();
        let dir = std::env::temp_dir().join(format!(
            "smsctl-{name}-{}-{nanos}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Env { dir }
    }

    pub fn command(&self) -> Command {
        let mut cmd = Command::new(BIN);
        cmd.arg("--db").arg(self.dir.join("sms.db"));
        for var in ["SMS_TABLE_NAME", "SMS_DB_PATH", "SMS_OUTBOX_PATH", "VOICEMAIL_PREFIX", "VOICEMAIL_SUFFIXES"] {
            cmd.env_remove(var);
        }
        cmd.env("LOG_LEVEL", "warn");
        cmd
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.command().args(args).output().unwrap()
    }

    /// Stdout of a command that must succeed.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(out.status.success(), "smsctl {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    }

    pub fn json(&self, args: &[&str]) -> Value {
        serde_json::from_str(&self.ok(args)).unwrap()
    }

    pub fn file(&self, name: &str, contents: &str) -> String {
        let path = self.dir.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&path, contents).unwrap();
        path.to_str().unwrap().to_owned()
    }

    pub fn apply(&self, config: &str) -> String {
        let path = self.file("config.json", config);
        self.ok(&["apply", &path])
    }

    pub fn serve(&self, extra: &[&str]) -> Server {
        Server::start(self.command().args(["serve", "--addr", "127.0.0.1:0"]).args(extra))
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `smsctl serve`, its stdout read line by line; killed when dropped.
pub struct Server {
    child: Child,
    pub addr: String,
    lines: Receiver<String>,
    stderr: Arc<Mutex<String>>,
}

impl Server {
    pub fn start(cmd: &mut Command) -> Server {
        let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        let (tx, lines) = channel();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut pipe = child.stderr.take().unwrap();
        let sink = stderr.clone();
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = pipe.read_to_string(&mut text);
            sink.lock().unwrap().push_str(&text);
        });
        let mut server = Server { child, addr: String::new(), lines, stderr };
        let line = server.wait_for(|l| l.starts_with("listening on http://"));
        server.addr = line["listening on http://".len()..].split(' ').next().unwrap().to_owned();
        server
    }

    /// The next line of stdout that matches (earlier ones are consumed).
    pub fn wait_for(&self, matches: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if matches(&line) => return line,
                Ok(_) => {}
                Err(e) => panic!("no such line from serve ({e}); stderr:\n{}", self.stderr.lock().unwrap()),
            }
        }
    }

    /// Sends `request` as it is; the status and the body of the answer.
    pub fn raw(&self, request: &[u8]) -> (u16, String) {
        let mut stream = TcpStream::connect(&self.addr).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        stream.write_all(request).unwrap();
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).unwrap();
        let answer = String::from_utf8(answer).unwrap();
        let status = answer.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
        let body = answer.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
        (status, body)
    }

    pub fn get(&self, path_and_query: &str) -> (u16, Value) {
        let (status, body) = self.raw(
            format!("GET {path_and_query} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n", self.addr).as_bytes(),
        );
        (status, serde_json::from_str(&body).unwrap_or(Value::String(body)))
    }

    pub fn post(&self, path: &str, key: &str, json: &str) -> (u16, Value) {
        let request = format!(
            "POST {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nX-API-Key: {key}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{json}",
            self.addr,
            json.len()
        );
        let (status, body) = self.raw(request.as_bytes());
        (status, serde_json::from_str(&body).unwrap_or(Value::String(body)))
    }

    /// A connection of its own, reads bounded so that a test cannot hang.
    pub fn connect(&self) -> TcpStream {
        let stream = TcpStream::connect(&self.addr).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        stream
    }

    /// Stops it as a supervisor does (SIGTERM); what it printed until it
    /// exited.
    pub fn terminate(&mut self) -> Vec<String> {
        let pid = self.child.id().to_string();
        assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
        let status = self.child.wait().unwrap();
        assert!(status.success(), "serve exited with {status}: {}", self.stderr.lock().unwrap());
        // The reader ends with the pipe, at the exit.
        self.lines.iter().collect()
    }

    /// The server's resident memory, in KiB (Linux's /proc).
    pub fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    }

    pub fn guide_example(&self, key: &str) -> (u16, Value) {
        self.get(&format!(
            "/?apikey={key}&action=pbxware.sms.send_message&server=59&to_number=%2B14165551234&body={GUIDE_BODY}"
        ))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
