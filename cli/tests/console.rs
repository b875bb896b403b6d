//! The operator console in a real browser (Debian's chromium): the
//! guide's settings done by clicking, a key's secret shown once, a test
//! SMS followed to `delivered`, sign-out; an operator of one tenant kept
//! to it on every page and form; forms without their token refused;
//! hostile markup shown as text; axe-core on every page; the screenshots
//! of docs/console/ (`UPDATE_SCREENSHOTS=1 cargo test -p smsctl --test console`).

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::{Env, Server};
use integration_tests::browser::Browser;

const OPERATOR: &str = "operator-all-0123456789abcdef";
const OPERATOR_60: &str = "operator-60-0123456789abcdef";

const CONFIG: &str = r#"{
  "numbers": [{"number": "+14165550000", "tenant": "59", "sms_enabled": true},
              {"number": "+14165550001", "tenant": "*", "sms_enabled": true},
              {"number": "+14165550060", "tenant": "60", "sms_enabled": true}],
  "tenants": [{"id": "59", "active": false, "api_enabled": true, "voicemail_notifications": false,
               "voicemail_template": "<b>VM</b> on {extension} <script>alert(1)</script>"},
              {"id": "60", "active": true, "sender_number": "+14165550060", "api_enabled": true,
               "voicemail_notifications": true}],
  "extensions": [{"tenant": "59", "extension": "1001", "sms_notifications": false},
                 {"tenant": "60", "extension": "2001", "sms_notifications": true, "sms_number": "+14165552001"}],
  "api_keys": [{"name": "ops", "secret": "operator-all-0123456789abcdef", "tenants": ["*"], "permissions": ["admin"]},
               {"name": "ops-60", "secret": "operator-60-0123456789abcdef", "tenants": ["60"], "permissions": ["admin"]},
               {"name": "<img src=x onerror=alert(1)>", "secret": "hostile-name-0123456789abcdef", "tenants": ["59"],
                "permissions": ["sms"], "enabled": false}]
}"#;

fn console() -> (Env, Server) {
    let env = Env::new("console");
    env.apply(CONFIG);
    let server = env.serve(&[]);
    (env, server)
}

fn url(server: &Server, path: &str) -> String {
    format!("http://{}/console{path}", server.addr)
}

async fn sign_in(browser: &Browser, server: &Server, key: &str) {
    browser.goto(&url(server, "/")).await;
    browser.fill("#key", key).await;
    browser.click_to_load("form.card button").await;
    browser.text("table caption").await;
}

/// The page's HTML source, as the browser has it.
async fn source(browser: &Browser) -> String {
    browser.client().source().await.expect("the page source")
}

