//! Runs the BUILT function binaries as Lambda does (and as `sam local invoke
//! -e` does): a stand-in for the Lambda Runtime API on a loopback port, the
//! binary started against it with Lambda's environment, one event fed per
//! invocation, and the runtime's answer read back.
//!
//! std only (threads, blocking sockets): the binaries bring their own tokio.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The three functions' binaries, as the workspace names them.
pub const FUNCTIONS: [&str; 5] = ["send-sms", "voicemail-notify", "voicemail-trigger", "delivery-status", "recording-link"];

/// How long an invocation (or a failing cold start) may take: debug builds
/// on a busy CI machine.
const WAIT: Duration = Duration::from_secs(60);

fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Where cargo puts binaries: `CARGO_TARGET_DIR` when set (relative to the
/// workspace, as cargo reads it), else the workspace's `target/`.
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => workspace_root().join(dir),
        None => workspace_root().join("target"),
    }
}

/// Builds the function binaries once per test run and answers the path of
/// `name`. Building here keeps `cargo test` self-sufficient: a test crate
/// does not build its workspace's binaries. The build selects what the test
/// command does (every member, its binaries and tests, every feature; tests
/// bring in the dev-dependencies), so that features resolve the same and
/// every dependency is already fresh: only the binaries themselves are
/// linked. Not the benchmarks: nothing here runs them.
pub fn binary(name: &str) -> PathBuf {
    static BUILT: OnceLock<Result<(), String>> = OnceLock::new();
    let built = BUILT.get_or_init(|| {
        let mut cmd = Command::new(env!("CARGO"));
        cmd.args(["build", "--workspace", "--bins", "--tests", "--all-features"]).current_dir(workspace_root());
        without_test_env(&mut cmd);
        let out = cmd.output().map_err(|e| format!("cannot run cargo: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!("cargo build failed ({}):\n{}", out.status, String::from_utf8_lossy(&out.stderr)))
        }
    });
    if let Err(e) = built {
        panic!("{e}");
    }
    let path = target_dir().join("debug").join(name);
    assert!(path.is_file(), "{} was not built", path.display());
    path
}

/// Removes what cargo set for this test process: build scripts that watch
/// these variables (ring's, cc's) would see a change and rebuild half the
/// dependency tree, and the next build outside a test would rebuild it back.
fn without_test_env(cmd: &mut Command) {
    const SET_BY_CARGO_TEST: [&str; 7] =
        ["CARGO_PKG_", "CARGO_MANIFEST_", "CARGO_CRATE_", "CARGO_BIN_", "CARGO_PRIMARY_", "CARGO_TARGET_TMPDIR", "OUT_DIR"];
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        if SET_BY_CARGO_TEST.iter().any(|prefix| name.starts_with(prefix)) {
            cmd.env_remove(name.as_ref());
        }
    }
}

/// What the function told the Runtime API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// `POST /runtime/invocation/{id}/response`
    Response { request_id: String, body: Vec<u8> },
    /// `POST /runtime/invocation/{id}/error`
    Error { request_id: String, error_type: Option<String>, body: Vec<u8> },
    /// `POST /runtime/init/error`
    InitError { error_type: Option<String>, body: Vec<u8> },
    /// Anything else the runtime asked for (a test failure).
    Unexpected { method: String, path: String },
}

impl Outcome {
    /// The response's JSON; panics (with what came instead) otherwise.
    pub fn response_json(&self) -> serde_json::Value {
        match self {
            Outcome::Response { body, .. } => serde_json::from_slice(body)
                .unwrap_or_else(|e| panic!("response is not JSON ({e}): {}", String::from_utf8_lossy(body))),
            other => panic!("expected a response, got {}", other.describe()),
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Outcome::Response { body, .. } => format!("response {}", String::from_utf8_lossy(body)),
            Outcome::Error { error_type, body, .. } => {
                format!("invocation error {error_type:?} {}", String::from_utf8_lossy(body))
            }
            Outcome::InitError { error_type, body } => format!("init error {error_type:?} {}", String::from_utf8_lossy(body)),
            Outcome::Unexpected { method, path } => format!("unexpected request {method} {path}"),
        }
    }
}

