//! The voicemail trigger: keys, skips, failures and retries, exactly once.

use integration_tests::{Backend, backends, backends_solo, capture_logs, s3_record, sqs_batch, trigger};
use serde_json::json;

const CONFIG: &str = r#"{
  "numbers": [{"number": "+14165550000", "tenant": "*", "sms_enabled": true}],
  "tenants": [
    {"id": "59", "active": true, "sender_number": "+14165550000", "api_enabled": false, "voicemail_notifications": true,
     "rate_limits": {"per_minute": 100000, "per_day": 100000},
     "voicemail_rate_limits": {"per_minute": 100000, "per_day": 100000}},
    {"id": "60", "active": false, "sender_number": "+14165550000", "api_enabled": true, "voicemail_notifications": true},
    {"id": "61", "active": true, "sender_number": "+14165550000", "api_enabled": true, "voicemail_notifications": false},
    {"id": "62", "active": true, "api_enabled": true, "voicemail_notifications": true}
  ],
  "extensions": [
    {"tenant": "59", "extension": "1001", "sms_notifications": true, "sms_number": "+14165551234"},
    {"tenant": "59", "extension": "1002", "sms_notifications": false, "sms_number": "+14165551234"},
    {"tenant": "59", "extension": "1003", "sms_notifications": true},
    {"tenant": "60", "extension": "1001", "sms_notifications": true, "sms_number": "+14165551234"},
    {"tenant": "61", "extension": "1001", "sms_notifications": true, "sms_number": "+14165551234"},
    {"tenant": "62", "extension": "1001", "sms_notifications": true, "sms_number": "+14165551234"}
  ]
}"#;

async fn setup() -> Vec<Backend> {
    configured(backends().await).await
}

