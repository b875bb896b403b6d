//! Delivery receipts: SNS's SMS delivery status records (the documented
//! format), in CloudWatch Logs subscription events (Base64 of gzip), through
//! the delivery-status function's handler, on both stores.

use integration_tests::{Backend, answer, backends, capture_logs, request};
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{Value, json};
use shared::domain::{DeliveryReceipt, MessageStatus};
use shared::inbound::receipts::log_group;

/// The subscription event the local outbox hands out, as the JSON Lambda gets.
fn subscription_event(group: &str, lines: &[String], timestamp_ms: i64) -> Value {
    serde_json::to_value(shared::inbound::receipts::subscription_event(group, lines, timestamp_ms)).unwrap()
}

const CONFIG: &str = r#"{
  "numbers": [{"number": "+14165550000", "tenant": "59", "sms_enabled": true}],
  "tenants": [{"id": "59", "active": true, "sender_number": "+14165550000", "api_enabled": true, "voicemail_notifications": true}],
  "api_keys": [{"name": "r", "secret": "receipts-key-59-0000001", "tenants": ["59"], "permissions": ["sms"]}]
}"#;

/// SNS's documented records (developer guide, "SMS delivery monitoring"),
/// with this message id.
fn success(id: &str) -> String {
    json!({"notification": {"messageId": id, "timestamp": "2026-11-27 10:00:01.5"},
           "delivery": {"phoneCarrier": "My Phone Carrier", "mnc": 270, "destination": "+14165551234", "priceInUSD": 0.00645,
                        "smsType": "Transactional", "mcc": 310, "providerResponse": "Message has been accepted by phone carrier",
                        "dwellTimeMs": 599, "dwellTimeMsUntilDeviceAck": 1344},
           "status": "SUCCESS"}).to_string()
}

fn failure(id: &str) -> String {
    json!({"notification": {"messageId": id, "timestamp": "2026-11-27 10:00:02.559"},
           "delivery": {"mnc": 0, "destination": "+14165551234", "priceInUSD": 0.00645, "smsType": "Transactional", "mcc": 0,
                        "providerResponse": "Unknown error attempting to reach phone", "dwellTimeMs": 1420,
                        "dwellTimeMsUntilDeviceAck": 1692},
           "status": "FAILURE"}).to_string()
}

async fn send(b: &Backend, to: &str) -> String {
    let body = json!({"to": to, "message": "hi"}).to_string();
    let req = request("POST", "/api/sms/send", &[("x-api-key", "receipts-key-59-0000001")], &body);
    let (status, answer) = answer(send_sms::handler::handle(&b.service(), req).await.unwrap());
    assert_eq!(status, 200, "{answer}");
    answer["id"].as_str().unwrap().to_owned()
}

async fn deliver(b: &Backend, event: Value) -> Result<Value, String> {
    delivery_status::handler::handle(&b.service(), LambdaEvent::new(event, Context::default()))
        .await
        .map(|report| serde_json::to_value(report).unwrap())
        .map_err(|e| e.to_string())
}

async fn entry(b: &Backend, provider_id: &str) -> shared::domain::MessageRecord {
    let log = b.admin.messages(None, 100).await.unwrap();
    log.into_iter().find(|m| m.provider_id.as_deref() == Some(provider_id)).expect("the message is logged")
}

#[tokio::test]
async fn receipts_move_messages_to_delivered_or_failed() {
    let group = log_group("us-east-1", "123456789012");
    for b in backends().await {
        b.apply(CONFIG).await;
        let (ok, bad) = (send(&b, "+14165551234").await, send(&b, "+14165551235").await);
        let event = subscription_event(&group, &[success(&ok)], 1_795_000_000_000);
        // As CloudWatch Logs sends it: the records gzip-compressed, in Base64.
        assert!(event["awslogs"]["data"].as_str().unwrap().starts_with("H4sI"), "{event}");
        assert_eq!(
            deliver(&b, event).await.unwrap(),
            json!({"applied": 1, "unknown": 0, "repeated": 0, "malformed": 0})
        );
        let m = entry(&b, &ok).await;
        assert_eq!(m.status, MessageStatus::Delivered, "{}", b.name);
        assert_eq!(
            m.receipt,
            Some(DeliveryReceipt {
                delivered: true,
                response: "Message has been accepted by phone carrier".into(),
                price_usd: Some("0.00645".into()),
                at: 1_795_773_601,
            }),
            "{}",
            b.name
        );

        let failed = subscription_event(&format!("{group}/Failure"), &[failure(&bad)], 1_795_000_000_000);
        assert_eq!(deliver(&b, failed).await.unwrap()["applied"], 1);
        let m = entry(&b, &bad).await;
        assert_eq!(
            (m.status, m.error.as_deref()),
            (MessageStatus::Failed, Some("Unknown error attempting to reach phone")),
            "{}",
            b.name
        );
    }
}

