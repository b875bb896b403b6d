//! Property-based fuzzing of every parser that takes hostile input: no panic,
//! and what is accepted is well-formed. The test command runs a bounded number
//! of cases (proptest's default, 256, or PROPTEST_CASES); the documented long
//! run is `PROPTEST_CASES=100000 cargo test --release -p shared --test fuzz`
//! (eleven targets, over 1,000,000 inputs).

use http::{HeaderMap, HeaderValue, Method};
use proptest::prelude::*;
use shared::domain::{Cursor, E164, Extension, KeyHash, LinkToken, Receipt, TenantId};
use shared::inbound::api::{HttpRequest, action, rest};
use shared::inbound::trigger::{KeyLayout, decode_key};
use shared::service::ApiAction;

/// Strings that look like what attackers send: query syntax, encodings,
/// separators, Unicode digits, and plain noise.
fn hostile() -> impl Strategy<Value = String> {
    prop_oneof![
        ".*",
        "[a-z_=&%+0-9A-F#/.]{0,64}",
        "(apikey|action|server|to_number|body)=[^&]{0,40}(&(apikey|action|server|to_number|body)=[^&]{0,40}){0,6}",
        "action=pbxware\\.(sms\\.reports\\.list|ext\\.es\\.smsnotifications\\.(get|set))(&(start_date|end_date|start_time|end_time|direction|from_number|to_number|type|server|id|state)=[^&]{0,20}){0,8}",
        "(Jan|Feb|nov|NOV|Xyz)-[0-9]{0,3}-[0-9]{0,5}",
        "[+ ]?[0-9٠-٩０-９]{0,20}",
        "[A-Za-z0-9+/= ]{0,80}",
    ]
}

fn req<'a>(method: &'a Method, query: Option<&'a str>, headers: &'a HeaderMap, body: &'a [u8]) -> HttpRequest<'a> {
    HttpRequest::new(method, query, headers, body)
}

