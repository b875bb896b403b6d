//! Abuse cases: rate limits, destination countries, opt-outs, idempotency,
//! and keys that never reach a log or a store.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use futures_util::future::join_all;
use integration_tests::{Backend, answer, backends, capture_logs, request, s3_record, trigger};
use serde_json::{Value, json};

const CONFIG: &str = r#"{
  "numbers": [{"number": "+14165550000", "tenant": "*", "sms_enabled": true}],
  "tenants": [
    {"id": "59", "active": true, "sender_number": "+14165550000", "api_enabled": true, "voicemail_notifications": true,
     "rate_limits": {"per_minute": 3, "per_day": 5}},
    {"id": "70", "active": true, "sender_number": "+14165550000", "api_enabled": true, "voicemail_notifications": true,
     "allowed_countries": ["CA", "US"]}
  ],
  "extensions": [
    {"tenant": "70", "extension": "1001", "sms_notifications": true, "sms_number": "+14165551299"},
    {"tenant": "70", "extension": "1002", "sms_notifications": true, "sms_number": "+442079460123"}
  ],
  "api_keys": [{"name": "k", "secret": "abuse-test-key-000001", "tenants": ["*"], "permissions": ["sms"]}]
}"#;
const KEY: &str = "abuse-test-key-000001";
const OPTED_OUT: &str = "+14165551299";

async fn setup() -> Vec<Backend> {
    let all = backends().await;
    for b in &all {
        b.apply(CONFIG).await;
        b.opt_out(OPTED_OUT).await;
    }
    all
}

async fn rest_send(svc: &shared::service::Service, body: Value, headers: &[(&str, &str)]) -> (u16, Value) {
    let mut h = vec![("x-api-key", KEY)];
    h.extend_from_slice(headers);
    answer(send_sms::handler::handle(svc, request("POST", "/api/sms/send", &h, &body.to_string())).await.unwrap())
}

async fn action_send(svc: &shared::service::Service, server: &str, to: &str) -> (u16, Value) {
    let q = format!(
        "/?apikey={KEY}&action=pbxware.sms.send_message&server={server}&to_number={}&body=aGk%3D",
        to.replace('+', "%2B")
    );
    answer(send_sms::handler::handle(svc, request("GET", &q, &[], "")).await.unwrap())
}

fn send59() -> Value {
    json!({"to": "+14165551234", "message": "hi", "server": "59"})
}

#[tokio::test]
async fn rate_limits_per_minute_and_per_day() {
    for b in setup().await {
        let clock = Arc::new(AtomicI64::new(1_800_000_000));
        let svc = b.service_at(&clock);
        for _ in 0..3 {
            assert_eq!(rest_send(&svc, send59(), &[]).await.0, 200);
        }
        let minute = "Rate limit exceeded: at most 3 SMS per minute for this tenant";
        assert_eq!(rest_send(&svc, send59(), &[]).await, (429, json!({"error": minute})), "{}", b.name);
        assert_eq!(action_send(&svc, "59", "+14165551234").await, (200, json!({"error": minute})));
        clock.fetch_add(60, Ordering::SeqCst);
        for _ in 0..2 {
            assert_eq!(rest_send(&svc, send59(), &[]).await.0, 200);
        }
        let day = "Rate limit exceeded: at most 5 SMS per day for this tenant";
        assert_eq!(rest_send(&svc, send59(), &[]).await, (429, json!({"error": day})));
        clock.fetch_add(86_400, Ordering::SeqCst);
        assert_eq!(rest_send(&svc, send59(), &[]).await.0, 200);
        assert_eq!(b.sent().await.len(), 6, "{}: refused sends sent nothing", b.name);
    }
}

#[tokio::test]
async fn rate_limits_hold_under_concurrency() {
    for b in setup().await {
        let clock = Arc::new(AtomicI64::new(1_800_000_000));
        let svc = b.service_at(&clock);
        let body = send59();
        let runs = (0..12).map(|_| rest_send(&svc, body.clone(), &[]));
        let statuses: Vec<u16> = join_all(runs).await.into_iter().map(|(s, _)| s).collect();
        assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 3, "{}: {statuses:?}", b.name);
        assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 9);
        assert_eq!(b.sent().await.len(), 3);
    }
}

