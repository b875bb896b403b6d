//! Reading what was sent and switching extensions, on both stores:
//! PBXware's `pbxware.sms.reports.list`, the REST message log with its
//! cursor, and `pbxware.ext.es.smsnotifications.get`/`.set`.

// A scenario reads best whole, however long: functions of test code may
// run past clippy.toml's 50 lines.
#![allow(clippy::too_many_lines)]

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use integration_tests::{Backend, answer, backends, request, s3_record, trigger};
use serde_json::{Value, json};
use shared::service::Service;

/// 2026-11-27 00:00:00 UTC.
const NOV_27: i64 = 1_795_737_600;

const CONFIG: &str = r#"{
  "numbers": [{"number": "+14165550000", "tenant": "*", "sms_enabled": true}],
  "tenants": [
    {"id": "59", "active": true, "sender_number": "+14165550000", "api_enabled": true, "voicemail_notifications": true},
    {"id": "60", "active": true, "sender_number": "+14165550000", "api_enabled": true, "voicemail_notifications": true}
  ],
  "extensions": [
    {"tenant": "59", "extension": "1001", "sms_notifications": true, "sms_number": "+14165551234"},
    {"tenant": "60", "extension": "1001", "sms_notifications": true, "sms_number": "+14165551260"}
  ],
  "api_keys": [
    {"name": "k59", "secret": "reports-key-59-000000001", "tenants": ["59"], "permissions": ["sms"]},
    {"name": "k60", "secret": "reports-key-60-000000001", "tenants": ["60"], "permissions": ["sms"]},
    {"name": "both", "secret": "reports-key-both-0000001", "tenants": ["59", "60"], "permissions": ["sms"]},
    {"name": "admin59", "secret": "reports-admin-59-0000001", "tenants": ["59"], "permissions": ["sms", "extensions"]}
  ]
}"#;

const K59: &str = "reports-key-59-000000001";

fn err(text: &str) -> Value {
    json!({ "error": text })
}

async fn setup() -> Vec<(Backend, Service, Arc<AtomicI64>)> {
    let mut all = Vec::new();
    for b in backends().await {
        b.apply(CONFIG).await;
        let clock = Arc::new(AtomicI64::new(NOV_27 + 36_000));
        let svc = b.service_at(&clock);
        all.push((b, svc, clock));
    }
    all
}

async fn action(svc: &Service, query: &str) -> (u16, Value) {
    answer(send_sms::handler::handle(svc, request("GET", &format!("/?{query}"), &[], "")).await.unwrap())
}

async fn get(svc: &Service, key: &str, path: &str) -> (u16, Value) {
    answer(send_sms::handler::handle(svc, request("GET", path, &[("x-api-key", key)], "")).await.unwrap())
}

/// Sends an SMS through the REST API at the clock's time; its message id
/// in the log.
async fn send(b: &Backend, svc: &Service, key: &str, to: &str) -> String {
    let body = json!({"to": to, "message": "hi"}).to_string();
    let (status, sent) = answer(
        send_sms::handler::handle(svc, request("POST", "/api/sms/send", &[("x-api-key", key)], &body)).await.unwrap(),
    );
    assert_eq!(status, 200, "{sent}");
    let log = b.admin.messages(None, 100).await.unwrap();
    log.into_iter().find(|m| m.provider_id.as_deref() == sent["id"].as_str()).unwrap().id
}