async fn configured(all: Vec<Backend>) -> Vec<Backend> {
    for b in &all {
        b.apply(CONFIG).await;
        // Extensions 2000..2009 with their own destinations, for batches.
        let extensions: Vec<String> = (0..10)
            .map(|i| format!(r#"{{"tenant": "59", "extension": "20{i:02}", "sms_notifications": true, "sms_number": "+1416555{:04}"}}"#, 2000 + i))
            .collect();
        b.apply(&format!(r#"{{"extensions": [{}]}}"#, extensions.join(","))).await;
    }
    all
}

fn direct(records: &[serde_json::Value]) -> serde_json::Value {
    json!({ "Records": records })
}

#[tokio::test]
async fn url_encoded_keys_are_decoded() {
    for b in setup().await {
        let svc = b.service();
        // A space arrives as '+', a '+' as %2B.
        let answer = trigger(&svc, direct(&[s3_record("voicemail/59/1001/msg+from+%2B1416.wav", "01")])).await.unwrap();
        assert_eq!(answer, json!({ "sent": 1, "skipped": 0, "duplicates": 0 }));
        // Same object, key encoded differently by another path: same voicemail.
        let again =
            trigger(&svc, direct(&[s3_record("voicemail/59/1001/msg%20from%20%2B1416.wav", "01")])).await.unwrap();
        assert_eq!(again["duplicates"], 1);
        let encoded_ids = trigger(&svc, direct(&[s3_record("voicemail/%35%39/1001/a.wav", "02")])).await.unwrap();
        assert_eq!(encoded_ids["sent"], 1);
        assert_eq!(b.sent().await.len(), 2, "{}", b.name);
    }
}

#[tokio::test]
async fn what_does_not_qualify_is_skipped_with_its_reason_logged() {
    for b in setup().await {
        let svc = b.service();
        let cases = [
            ("voicemail/59/1001/greeting.txt", "is not an audio file"),
            ("voicemail/59/1001/msg0001", "is not an audio file"),
            ("recordings/59/1001/msg0001.wav", "is not under the voicemail prefix"),
            ("voicemail/59/1001/INBOX/msg0001.wav", "is not laid out as voicemail/<tenant>/<extension>/<file>"),
            ("voicemail/59%23EXT%231/1001/m.wav", "tenant is not a tenant id of 1 to 10 digits"),
            ("voicemail/59/..%2F1001/m.wav", "is not laid out"),
            ("voicemail/99/1001/m.wav", "Unknown tenant: 99"),
            ("voicemail/60/1001/m.wav", "SMS notifications are not active for this tenant"),
            ("voicemail/61/1001/m.wav", "Voicemail SMS notifications are disabled"),
            ("voicemail/62/1001/m.wav", "Invalid or missing sender SMS number"),
            ("voicemail/59/1009/m.wav", "Unknown extension: 1009"),
            ("voicemail/59/1002/m.wav", "SMS notifications are disabled for this extension"),
            ("voicemail/59/1003/m.wav", "Destination does not have an assigned SMS number"),
        ];
        for (key, reason) in cases {
            let (logs, guard) = capture_logs();
            let answer = trigger(&svc, direct(&[s3_record(key, "01")])).await.unwrap();
            drop(guard);
            assert_eq!(answer, json!({ "sent": 0, "skipped": 1, "duplicates": 0 }), "{key}");
            assert!(logs.text().contains(reason), "{key}: {reason} not in {}", logs.text());
        }
        // Other S3 events, S3's test event, and junk in a queue: skipped, not retried.
        let removed = json!({"Records": [{"eventSource": "aws:s3", "eventName": "ObjectRemoved:Delete", "s3": {}}]});
        assert_eq!(trigger(&svc, removed).await.unwrap()["skipped"], 1);
        let test_event = sqs_batch(&[json!({"Service": "Amazon S3", "Event": "s3:TestEvent"})]);
        let test_event = json!({"Records": [{"messageId": "t", "eventSource": "aws:sqs", "body": test_event["Records"][0]["body"].as_str().unwrap().replace("{\"Records\":[", "").trim_end_matches("]}").to_owned()}]});
        assert_eq!(trigger(&svc, test_event).await.unwrap(), json!({ "batchItemFailures": [] }));
        let junk = json!({"Records": [{"messageId": "j", "eventSource": "aws:sqs", "body": "not json"}]});
        assert_eq!(trigger(&svc, junk).await.unwrap(), json!({ "batchItemFailures": [] }));
        let (status, _) = (trigger(&svc, json!({"hello": "world"})).await.unwrap(), ());
        assert_eq!(status["skipped"], 1);
        assert!(b.gateway.accepted().is_empty(), "{}", b.name);
        assert_eq!(b.gateway.attempts(), 0);
    }
}

#[tokio::test]
async fn same_event_five_times_also_concurrently_is_one_sms() {
    for b in setup().await {
        let svc = b.service();
        let event = direct(&[s3_record("voicemail/59/1001/msg0001.wav", "0A")]);
        for _ in 0..5 {
            trigger(&svc, event.clone()).await.unwrap();
        }
        // Five at once: one sends; the others find its claim pending and
        // fail, so that the platform delivers them again; then they are
        // duplicates.
        let concurrent = direct(&[s3_record("voicemail/59/1001/msg0002.wav", "0B")]);
        let runs = (0..5).map(|_| trigger(&svc, concurrent.clone()));
        let answers = futures_util::future::join_all(runs).await;
        let sent: i64 = answers.iter().filter_map(|a| a.as_ref().ok()).map(|a| a["sent"].as_i64().unwrap()).sum();
        assert_eq!(sent, 1, "{}: {answers:?}", b.name);
        for a in &answers {
            match a {
                Ok(a) => assert_eq!(a["sent"].as_i64().unwrap() + a["duplicates"].as_i64().unwrap(), 1, "{a}"),
                Err(e) => assert!(e.contains("will be retried"), "{e}"),
            }
        }
        for _ in 0..5 {
            assert_eq!(trigger(&svc, concurrent.clone()).await.unwrap()["duplicates"], 1, "{}", b.name);
        }
        // EventBridge New Voicemail without a message id: its event id names it.
        let nv = json!({"id": "evt-1", "detail-type": "New Voicemail", "source": "pbx", "detail": {"tenant": "59", "extension": "1001"}});
        for _ in 0..5 {
            trigger(&svc, nv.clone()).await.unwrap();
        }
        assert_eq!(b.sent().await.len(), 3, "{}", b.name);
    }
}

#[tokio::test]
async fn a_failed_send_is_reported_and_sent_once_on_retry() {
    for b in setup().await {
        let svc = b.service();
        let event = direct(&[s3_record("voicemail/59/1001/msg0003.wav", "0C")]);
        b.gateway.fail_next(1);
        let first = trigger(&svc, event.clone()).await;
        assert!(first.unwrap_err().contains("could not be sent and will be retried"), "{}", b.name);
        assert_eq!(b.sent().await.len(), 0);
        let retry = trigger(&svc, event.clone()).await.unwrap();
        assert_eq!(retry["sent"], 1);
        assert_eq!(trigger(&svc, event).await.unwrap()["duplicates"], 1);
        assert_eq!(b.sent().await.len(), 1, "{}", b.name);
        // The message log holds the voicemail once, sent at the second attempt.
        let log = b.admin.messages(None, 10).await.unwrap();
        let entries: Vec<(&str, u32)> = log.iter().map(|m| (m.status.as_str(), m.attempts)).collect();
        assert_eq!(entries, [("sent", 2)], "{}", b.name);
    }
}

#[tokio::test]
async fn a_batch_of_ten_with_three_failing_reports_exactly_those() {
    for b in setup().await {
        let svc = b.service();
        let records: Vec<_> = (0..10).map(|i| s3_record(&format!("voicemail/59/20{i:02}/m.wav"), "01")).collect();
        b.gateway.fail_to(&["+14165552002", "+14165552005", "+14165552009"]);
        let answer = trigger(&svc, sqs_batch(&records)).await.unwrap();
        assert_eq!(
            answer,
            json!({ "batchItemFailures": [{"itemIdentifier": "m2"}, {"itemIdentifier": "m5"}, {"itemIdentifier": "m9"}] }),
            "{}",
            b.name
        );
        assert_eq!(b.sent().await.len(), 7);
        // SQS redelivers the whole batch's failures only; here the whole batch again.
        b.gateway.fail_to(&[]);
        let again = trigger(&svc, sqs_batch(&records)).await.unwrap();
        assert_eq!(again, json!({ "batchItemFailures": [] }));
        let sent = b.sent().await;
        assert_eq!(sent.len(), 10, "{}", b.name);
        let mut to: Vec<&str> = sent.iter().map(|s| s.to.as_str()).collect();
        to.sort();
        to.dedup();
        assert_eq!(to.len(), 10, "none twice");
    }
}

#[tokio::test]
async fn a_thousand_voicemails_with_ten_percent_failures_give_a_thousand_sms() {
    // Its thousands of requests on a moto server of their own.
    for b in configured(backends_solo().await).await {
        let svc = b.service();
        b.gateway.fail_every(10);
        let mut pending: Vec<_> = (0..1000)
            .map(|i| s3_record(&format!("voicemail/59/20{:02}/msg{i:04}.wav", i % 10), &format!("{i:08X}")))
            .collect();
        let mut rounds = 0;
        while !pending.is_empty() {
            rounds += 1;
            assert!(rounds < 50, "does not converge");
            let mut failed = Vec::new();
            for batch in pending.chunks(10) {
                let answer = trigger(&svc, sqs_batch(batch)).await.unwrap();
                for f in answer["batchItemFailures"].as_array().unwrap() {
                    let i: usize = f["itemIdentifier"].as_str().unwrap()[1..].parse().unwrap();
                    failed.push(batch[i].clone());
                }
            }
            pending = failed;
        }
        let sent = b.sent().await;
        assert_eq!(sent.len(), 1000, "{}", b.name);
        assert!(b.gateway.attempts() > 1000, "failures were injected");
        let log = b.admin.messages(None, 5000).await.unwrap();
        assert_eq!(log.iter().filter(|m| m.status.as_str() == "sent").count(), 1000);
    }
}
