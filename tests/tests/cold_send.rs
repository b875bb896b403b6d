//! A cold send's first request (docs/aws.md): one `UpdateItem` of the
//! tenant's item checks the key against the tenant's sending keys, takes a
//! rate slot and returns the tenant. Only a key that may send for the
//! tenant takes a slot: every other key gets the contract's answer and
//! leaves the counters as they were. `apply` keeps the sending keys (and the
//! key directory, which names a single-tenant key's tenant) current and
//! never resets the counters; a limit holds across cold instances; past
//! counters go. Against moto.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use aws_sdk_dynamodb::types::AttributeValue;
use futures_util::future::join_all;
use http::{HeaderMap, Method};
use integration_tests::moto::{self, Moto};
use serde_json::Value;
use shared::domain::KeyHash;
use shared::inbound::api::HttpRequest;
use shared::ports::Admin;
use shared::service::Service;
use shared::service::config::Config;

const BODY_B64: &str = "Q29sZCBzZW5k"; // "Cold send"

const K59: &str = "cold-send-key-59-000001";
const ALL: &str = "cold-send-key-all-00001";
const OFF: &str = "cold-send-key-off-00001";
const NO_SMS: &str = "cold-send-key-nosms-001";
const K60: &str = "cold-send-key-60-000001";

/// Tenants 59 (4 API sends a minute) and 60; keys for 59, for every
/// tenant, disabled, without the SMS right, and for 60.
fn config(off_enabled: bool) -> String {
    format!(
        r#"{{
  "numbers": [{{"number": "+14165550000", "tenant": "59", "sms_enabled": true}},
              {{"number": "+14165550001", "tenant": "60", "sms_enabled": true}}],
  "tenants": [{{"id": "59", "active": true, "sender_number": "+14165550000", "api_enabled": true,
                "voicemail_notifications": true, "rate_limits": {{"per_minute": 4, "per_day": 100}}}},
              {{"id": "60", "active": true, "sender_number": "+14165550001", "api_enabled": true,
                "voicemail_notifications": true}}],
  "extensions": [],
  "api_keys": [{{"name": "k59", "secret": "{K59}", "tenants": ["59"], "permissions": ["sms"]}},
               {{"name": "all", "secret": "{ALL}", "tenants": ["*"], "permissions": ["sms"]}},
               {{"name": "off", "secret": "{OFF}", "tenants": ["59"], "permissions": ["sms"], "enabled": {off_enabled}}},
               {{"name": "nosms", "secret": "{NO_SMS}", "tenants": ["59"], "permissions": ["extensions"]}},
               {{"name": "k60", "secret": "{K60}", "tenants": ["60"], "permissions": ["sms"]}}]
}}"#
    )
}

async fn setup() -> Option<Moto> {
    let m = moto::connect().await?;
    apply(&m, &config(false)).await;
    Some(m)
}

async fn apply(m: &Moto, config: &str) {
    let plan = Config::from_json(config).expect("config").plan(&[], 1);
    m.store.apply(&plan.snapshot, &plan.delete_keys).await.expect("apply");
}

/// The guide's send through the action API: the status and the answer.
async fn send(service: &Service, key: &str, server: &str, to: &str) -> (u16, Value) {
    let query = format!(
        "apikey={key}&action=pbxware.sms.send_message&server={server}&to_number={}&body={BODY_B64}",
        to.replace('+', "%2B")
    );
    let headers = HeaderMap::new();
    let req = HttpRequest::new(&Method::GET, Some(&query), &headers, b"");
    let resp = shared::inbound::api::action::respond(service, &req).await;
    (resp.status().as_u16(), serde_json::from_str(resp.body()).expect("JSON answer"))
}

