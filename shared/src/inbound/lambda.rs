//! The HTTP functions' side of lambda_http.
//!
//! - [`run_http`]: `lambda_http::run`, with one repair before lambda_http
//!   sees an event. lambda_http builds the request URI from API Gateway's
//!   `rawQueryString` as the client sent it and panics (`expect`) when that
//!   is not a valid URI, e.g. a raw space, quote or angle bracket: a request
//!   could crash the function. Such bytes are percent-encoded first, which
//!   the query parsers decode back to the same text.
//! - [`api_request`]: a request's route (its path without API Gateway's
//!   stage) and the parts the API code reads, with the invocation's
//!   deadline.

use std::borrow::Cow;
use std::fmt::Debug;
use std::task::{Context, Poll};

use lambda_http::lambda_runtime::Diagnostic;
use lambda_http::request::{LambdaRequest, RequestContext};
use lambda_http::{Adapter, IntoResponse, LambdaEvent, Request, RequestExt, Service};

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use super::api::HttpRequest;

/// The route a request asks for, and its parts for the API code.
///
/// API Gateway puts a named stage in the path: a REST API (payload 1.0)
/// sends the path without it and lambda_http prepends it; an HTTP API on a
/// named stage sends `rawPath` with it. Either way the route is the path
/// without `/<stage>`, so `/prod/api/sms/send` routes as `/api/sms/send` and
/// `/prod` or `/prod/` as `/`. (lambda_http turns an HTTP API's bare
/// `/prod` into `/prod/prod`; that too is `/`.)
pub fn api_request(req: &Request) -> (&str, HttpRequest<'_>) {
    let mut http = HttpRequest::of(req);
    http.deadline = req.lambda_context_ref().map(|c| c.deadline);
    let stage = match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV1(c)) => c.stage.as_deref(),
        Some(RequestContext::ApiGatewayV2(c)) => c.stage.as_deref(),
        _ => None,
    };
    (route(req.uri().path(), stage), http)
}

fn route<'p>(path: &'p str, stage: Option<&str>) -> &'p str {
    let Some(stage) = stage.filter(|s| !s.is_empty() && *s != "$default") else {
        return path;
    };
    let mut rest = path;
    // At most twice: once for the stage, once for lambda_http's doubling.
    for _ in 0..2 {
        match rest.strip_prefix('/').and_then(|r| r.strip_prefix(stage)) {
            Some(r) if r.is_empty() || r.starts_with('/') => rest = r,
            _ => break,
        }
    }
    if rest.is_empty() { "/" } else { rest }
}

pub async fn run_http<'a, R, S, E>(handler: S) -> Result<(), lambda_http::Error>
where
    S: Service<Request, Response = R, Error = E>,
    S::Future: Send + 'a,
    R: IntoResponse,
    E: Debug + Into<Diagnostic>,
{
    lambda_http::lambda_runtime::run(RepairQuery(Adapter::from(handler))).await
}

struct RepairQuery<A>(A);

impl<A: Service<LambdaEvent<LambdaRequest>>> Service<LambdaEvent<LambdaRequest>> for RepairQuery<A> {
    type Response = A::Response;
    type Error = A::Error;
    type Future = A::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, mut event: LambdaEvent<LambdaRequest>) -> Self::Future {
        repair(&mut event.payload);
        self.0.call(event)
    }
}

/// Percent-encodes what a URI query may not hold in an API Gateway v2 event.
pub fn repair(request: &mut LambdaRequest) {
    if let LambdaRequest::ApiGatewayV2(r) = request
        && let Some(q) = r.raw_query_string.as_mut()
        && let Cow::Owned(encoded) = Cow::from(utf8_percent_encode(q, QUERY_ENCODED))
    {
        *q = encoded;
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_lose_their_stage() {
        for (path, stage, want) in [
            ("/prod/api/sms/send", Some("prod"), "/api/sms/send"),
            ("/prod/", Some("prod"), "/"),
            ("/prod", Some("prod"), "/"),
            ("/prod/prod", Some("prod"), "/"),
            ("/api/sms/send", Some("prod"), "/api/sms/send"),
            ("/api/sms/send", Some("$default"), "/api/sms/send"),
            ("/", None, "/"),
            ("/production/api/sms/send", Some("prod"), "/production/api/sms/send"),
            ("/Prod/api/sms/send", Some("prod"), "/Prod/api/sms/send"),
        ] {
            assert_eq!(route(path, stage), want, "{path} on {stage:?}");
        }
    }

    #[test]
    fn hostile_query_strings_become_valid_and_keep_their_meaning() {
        for raw in ["a=b c", "a=\"x\"", "a=<x>", "a=é", "a=\\", "a={}|^`", "a=%zz", "a=#frag", "a=\u{0}"] {
            let event = serde_json::json!({
                "version": "2.0", "routeKey": "GET /", "rawPath": "/", "rawQueryString": raw,
                "headers": {"host": "example.com"},
                "requestContext": {"http": {"method": "GET", "path": "/", "protocol": "HTTP/1.1", "sourceIp": "203.0.113.1", "userAgent": "t"},
                                   "stage": "$default", "requestId": "r", "routeKey": "GET /", "accountId": "1", "apiId": "a",
                                   "domainName": "example.com", "domainPrefix": "example", "time": "t", "timeEpoch": 0},
                "isBase64Encoded": false
            });
            let mut request: LambdaRequest = serde_json::from_value(event).unwrap();
            repair(&mut request);
            let request: Request = request.into();
            let query = request.uri().query().unwrap_or_default().to_owned();
            let decoded: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes()).into_owned().collect();
            let expected: Vec<(String, String)> = form_urlencoded::parse(raw.as_bytes()).into_owned().collect();
            assert_eq!(decoded, expected, "{raw:?}");
        }
    }
}
