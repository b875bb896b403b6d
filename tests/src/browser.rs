//! A real browser for the web console's tests: Debian's chromium, headless,
//! driven through its chromedriver (WebDriver, fantoccini), one fresh
//! profile a [`Browser`]; [`Browser::axe`] runs axe-core in the page.
//!
//! Never downloads a browser: a missing chromium or chromedriver fails the
//! test (`apt-get install chromium chromium-driver`), in CI as elsewhere.
//! The helpers panic with what they were doing: a test's failure message.

use std::fs::{self, File};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde::Deserialize;
use serde_json::{Value, json};

pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// `--no-sandbox`: CI runs as root, where chromium's sandbox refuses to
/// start; the rest keep a test run off the network and quick to start.
const CHROMIUM_ARGS: &[&str] = &[
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1280,900",
];

/// How long an element may take to appear (a page still loading).
const ELEMENT_WAIT: Duration = Duration::from_secs(5);
const DRIVER_START: Duration = Duration::from_secs(15);

/// A headless chromium session; chromium, chromedriver and the profile go
/// on drop (the directory stays if the test failed: chromedriver's log).
pub struct Browser {
    client: Client,
    session: String,
    driver: Driver,
}

/// The chromedriver process, killed on drop (also when starting fails).
struct Driver {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if !std::thread::panicking() {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Drop can't await the client: ending the session over plain HTTP
        // makes chromedriver quit chromium before the driver is killed.
        let _ = local_http(self.driver.port, "DELETE", &format!("/session/{}", self.session));
    }
}

/// One axe-core rule a page breaks.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Violation {
    /// The rule, e.g. `label`, `image-alt`.
    pub id: String,
    pub impact: Option<Impact>,
    pub help: String,
    /// Each offending node's selector (a frame's and the node's, space-separated).
    pub targets: Vec<String>,
}

/// axe-core's impacts, least to most severe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Impact {
    Minor,
    Moderate,
    Serious,
    Critical,
}

impl Violation {
    /// Serious or critical: what [`Browser::assert_accessible`] fails on.
    pub fn is_blocking(&self) -> bool {
        self.impact >= Some(Impact::Serious)
    }
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let impact = self.impact.map_or_else(|| "unknown".to_owned(), |i| format!("{i:?}").to_lowercase());
        write!(f, "{} ({impact}): {} at {}", self.id, self.help, self.targets.join(", "))
    }
}

impl Browser {
    /// Starts chromedriver on a free loopback port and opens a session;
    /// panics (saying what to install) when chromium or chromedriver is missing.
    pub async fn start() -> Browser {
        for (binary, package) in [(CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")] {
            assert!(
                Path::new(binary).exists(),
                "{binary} is missing (Debian package {package}): apt-get install chromium chromium-driver \
                 (the browser tests never download a browser)"
            );
        }
        let driver = Driver::spawn();
        let profile = driver.dir.join("profile");
        let mut args: Vec<String> = CHROMIUM_ARGS.iter().map(|a| (*a).to_owned()).collect();
        args.push(format!("--user-data-dir={}", profile.display()));
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": { "binary": CHROMIUM, "args": args },
        });
        let Value::Object(capabilities) = capabilities else { unreachable!("a JSON object") };
        // Plain HTTP: the driver is on loopback.
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{}", driver.port))
            .await
            .unwrap_or_else(|e| panic!("chromium did not start: {e} (log: {})", driver.log().display()));
        let session = client.session_id().await.ok().flatten().expect("a WebDriver session id");
        Browser { client, session, driver }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.unwrap_or_else(|e| panic!("goto {url}: {e}"));
    }

    /// Replaces the field's value with `value`, typed as a user would.
    pub async fn fill(&self, css: &str, value: &str) {
        let field = self.find(css).await;
        field.clear().await.unwrap_or_else(|e| panic!("clear {css}: {e}"));
        field.send_keys(value).await.unwrap_or_else(|e| panic!("type into {css}: {e}"));
    }

    /// Clicks a control that stays on the page (a box, an option, a
    /// summary). A link or a submit button loads a page, and reading right
    /// after it could read the old page: [`Browser::click_to_load`].
    pub async fn click(&self, css: &str) {
        let element = self.find(css).await;
        assert!(!loads_a_page(&element).await, "{css} loads a page: use click_to_load");
        element.click().await.unwrap_or_else(|e| panic!("click {css}: {e}"));
    }

    /// Clicks what submits a form or follows a link, and waits for the next
    /// page to replace this one (its elements go stale): what is read next
    /// is read off the new page, even where both pages hold it.
    pub async fn click_to_load(&self, css: &str) {
        let page = self.find("html").await;
        let element = self.find(css).await;
        assert!(loads_a_page(&element).await, "{css} is not a link or a submit button");
        element.click().await.unwrap_or_else(|e| panic!("click {css}: {e}"));
        let deadline = Instant::now() + ELEMENT_WAIT;
        while page.tag_name().await.is_ok() {
            assert!(Instant::now() < deadline, "clicking {css} loaded no page");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The element's rendered text.
    pub async fn text(&self, css: &str) -> String {
        self.find(css).await.text().await.unwrap_or_else(|e| panic!("text of {css}: {e}"))
    }

    /// Presses Tab `n` times from the page's start; what took the focus each
    /// time, as `tag#id[name]` (the keyboard's way through the page).
    pub async fn tab_through(&self, n: usize) -> Vec<String> {
        let describe = "const e = document.activeElement; \
            return e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + (e.name ? '[' + e.name + ']' : '');";
        let mut seen = Vec::with_capacity(n);
        for _ in 0..n {
            let focused = self.client.active_element().await.unwrap_or_else(|e| panic!("the focused element: {e}"));
            focused.send_keys("\u{e004}").await.unwrap_or_else(|e| panic!("press Tab: {e}"));
            let name = self.client.execute(describe, vec![]).await.unwrap_or_else(|e| panic!("describe: {e}"));
            seen.push(name.as_str().unwrap_or_default().to_owned());
        }
        seen
    }

    /// Whether the page is wider than the window (it would scroll sideways).
    pub async fn overflows_sideways(&self) -> bool {
        let script = "return document.documentElement.scrollWidth > window.innerWidth;";
        let wide = self.client.execute(script, vec![]).await.unwrap_or_else(|e| panic!("measure the page: {e}"));
        wide.as_bool().unwrap_or(true)
    }

    /// An attribute of the element (a form's hidden token).
    pub async fn attr(&self, css: &str, name: &str) -> Option<String> {
        self.find(css).await.attr(name).await.unwrap_or_else(|e| panic!("attribute {name} of {css}: {e}"))
    }

    /// Writes the viewport as a PNG, creating the file's directory.
    pub async fn screenshot(&self, path: &Path) {
        let png = self.client.screenshot().await.unwrap_or_else(|e| panic!("screenshot: {e}"));
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir).unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
        }
        fs::write(path, png).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    }

    pub async fn set_window_size(&self, width: u32, height: u32) {
        self.client.set_window_size(width, height).await.unwrap_or_else(|e| panic!("resize to {width}x{height}: {e}"));
    }

    /// Runs axe-core on the current page. Its source goes in through
    /// WebDriver's execute, which a page's CSP does not govern (no inline
    /// `<script>` is added to the page).
    pub async fn axe(&self) -> Vec<Violation> {
        let source = axe_source();
        self.client.execute(&source, vec![]).await.unwrap_or_else(|e| panic!("inject axe-core: {e}"));
        let result = self.client.execute_async(RUN_AXE, vec![]).await.unwrap_or_else(|e| panic!("run axe-core: {e}"));
        if let Some(error) = result.get("error") {
            panic!("axe-core failed: {error}");
        }
        serde_json::from_value(result).unwrap_or_else(|e| panic!("axe-core's violations: {e}"))
    }

    /// Panics listing every serious or critical violation on the page.
    pub async fn assert_accessible(&self, page_name: &str) {
        let blocking: Vec<String> =
            self.axe().await.iter().filter(|v| v.is_blocking()).map(|v| format!("- {v}")).collect();
        assert!(
            blocking.is_empty(),
            "{page_name}: {} serious or critical accessibility violations:\n{}",
            blocking.len(),
            blocking.join("\n")
        );
    }

    async fn find(&self, css: &str) -> Element {
        self.client
            .wait()
            .at_most(ELEMENT_WAIT)
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("find {css}: {e}"))
    }
}