struct Invocation {
    request_id: String,
    body: Vec<u8>,
}

struct Shared {
    /// Events waiting for `GET .../invocation/next` (one at a time: the
    /// runtime asks for the next only after answering the previous).
    events: Mutex<Receiver<Invocation>>,
    outcomes: Sender<Outcome>,
    function_arn: String,
    /// How many times the runtime asked for an event: > 0 means init is over.
    next_calls: AtomicUsize,
    /// When the runtime first asked: the end of Lambda's init phase.
    first_next: OnceLock<Instant>,
    stop: AtomicBool,
}

/// The Lambda Runtime API stand-in: an HTTP/1.1 server on 127.0.0.1.
pub struct RuntimeApi {
    addr: String,
    shared: Arc<Shared>,
    events: Option<Sender<Invocation>>,
    outcomes: Receiver<Outcome>,
    invocations: usize,
}

impl RuntimeApi {
    pub fn start(function_name: &str) -> RuntimeApi {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let addr = listener.local_addr().unwrap().to_string();
        let (events_tx, events_rx) = mpsc::channel();
        let (outcomes_tx, outcomes_rx) = mpsc::channel();
        let shared = Arc::new(Shared {
            events: Mutex::new(events_rx),
            outcomes: outcomes_tx,
            function_arn: format!("arn:aws:lambda:us-east-1:123456789012:function:{function_name}"),
            next_calls: AtomicUsize::new(0),
            first_next: OnceLock::new(),
            stop: AtomicBool::new(false),
        });
        let server = shared.clone();
        thread::spawn(move || {
            for conn in listener.incoming() {
                if server.stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let server = server.clone();
                thread::spawn(move || {
                    let _ = serve(conn, &server);
                });
            }
        });
        RuntimeApi {
            addr,
            shared,
            events: Some(events_tx),
            outcomes: outcomes_rx,
            invocations: 0,
        }
    }

    /// `host:port`, for `AWS_LAMBDA_RUNTIME_API`.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    pub fn next_calls(&self) -> usize {
        self.shared.next_calls.load(Ordering::SeqCst)
    }

    /// When the runtime first asked for an event, if it has.
    pub fn first_next(&self) -> Option<Instant> {
        self.shared.first_next.get().copied()
    }

    /// Queues one event; its request id.
    fn push(&mut self, body: &[u8]) -> String {
        self.invocations += 1;
        let request_id = format!("00000000-0000-4000-8000-{:012x}", self.invocations);
        self.events
            .as_ref()
            .expect("runtime API stopped")
            .send(Invocation { request_id: request_id.clone(), body: body.to_vec() })
            .expect("runtime API stopped");
        request_id
    }
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        // Closing the event channel ends a pending long poll; a connection
        // to ourselves wakes the accept loop so that it sees `stop`.
        self.events = None;
        self.shared.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(&self.addr);
    }
}

struct HttpRequest {
    method: String,
    path: String,
    headers: HashMap<String, String>,
    body: Vec<u8>,
}

