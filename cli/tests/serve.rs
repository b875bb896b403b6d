//! `smsctl serve` against what a browser page or a slow client can do: only
//! its own host and origin are answered, idle and slow connections are cut
//! off, connections are capped, the demo key goes with the demo, the
//! SQLite files are its owner's only, and delivery receipts, which yield to
//! connected clients, still reach the log while one stays.

mod common;

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use common::{DEMO_KEY, Env, GUIDE_BODY, Server};

fn guide_request(headers: &str) -> String {
    format!(
        "GET /?apikey={DEMO_KEY}&action=pbxware.sms.send_message&server=59&to_number=%2B14165551234&body={GUIDE_BODY} \
         HTTP/1.1\r\n{headers}\r\n"
    )
}

/// The guide's send with these header lines (and `Connection: close`).
fn send_with(server: &Server, headers: &str) -> (u16, Value) {
    let (status, body) = server.raw(guide_request(&format!("{headers}Connection: close\r\n")).as_bytes());
    (status, serde_json::from_str(&body).unwrap_or(Value::String(body)))
}

/// One response off a kept-alive connection: status and body.
fn read_response(reader: &mut BufReader<TcpStream>) -> (u16, Value) {
    let (mut status, mut length) = (0, 0);
    loop {
        let mut line = String::new();
        assert!(reader.read_line(&mut line).unwrap() > 0, "closed before a whole response");
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some(code) = line.strip_prefix("HTTP/1.1 ") {
            status = code[..3].parse().unwrap();
        } else if let Some((name, value)) = line.split_once(": ")
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.parse().unwrap();
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).unwrap();
    (status, serde_json::from_slice(&body).unwrap())
}

/// True once the server has closed the connection (EOF, or a reset).
fn closed(stream: &mut TcpStream) -> bool {
    let mut buf = [0; 1024];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e) if matches!(e.kind(), ErrorKind::ConnectionReset | ErrorKind::BrokenPipe) => return true,
            Err(_) => return false,
        }
    }
}

#[test]
fn serve_answers_only_its_own_host_and_origin() {
    let env = Env::new("host");
    let server = env.serve(&["--demo"]);
    let port = server.addr.rsplit(':').next().unwrap().to_owned();

    // DNS rebinding: a hostile name resolved to 127.0.0.1.
    let misdirected = format!("Misdirected request: the Host header must be 127.0.0.1:{port} or localhost:{port}");
    for host in [format!("Host: rebound.example:{port}\r\n"), "Host: 127.0.0.1:1\r\n".to_owned(), String::new()] {
        assert_eq!(send_with(&server, &host), (421, json!({ "error": misdirected })), "{host:?}");
    }
    // A page of another site: a fetch or a form (Origin), an <img> (no
    // Origin on a GET, but Sec-Fetch-Site).
    let own = format!("Host: {}\r\n", server.addr);
    let cross = format!(
        "Cross-origin request refused: only http://127.0.0.1:{port} or http://localhost:{port} may call this server"
    );
    for header in ["Origin: https://evil.example\r\n", "Origin: null\r\n", "Sec-Fetch-Site: cross-site\r\n"] {
        assert_eq!(send_with(&server, &format!("{own}{header}")), (403, json!({ "error": cross })), "{header:?}");
    }
    assert_eq!(env.json(&["outbox", "--json"]), json!([]), "nothing refused was sent");

    // Its own host and origin, by address or by name; the address bar.
    for headers in [
        own.clone(),
        format!("Host: localhost:{port}\r\nOrigin: http://localhost:{port}\r\nSec-Fetch-Site: same-origin\r\n"),
        format!("{own}Sec-Fetch-Site: none\r\n"),
    ] {
        let (status, body) = send_with(&server, &headers);
        assert_eq!((status, &body["success"]), (200, &json!("SMS message sent")), "{headers:?}");
    }
}