/// The guide's REST send, the tenant left to the key: the status and the answer.
async fn rest_send(service: &Service, key: &str, to: &str) -> (u16, Value) {
    let mut headers = HeaderMap::new();
    headers.insert("x-api-key", http::HeaderValue::from_str(key).expect("header"));
    headers.insert("content-type", http::HeaderValue::from_static("application/json"));
    let body = serde_json::json!({"to": to, "message": "Cold send"}).to_string();
    let req = HttpRequest::new(&Method::POST, None, &headers, body.as_bytes());
    let resp = shared::inbound::api::rest::respond(service, shared::inbound::api::rest::Endpoint::Send, &req).await;
    (resp.status().as_u16(), serde_json::from_str(resp.body()).expect("JSON answer"))
}

/// The key directory: hash to tenant.
async fn directory(m: &Moto) -> BTreeMap<String, String> {
    let out = aws_sdk_dynamodb::Client::new(&m.aws)
        .get_item()
        .table_name(&m.table)
        .key("PK", AttributeValue::S("KEYDIR".to_owned()))
        .key("SK", AttributeValue::S("KEYDIR".to_owned()))
        .consistent_read(true)
        .send()
        .await
        .expect("GetItem");
    let item = out.item.expect("the key directory");
    let entries = item["tenants"].as_m().expect("a map");
    entries.iter().map(|(h, t)| (h.clone(), t.as_s().expect("a tenant id").clone())).collect()
}

/// The action API answers 200 either way: success says so.
fn sent_ok(answer: &(u16, Value)) -> bool {
    answer.1["success"] == "SMS message sent"
}

fn error(answer: &(u16, Value)) -> &str {
    answer.1["error"].as_str().unwrap_or_else(|| panic!("an error: {answer:?}"))
}

/// The rate counters on a tenant's item, by name.
async fn counters(m: &Moto, tenant: &str) -> HashMap<String, i64> {
    m.tenant_item(tenant)
        .await
        .into_iter()
        .filter(|(k, _)| k.starts_with("rate_"))
        .map(|(k, v)| (k, v.as_n().expect("a number").parse().expect("an integer")))
        .collect()
}

async fn minute_count(m: &Moto) -> i64 {
    let bucket = shared::adapters::clock::system().now() / 60;
    counters(m, "59").await.get(&format!("rate_api_minute_{bucket}")).copied().unwrap_or(0)
}

/// The hashes of a tenant's sending keys.
async fn sending_keys(m: &Moto, tenant: &str) -> BTreeSet<String> {
    let item = m.tenant_item(tenant).await;
    item.get("send_keys").and_then(|k| k.as_m().ok()).map(|k| k.keys().cloned().collect()).unwrap_or_default()
}

fn hashes(secrets: &[&str]) -> BTreeSet<String> {
    secrets.iter().map(|s| KeyHash::of(s).as_str().to_owned()).collect()
}

/// SMS moto holds for `to`: each test sends to numbers of its own.
async fn sent(m: &Moto, to: &str) -> usize {
    moto::sent_sms(&m.endpoint).await.into_iter().filter(|s| s.to == to).count()
}

/// Counts are per minute: a test that sends several times starts early in one.
async fn early_in_a_minute() {
    let second = shared::adapters::clock::system().now() % 60;
    if second > 45 {
        tokio::time::sleep(std::time::Duration::from_secs((61 - second) as u64)).await;
    }
}

