//! The console's rules on both stores (SQLite, DynamoDB on moto), on a
//! clock the test moves: sessions and their ends, the sign-in limit, the
//! status line's order, changes checked as `apply` checks them and written
//! with their audit entries, an operator kept to their tenants; and the
//! `console` function behind API Gateway on a named stage.

// A scenario reads best whole, however long: functions of test code may
// run past clippy.toml's 50 lines.
#![allow(clippy::too_many_lines)]

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use integration_tests::{Backend, backends};
use shared::Error;
use shared::domain::{E164, Extension, ExtensionRecord, MaxSegments, Permission, Template, TenantId, TenantScope};
use shared::service::Service;
use shared::service::operators::{KeyChange, Notifications, SESSION_IDLE_SECS, SESSION_MAX_SECS};

const OPERATOR: &str = "operator-all-0123456789abcdef";
const OPERATOR_59: &str = "operator-59-0123456789abcdef";
const T0: i64 = 1_796_000_000;

const CONFIG: &str = r#"{
  "numbers": [{"number": "+14165550000", "tenant": "59", "sms_enabled": true},
              {"number": "+14165550060", "tenant": "60", "sms_enabled": true}],
  "tenants": [{"id": "59", "active": false, "api_enabled": false, "voicemail_notifications": false},
              {"id": "60", "active": true, "sender_number": "+14165550060", "api_enabled": true,
               "voicemail_notifications": true}],
  "extensions": [{"tenant": "59", "extension": "1001", "sms_notifications": false}],
  "api_keys": [{"name": "ops", "secret": "operator-all-0123456789abcdef", "tenants": ["*"], "permissions": ["admin"]},
               {"name": "ops-59", "secret": "operator-59-0123456789abcdef", "tenants": ["59"], "permissions": ["admin"]},
               {"name": "sender", "secret": "sender-key-0123456789abcdef", "tenants": ["59"], "permissions": ["sms"]},
               {"name": "shared", "secret": "shared-key-0123456789abcdef", "tenants": ["59", "60"], "permissions": ["sms"]}]
}"#;

async fn setup(b: &Backend) -> (Service, Arc<AtomicI64>) {
    b.apply(CONFIG).await;
    let clock = Arc::new(AtomicI64::new(T0));
    (b.service_at(&clock).with_admin(b.admin.clone()), clock)
}

fn t(id: &str) -> TenantId {
    TenantId::parse(id).unwrap()
}

#[tokio::test]
async fn a_session_ends_when_idle_at_its_absolute_time_at_sign_out_and_with_its_key() {
    for b in backends().await {
        let (service, clock) = setup(&b).await;
        let name = b.name;
        let signed = service.sign_in(OPERATOR, "192.0.2.1").await.expect("signed in");
        assert_eq!(signed.token.len(), 43, "256 bits, URL-safe Base64");
        let op = service.operator(&signed.token).await.unwrap();
        assert_eq!(op.name, "ops");
        // Seen now and then, it lasts; idle for the idle time, it ends.
        for _ in 0..3 {
            clock.fetch_add(SESSION_IDLE_SECS - 60, Ordering::SeqCst);
            service.operator(&signed.token).await.unwrap_or_else(|e| panic!("{name}: still on: {e}"));
        }
        clock.fetch_add(SESSION_IDLE_SECS, Ordering::SeqCst);
        assert_eq!(service.operator(&signed.token).await.unwrap_err(), Error::NotSignedIn, "{name}: idle");
        // However busy, it ends at its absolute time.
        let signed = service.sign_in(OPERATOR, "192.0.2.1").await.unwrap();
        let start = clock.load(Ordering::SeqCst);
        while clock.load(Ordering::SeqCst) < start + SESSION_MAX_SECS - 600 {
            clock.fetch_add(600, Ordering::SeqCst);
            service.operator(&signed.token).await.unwrap_or_else(|e| panic!("{name}: busy: {e}"));
        }
        clock.fetch_add(600, Ordering::SeqCst);
        assert_eq!(service.operator(&signed.token).await.unwrap_err(), Error::NotSignedIn, "{name}: absolute");
        // Sign-out ends it; so does its key's losing `admin`.
        let signed = service.sign_in(OPERATOR, "192.0.2.1").await.unwrap();
        let op = service.operator(&signed.token).await.unwrap();
        service.sign_out(&op).await.unwrap();
        assert_eq!(service.operator(&signed.token).await.unwrap_err(), Error::NotSignedIn, "{name}: signed out");
        let signed = service.sign_in(OPERATOR_59, "192.0.2.1").await.unwrap();
        let ops = service.operator(&signed.token).await.unwrap();
        let demoted = KeyChange::Set {
            name: "ops-59".into(),
            enabled: true,
            permissions: vec![Permission::Sms],
            tenants: TenantScope::Only(vec![t("59")]),
        };
        service.change_key(&ops, &t("59"), demoted).await.unwrap();
        assert_eq!(service.operator(&signed.token).await.unwrap_err(), Error::NotSignedIn, "{name}: no admin");
        // An operator key is no API key: `admin` gives no API action.
        let req = integration_tests::request(
            "POST",
            "/api/sms/send",
            &[("x-api-key", OPERATOR), ("content-type", "application/json")],
            r#"{"server": "60", "to": "+14165551234", "message": "x"}"#,
        );
        let (status, body) = integration_tests::answer(send_sms::handler::handle(&service, req).await.unwrap());
        assert_eq!((status, body["error"].as_str()), (403, Some("API key does not allow SMS actions")), "{name}");
        // A key without `admin` does not sign in; nor does a made-up token.
        assert_eq!(
            service.sign_in("sender-key-0123456789abcdef", "192.0.2.1").await.unwrap_err(),
            Error::SignInRefused
        );
        assert_eq!(service.operator("x".repeat(43).as_str()).await.unwrap_err(), Error::NotSignedIn);
    }
}