/// axe-core on the page, and its screenshot: under target/ on every run,
/// and into docs/console/ with `UPDATE_SCREENSHOTS=1` (so that a test run
/// leaves the committed pictures alone).
async fn check(browser: &Browser, name: &str, shot: Option<&str>) {
    browser.assert_accessible(name).await;
    if let Some(file) = shot {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let dir = match std::env::var_os("UPDATE_SCREENSHOTS") {
            Some(_) => root.join("docs/console"),
            None => root.join("target/console-screenshots"),
        };
        browser.screenshot(&dir.join(file)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_operator_configures_a_tenant_and_follows_a_test_sms() {
    let (_env, server) = console();
    let browser = Browser::start().await;
    browser.goto(&url(&server, "/tenants")).await;
    assert!(browser.client().current_url().await.unwrap().path().ends_with("/console/sign-in"));
    check(&browser, "sign-in", Some("sign-in.png")).await;
    sign_in(&browser, &server, OPERATOR).await;
    check(&browser, "tenants", Some("tenants.png")).await;
    browser.click_to_load("a[href$='/tenants/59']").await;
    let status = browser.text("section.status").await;
    assert!(status.contains("Active is No"), "{status}");
    assert!(
        status.contains("Action sms_message returned with error: ERR: SMS not enabled for this tenant:"),
        "{status}"
    );
    assert!(browser.text("#sender_note").await.contains("Invalid or missing sender SMS number"));
    let requirements = browser.text("ul.requirements").await;
    assert!(requirements.contains("SMS Notifications must be Active: not met"), "{requirements}");
    assert!(requirements.contains("A valid Sender Number must be configured: not met"), "{requirements}");
    assert!(requirements.contains("met by every extension whose SMS notifications are on"), "{requirements}");
    // Hostile markup in a template is text, never markup.
    assert!(browser.text("#voicemail_template").await.contains("<script>alert(1)</script>"));
    assert!(source(&browser).await.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    check(&browser, "notifications", None).await;

    browser.click("input[name='active'][value='yes']").await;
    browser.click("#sender_number option[value='+14165550000']").await;
    browser.click("input[name='voicemail'][value='yes']").await;
    browser.fill("#voicemail_template", "New voicemail on {extension} from {caller_id}").await;
    browser.click_to_load("form.settings button[type='submit']:not([formaction])").await;
    assert_eq!(browser.text("p.notice.saved").await, "Notifications saved.");
    let status = browser.text("section.status").await;
    assert!(status.contains("no enabled API key allows SMS actions"), "{status}");
    assert!(status.contains("Voicemail SMS: sent for extensions"), "{status}");
    assert!(browser.text("#preview").await.contains("New voicemail on 1001 from +14165550123"));
    assert!(browser.text("table.audit").await.contains("notifications"));
    // Max segments left empty stays unset: the form does not store the default.
    assert_eq!(browser.attr("#max_segments", "value").await.as_deref().unwrap_or(""), "");
    check(&browser, "notifications, saved", Some("notifications.png")).await;
    transcripts(&browser, &server).await;
    quiet_hours(&browser).await;

    extensions(&browser).await;
    create_key(&browser, &server).await;
    test_sms(&browser, &server).await;

    phone_width(&browser, &server).await;
    browser.click_to_load("form.signout button").await;
    browser.text("form.card").await;
    browser.goto(&url(&server, "/tenants/59")).await;
    assert!(browser.client().current_url().await.unwrap().path().ends_with("/console/sign-in"));
}

/// Transcripts: Amazon Transcribe in a language, and Max segments, which
/// the preview's sample transcript is cut to; what Save refuses, in
/// `apply`'s words.
async fn transcripts(browser: &Browser, server: &Server) {
    browser.click("#transcription option[value='aws']").await;
    browser.fill("#transcription_language", "fr-CA").await;
    browser.fill("#voicemail_template", "Voicemail from {caller_id}: {transcript}").await;
    browser.fill("#max_segments", "1").await;
    // The page's script asks for the preview again as Max segments changes.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !browser.text("#preview").await.contains("GSM-7, 1 segment") {
        assert!(
            Instant::now() < deadline,
            "the preview never followed Max segments: {}",
            browser.text("#preview").await
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    browser.click_to_load("form.settings button[type='submit']:not([formaction])").await;
    assert_eq!(browser.text("p.notice.saved").await, "Notifications saved.");
    let sms = browser.text("#preview p.sms").await;
    assert!(sms.starts_with("Voicemail from +14165550123: Hi, it's Dana from the dental office,"), "{sms}");
    assert!(sms.ends_with("...") && sms.chars().count() <= 160, "{sms}");
    assert_eq!(browser.attr("#transcription_language", "value").await.as_deref(), Some("fr-CA"));
    assert_eq!(browser.attr("#max_segments", "value").await.as_deref(), Some("1"));
    assert_eq!(browser.attr("#transcription option[value='aws']", "selected").await.as_deref(), Some("true"));
    check(browser, "notifications with transcripts", None).await;

    browser.fill("#transcription_language", "french").await;
    browser.click_to_load("form.settings button[type='submit']:not([formaction])").await;
    assert_eq!(
        browser.text("p.notice.failed").await,
        r#"Not saved: Transcription language: expected "auto" or a language code such as "en-US""#
    );
    // The field's own limits stop 11 in the browser; the server refuses it too.
    let cookie = browser.client().get_named_cookie(shared::inbound::console::COOKIE).await.expect("the session cookie");
    let cookie = format!("{}={}", cookie.name(), cookie.value());
    let csrf = browser.attr("input[name='csrf']", "value").await.expect("a form token");
    let form = format!("csrf={csrf}&active=yes&voicemail=yes&sender_number=%2B14165550000&max_segments=11");
    let (status, body) = with_cookie(server, "POST", "/console/tenants/59/notifications", &cookie, &form);
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("Max segments: expected a whole number from 1 to 10"), "{body}");
    browser.goto(&url(server, "/tenants/59")).await;
    assert_eq!(browser.attr("#max_segments", "value").await.as_deref(), Some("1"), "nothing was saved");
}

/// Quiet hours on Notifications: a zone that does not parse refused in
/// `apply`'s words; a weekday window saved and shown as saved.
async fn quiet_hours(browser: &Browser) {
    let save = "form.settings button[type='submit']:not([formaction])";
    browser.click("#quiet option[value='own']").await;
    browser.fill("#quiet_zone", "Mars/Base").await;
    browser.click_to_load(save).await;
    assert_eq!(
        browser.text("p.notice.failed").await,
        r#"Not saved: Quiet hours time zone: expected an IANA time zone such as "America/Toronto""#
    );
    browser.click("#quiet option[value='own']").await;
    browser.fill("#quiet_zone", "America/Toronto").await;
    // Every day starts ticked (no "days": every day); the weekend unticked.
    for weekend in ["sat", "sun"] {
        let day = format!("input[name='quiet_days'][value='{weekend}']");
        assert_eq!(browser.attr(&day, "checked").await.as_deref(), Some("true"), "{weekend}");
        browser.click(&day).await;
    }
    browser.click_to_load(save).await;
    assert_eq!(browser.text("p.notice.saved").await, "Notifications saved.");
    assert_eq!(browser.attr("#quiet option[value='own']", "selected").await.as_deref(), Some("true"));
    assert_eq!(browser.attr("#quiet_zone", "value").await.as_deref(), Some("America/Toronto"));
    assert_eq!(browser.attr("input[name='quiet_days'][value='sun']", "checked").await, None);
    assert_eq!(browser.attr("input[name='quiet_days'][value='mon']", "checked").await.as_deref(), Some("true"));
    assert!(browser.text("table.audit").await.contains("notifications"));
    check(browser, "notifications, quiet hours", None).await;
}

/// An extension's own quiet hours (a half-hour zone), then none.
async fn extension_quiet_hours(browser: &Browser) {
    let form = "form[aria-label='Extension 1001']";
    let summary = format!("{form} details.quiet summary");
    assert_eq!(browser.text(&summary).await, "Quiet hours: the tenant's");
    browser.click(&summary).await;
    browser.click("#x1001-quiet option[value='own']").await;
    browser.fill("#x1001-quiet_zone", "Asia/Kolkata").await;
    browser.click_to_load(&format!("{form} button[type='submit']")).await;
    assert_eq!(browser.text("p.notice.saved").await, "Extension 1001 saved.");
    assert_eq!(browser.text(&summary).await, "Quiet hours: 22:00 to 07:00 (Asia/Kolkata), every day");
    browser.click(&summary).await;
    browser.click("#x1001-quiet option[value='off']").await;
    browser.click_to_load(&format!("{form} button[type='submit']")).await;
    assert_eq!(browser.text(&summary).await, "Quiet hours: none");
}

/// Every page at a phone's width (390 px): nothing wider than the screen.
async fn phone_width(browser: &Browser, server: &Server) {
    browser.set_window_size(390, 844).await;
    for page in
        ["/tenants", "/tenants/59", "/tenants/59/api", "/tenants/59/extensions", "/tenants/59/messages", "/numbers"]
    {
        browser.goto(&url(server, page)).await;
        let wide = browser.overflows_sideways().await;
        if wide {
            let script = "return [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > window.innerWidth).map(e => e.tagName + '.' + e.className).slice(0, 12).join(' ');";
            let culprits = browser.client().execute(script, vec![]).await.unwrap();
            panic!("{page} scrolls sideways at 390 px: {culprits}");
        }
    }
    browser.goto(&url(server, "/tenants/59")).await;
    check(browser, "notifications at a phone's width", Some("phone.png")).await;
    browser.set_window_size(1280, 900).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_console_is_used_by_keyboard_alone() {
    let (_env, server) = console();
    let browser = Browser::start().await;
    browser.goto(&url(&server, "/sign-in")).await;
    // The skip link, the console's name, then the key; typed in, Enter signs in.
    assert_eq!(browser.tab_through(3).await, ["a", "a", "input#key[key]"]);
    let field = browser.client().active_element().await.unwrap();
    field.send_keys(&format!("{OPERATOR}\u{e007}")).await.unwrap();
    browser.text("table caption").await;
    browser.goto(&url(&server, "/tenants/59")).await;
    let order = browser.tab_through(40).await;
    for control in [
        "input[active]",
        "select#sender_number[sender_number]",
        "input[voicemail]",
        "textarea#voicemail_template[voicemail_template]",
        "button",
    ] {
        assert!(order.iter().any(|c| c == control), "{control} is not reached by Tab: {order:?}");
    }
    let links = order.iter().filter(|c| *c == "a").count();
    assert!(links >= 5, "the navigation and tabs are reached by Tab: {order:?}");
}

async fn extensions(browser: &Browser) {
    browser.click_to_load("nav.tabs a[href$='/extensions']").await;
    browser.click("#on-1001 option[value='yes']").await;
    browser.click_to_load("form[aria-label='Extension 1001'] button").await;
    assert_eq!(browser.text("#error-1001").await, "Destination does not have an assigned SMS number");
    check(browser, "extensions, refused", None).await;
    browser.click("#on-1001 option[value='yes']").await;
    browser.fill("#number-1001", "+14165551234").await;
    browser.click_to_load("form[aria-label='Extension 1001'] button").await;
    assert_eq!(browser.text("p.notice.saved").await, "Extension 1001 saved.");
    check(browser, "extensions", Some("extensions.png")).await;
    extension_quiet_hours(browser).await;
    // One being added, refused: said above the page (it lists no such row).
    browser.fill("#new-extension", "1005").await;
    browser.click("#new-on option[value='yes']").await;
    browser.click_to_load("form[aria-labelledby='add-ext'] button").await;
    let refused = browser.text("p.notice.failed").await;
    assert_eq!(refused, "Not saved: Extension 1005: Destination does not have an assigned SMS number");
    // A page's forms post back to that page.
    browser.fill("#q", "100").await;
    // The page before it has the same form, which goes stale as it loads.
    browser.click_to_load("form.search button").await;
    let action = browser.attr("form[aria-label='Extension 1001']", "action").await.unwrap_or_default();
    assert!(action.ends_with("/console/tenants/59/extensions?q=100"), "{action}");
}

/// A key created: its secret shown once, never again; it sends at once (the
/// console's change is the store's), and its last SMS shows.
async fn create_key(browser: &Browser, server: &Server) {
    browser.click_to_load("nav.tabs a[href$='/api']").await;
    browser.fill("#new-name", "integration").await;
    browser.click_to_load("button[value='create']").await;
    let secret = browser.text(".notice.secret code").await;
    assert!(secret.starts_with("sk_") && secret.len() > 30, "{secret}");
    check(browser, "SMS API, new key", Some("api.png")).await;
    browser.click_to_load("nav.tabs a[href$='/api']").await;
    browser.text("form.key h3").await;
    let page = source(browser).await;
    assert!(!page.contains(&secret), "the secret is shown once only");
    // A key's name with markup is text.
    assert!(page.contains("&lt;img src=x onerror=alert(1)&gt;") && !page.contains("<img src=x"), "{page}");
    assert!(browser.text("section.status").await.contains("API: can send"));
    let note = browser.text("form[aria-label='Key integration'] p.note").await;
    assert!(note.ends_with("Last SMS for this tenant: none among its last 1000 messages"), "{note}");
    let (status, body) = server.post("/api/sms/send", &secret, r#"{"to": "+14165551234", "message": "Hi"}"#);
    assert_eq!(status, 200, "{body}");
    browser.click_to_load("nav.tabs a[href$='/api']").await;
    let note = browser.text("form[aria-label='Key integration'] p.note").await;
    assert!(note.contains("Last SMS for this tenant: 20") && note.ends_with(" UTC"), "{note}");
}

/// A test SMS, followed in Messages until its receipt says `delivered`.
async fn test_sms(browser: &Browser, server: &Server) {
    browser.click_to_load("nav.tabs a[href$='/messages']").await;
    browser.fill("#test-to", "+14165551234").await;
    browser.click_to_load("form.settings button").await;
    assert!(browser.text("p.notice.saved").await.starts_with("Test SMS "));
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        browser.goto(&url(server, "/tenants/59/messages?status=delivered")).await;
        if source(browser).await.contains("badge delivered") {
            break;
        }
        assert!(Instant::now() < deadline, "the test SMS never reached delivered");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    check(browser, "messages", Some("messages.png")).await;
    browser.click_to_load("table.messages a").await;
    assert!(browser.text("dl.detail").await.contains("delivered"));
    check(browser, "message", None).await;
    browser.goto(&url(server, "/numbers")).await;
    check(browser, "numbers", Some("numbers.png")).await;
}

/// Every page and form of a tenant, as (method, path, form fields).
const TENANT_ROUTES: &[(&str, &str, &str)] = &[
    ("GET", "", ""),
    ("GET", "/preview?fragment=1&template=x", ""),
    ("GET", "/api", ""),
    ("GET", "/extensions", ""),
    ("GET", "/messages", ""),
    ("GET", "/messages/some-id", ""),
    ("POST", "/notifications", "active=yes&voicemail=yes&sender_number=%2B14165550000"),
    ("POST", "/api", "api_enabled=no"),
    ("POST", "/keys", "do=create&name=intruder&permission=sms"),
    ("POST", "/extensions", "extension=1001&sms_notifications=no"),
    ("POST", "/limits", "allowed_countries=US"),
    ("POST", "/test-sms", "to=%2B14165551234&message=hi"),
];

/// A request with the browser's session cookie.
fn with_cookie(server: &Server, method: &str, path: &str, cookie: &str, form: &str) -> (u16, String) {
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nOrigin: http://{host}\r\nConnection: close\r\nCookie: {cookie}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{form}",
        form.len(),
        host = server.addr,
    );
    server.raw(request.as_bytes())
}

#[tokio::test(flavor = "multi_thread")]
async fn an_operator_of_one_tenant_sees_and_changes_only_it() {
    let (env, server) = console();
    let browser = Browser::start().await;
    sign_in(&browser, &server, OPERATOR_60).await;
    let listed = browser.text("table tbody").await;
    assert!(listed.contains("Tenant 60") && !listed.contains("Tenant 59"), "{listed}");
    let cookie = browser.client().get_named_cookie(shared::inbound::console::COOKIE).await.expect("the session cookie");
    let cookie = format!("{}={}", cookie.name(), cookie.value());
    browser.goto(&url(&server, "/tenants/60")).await;
    let csrf = browser.attr("input[name='csrf']", "value").await.expect("a form token");
    for (method, rest, form) in TENANT_ROUTES {
        let form = if *method == "POST" { format!("csrf={csrf}&{form}") } else { String::new() };
        let (status, body) = with_cookie(&server, method, &format!("/console/tenants/59{rest}"), &cookie, &form);
        assert_eq!(status, 403, "{method} {rest}: {body}");
        assert!(body.contains("Your operator key does not allow this"), "{method} {rest}: {body}");
    }
    for (method, form) in
        [("GET", String::new()), ("POST", format!("csrf={csrf}&number=%2B14165550099&tenant=60&sms_enabled=yes"))]
    {
        let (status, _) = with_cookie(&server, method, "/console/numbers", &cookie, &form);
        assert_eq!(status, 403, "{method} /console/numbers");
    }
    // Its own tenant's forms work with the token, and not without it.
    let (status, body) = with_cookie(&server, "POST", "/console/tenants/60/api", &cookie, "api_enabled=no");
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("This form has expired or did not come from this console"), "{body}");
    let forged = format!("csrf={}&api_enabled=no", "0".repeat(32));
    assert_eq!(with_cookie(&server, "POST", "/console/tenants/60/api", &cookie, &forged).0, 403);
    let (status, body) =
        with_cookie(&server, "POST", "/console/tenants/60/api", &cookie, &format!("csrf={csrf}&api_enabled=no"));
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("SMS API saved."));
    let exported = env.json(&["export"]);
    assert_eq!(exported["tenants"][0]["active"], false, "tenant 59 untouched");
    assert_eq!(exported["tenants"][1]["api_enabled"], false, "tenant 60 changed");
    let audit = env.ok(&["audit", "--tenant", "60"]);
    assert!(audit.contains("ops-60") && audit.contains("SMS API"), "{audit}");
}
