//! Every row of the contract's error table and every rule of the guide, for
//! both APIs where it applies: exact text, HTTP status, and nothing sent.
//! Runs against every backend (embedded; DynamoDB + SNS on moto).

// A scenario reads best whole, however long: functions of test code may
// run past clippy.toml's 50 lines.
#![allow(clippy::too_many_lines)]

use integration_tests::{Backend, answer, backends, request};
use serde_json::{Value, json};

const CONFIG: &str = r#"{
  "numbers": [
    {"number": "+14165550000", "tenant": "59", "sms_enabled": true},
    {"number": "+14165550064", "tenant": "64", "sms_enabled": false},
    {"number": "+14165550066", "tenant": "*", "sms_enabled": true}
  ],
  "tenants": [
    {"id": "59", "active": true, "sender_number": "+14165550000", "api_enabled": true, "voicemail_notifications": true},
    {"id": "60", "active": false, "sender_number": "+14165550000", "api_enabled": true, "voicemail_notifications": true},
    {"id": "61", "active": true, "sender_number": "+14165550000", "api_enabled": false, "voicemail_notifications": true},
    {"id": "62", "active": true, "api_enabled": true, "voicemail_notifications": true},
    {"id": "63", "active": true, "sender_number": "+14165550063", "api_enabled": true, "voicemail_notifications": true},
    {"id": "64", "active": true, "sender_number": "+14165550064", "api_enabled": true, "voicemail_notifications": true},
    {"id": "65", "active": true, "sender_number": "+14165550000", "api_enabled": true, "voicemail_notifications": true},
    {"id": "66", "active": true, "sender_number": "+14165550066", "api_enabled": true, "voicemail_notifications": true},
    {"id": "67", "active": true, "sender_number": "+14165550066", "api_enabled": true, "voicemail_notifications": false},
    {"id": "68", "active": false, "api_enabled": false, "voicemail_notifications": true}
  ],
  "extensions": [
    {"tenant": "59", "extension": "1001", "sms_notifications": true, "sms_number": "+14165551234"},
    {"tenant": "59", "extension": "1002", "sms_notifications": false, "sms_number": "+14165551234"},
    {"tenant": "59", "extension": "1003", "sms_notifications": true},
    {"tenant": "66", "extension": "1001", "sms_notifications": true, "sms_number": "+14165551234"},
    {"tenant": "67", "extension": "1001", "sms_notifications": true, "sms_number": "+14165551234"}
  ],
  "api_keys": [
    {"name": "all", "secret": "key-all-tenants-0001", "tenants": ["*"], "permissions": ["sms"]},
    {"name": "only59", "secret": "key-only-59-0000001", "tenants": ["59"], "permissions": ["sms"]},
    {"name": "multi", "secret": "key-59-and-66-00001", "tenants": ["59", "66"], "permissions": ["sms"]},
    {"name": "nosms", "secret": "key-without-sms-001", "tenants": ["*"], "permissions": []},
    {"name": "off", "secret": "key-disabled-000001", "tenants": ["*"], "permissions": ["sms"], "enabled": false}
  ]
}"#;

const ALL: &str = "key-all-tenants-0001";
const BODY: &str = "WW91IGhhdmUgcmVjZWl2ZWQgYSBuZXcgdm9pY2VtYWlsLg==";
const INACTIVE: &str = "Action sms_message returned with error: ERR: SMS not enabled for this tenant: ";

async fn setup() -> Vec<Backend> {
    let all = backends().await;
    for b in &all {
        b.apply(CONFIG).await;
    }
    all
}

/// The action API with these query parameters.
async fn action(b: &Backend, query: &str) -> (u16, Value) {
    let req = request("GET", &format!("/?{query}"), &[], "");
    answer(send_sms::handler::handle(&b.service(), req).await.unwrap())
}

/// A REST endpoint with this key and JSON body.
async fn rest(b: &Backend, path: &str, key: Option<&str>, body: &str) -> (u16, Value) {
    let mut headers = vec![("content-type", "application/json")];
    if let Some(k) = key {
        headers.push(("x-api-key", k));
    }
    let req = request("POST", path, &headers, body);
    let resp = if path == "/api/sms/notifications/voicemail" {
        voicemail_notify::handler::handle(&b.service(), req).await
    } else {
        send_sms::handler::handle(&b.service(), req).await
    };
    answer(resp.unwrap())
}

fn q(key: &str, server: &str, to: &str, body: &str) -> String {
    format!("apikey={key}&action=pbxware.sms.send_message&server={server}&to_number={to}&body={body}")
}