#[tokio::test]
async fn pbxware_reports_list_a_tenants_messages_in_a_time_range() {
    for (b, svc, clock) in setup().await {
        let first = send(&b, &svc, K59, "+14165551201").await;
        clock.fetch_add(60, Ordering::SeqCst);
        let second = send(&b, &svc, K59, "+14165551202").await;
        send(&b, &svc, "reports-key-60-000000001", "+14165551203").await;
        // A message the day before.
        clock.store(NOV_27 - 3600, Ordering::SeqCst);
        send(&b, &svc, K59, "+14165551204").await;

        let report = |extra: &str| {
            format!("apikey={K59}&action=pbxware.sms.reports.list&start_date=Nov-27-2026&end_date=Nov-27-2026{extra}")
        };
        let (status, body) = action(&svc, &report("")).await;
        assert_eq!(status, 200, "{}: {body}", b.name);
        assert_eq!(body.as_object().map(|o| o.len()), Some(2), "{}: tenant 59, that day only: {body}", b.name);
        assert_eq!(
            body[&second],
            json!({"server": "59", "provider": if b.outbox.is_some() { "Local outbox" } else { "Amazon SNS" },
                   "from": "14165550000", "to": "14165551202", "direction": "Outbound",
                   "date/time": "2026-11-27 10:01:00", "status": "sent", "error": "", "type": "SMS"}),
            "{}",
            b.name
        );
        assert!(body.get(&first).is_some());
        // PBXware's filters.
        let only = |extra: &str| {
            let svc = svc.clone();
            let q = report(extra);
            async move { action(&svc, &q).await.1 }
        };
        assert_eq!(
            only("&to_number=14165551201").await.as_object().map(|o| o.keys().cloned().collect::<Vec<_>>()),
            Some(vec![first.clone()])
        );
        assert_eq!(only("&start_time=10:00:30").await.as_object().map(|o| o.len()), Some(1), "{}", b.name);
        assert_eq!(only("&end_time=09:59:59").await, json!([]), "{}: nothing: PBXware answers []", b.name);
        assert_eq!(only("&direction=Inbound").await, json!([]));
        assert_eq!(only("&type=mms").await, json!([]));
        assert_eq!(
            only("&direction=outbound&type=SMS&from_number=14165550000").await.as_object().map(|o| o.len()),
            Some(2)
        );
        // The day before, through the key's only tenant implied.
        let (_, before) = action(
            &svc,
            &format!(
                "apikey={K59}&action=pbxware.sms.reports.list&start_date=nov-26-2026&end_date=Nov-26-2026&server=59"
            ),
        )
        .await;
        assert_eq!(before.as_object().map(|o| o.len()), Some(1), "{}", b.name);
        // Bad input, in the contract's order and texts.
        for (extra, error) in [
            (
                "&start_date=2026-11-27",
                "Required field 'start_date' contains invalid data (a date as mmm-dd-YYYY, e.g. Nov-27-2026)",
            ),
            (
                "&end_date=Nov-26-2026",
                "Required field 'end_date' contains invalid data (a date and time not before the start)",
            ),
            ("&start_time=25:00:00", "Required field 'start_time' contains invalid data (a time as hh:mm:ss)"),
            ("&direction=sideways", "Required field 'direction' contains invalid data (Inbound or Outbound)"),
            (
                "&to_number=%2B14165551201",
                "Required field 'to_number' contains invalid data (1 to 16 digits, without +)",
            ),
            ("&server=60", "API key is not allowed for this tenant"),
        ] {
            let q = format!(
                "apikey={K59}&action=pbxware.sms.reports.list&start_date=Nov-27-2026&end_date=Nov-27-2026{extra}"
            );
            let q = q.replacen("&start_date=Nov-27-2026", "", usize::from(extra.starts_with("&start_date"))).replacen(
                "&end_date=Nov-27-2026",
                "",
                usize::from(extra.starts_with("&end_date")),
            );
            assert_eq!(action(&svc, &q).await, (200, err(error)), "{}: {extra}", b.name);
        }
        let (_, missing) =
            action(&svc, &format!("apikey={K59}&action=pbxware.sms.reports.list&end_date=Nov-27-2026")).await;
        assert_eq!(missing, err("Required field 'start_date' is missing"));
        // A key for several tenants names one.
        let (_, several) = action(&svc, "apikey=reports-key-both-0000001&action=pbxware.sms.reports.list&start_date=Nov-27-2026&end_date=Nov-27-2026").await;
        assert_eq!(several, err("Required field 'server' is missing"));
        let (_, other) = action(&svc, "apikey=nope-nope-nope-nope&action=pbxware.sms.reports.list").await;
        assert_eq!(other, err("Invalid API key."), "the key first");
    }
}