/// One keep-alive connection: requests in, answers out, until it closes.
fn serve(conn: TcpStream, shared: &Shared) -> std::io::Result<()> {
    let mut reader = BufReader::new(conn.try_clone()?);
    let mut writer = conn;
    while let Some(req) = read_request(&mut reader)? {
        const NEXT: &str = "/2018-06-01/runtime/invocation/next";
        const INVOCATION: &str = "/2018-06-01/runtime/invocation/";
        let error_type = req.headers.get("lambda-runtime-function-error-type").cloned();
        let outcome = match (req.method.as_str(), req.path.as_str()) {
            ("GET", NEXT) => {
                shared.first_next.get_or_init(Instant::now);
                shared.next_calls.fetch_add(1, Ordering::SeqCst);
                // Long poll, as Lambda does: the answer is the next event.
                let next = shared.events.lock().unwrap_or_else(|p| p.into_inner()).recv();
                let Ok(event) = next else { return Ok(()) };
                let deadline = SystemTime::now().duration_since(UNIX_EPOCH).unwrap() + Duration::from_secs(30);
                let headers = [
                    ("Lambda-Runtime-Aws-Request-Id", event.request_id.clone()),
                    ("Lambda-Runtime-Deadline-Ms", deadline.as_millis().to_string()),
                    ("Lambda-Runtime-Invoked-Function-Arn", shared.function_arn.clone()),
                    ("Lambda-Runtime-Trace-Id", "Root=1-6745a000-0123456789abcdef01234567;Parent=0123456789abcdef;Sampled=0".to_owned()),
                ];
                write_response(&mut writer, "200 OK", &headers, &event.body)?;
                continue;
            }
            ("POST", "/2018-06-01/runtime/init/error") => Outcome::InitError { error_type, body: req.body },
            ("POST", path) if path.starts_with(INVOCATION) => {
                let rest = &path[INVOCATION.len()..];
                match rest.split_once('/') {
                    Some((id, "response")) => Outcome::Response { request_id: id.to_owned(), body: req.body },
                    Some((id, "error")) => Outcome::Error { request_id: id.to_owned(), error_type, body: req.body },
                    _ => Outcome::Unexpected { method: req.method, path: req.path },
                }
            }
            _ => Outcome::Unexpected { method: req.method, path: req.path },
        };
        let status = if matches!(outcome, Outcome::Unexpected { .. }) { "404 Not Found" } else { "202 Accepted" };
        let _ = shared.outcomes.send(outcome);
        write_response(&mut writer, status, &[], br#"{"status":"OK"}"#)?;
    }
    Ok(())
}

fn read_request(reader: &mut impl BufRead) -> std::io::Result<Option<HttpRequest>> {
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Ok(None);
    }
    let mut parts = line.split_whitespace();
    let (Some(method), Some(path)) = (parts.next(), parts.next()) else {
        return Ok(None);
    };
    let (method, path) = (method.to_owned(), path.to_owned());
    let mut headers = HashMap::new();
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Ok(None);
        }
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_owned());
        }
    }
    let mut body = Vec::new();
    if headers.get("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        loop {
            line.clear();
            reader.read_line(&mut line)?;
            let size = line.trim().split(';').next().unwrap_or("");
            let size = usize::from_str_radix(size, 16)
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, format!("chunk size {size:?}: {e}")))?;
            if size == 0 {
                // Trailers, then the empty line.
                loop {
                    line.clear();
                    if reader.read_line(&mut line)? == 0 || line.trim_end().is_empty() {
                        break;
                    }
                }
                break;
            }
            let start = body.len();
            body.resize(start + size, 0);
            reader.read_exact(&mut body[start..])?;
            line.clear();
            reader.read_line(&mut line)?;
        }
    } else if let Some(len) = headers.get("content-length") {
        let len: usize = len
            .parse()
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, format!("content-length {len:?}: {e}")))?;
        body.resize(len, 0);
        reader.read_exact(&mut body)?;
    }
    Ok(Some(HttpRequest { method, path, headers, body }))
}

fn write_response(w: &mut impl Write, status: &str, headers: &[(&str, String)], body: &[u8]) -> std::io::Result<()> {
    let mut head = format!("HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n", body.len());
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    w.write_all(head.as_bytes())?;
    w.write_all(body)?;
    w.flush()
}

/// A function binary running against its own Runtime API stand-in. Dropping
/// it kills the process (also when a test panics).
pub struct Lambda {
    pub name: String,
    api: RuntimeApi,
    child: Child,
    /// Just before the process was spawned.
    spawned: Instant,
    output: Arc<Mutex<Vec<u8>>>,
    readers: Vec<thread::JoinHandle<()>>,
}