fn err(text: &str) -> Value {
    json!({ "error": text })
}

fn assert_nothing_sent(b: &Backend, case: &str) {
    assert!(b.gateway.accepted().is_empty(), "{}: {case}: something was sent", b.name);
    assert_eq!(b.gateway.attempts(), 0, "{}: {case}: a send was attempted", b.name);
}

#[tokio::test]
async fn action_api_error_table() {
    for b in setup().await {
        let cases: Vec<(String, &str)> = vec![
            // 1. Key.
            (
                "action=pbxware.sms.send_message&server=59&to_number=%2B14165551234&body=".to_owned() + BODY,
                "Invalid API key.",
            ),
            (q("unknown-key-000000001", "59", "%2B14165551234", BODY), "Invalid API key."),
            (q("key-disabled-000001", "59", "%2B14165551234", BODY), "Invalid API key."),
            (q("", "59", "%2B14165551234", BODY), "Invalid API key."),
            // Key beats everything after it, even an unknown action.
            ("apikey=nope&action=nope".to_owned(), "Invalid API key."),
            // 2. Shape.
            (
                format!("apikey={ALL}&action=pbxware.sms.delete_everything"),
                "Unknown action: pbxware.sms.delete_everything",
            ),
            (format!("apikey={ALL}"), "Required field 'action' is missing"),
            (
                format!("apikey={ALL}&action=pbxware.sms.send_message&to_number=%2B14165551234&body={BODY}"),
                "Required field 'server' is missing",
            ),
            (
                format!("apikey={ALL}&action=pbxware.sms.send_message&server=59&body={BODY}"),
                "Required field 'to_number' is missing",
            ),
            (
                format!("apikey={ALL}&action=pbxware.sms.send_message&server=59&to_number=%2B14165551234"),
                "Required field 'body' is missing",
            ),
            (
                format!("apikey={ALL}&action=pbxware.sms.send_message&server=59&to_number=%2B14165551234&body="),
                "Required field 'body' is missing",
            ),
            (
                q(ALL, "5x", "%2B14165551234", BODY),
                "Required field 'server' contains invalid data (a tenant id of 1 to 10 digits)",
            ),
            (
                q(ALL, "59%23EXT%231001", "%2B14165551234", BODY),
                "Required field 'server' contains invalid data (a tenant id of 1 to 10 digits)",
            ),
            (
                q(ALL, "59", "4165551234", BODY),
                "Required field 'to_number' contains invalid data (a phone number in +E.164 format)",
            ),
            (
                q(ALL, "59", "%2B1416555", BODY),
                "Required field 'to_number' contains invalid data (a phone number in +E.164 format)",
            ),
            (
                q(ALL, "59", "%2B14165551234", "not*base64"),
                "Required field 'body' contains invalid data (Base64-encoded UTF-8 text)",
            ),
            (
                q(ALL, "59", "%2B14165551234", "%2Fw%3D%3D"),
                "Required field 'body' contains invalid data (Base64-encoded UTF-8 text)",
            ),
            (q(ALL, "59", "%2B14165551234", "ICAg"), "Message is empty"),
            (
                format!("{}&server=60", q(ALL, "59", "%2B14165551234", BODY)),
                "Required field 'server' contains invalid data (a single value)",
            ),
            // 3. Key's rights.
            (q("key-without-sms-001", "59", "%2B14165551234", BODY), "API key does not allow SMS actions"),
            (q("key-only-59-0000001", "66", "%2B14165551234", BODY), "API key is not allowed for this tenant"),
            // Rights are checked before the tenant: no probing tenants with a narrow key.
            (q("key-only-59-0000001", "99", "%2B14165551234", BODY), "API key is not allowed for this tenant"),
            // 4. Tenant.
            (q(ALL, "99", "%2B14165551234", BODY), "Unknown tenant: 99"),
            (q(ALL, "60", "%2B14165551234", BODY), INACTIVE),
            (q(ALL, "68", "%2B14165551234", BODY), INACTIVE),
            (q(ALL, "61", "%2B14165551234", BODY), "SMS API is disabled"),
            (q(ALL, "62", "%2B14165551234", BODY), "Invalid or missing sender SMS number"),
            (q(ALL, "63", "%2B14165551234", BODY), "Invalid or missing sender SMS number"),
            (q(ALL, "64", "%2B14165551234", BODY), "Invalid or missing sender SMS number"),
            (q(ALL, "65", "%2B14165551234", BODY), "Invalid or missing sender SMS number"),
        ];
        for (query, expected) in &cases {
            let got = action(&b, query).await;
            assert_eq!(got, (200, err(expected)), "{}: {query}", b.name);
        }
        assert_nothing_sent(&b, "action API errors");
    }
}