#[test]
fn idle_and_slow_connections_are_cut_off() {
    let env = Env::new("slow");
    let server = env.serve(&["--demo", "--idle-timeout", "1"]);

    // Connected, and nothing sent.
    assert!(closed(&mut server.connect()), "an idle connection is closed");

    // Answered, then kept alive and idle.
    let mut kept = BufReader::new(server.connect());
    kept.get_mut().write_all(guide_request(&format!("Host: {}\r\n", server.addr)).as_bytes()).unwrap();
    assert_eq!(read_response(&mut kept).0, 200);
    assert!(closed(kept.get_mut()), "a kept-alive connection is closed once idle");

    // Slowloris: a header a byte at a time, never finished.
    let mut slow = server.connect();
    let started = Instant::now();
    let header = format!("GET / HTTP/1.1\r\nHost: {}\r\nX-Padding: ", server.addr);
    let cut = header.bytes().chain(std::iter::repeat(b'a')).any(|byte| {
        std::thread::sleep(Duration::from_millis(50));
        slow.write_all(&[byte]).is_err() || started.elapsed() > Duration::from_secs(30)
    });
    assert!(cut && started.elapsed() < Duration::from_secs(30), "a header that never ends is cut off");

    // Headers in time, then a body that never comes.
    let mut stream = server.connect();
    write!(
        stream,
        "POST /api/sms/send HTTP/1.1\r\nHost: {}\r\nX-API-Key: {DEMO_KEY}\r\nContent-Type: application/json\r\n\
         Content-Length: 100\r\n\r\n{{\"to\"",
        server.addr
    )
    .unwrap();
    let (status, body) = read_response(&mut BufReader::new(stream));
    assert_eq!((status, body), (408, json!({ "error": "Request body was not received within 1 s" })));
    assert_eq!(env.json(&["outbox", "--json"]).as_array().unwrap().len(), 1);
}

#[test]
fn connections_beyond_the_cap_wait_for_a_free_slot() {
    let env = Env::new("cap");
    let server = env.serve(&["--demo", "--max-connections", "1"]);
    let request = guide_request(&format!("Host: {}\r\n", server.addr));

    // The one slot, held by a kept-alive connection.
    let mut first = BufReader::new(server.connect());
    first.get_mut().write_all(request.as_bytes()).unwrap();
    assert_eq!(read_response(&mut first).0, 200);

    // A second client is not served while it is held ...
    let mut second = BufReader::new(server.connect());
    second.get_mut().write_all(request.as_bytes()).unwrap();
    second.get_ref().set_read_timeout(Some(Duration::from_millis(500))).unwrap();
    let mut byte = [0; 1];
    let waited = second.get_mut().peek(&mut byte).unwrap_err().kind();
    assert!(matches!(waited, ErrorKind::WouldBlock | ErrorKind::TimedOut), "{waited:?}");
    // ... which goes on serving its own client ...
    first.get_mut().write_all(request.as_bytes()).unwrap();
    assert_eq!(read_response(&mut first).0, 200);
    // ... and once it closes, the second is served.
    drop(first);
    second.get_ref().set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    assert_eq!(read_response(&mut second).0, 200);
}