impl Lambda {
    /// Starts `function` (a binary name, built here in the debug profile)
    /// with Lambda's environment, the embedded store at `db`, and `env` on
    /// top (which may override).
    pub fn start(function: &str, db: &Path, env: &[(&str, &str)]) -> Lambda {
        Lambda::spawn(&binary(function), function, db, env)
    }

    /// Starts the binary at `path` as the function `function`, as
    /// [`Lambda::start`] does: for binaries built elsewhere (the benchmark's
    /// release builds).
    pub fn spawn(path: &Path, function: &str, db: &Path, env: &[(&str, &str)]) -> Lambda {
        let api = RuntimeApi::start(function);
        let mut cmd = Command::new(path);
        // Only what Lambda sets (plus the store): nothing leaks in from the
        // developer's shell (SMS_TABLE_NAME, RUST_LOG, AWS_*, ...).
        cmd.env_clear()
            .current_dir(db.parent().unwrap_or(Path::new("/tmp")))
            .env("PATH", "/usr/local/bin:/usr/bin:/bin")
            .env("LANG", "en_US.UTF-8")
            .env("TZ", ":UTC")
            .env("AWS_LAMBDA_RUNTIME_API", api.addr())
            .env("AWS_LAMBDA_FUNCTION_NAME", function)
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "2026/11/26/[$LATEST]0123456789abcdef0123456789abcdef")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{function}"))
            .env("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_DEFAULT_REGION", "us-east-1")
            .env("LAMBDA_TASK_ROOT", path.parent().unwrap())
            .env("_HANDLER", "bootstrap")
            .env("SMS_DB_PATH", db)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let spawned = Instant::now();
        let mut child = cmd.spawn().unwrap_or_else(|e| panic!("start {}: {e}", path.display()));
        // Both streams into one log, drained so the child never blocks on a
        // full pipe.
        let output = Arc::new(Mutex::new(Vec::new()));
        let mut readers = Vec::new();
        for stream in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let output = output.clone();
            readers.push(thread::spawn(move || {
                let mut stream = stream;
                let mut buf = [0u8; 8192];
                while let Ok(n) = stream.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    output.lock().unwrap_or_else(|p| p.into_inner()).extend_from_slice(&buf[..n]);
                }
            }));
        }
        Lambda { name: function.to_owned(), api, child, spawned, output, readers }
    }

    /// The process id, for reading /proc/<pid>/status.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Lambda's init phase: from the process's spawn to its first request
    /// for an event. Waits for that request; panics if the process exits
    /// first.
    pub fn init_time(&mut self) -> Duration {
        loop {
            if let Some(at) = self.api.first_next() {
                return at - self.spawned;
            }
            if let Some(status) = self.child.try_wait().unwrap() {
                self.drain();
                panic!("{}: exited during init ({status})\n{}", self.name, self.output());
            }
            assert!(self.spawned.elapsed() < WAIT, "{}: init did not end\n{}", self.name, self.output());
            thread::sleep(Duration::from_millis(1));
        }
    }

    /// Once the process has exited: waits for its last words.
    fn drain(&mut self) {
        for reader in self.readers.drain(..) {
            let _ = reader.join();
        }
    }

    /// What the process wrote to stdout and stderr so far.
    pub fn output(&self) -> String {
        String::from_utf8_lossy(&self.output.lock().unwrap_or_else(|p| p.into_inner())).into_owned()
    }

    /// Feeds one event and waits for the function's answer to it.
    pub fn invoke(&mut self, event: &[u8]) -> Outcome {
        let request_id = self.api.push(event);
        let outcome = self.wait_outcome().unwrap_or_else(|why| panic!("{}: no answer to {request_id}: {why}", self.name));
        match &outcome {
            Outcome::Response { request_id: id, .. } | Outcome::Error { request_id: id, .. } => {
                assert_eq!(id, &request_id, "{}: answered another request", self.name)
            }
            other => panic!("{}: {}\n{}", self.name, other.describe(), self.output()),
        }
        outcome
    }

    /// Reads an event file of events/ and invokes the function with it.
    pub fn invoke_file(&mut self, file: &str) -> Outcome {
        let path = crate::repo_path(&format!("events/{file}"));
        let event = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        self.invoke(&event)
    }

    /// For a cold start that must fail: waits until the process exits or
    /// reports `/runtime/init/error`, and answers the exit status (if it
    /// exited) with everything it said (the init error's body, its output).
    pub fn failed_start(&mut self) -> (Option<ExitStatus>, String) {
        let start = Instant::now();
        let mut said = String::new();
        loop {
            match self.api.outcomes.recv_timeout(Duration::from_millis(20)) {
                Ok(Outcome::InitError { error_type, body }) => {
                    said.push_str(&format!("init error {error_type:?}: {}\n", String::from_utf8_lossy(&body)));
                }
                Ok(other) => panic!("{}: during init: {}", self.name, other.describe()),
                Err(_) => {}
            }
            if let Some(status) = self.child.try_wait().unwrap() {
                self.drain();
                said.push_str(&self.output());
                return (Some(status), said);
            }
            if !said.is_empty() && self.api.next_calls() == 0 {
                said.push_str(&self.output());
                return (None, said);
            }
            assert_eq!(self.api.next_calls(), 0, "{}: the cold start succeeded\n{}", self.name, self.output());
            assert!(start.elapsed() < WAIT, "{}: neither exited nor reported an init error\n{}", self.name, self.output());
        }
    }

    fn wait_outcome(&mut self) -> Result<Outcome, String> {
        let start = Instant::now();
        loop {
            match self.api.outcomes.recv_timeout(Duration::from_millis(20)) {
                Ok(outcome) => return Ok(outcome),
                Err(RecvTimeoutError::Disconnected) => return Err("runtime API gone".to_owned()),
                Err(RecvTimeoutError::Timeout) => {}
            }
            if let Some(status) = self.child.try_wait().unwrap() {
                // An answer may have raced the exit.
                if let Ok(outcome) = self.api.outcomes.recv_timeout(Duration::from_millis(200)) {
                    return Ok(outcome);
                }
                self.drain();
                return Err(format!("the process exited ({status})\n{}", self.output()));
            }
            if start.elapsed() > WAIT {
                return Err(format!("timed out after {WAIT:?}\n{}", self.output()));
            }
        }
    }
}

