//! Recording links that last: `{recording_url}` in a voicemail's SMS, a
//! token whose hash alone is stored, and at each click a fresh way to the
//! recording (on moto, a presigned S3 URL fetched back); expired and forged
//! links get clear errors. On both stores.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use async_trait::async_trait;
use integration_tests::{Backend, answer, backends, moto, request, s3_record, trigger};
use serde_json::json;
use shared::adapters::s3::S3Voicemails;
use shared::domain::RecordingLink;
use shared::ports::{Recording, Recordings, StoreError};
use shared::service::{LinkPolicy, Policy, Service};

const BASE: &str = "https://sms.example.com/r/";
const T0: i64 = 1_795_737_600;

fn config(template: &str) -> String {
    json!({
        "numbers": [{"number": "+14165550000", "tenant": "59", "sms_enabled": true}],
        "tenants": [{"id": "59", "active": true, "sender_number": "+14165550000", "api_enabled": true,
                     "voicemail_notifications": true, "voicemail_template": template}],
        "extensions": [{"tenant": "59", "extension": "1001", "sms_notifications": true, "sms_number": "+14165551234"}]
    })
    .to_string()
}

/// Where the embedded backend's links lead: a stand-in for S3 presigning.
struct Signed;

#[async_trait]
impl Recordings for Signed {
    async fn open(&self, link: &RecordingLink) -> Result<Option<Recording>, StoreError> {
        Ok(Some(Recording::Redirect(format!("https://signed.invalid/{}/{}", link.bucket, link.key))))
    }
}

/// The service with links on, the test clock, and recordings from moto's S3
/// (a bucket holding the object) or the stand-in.
async fn service(b: &Backend, clock: &Arc<AtomicI64>, bucket: &str) -> Service {
    let policy =
        Policy { recording_links: Some(LinkPolicy { base_url: BASE.to_owned(), days: 7 }), ..Policy::default() };
    let clock = clock.clone();
    let svc = Service::new(b.store.clone(), b.gateway.clone(), policy, clock.clone());
    match moto::endpoint().filter(|_| b.outbox.is_none()) {
        Some(endpoint) => {
            let aws = moto::sdk_config(&endpoint).await;
            let s3 =
                aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&aws).force_path_style(true).build());
            s3.create_bucket().bucket(bucket).send().await.expect("bucket");
            s3.put_object()
                .bucket(bucket)
                .key("voicemail/59/1001/msg.wav")
                .body(b"RIFF-audio".to_vec().into())
                .send()
                .await
                .expect("put");
            svc.with_recordings(Arc::new(S3Voicemails::new(&aws)))
        }
        None => svc.with_recordings(Arc::new(Signed)),
    }
}

fn voicemail(bucket: &str, sequencer: &str) -> serde_json::Value {
    let mut r = s3_record("voicemail/59/1001/msg.wav", sequencer);
    r["s3"]["bucket"]["name"] = json!(bucket);
    json!({"Records": [r]})
}

async fn click(svc: &Service, method: &str, path: &str) -> http::Response<lambda_http::Body> {
    recording_link::handler::handle(svc, request(method, path, &[], "")).await.unwrap()
}

fn body_json(resp: http::Response<lambda_http::Body>) -> (u16, serde_json::Value) {
    answer(resp)
}

#[tokio::test]
async fn a_voicemail_sms_carries_a_link_that_lasts_its_days() {
    for b in backends().await {
        b.apply(&config("New voicemail from {caller_id}: {recording_url}")).await;
        let clock = Arc::new(AtomicI64::new(T0));
        let bucket = moto::unique_table_name();
        let svc = service(&b, &clock, &bucket).await;
        assert_eq!(trigger(&svc, voicemail(&bucket, "01")).await.unwrap()["sent"], 1, "{}", b.name);
        let text = b.sent().await[0].text.clone();
        let token = text
            .strip_prefix(&format!("New voicemail from unknown: {BASE}"))
            .unwrap_or_else(|| panic!("{}: {text}", b.name));
        assert_eq!(token.len(), 22, "{text}");

        // Days later (longer than any Lambda session): a fresh redirect.
        clock.store(T0 + 6 * 86_400, Ordering::SeqCst);
        let resp = click(&svc, "GET", &format!("/r/{token}")).await;
        assert_eq!(resp.status(), 302, "{}", b.name);
        assert_eq!(resp.headers()["cache-control"], "no-store");
        let location = resp.headers()["location"].to_str().unwrap().to_owned();
        match b.outbox {
            Some(_) => assert_eq!(location, format!("https://signed.invalid/{bucket}/voicemail/59/1001/msg.wav")),
            None => {
                assert!(location.contains("X-Amz-Signature=") && location.contains("X-Amz-Expires=600"), "{location}");
                // The presigned URL opens the recording.
                let audio = reqwest_get(&location).await;
                assert_eq!(audio, b"RIFF-audio");
            }
        }
        // Past its days: expired. Never known, or no token at all: unknown.
        clock.store(T0 + 7 * 86_400, Ordering::SeqCst);
        assert_eq!(
            body_json(click(&svc, "GET", &format!("/r/{token}")).await),
            (410, json!({"error": "This recording link has expired"}))
        );
        let forged = shared::domain::LinkToken::generate();
        assert_eq!(
            body_json(click(&svc, "GET", &format!("/r/{}", forged.as_str())).await),
            (404, json!({"error": "Unknown recording link"}))
        );
        assert_eq!(
            body_json(click(&svc, "GET", "/r/not-a-token").await),
            (404, json!({"error": "Unknown recording link"}))
        );
        assert_eq!(
            body_json(click(&svc, "POST", &format!("/r/{token}")).await),
            (405, json!({"error": "Method not allowed"}))
        );
        assert_eq!(body_json(click(&svc, "GET", "/r/").await), (404, json!({"error": "Not found"})));
        // The store keeps the token's hash, never the token.
        if let Some(path) = &b.store_path {
            let bytes = std::fs::read(path).unwrap();
            assert!(!bytes.windows(token.len()).any(|w| w == token.as_bytes()), "the token is stored");
        }
    }
}

#[tokio::test]
async fn the_link_counts_in_the_segments_and_needs_an_object() {
    for b in backends().await {
        let clock = Arc::new(AtomicI64::new(T0));
        let bucket = moto::unique_table_name();
        // 1,500 characters and the link: over ten segments, so the guide's text.
        b.apply(&config(&format!("{} {{recording_url}}", "x".repeat(1_500)))).await;
        let svc = service(&b, &clock, &bucket).await;
        trigger(&svc, voicemail(&bucket, "01")).await.unwrap();
        assert_eq!(b.sent().await[0].text, "You have received a new voicemail.", "{}", b.name);
        // A PBX's own event names no object: the link reads unknown.
        b.apply(&config("Listen: {recording_url}")).await;
        let event = json!({"id": "e-1", "detail-type": "New Voicemail", "source": "pbx", "detail": {"tenant": "59", "extension": "1001"}});
        trigger(&svc, event).await.unwrap();
        assert_eq!(b.sent().await[1].text, "Listen: unknown", "{}", b.name);
    }
}

/// A GET with nothing but hyper (moto serves the presigned URL over HTTP).
async fn reqwest_get(url: &str) -> Vec<u8> {
    use http_body_util::{BodyExt, Empty};
    use hyper::body::Bytes;
    let client =
        hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new()).build_http::<Empty<Bytes>>();
    let resp = client.get(url.parse().unwrap()).await.unwrap();
    assert_eq!(resp.status(), 200, "{url}");
    resp.into_body().collect().await.unwrap().to_bytes().to_vec()
}