#[tokio::test]
async fn rest_api_error_table() {
    let send = "/api/sms/send";
    let vm = "/api/sms/notifications/voicemail";
    let to = r#"{"to": "+14165551234", "message": "Test SMS notification"}"#;
    for b in setup().await {
        let cases: Vec<(&str, Option<&str>, String, u16, &str)> = vec![
            // 1. Key.
            (send, None, to.into(), 401, "Invalid API key."),
            (send, Some("unknown-key-000000001"), to.into(), 401, "Invalid API key."),
            (send, Some("key-disabled-000001"), to.into(), 401, "Invalid API key."),
            (vm, None, r#"{"extension": "1001"}"#.into(), 401, "Invalid API key."),
            (send, Some("nope"), "{broken".into(), 401, "Invalid API key."),
            // 2. Shape.
            (
                send,
                Some(ALL),
                "{broken".into(),
                400,
                "Request body is not valid JSON: key must be a string at line 1 column 2",
            ),
            (send, Some(ALL), "[1]".into(), 400, "Request body is not valid JSON: expected a JSON object"),
            (send, Some(ALL), r#"{"message": "hi", "server": "59"}"#.into(), 400, "Required field 'to' is missing"),
            (
                send,
                Some(ALL),
                r#"{"to": "+14165551234", "server": "59"}"#.into(),
                400,
                "Required field 'message' is missing",
            ),
            (
                send,
                Some(ALL),
                r#"{"to": "+14165551234", "message": "", "server": "59"}"#.into(),
                400,
                "Required field 'message' is missing",
            ),
            (
                send,
                Some(ALL),
                r#"{"to": "+14165551234", "message": " ", "server": "59"}"#.into(),
                400,
                "Message is empty",
            ),
            (
                send,
                Some(ALL),
                r#"{"to": "4165551234", "message": "hi", "server": "59"}"#.into(),
                400,
                "Required field 'to' contains invalid data (a phone number in +E.164 format)",
            ),
            (
                send,
                Some(ALL),
                r#"{"to": 14165551234, "message": "hi", "server": "59"}"#.into(),
                400,
                "Required field 'to' contains invalid data (a phone number in +E.164 format)",
            ),
            (
                send,
                Some(ALL),
                r#"{"to": "+14165551234", "message": 5, "server": "59"}"#.into(),
                400,
                "Required field 'message' contains invalid data (a text)",
            ),
            (
                send,
                Some(ALL),
                r#"{"to": "+14165551234", "message": "hi", "server": "../59"}"#.into(),
                400,
                "Required field 'server' contains invalid data (a tenant id of 1 to 10 digits)",
            ),
            (
                send,
                Some(ALL),
                r#"{"to": "+14165551234", "message": "hi", "mesage": "typo"}"#.into(),
                400,
                "Unknown field 'mesage'",
            ),
            // One reading: a field given twice is refused, as the action API
            // refuses a repeated parameter.
            (
                send,
                Some(ALL),
                r#"{"to": "+14165551234", "message": "hi", "server": "59", "server": "60"}"#.into(),
                400,
                "Required field 'server' contains invalid data (a single value)",
            ),
            (
                send,
                Some(ALL),
                r#"{"to": "+14165551234", "to": "+14165551234", "message": "hi", "server": "59"}"#.into(),
                400,
                "Required field 'to' contains invalid data (a single value)",
            ),
            (
                vm,
                Some(ALL),
                r#"{"extension": "1001", "server": "59", "extension": "1002"}"#.into(),
                400,
                "Required field 'extension' contains invalid data (a single value)",
            ),
            // Nothing visible: NUL, zero-width space, bidi override, BOM, line separator.
            (
                send,
                Some(ALL),
                r#"{"to": "+14165551234", "message": "\u0000\u200b\u202e\ufeff\u2028", "server": "59"}"#.into(),
                400,
                "Message is empty",
            ),
            // A key for all tenants must name one.
            (send, Some(ALL), to.into(), 400, "Required field 'server' is missing"),
            (send, Some("key-59-and-66-00001"), to.into(), 400, "Required field 'server' is missing"),
            (vm, Some(ALL), r#"{"server": "59"}"#.into(), 400, "Required field 'extension' is missing"),
            (
                vm,
                Some(ALL),
                r#"{"extension": "1001#EXT#1002", "server": "59"}"#.into(),
                400,
                "Required field 'extension' contains invalid data (an extension number of 1 to 15 digits)",
            ),
            (
                vm,
                Some(ALL),
                r#"{"extension": "１００１", "server": "59"}"#.into(),
                400,
                "Required field 'extension' contains invalid data (an extension number of 1 to 15 digits)",
            ),
            (vm, Some(ALL), r#"{"extension": "1001", "message": "", "server": "59"}"#.into(), 400, "Message is empty"),
            // 3. Key's rights.
            (
                send,
                Some("key-without-sms-001"),
                r#"{"to": "+14165551234", "message": "hi", "server": "59"}"#.into(),
                403,
                "API key does not allow SMS actions",
            ),
            (
                send,
                Some("key-only-59-0000001"),
                r#"{"to": "+14165551234", "message": "hi", "server": "66"}"#.into(),
                403,
                "API key is not allowed for this tenant",
            ),
            (
                vm,
                Some("key-59-and-66-00001"),
                r#"{"extension": "1001", "server": "67"}"#.into(),
                403,
                "API key is not allowed for this tenant",
            ),
            // 4. Tenant.
            (
                send,
                Some(ALL),
                r#"{"to": "+14165551234", "message": "hi", "server": "99"}"#.into(),
                404,
                "Unknown tenant: 99",
            ),
            (
                send,
                Some(ALL),
                r#"{"to": "+14165551234", "message": "hi", "server": "60"}"#.into(),
                403,
                "SMS API is disabled",
            ),
            (
                send,
                Some(ALL),
                r#"{"to": "+14165551234", "message": "hi", "server": 61}"#.into(),
                403,
                "SMS API is disabled",
            ),
            (vm, Some(ALL), r#"{"extension": "1001", "server": "60"}"#.into(), 403, "SMS API is disabled"),
            (
                send,
                Some(ALL),
                r#"{"to": "+14165551234", "message": "hi", "server": "62"}"#.into(),
                422,
                "Invalid or missing sender SMS number",
            ),
            (
                send,
                Some(ALL),
                r#"{"to": "+14165551234", "message": "hi", "server": "63"}"#.into(),
                422,
                "Invalid or missing sender SMS number",
            ),
            (
                send,
                Some(ALL),
                r#"{"to": "+14165551234", "message": "hi", "server": "64"}"#.into(),
                422,
                "Invalid or missing sender SMS number",
            ),
            (
                vm,
                Some(ALL),
                r#"{"extension": "1001", "server": "65"}"#.into(),
                422,
                "Invalid or missing sender SMS number",
            ),
            // 5. Voicemail.
            (
                vm,
                Some(ALL),
                r#"{"extension": "1001", "server": "67"}"#.into(),
                403,
                "Voicemail SMS notifications are disabled",
            ),
            (vm, Some("key-only-59-0000001"), r#"{"extension": "1009"}"#.into(), 404, "Unknown extension: 1009"),
            (
                vm,
                Some("key-only-59-0000001"),
                r#"{"extension": "1002"}"#.into(),
                403,
                "SMS notifications are disabled for this extension",
            ),
            (
                vm,
                Some("key-only-59-0000001"),
                r#"{"extension": "1003"}"#.into(),
                422,
                "Destination does not have an assigned SMS number",
            ),
        ];
        for (path, key, body, status, expected) in &cases {
            let got = rest(&b, path, *key, body).await;
            assert_eq!(got, (*status, err(expected)), "{}: {path} {key:?} {body}", b.name);
        }
        assert_nothing_sent(&b, "REST errors");
    }
}

#[tokio::test]
async fn the_guides_examples_send_from_the_tenants_sender() {
    for b in setup().await {
        // Example 1, verbatim.
        let (status, body) = action(&b, &q(ALL, "59", "%2B14165551234", BODY)).await;
        assert_eq!(status, 200, "{}: {body}", b.name);
        assert_eq!(body["success"], "SMS message sent");
        assert_eq!(body["from"], "+14165550000");
        assert_eq!(body["to"], "+14165551234");
        assert_eq!(body["segments"], 1);
        assert_eq!(body["encoding"], "GSM-7");
        assert!(body["id"].as_str().is_some_and(|id| !id.is_empty()));

        // The cURL examples.
        let (status, sent) = rest(
            &b,
            "/api/sms/send",
            Some("key-only-59-0000001"),
            r#"{ "to": "+14165551234", "message": "Test SMS notification" }"#,
        )
        .await;
        assert_eq!(status, 200, "{sent}");
        assert_eq!(sent.as_object().unwrap().keys().collect::<Vec<_>>(), ["id", "from", "to", "segments", "encoding"]);
        let (status, vm) = rest(
            &b,
            "/api/sms/notifications/voicemail",
            Some("key-only-59-0000001"),
            r#"{ "extension": "1001", "message": "New voicemail received" }"#,
        )
        .await;
        assert_eq!((status, &vm["to"]), (200, &json!("+14165551234")), "{vm}");
        // `message` left out: the default text (tenant 59 has no template).
        let (status, _) =
            rest(&b, "/api/sms/notifications/voicemail", Some("key-only-59-0000001"), r#"{"extension": "1001"}"#).await;
        assert_eq!(status, 200);
        // A system number ("*") serves any tenant; a multi-tenant key names one.
        let (status, from66) = rest(
            &b,
            "/api/sms/send",
            Some("key-59-and-66-00001"),
            r#"{"to": "+14165551234", "message": "hi", "server": "66"}"#,
        )
        .await;
        assert_eq!((status, &from66["from"]), (200, &json!("+14165550066")));
        // UCS-2 and segments.
        let (_, ucs2) = rest(
            &b,
            "/api/sms/send",
            Some("key-only-59-0000001"),
            &json!({"to": "+14165551234", "message": "Grüße – ж".repeat(10)}).to_string(),
        )
        .await;
        assert_eq!((&ucs2["encoding"], &ucs2["segments"]), (&json!("UCS-2"), &json!(2)));

        let sent = b.sent().await;
        let texts: Vec<&str> = sent.iter().map(|s| s.text.as_str()).collect();
        assert_eq!(
            texts[..4],
            [
                "You have received a new voicemail.",
                "Test SMS notification",
                "New voicemail received",
                "You have received a new voicemail."
            ],
            "{}",
            b.name
        );
        assert!(sent.iter().take(4).all(|s| s.from == "+14165550000" && s.to == "+14165551234"));
        assert_eq!(sent[4].from, "+14165550066");
        assert_eq!(sent.len(), 6);
    }
}

/// An `Idempotency-Key` is visible ASCII (docs/openapi.yaml); control
/// characters in a message never reach a phone: a tab is a space, CR LF a
/// newline, the rest dropped.
#[tokio::test]
async fn idempotency_keys_are_visible_ascii_and_texts_lose_their_control_characters() {
    let body = r#"{"to": "+14165551234", "message": "hi", "server": "59"}"#;
    for b in setup().await {
        for bad in ["order 42", "order\t42", "", &"x".repeat(256)] {
            let mut req =
                request("POST", "/api/sms/send", &[("x-api-key", ALL), ("content-type", "application/json")], body);
            req.headers_mut().insert("idempotency-key", http::HeaderValue::from_str(bad).expect("a header value"));
            let got = answer(send_sms::handler::handle(&b.service(), req).await.unwrap());
            let text = "Required field 'Idempotency-Key' contains invalid data (1 to 255 visible ASCII characters)";
            assert_eq!(got, (400, err(text)), "{}: {bad:?}", b.name);
        }
        assert_nothing_sent(&b, "bad idempotency keys");
        let message = json!({"to": "+14165551234", "message": "Line 1\r\nLine\t2\u{0}\u{1b}[2J\u{7}!", "server": "59"})
            .to_string();
        let (status, sent) = rest(&b, "/api/sms/send", Some(ALL), &message).await;
        assert_eq!(status, 200, "{}: {sent}", b.name);
        assert_eq!(b.sent().await[0].text, "Line 1\nLine 2[2J!", "{}", b.name);
    }
}

#[tokio::test]
async fn action_api_takes_form_bodies_and_header_keys() {
    for b in setup().await {
        let form = format!("action=pbxware.sms.send_message&server=59&to_number=%2B14165551234&body={BODY}");
        let req =
            request("POST", "/", &[("content-type", "application/x-www-form-urlencoded"), ("x-api-key", ALL)], &form);
        let (status, body) = answer(send_sms::handler::handle(&b.service(), req).await.unwrap());
        assert_eq!((status, &body["success"]), (200, &json!("SMS message sent")), "{body}");
        // A query key and a different header key: refused, not guessed.
        let req = request(
            "GET",
            &format!("/?{}", q(ALL, "59", "%2B14165551234", BODY)),
            &[("x-api-key", "key-only-59-0000001")],
            "",
        );
        let (_, body) = answer(send_sms::handler::handle(&b.service(), req).await.unwrap());
        assert_eq!(body, err("Invalid API key."));
        // The `+`s of an unencoded query string arrive as spaces.
        let spaced = q(ALL, "59", "+14165551234", "T2s/Pj4+");
        let (_, body) = action(&b, &spaced).await;
        assert_eq!(body["success"], "SMS message sent", "{body}");
        assert_eq!(b.sent().await.last().unwrap().text, "Ok?>>>");
    }
}

#[tokio::test]
async fn oversize_requests_are_refused_before_parsing() {
    for b in setup().await {
        let huge = "a".repeat(shared::inbound::api::MAX_REQUEST_BYTES + 1);
        let (status, body) = rest(&b, "/api/sms/send", Some(ALL), &huge).await;
        assert_eq!((status, body), (413, err("Request body is too large: the limit is 16384 bytes")));
        let (status, body) = action(&b, &format!("{}&pad={huge}", q(ALL, "59", "%2B14165551234", BODY))).await;
        assert_eq!((status, body), (200, err("Request body is too large: the limit is 16384 bytes")));
        // Too long a message: 11 segments.
        let long = json!({"to": "+14165551234", "message": "a".repeat(1531), "server": "59"}).to_string();
        let (status, body) = rest(&b, "/api/sms/send", Some(ALL), &long).await;
        assert_eq!((status, body), (400, err("Message is too long: 11 SMS segments, at most 10 are allowed")));
        assert_nothing_sent(&b, "oversize");
    }
}

/// An API Gateway event for `method path`, as a REST API (payload 1.0) or
/// an HTTP API (payload 2.0) sends it on this stage.
fn gateway_event(v1: bool, stage: &str, method: &str, path: &str, query: &str, body: &str) -> lambda_http::Request {
    let headers = json!({"host": "abc123.execute-api.us-east-1.amazonaws.com", "content-type": "application/json", "x-api-key": ALL});
    let event = if v1 {
        let params: serde_json::Map<String, Value> =
            form_urlencoded::parse(query.as_bytes()).map(|(k, v)| (k.into_owned(), json!(v))).collect();
        json!({"resource": "/{proxy+}", "path": path, "httpMethod": method, "headers": headers,
               "queryStringParameters": if params.is_empty() { Value::Null } else { Value::Object(params) },
               "requestContext": {"resourcePath": "/{proxy+}", "httpMethod": method, "path": format!("/{stage}{path}"),
                                  "accountId": "123456789012", "protocol": "HTTP/1.1", "stage": stage, "requestId": "r",
                                  "identity": {"sourceIp": "203.0.113.10"}, "apiId": "abc123"},
               "body": body, "isBase64Encoded": false})
    } else {
        // An HTTP API on a named stage puts the stage in rawPath; `/` is `/prod`.
        let raw = if stage == "$default" { path.to_owned() } else { format!("/{stage}{}", path.trim_end_matches('/')) };
        json!({"version": "2.0", "routeKey": format!("{method} {path}"), "rawPath": raw, "rawQueryString": query, "headers": headers,
               "requestContext": {"accountId": "123456789012", "apiId": "abc123", "domainName": "abc123.execute-api.us-east-1.amazonaws.com",
                                  "http": {"method": method, "path": raw, "protocol": "HTTP/1.1", "sourceIp": "203.0.113.10", "userAgent": "t"},
                                  "requestId": "r", "routeKey": format!("{method} {path}"), "stage": stage, "time": "t", "timeEpoch": 0},
               "body": body, "isBase64Encoded": false})
    };
    lambda_http::request::from_str(&event.to_string()).expect("an API Gateway event")
}

/// Every route answers on a named stage, in both payload formats, and on
/// the default stage; what is not a route is still 404 there.
#[tokio::test]
async fn every_route_answers_behind_a_named_stage_in_both_payload_formats() {
    let b = integration_tests::embedded();
    b.apply(CONFIG).await;
    let svc = b.service();
    let query = q(ALL, "59", "%2B14165551234", BODY);
    let send = r#"{"to": "+14165551234", "message": "hi", "server": "59"}"#;
    let voicemail = r#"{"extension": "1001", "server": "59"}"#;
    for (v1, stage) in [(true, "prod"), (false, "prod"), (false, "$default"), (true, "$default"), (true, "Stage-2")] {
        let case = format!("{} on {stage}", if v1 { "REST API v1" } else { "HTTP API v2" });
        let (status, body) =
            answer(send_sms::handler::handle(&svc, gateway_event(v1, stage, "GET", "/", &query, "")).await.unwrap());
        assert_eq!((status, &body["success"]), (200, &json!("SMS message sent")), "{case}: GET / {body}");
        let (status, body) =
            answer(send_sms::handler::handle(&svc, gateway_event(v1, stage, "POST", "/", &query, "")).await.unwrap());
        assert_eq!((status, &body["success"]), (200, &json!("SMS message sent")), "{case}: POST / {body}");
        let (status, body) = answer(
            send_sms::handler::handle(&svc, gateway_event(v1, stage, "POST", "/api/sms/send", "", send)).await.unwrap(),
        );
        assert_eq!((status, &body["to"]), (200, &json!("+14165551234")), "{case}: POST /api/sms/send {body}");
        let (status, body) = answer(
            voicemail_notify::handler::handle(
                &svc,
                gateway_event(v1, stage, "POST", "/api/sms/notifications/voicemail", "", voicemail),
            )
            .await
            .unwrap(),
        );
        assert_eq!((status, &body["to"]), (200, &json!("+14165551234")), "{case}: POST voicemail {body}");
        let (status, body) = answer(
            send_sms::handler::handle(&svc, gateway_event(v1, stage, "POST", "/api/sms/sendx", "", send))
                .await
                .unwrap(),
        );
        assert_eq!((status, body), (404, err("Not found")), "{case}");
        let (status, _) = answer(
            send_sms::handler::handle(&svc, gateway_event(v1, stage, "GET", "/api/sms/send", "", "")).await.unwrap(),
        );
        assert_eq!(status, 405, "{case}");
    }
    assert_eq!(b.sent().await.len(), 20);
}

#[tokio::test]
async fn routes_and_methods() {
    for b in setup().await {
        let svc = b.service();
        let (status, body) = answer(send_sms::handler::handle(&svc, request("GET", "/nope", &[], "")).await.unwrap());
        assert_eq!((status, body), (404, err("Not found")));
        let (status, body) = answer(send_sms::handler::handle(&svc, request("DELETE", "/", &[], "")).await.unwrap());
        assert_eq!((status, body), (405, err("Method not allowed")));
        let (status, _) =
            answer(send_sms::handler::handle(&svc, request("GET", "/api/sms/send", &[], "")).await.unwrap());
        assert_eq!(status, 405);
        let (status, _) =
            answer(voicemail_notify::handler::handle(&svc, request("POST", "/api/sms/send", &[], "")).await.unwrap());
        assert_eq!(status, 404);
        assert_nothing_sent(&b, "routes");
    }
}

/// A method a route does not serve is 405 with an `Allow` header naming
/// those it does (RFC 9110), from the function API Gateway routes it to.
#[tokio::test]
async fn other_methods_are_405_with_the_routes_allow_header() {
    let b = integration_tests::embedded();
    b.apply(CONFIG).await;
    let svc = b.service();
    let routes = [
        ("/", "GET, POST"),
        ("/api/sms/send", "POST"),
        ("/api/sms/messages", "GET"),
        ("/api/sms/messages/0192f8a1", "GET"),
        ("/api/sms/notifications/voicemail", "POST"),
        ("/r/AQIDBAUGBwgJCgsMDQ4PEA", "GET, HEAD"),
    ];
    for (path, allow) in routes {
        for method in ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "QUERY"] {
            if allow.split(", ").any(|m| m == method) {
                continue;
            }
            let req = request(method, path, &[("x-api-key", ALL)], "");
            let resp = match path {
                "/api/sms/notifications/voicemail" => voicemail_notify::handler::handle(&svc, req).await,
                "/r/AQIDBAUGBwgJCgsMDQ4PEA" => recording_link::handler::handle(&svc, req).await,
                _ => send_sms::handler::handle(&svc, req).await,
            }
            .unwrap();
            let header = resp.headers().get("allow").and_then(|v| v.to_str().ok()).map(str::to_owned);
            assert_eq!(
                (answer(resp), header.as_deref()),
                ((405, err("Method not allowed")), Some(allow)),
                "{method} {path}"
            );
        }
    }
    assert_nothing_sent(&b, "other methods");
}

#[tokio::test]
async fn provider_failures_are_reported_never_hidden() {
    let send = r#"{"to": "+14165551234", "message": "hi"}"#;
    let query = q(ALL, "59", "%2B14165551234", BODY);
    for b in setup().await {
        // Refused by the provider: 502 in REST, an `error` (HTTP 200) in the action API.
        let refused = "SMS provider failed to send the message";
        b.gateway.reject_next(2);
        assert_eq!(
            rest(&b, "/api/sms/send", Some("key-only-59-0000001"), send).await,
            (502, err(refused)),
            "{}",
            b.name
        );
        assert_eq!(action(&b, &query).await, (200, err(refused)));
        // Unreachable or throttling: infrastructure, 502 in both.
        let down = "SMS provider is unavailable";
        b.gateway.fail_next(2);
        assert_eq!(rest(&b, "/api/sms/send", Some("key-only-59-0000001"), send).await, (502, err(down)));
        assert_eq!(action(&b, &query).await, (502, err(down)));
        assert!(b.gateway.accepted().is_empty(), "{}: nothing reported as sent", b.name);
        let log = b.admin.messages(None, 10).await.unwrap();
        let mut statuses: Vec<&str> = log.iter().map(|m| m.status.as_str()).collect();
        statuses.sort();
        // Refused for good, or failed and worth a retry; never sent.
        assert_eq!(statuses, ["failed", "failed", "refused", "refused"], "{}", b.name);
        assert!(log.iter().all(|m| m.provider_id.is_none() && m.error.is_some()));
    }
}

/// A store that cannot be read.
struct BrokenStore;

#[async_trait::async_trait]
impl shared::ports::Store for BrokenStore {
    async fn lookup(&self, _: shared::ports::Lookup<'_>) -> Result<shared::ports::Found, StoreError> {
        Err(StoreError("disk on fire".into()))
    }
    async fn begin(&self, _: &shared::ports::Start<'_>) -> Result<shared::ports::Begun, StoreError> {
        Err(StoreError("disk on fire".into()))
    }
    async fn finish(&self, _: &shared::ports::End<'_>) -> Result<shared::ports::Finished, StoreError> {
        Err(StoreError("disk on fire".into()))
    }
    async fn receive(&self, _: &shared::domain::Receipt) -> Result<shared::ports::Received, StoreError> {
        Err(StoreError("disk on fire".into()))
    }
    async fn page(&self, _: &shared::ports::MessageQuery<'_>) -> Result<shared::ports::MessagePage, StoreError> {
        Err(StoreError("disk on fire".into()))
    }
    async fn message(&self, _: &str) -> Result<Option<shared::domain::MessageRecord>, StoreError> {
        Err(StoreError("disk on fire".into()))
    }
    async fn update_extension(
        &self,
        _: &shared::domain::ExtensionRecord,
        _: &shared::domain::ExtensionRecord,
    ) -> Result<bool, StoreError> {
        Err(StoreError("disk on fire".into()))
    }
    async fn link(&self, _: &shared::domain::KeyHash) -> Result<Option<shared::domain::RecordingLink>, StoreError> {
        Err(StoreError("disk on fire".into()))
    }
    async fn waiting(&self, _: &str) -> Result<Option<shared::ports::Waiting>, StoreError> {
        Err(StoreError("disk on fire".into()))
    }
    async fn resume(&self, _: &shared::ports::Resume<'_>) -> Result<shared::ports::Resumed, StoreError> {
        Err(StoreError("disk on fire".into()))
    }
    async fn due(&self, _: i64, _: usize) -> Result<Vec<String>, StoreError> {
        Err(StoreError("disk on fire".into()))
    }
}

use shared::ports::StoreError;

#[tokio::test]
async fn storage_failures_answer_a_generic_500_and_log_the_cause() {
    let b = integration_tests::embedded();
    let svc = shared::service::Service::new(
        std::sync::Arc::new(BrokenStore),
        b.gateway.clone(),
        Default::default(),
        shared::adapters::clock::system(),
    );
    let (logs, guard) = integration_tests::capture_logs();
    let rest = answer(
        send_sms::handler::handle(
            &svc,
            request("POST", "/api/sms/send", &[("x-api-key", ALL)], r#"{"to": "+14165551234", "message": "hi"}"#),
        )
        .await
        .unwrap(),
    );
    let action = answer(
        send_sms::handler::handle(
            &svc,
            request("GET", &format!("/?{}", q(ALL, "59", "%2B14165551234", BODY)), &[], ""),
        )
        .await
        .unwrap(),
    );
    drop(guard);
    assert_eq!(rest, (500, err("Internal error")));
    assert_eq!(action, (500, err("Internal error")));
    assert!(logs.text().contains("disk on fire"), "the cause goes to the log: {}", logs.text());
    assert_nothing_sent(&b, "storage down");
}
