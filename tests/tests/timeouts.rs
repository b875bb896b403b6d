//! Bounded AWS calls, over the wire: against an endpoint that accepts
//! connections and never answers, the APIs answer within the configured
//! timeouts and the trigger releases its claim; a hung `Publish` is
//! attempted once, a throttled one retried; S3 metadata that cannot be read
//! (deleted object, access denied, no answer) never blocks the SMS.

use std::sync::Arc;
use std::time::{Duration, Instant};

use integration_tests::endpoint::{Endpoint, sns_error, sns_published, xml};
use integration_tests::moto::{self, sdk_config_with};
use integration_tests::{Backend, answer, capture_logs, embedded, request, s3_record, trigger};
use serde_json::json;
use shared::adapters::dynamodb::DynamoStore;
use shared::adapters::s3::S3Voicemails;
use shared::adapters::sns::SnsGateway;
use shared::domain::{E164, MessageKind, MessageStatus, MessageText, TenantId};
use shared::ports::{GatewayError, OutgoingSms, SmsGateway};
use shared::service::{Policy, Service};
use shared::startup::AwsTimeouts;

const KEY: &str = "timeouts-key-59-00000001";
const CONFIG: &str = r#"{
  "numbers": [{"number": "+14165550000", "tenant": "59", "sms_enabled": true}],
  "tenants": [{"id": "59", "active": true, "sender_number": "+14165550000", "api_enabled": true,
               "voicemail_notifications": true, "voicemail_template": "VM on {extension} from {caller_id} ({duration})"}],
  "extensions": [{"tenant": "59", "extension": "1001", "sms_notifications": true, "sms_number": "+14165551234"}],
  "api_keys": [{"name": "t", "secret": "timeouts-key-59-00000001", "tenants": ["59"], "permissions": ["sms"]}]
}"#;

/// Short bounds, so that a hung call fails fast here.
const SHORT: AwsTimeouts = AwsTimeouts { connect_ms: 200, attempt_ms: 300, operation_ms: 500 };

/// Well inside any function's timeout, and far above the bounds above.
const WELL_INSIDE: Duration = Duration::from_secs(5);

fn policy(check_opt_out: bool) -> Policy {
    Policy { check_opt_out, ..Policy::default() }
}

/// Room for the SDK's retries within the operation: what is attempted once
/// is so by choice.
const ROOM: AwsTimeouts = AwsTimeouts { connect_ms: 200, attempt_ms: 300, operation_ms: 3_000 };

async fn gateway_at(url: &str) -> Arc<SnsGateway> {
    Arc::new(SnsGateway::new(&sdk_config_with(url, ROOM).await, shared::adapters::clock::system()))
}

async fn rest_send(svc: &Service) -> (u16, serde_json::Value) {
    let body = json!({"to": "+14165551234", "message": "hi"}).to_string();
    answer(
        send_sms::handler::handle(svc, request("POST", "/api/sms/send", &[("x-api-key", KEY)], &body)).await.unwrap(),
    )
}

async fn embedded_with(gateway: Arc<dyn SmsGateway>, check_opt_out: bool) -> (Backend, Service) {
    let b = embedded();
    b.apply(CONFIG).await;
    let svc = Service::new(b.store.clone(), gateway, policy(check_opt_out), shared::adapters::clock::system());
    (b, svc)
}

#[tokio::test]
async fn a_hung_sns_answers_502_in_time_and_publish_is_tried_once() {
    for check_opt_out in [true, false] {
        let silent = Endpoint::silent().await;
        let (b, svc) = embedded_with(gateway_at(&silent.url).await, check_opt_out).await;
        let started = Instant::now();
        let (status, body) = rest_send(&svc).await;
        assert!(started.elapsed() < WELL_INSIDE, "{:?}", started.elapsed());
        assert_eq!((status, body), (502, json!({"error": "SMS provider is unavailable"})));
        // The opt-out question is a read, retried within the bound; a
        // Publish that may have reached SNS is not sent again.
        let received = silent.received();
        let publishes = received.iter().filter(|r| r.body.contains("Action=Publish")).count();
        if check_opt_out {
            assert!(!received.is_empty() && publishes == 0, "{received:?}");
        } else {
            assert_eq!((received.len(), publishes), (1, 1), "{received:?}");
        }
        let log = b.admin.messages(None, 10).await.unwrap();
        assert_eq!((log.len(), log[0].status), (1, MessageStatus::Failed));
    }
}