#[tokio::test]
async fn unknown_repeated_and_malformed_receipts_are_logged_and_dropped() {
    let group = log_group("us-east-1", "123456789012");
    for b in backends().await {
        b.apply(CONFIG).await;
        let id = send(&b, "+14165551236").await;
        let lines = [
            success(&id),
            success(&id),
            success("7b5b3a8e-0000-4000-8000-000000000000"),
            "not json".to_owned(),
            failure(&id),
        ];
        let (logs, guard) = capture_logs();
        let answer = deliver(&b, subscription_event(&group, &lines, 1_795_000_000_000)).await.unwrap();
        drop(guard);
        // The first applies; the rest are repeats (a failure after a success
        // too: the first receipt stands), one unknown, one malformed.
        assert_eq!(answer, json!({"applied": 1, "unknown": 1, "repeated": 2, "malformed": 1}), "{}", b.name);
        assert_eq!(entry(&b, &id).await.status, MessageStatus::Delivered);
        for said in
            ["delivery receipt for no message we know", "delivery receipt already applied", "delivery receipt dropped"]
        {
            assert!(logs.text().contains(said), "{said}: {}", logs.text());
        }
        // Not an event of ours at all, and CloudWatch's control message:
        // answered, never failed (a failure would be retried).
        assert_eq!(deliver(&b, json!({"hello": "world"})).await.unwrap()["malformed"], 1);
        assert_eq!(deliver(&b, json!({"awslogs": {"data": "not base64 gzip"}})).await.unwrap()["malformed"], 1);
        assert_eq!(
            deliver(&b, control_message()).await.unwrap(),
            json!({"applied": 0, "unknown": 0, "repeated": 0, "malformed": 0})
        );
    }
}

/// A control message (CloudWatch Logs checking the destination), gzip in
/// Base64 as sent.
fn control_message() -> Value {
    use base64::Engine;
    use std::io::Write;
    let data = json!({"messageType": "CONTROL_MESSAGE", "owner": "CloudwatchLogs", "logGroup": "", "logStream": "",
                      "subscriptionFilters": [], "logEvents": [{"id": "", "timestamp": 1525983444232_i64,
                      "message": "CWL CONTROL MESSAGE: Checking health of destination Firehose."}]});
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gzip.write_all(data.to_string().as_bytes()).unwrap();
    json!({"awslogs": {"data": base64::engine::general_purpose::STANDARD.encode(gzip.finish().unwrap())}})
}

/// The fixture of the AWS Lambda docs (and aws_lambda_events): a real
/// subscription event whose records are no receipts.
#[tokio::test]
async fn the_documented_subscription_event_decodes() {
    let b = integration_tests::embedded();
    let event = json!({"awslogs": {"data": "H4sIAAAAAAAAAHWPwQqCQBCGX0Xm7EFtK+smZBEUgXoLCdMhFtKV3akI8d0bLYmibvPPN3wz00CJxmQnTO41whwWQRIctmEcB6sQbFC3CjW3XW8kxpOpP+OC22d1Wml1qZkQGtoMsScxaczKN3plG8zlaHIta5KqWsozoTYw3/djzwhpLwivWFGHGpAFe7DL68JlBUk+l7KSN7tCOEJ4M3/qOI49vMHj+zCKdlFqLaU2ZHV2a4Ct/an0/ivdX8oYc1UVX860fQDQiMdxRQEAAA=="}});
    assert_eq!(deliver(&b, event).await.unwrap(), json!({"applied": 0, "unknown": 0, "repeated": 0, "malformed": 2}));
}

#[tokio::test]
async fn a_subscription_event_that_decompresses_past_its_bound_is_dropped_unread() {
    use base64::Engine;
    use std::io::Write;
    let b = integration_tests::embedded();
    // 100 MB of zeros, gzip-compressed to about 100 KB: a gzip bomb.
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..100 {
        gzip.write_all(&zeros).unwrap();
    }
    let bomb = gzip.finish().unwrap();
    assert!(bomb.len() < 200_000, "{}", bomb.len());
    let event = json!({"awslogs": {"data": base64::engine::general_purpose::STANDARD.encode(&bomb)}});
    let (logs, guard) = capture_logs();
    let started = std::time::Instant::now();
    assert_eq!(deliver(&b, event).await.unwrap(), json!({"applied": 0, "unknown": 0, "repeated": 0, "malformed": 1}));
    drop(guard);
    assert!(started.elapsed() < std::time::Duration::from_secs(2), "{:?}", started.elapsed());
    assert!(logs.text().contains("its data decompresses past 8388608 bytes"), "{}", logs.text());
}
