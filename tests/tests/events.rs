//! Every file in events/ through its real handler, against a store loaded
//! from events/config.json: the answer and what was sent.

// A scenario reads best whole, however long: functions of test code may
// run past clippy.toml's 50 lines.
#![allow(clippy::too_many_lines)]

use integration_tests::{backends, events_config, invoke_event};
use serde_json::json;

const TEMPLATE_TEXT: &str = "New voicemail on 1001 from unknown";

#[tokio::test]
async fn every_sample_event_answers_and_sends() {
    let cases = [
        ("action-api-get.json", "You have received a new voicemail."),
        ("action-api-post-form.json", "Test SMS notification"),
        ("rest-send.json", "Test SMS notification"),
        ("rest-voicemail.json", "New voicemail received"),
        ("action-api-get-rest-api-prod.json", "You have received a new voicemail."),
        ("rest-send-rest-api-prod.json", "Test SMS notification"),
        ("action-api-post-http-api-prod.json", "Test SMS notification"),
        ("rest-voicemail-http-api-prod.json", "New voicemail received"),
        ("s3-put.json", TEMPLATE_TEXT),
        ("sqs-s3.json", TEMPLATE_TEXT),
        ("eventbridge-object-created.json", TEMPLATE_TEXT),
        ("eventbridge-new-voicemail.json", "New voicemail on 1001 from +14165559876"),
        ("cloudwatch-logs-sms-delivery.json", "Message has been accepted by phone carrier"),
        ("action-api-reports-list.json", ""),
        ("rest-messages.json", ""),
        ("recording-link.json", ""),
        ("console-sign-in-http-api-prod.json", ""),
        ("transcribe-job-completed.json", ""),
        ("transcribe-job-failed.json", ""),
        ("schedule.json", ""),
    ];
    let mut files: Vec<String> = std::fs::read_dir(integration_tests::repo_path("events"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|f| f.ends_with(".json") && f != "config.json")
        .collect();
    files.sort();
    let mut covered: Vec<String> = cases.iter().map(|(f, _)| f.to_string()).collect();
    covered.sort();
    assert_eq!(files, covered, "every sample event has a case");

    for (file, text) in cases {
        // A fresh store per file: the S3 files are one voicemail, sent once.
        for b in backends().await {
            if let Some(done) = reads(&b, file).await {
                done.unwrap_or_else(|e| panic!("{}: {file}: {e}", b.name));
                continue;
            }
            if file.starts_with("cloudwatch-logs") {
                // A receipt for a message SNS took: it is delivered now.
                b.apply(&events_config()).await;
                let seeded = integration_tests::seed_sent(&*b.store, integration_tests::SAMPLE_RECEIPT_ID).await;
                let (status, answer) = invoke_event(&b, file).await;
                assert_eq!(
                    (status, answer),
                    (200, json!({"applied": 1, "unknown": 0, "repeated": 0, "malformed": 0})),
                    "{}",
                    b.name
                );
                let log = b.admin.messages(None, 10).await.unwrap();
                assert_eq!(
                    (log[0].id.as_str(), log[0].status.as_str()),
                    (seeded.id.as_str(), "delivered"),
                    "{}",
                    b.name
                );
                assert_eq!(log[0].receipt.as_ref().map(|r| r.response.as_str()), Some(text), "{}", b.name);
                continue;
            }
            b.apply(&events_config()).await;
            let (status, answer) = invoke_event(&b, file).await;
            assert_eq!(status, 200, "{}: {file}: {answer}", b.name);
            match file {
                f if f.starts_with("action-api") => assert_eq!(answer["success"], "SMS message sent", "{file}"),
                "sqs-s3.json" => assert_eq!(answer, json!({ "batchItemFailures": [] })),
                f if f.starts_with("rest-") => assert_eq!(answer["from"], "+14165550000"),
                _ => assert_eq!(answer, json!({ "sent": 1, "skipped": 0, "duplicates": 0 })),
            }
            let sent = b.sent().await;
            assert_eq!(sent.len(), 1, "{}: {file}", b.name);
            assert_eq!(
                (sent[0].from.as_str(), sent[0].to.as_str(), sent[0].text.as_str()),
                ("+14165550000", "+14165551234", text),
                "{}: {file}",
                b.name
            );
        }
    }
}

#[tokio::test]
async fn one_voicemail_through_every_s3_path_is_one_sms() {
    for b in backends().await {
        b.apply(&events_config()).await;
        let mut answers = Vec::new();
        for file in ["s3-put.json", "sqs-s3.json", "eventbridge-object-created.json", "s3-put.json"] {
            answers.push(invoke_event(&b, file).await.1);
        }
        assert_eq!(answers[0]["sent"], 1);
        assert_eq!(answers[1], json!({ "batchItemFailures": [] }));
        assert_eq!(answers[2], json!({ "sent": 0, "skipped": 0, "duplicates": 1 }));
        assert_eq!(answers[3], json!({ "sent": 0, "skipped": 0, "duplicates": 1 }));
        assert_eq!(b.sent().await.len(), 1, "{}", b.name);
    }
}

/// The samples that read rather than send: what they read, seeded first.
async fn reads(b: &integration_tests::Backend, file: &str) -> Option<Result<(), String>> {
    use integration_tests::{seed_link, seed_sent};
    let check = |ok: bool, what: String| if ok { Ok(()) } else { Err(what) };
    match file {
        "action-api-reports-list.json" | "rest-messages.json" => {
            b.apply(&events_config()).await;
            let seeded = seed_sent(&*b.store, "for-the-report").await;
            let (status, answer) = invoke_event(b, file).await;
            let listed = match file {
                "rest-messages.json" => {
                    answer["messages"][0]["id"] == seeded.id.as_str() && answer["next_cursor"].is_null()
                }
                _ => answer[&seeded.id]["to"] == "14165551234",
            };
            Some(check(status == 200 && listed, format!("{status} {answer}")))
        }
        "recording-link.json" => {
            b.apply(&events_config()).await;
            let dir = integration_tests::temp_path("recordings");
            let audio = seed_link(&*b.store, &dir).await;
            let svc =
                b.service().with_recordings(std::sync::Arc::new(shared::adapters::folder::FolderRecordings::new(&dir)));
            let text = std::fs::read_to_string(integration_tests::repo_path("events/recording-link.json")).unwrap();
            let resp =
                recording_link::handler::handle(&svc, lambda_http::request::from_str(&text).unwrap()).await.unwrap();
            let (status, kind) = (resp.status().as_u16(), resp.headers()["content-type"].to_str().unwrap().to_owned());
            Some(check(
                status == 200 && kind == "audio/wav" && resp.body().as_ref() == audio.as_slice(),
                format!("{status} {kind}"),
            ))
        }
        "console-sign-in-http-api-prod.json" => {
            let text = std::fs::read_to_string(integration_tests::repo_path(&format!("events/{file}"))).unwrap();
            let resp =
                console::handler::handle(&b.service(), lambda_http::request::from_str(&text).unwrap()).await.unwrap();
            let page = String::from_utf8_lossy(resp.body().as_ref()).into_owned();
            // The stage stays in the page's links; no session is needed to see it.
            let ok = resp.status() == 200 && page.contains(r#"action="/prod/console/sign-in""#);
            Some(check(ok, format!("{} {page}", resp.status())))
        }
        f if f.starts_with("transcribe-job") || f == "schedule.json" => Some(waited(b, file).await),
        _ => None,
    }
}

/// A voicemail waiting for its transcript, finished by the job's end (the
/// stack's prefix is the sample's) or, once due, by the scheduled run.
async fn waited(b: &integration_tests::Backend, file: &str) -> Result<(), String> {
    use integration_tests::{SAMPLE_JOB_PREFIX, SAMPLE_WAITING_ID, seed_waiting};
    b.apply(&events_config()).await;
    let now = shared::ports::Clock::now(&*shared::adapters::clock::system());
    seed_waiting(&*b.store, SAMPLE_WAITING_ID, now, now).await;
    let text = std::fs::read_to_string(integration_tests::repo_path(&format!("events/{file}"))).unwrap();
    let payload: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mut policy = b.policy.clone();
    policy.transcripts.job_prefix = SAMPLE_JOB_PREFIX.to_owned();
    let svc =
        shared::service::Service::new(b.store.clone(), b.gateway.clone(), policy, shared::adapters::clock::system());
    let answer = if file == "schedule.json" {
        let event = lambda_runtime::LambdaEvent::new(serde_json::from_value(payload).unwrap(), Default::default());
        serde_json::to_value(scheduled_sender::handler::handle(&svc, event).await.map_err(|e| e.to_string())?).unwrap()
    } else {
        integration_tests::trigger(&svc, payload).await?
    };
    let sent = b.sent().await;
    let ok = answer == json!({"sent": 1, "skipped": 0, "duplicates": 0})
        && sent.len() == 1
        && sent[0].text == "New voicemail on 1001 from unknown";
    if ok { Ok(()) } else { Err(format!("{answer} {sent:?}")) }
}
