//! The browser harness (src/browser.rs) against pages served as the console
//! will be: a strict Content-Security-Policy (no inline script), so axe-core
//! has to go in through WebDriver. Needs chromium and chromium-driver.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use futures_util::FutureExt;
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use integration_tests::browser::{Browser, Impact};
use integration_tests::temp_path;
use tokio::net::TcpListener;

const CSP: &str = "default-src 'self'; frame-ancestors 'none'";

const GOOD: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Send a test</title></head>
<body><main><h1>Send a test</h1>
<form method="post" action="/submit">
<label for="number">Phone number</label>
<input id="number" name="number" type="tel" autocomplete="tel">
<button id="send" type="submit">Send</button>
</form></main></body></html>"#;

/// A text field with no label at all: axe's `label` rule, critical.
const BAD: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Search</title></head>
<body><main><h1>Search</h1><input id="query" type="text"></main></body></html>"#;

/// What the form posted, in order.
type Submitted = Arc<Mutex<Vec<String>>>;

async fn serve(listener: TcpListener, submitted: Submitted) {
    loop {
        let Ok((stream, _)) = listener.accept().await else { continue };
        let submitted = submitted.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| route(req, submitted.clone()));
            let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
        });
    }
}

async fn route(req: Request<Incoming>, submitted: Submitted) -> Result<Response<Full<Bytes>>, Infallible> {
    let page = match (req.method(), req.uri().path()) {
        (&Method::GET, "/good") => GOOD.to_owned(),
        (&Method::GET, "/bad") => BAD.to_owned(),
        (&Method::POST, "/submit") => {
            let body = req.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
            let number = form_urlencoded::parse(&body).find(|(k, _)| k == "number").map(|(_, v)| v.into_owned());
            let number = number.unwrap_or_default();
            submitted.lock().unwrap().push(number.clone());
            // Digits and '+' only in the test, so no escaping is needed.
            format!(
                r#"<!doctype html><html lang="en"><head><title>Sent</title></head>
                <body><main><h1>Sent</h1><p id="result">Sent to {number}</p></main></body></html>"#
            )
        }
        _ => {
            let mut missing = Response::new(Full::new(Bytes::from_static(b"not found")));
            *missing.status_mut() = StatusCode::NOT_FOUND;
            return Ok(missing);
        }
    };
    let mut response = Response::new(Full::new(Bytes::from(page)));
    response.headers_mut().insert("content-type", "text/html; charset=utf-8".parse().unwrap());
    response.headers_mut().insert("content-security-policy", CSP.parse().unwrap());
    Ok(response)
}

async fn start_server() -> (SocketAddr, Submitted) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let submitted = Submitted::default();
    tokio::spawn(serve(listener, submitted.clone()));
    (addr, submitted)
}

/// Navigation, a form typed into and submitted, text, a screenshot, and a
/// resize.
async fn check_form(browser: &Browser, base: &str, submitted: &Submitted) {
    assert_eq!(browser.client().get_window_size().await.unwrap(), (1280, 900));
    browser.goto(&format!("{base}/good")).await;
    assert_eq!(browser.client().title().await.unwrap(), "Send a test");
    assert_eq!(browser.text("h1").await, "Send a test");

    browser.fill("#number", "+15550100").await;
    browser.click_to_load("#send").await;
    assert_eq!(browser.text("#result").await, "Sent to +15550100");
    assert_eq!(*submitted.lock().unwrap(), ["+15550100"]);
    assert_eq!(browser.client().current_url().await.unwrap().path(), "/submit");

    let shot = temp_path("browser-screenshot").with_extension("png");
    browser.screenshot(&shot).await;
    let png = std::fs::read(&shot).unwrap();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG: {} bytes", png.len());
    std::fs::remove_file(&shot).unwrap();

    browser.set_window_size(800, 600).await;
    assert_eq!(browser.client().get_window_size().await.unwrap(), (800, 600));
}

/// axe-core runs under the CSP: nothing blocking on the good page, the
/// unlabelled field on the bad one, and assert_accessible fails naming it.
async fn check_axe(browser: &Browser, base: &str) {
    browser.goto(&format!("{base}/good")).await;
    let inline_ran = browser.client().execute(INLINE_SCRIPT, vec![]).await.unwrap();
    assert_eq!(inline_ran, false, "the page's CSP is not in force");
    let good = browser.axe().await;
    assert!(good.iter().all(|v| !v.is_blocking()), "good page: {good:#?}");
    browser.assert_accessible("good page").await;

    browser.goto(&format!("{base}/bad")).await;
    let bad = browser.axe().await;
    let label = bad.iter().find(|v| v.id == "label").unwrap_or_else(|| panic!("no `label` violation: {bad:#?}"));
    assert_eq!(label.impact, Some(Impact::Critical));
    assert_eq!(label.targets, ["#query"]);

    let failed = std::panic::AssertUnwindSafe(browser.assert_accessible("bad page")).catch_unwind().await;
    let message = failed.expect_err("assert_accessible passed a page with a critical violation");
    let message = message.downcast_ref::<String>().expect("a formatted panic message");
    assert!(message.starts_with("bad page: ") && message.contains("- label (critical): "), "{message}");
}

/// An inline `<script>` added to the page: the CSP must block it.
const INLINE_SCRIPT: &str = r"
const s = document.createElement('script');
s.textContent = 'window.inlineRan = true';
document.head.append(s);
return window.inlineRan === true;
";

#[tokio::test(flavor = "multi_thread")]
async fn browser_harness_drives_chromium_and_runs_axe() {
    let (addr, submitted) = start_server().await;
    let base = format!("http://{addr}");
    let browser = Browser::start().await;
    check_form(&browser, &base, &submitted).await;
    check_axe(&browser, &base).await;
}