#[tokio::test]
async fn failed_sign_ins_are_limited_per_address_and_window() {
    for b in backends().await {
        let (service, clock) = setup(&b).await;
        // At the start of a 15-minute window.
        clock.store(T0 - T0.rem_euclid(900), Ordering::SeqCst);
        for _ in 0..10 {
            assert_eq!(service.sign_in("wrong-key-0123456789", "192.0.2.7").await.unwrap_err(), Error::SignInRefused);
        }
        // Past the limit even the right key is refused, unchecked.
        let e = service.sign_in(OPERATOR, "192.0.2.7").await.unwrap_err();
        assert_eq!(e, Error::TooManySignIns { minutes: 15 }, "{}", b.name);
        assert_eq!(e.to_string(), "Too many failed sign-ins from this address: try again in 15 minutes");
        // Another address is not held back; the next window starts again.
        service.sign_in(OPERATOR, "192.0.2.8").await.expect("another address");
        clock.fetch_add(900, Ordering::SeqCst);
        service.sign_in(OPERATOR, "192.0.2.7").await.expect("the next window");
    }
}

#[tokio::test]
async fn the_status_line_names_the_first_check_that_fails() {
    for b in backends().await {
        let (service, _) = setup(&b).await;
        let op = service.operator(&service.sign_in(OPERATOR, "192.0.2.1").await.unwrap().token).await.unwrap();
        let id = t("59");
        let readiness = || async { service.tenant_overview(&op, &id).await.unwrap().readiness };
        let r = readiness().await;
        assert_eq!((r.api, r.voicemail), (Some(Error::TenantInactive), Some(Error::TenantInactive)), "{}", b.name);
        let mut n = Notifications {
            active: true,
            sender_number: None,
            voicemail_notifications: false,
            voicemail_template: None,
            transcription: None,
            max_segments: None,
            quiet_hours: None,
        };
        service.set_notifications(&op, &id, n.clone()).await.unwrap();
        let r = readiness().await;
        assert_eq!((r.api, r.voicemail), (Some(Error::ApiDisabled), Some(Error::VoicemailDisabled)));
        service.set_api(&op, &id, true).await.unwrap();
        n.voicemail_notifications = true;
        service.set_notifications(&op, &id, n.clone()).await.unwrap();
        let r = readiness().await;
        assert_eq!((r.api, r.voicemail), (Some(Error::InvalidSender), Some(Error::InvalidSender)));
        // Another tenant's number is no valid sender: written with apply's warning.
        n.sender_number = E164::parse("+14165550060");
        let warnings = service.set_notifications(&op, &id, n.clone()).await.unwrap();
        assert_eq!(warnings, ["+14165550060 belongs to tenant 60"]);
        assert_eq!(readiness().await.api, Some(Error::InvalidSender));
        n.sender_number = E164::parse("+14165550000");
        assert!(service.set_notifications(&op, &id, n).await.unwrap().is_empty());
        let r = readiness().await;
        assert_eq!((r.api, r.voicemail, r.sending_keys), (None, None, 2), "{}", b.name);
    }
}

