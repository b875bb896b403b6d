//! The functions' handlers, driven as Lambda drives them: API Gateway
//! requests and their answers, sample event files, voicemail events.

use shared::inbound::trigger::KeyLayout;
use shared::service::Service;

use crate::backend::Backend;
use crate::seeds::repo_path;

/// An HTTP request as lambda_http hands it to a handler.
pub fn request(method: &str, path_and_query: &str, headers: &[(&str, &str)], body: &str) -> lambda_http::Request {
    let mut b = http::Request::builder().method(method).uri(path_and_query);
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    b.body(lambda_http::Body::from(body.to_owned())).unwrap()
}

/// Status and JSON body of a handler's answer.
pub fn answer(resp: http::Response<lambda_http::Body>) -> (u16, serde_json::Value) {
    let status = resp.status().as_u16();
    let body =
        serde_json::from_slice(resp.body()).unwrap_or_else(|e| panic!("answer is not JSON ({e}): {:?}", resp.body()));
    (status, body)
}

/// Runs a sample event file through its real handler.
pub async fn invoke_event(b: &Backend, file: &str) -> (u16, serde_json::Value) {
    let text = std::fs::read_to_string(repo_path(&format!("events/{file}"))).unwrap();
    let service = b.service();
    if file.starts_with("action-api") || file.starts_with("rest-") {
        let req = lambda_http::request::from_str(&text).unwrap();
        let resp = if file.starts_with("rest-voicemail") {
            voicemail_notify::handler::handle(&service, req).await
        } else {
            send_sms::handler::handle(&service, req).await
        };
        answer(resp.unwrap())
    } else if file.starts_with("cloudwatch-logs") {
        let payload: serde_json::Value = serde_json::from_str(&text).unwrap();
        let event = lambda_runtime::LambdaEvent::new(payload, lambda_runtime::Context::default());
        (200, serde_json::to_value(delivery_status::handler::handle(&service, event).await.unwrap()).unwrap())
    } else {
        let payload: serde_json::Value = serde_json::from_str(&text).unwrap();
        match trigger(&service, payload).await {
            Ok(v) => (200, v),
            Err(e) => (500, serde_json::json!({ "error": e })),
        }
    }
}

/// An S3 `ObjectCreated:Put` notification record for this (raw, encoded)
/// key, shaped as S3 sends it.
pub fn s3_record(raw_key: &str, sequencer: &str) -> serde_json::Value {
    serde_json::json!({
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
        "eventTime": "2026-11-26T10:00:00.000Z", "eventName": "ObjectCreated:Put",
        "userIdentity": {"principalId": "AWS:AIDAEXAMPLE"},
        "requestParameters": {"sourceIPAddress": "203.0.113.20"},
        "responseElements": {"x-amz-request-id": "C3D13FE58DE4C810", "x-amz-id-2": "FMyUVURIY8/IgAtTv8xRjskZQ"},
        "s3": {"s3SchemaVersion": "1.0", "configurationId": "voicemail-created",
               "bucket": {"name": "pbx-voicemail", "ownerIdentity": {"principalId": "A3NL1KOZZKExample"},
                          "arn": "arn:aws:s3:::pbx-voicemail"},
               "object": {"key": raw_key, "size": 1024, "eTag": "d41d8cd98f00b204e9800998ecf8427e", "sequencer": sequencer}}
    })
}

/// S3 notifications wrapped in an SQS batch, one message each, ids `m0`, `m1`...
pub fn sqs_batch(records: &[serde_json::Value]) -> serde_json::Value {
    let messages: Vec<serde_json::Value> = records
        .iter()
        .enumerate()
        .map(|(i, r)| {
            serde_json::json!({
                "messageId": format!("m{i}"),
                "body": serde_json::json!({ "Records": [r] }).to_string(),
                "eventSource": "aws:sqs",
            })
        })
        .collect();
    serde_json::json!({ "Records": messages })
}

/// Runs one event through the voicemail-trigger handler.
pub async fn trigger(service: &Service, event: serde_json::Value) -> Result<serde_json::Value, String> {
    trigger_by(service, event, 0).await
}

/// Runs one event through the voicemail-trigger handler, as an invocation
/// with this deadline (epoch milliseconds; 0: none, as a local invocation).
pub async fn trigger_by(
    service: &Service,
    event: serde_json::Value,
    deadline_ms: u64,
) -> Result<serde_json::Value, String> {
    let mut context = lambda_runtime::Context::default();
    context.deadline = deadline_ms;
    let event = lambda_runtime::LambdaEvent::new(event, context);
    let answer = voicemail_trigger::handler::handle(service, &KeyLayout::default(), event).await;
    answer.map(|a| serde_json::to_value(a).unwrap()).map_err(|e| e.to_string())
}
