//! Property-based fuzzing of every parser that takes hostile input: no panic,
//! and what is accepted is well-formed. The test command runs a bounded number
//! of cases (proptest's default, 256, or PROPTEST_CASES); the documented long
//! run is `PROPTEST_CASES=170000 cargo test --release -p shared --test fuzz`
//! (six targets, over 1,000,000 inputs).

use http::{HeaderMap, HeaderValue, Method};
use proptest::prelude::*;
use shared::api::{HttpRequest, action, rest};
use shared::domain::{E164, Extension, KeyHash, TenantId};
use shared::trigger::{KeyLayout, decode_key};

/// Strings that look like what attackers send: query syntax, encodings,
/// separators, Unicode digits, and plain noise.
fn hostile() -> impl Strategy<Value = String> {
    prop_oneof![
        ".*",
        "[a-z_=&%+0-9A-F#/.]{0,64}",
        "(apikey|action|server|to_number|body)=[^&]{0,40}(&(apikey|action|server|to_number|body)=[^&]{0,40}){0,6}",
        "[+ ]?[0-9٠-٩０-９]{0,20}",
        "[A-Za-z0-9+/= ]{0,80}",
    ]
}

fn req<'a>(method: &'a Method, query: Option<&'a str>, headers: &'a HeaderMap, body: &'a [u8]) -> HttpRequest<'a> {
    HttpRequest { method, query, headers, body, deadline: None }
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
                if let Ok(r) = call.request {
                    prop_assert!(r.tenant.is_some());
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
            let _ = rest::parse(endpoint, &req(&Method::POST, None, &headers, body.as_bytes()));
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
            prop_assert_eq!(E164::parse(n.as_str()), Some(n.clone()));
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
        if let Ok(key) = decode_key(&raw) {
            if let Ok((tenant, extension)) = layout.voicemail_of(&key) {
                prop_assert!(key.starts_with("voicemail/"));
                prop_assert!(!tenant.as_str().contains(['/', '#', '.']) && !extension.as_str().contains(['/', '#', '.']));
            }
        }
        let event = serde_json::json!({"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
            "s3": {"bucket": {"name": raw}, "object": {"key": raw, "sequencer": raw}}}]});
        let _ = layout.parse(&event);
    }
}
