//! The service's metrics, as the EMF lines a function prints: one per
//! event, named and dimensioned as documented, and never a phone number,
//! a key or a text.

use std::sync::{Arc, Mutex};

use integration_tests::{answer, embedded, request, s3_record, trigger};
use serde_json::{Value, json};
use shared::adapters::emf::Emf;
use shared::ports::{Event, Metrics};

/// Keeps the EMF line of every event.
#[derive(Default)]
struct Lines(Mutex<Vec<String>>);

impl Metrics for Lines {
    fn record(&self, event: &Event<'_>) {
        self.0.lock().unwrap().push(Emf::new("send-sms", shared::adapters::clock::system()).line(event, 1));
    }
}

const CONFIG: &str = r#"{
  "numbers": [{"number": "+14165550000", "tenant": "59", "sms_enabled": true}],
  "tenants": [{"id": "59", "active": true, "sender_number": "+14165550000", "api_enabled": true,
               "voicemail_notifications": true, "rate_limits": {"per_minute": 3, "per_day": 100}}],
  "extensions": [{"tenant": "59", "extension": "1001", "sms_notifications": true, "sms_number": "+14165551234"}],
  "api_keys": [{"name": "m", "secret": "metrics-key-59-00000001", "tenants": ["59"], "permissions": ["sms"]}]
}"#;

#[tokio::test]
async fn each_outcome_is_counted_without_personal_data() {
    let b = embedded();
    b.apply(CONFIG).await;
    let lines = Arc::new(Lines::default());
    let svc = b.service().with_metrics(lines.clone());
    let send = |to: &str| {
        request(
            "POST",
            "/api/sms/send",
            &[("x-api-key", "metrics-key-59-00000001")],
            &json!({"to": to, "message": "secret text"}).to_string(),
        )
    };
    for to in ["+14165551201", "+442079460123", "+14165551202"] {
        answer(send_sms::handler::handle(&svc, send(to)).await.unwrap());
    }
    b.opt_out("+14165551299").await;
    answer(send_sms::handler::handle(&svc, send("+14165551299")).await.unwrap());
    // The minute's budget (3) is spent: the opt-out counted.
    assert_eq!(answer(send_sms::handler::handle(&svc, send("+14165551203")).await.unwrap()).0, 429);
    let vm = json!({"Records": [s3_record("voicemail/59/1001/m.wav", "01")]});
    trigger(&svc, vm.clone()).await.unwrap();
    trigger(&svc, vm).await.unwrap();
    trigger(&svc, json!({"Records": [s3_record("voicemail/59/9999/m.wav", "02")]})).await.unwrap();

    let lines = lines.0.lock().unwrap().clone();
    let names: Vec<String> = lines
        .iter()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            let metric = v["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Name"].as_str().unwrap().to_owned();
            let why = v["Reason"].as_str().or(v["Window"].as_str()).map(|r| format!(":{r}")).unwrap_or_default();
            format!("{metric}{why}")
        })
        .collect();
    assert_eq!(
        names,
        [
            "Sent",
            "Refused:country_not_allowed",
            "Sent",
            "Refused:opted_out",
            "RateLimited:minute",
            "Sent",
            "Duplicates",
            "Skipped:unknown_extension"
        ]
    );
    for line in &lines {
        for private in ["+1416", "1416555", "+4420", "metrics-key", "secret text", "m.wav"] {
            assert!(!line.contains(private), "{private} in {line}");
        }
    }
}
