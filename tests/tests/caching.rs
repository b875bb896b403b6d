//! The per-instance configuration cache (`CONFIG_CACHE_SECONDS`): what a
//! warm instance keeps, and how long a change takes to reach it. Run over
//! the embedded store with a clock the test moves; the cache is the same
//! over DynamoDB (aws_wire.rs counts the reads it saves).

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use integration_tests::{answer, embedded};
use serde_json::json;
use shared::adapters::cache::CachedStore;
use shared::service::Service;

const KEY: &str = "cache-test-key-59-000001";

fn config(key_enabled: bool, tenant_active: bool, ext_on: bool) -> String {
    json!({
        "numbers": [{"number": "+14165550000", "tenant": "59", "sms_enabled": true}],
        "tenants": [{"id": "59", "active": tenant_active, "sender_number": "+14165550000", "api_enabled": true,
                     "voicemail_notifications": true}],
        "extensions": [{"tenant": "59", "extension": "1001", "sms_notifications": ext_on, "sms_number": "+14165551234"}],
        "api_keys": [{"name": "cache", "secret": KEY, "tenants": ["59"], "permissions": ["sms"], "enabled": key_enabled}]
    })
    .to_string()
}

/// A service over the cache, both on the test's clock.
fn cached(b: &integration_tests::Backend, ttl: i64, clock: &Arc<AtomicI64>) -> Service {
    let store = Arc::new(CachedStore::new(b.store.clone(), ttl, clock.clone()));
    Service::new(store, b.gateway.clone(), b.policy.clone(), clock.clone())
}

async fn send(service: &Service, key: &str) -> (u16, serde_json::Value) {
    let req = integration_tests::request(
        "POST",
        "/api/sms/send",
        &[("x-api-key", key), ("content-type", "application/json")],
        r#"{"to": "+14165551234", "message": "cache"}"#,
    );
    answer(send_sms::handler::handle(service, req).await.expect("response"))
}

async fn notify(service: &Service) -> (u16, serde_json::Value) {
    let req = integration_tests::request(
        "POST",
        "/api/sms/notifications/voicemail",
        &[("x-api-key", KEY), ("content-type", "application/json")],
        r#"{"extension": "1001"}"#,
    );
    answer(voicemail_notify::handler::handle(service, req).await.expect("response"))
}

#[tokio::test]
async fn a_disabled_key_or_tenant_is_honoured_within_the_ttl() {
    let b = embedded();
    b.apply(&config(true, true, true)).await;
    let clock = Arc::new(AtomicI64::new(1_795_000_000));
    let service = cached(&b, 30, &clock);
    assert_eq!(send(&service, KEY).await.0, 200);

    // Switched off: this instance still sends from what it read...
    b.apply(&config(false, false, false)).await;
    clock.fetch_add(29, Ordering::SeqCst);
    assert_eq!(send(&service, KEY).await.0, 200, "within the TTL");
    // ...until the TTL has passed since that read; then all three answer.
    clock.fetch_add(1, Ordering::SeqCst);
    assert_eq!(send(&service, KEY).await, (401, json!({"error": "Invalid API key."})));
    b.apply(&config(true, false, false)).await;
    clock.fetch_add(30, Ordering::SeqCst);
    assert_eq!(send(&service, KEY).await, (403, json!({"error": "SMS API is disabled"})));
    b.apply(&config(true, true, false)).await;
    clock.fetch_add(30, Ordering::SeqCst);
    assert_eq!(notify(&service).await, (403, json!({"error": "SMS notifications are disabled for this extension"})));
    assert_eq!(b.gateway.accepted().len(), 2, "nothing sent once the changes were seen");
}

#[tokio::test]
async fn unknown_keys_are_never_cached_and_zero_turns_the_cache_off() {
    let b = embedded();
    b.apply(&config(true, true, true)).await;
    let clock = Arc::new(AtomicI64::new(1_795_000_000));
    let service = cached(&b, 30, &clock);
    let new_key = "cache-test-key-59-000002";
    assert_eq!(send(&service, new_key).await.0, 401);
    // A key created a moment later works at once: the miss was not kept.
    let with_new = config(true, true, true).replace(
        r#""api_keys":["#,
        &format!(r#""api_keys":[{{"name":"new","secret":"{new_key}","tenants":["59"],"permissions":["sms"]}},"#),
    );
    b.apply(&with_new).await;
    assert_eq!(send(&service, new_key).await.0, 200);

    // Without the cache (TTL 0, the embedded default), a change is seen by
    // the next request.
    let uncached = cached(&b, 0, &clock);
    assert_eq!(send(&uncached, KEY).await.0, 200);
    b.apply(&config(false, true, true)).await;
    assert_eq!(send(&uncached, KEY).await.0, 401);
}
