//! What one request costs inside the function, without the network: parsing,
//! validation, and a whole send on the embedded store and outbox.
//! `cargo bench -p shared --bench hot_paths`; figures in docs/benchmarks.md.

use std::sync::Arc;

use criterion::{Criterion, black_box, criterion_group, criterion_main};
use http::{HeaderMap, HeaderValue, Method};
use shared::adapters::outbox::OutboxGateway;
use shared::adapters::sqlite::SqliteStore;
use shared::domain::{E164, MessageText};
use shared::inbound::api::{HttpRequest, action, rest};
use shared::ports::Admin;
use shared::service::config::Config;
use shared::service::{Policy, Service};

const QUERY: &str = "apikey=test-key-59-abcdef&action=pbxware.sms.send_message&server=59&to_number=%2B14165551234&body=WW91IGhhdmUgcmVjZWl2ZWQgYSBuZXcgdm9pY2VtYWlsLg==";
const CONFIG: &str = r#"{
  "numbers": [{"number": "+14165550000", "tenant": "59", "sms_enabled": true}],
  "tenants": [{"id": "59", "active": true, "sender_number": "+14165550000", "api_enabled": true,
               "voicemail_notifications": true, "rate_limits": {"per_minute": 100000000, "per_day": 100000000}}],
  "extensions": [{"tenant": "59", "extension": "1001", "sms_notifications": true, "sms_number": "+14165551234"}],
  "api_keys": [{"name": "k", "secret": "test-key-59-abcdef", "tenants": ["59"], "permissions": ["sms"]}]
}"#;

fn parsing(c: &mut Criterion) {
    let headers = HeaderMap::new();
    c.bench_function("action API: parse the guide's request", |b| {
        b.iter(|| {
            let req = HttpRequest::new(&Method::GET, Some(black_box(QUERY)), &headers, b"");
            action::parse(&req).unwrap()
        });
    });
    let mut json_headers = HeaderMap::new();
    json_headers.insert("x-api-key", HeaderValue::from_static("test-key-59-abcdef"));
    let body = br#"{"to": "+14165551234", "message": "Test SMS notification"}"#;
    c.bench_function("REST: parse the guide's send body", |b| {
        b.iter(|| {
            let req = HttpRequest::new(&Method::POST, None, &json_headers, black_box(body));
            rest::parse(rest::Endpoint::Send, &req).unwrap()
        });
    });
    c.bench_function("E.164: a number seen before (remembered)", |b| {
        b.iter(|| E164::parse(black_box("+14165551234")).unwrap());
    });
    // 20,000 numbers in turn: more than the 10,000 remembered, so each is
    // validated by libphonenumber again.
    let unseen: Vec<String> =
        ["416", "647"].iter().flat_map(|area| (0..10_000).map(move |n| format!("+1{area}555{n:04}"))).collect();
    let mut next = unseen.iter().cycle();
    c.bench_function("E.164: a number not seen before (libphonenumber)", |b| {
        b.iter(|| E164::parse(black_box(next.next().unwrap())).unwrap());
    });
    let long = "Grüße aus Zürich – ".repeat(20);
    c.bench_function("message: encoding and segments (UCS-2, 380 chars)", |b| {
        b.iter(|| MessageText::new(black_box(long.as_str())).unwrap());
    });
}

fn send(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let dir = std::env::temp_dir().join(format!("sms-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bench.db");
    let _ = std::fs::remove_file(&path);
    let store = Arc::new(SqliteStore::open(&path).unwrap());
    let plan = Config::from_json(CONFIG).unwrap().plan(&[], 0);
    rt.block_on(store.apply(&plan.snapshot, &[])).unwrap();
    let outbox = Arc::new(OutboxGateway::open(&path, false, shared::adapters::clock::system()).unwrap());
    let service = Service::new(store, outbox, Policy::default(), shared::adapters::clock::system());
    let headers = HeaderMap::new();
    c.bench_function("action API: whole send on the embedded store (SQLite + outbox)", |b| {
        b.to_async(&rt).iter(|| async {
            let req = HttpRequest::new(&Method::GET, Some(QUERY), &headers, b"");
            let resp = action::respond(&service, &req).await;
            assert_eq!(resp.status(), 200);
        });
    });
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, parsing, send);
criterion_main!(benches);
