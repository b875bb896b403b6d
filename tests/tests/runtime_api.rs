//! Every file in events/ through the BUILT function binaries, the way `sam
//! local invoke -e` runs them: each binary started against a stand-in of the
//! Lambda Runtime API (src/runtime_api.rs, run by src/binaries.rs) with Lambda's environment and the
//! embedded store preloaded from events/config.json. Checks the answers
//! events/README.md lists and the SMS in the local outbox; then warm
//! invocations, failures reported through `/error`, and cold starts that
//! fail on a bad setting.

// A scenario reads best whole, however long: functions of test code may
// run past clippy.toml's 50 lines.
#![allow(clippy::too_many_lines)]

use std::path::{Path, PathBuf};

use integration_tests::binaries::Lambda;
use integration_tests::runtime_api::{HttpAnswer, Outcome};
use integration_tests::{events_config, repo_path, temp_path};
use serde_json::json;
use shared::adapters::outbox::{OutboxEntry, OutboxGateway};
use shared::adapters::sqlite::SqliteStore;
use shared::ports::Admin;
use shared::service::config::Config;

const SENDER: &str = "+14165550000";
const DESTINATION: &str = "+14165551234";
/// The tenant's template; S3 events carry no caller id.
const TEMPLATE_TEXT: &str = "New voicemail on 1001 from unknown";
const SQS_MESSAGE_ID: &str = "059f36b4-87a3-44ab-83d2-661975830a7d";

/// (event file, function, SMS text) — the table in events/README.md.
const CASES: [(&str, &str, &str); 20] = [
    ("action-api-get.json", "send-sms", "You have received a new voicemail."),
    ("action-api-post-form.json", "send-sms", "Test SMS notification"),
    ("rest-send.json", "send-sms", "Test SMS notification"),
    ("rest-voicemail.json", "voicemail-notify", "New voicemail received"),
    ("action-api-get-rest-api-prod.json", "send-sms", "You have received a new voicemail."),
    ("rest-send-rest-api-prod.json", "send-sms", "Test SMS notification"),
    ("action-api-post-http-api-prod.json", "send-sms", "Test SMS notification"),
    ("rest-voicemail-http-api-prod.json", "voicemail-notify", "New voicemail received"),
    ("s3-put.json", "voicemail-trigger", TEMPLATE_TEXT),
    ("sqs-s3.json", "voicemail-trigger", TEMPLATE_TEXT),
    ("eventbridge-object-created.json", "voicemail-trigger", TEMPLATE_TEXT),
    ("eventbridge-new-voicemail.json", "voicemail-trigger", "New voicemail on 1001 from +14165559876"),
    ("cloudwatch-logs-sms-delivery.json", "delivery-status", "Message has been accepted by phone carrier"),
    ("action-api-reports-list.json", "send-sms", ""),
    ("rest-messages.json", "send-sms", ""),
    ("recording-link.json", "recording-link", ""),
    ("console-sign-in-http-api-prod.json", "console", ""),
    ("transcribe-job-completed.json", "voicemail-trigger", ""),
    ("transcribe-job-failed.json", "voicemail-trigger", ""),
    ("schedule.json", "scheduled-sender", ""),
];

/// A fresh SQLite file holding events/config.json, applied as `smsctl apply`
/// does.
fn preloaded_db() -> PathBuf {
    let db = temp_path("runtime-api");
    let store = SqliteStore::open(&db).unwrap();
    let config = Config::from_json(&events_config()).expect("events/config.json is valid");
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    rt.block_on(async {
        let plan = config.plan(&store.keys().await.unwrap(), 0);
        store.apply(&plan.snapshot, &plan.delete_keys).await.unwrap();
    });
    db
}

/// The local outbox, oldest first.
fn outbox(db: &Path) -> Vec<OutboxEntry> {
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let mut all = rt
        .block_on(OutboxGateway::open(db, false, shared::adapters::clock::system()).unwrap().list(usize::MAX))
        .unwrap();
    all.reverse();
    all
}

fn assert_sms(entry: &OutboxEntry, text: &str, context: &str) {
    assert_eq!((entry.from.as_str(), entry.to.as_str(), entry.text.as_str()), (SENDER, DESTINATION, text), "{context}");
}

/// `function` column of events/README.md's table, by file.
fn readme_functions() -> Vec<(String, String)> {
    let readme = std::fs::read_to_string(repo_path("events/README.md")).unwrap();
    readme
        .lines()
        .filter(|l| l.starts_with("| `"))
        .map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            (cells[1].trim_matches('`').to_owned(), cells[2].to_owned())
        })
        .collect()
}

