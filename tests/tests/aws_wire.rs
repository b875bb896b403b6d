//! The AWS adapters over the wire, against moto: what each path costs in
//! DynamoDB and SNS requests (counted from moto's request recording; the
//! numbers are in docs/aws.md), what the Publish carries, what SNS holds
//! afterwards, and the table's own layout.
//!
//! Every test owns a fresh table and destination numbers no other test
//! uses, so that its requests can be told apart on the shared server.

// A scenario reads best whole, however long: functions of test code may
// run past clippy.toml's 50 lines.
#![allow(clippy::too_many_lines)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use aws_sdk_dynamodb::types::{AttributeValue, TimeToLiveStatus};
use http::{HeaderMap, HeaderValue, Method};
use integration_tests::moto::{self, Moto, Requests};
use serde_json::{Value, json};
use shared::adapters::sns::SnsGateway;
use shared::domain::{CountryCode, E164, Extension, KeyHash, MessageKind, MessageStatus, RateLimits, TenantId, Window};
use shared::inbound::api::HttpRequest;
use shared::inbound::api::rest::Endpoint;
use shared::inbound::trigger::KeyLayout;
use shared::ports::{Admin, Begun, Claim, Closing, End, Finished, Held, Lookup, SmsGateway, Start, Store};
use shared::service::Service;
use shared::service::config::Config;

const KEY: &str = "wire-test-key-59-000001";
const SENDER: &str = "+14165550000";
const TEXT: &str = "You have received a new voicemail.";
const TEXT_B64: &str = "WW91IGhhdmUgcmVjZWl2ZWQgYSBuZXcgdm9pY2VtYWlsLg==";

/// Tenant 59 with its sender, one extension whose SMS number is `vm_to`,
/// and a key for tenant 59 only.
fn config(vm_to: &str) -> String {
    format!(
        r#"{{
  "numbers":    [{{"number": "{SENDER}", "tenant": "59", "sms_enabled": true}}],
  "tenants":    [{{"id": "59", "active": true, "sender_number": "{SENDER}", "api_enabled": true,
                   "voicemail_notifications": true}}],
  "extensions": [{{"tenant": "59", "extension": "1001", "sms_notifications": true, "sms_number": "{vm_to}"}}],
  "api_keys":   [{{"name": "wire", "secret": "{KEY}", "tenants": ["59"], "permissions": ["sms"]}}]
}}"#
    )
}

/// Moto with the configuration applied, and a function instance over it
/// as `main` builds one (configuration cache, opt-out verdicts, pre-warm);
/// `None` when moto is not running (outside CI).
async fn setup(vm_to: &str) -> Option<(Moto, Service)> {
    let m = moto::connect().await?;
    let plan = Config::from_json(&config(vm_to)).expect("config").plan(&[], 1);
    m.store.apply(&plan.snapshot, &plan.delete_keys).await.expect("apply");
    let service = m.instance(&[]).await;
    Some((m, service))
}