impl Drop for Lambda {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An HTTP function's answer: API Gateway's v2 response (status, headers and
/// the body as a string), with the body parsed as JSON.
#[derive(Debug, Clone)]
pub struct HttpAnswer {
    pub status: u16,
    pub headers: serde_json::Value,
    pub body: serde_json::Value,
}

impl HttpAnswer {
    pub fn of(outcome: &Outcome) -> HttpAnswer {
        let v = outcome.response_json();
        let status = v["statusCode"].as_u64().unwrap_or_else(|| panic!("no statusCode: {v}")) as u16;
        assert_eq!(v["isBase64Encoded"], false, "a JSON answer is text: {v}");
        let text = v["body"].as_str().unwrap_or_else(|| panic!("body is not a string: {v}"));
        let body = serde_json::from_str(text).unwrap_or_else(|e| panic!("body is not JSON ({e}): {text}"));
        // Payload 2.0 answers with `headers`; 1.0 (a REST API) with
        // `multiValueHeaders`, one list per name.
        let mut headers = v["headers"].as_object().cloned().unwrap_or_default();
        for (name, values) in v["multiValueHeaders"].as_object().into_iter().flatten() {
            if let Some(first) = values.get(0) {
                headers.entry(name.to_ascii_lowercase()).or_insert_with(|| first.clone());
            }
        }
        HttpAnswer { status, headers: serde_json::Value::Object(headers), body }
    }
}