#[tokio::test]
async fn a_hung_dynamodb_answers_a_generic_500_in_time() {
    let silent = Endpoint::silent().await;
    let store = Arc::new(DynamoStore::new(&sdk_config_with(&silent.url, SHORT).await, "sms"));
    let b = embedded();
    let svc = Service::new(store, b.gateway.clone(), Policy::default(), shared::adapters::clock::system());
    let (logs, guard) = capture_logs();
    let started = Instant::now();
    let (status, body) = rest_send(&svc).await;
    drop(guard);
    assert!(started.elapsed() < WELL_INSIDE, "{:?}", started.elapsed());
    assert_eq!((status, body), (500, json!({"error": "Internal error"})));
    assert!(logs.text().contains("BatchGetItem"), "the cause goes to the log: {}", logs.text());
    assert_eq!(b.gateway.attempts(), 0);
}

#[tokio::test]
async fn a_hung_publish_releases_the_voicemails_claim_at_once() {
    let silent = Endpoint::silent().await;
    let (b, svc) = embedded_with(gateway_at(&silent.url).await, false).await;
    let event = json!({"Records": [s3_record("voicemail/59/1001/hung.wav", "01")]});
    let started = Instant::now();
    let failed = trigger(&svc, event.clone()).await;
    assert!(started.elapsed() < WELL_INSIDE, "{:?}", started.elapsed());
    assert!(failed.unwrap_err().contains("will be retried"));
    // Released: the platform's retry sends it at once, no lease to wait out.
    let healthy = Service::new(b.store.clone(), b.gateway.clone(), policy(false), shared::adapters::clock::system());
    assert_eq!(trigger(&healthy, event.clone()).await.unwrap()["sent"], 1);
    assert_eq!(trigger(&healthy, event).await.unwrap()["duplicates"], 1);
    let log = b.admin.messages(None, 10).await.unwrap();
    assert_eq!(log.iter().map(|m| (m.status, m.attempts)).collect::<Vec<_>>(), [(MessageStatus::Sent, 2)]);
}

#[tokio::test]
async fn publish_is_retried_only_when_sns_throttled_it() {
    let (from, to, text, tenant) = (
        E164::parse("+14165550000").unwrap(),
        E164::parse("+14165551234").unwrap(),
        MessageText::new("hi").unwrap(),
        TenantId::parse("59").unwrap(),
    );
    let sms = OutgoingSms { tenant: &tenant, kind: MessageKind::Api, from: &from, to: &to, text: &text };
    // Throttled, then taken: the SDK retried, one SMS.
    let patient = AwsTimeouts { operation_ms: 10_000, ..SHORT };
    let throttled =
        Endpoint::scripted(vec![sns_error("400 Bad Request", "Throttling", "Rate exceeded"), sns_published("m-1")])
            .await;
    let gateway = SnsGateway::new(&sdk_config_with(&throttled.url, patient).await, shared::adapters::clock::system());
    assert_eq!(gateway.send(sms).await, Ok("m-1".to_owned()));
    assert_eq!(throttled.received().len(), 2);
    // A 5xx may have been taken: not retried, unavailable.
    let failing =
        Endpoint::scripted(vec![sns_error("500 Internal Server Error", "InternalError", "oops"), sns_published("m-2")])
            .await;
    let gateway = SnsGateway::new(&sdk_config_with(&failing.url, patient).await, shared::adapters::clock::system());
    assert!(matches!(gateway.send(sms).await, Err(GatewayError::Unavailable(_))));
    assert_eq!(failing.received().len(), 1);
    // The opt-out question is a read: the SDK retries it as usual.
    let read = Endpoint::scripted(vec![
        sns_error("500 Internal Server Error", "InternalError", "oops"),
        xml("200 OK", "<CheckIfPhoneNumberIsOptedOutResponse><CheckIfPhoneNumberIsOptedOutResult><isOptedOut>false</isOptedOut></CheckIfPhoneNumberIsOptedOutResult></CheckIfPhoneNumberIsOptedOutResponse>"),
    ])
    .await;
    let gateway = SnsGateway::new(&sdk_config_with(&read.url, patient).await, shared::adapters::clock::system());
    assert_eq!(gateway.opted_out(&to).await, Ok(false));
    assert_eq!(read.received().len(), 2);
}