/// A link, or a button or input that submits its form.
async fn loads_a_page(element: &Element) -> bool {
    let tag = element.tag_name().await.unwrap_or_else(|e| panic!("tag of a clicked element: {e}"));
    let kind = element.prop("type").await.unwrap_or_else(|e| panic!("type of a clicked element: {e}"));
    match tag.to_ascii_lowercase().as_str() {
        "a" => true,
        "button" | "input" => kind.as_deref() == Some("submit"),
        _ => false,
    }
}

/// axe.run's violations, trimmed to [`Violation`]'s fields; failures come
/// back as `{error}` (a rejected promise would only time out).
const RUN_AXE: &str = r"
const done = arguments[arguments.length - 1];
axe.run(document, { resultTypes: ['violations'] }).then(
  (r) => done(r.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help,
    targets: v.nodes.map((n) => n.target.flat().join(' ')),
  }))),
  (e) => done({ error: String(e) }),
);
";

/// axe-core as `npm ci --prefix tests/browser` installs it.
fn axe_source() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("browser/node_modules/axe-core/axe.min.js");
    fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (run `npm ci --prefix tests/browser`)", path.display()))
}

impl Driver {
    fn spawn() -> Driver {
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::SeqCst);
        let dir = std::env::temp_dir().join(format!("sms-browser-{}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
        let port = free_port();
        let log = File::create(dir.join("chromedriver.log")).expect("chromedriver's log file");
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("chromedriver's log file"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("start {CHROMEDRIVER}: {e}"));
        let mut driver = Driver { child, port, dir };
        driver.wait_ready();
        driver
    }

    fn log(&self) -> PathBuf {
        self.dir.join("chromedriver.log")
    }

    /// Polls `/status` until chromedriver says it is ready.
    fn wait_ready(&mut self) {
        let deadline = Instant::now() + DRIVER_START;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("chromedriver exited ({status}); log: {}", self.log().display());
            }
            if local_http(self.port, "GET", "/status").is_ok_and(|body| body.contains(r#""ready":true"#)) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "chromedriver not ready after {DRIVER_START:?}; log: {}",
                self.log().display()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// A port the OS just handed out (free unless something takes it first).
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    listener.local_addr().expect("the bound address").port()
}

/// A blocking one-shot request to chromedriver: for `Drop` and for polling
/// before there is a session. Reads by Content-Length: chromedriver keeps
/// the connection open whatever `Connection` says.
fn local_http(port: u16, method: &str, path: &str) -> std::io::Result<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(stream, "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\n\r\n")?;
    let mut reader = BufReader::new(stream);
    let mut length = 0;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line)?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().map_err(|_| std::io::Error::other("bad Content-Length"))?;
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    Ok(String::from_utf8_lossy(&body).into_owned())
}
