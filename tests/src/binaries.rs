//! The function binaries: built once per test run, and run as Lambda runs
//! them (and as `sam local invoke -e` does), each against its own Runtime
//! API stand-in ([`crate::runtime_api`]), one event fed per invocation.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::RecvTimeoutError;
use std::sync::{Arc, Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

use crate::runtime_api::{Outcome, RuntimeApi};

/// The six functions' binaries, as the workspace names them.
pub const FUNCTIONS: [&str; 7] = [
    "send-sms",
    "voicemail-notify",
    "voicemail-trigger",
    "delivery-status",
    "recording-link",
    "console",
    "scheduled-sender",
];

/// How long an invocation (or a failing cold start) may take: debug builds
/// on a busy CI machine.
pub const WAIT: Duration = Duration::from_secs(60);

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
    const SET_BY_CARGO_TEST: [&str; 7] = [
        "CARGO_PKG_",
        "CARGO_MANIFEST_",
        "CARGO_CRATE_",
        "CARGO_BIN_",
        "CARGO_PRIMARY_",
        "CARGO_TARGET_TMPDIR",
        "OUT_DIR",
    ];
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        if SET_BY_CARGO_TEST.iter().any(|prefix| name.starts_with(prefix)) {
            cmd.env_remove(name.as_ref());
        }
    }
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
        let output = Arc::new(Mutex::new(Vec::new()));
        let readers = drain_into(&mut child, &output);
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
        let outcome =
            self.wait_outcome().unwrap_or_else(|why| panic!("{}: no answer to {request_id}: {why}", self.name));
        match &outcome {
            Outcome::Response { request_id: id, .. } | Outcome::Error { request_id: id, .. } => {
                assert_eq!(id, &request_id, "{}: answered another request", self.name);
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
            match self.api.outcome_within(Duration::from_millis(20)) {
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
            assert!(
                start.elapsed() < WAIT,
                "{}: neither exited nor reported an init error\n{}",
                self.name,
                self.output()
            );
        }
    }

    fn wait_outcome(&mut self) -> Result<Outcome, String> {
        let start = Instant::now();
        loop {
            match self.api.outcome_within(Duration::from_millis(20)) {
                Ok(outcome) => return Ok(outcome),
                Err(RecvTimeoutError::Disconnected) => return Err("runtime API gone".to_owned()),
                Err(RecvTimeoutError::Timeout) => {}
            }
            if let Some(status) = self.child.try_wait().unwrap() {
                // An answer may have raced the exit.
                if let Ok(outcome) = self.api.outcome_within(Duration::from_millis(200)) {
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

/// Both of the child's output streams into one log, drained so that it
/// never blocks on a full pipe.
fn drain_into(child: &mut Child, output: &Arc<Mutex<Vec<u8>>>) -> Vec<thread::JoinHandle<()>> {
    let streams = [
        child.stdout.take().map(|s| Box::new(s) as Box<dyn Read + Send>),
        child.stderr.take().map(|s| Box::new(s) as _),
    ];
    streams
        .into_iter()
        .flatten()
        .map(|mut stream| {
            let output = output.clone();
            thread::spawn(move || {
                let mut buf = [0u8; 8192];
                while let Ok(n) = stream.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    output.lock().unwrap_or_else(|p| p.into_inner()).extend_from_slice(&buf[..n]);
                }
            })
        })
        .collect()
}

impl Drop for Lambda {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