/// The voicemail's SMS with S3 metadata read through `details`.
async fn voicemail_text(details: S3Voicemails) -> (String, String) {
    let b = embedded();
    b.apply(CONFIG).await;
    let svc = b.service().with_details(Arc::new(details));
    let (logs, guard) = capture_logs();
    let answer = trigger(&svc, json!({"Records": [s3_record("voicemail/59/1001/gone.wav", "01")]})).await.unwrap();
    drop(guard);
    assert_eq!(answer["sent"], 1, "{answer}");
    (b.sent().await[0].text.clone(), logs.text())
}

#[tokio::test]
async fn unreadable_metadata_never_blocks_the_sms() {
    // Access denied (and what S3 answers for a deleted object when the role
    // lacks s3:ListBucket), then no answer at all.
    for endpoint in [
        Endpoint::scripted(vec!["HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n".to_owned()]).await,
        Endpoint::silent().await,
    ] {
        let details = S3Voicemails::new(&sdk_config_with(&endpoint.url, SHORT).await);
        let started = Instant::now();
        let (text, logs) = voicemail_text(details).await;
        assert!(started.elapsed() < WELL_INSIDE, "{:?}", started.elapsed());
        assert_eq!(text, "VM on 1001 from unknown (unknown)");
        assert!(logs.contains("voicemail details unreadable"), "{logs}");
        // A read: the SDK may retry it within the bound.
        let received = endpoint.received();
        assert!(!received.is_empty(), "{received:?}");
        assert!(
            received.iter().all(|r| r.line.starts_with("HEAD /pbx-voicemail/voicemail/59/1001/gone.wav")),
            "{received:?}"
        );
    }
}

#[tokio::test]
async fn a_deleted_object_on_moto_sends_with_unknown_details() {
    let Some(endpoint) = moto::endpoint() else { return };
    let aws = moto::sdk_config(&endpoint).await;
    let s3 = aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&aws).force_path_style(true).build());
    let bucket = moto::unique_table_name();
    s3.create_bucket().bucket(&bucket).send().await.expect("bucket");
    let key = "voicemail/59/1001/gone.wav";
    s3.put_object()
        .bucket(&bucket)
        .key(key)
        .metadata("caller-id", "+14165559876")
        .metadata("duration", "75")
        .body(b"RIFF".to_vec().into())
        .send()
        .await
        .expect("put");
    let b = embedded();
    b.apply(CONFIG).await;
    let svc = b.service().with_details(Arc::new(S3Voicemails::new(&aws)));
    let event = |name: &str| {
        let mut r = s3_record(&format!("voicemail/59/1001/{name}"), "01");
        r["s3"]["bucket"]["name"] = json!(bucket);
        json!({"Records": [r]})
    };
    // While it is there, its metadata fills the template.
    assert_eq!(trigger(&svc, event("gone.wav")).await.unwrap()["sent"], 1);
    s3.delete_object().bucket(&bucket).key(key).send().await.expect("delete");
    let mut again = event("gone.wav");
    again["Records"][0]["s3"]["object"]["sequencer"] = json!("02");
    let (logs, guard) = capture_logs();
    assert_eq!(trigger(&svc, again).await.unwrap()["sent"], 1);
    drop(guard);
    let texts: Vec<String> = b.sent().await.into_iter().map(|s| s.text).collect();
    assert_eq!(texts, ["VM on 1001 from +14165559876 (1:15)", "VM on 1001 from unknown (unknown)"]);
    assert!(logs.text().contains("voicemail details unreadable"), "{}", logs.text());
}
