//! The request's edges, read one way whatever carries the request: the key
//! (repeated, not visible ASCII, header and query apart), a REST POST's
//! query string, the form's media type, texts of nothing visible, and what
//! lambda_http would panic on. API Gateway's events are the samples of
//! events/ (HTTP API payload 2.0, REST API payload 1.0), as lambda_http gets
//! them once `shared::inbound::lambda::repair` ran, as in the functions.

use integration_tests::{Backend, answer, embedded, events_config, repo_path, request};
use lambda_http::request::LambdaRequest;
use serde_json::{Value, json};
use shared::inbound::lambda::repair;

const KEY: &str = "test-key-59-abcdef";
const SEND: &str = r#"{"to": "+14165551234", "message": "Test SMS notification"}"#;

fn sample(file: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(repo_path(&format!("events/{file}"))).unwrap()).unwrap()
}

/// A REST send as API Gateway hands it over, in each shape it has: an HTTP
/// API's (repeated headers joined with commas, as API Gateway joins them),
/// a REST API's (`headers` holds the last value, `multiValueHeaders` all),
/// a function URL's (payload 2.0, no stage).
fn send_events(keys: &[&str]) -> Vec<(&'static str, Value)> {
    let mut v2 = sample("rest-send.json");
    v2["headers"]["x-api-key"] = json!(keys.join(","));
    let mut v1 = sample("rest-send-rest-api-prod.json");
    v1["headers"]["X-API-Key"] = json!(keys.last().unwrap());
    v1["multiValueHeaders"]["X-API-Key"] = json!(keys);
    let mut url = v2.clone();
    url["requestContext"]["domainName"] = json!("abcdefghij.lambda-url.us-east-1.on.aws");
    url["headers"]["host"] = json!("abcdefghij.lambda-url.us-east-1.on.aws");
    url["requestContext"]["apiId"] = json!("abcdefghij");
    vec![("HTTP API", v2), ("REST API", v1), ("function URL", url)]
}

/// An event through the repair and the send-sms handler, as the function runs it.
async fn invoke(b: &Backend, event: Value) -> (u16, Value) {
    let mut event: LambdaRequest = serde_json::from_value(event).unwrap();
    if let Err(refusal) = repair(&mut event) {
        return (400, json!({ "error": refusal.to_string() }));
    }
    answer(send_sms::handler::handle(&b.service(), event.into()).await.unwrap())
}

async fn setup() -> Backend {
    let b = embedded();
    b.apply(&events_config()).await;
    b
}

#[tokio::test]
async fn one_key_per_request_whatever_carries_it() {
    let b = setup().await;
    let invalid = (401, json!({"error": "Invalid API key."}));
    for (shape, event) in send_events(&[KEY]) {
        assert_eq!(invoke(&b, event).await.0, 200, "{shape}: the key once");
    }
    let sent = b.gateway.accepted().len();
    for keys in [[KEY, "other-key-0000000001"], ["other-key-0000000001", KEY], [KEY, KEY]] {
        for (shape, event) in send_events(&keys) {
            assert_eq!(invoke(&b, event).await, invalid, "{shape}: {keys:?}");
        }
    }
    // Not visible ASCII: a space inside, a byte past ASCII.
    for odd in ["test-key-59 abcdef", "test-key-59-abcdéf"] {
        for (shape, event) in send_events(&[odd]) {
            assert_eq!(invoke(&b, event).await, invalid, "{shape}: {odd:?}");
        }
    }
    assert_eq!(b.gateway.accepted().len(), sent, "nothing sent with a key read two ways");
}

#[tokio::test]
async fn the_action_apis_key_is_one_of_query_and_header_or_none() {
    let b = setup().await;
    let query = format!("/?apikey={KEY}&action=pbxware.sms.send_message&server=59&to_number=%2B14165551234&body=aGk=");
    let send = |headers: Vec<(&'static str, &'static str)>| {
        let service = b.service();
        let req = request("GET", &query, &headers, "");
        async move { answer(send_sms::handler::handle(&service, req).await.unwrap()) }
    };
    assert_eq!(send(vec![]).await.1["success"], "SMS message sent");
    assert_eq!(send(vec![("x-api-key", KEY)]).await.1["success"], "SMS message sent", "the same key twice");
    let invalid = (200, json!({"error": "Invalid API key."}));
    assert_eq!(send(vec![("x-api-key", "other-key-0000000001")]).await, invalid, "header and query apart");
    assert_eq!(send(vec![("x-api-key", "test-key-59 abcdef")]).await, invalid, "a header not visible ASCII");
    assert_eq!(send(vec![("x-api-key", KEY), ("x-api-key", KEY)]).await, invalid, "the header twice");
}