#[test]
fn every_sample_event_answers_through_the_built_binaries() {
    let mut files: Vec<String> = std::fs::read_dir(repo_path("events"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|f| f.ends_with(".json") && f != "config.json")
        .collect();
    files.sort();
    let mut covered: Vec<String> = CASES.iter().map(|(f, ..)| f.to_string()).collect();
    covered.sort();
    assert_eq!(files, covered, "every sample event has a case");
    let mut listed = readme_functions();
    listed.sort();
    let mut ours: Vec<(String, String)> = CASES.iter().map(|(f, func, _)| (f.to_string(), func.to_string())).collect();
    ours.sort();
    assert_eq!(listed, ours, "events/README.md names the same function for each file");

    for (file, function, text) in CASES {
        // A fresh store per file: the S3 files are one voicemail, sent once.
        let db = preloaded_db();
        if text.is_empty() {
            reads(file, function, &db);
            continue;
        }
        if function == "delivery-status" {
            // A receipt for a message SNS took: it is delivered now.
            let store = shared::adapters::sqlite::SqliteStore::open(&db).unwrap();
            let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
            runtime.block_on(integration_tests::seed_sent(&store, integration_tests::SAMPLE_RECEIPT_ID));
            let mut lambda = Lambda::start(function, &db, &[]);
            let answer = lambda.invoke_file(file).response_json();
            assert_eq!(
                answer,
                json!({"applied": 1, "unknown": 0, "repeated": 0, "malformed": 0}),
                "{file}\n{}",
                lambda.output()
            );
            let log = runtime.block_on(shared::ports::Admin::messages(&store, None, 10)).unwrap();
            assert_eq!(log[0].receipt.as_ref().map(|r| r.response.as_str()), Some(text), "{file}");
            continue;
        }
        let mut lambda = Lambda::start(function, &db, &[]);
        let outcome = lambda.invoke_file(file);
        let sent = outbox(&db);
        assert_eq!(sent.len(), 1, "{file}: one SMS, got {sent:?}\n{}", lambda.output());
        assert_sms(&sent[0], text, file);

        if function == "voicemail-trigger" {
            let answer = outcome.response_json();
            let expected = if file == "sqs-s3.json" {
                json!({ "batchItemFailures": [] })
            } else {
                json!({ "sent": 1, "skipped": 0, "duplicates": 0 })
            };
            assert_eq!(answer, expected, "{file}");
            continue;
        }
        let answer = HttpAnswer::of(&outcome);
        assert_eq!(answer.status, 200, "{file}: {:?}", answer.body);
        assert_eq!(answer.headers["content-type"], "application/json", "{file}: {:?}", answer.headers);
        assert_eq!(answer.body["id"], sent[0].id.as_str(), "{file}: the answer names the SMS sent");
        if file.starts_with("action-api") {
            assert_eq!(answer.body["success"], "SMS message sent", "{file}");
        } else {
            for (field, value) in [
                ("from", json!(SENDER)),
                ("to", json!(DESTINATION)),
                ("segments", json!(1)),
                ("encoding", json!("GSM-7")),
            ] {
                assert_eq!(answer.body[field], value, "{file}: {field} in {}", answer.body);
            }
        }
    }
}

/// The samples that read: seeded, then answered by the built binary.
fn reads(file: &str, function: &str, db: &Path) {
    let store = shared::adapters::sqlite::SqliteStore::open(db).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    if file.starts_with("transcribe-job") || function == "scheduled-sender" {
        // A voicemail waiting for the sample's job, due now.
        let now = shared::ports::Clock::now(&*shared::adapters::clock::system());
        runtime.block_on(integration_tests::seed_waiting(&store, integration_tests::SAMPLE_WAITING_ID, now, now));
        let mut lambda =
            Lambda::start(function, db, &[("TRANSCRIBE_JOB_PREFIX", integration_tests::SAMPLE_JOB_PREFIX)]);
        let answer = lambda.invoke_file(file).response_json();
        assert_eq!(answer, json!({"sent": 1, "skipped": 0, "duplicates": 0}), "{file}\n{}", lambda.output());
        assert_sms(&outbox(db)[0], TEMPLATE_TEXT, file);
        return;
    }
    let recordings = db.with_extension("recordings");
    let audio = runtime.block_on(integration_tests::seed_link(&store, &recordings));
    let seeded = format!("seeded-{}", "for-the-link");
    let dir = recordings.to_str().unwrap().to_owned();
    let mut lambda = Lambda::start(function, db, &[("SMS_RECORDINGS_DIR", dir.as_str())]);
    let outcome = lambda.invoke_file(file);
    if function == "console" {
        let v = outcome.response_json();
        let page = v["body"].as_str().unwrap_or_default();
        assert_eq!(v["statusCode"].as_u64(), Some(200), "{file}: {v}");
        assert!(page.contains(r#"action="/prod/console/sign-in""#), "{file}: the stage in the form: {page}");
        return;
    }
    if function == "recording-link" {
        let v = outcome.response_json();
        assert_eq!((v["statusCode"].as_u64(), v["isBase64Encoded"].as_bool()), (Some(200), Some(true)), "{file}: {v}");
        let body =
            base64::Engine::decode(&base64::engine::general_purpose::STANDARD, v["body"].as_str().unwrap()).unwrap();
        assert_eq!(body, audio, "{file}: the recording itself");
        return;
    }
    let answer = HttpAnswer::of(&outcome);
    assert_eq!(answer.status, 200, "{file}: {:?}", answer.body);
    match file {
        "rest-messages.json" => {
            assert_eq!(answer.body["messages"][0]["id"], seeded.as_str(), "{file}: {}", answer.body);
        }
        _ => assert_eq!(answer.body[&seeded]["server"], "59", "{file}: {}", answer.body),
    }
}

#[test]
fn a_warm_trigger_sends_one_sms_per_voicemail_however_delivered() {
    let db = preloaded_db();
    let mut lambda = Lambda::start("voicemail-trigger", &db, &[]);
    let answers: Vec<serde_json::Value> =
        ["s3-put.json", "sqs-s3.json", "eventbridge-object-created.json", "s3-put.json"]
            .into_iter()
            .map(|f| lambda.invoke_file(f).response_json())
            .collect();
    assert_eq!(answers[0], json!({ "sent": 1, "skipped": 0, "duplicates": 0 }));
    assert_eq!(answers[1], json!({ "batchItemFailures": [] }));
    assert_eq!(answers[2], json!({ "sent": 0, "skipped": 0, "duplicates": 1 }));
    assert_eq!(answers[3], json!({ "sent": 0, "skipped": 0, "duplicates": 1 }));
    // The PBX's own event is another voicemail (its message id).
    let own = lambda.invoke_file("eventbridge-new-voicemail.json").response_json();
    assert_eq!(own, json!({ "sent": 1, "skipped": 0, "duplicates": 0 }));
    let sent = outbox(&db);
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert_sms(&sent[0], TEMPLATE_TEXT, "S3");
    assert_sms(&sent[1], "New voicemail on 1001 from +14165559876", "New Voicemail");
}

/// Makes the local outbox (the SMS provider) refuse every send until the
/// returned guard is dropped.
struct ProviderDown(PathBuf);

impl ProviderDown {
    fn on(db: &Path) -> ProviderDown {
        drop(OutboxGateway::open(db, false, shared::adapters::clock::system()).unwrap()); // the outbox table
        shared::adapters::sqlite::db::open(db)
            .unwrap()
            .execute_batch(
                "CREATE TRIGGER provider_down BEFORE INSERT ON outbox
                 BEGIN SELECT RAISE(ABORT, 'injected provider failure'); END;",
            )
            .unwrap();
        ProviderDown(db.to_owned())
    }
}

impl Drop for ProviderDown {
    fn drop(&mut self) {
        let _ = shared::adapters::sqlite::db::open(&self.0)
            .map(|c| c.execute_batch("DROP TRIGGER IF EXISTS provider_down"));
    }
}

#[test]
fn a_failed_trigger_is_reported_through_the_error_endpoint_and_retried() {
    let db = preloaded_db();
    let down = ProviderDown::on(&db);
    let mut lambda = Lambda::start("voicemail-trigger", &db, &[]);

    // A direct invocation fails whole, so that Lambda retries the event.
    match lambda.invoke_file("s3-put.json") {
        Outcome::Error { error_type, body, .. } => {
            let body: serde_json::Value = serde_json::from_slice(&body).expect("error body is JSON");
            let message = body["errorMessage"].as_str().unwrap_or_default();
            assert!(message.contains("will be retried"), "{body}");
            assert!(error_type.is_some_and(|t| !t.is_empty()), "Lambda-Runtime-Function-Error-Type is set");
            assert!(body["errorType"].is_string(), "{body}");
        }
        other => panic!("expected /error, got {}", other.describe()),
    }
    // An SQS batch answers, naming the message to redeliver.
    assert_eq!(
        lambda.invoke_file("sqs-s3.json").response_json(),
        json!({ "batchItemFailures": [{ "itemIdentifier": SQS_MESSAGE_ID }] })
    );
    assert!(outbox(&db).is_empty());

    // The platform's retry, once the provider is back: the failed send was
    // not marked as sent, so it goes out now, once.
    drop(down);
    assert_eq!(lambda.invoke_file("s3-put.json").response_json(), json!({ "sent": 1, "skipped": 0, "duplicates": 0 }));
    assert_eq!(lambda.invoke_file("sqs-s3.json").response_json(), json!({ "batchItemFailures": [] }));
    let sent = outbox(&db);
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_sms(&sent[0], TEMPLATE_TEXT, "retried");
}

#[test]
fn a_provider_failure_is_an_http_answer_not_an_invocation_error() {
    let db = preloaded_db();
    let _down = ProviderDown::on(&db);
    let mut lambda = Lambda::start("send-sms", &db, &[]);
    let rest = HttpAnswer::of(&lambda.invoke_file("rest-send.json"));
    assert_eq!(rest.status, 502, "{:?}", rest.body);
    assert!(rest.body["error"].is_string(), "{:?}", rest.body);
    let action = HttpAnswer::of(&lambda.invoke_file("action-api-get.json"));
    assert!(action.status >= 500, "{} {:?}", action.status, action.body);
    assert!(action.body["error"].is_string(), "{:?}", action.body);
    assert!(outbox(&db).is_empty());
}

#[test]
fn a_bad_setting_fails_the_cold_start_naming_it() {
    for (function, name, value) in [
        ("send-sms", "MESSAGE_LOG_DAYS", "abc"),
        ("voicemail-notify", "SMS_CHECK_OPT_OUT", "maybe"),
        ("voicemail-trigger", "VOICEMAIL_PREFIX", "voicemail"),
        ("voicemail-trigger", "SMS_TABLE_NAME", "no spaces allowed"),
    ] {
        let db = preloaded_db();
        let mut lambda = Lambda::start(function, &db, &[(name, value)]);
        let (status, said) = lambda.failed_start();
        if let Some(status) = status {
            assert!(!status.success(), "{function} with {name}={value}: exited {status}\n{said}");
        }
        assert!(said.contains(&format!("invalid setting {name}=")), "{function} with {name}={value}:\n{said}");
        assert!(outbox(&db).is_empty());
    }
}

/// A CA bundle that cannot be read, or holds no certificate rustls can
/// trust, stops the start: the SDK would otherwise fail at the first
/// connection (or, with the pre-warm off, the first request).
#[test]
fn an_unusable_ca_bundle_fails_the_cold_start_naming_it() {
    let db = preloaded_db();
    let garbage = db.with_file_name("garbage.pem");
    std::fs::write(&garbage, "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n").unwrap();
    let missing = db.with_file_name("missing.pem");
    for (function, bundle) in [("send-sms", &garbage), ("delivery-status", &missing)] {
        let bundle = bundle.to_str().unwrap();
        let env = [("SMS_TABLE_NAME", "sms-table"), ("AWS_REGION", "us-east-1"), ("AWS_CA_BUNDLE", bundle)];
        let mut lambda = Lambda::start(function, &db, &env);
        let (status, said) = lambda.failed_start();
        if let Some(status) = status {
            assert!(!status.success(), "{function}: exited {status}\n{said}");
        }
        assert!(said.contains(&format!("cannot use AWS_CA_BUNDLE \"{bundle}\"")), "{function}:\n{said}");
    }
}

#[test]
fn a_raw_query_string_that_is_no_valid_uri_is_answered_not_a_crash() {
    let db = preloaded_db();
    let mut lambda = Lambda::start("send-sms", &db, &[]);
    let mut event: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(repo_path("events/action-api-get.json")).unwrap()).unwrap();
    // What a client that does not encode its query string sends: raw spaces,
    // quotes and angle brackets, which lambda_http alone would panic on.
    let raw = event["rawQueryString"].as_str().unwrap().replace("%2B", "+") + "&note=say \"hi\" <b>";
    event["rawQueryString"] = json!(raw);
    let answer = HttpAnswer::of(&lambda.invoke(event.to_string().as_bytes()));
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert_eq!(answer.body["success"], "SMS message sent", "{:?}", answer.body);
    // The same process answers the next request: it did not crash.
    let again = HttpAnswer::of(&lambda.invoke_file("action-api-get.json"));
    assert_eq!(again.body["success"], "SMS message sent");
    assert_eq!(outbox(&db).len(), 2);
}

#[test]
fn events_lambda_http_would_panic_on_are_answered_400_by_the_running_function() {
    let db = preloaded_db();
    let mut lambda = Lambda::start("send-sms", &db, &[]);
    let sample: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(repo_path("events/rest-send.json")).unwrap()).unwrap();
    let mut not_base64 = sample.clone();
    not_base64["isBase64Encoded"] = json!(true);
    let mut host = sample;
    host["headers"]["host"] = json!("exa mple.com");
    for (event, field) in [(not_base64, "body"), (host, "Host")] {
        let answer = HttpAnswer::of(&lambda.invoke(event.to_string().as_bytes()));
        assert_eq!(answer.status, 400, "{:?}", answer.body);
        let text = answer.body["error"].as_str().unwrap();
        assert!(text.starts_with(&format!("Required field '{field}' contains invalid data")), "{text}");
    }
    // Nothing crashed: the next request is answered by the same process.
    assert_eq!(HttpAnswer::of(&lambda.invoke_file("rest-send.json")).status, 200);
}
