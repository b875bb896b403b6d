//! What an API Gateway event must be before lambda_http converts it. Its
//! conversion panics (`expect`, `unwrap`) on a body marked Base64 that is
//! not, on a Host (or `X-Forwarded-Proto`) no URL can hold, and on a raw
//! query string that is no valid URI; and a REST API (payload 1.0) event's
//! repeated header reaches the handler as its last value only, where every
//! other path sees them all. So, before it runs:
//!
//! - a raw query string's bytes that a URI may not hold are percent-encoded
//!   (the query parsers decode them back to the same text);
//! - a repeated header of a payload 1.0 event is kept whole (its single-value
//!   copy, which lambda_http would let win, is dropped);
//! - a body that is not the Base64 it claims, or a Host that is no valid
//!   authority, is refused: the answer is a 400 that names it.

use std::borrow::Cow;

use http::HeaderMap;
use lambda_http::request::LambdaRequest;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use crate::service::Error;

/// Every byte but RFC 3986's query characters, `%` (escapes are kept as
/// sent) and the few that `http::Uri` takes beyond them.
const QUERY_ENCODED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'!')
    .remove(b'$')
    .remove(b'&')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')')
    .remove(b'*')
    .remove(b'+')
    .remove(b',')
    .remove(b';')
    .remove(b'=')
    .remove(b':')
    .remove(b'@')
    .remove(b'/')
    .remove(b'?')
    .remove(b'%');

/// Repairs the event in place, or says why it cannot be answered.
pub fn repair(request: &mut LambdaRequest) -> Result<(), Error> {
    match request {
        LambdaRequest::ApiGatewayV2(r) => {
            if let Some(q) = r.raw_query_string.as_mut()
                && let Cow::Owned(encoded) = Cow::from(utf8_percent_encode(q, QUERY_ENCODED))
            {
                *q = encoded;
            }
            check_body(r.body.as_deref(), r.is_base64_encoded)?;
            check_url(&r.headers, r.request_context.domain_name.as_deref(), r.raw_path.as_deref())
        }
        LambdaRequest::ApiGatewayV1(r) => {
            keep_repeated_headers(&r.multi_value_headers, &mut r.headers);
            check_body(r.body.as_deref(), r.is_base64_encoded)?;
            check_url(&r.headers, r.request_context.domain_name.as_deref(), r.path.as_deref())
        }
        _ => Ok(()),
    }
}

/// lambda_http merges `headers` over `multiValueHeaders`, so a name given
/// twice would keep only `headers`' (the last) value: the single copy goes,
/// and every value stays.
fn keep_repeated_headers(multi: &HeaderMap, single: &mut HeaderMap) {
    for name in multi.keys() {
        if multi.get_all(name).iter().count() > 1 {
            single.remove(name);
        }
    }
}

fn check_body(body: Option<&str>, base64: bool) -> Result<(), Error> {
    use base64::Engine;
    match body {
        // As lambda_http decodes it.
        Some(b) if base64 && base64::engine::general_purpose::STANDARD.decode(b).is_err() => {
            Err(Error::invalid("body", "Base64, as isBase64Encoded says"))
        }
        _ => Ok(()),
    }
}

/// The URL lambda_http builds: `X-Forwarded-Proto` (else `https`), `://`,
/// the Host (else the domain name), the path.
fn check_url(headers: &HeaderMap, domain: Option<&str>, path: Option<&str>) -> Result<(), Error> {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let scheme = text("x-forwarded-proto").unwrap_or("https");
    if url::Url::parse(&format!("{scheme}://localhost/")).is_err() {
        return Err(Error::invalid("X-Forwarded-Proto", "a URL scheme such as https"));
    }
    let Some(host) = text("host").or(domain) else { return Ok(()) };
    match url::Url::parse(&format!("{scheme}://{host}{}", path.unwrap_or_default())) {
        Ok(_) => Ok(()),
        Err(_) => Err(Error::invalid("Host", "a host name or address, and a port")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_http::Request;

    fn v2(raw_query: &str, host: &str, body: Option<(&str, bool)>) -> LambdaRequest {
        let (body, base64) = body.unwrap_or(("", false));
        let event = serde_json::json!({
            "version": "2.0", "routeKey": "GET /", "rawPath": "/", "rawQueryString": raw_query,
            "headers": {"host": host},
            "requestContext": {"http": {"method": "GET", "path": "/", "protocol": "HTTP/1.1", "sourceIp": "203.0.113.1", "userAgent": "t"},
                               "stage": "$default", "requestId": "r", "routeKey": "GET /", "accountId": "1", "apiId": "a",
                               "domainName": "example.com", "domainPrefix": "example", "time": "t", "timeEpoch": 0},
            "body": body, "isBase64Encoded": base64
        });
        serde_json::from_value(event).unwrap()
    }

    #[test]
    fn hostile_query_strings_become_valid_and_keep_their_meaning() {
        for raw in ["a=b c", "a=\"x\"", "a=<x>", "a=é", "a=\\", "a={}|^`", "a=%zz", "a=#frag", "a=\u{0}"] {
            let mut request = v2(raw, "example.com", None);
            repair(&mut request).unwrap();
            let request: Request = request.into();
            let query = request.uri().query().unwrap_or_default().to_owned();
            let decoded: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes()).into_owned().collect();
            let expected: Vec<(String, String)> = form_urlencoded::parse(raw.as_bytes()).into_owned().collect();
            assert_eq!(decoded, expected, "{raw:?}");
        }
    }

    #[test]
    fn what_lambda_http_would_panic_on_is_refused_and_the_rest_converts() {
        let refused = |mut r: LambdaRequest| repair(&mut r).unwrap_err().to_string();
        assert_eq!(
            refused(v2("", "example.com", Some(("not base64!", true)))),
            "Required field 'body' contains invalid data (Base64, as isBase64Encoded says)"
        );
        for host in ["exa mple.com", "example.com:99999", "[::1", "a<b>", "x%zz"] {
            assert_eq!(
                refused(v2("", host, None)),
                "Required field 'Host' contains invalid data (a host name or address, and a port)",
                "{host}"
            );
        }
        for host in ["exa mple.com", "example.com:99999", "[::1", "a<b>", "x%zz"] {
            let converted = std::panic::catch_unwind(|| Request::from(v2("", host, None)));
            assert!(converted.is_err(), "{host}: lambda_http converts it, so it needs no refusal");
        }
        for fine in [v2("", "example.com:8443", Some(("aGk=", true))), v2("a=1", "[::1]:3000", Some(("{}", false)))] {
            let mut fine = fine;
            repair(&mut fine).unwrap();
            let _: Request = fine.into();
        }
    }
}