#[tokio::test]
async fn only_a_key_that_may_send_takes_a_slot() {
    let to = "+14165557301";
    let Some(m) = setup().await else { return };
    early_in_a_minute().await;
    let refused = [
        ("not-a-key-of-ours-000001", "59", "Invalid API key."),
        (OFF, "59", "Invalid API key."),
        (NO_SMS, "59", "API key does not allow SMS actions"),
        (K60, "59", "API key is not allowed for this tenant"),
        (K59, "61", "API key is not allowed for this tenant"),
        (ALL, "61", "Unknown tenant: 61"),
    ];
    for (key, server, expected) in refused {
        // Each on a cold instance: the write is tried, and refused.
        let cold = m.instance(&[]).await;
        m.mark().await;
        let answer = send(&cold, key, server, to).await;
        assert_eq!(error(&answer), expected, "{key} for {server}: {answer:?}");
        let r = m.requests_since_mark(&[to]).await;
        // The write refused, then the key read on its own; nothing else.
        assert_eq!(
            (r.dynamodb.get("UpdateItem"), r.dynamodb.get("BatchGetItem"), r.dynamodb_total()),
            (Some(&1), Some(&1), 2),
            "{key}: {r:?}"
        );
        assert!(counters(&m, "59").await.is_empty(), "{key} for {server} took a slot");
    }
    assert_eq!(sent(&m, to).await, 0);
    // A key for this tenant, and a key for every tenant, each take theirs.
    for key in [K59, ALL] {
        let cold = m.instance(&[]).await;
        assert!(sent_ok(&send(&cold, key, "59", to).await));
    }
    assert_eq!(sent(&m, to).await, 2);
    assert!(minute_count(&m).await >= 2);
}

#[tokio::test]
async fn apply_keeps_the_sending_keys_current_and_the_counters_as_they_are() {
    let to = "+14165557302";
    let Some(m) = setup().await else { return };
    early_in_a_minute().await;
    assert_eq!(sending_keys(&m, "59").await, hashes(&[K59, ALL]));
    assert_eq!(sending_keys(&m, "60").await, hashes(&[ALL, K60]));
    let cold = m.instance(&[]).await;
    assert!(sent_ok(&send(&cold, K59, "59", to).await));
    let counted = counters(&m, "59").await;
    assert!(!counted.is_empty());

    // Applied again, and with a key enabled: the counters stay.
    apply(&m, &config(true)).await;
    assert_eq!(counters(&m, "59").await, counted);
    assert_eq!(sending_keys(&m, "59").await, hashes(&[K59, ALL, OFF]));
    assert_eq!(sending_keys(&m, "60").await, hashes(&[ALL, K60]), "a key for 59 only");

    // A key disabled, or deleted, leaves every tenant it could send for.
    apply(&m, &config(false)).await;
    assert_eq!(sending_keys(&m, "59").await, hashes(&[K59, ALL]));
    let answer = send(&m.instance(&[]).await, OFF, "59", to).await;
    assert_eq!(error(&answer), "Invalid API key.");
    m.store.delete_key(&KeyHash::of(ALL)).await.expect("delete");
    assert_eq!((sending_keys(&m, "59").await, sending_keys(&m, "60").await), (hashes(&[K59]), hashes(&[K60])));
    let answer = send(&m.instance(&[]).await, ALL, "60", to).await;
    assert_eq!(error(&answer), "Invalid API key.");
    assert_eq!(counters(&m, "59").await, counted);

    // A key put alone reaches every tenant in its scope.
    let mut key = m.store.keys().await.expect("keys").into_iter().find(|k| k.name == "k60").expect("k60");
    key.tenants = shared::domain::TenantScope::All;
    m.store.put_key(&key).await.expect("put");
    assert_eq!((sending_keys(&m, "59").await, sending_keys(&m, "60").await), (hashes(&[K59, K60]), hashes(&[K60])));
    assert!(sent_ok(&send(&m.instance(&[]).await, K60, "59", to).await));
    assert_eq!(m.store.export().await.expect("export").keys.len(), 4, "the key items themselves");
}

/// Cold instances at once: together they never send past the limit, and
/// every slot counted is an SMS sent once the instances use what they hold.
#[tokio::test]
async fn cold_instances_never_send_past_a_limit() {
    let to = "+14165557303";
    let Some(m) = setup().await else { return };
    early_in_a_minute().await;
    let instances = join_all((0..8).map(|_| m.instance(&[]))).await;
    let answers = join_all(instances.iter().map(|i| send(i, K59, "59", to))).await;
    let limited = "Rate limit exceeded: at most 4 SMS per minute for this tenant";
    let ok = answers.iter().filter(|a| sent_ok(a)).count();
    assert!(answers.iter().all(|a| sent_ok(a) || error(a) == limited), "{answers:?}");
    assert!((1..=4).contains(&ok), "{answers:?}");
    // The slots the instances reserved and did not use yet: theirs to send.
    let again = join_all(instances.iter().map(|i| send(i, K59, "59", to))).await;
    assert!(again.iter().all(|a| sent_ok(a) || error(a) == limited), "{again:?}");
    let ok = ok + again.iter().filter(|a| sent_ok(a)).count();
    assert_eq!((ok, sent(&m, to).await, minute_count(&m).await), (4, 4, 4), "{again:?}");
}

