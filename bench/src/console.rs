//! The console's pages on the embedded store: `smsctl serve` (release) on
//! the fixture of [`seed`], an operator signed in, each page requested N
//! times one after another after a warm-up; p50, p99 and max per page,
//! against the goal of 50 ms p99.

mod seed;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use shared::domain::Cursor;
use shared::domain::times::day;

use crate::stats::{ms, percentile};

/// The goal: every page under 50 ms at p99.
const GOAL: Duration = Duration::from_millis(50);

/// Requests per page before the measured ones (not counted).
const WARM_UP: usize = 20;

/// One page's figures.
pub struct Page {
    pub name: &'static str,
    pub path: String,
    pub samples: Vec<Duration>,
    /// The answer's body, in bytes (the last one).
    pub bytes: usize,
}

/// The whole measurement: the fixture's write times and each page's.
pub struct Console {
    pub seeded: seed::Seeded,
    pub pages: Vec<Page>,
}

/// Writes the fixture, serves it with the `smsctl` of `bins`, signs in and
/// requests each page `n` times.
pub fn measure(rt: &tokio::runtime::Runtime, bins: &Path, n: usize) -> Console {
    let db = integration_tests::temp_path("console");
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
    let seeded = rt.block_on(seed::write(&db, now));
    let server = Server::start(&bins.join("smsctl"), &db);
    let cookie = sign_in(&server.addr);
    let pages = pages(now)
        .into_iter()
        .map(|(name, path)| {
            let (samples, bytes) = timed(&server.addr, &cookie, &path, n);
            Page { name, path, samples, bytes }
        })
        .collect();
    drop(server);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    Console { seeded, pages }
}

/// The pages, as (name, path): every page of the large tenant, its lists
/// on their first page, filtered and deep, and the operators' lists.
fn pages(now: i64) -> Vec<(&'static str, String)> {
    let t = format!("/console/tenants/{}", seed::TENANT);
    // A cursor half-way down the log: a deep page of it.
    let half = seed::MESSAGES / 2;
    let step = seed::DAYS * 86_400 / seed::MESSAGES as i64;
    let cursor = Cursor { at: now - 1 - half as i64 * step, id: seed::message_id(seed::TENANT, half) };
    let (since, until) = (day(now - 12 * 86_400), day(now - 10 * 86_400));
    let deep = seed::FIRST_EXTENSION + seed::EXTENSIONS - 100;
    vec![
        ("tenants list", "/console/tenants".to_owned()),
        ("notifications (tenant page)", t.clone()),
        ("SMS API", format!("{t}/api")),
        ("extensions, first page", format!("{t}/extensions")),
        ("extensions, prefix `153`", format!("{t}/extensions?q=153")),
        ("extensions, deep page (`after`)", format!("{t}/extensions?after={deep}")),
        ("messages, first page", format!("{t}/messages")),
        ("messages, deep page (`after`, entry 50,000)", format!("{t}/messages?after={}", cursor.encode())),
        ("messages, status `failed`", format!("{t}/messages?status=failed")),
        ("messages, status `unknown` (none match)", format!("{t}/messages?status=unknown")),
        ("messages, 3 days (`since`, `until`)", format!("{t}/messages?since={since}&until={until}")),
        ("messages, a destination (`to`, 20 entries)", format!("{t}/messages?to=%2B14165551234")),
        ("message detail", format!("{t}/messages/{}", seed::message_id(seed::TENANT, half))),
        ("numbers", "/console/numbers".to_owned()),
    ]
}

/// `n` requests of `path` after the warm-up; stops the benchmark on any
/// answer but 200 (its figures would measure an error page).
fn timed(addr: &str, cookie: &str, path: &str, n: usize) -> (Vec<Duration>, usize) {
    let mut bytes = 0;
    let mut samples = Vec::with_capacity(n);
    for i in 0..WARM_UP + n {
        let start = Instant::now();
        let (status, _, body) = request(addr, "GET", path, Some(cookie), "");
        let took = start.elapsed();
        assert_eq!(status, 200, "GET {path}: {status}\n{body}");
        bytes = body.len();
        if i >= WARM_UP {
            samples.push(took);
        }
    }
    (samples, bytes)
}