#[tokio::test]
async fn destinations_outside_the_allowed_countries_are_refused() {
    for b in setup().await {
        let svc = b.service();
        // Default: the sender's country only (CA); +1 212 is the US.
        let us = json!({"to": "+12125550123", "message": "hi", "server": "59"});
        let refused = json!({"error": "Destination country US is not allowed for this tenant"});
        assert_eq!(rest_send(&svc, us, &[]).await, (422, refused.clone()), "{}", b.name);
        assert_eq!(action_send(&svc, "59", "+12125550123").await, (200, refused));
        let gb = json!({"to": "+442079460123", "message": "hi", "server": "70"});
        assert_eq!(
            rest_send(&svc, gb, &[]).await,
            (422, json!({"error": "Destination country GB is not allowed for this tenant"}))
        );
        // Tenant 70 allows CA and US.
        let us70 = json!({"to": "+12125550123", "message": "hi", "server": "70"});
        assert_eq!(rest_send(&svc, us70, &[]).await.0, 200);
        // A voicemail to a refused country is skipped, not retried.
        let answer = trigger(&svc, json!({"Records": [s3_record("voicemail/70/1002/m.wav", "01")]})).await.unwrap();
        assert_eq!(answer["skipped"], 1);
        assert_eq!(b.sent().await.len(), 1, "{}", b.name);
    }
}

#[tokio::test]
async fn opted_out_destinations_are_refused_logged_and_not_retried() {
    for b in setup().await {
        let svc = b.service();
        let out = json!({"to": OPTED_OUT, "message": "hi", "server": "70"});
        let refused = json!({"error": "Destination has opted out of SMS"});
        assert_eq!(rest_send(&svc, out, &[]).await, (422, refused.clone()), "{}", b.name);
        assert_eq!(action_send(&svc, "70", OPTED_OUT).await, (200, refused));
        // Voicemail to an opted-out extension: skipped once, then a duplicate.
        let event = json!({"Records": [s3_record("voicemail/70/1001/m.wav", "01")]});
        assert_eq!(trigger(&svc, event.clone()).await.unwrap()["skipped"], 1);
        assert_eq!(trigger(&svc, event).await.unwrap()["duplicates"], 1);
        assert!(b.gateway.accepted().is_empty());
        assert_eq!(b.gateway.attempts(), 0, "opted-out numbers are not even attempted");
        let log = b.admin.messages(None, 10).await.unwrap();
        assert_eq!(log.len(), 3, "{}", b.name);
        assert!(log.iter().all(|m| m.status.as_str() == "opted_out" && m.to == OPTED_OUT));
    }
}

#[tokio::test]
async fn idempotency_key_replays_the_first_answer() {
    for b in setup().await {
        let clock = Arc::new(AtomicI64::new(1_800_000_000));
        let svc = b.service_at(&clock);
        let body = json!({"to": "+14165551234", "message": "once", "server": "70"});
        let first = rest_send(&svc, body.clone(), &[("idempotency-key", "order-42")]).await;
        assert_eq!(first.0, 200);
        let again = rest_send(&svc, body.clone(), &[("idempotency-key", "order-42")]).await;
        assert_eq!(again, first, "{}: the first answer, replayed", b.name);
        let other = json!({"to": "+14165551234", "message": "twice?", "server": "70"});
        let mismatch = rest_send(&svc, other, &[("idempotency-key", "order-42")]).await;
        assert_eq!(mismatch, (422, json!({"error": "Idempotency-Key was already used for a different request"})));
        // Another key sends again; no key sends every time.
        assert_eq!(rest_send(&svc, body.clone(), &[("idempotency-key", "order-43")]).await.0, 200);
        assert_eq!(rest_send(&svc, body.clone(), &[]).await.0, 200);
        let voicemail = |k: &'static str| {
            let svc = svc.clone();
            async move {
                let req = request(
                    "POST",
                    "/api/sms/notifications/voicemail",
                    &[("x-api-key", KEY), ("idempotency-key", k)],
                    r#"{"extension": "1001", "server": "70", "message": "vm"}"#,
                );
                answer(voicemail_notify::handler::handle(&svc, req).await.unwrap())
            }
        };
        // Same key on the other endpoint is another request.
        assert_eq!(voicemail("order-42").await.0, 422);
        let long_key = "k".repeat(256);
        let refused = rest_send(&svc, body.clone(), &[("idempotency-key", &long_key)]).await;
        assert_eq!(
            refused,
            (
                400,
                json!({"error": "Required field 'Idempotency-Key' contains invalid data (1 to 255 visible ASCII characters)"})
            )
        );
        assert_eq!(b.sent().await.len(), 3, "{}", b.name);
    }
}

#[tokio::test]
async fn a_failed_send_frees_the_idempotency_key_for_a_retry() {
    for b in setup().await {
        let svc = b.service();
        let body = json!({"to": "+14165551234", "message": "retry me", "server": "70"});
        b.gateway.fail_next(1);
        let failed = rest_send(&svc, body.clone(), &[("idempotency-key", "retry-1")]).await;
        assert_eq!(failed, (502, json!({"error": "SMS provider is unavailable"})), "{}", b.name);
        let ok = rest_send(&svc, body.clone(), &[("idempotency-key", "retry-1")]).await;
        assert_eq!(ok.0, 200);
        assert_eq!(rest_send(&svc, body, &[("idempotency-key", "retry-1")]).await, ok);
        assert_eq!(b.sent().await.len(), 1);
    }
}