#[tokio::test]
async fn past_counters_go_with_the_next_count() {
    let to = "+14165557304";
    let Some(m) = setup().await else { return };
    early_in_a_minute().await;
    let now = shared::adapters::clock::system().now();
    let (minute, day) = (now / 60, now / 86_400);
    let past = [
        format!("rate_api_minute_{}", minute - 5),
        format!("rate_api_day_{}", day - 3),
        format!("rate_voicemail_minute_{}", minute - 2),
    ];
    let recent = format!("rate_api_minute_{}", minute - 1);
    let one = AttributeValue::N("1".to_owned());
    let attrs: Vec<(&str, AttributeValue)> =
        past.iter().chain([&recent]).map(|name| (name.as_str(), one.clone())).collect();
    m.set_on_tenant("59", &attrs).await;

    // The cold send sees them on the item; its next count removes the
    // two-windows-old ones, and keeps the last minute's.
    assert!(sent_ok(&send(&m.instance(&[]).await, K59, "59", to).await));
    let names: BTreeSet<String> = counters(&m, "59").await.into_keys().collect();
    let expected: BTreeSet<String> =
        [recent, format!("rate_api_minute_{minute}"), format!("rate_api_day_{day}")].into();
    assert_eq!(names, expected);
}

/// The key directory names each enabled single-tenant sending key's tenant;
/// an instance reads it at init. When it is stale (the key moved after the
/// instance started), the send takes the long way to the right tenant.
#[tokio::test]
async fn a_stale_key_directory_costs_the_long_way_never_a_wrong_tenant() {
    let to = "+14165557305";
    let Some(m) = setup().await else { return };
    early_in_a_minute().await;
    let h = |secret: &str| KeyHash::of(secret).as_str().to_owned();
    let expected: BTreeMap<String, String> = [(h(K59), "59".to_owned()), (h(K60), "60".to_owned())].into();
    assert_eq!(directory(&m).await, expected, "neither the disabled, the extensions-only nor the every-tenant key");

    // Read at init: a REST send without "server" is one write, then the log.
    let instance = m.instance(&[]).await;
    m.mark().await;
    let answer = rest_send(&instance, K59, to).await;
    assert_eq!((answer.0, answer.1["from"].as_str()), (200, Some("+14165550000")), "{answer:?}");
    let r = m.requests_since_mark(&[to]).await;
    assert_eq!(
        (r.dynamodb.get("UpdateItem"), r.dynamodb.get("TransactWriteItems"), r.dynamodb_total()),
        (Some(&1), Some(&1), 2),
        "{r:?}"
    );

    // The key moves to tenant 60 after another instance started.
    let stale = m.instance(&[]).await;
    apply(
        &m,
        &config(false).replace(
            r#""name": "k59", "secret": "cold-send-key-59-000001", "tenants": ["59"]"#,
            r#""name": "k59", "secret": "cold-send-key-59-000001", "tenants": ["60"]"#,
        ),
    )
    .await;
    assert_eq!(directory(&m).await.get(&h(K59)).map(String::as_str), Some("60"));
    let before = counters(&m, "59").await;
    let answer = rest_send(&stale, K59, to).await;
    assert_eq!((answer.0, answer.1["from"].as_str()), (200, Some("+14165550001")), "sent as tenant 60: {answer:?}");
    assert_eq!(counters(&m, "59").await, before, "tenant 59's budget untouched");
    assert!(!counters(&m, "60").await.is_empty());
}