#[tokio::test]
async fn the_rest_message_log_pages_with_a_cursor() {
    for (b, svc, clock) in setup().await {
        let mut ids = Vec::new();
        for i in 0..5 {
            ids.push(send(&b, &svc, K59, &format!("+1416555130{i}")).await);
            clock.fetch_add(1, Ordering::SeqCst);
        }
        send(&b, &svc, "reports-key-60-000000001", "+14165551398").await;
        ids.reverse();
        // Page by page, newest first, each message once.
        let mut seen = Vec::new();
        let mut path = "/api/sms/messages?limit=2".to_owned();
        for _ in 0..10 {
            let (status, page) = get(&svc, K59, &path).await;
            assert_eq!(status, 200, "{}: {page}", b.name);
            seen.extend(page["messages"].as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap().to_owned()));
            match page["next_cursor"].as_str() {
                Some(c) => path = format!("/api/sms/messages?limit=2&cursor={c}"),
                None => break,
            }
        }
        assert_eq!(seen, ids, "{}", b.name);
        // Filters, a window, one message.
        let (_, to) = get(&svc, K59, "/api/sms/messages?to=%2B14165551302").await;
        assert_eq!(to["messages"].as_array().map(|m| m.len()), Some(1), "{}: {to}", b.name);
        assert_eq!(to["messages"][0]["to"], "+14165551302");
        let (_, none) = get(&svc, K59, "/api/sms/messages?status=delivered").await;
        assert_eq!(none["messages"], json!([]), "{}", b.name);
        let (_, window) =
            get(&svc, K59, "/api/sms/messages?since=2026-11-27T10:00:02Z&until=2026-11-27T10:00:03Z").await;
        assert_eq!(window["messages"].as_array().map(|m| m.len()), Some(2), "{}: {window}", b.name);
        let (status, one) = get(&svc, K59, &format!("/api/sms/messages/{}", ids[0])).await;
        assert_eq!(
            (status, &one["id"], &one["status"], &one["server"]),
            (200, &json!(ids[0]), &json!("sent"), &json!("59"))
        );
        // Another tenant's message is unknown here.
        let (status, theirs) = get(&svc, "reports-key-60-000000001", &format!("/api/sms/messages/{}", ids[0])).await;
        assert_eq!((status, theirs), (404, err(&format!("Unknown message: {}", ids[0]))), "{}", b.name);
        for (path, status, error) in [
            (
                "/api/sms/messages?cursor=bm8tc2VwYXJhdG9y",
                400,
                "Required field 'cursor' contains invalid data (a cursor from a previous page)",
            ),
            (
                "/api/sms/messages?limit=101",
                400,
                "Required field 'limit' contains invalid data (a whole number from 1 to 100)",
            ),
            (
                "/api/sms/messages?since=yesterday",
                400,
                "Required field 'since' contains invalid data (a time in RFC 3339, e.g. 2026-11-27T10:00:00Z)",
            ),
            (
                "/api/sms/messages?status=lost",
                400,
                "Required field 'status' contains invalid data (transcribing, held, sending, sent, delivered, failed, refused, opted_out, skipped or unknown)",
            ),
            ("/api/sms/messages?colour=red", 400, "Unknown field 'colour'"),
            ("/api/sms/messages?limit=1&limit=2", 400, "Required field 'limit' contains invalid data (a single value)"),
            ("/api/sms/messages/..%2Fsecrets", 400, "Required field 'id' contains invalid data (a message id)"),
        ] {
            assert_eq!(get(&svc, K59, path).await, (status, err(error)), "{}: {path}", b.name);
        }
        let (status, _) = answer(
            send_sms::handler::handle(&svc, request("POST", "/api/sms/messages", &[("x-api-key", K59)], "{}"))
                .await
                .unwrap(),
        );
        assert_eq!(status, 405);
        assert_eq!(get(&svc, "wrong-key-000000000000", "/api/sms/messages").await, (401, err("Invalid API key.")));
    }
}