proptest! {
    #[test]
    fn action_api_parameters(query in hostile(), body in hostile(), key in hostile()) {
        let mut headers = HeaderMap::new();
        headers.insert("content-type", HeaderValue::from_static("application/x-www-form-urlencoded"));
        if let Ok(v) = HeaderValue::from_str(&key) {
            headers.insert("x-api-key", v);
        }
        for method in [Method::GET, Method::POST] {
            if let Ok(call) = action::parse(&req(&method, Some(&query), &headers, body.as_bytes())) {
                let names = call.names.clone();
                if let Ok(r) = (call.shape)() {
                    // What was read with the key is what the request names.
                    prop_assert_eq!(&names.tenant, &r.tenant);
                    match r.action {
                        ApiAction::Reports(q) => prop_assert!(q.since <= q.until),
                        _ => prop_assert!(r.tenant.is_some()),
                    }
                }
            }
        }
    }

    #[test]
    fn rest_json_bodies(body in prop_oneof![
        hostile(),
        (hostile(), hostile(), hostile()).prop_map(|(a, b, c)| format!(r#"{{"to":"{a}","message":"{b}","server":"{c}"}}"#)),
        (hostile(), hostile()).prop_map(|(a, b)| format!(r#"{{"extension":{a},"message":{b}}}"#)),
    ], idem in hostile()) {
        let mut headers = HeaderMap::new();
        if let Ok(v) = HeaderValue::from_str(&idem) {
            headers.insert("idempotency-key", v);
        }
        for endpoint in [rest::Endpoint::Send, rest::Endpoint::Voicemail] {
            let Ok(call) = rest::parse(endpoint, &req(&Method::POST, None, &headers, body.as_bytes())) else { continue };
            if let Some((k, _)) = &call.idempotency {
                prop_assert!(!k.is_empty() && k.bytes().all(|b| b.is_ascii_graphic()));
            }
            let names = call.names.clone();
            if let Ok(r) = (call.shape)() {
                prop_assert_eq!(&names.tenant, &r.tenant);
                prop_assert_eq!(names.extension.as_ref(), r.action.extension());
            }
        }
    }

    #[test]
    fn repeated_json_fields(k in 0usize..3, a in hostile(), b in hostile(), voicemail in any::<bool>()) {
        let (endpoint, fields) = match voicemail {
            false => (rest::Endpoint::Send, ["to", "message", "server"]),
            true => (rest::Endpoint::Voicemail, ["extension", "message", "server"]),
        };
        let body = serde_json::json!({fields[k]: a}).to_string();
        let body = format!(r#"{},"to":"+14165551234","{}":{}}}"#, body.trim_end_matches('}'), fields[k], serde_json::json!(b));
        let body = if voicemail { body.replace(r#""to":"+14165551234""#, r#""message":null"#) } else { body };
        let headers = HeaderMap::new();
        let call = rest::parse(endpoint, &req(&Method::POST, None, &headers, body.as_bytes())).expect("within the limits");
        // A field named twice is never read one way or the other.
        let refused = format!("Required field '{}' contains invalid data (a single value)", fields[k]);
        prop_assert_eq!((call.shape)().map(|_| ()).map_err(|e| e.to_string()), Err(refused), "{}", body);
    }

    #[test]
    fn message_texts(raw in prop_oneof![".*", "[\\x00-\\x1f\\x7f\u{85}\u{200b}-\u{200f}\u{2028}-\u{202e}\u{2066}-\u{2069}\u{feff} a\n]{0,40}"]) {
        if let Ok(text) = shared::domain::MessageText::new(raw) {
            prop_assert!(!text.as_str().chars().any(|c| c.is_control() && c != '\n'), "{:?}", text.as_str());
            prop_assert!(!shared::domain::text::is_blank(text.as_str()));
        }
    }

    #[test]
    fn rest_reads(query in hostile(), id in hostile()) {
        let headers = HeaderMap::new();
        for endpoint in [rest::Endpoint::Messages, rest::Endpoint::Message(&id)] {
            let r = rest::parse(endpoint, &req(&Method::GET, Some(&query), &headers, b""));
            if let Ok(ApiAction::Messages(q)) = r.and_then(|c| (c.shape)()).map(|r| r.action) {
                prop_assert!((1..=rest::MAX_PAGE).contains(&q.limit));
            }
        }
    }

    #[test]
    fn delivery_receipts(line in prop_oneof![
        hostile(),
        (hostile(), hostile(), hostile(), hostile()).prop_map(|(id, ts, status, response)| serde_json::json!({
            "notification": {"messageId": id, "timestamp": ts},
            "delivery": {"providerResponse": response, "priceInUSD": 0.00645},
            "status": status,
        }).to_string()),
        (hostile(), "20[0-9]{2}-[01][0-9]-[0-3][0-9] [0-2][0-9]:[0-5][0-9]:[0-5][0-9](\\.[0-9]{0,12})?").prop_map(|(id, ts)| serde_json::json!({
            "notification": {"messageId": id, "timestamp": ts}, "status": "SUCCESS"}).to_string()),
    ]) {
        if let Ok(r) = Receipt::parse(&line) {
            prop_assert!(!r.provider_id.is_empty() && r.provider_id.len() <= 100);
            prop_assert!(r.provider_id.bytes().all(|b| b.is_ascii_graphic()));
            prop_assert!(!r.response.chars().any(shared::domain::text::is_invisible));
        }
    }

    #[test]
    fn link_tokens_and_cursors(raw in prop_oneof![hostile(), "[A-Za-z0-9_-]{20,24}", "[A-Za-z0-9_-]{0,60}"]) {
        if let Some(t) = LinkToken::parse(&raw) {
            prop_assert_eq!(t.as_str(), raw.as_str());
            prop_assert_eq!(t.as_str().len(), LinkToken::LEN);
        }
        if let Some(c) = Cursor::parse(&raw) {
            prop_assert_eq!(Cursor::parse(&c.encode()), Some(c.clone()));
            prop_assert!(c.at >= 0 && !c.id.contains('#'));
        }
    }

    #[test]
    fn base64_bodies(raw in hostile()) {
        if let Ok(text) = action::decode_body(&raw) {
            prop_assert!(!text.as_str().trim().is_empty());
            prop_assert!((1..=shared::domain::MAX_SEGMENTS).contains(&text.segments()));
        }
    }

    #[test]
    fn phone_numbers(raw in hostile()) {
        if let Some(n) = E164::parse(&raw) {
            prop_assert!(n.as_str().starts_with('+'));
            prop_assert!(n.as_str()[1..].bytes().all(|b| b.is_ascii_digit()));
            prop_assert_eq!(E164::parse(n.as_str()), Some(n));
        }
    }

    #[test]
    fn tenant_ids_extensions_and_keys(raw in hostile()) {
        for ok in [TenantId::parse(&raw).map(|t| t.to_string()), Extension::parse(&raw).map(|x| x.to_string())].into_iter().flatten() {
            prop_assert!(!ok.is_empty() && ok.len() <= 15 && ok.bytes().all(|b| b.is_ascii_digit()));
        }
        if let Some(h) = KeyHash::of_presented(&raw) {
            prop_assert_eq!(h.as_str().len(), 64);
        }
    }

    #[test]
    fn s3_keys(raw in hostile()) {
        let layout = KeyLayout::default();
        if let Ok(key) = decode_key(&raw)
            && let Ok((tenant, extension)) = layout.voicemail_of(&key) {
                prop_assert!(key.starts_with("voicemail/"));
                prop_assert!(!tenant.as_str().contains(['/', '#', '.']) && !extension.as_str().contains(['/', '#', '.']));
            }
        let event = serde_json::json!({"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
            "s3": {"bucket": {"name": raw}, "object": {"key": raw, "sequencer": raw}}}]});
        let _ = layout.parse(&event);
    }
}