#[tokio::test]
async fn changes_are_checked_written_with_their_audit_entry_and_kept_to_the_operators_tenants() {
    for b in backends().await {
        let (service, _) = setup(&b).await;
        let name = b.name;
        let op = service.operator(&service.sign_in(OPERATOR_59, "192.0.2.1").await.unwrap().token).await.unwrap();
        let (own, other) = (t("59"), t("60"));
        let n = Notifications {
            active: true,
            sender_number: E164::parse("+14165550000"),
            voicemail_notifications: true,
            voicemail_template: Some(Template::parse("VM on {extension}: {transcript}").unwrap()),
            transcription: Some(serde_json::from_str(r#"{"provider": "aws", "language": "fr-CA"}"#).unwrap()),
            max_segments: Some(MaxSegments::try_from(2).unwrap()),
            quiet_hours: Some(
                serde_json::from_str(
                    r#"{"time_zone": "Asia/Kolkata", "from": "21:30", "to": "06:30", "days": ["sun"]}"#,
                )
                .unwrap(),
            ),
        };
        assert_eq!(service.set_notifications(&op, &other, n.clone()).await.unwrap_err(), Error::NotYours);
        assert_eq!(service.tenant_overview(&op, &other).await.unwrap_err(), Error::NotYours);
        assert_eq!(service.numbers(&op).await.unwrap_err(), Error::NotYours, "{name}: the registry");
        service.set_notifications(&op, &own, n.clone()).await.unwrap();
        let stored = service.tenant_overview(&op, &own).await.unwrap().tenant;
        assert_eq!(
            (stored.transcription, stored.max_segments, stored.quiet_hours),
            (n.transcription, n.max_segments, n.quiet_hours),
            "{name}"
        );
        service.set_api(&op, &own, true).await.unwrap();
        let audit = b.admin.audit(Some(&own), 10).await.unwrap();
        assert_eq!(audit.len(), 2, "{name}");
        assert_eq!((audit[0].who.as_str(), audit[0].what.as_str()), ("ops-59", "SMS API"));
        assert_eq!((audit[1].who.as_str(), audit[1].what.as_str()), ("ops-59", "notifications"));
        let audit = &audit[1..];
        assert!(audit[0].before.as_deref().unwrap().contains(r#""active":false"#));
        assert!(
            audit[0].after.as_deref().unwrap().contains(r#""voicemail_template":"VM on {extension}: {transcript}""#)
        );
        // The same again is no change, and says nothing.
        let stored = service.tenant_overview(&op, &own).await.unwrap().tenant;
        assert!(stored.active && stored.voicemail_notifications);
        // An extension turned on needs its number.
        let x = ExtensionRecord {
            tenant: own.clone(),
            extension: Extension::parse("1001").unwrap(),
            sms_notifications: true,
            sms_number: None,
            quiet_hours: None,
        };
        assert_eq!(service.set_extension(&op, x.clone()).await.unwrap_err(), Error::NoDestination);
        assert_eq!(service.extensions_without_number(&op, &own).await.unwrap(), 0, "{name}");
        // `apply` writes one with a warning; the requirement then reads unmet.
        b.apply(r#"{"extensions": [{"tenant": "59", "extension": "1002", "sms_notifications": true}]}"#).await;
        assert_eq!(service.extensions_without_number(&op, &own).await.unwrap(), 1, "{name}");
        let x = ExtensionRecord { sms_number: E164::parse("+14165551234"), ..x };
        service.set_extension(&op, x.clone()).await.unwrap();
        assert_eq!(b.admin.extension(&own, &x.extension).await.unwrap(), Some(x), "{name}");
        // A key of several tenants is not this operator's to change.
        let shared_key = KeyChange::Rotate { name: "shared".into() };
        assert_eq!(service.change_key(&op, &own, shared_key).await.unwrap_err(), Error::NotYours);
        let wide =
            KeyChange::Create { name: "wide".into(), permissions: vec![Permission::Sms], tenants: TenantScope::All };
        assert_eq!(service.change_key(&op, &own, wide).await.unwrap_err(), Error::NotYours);
        // A key made here sends at once: the console's change is the store's.
        let new = KeyChange::Create {
            name: "crm".into(),
            permissions: vec![Permission::Sms],
            tenants: TenantScope::Only(vec![own.clone()]),
        };
        let secret = service.change_key(&op, &own, new).await.unwrap().expect("a secret, once");
        let req = integration_tests::request(
            "POST",
            "/api/sms/send",
            &[("x-api-key", secret.reveal()), ("content-type", "application/json")],
            r#"{"to": "+14165551234", "message": "from a console key"}"#,
        );
        let (status, body) = integration_tests::answer(send_sms::handler::handle(&service, req).await.unwrap());
        assert_eq!(status, 200, "{name}: {body}");
        let last = service.keys_last_sms(&op, &own).await.unwrap();
        assert_eq!(last.get("crm"), Some(&T0), "{name}: the key's last SMS, off the log");
        assert_eq!(last.get("sender"), None);
        let audit = b.admin.audit(Some(&own), 10).await.unwrap();
        let created = audit.iter().find(|a| a.what == "API key crm").expect("the key's entry");
        let after = created.after.as_deref().unwrap();
        assert!(!after.contains(secret.reveal()) && !after.contains(&secret.hash().as_str()[..16]), "{after}");
        assert!(b.admin.audit(Some(&other), 10).await.unwrap().is_empty(), "{name}: nothing of tenant 60");
    }
}

/// A v2 event on stage `prod`, as API Gateway sends it.
fn event(method: &str, path: &str, cookie: Option<&str>, body: &str) -> lambda_http::Request {
    let mut headers = serde_json::json!({"host": "abc123.execute-api.us-east-1.amazonaws.com",
        "content-type": "application/x-www-form-urlencoded"});
    if let Some(c) = cookie {
        headers["cookie"] = c.into();
    }
    let event = serde_json::json!({
        "version": "2.0", "routeKey": "ANY /console/{proxy+}", "rawPath": path, "rawQueryString": "",
        "headers": headers,
        "requestContext": {"accountId": "123456789012", "apiId": "abc123", "domainName": "abc123.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "abc123", "stage": "prod", "requestId": "r1", "routeKey": "ANY /console/{proxy+}", "time": "02/Dec/2026:10:00:00 +0000",
            "timeEpoch": 1796205600000_i64,
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "198.51.100.9", "userAgent": "test"}},
        "body": body, "isBase64Encoded": false
    });
    lambda_http::request::from_str(&event.to_string()).expect("an API Gateway event")
}

#[tokio::test]
async fn the_console_function_keeps_api_gateways_stage_in_its_links_and_cookie() {
    for b in backends().await {
        let (service, _) = setup(&b).await;
        let page = console::handler::handle(&service, event("GET", "/prod/console/sign-in", None, "")).await.unwrap();
        let html = String::from_utf8(page.body().to_vec()).unwrap();
        assert!(html.contains(r#"action="/prod/console/sign-in""#), "{html}");
        assert!(page.headers()["content-security-policy"].to_str().unwrap().contains("frame-ancestors 'none'"));
        let body = format!("key={OPERATOR}");
        let signed =
            console::handler::handle(&service, event("POST", "/prod/console/sign-in", None, &body)).await.unwrap();
        assert_eq!(signed.status(), 303, "{}", b.name);
        assert_eq!(signed.headers()["location"], "/prod/console/tenants");
        let cookie = signed.headers()["set-cookie"].to_str().unwrap();
        assert!(cookie.starts_with("__Host-sms-console=") && cookie.contains("Secure; HttpOnly; SameSite=Strict"));
        let pair = cookie.split(';').next().unwrap();
        let tenant =
            console::handler::handle(&service, event("GET", "/prod/console/tenants/60", Some(pair), "")).await.unwrap();
        let html = String::from_utf8(tenant.body().to_vec()).unwrap();
        assert_eq!(tenant.status(), 200, "{}: {html}", b.name);
        assert!(html.contains(r#"href="/prod/console/tenants/60/extensions""#), "{html}");
        // Not its routes: 404, as for any function.
        let other = console::handler::handle(&service, event("GET", "/prod/api/sms/messages", None, "")).await.unwrap();
        assert_eq!(other.status(), 404);
    }
}