/// In the REST API `name=` is a malformed value, not an absent one (the
/// action API reads it as absent, as PBXware does).
#[tokio::test]
async fn empty_rest_query_values_are_refused() {
    let b = integration_tests::embedded();
    b.apply(CONFIG).await;
    let svc = b.service();
    for (query, name, expected) in [
        ("since=", "since", "a time in RFC 3339, e.g. 2026-11-27T10:00:00Z"),
        ("until=", "until", "a time in RFC 3339, e.g. 2026-11-27T10:00:00Z"),
        (
            "status=",
            "status",
            "transcribing, held, sending, sent, delivered, failed, refused, opted_out, skipped or unknown",
        ),
        ("to=", "to", "a phone number in +E.164 format"),
        ("limit=&to=%2B14165551234", "limit", "a whole number from 1 to 100"),
        ("cursor=", "cursor", "a cursor from a previous page"),
        ("server=", "server", "a tenant id of 1 to 10 digits"),
    ] {
        let error = err(&format!("Required field '{name}' contains invalid data ({expected})"));
        assert_eq!(get(&svc, K59, &format!("/api/sms/messages?{query}")).await, (400, error), "{query}");
    }
    let error = err("Required field 'server' contains invalid data (a tenant id of 1 to 10 digits)");
    assert_eq!(get(&svc, K59, "/api/sms/messages/0192f8a1?server=").await, (400, error));
    // Absent, each is its default.
    assert_eq!(get(&svc, K59, "/api/sms/messages").await, (200, json!({"messages": [], "next_cursor": null})));
}

#[tokio::test]
async fn an_extensions_sms_notifications_switch_over_the_action_api() {
    for (b, svc, _) in setup().await {
        let ext = |key: &str, method: &str, extra: &str| {
            format!("apikey={key}&action=pbxware.ext.es.smsnotifications.{method}&server=59{extra}")
        };
        assert_eq!(action(&svc, &ext(K59, "get", "&id=1001")).await, (200, json!({"state": "yes"})), "{}", b.name);
        // Setting needs the `extensions` permission beyond `sms`.
        assert_eq!(
            action(&svc, &ext(K59, "set", "&id=1001&state=no")).await,
            (200, err("API key does not allow changing extensions"))
        );
        let admin = "reports-admin-59-0000001";
        assert_eq!(
            action(&svc, &ext(admin, "set", "&id=1001&state=no")).await,
            (200, json!({"success": "Enhanced service state changed", "state": "no"})),
            "{}",
            b.name
        );
        assert_eq!(action(&svc, &ext(K59, "get", "&id=1001")).await.1, json!({"state": "no"}));
        // The switch is the one the trigger reads.
        let vm = json!({"Records": [s3_record("voicemail/59/1001/switched.wav", "01")]});
        assert_eq!(trigger(&svc, vm).await.unwrap()["skipped"], 1, "{}", b.name);
        assert_eq!(action(&svc, &ext(admin, "set", "&id=1001&state=yes")).await.1["state"], "yes");
        assert_eq!(
            action(&svc, &ext(admin, "set", "&id=1001&state=yes")).await.1["state"],
            "yes",
            "setting it again changes nothing"
        );
        for (query, error) in [
            (ext(admin, "set", "&id=1001&state=maybe"), "Required field 'state' contains invalid data (yes or no)"),
            (ext(admin, "set", "&id=1001"), "Required field 'state' is missing"),
            (ext(admin, "get", ""), "Required field 'id' is missing"),
            (
                ext(admin, "get", "&id=10a"),
                "Required field 'id' contains invalid data (an extension number of 1 to 15 digits)",
            ),
            (ext(admin, "get", "&id=9999"), "Unknown extension: 9999"),
            (ext(admin, "set", "&id=9999&state=no"), "Unknown extension: 9999"),
            (ext(admin, "get", "&id=1001").replace("server=59", "server=60"), "API key is not allowed for this tenant"),
            (ext("wrong-key-000000000000", "set", "&id=1001&state=maybe"), "Invalid API key."),
            (ext(admin, "sett", "&id=1001"), "Unknown action: pbxware.ext.es.smsnotifications.sett"),
        ] {
            assert_eq!(action(&svc, &query).await, (200, err(error)), "{}: {query}", b.name);
        }
    }
}