#[test]
fn the_demo_key_goes_with_the_demo() {
    let env = Env::new("demo-key");
    let mut server = env.serve(&["--demo"]);
    assert_eq!(server.guide_example(DEMO_KEY).0, 200);
    let printed = server.terminate();
    assert!(printed.iter().any(|l| l == "removed the demo API key"), "{printed:?}");
    assert_eq!(env.json(&["keys", "list", "--json"]), json!([]));
    // What the demo did stays to be read.
    assert_eq!(env.json(&["outbox", "--json"]).as_array().unwrap().len(), 1);

    // A demo killed before it could: the next serve removes its keys (the
    // demo key and the console's operator key).
    drop(env.serve(&["--demo"]));
    let left = env.json(&["keys", "list", "--json"]);
    let names: Vec<&str> = left.as_array().unwrap().iter().map(|k| k["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["demo", "demo-operator"]);
    let server = env.serve(&[]);
    assert_eq!(server.guide_example(DEMO_KEY).1["error"], "Invalid API key.");
    assert_eq!(env.json(&["keys", "list", "--json"]), json!([]));
}

/// `cmd` under `sh` with the usual umask (022), so that the files' modes are
/// the program's doing.
fn with_umask_022(cmd: &Command) -> Command {
    let mut sh = Command::new("sh");
    sh.args(["-c", "umask 022 && exec \"$@\"", "sh"]).arg(cmd.get_program()).args(cmd.get_args());
    for (name, value) in cmd.get_envs() {
        match value {
            Some(value) => sh.env(name, value),
            None => sh.env_remove(name),
        };
    }
    sh
}

#[cfg(unix)]
#[test]
fn the_sqlite_files_are_readable_by_their_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let env = Env::new("mode");
    let mut serve = env.command();
    serve.args(["serve", "--addr", "127.0.0.1:0", "--demo"]);
    let server = Server::start(&mut with_umask_022(&serve));
    assert_eq!(server.guide_example(DEMO_KEY).0, 200);
    for file in ["sms.db", "sms.db-wal", "sms.db-shm"] {
        let mode = std::fs::metadata(env.dir.join(file)).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{file}: {mode:o}");
    }
}

/// Delivery receipts yield to connected clients, but are not starved by
/// them: with a client that never leaves, the receipt still reaches the log.
#[test]
fn receipts_reach_the_log_while_a_client_stays_connected() {
    let env = Env::new("receipts-busy");
    let server = env.serve(&["--demo"]);
    let host = format!("Host: {}\r\n", server.addr);
    let mut client = BufReader::new(server.connect());
    client.get_mut().write_all(guide_request(&host).as_bytes()).unwrap();
    assert_eq!(read_response(&mut client).0, 200);
    let list = format!("GET /api/sms/messages?status=delivered HTTP/1.1\r\n{host}X-API-Key: {DEMO_KEY}\r\n\r\n");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        client.get_mut().write_all(list.as_bytes()).unwrap();
        let (status, page) = read_response(&mut client);
        assert_eq!(status, 200, "{page}");
        if page["messages"].as_array().is_some_and(|m| m.len() == 1) {
            break;
        }
        assert!(Instant::now() < deadline, "no receipt applied in 10 s while a client was connected: {page}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// A tenant whose voicemail SMS carries its recording's link.
const LINKED: &str = r#"{
  "numbers": [{"number": "+14165550000", "tenant": "59", "sms_enabled": true}],
  "tenants": [{"id": "59", "active": true, "sender_number": "+14165550000", "api_enabled": true,
               "voicemail_notifications": true, "voicemail_template": "New voicemail: {recording_url}"}],
  "extensions": [{"tenant": "59", "extension": "1001", "sms_notifications": true, "sms_number": "+14165551234"}]
}"#;

/// Drops `name` (of `bytes`) into the watched folder and answers the path of
/// the recording link its SMS carries.
fn linked_recording(env: &Env, server: &Server, dir: &std::path::Path, name: &str, bytes: &[u8]) -> String {
    std::fs::write(dir.join("voicemail/59/1001").join(name), bytes).unwrap();
    server.wait_for(|l| l.starts_with(&format!("[watch] voicemail/59/1001/{name}")));
    let text = env.json(&["outbox", "--json"])[0]["text"].as_str().unwrap().to_owned();
    let url = text.rsplit(' ').next().unwrap();
    format!("/r/{}", url.split_once("/r/").unwrap().1)
}

/// A recording link's answer head (status, Content-Length) and how much of
/// its body came, within `wait`.
fn fetch(server: &Server, method: &str, path: &str) -> (u16, Option<u64>, usize) {
    let request = format!("{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n", server.addr);
    let mut stream = server.connect();
    stream.write_all(request.as_bytes()).unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).unwrap();
    let split = answer.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&answer[..split]).to_ascii_lowercase();
    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let length = head.lines().find_map(|l| l.strip_prefix("content-length: ")).and_then(|n| n.trim().parse().ok());
    (status, length, answer.len() - split - 4)
}