#[tokio::test]
async fn a_rest_posts_fields_are_its_bodys_only() {
    let b = setup().await;
    for (shape, mut event) in send_events(&[KEY]) {
        if shape == "REST API" {
            event["queryStringParameters"] = json!({"server": "60"});
            event["multiValueQueryStringParameters"] = json!({"server": ["60"]});
        } else {
            event["rawQueryString"] = json!("server=60");
        }
        let refused =
            (400, json!({"error": "Query parameters are not accepted here: send every field in the JSON body"}));
        assert_eq!(invoke(&b, event).await, refused, "{shape}");
    }
    assert!(b.gateway.accepted().is_empty());
}

#[tokio::test]
async fn a_form_is_read_whatever_the_case_of_its_media_type() {
    let b = setup().await;
    let form = format!("apikey={KEY}&action=pbxware.sms.send_message&server=59&to_number=%2B14165551234&body=aGk%3D");
    for media in [
        "application/x-www-form-urlencoded",
        "Application/X-WWW-Form-URLencoded",
        "application/x-www-form-urlencoded; charset=UTF-8",
        "APPLICATION/X-WWW-FORM-URLENCODED;charset=utf-8",
    ] {
        let req = request("POST", "/", &[("content-type", media)], &form);
        let (status, body) = answer(send_sms::handler::handle(&b.service(), req).await.unwrap());
        assert_eq!((status, &body["success"]), (200, &json!("SMS message sent")), "{media}: {body}");
    }
    let req = request("POST", "/", &[("content-type", "text/plain")], &form);
    let (_, body) = answer(send_sms::handler::handle(&b.service(), req).await.unwrap());
    assert_eq!(body, json!({"error": "Invalid API key."}), "not a form: its body (and the key in it) is not read");
}

#[tokio::test]
async fn a_text_of_nothing_visible_is_empty_and_sends_nothing() {
    let b = setup().await;
    let tags: String = ('\u{e0020}'..='\u{e007f}').collect();
    for text in [tags.as_str(), "\u{fe0f}\u{fe00}", "\u{e0100}", "\u{34f}", "\u{2800}", "\u{1bca0}\u{1bca3}", "\u{301}"]
    {
        let body = json!({"to": "+14165551234", "message": text}).to_string();
        let req = request("POST", "/api/sms/send", &[("x-api-key", KEY), ("content-type", "application/json")], &body);
        let got = answer(send_sms::handler::handle(&b.service(), req).await.unwrap());
        assert_eq!(got, (400, json!({"error": "Message is empty"})), "{text:?}");
    }
    assert!(b.gateway.accepted().is_empty());
}

#[tokio::test]
async fn what_lambda_http_would_panic_on_is_a_clean_400() {
    let b = setup().await;
    for (shape, event) in send_events(&[KEY]) {
        let mut not_base64 = event.clone();
        not_base64["isBase64Encoded"] = json!(true);
        let got = invoke(&b, not_base64).await;
        let text = "Required field 'body' contains invalid data (Base64, as isBase64Encoded says)";
        assert_eq!(got, (400, json!({ "error": text })), "{shape}");
        let mut host = event.clone();
        let name = if shape == "REST API" { "Host" } else { "host" };
        host["headers"][name] = json!("exa mple.com");
        let text = "Required field 'Host' contains invalid data (a host name or address, and a port)";
        assert_eq!(invoke(&b, host).await, (400, json!({ "error": text })), "{shape}");
        let mut base64 = event;
        base64["isBase64Encoded"] = json!(true);
        base64["body"] = json!(base64_of(SEND));
        assert_eq!(invoke(&b, base64).await.0, 200, "{shape}: a body in Base64 as it says");
    }
}

fn base64_of(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(text)
}