fn counts(pairs: &[(&str, usize)]) -> BTreeMap<String, usize> {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

/// Rate slots are reserved per minute: a test that counts requests across
/// several sends starts early in a minute, so that it ends in the same one.
async fn early_in_a_minute() {
    let second = shared::adapters::clock::system().now() % 60;
    if second > 45 {
        tokio::time::sleep(std::time::Duration::from_secs((61 - second) as u64)).await;
    }
}

/// The one Publish carries the sender as origination number, as a
/// transactional SMS, to `to`; SNS (moto) holds the SMS under the id the
/// API answered.
async fn assert_published(m: &Moto, r: &Requests, id: &str, to: &str, text: &str) {
    assert_eq!(r.publishes.len(), 1, "{r:?}");
    let p = &r.publishes[0];
    assert_eq!(p.param("PhoneNumber"), Some(to));
    assert_eq!(p.param("Message"), Some(text));
    assert_eq!(p.message_attribute("AWS.MM.SMS.OriginationNumber"), Some(("String".to_owned(), SENDER.to_owned())));
    assert_eq!(p.message_attribute("AWS.SNS.SMS.SMSType"), Some(("String".to_owned(), "Transactional".to_owned())));
    let held: Vec<_> = moto::sent_sms(&m.endpoint).await.into_iter().filter(|s| s.id == id).collect();
    assert_eq!(held.len(), 1, "moto holds the SMS {id}");
    assert_eq!((held[0].to.as_str(), held[0].text.as_str(), held[0].from.as_deref()), (to, text, Some(SENDER)));
}

fn body_json(resp: &http::Response<String>) -> Value {
    serde_json::from_str(resp.body()).expect("JSON answer")
}

/// The guide's request through the action API; the message id.
async fn action_send(service: &Service, to: &str) -> String {
    let query = format!(
        "apikey={KEY}&action=pbxware.sms.send_message&server=59&to_number={}&body={TEXT_B64}",
        to.replace('+', "%2B")
    );
    let headers = HeaderMap::new();
    let resp =
        shared::inbound::api::action::respond(service, &HttpRequest::new(&Method::GET, Some(&query), &headers, b""))
            .await;
    let answer = body_json(&resp);
    assert_eq!((resp.status().as_u16(), &answer["success"]), (200, &json!("SMS message sent")), "{answer}");
    answer["id"].as_str().expect("id").to_owned()
}

/// A rate counter's value, as the tenant's item holds it.
async fn counter(m: &Moto, kind: &str, window: &str, seconds: i64) -> i64 {
    let bucket = shared::adapters::clock::system().now() / seconds;
    m.tenant_item("59")
        .await
        .get(&format!("rate_{kind}_{window}_{bucket}"))
        .and_then(|c| c.as_n().ok())
        .map_or(0, |c| c.parse().expect("count"))
}

#[tokio::test]
async fn action_api_send_costs_2_dynamodb_requests_cold_and_1_warm() {
    let to = "+14165557001";
    let Some((m, service)) = setup("+14165557002").await else { return };
    early_in_a_minute().await;
    m.mark().await;
    let id = action_send(&service, to).await;
    let r = m.requests_since_mark(&[to]).await;
    // Cold: one write to the tenant's item checks the key, takes a rate
    // slot and returns the tenant (with its sender's entry); after the
    // send, the log entry and the next block of slots in one transaction.
    assert_eq!(r.dynamodb, counts(&[("UpdateItem", 1), ("TransactWriteItems", 1)]), "{r:?}");
    assert_eq!(r.sns, counts(&[("CheckIfPhoneNumberIsOptedOut", 1), ("Publish", 1)]), "{r:?}");
    assert_published(&m, &r, &id, to, TEXT).await;

    // Warm: key and tenant from the configuration cache, the opt-out
    // verdict remembered, a held rate slot: one write, after the send. The
    // block is 3 (60 a minute); the write that uses its last slot reserves
    // the next block in the same transaction.
    for n in 2..=5 {
        m.mark().await;
        action_send(&service, to).await;
        let r = m.requests_since_mark(&[to]).await;
        let write = if n == 4 { "TransactWriteItems" } else { "UpdateItem" };
        assert_eq!(r.dynamodb, counts(&[(write, 1)]), "send {n}: {r:?}");
        assert_eq!(r.sns, counts(&[("Publish", 1)]), "send {n}: {r:?}");
    }
    // Each send is in the log once, sent, one attempt; the counters hold
    // the cold send's slot and the two blocks reserved.
    let log = m.store.messages(Some(&TenantId::parse("59").expect("id")), 10).await.expect("messages");
    assert_eq!(log.len(), 5);
    assert!(
        log.iter().all(|e| e.status == MessageStatus::Sent && e.attempts == 1 && e.provider_id.is_some()),
        "{log:?}"
    );
    assert_eq!((counter(&m, "api", "minute", 60).await, counter(&m, "api", "day", 86_400).await), (7, 7));
}

/// Blocks never take a tenant past its limit, and a block that does not
/// fit falls back to the one slot that does: two instances at 58 of 60.
#[tokio::test]
async fn reserved_slots_never_exceed_a_limit_and_the_last_slot_is_granted() {
    let to = "+14165557081";
    let Some((m, first)) = setup("+14165557082").await else { return };
    early_in_a_minute().await;
    let bucket = shared::adapters::clock::system().now() / 60;
    m.set_on_tenant("59", &[(&format!("rate_api_minute_{bucket}"), AttributeValue::N("58".to_owned()))]).await;
    let second = m.instance(&[]).await;
    action_send(&first, to).await;
    action_send(&second, to).await;
    for service in [&first, &second] {
        let query =
            format!("apikey={KEY}&action=pbxware.sms.send_message&server=59&to_number=%2B14165557081&body={TEXT_B64}");
        let headers = HeaderMap::new();
        let req = HttpRequest::new(&Method::GET, Some(&query), &headers, b"");
        let resp = shared::inbound::api::action::respond(service, &req).await;
        assert_eq!(
            body_json(&resp)["error"],
            json!("Rate limit exceeded: at most 60 SMS per minute for this tenant"),
            "{}",
            resp.body()
        );
    }
    assert_eq!(counter(&m, "api", "minute", 60).await, 60);
    let sent = moto::sent_sms(&m.endpoint).await.into_iter().filter(|s| s.to == to).count();
    assert_eq!(sent, 2);
}

async fn rest(service: &Service, endpoint: Endpoint<'_>, body: &str, idempotency: Option<&str>) -> (u16, Value) {
    let mut headers = HeaderMap::new();
    headers.insert("x-api-key", HeaderValue::from_static(KEY));
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    if let Some(k) = idempotency {
        headers.insert("idempotency-key", HeaderValue::from_str(k).expect("header"));
    }
    let req = HttpRequest::new(&Method::POST, None, &headers, body.as_bytes());
    let resp = shared::inbound::api::rest::respond(service, endpoint, &req).await;
    (resp.status().as_u16(), body_json(&resp))
}

#[tokio::test]
async fn rest_send_costs_2_dynamodb_requests_cold_and_1_warm() {
    let to = "+14165557011";
    let Some((m, service)) = setup("+14165557012").await else { return };
    let body = json!({"to": to, "message": "Test SMS notification"}).to_string();
    early_in_a_minute().await;
    m.mark().await;
    let (status, answer) = rest(&service, Endpoint::Send, &body, None).await;
    assert_eq!(status, 200, "{answer}");
    let r = m.requests_since_mark(&[to]).await;
    // The key directory, read at init, names the key's tenant: one write
    // to the tenant's item checks the key and takes a rate slot; the log
    // entry and the next block.
    assert_eq!(r.dynamodb, counts(&[("UpdateItem", 1), ("TransactWriteItems", 1)]), "{r:?}");
    assert_eq!(r.sns, counts(&[("CheckIfPhoneNumberIsOptedOut", 1), ("Publish", 1)]), "{r:?}");
    assert_published(&m, &r, answer["id"].as_str().expect("id"), to, "Test SMS notification").await;

    // Warm: the outcome alone.
    m.mark().await;
    assert_eq!(rest(&service, Endpoint::Send, &body, None).await.0, 200);
    let r = m.requests_since_mark(&[to]).await;
    assert_eq!((r.dynamodb, r.sns), (counts(&[("UpdateItem", 1)]), counts(&[("Publish", 1)])));

    // Naming the tenant does as well.
    let cold = m.instance(&[]).await;
    let named = json!({"to": to, "message": "Test SMS notification", "server": "59"}).to_string();
    m.mark().await;
    assert_eq!(rest(&cold, Endpoint::Send, &named, None).await.0, 200);
    let r = m.requests_since_mark(&[to]).await;
    assert_eq!(r.dynamodb, counts(&[("UpdateItem", 1), ("TransactWriteItems", 1)]), "{r:?}");

    // Without the pre-warm, no directory: the key is read first.
    let unwarmed = m.instance(&[("AWS_PREWARM", "false")]).await;
    m.mark().await;
    assert_eq!(rest(&unwarmed, Endpoint::Send, &body, None).await.0, 200);
    let r = m.requests_since_mark(&[to]).await;
    assert_eq!(r.dynamodb, counts(&[("BatchGetItem", 1), ("UpdateItem", 1), ("TransactWriteItems", 1)]), "{r:?}");
}

#[tokio::test]
async fn rest_send_with_idempotency_key_adds_the_claim() {
    let to = "+14165557021";
    let Some((m, service)) = setup("+14165557022").await else { return };
    let body = json!({"to": to, "message": "once"}).to_string();
    m.mark().await;
    let first = rest(&service, Endpoint::Send, &body, Some("order-42")).await;
    assert_eq!(first.0, 200, "{first:?}");
    let r = m.requests_since_mark(&[to]).await;
    // The key and its tenant (the key directory names it) in one read;
    // the claim joins the start's transaction, its finish the outcome's.
    assert_eq!(r.dynamodb, counts(&[("BatchGetItem", 1), ("TransactWriteItems", 2)]), "{r:?}");
    assert_eq!(r.sns_total(), 2, "{r:?}");

    // The replay answers from the finished claim (the cancelled start
    // returns it): no rate count, no SMS, key and tenant from the cache.
    m.mark().await;
    assert_eq!(rest(&service, Endpoint::Send, &body, Some("order-42")).await, first);
    let r = m.requests_since_mark(&[to]).await;
    assert_eq!(r.dynamodb, counts(&[("TransactWriteItems", 1)]), "{r:?}");
    assert_eq!(r.sns_total(), 0, "{r:?}");
}

#[tokio::test]
async fn rest_voicemail_notify_costs_3_dynamodb_requests_cold_and_1_warm() {
    let to = "+14165557031";
    let Some((m, service)) = setup(to).await else { return };
    early_in_a_minute().await;
    m.mark().await;
    let (status, answer) = rest(&service, Endpoint::Voicemail, r#"{"extension": "1001"}"#, None).await;
    assert_eq!(status, 200, "{answer}");
    let r = m.requests_since_mark(&[to]).await;
    // The key directory names the key's tenant: the key checked and a
    // rate slot taken on the tenant's item; then the tenant (with its
    // sender's entry) and the extension in one read; the log entry with the
    // next block.
    assert_eq!(r.dynamodb, counts(&[("UpdateItem", 1), ("BatchGetItem", 1), ("TransactWriteItems", 1)]), "{r:?}");
    assert_eq!(r.sns, counts(&[("CheckIfPhoneNumberIsOptedOut", 1), ("Publish", 1)]), "{r:?}");
    assert_published(&m, &r, answer["id"].as_str().expect("id"), to, shared::domain::DEFAULT_VOICEMAIL_TEXT).await;
    m.mark().await;
    assert_eq!(rest(&service, Endpoint::Voicemail, r#"{"extension": "1001"}"#, None).await.0, 200);
    let r = m.requests_since_mark(&[to]).await;
    assert_eq!((r.dynamodb, r.sns), (counts(&[("UpdateItem", 1)]), counts(&[("Publish", 1)])));
}

#[tokio::test]
async fn voicemail_trigger_costs_3_dynamodb_requests_cold_2_warm_and_a_redelivery_1() {
    let to = "+14165557041";
    let Some((m, service)) = setup(to).await else { return };
    let voicemail = |file: &str| json!({"Records": [integration_tests::s3_record(&format!("voicemail/59/1001/{}-{file}.wav", m.table), "0055AED6DCD90281E5")]});
    m.mark().await;
    let report = shared::inbound::trigger::process(&service, &KeyLayout::default(), &voicemail("a"), None).await;
    assert_eq!((report.sent, report.failed), (1, 0), "{report:?}");
    let r = m.requests_since_mark(&[to]).await;
    // Tenant (with its sender's entry) + extension; claim + rate + log
    // entry; outcome + claim done.
    assert_eq!(r.dynamodb, counts(&[("BatchGetItem", 1), ("TransactWriteItems", 2)]), "{r:?}");
    assert_eq!(r.sns, counts(&[("CheckIfPhoneNumberIsOptedOut", 1), ("Publish", 1)]), "{r:?}");
    assert_eq!(r.publishes.len(), 1);
    assert_eq!(
        r.publishes[0].message_attribute("AWS.MM.SMS.OriginationNumber"),
        Some(("String".to_owned(), SENDER.to_owned()))
    );

    // Warm, another voicemail: the two writes, one Publish.
    m.mark().await;
    let report = shared::inbound::trigger::process(&service, &KeyLayout::default(), &voicemail("b"), None).await;
    assert_eq!(report.sent, 1, "{report:?}");
    let r = m.requests_since_mark(&[to]).await;
    assert_eq!((r.dynamodb, r.sns), (counts(&[("TransactWriteItems", 2)]), counts(&[("Publish", 1)])));

    // Delivered again: the claim says done; nothing is sent.
    m.mark().await;
    let report = shared::inbound::trigger::process(&service, &KeyLayout::default(), &voicemail("a"), None).await;
    assert_eq!((report.sent, report.duplicates), (0, 1), "{report:?}");
    let r = m.requests_since_mark(&[to]).await;
    assert_eq!(r.dynamodb, counts(&[("TransactWriteItems", 1)]), "{r:?}");
    assert_eq!(r.sns_total(), 0, "{r:?}");
}

#[tokio::test]
async fn an_opted_out_destination_is_asked_about_once_and_never_published_to() {
    // Moto answers "opted out" for numbers ending in 99.
    let to = "+14165557099";
    let Some((m, service)) = setup("+14165557098").await else { return };
    m.mark().await;
    for _ in 0..2 {
        let (status, answer) =
            rest(&service, Endpoint::Send, &json!({"to": to, "message": "hi"}).to_string(), None).await;
        assert_eq!((status, answer), (422, json!({"error": "Destination has opted out of SMS"})));
    }
    let r = m.requests_since_mark(&[to]).await;
    // The rate was counted before the question; each refusal is logged;
    // the verdict is remembered for the second.
    assert_eq!(r.sns, counts(&[("CheckIfPhoneNumberIsOptedOut", 1)]), "{r:?}");
    let log = m.store.messages(None, 10).await.expect("messages");
    assert_eq!(log.len(), 2);
    assert!(log.iter().all(|e| e.status == MessageStatus::OptedOut && e.provider_id.is_none()), "{log:?}");
}

#[tokio::test]
async fn sns_gateway_sends_and_answers_opt_out_over_the_wire() {
    let Some(m) = moto::connect().await else { return };
    let (from, to, opted) = (
        E164::parse(SENDER).expect("e164"),
        E164::parse("+14165557051").expect("e164"),
        E164::parse("+14165557199").expect("e164"),
    );
    assert!(!m.gateway.opted_out(&to).await.expect("opt-out check"));
    assert!(m.gateway.opted_out(&opted).await.expect("opt-out check"));
    let text = shared::domain::MessageText::new("Grüße – UCS-2 survives the wire").expect("text");
    let tenant = TenantId::parse("59").expect("tenant");
    let id = m
        .gateway
        .send(shared::ports::OutgoingSms { tenant: &tenant, kind: MessageKind::Api, from: &from, to: &to, text: &text })
        .await
        .expect("published");
    assert!(!id.is_empty());
    let held: Vec<_> = moto::sent_sms(&m.endpoint).await.into_iter().filter(|s| s.id == id).collect();
    assert_eq!(held.len(), 1);
    assert_eq!(
        (held[0].to.as_str(), held[0].text.as_str(), held[0].from.as_deref()),
        (to.as_str(), text.as_str(), Some(SENDER))
    );
}

/// An opt-out verdict is kept `OPT_OUT_CACHE_SECONDS` by the clock the
/// gateway is given, then asked for again: one question per destination
/// and instance in that time.
#[tokio::test]
async fn an_opt_out_verdict_lasts_its_time_on_the_gateways_clock() {
    let Some(m) = moto::connect().await else { return };
    let clock = Arc::new(AtomicI64::new(1_795_000_000));
    let gateway = SnsGateway::new(&m.aws, clock.clone()).with_opt_out_cache(600);
    let (free, opted) = (E164::parse("+14165557053").expect("e164"), E164::parse("+14165557299").expect("e164"));
    let destinations = [free.as_str(), opted.as_str()];
    let ask = || async {
        for _ in 0..3 {
            assert!(!gateway.opted_out(&free).await.expect("opt-out check"));
            assert!(gateway.opted_out(&opted).await.expect("opt-out check"));
        }
    };
    let questions = |r: Requests| r.sns.get("CheckIfPhoneNumberIsOptedOut").copied().unwrap_or(0);
    m.mark().await;
    ask().await;
    assert_eq!(questions(m.requests_since_mark(&destinations).await), 2, "one question per destination");
    clock.fetch_add(599, Ordering::SeqCst);
    m.mark().await;
    ask().await;
    assert_eq!(questions(m.requests_since_mark(&destinations).await), 0, "the verdicts still hold");
    clock.fetch_add(1, Ordering::SeqCst);
    m.mark().await;
    ask().await;
    assert_eq!(questions(m.requests_since_mark(&destinations).await), 2, "expired: asked again, once each");
}

/// Each hot-path store operation is one request, whatever its outcome.
#[tokio::test]
async fn each_hot_path_store_operation_is_one_request() {
    let Some((m, _)) = setup("+14165557061").await else { return };
    let store: &dyn Store = &*m.store;
    let (hash, t59, x) = (KeyHash::of(KEY), TenantId::parse("59").expect("id"), Extension::parse("1001").expect("ext"));
    let sender = E164::parse(SENDER).expect("e164");
    let now = 1_795_000_000;
    let limits = RateLimits { per_minute: 1, per_day: 10 };
    let record = shared::domain::MessageRecord {
        id: "m".to_owned(),
        tenant: t59.clone(),
        kind: MessageKind::Api,
        extension: None,
        from: SENDER.to_owned(),
        to: "+14165557061".to_owned(),
        status: MessageStatus::Sending,
        provider_id: None,
        segments: 1,
        error: None,
        at: now,
        attempts: 0,
        receipt: None,
        lease_until: None,
        key: None,
        digest: None,
        due: None,
    };
    let claim = |token| Claim { id: "c", fingerprint: "f", token, lease_until: now + 60, keep_secs: 60 };
    let start = |token, budget| Start {
        record: &record,
        claim: Some(claim(token)),
        budget,
        now,
        log_keep_secs: 86_400,
        link: None,
    };
    let end = |claim, token| End {
        record: &record,
        claim,
        now,
        log_keep_secs: 86_400,
        token,
        wait: None,
        members: &[],
        attempts: 0,
    };
    let cases: Vec<(&str, &str)> = vec![
        ("lookup of all four kinds", "BatchGetItem"),
        ("start: claim, budget and log entry", "TransactWriteItems"),
        ("start refused: the claim is held", "TransactWriteItems"),
        ("finish: claim done and log entry", "TransactWriteItems"),
        ("finish refused: not the holder", "TransactWriteItems"),
        ("start refused: the budget is full", "TransactWriteItems"),
        ("log entry alone", "UpdateItem"),
    ];
    for (i, (what, op)) in cases.iter().enumerate() {
        m.mark().await;
        match i {
            0 => {
                let found = store
                    .lookup(Lookup {
                        key: Some(&hash),
                        tenant: Some(&t59),
                        extension: Some(&x),
                        number: Some(&sender),
                        send_at: None,
                    })
                    .await
                    .expect("lookup");
                assert!(
                    found.key.is_some()
                        && found.tenant.is_some()
                        && found.extension.is_some()
                        && found.number.is_some()
                );
            }
            1 => assert_eq!(
                store.begin(&start("t1", Some((MessageKind::Api, limits)))).await.expect("begin"),
                Begun::Started
            ),
            2 => assert!(matches!(
                store.begin(&start("t2", None)).await.expect("begin"),
                Begun::Held(Held::Pending { .. })
            )),
            3 => assert_eq!(
                store
                    .finish(&end(Some(Closing { id: "c", token: "t1", result: Some("r"), keep_secs: 60 }), "e1"))
                    .await
                    .expect("finish"),
                Finished::Done
            ),
            4 => assert_eq!(
                store
                    .finish(&end(Some(Closing { id: "c", token: "t2", result: None, keep_secs: 60 }), "e2"))
                    .await
                    .expect("finish"),
                Finished::TakenOver
            ),
            5 => {
                let rec = shared::domain::MessageRecord { id: "m2".to_owned(), ..record.clone() };
                let s = Start {
                    record: &rec,
                    claim: None,
                    budget: Some((MessageKind::Api, limits)),
                    now,
                    log_keep_secs: 86_400,
                    link: None,
                };
                assert_eq!(store.begin(&s).await.expect("begin"), Begun::Limited(Window::Minute));
            }
            _ => assert_eq!(store.finish(&end(None, "e3")).await.expect("finish"), Finished::Done),
        }
        let r = m.requests_since_mark(&[]).await;
        assert_eq!(r.dynamodb, counts(&[(op, 1)]), "{what}: {r:?}");
    }
}

/// The table as docs/aws.md describes it: keys, data, TTL.
#[tokio::test]
async fn the_table_layout_is_as_documented() {
    let Some((m, service)) = setup("+14165557071").await else { return };
    // Creating it again is harmless; TTL is on `expires_at`.
    m.store.create_table().await.expect("create again");
    let client = aws_sdk_dynamodb::Client::new(&m.aws);
    let ttl = client.describe_time_to_live().table_name(&m.table).send().await.expect("describe ttl");
    let ttl = ttl.time_to_live_description().expect("ttl description");
    assert_eq!(
        (ttl.attribute_name(), ttl.time_to_live_status()),
        (Some("expires_at"), Some(&TimeToLiveStatus::Enabled))
    );
    let table = client.describe_table().table_name(&m.table).send().await.expect("describe");
    let billing = table
        .table()
        .and_then(|t| t.billing_mode_summary())
        .and_then(|b| b.billing_mode())
        .map(|b| b.as_str().to_owned());
    assert_eq!(billing.as_deref(), Some("PAY_PER_REQUEST"));

    let to = "+14165557072";
    let (status, _) =
        rest(&service, Endpoint::Send, &json!({"to": to, "message": "layout"}).to_string(), Some("layout-1")).await;
    assert_eq!(status, 200);

    let items = client.scan().table_name(&m.table).send().await.expect("scan").items.unwrap_or_default();
    let s = |item: &std::collections::HashMap<String, AttributeValue>, k: &str| {
        item.get(k).and_then(|v| v.as_s().ok()).cloned().unwrap_or_default()
    };
    let mut layout: Vec<(String, String, bool)> = items
        .iter()
        .map(|i| {
            let pk = s(i, "PK");
            // Keep what varies out: hashes, times, ids.
            let pk = pk.split('#').next().unwrap_or_default().to_owned();
            let sk = s(i, "SK");
            // A message is listed by tenant and time through its index keys.
            let log = s(i, "log_pk") + "|" + &s(i, "log_sk").chars().filter(|c| *c == '#').collect::<String>();
            (format!("{pk} {log}"), sk, i.get("expires_at").is_some_and(|v| v.as_n().is_ok()))
        })
        .collect();
    layout.sort();
    let expected: Vec<(String, String, bool)> = [
        ("CLAIM |", "CLAIM", true),
        ("KEY |", "KEY", false),
        ("KEYDIR |", "KEYDIR", false),
        ("KEYNAME |", "KEYNAME", false),
        ("MSG LOG#59|#", "MSG", true),
        ("NUMBER |", "NUMBER", false),
        ("TENANT |", "EXT#1001", false),
        ("TENANT |", "TENANT", false),
    ]
    .iter()
    .map(|(a, b, c)| (a.to_string(), b.to_string(), *c))
    .collect();
    assert_eq!(layout, expected);
    // Entities are their domain JSON in `data`; the key item holds only the hash.
    let key_item = items.iter().find(|i| s(i, "SK") == "KEY").expect("key item");
    assert_eq!(s(key_item, "PK"), format!("KEY#{}", KeyHash::of(KEY).as_str()));
    assert!(!s(key_item, "data").contains(KEY), "the secret is never stored");
    let data: Value = serde_json::from_str(&s(key_item, "data")).expect("data is JSON");
    assert_eq!(data["name"], "wire");
    // The tenant's item: its data, its sender's entry, the keys that may
    // send for it (by hash), its API limits, its rate counters.
    let tenant = items.iter().find(|i| s(i, "SK") == "TENANT").expect("tenant item");
    let mut names: Vec<&str> = tenant
        .keys()
        .map(|k| if k.starts_with("rate_") { k.rsplit_once('_').expect("bucket").0 } else { k.as_str() })
        .collect();
    names.sort();
    let expected = [
        "PK",
        "SK",
        "api_per_day",
        "api_per_minute",
        "data",
        "rate_api_day",
        "rate_api_minute",
        "send_keys",
        "sender_entry",
    ];
    assert_eq!(names, expected);
    let keys = tenant["send_keys"].as_m().expect("a map");
    assert_eq!(keys.keys().collect::<Vec<_>>(), [KeyHash::of(KEY).as_str()]);
    assert!(!format!("{keys:?}").contains(KEY), "the secret is never stored");
    assert_eq!(
        (tenant["api_per_minute"].as_n().ok(), tenant["api_per_day"].as_n().ok()),
        (Some(&"60".to_owned()), Some(&"2000".to_owned()))
    );
}

/// A refused transaction writes nothing (the store half of "apply is all or
/// nothing"), and the error says why.
#[tokio::test]
async fn a_refused_apply_writes_nothing() {
    let Some((m, _)) = setup("+14165557081").await else { return };
    let before = m.store.export().await.expect("export");
    let mut bad = before.clone();
    bad.numbers[0].sms_enabled = false;
    bad.keys[0].name = "renamed".to_owned();
    bad.tenants[0].allowed_countries = vec![CountryCode::parse("CA").expect("country"); 90_000];
    let e = m.store.apply(&bad, &[]).await.expect_err("a 420 KB item is refused");
    assert!(e.0.contains("TransactWriteItems") && e.0.contains("size"), "{e}");
    assert_eq!(m.store.export().await.expect("export"), before);
}

/// Configuration written by the CLI path (`Admin`) is what the hot path
/// (`Store`) reads, through `Arc<dyn ...>` as the functions hold them.
#[tokio::test]
async fn admin_writes_are_what_the_service_reads() {
    let Some(m) = moto::connect().await else { return };
    let admin: Arc<dyn Admin> = m.store.clone();
    let store: Arc<dyn Store> = m.store.clone();
    let plan = Config::from_json(&config("+14165557091")).expect("config").plan(&[], 7);
    admin.apply(&plan.snapshot, &plan.delete_keys).await.expect("apply");
    let hash = KeyHash::of(KEY);
    let found = store.lookup(Lookup { key: Some(&hash), ..Lookup::default() }).await.expect("lookup");
    assert_eq!(found.key.map(|k| (k.name, k.created_at)), Some(("wire".to_owned(), 7)));
    assert_eq!(admin.export().await.expect("export"), plan.snapshot);
}

/// Reports and the REST log read a tenant's time range with one Query on
/// the index, never a Scan; a receipt finds its message with one Query.
#[tokio::test]
async fn reading_the_log_is_one_query_and_a_receipt_one_query_and_one_update() {
    let to = "+14165557111";
    let Some((m, service)) = setup("+14165557112").await else { return };
    let (status, sent) = rest(&service, Endpoint::Send, &json!({"to": to, "message": "log"}).to_string(), None).await;
    assert_eq!(status, 200, "{sent}");
    m.mark().await;
    let query =
        format!("apikey={KEY}&action=pbxware.sms.reports.list&server=59&start_date=Jan-01-2020&end_date=Dec-31-2099");
    let headers = HeaderMap::new();
    let resp =
        shared::inbound::api::action::respond(&service, &HttpRequest::new(&Method::GET, Some(&query), &headers, b""))
            .await;
    assert_eq!(body_json(&resp).as_object().map(|o| o.len()), Some(1), "{}", resp.body());
    let r = m.requests_since_mark(&[]).await;
    // Key and tenant from the cache the send filled; then the log.
    assert_eq!(r.dynamodb, counts(&[("Query", 1)]), "{r:?}");

    m.mark().await;
    let line = json!({"notification": {"messageId": sent["id"], "timestamp": "2026-11-27 10:00:00.000"},
                      "delivery": {"providerResponse": "Delivered"}, "status": "SUCCESS"})
    .to_string();
    let event = serde_json::to_value(shared::inbound::receipts::subscription_event(
        "sns/us-east-1/1/DirectPublishToPhoneNumber",
        &[line],
        0,
    ))
    .unwrap();
    let report = shared::inbound::receipts::process(&service, &event).await.expect("receipts");
    assert_eq!(report.applied, 1);
    let r = m.requests_since_mark(&[]).await;
    assert_eq!(r.dynamodb, counts(&[("Query", 1), ("UpdateItem", 1)]), "{r:?}");
}

/// A tenant item written before tenants carried their sender's entry: the
/// entry is read on its own, and the send goes out as before.
#[tokio::test]
async fn a_tenant_item_without_its_senders_entry_costs_one_more_read() {
    let to = "+14165557121";
    let Some((m, service)) = setup("+14165557122").await else { return };
    aws_sdk_dynamodb::Client::new(&m.aws)
        .update_item()
        .table_name(&m.table)
        .key("PK", AttributeValue::S("TENANT#59".to_owned()))
        .key("SK", AttributeValue::S("TENANT".to_owned()))
        .update_expression("REMOVE sender_entry")
        .send()
        .await
        .expect("UpdateItem");
    m.mark().await;
    action_send(&service, to).await;
    let r = m.requests_since_mark(&[to]).await;
    assert_eq!(r.dynamodb, counts(&[("UpdateItem", 1), ("BatchGetItem", 1), ("TransactWriteItems", 1)]), "{r:?}");
    assert_eq!(
        r.publishes[0].message_attribute("AWS.MM.SMS.OriginationNumber"),
        Some(("String".to_owned(), SENDER.to_owned()))
    );
}

/// The requests a cold start sends, by the access key that signed them.
async fn init_requests<N: shared::startup::Needs>(m: &Moto, tag: &str) -> BTreeMap<String, usize> {
    let key = format!("AKIAINIT{}{tag}", std::process::id());
    let aws = moto::sdk_config_as(&m.endpoint, &key).await;
    let settings =
        shared::startup::Settings::from_lookup(|n| (n == "SMS_TABLE_NAME").then(|| m.table.clone())).unwrap();
    settings.aws_service::<N>(&aws, &m.table).await;
    let mut out = BTreeMap::new();
    for r in moto::recording(&m.endpoint).await.into_iter().filter(|r| r.access_key == key) {
        *out.entry(format!("{:?} {}", r.service, r.operation)).or_default() += 1;
    }
    out
}

/// The pre-warm opens the connections a function uses, and no other: every
/// function reads DynamoDB; only those that send SMS ask SNS (the others'
/// roles may not, and their bootstraps carry no SNS client).
#[tokio::test]
async fn init_connects_only_what_the_function_uses() {
    use shared::startup::needs;
    let Some((m, _)) = setup("+14165550100").await else { return };
    let batch_get = ("DynamoDb BatchGetItem", 1);
    let sms_attributes = ("Sns GetSMSAttributes", 1);
    assert_eq!(init_requests::<needs::Sms>(&m, "SMS").await, counts(&[batch_get, sms_attributes]));
    assert_eq!(init_requests::<needs::SmsAndDetails>(&m, "TRIGGER").await, counts(&[batch_get, sms_attributes]));
    assert_eq!(init_requests::<needs::StoreOnly>(&m, "RECEIPTS").await, counts(&[batch_get]));
    assert_eq!(init_requests::<needs::Recordings>(&m, "LINKS").await, counts(&[batch_get]));
}