#[test]
fn a_recording_streams_and_a_client_that_does_not_read_is_cut_off() {
    const SIZE: usize = 40 << 20;
    let env = Env::new("stream");
    let dir = env.dir.join("bucket");
    std::fs::create_dir_all(dir.join("voicemail/59/1001")).unwrap();
    env.apply(LINKED);
    let server = env.serve(&["--watch", dir.to_str().unwrap(), "--idle-timeout", "2"]);
    let path = linked_recording(&env, &server, &dir, "long.wav", &vec![7u8; SIZE]);
    // HEAD answers from the length, with nothing after the head.
    assert_eq!(fetch(&server, "HEAD", &path), (200, Some(SIZE as u64), 0));
    let before = server.rss_kib();
    // Ten clients ask and never read.
    let stalled: Vec<TcpStream> = (0..10)
        .map(|_| {
            let mut s = server.connect();
            let request = format!("GET {path} HTTP/1.1\r\nHost: {}\r\n\r\n", server.addr);
            s.write_all(request.as_bytes()).unwrap();
            s
        })
        .collect();
    std::thread::sleep(Duration::from_millis(1500));
    let during = server.rss_kib();
    // Streamed a chunk at a time: far from ten copies of 40 MB.
    assert!(during < before + 40 * 1024, "RSS {before} KiB before, {during} KiB with ten stalled readers");
    // Others are answered meanwhile, at once.
    let started = Instant::now();
    assert_eq!(server.guide_example(DEMO_KEY).1["error"], "Invalid API key.");
    assert!(started.elapsed() < Duration::from_secs(1), "{:?}", started.elapsed());
    // The stalled connections are cut off once a write waits past the idle
    // time: each ends before its 40 MB came.
    std::thread::sleep(Duration::from_secs(3));
    for mut s in stalled {
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let mut got = Vec::new();
        let ended = s.read_to_end(&mut got);
        assert!(ended.is_err() || got.len() < SIZE, "a stalled reader got the whole recording");
    }
    // A client that reads gets it whole.
    assert_eq!(fetch(&server, "GET", &path), (200, Some(SIZE as u64), SIZE));
}

#[cfg(unix)]
#[test]
fn a_recording_swapped_for_a_link_or_a_fifo_is_no_longer_available() {
    let env = Env::new("swapped");
    let dir = env.dir.join("bucket");
    std::fs::create_dir_all(dir.join("voicemail/59/1001")).unwrap();
    env.apply(LINKED);
    let server = env.serve(&["--watch", dir.to_str().unwrap()]);
    let file = dir.join("voicemail/59/1001/msg.wav");
    let path = linked_recording(&env, &server, &dir, "msg.wav", b"RIFF-audio");
    assert_eq!(fetch(&server, "GET", &path), (200, Some(10), 10));
    let gone = json!({"error": "The recording is no longer available"});
    std::fs::remove_file(&file).unwrap();
    std::os::unix::fs::symlink("/etc/hostname", &file).unwrap();
    assert_eq!(server.get(&path), (410, gone.clone()), "a link in its place");
    std::fs::remove_file(&file).unwrap();
    assert!(Command::new("mkfifo").arg(&file).status().unwrap().success());
    let started = Instant::now();
    assert_eq!(server.get(&path), (410, gone), "a FIFO in its place, at once");
    assert!(started.elapsed() < Duration::from_secs(2));
    // A link dropped in the folder is no voicemail: no SMS comes of it.
    let sent = env.json(&["outbox", "--json"]).as_array().unwrap().len();
    std::os::unix::fs::symlink("/etc/hostname", dir.join("voicemail/59/1001/link.wav")).unwrap();
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(env.json(&["outbox", "--json"]).as_array().unwrap().len(), sent);
}

#[test]
fn one_key_per_request_on_the_local_server() {
    let env = Env::new("one-key");
    let server = env.serve(&["--demo"]);
    let invalid = (200, json!({"error": "Invalid API key."}));
    assert_eq!(
        send_with(&server, &format!("Host: {}\r\nX-API-Key: {DEMO_KEY}\r\nX-API-Key: {DEMO_KEY}\r\n", server.addr)),
        invalid
    );
    assert_eq!(send_with(&server, &format!("Host: {}\r\nX-API-Key: demo-key-59 abcdef0123\r\n", server.addr)), invalid);
    assert_eq!(send_with(&server, &format!("Host: {}\r\nX-API-Key: other-key-0000000001\r\n", server.addr)), invalid);
    assert_eq!(send_with(&server, &format!("Host: {}\r\n", server.addr)).1["success"], "SMS message sent");
    let rest = format!(
        "POST /api/sms/send HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nX-API-Key: {DEMO_KEY}\r\nX-API-Key: x\r\n\
         Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{{}}",
        server.addr
    );
    assert_eq!(server.raw(rest.as_bytes()), (401, r#"{"error":"Invalid API key."}"#.to_owned()));
}