#[tokio::test]
async fn keys_never_reach_the_logs() {
    for b in setup().await {
        let svc = b.service();
        let (logs, guard) = capture_logs();
        // Success and failure on every path, keys in headers and query strings.
        let ok = action_send(&svc, "70", "+14165551234").await;
        assert_eq!(ok.0, 200);
        action_send(&svc, "70", OPTED_OUT).await;
        action_send(&svc, "59", "+12125550123").await;
        let wrong = "/?apikey=wrong-secret-key-123456&action=pbxware.sms.send_message&server=70&to_number=%2B14165551234&body=aGk%3D";
        send_sms::handler::handle(&svc, request("GET", wrong, &[], "")).await.unwrap();
        rest_send(&svc, json!({"to": "+14165551234", "message": "hi", "server": "70"}), &[]).await;
        rest_send(&svc, json!({"to": "bad"}), &[]).await;
        b.gateway.fail_next(1);
        rest_send(&svc, json!({"to": "+14165551234", "message": "fail", "server": "70"}), &[]).await;
        let req = request(
            "POST",
            "/api/sms/notifications/voicemail",
            &[("x-api-key", "another-wrong-key-99999")],
            r#"{"extension": "1001"}"#,
        );
        voicemail_notify::handler::handle(&svc, req).await.unwrap();
        let req = request(
            "POST",
            "/api/sms/notifications/voicemail",
            &[("x-api-key", KEY)],
            r#"{"extension": "1002", "server": "70"}"#,
        );
        voicemail_notify::handler::handle(&svc, req).await.unwrap();
        trigger(&svc, json!({"Records": [s3_record("voicemail/70/1001/m.wav", "01")]})).await.unwrap();
        drop(guard);
        let text = logs.text();
        assert!(text.contains("SMS sent") && text.contains("request failed"), "the paths logged: {text}");
        for secret in [KEY, "wrong-secret-key-123456", "another-wrong-key-99999"] {
            assert!(!text.contains(secret), "{}: a key reached the log", b.name);
        }
    }
}

#[tokio::test]
async fn the_store_holds_only_key_hashes() {
    let b = integration_tests::embedded();
    b.apply(CONFIG).await;
    let export = format!("{:?}", b.admin.export().await.unwrap());
    assert!(!export.contains(KEY));
    assert!(export.contains(&shared::domain::KeyHash::of(KEY).as_str()[..8]));
    // Every byte of the SQLite file.
    let path = b.store_path.clone().unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let wal = std::fs::read(path.with_extension("db-wal")).unwrap_or_default();
    for data in [bytes, wal] {
        assert!(!data.windows(KEY.len()).any(|w| w == KEY.as_bytes()), "the secret is in the file");
    }
}

#[tokio::test]
async fn an_idempotency_key_in_flight_is_refused_not_sent_twice() {
    for b in setup().await {
        let svc = b.service();
        b.gateway.slow(300);
        let body = json!({"to": "+14165551234", "message": "in flight", "server": "70"});
        let both = join_all((0..2).map(|_| rest_send(&svc, body.clone(), &[("idempotency-key", "flight-1")]))).await;
        let mut statuses: Vec<u16> = both.iter().map(|(s, _)| *s).collect();
        statuses.sort();
        assert_eq!(statuses, [200, 409], "{}: {both:?}", b.name);
        let refused = both.iter().find(|(s, _)| *s == 409).unwrap();
        assert_eq!(refused.1, json!({"error": "A request with this Idempotency-Key is still being processed"}));
        assert_eq!(b.sent().await.len(), 1, "{}", b.name);
    }
}

/// Check 1 before check 2, in cost too: without a valid key the request's
/// fields are never parsed (no phone number, no Base64); with one, the
/// shape is checked once.
#[tokio::test]
async fn nothing_is_parsed_before_the_key_is_known() {
    use shared::service::{ApiCall, ApiStyle, Names};
    use std::sync::atomic::AtomicUsize;
    for b in setup().await {
        let service = b.service();
        for (key, shaped) in [(None, 0), (Some("unknown-key-0000000001"), 0), (Some(KEY), 1)] {
            let shapes = Arc::new(AtomicUsize::new(0));
            let counted = shapes.clone();
            let call = ApiCall {
                style: ApiStyle::Action,
                key: key.map(str::to_owned),
                names: Names::default(),
                shape: Box::new(move || {
                    counted.fetch_add(1, Ordering::SeqCst);
                    Err(shared::Error::MissingField("to_number"))
                }),
                idempotency: None,
                deadline: None,
            };
            let expected =
                if shaped == 0 { shared::Error::InvalidApiKey } else { shared::Error::MissingField("to_number") };
            assert_eq!(service.api(call).await.unwrap_err(), expected, "{}", b.name);
            assert_eq!(shapes.load(Ordering::SeqCst), shaped, "{}: {key:?}", b.name);
        }
    }
}