/// Signs in with the operator key; answers the session's `name=value`.
fn sign_in(addr: &str) -> String {
    let form = format!("key={}", seed::OPERATOR);
    let (status, head, body) = request(addr, "POST", "/console/sign-in", None, &form);
    assert_eq!(status, 303, "sign-in: {status}\n{body}");
    head.lines()
        .find_map(|l| l.split_once(':').filter(|(name, _)| name.eq_ignore_ascii_case("set-cookie")))
        .and_then(|(_, v)| v.trim().split(';').next().map(str::to_owned))
        .filter(|c| c.starts_with(shared::inbound::console::COOKIE))
        .unwrap_or_else(|| panic!("sign-in set no session cookie:\n{head}"))
}

/// One request on a connection of its own, as (status, head, body).
fn request(addr: &str, method: &str, path: &str, cookie: Option<&str>, form: &str) -> (u16, String, String) {
    let cookie = cookie.map(|c| format!("Cookie: {c}\r\n")).unwrap_or_default();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nOrigin: http://{addr}\r\nConnection: close\r\n{cookie}\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{form}",
        form.len()
    );
    let mut stream = TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect {addr}: {e}"));
    stream.set_read_timeout(Some(Duration::from_secs(30))).expect("a read timeout");
    stream.write_all(request.as_bytes()).expect("the request sent");
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).expect("the answer read");
    let answer = String::from_utf8_lossy(&answer);
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, head.to_owned(), body.to_owned())
}

/// `smsctl serve` on the fixture; killed when dropped.
struct Server {
    child: Child,
    addr: String,
}

impl Server {
    fn start(smsctl: &Path, db: &Path) -> Server {
        assert!(smsctl.is_file(), "{} is not built: run bash scripts/bench.sh", smsctl.display());
        let mut cmd = Command::new(smsctl);
        for var in ["SMS_TABLE_NAME", "SMS_DB_PATH", "SMS_OUTBOX_PATH", "RUST_LOG"] {
            cmd.env_remove(var);
        }
        let mut child = cmd
            .env("LOG_LEVEL", "warn")
            .arg("--db")
            .arg(db)
            .args(["serve", "--addr", "127.0.0.1:0"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", smsctl.display()));
        let mut lines = BufReader::new(child.stdout.take().expect("its stdout")).lines();
        let addr = lines
            .by_ref()
            .map_while(Result::ok)
            .find_map(|l| Some(l.strip_prefix("listening on http://")?.split(' ').next()?.to_owned()))
            .expect("smsctl serve did not start");
        // Drained: a full pipe would stop the server.
        std::thread::spawn(move || lines.for_each(drop));
        Server { child, addr }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The table, with the goal.
pub fn print(c: &Console, n: usize) {
    println!(
        "\n## Console pages (smsctl serve, embedded store; {} tenants, {} extensions and {} log entries over {} days \
         in tenant {}; {n} requests per page, one at a time, after {WARM_UP})\n",
        seed::TENANTS,
        seed::EXTENSIONS,
        seed::MESSAGES,
        seed::DAYS,
        seed::TENANT
    );
    println!(
        "Fixture written through the store's ports: configuration {}, log {}.\n",
        ms(c.seeded.config),
        ms(c.seeded.log)
    );
    println!("| page | request | p50 | p99 | max | body | p99 under 50 ms |");
    println!("|---|---|---:|---:|---:|---:|---|");
    for p in &c.pages {
        let p99 = percentile(&p.samples, 99.0);
        let max = p.samples.iter().max().copied().unwrap_or_default();
        let met = if p99 < GOAL { "yes" } else { "**no**" };
        println!(
            "| {} | `{}` | {} | {} | {} | {:.1} kB | {met} |",
            p.name,
            p.path.trim_start_matches("/console"),
            ms(percentile(&p.samples, 50.0)),
            ms(p99),
            ms(max),
            p.bytes as f64 / 1e3
        );
    }
}
