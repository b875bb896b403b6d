//! Voicemail text: the tenant's template, filled from the event or from the
//! object's metadata (read only when the template needs it), or the guide's
//! default text.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use integration_tests::{embedded, s3_record, trigger};
use serde_json::json;
use shared::ports::{DetailsSource, Voicemail};

/// Stands in for S3 HeadObject, counting its reads.
#[derive(Default)]
struct Metadata(AtomicUsize);

#[async_trait]
impl DetailsSource for Metadata {
    async fn complete(&self, vm: &mut Voicemail) {
        self.0.fetch_add(1, Ordering::SeqCst);
        vm.details.or_caller_id(Some("+14165557777"));
        vm.details.or_duration_secs(Some(65));
    }
}

fn config(template: Option<&str>) -> String {
    json!({
        "numbers": [{"number": "+14165550000", "tenant": "59", "sms_enabled": true}],
        "tenants": [{"id": "59", "active": true, "sender_number": "+14165550000", "api_enabled": true,
                     "voicemail_notifications": true, "voicemail_template": template}],
        "extensions": [{"tenant": "59", "extension": "1001", "sms_notifications": true, "sms_number": "+14165551234"}]
    })
    .to_string()
}

async fn text_for(template: Option<&str>, event: serde_json::Value) -> (String, usize) {
    let b = embedded();
    b.apply(&config(template)).await;
    let metadata = Arc::new(Metadata::default());
    let svc = b.service().with_details(metadata.clone());
    let answer = trigger(&svc, event).await.unwrap();
    assert_eq!(answer["sent"], 1, "{answer}");
    (b.sent().await[0].text.clone(), metadata.0.load(Ordering::SeqCst))
}

fn s3() -> serde_json::Value {
    json!({ "Records": [s3_record("voicemail/59/1001/msg0001.wav", "01")] })
}

#[tokio::test]
async fn default_text_without_a_template_and_no_metadata_read() {
    assert_eq!(text_for(None, s3()).await, ("You have received a new voicemail.".to_owned(), 0));
    let only_ext = text_for(Some("New voicemail on {extension}"), s3()).await;
    assert_eq!(only_ext, ("New voicemail on 1001".to_owned(), 0));
}

#[tokio::test]
async fn metadata_fills_the_template_when_it_needs_it() {
    let t = "VM {extension} from {caller_id}, {duration}, at {received_at}";
    let (text, reads) = text_for(Some(t), s3()).await;
    assert_eq!(text, "VM 1001 from +14165557777, 1:05, at 2026-11-26T10:00:00Z");
    assert_eq!(reads, 1);
}

#[tokio::test]
async fn new_voicemail_events_carry_their_own_details() {
    let event = json!({"id": "e1", "detail-type": "New Voicemail", "source": "pbx", "time": "2026-11-26T10:00:00Z",
        "detail": {"tenant": "59", "extension": "1001", "caller_id": "+14165559876", "duration": "42"}});
    let (text, _) = text_for(Some("{caller_id} left {duration} for {extension} at {received_at}"), event).await;
    assert_eq!(text, "+14165559876 left 0:42 for 1001 at 2026-11-26T10:00:00Z");
}

#[tokio::test]
async fn a_template_that_renders_too_long_falls_back_to_the_default() {
    let long = format!("{}{{extension}}", "x".repeat(1600));
    let (text, _) = text_for(Some(&long), s3()).await;
    assert_eq!(text, "You have received a new voicemail.");
}

#[tokio::test]
async fn unknown_placeholders_are_refused_when_applied() {
    let e = shared::service::config::Config::from_json(&config(Some("Hi {name}"))).unwrap_err();
    assert_eq!(e.path, "$.tenants[0].voicemail_template");
    assert!(e.message.starts_with("unknown placeholder {name}"), "{}", e.message);
}
