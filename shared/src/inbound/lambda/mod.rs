//! The HTTP functions' side of lambda_http.
//!
//! - [`run_http`]: `lambda_http::run`, with what lambda_http would panic on
//!   (or read another way than the local server) repaired or refused first
//!   (`repair`).
//! - [`api_request`]: a request's route (its path without API Gateway's
//!   stage) and the parts the API code reads, with the invocation's
//!   deadline.

mod repair;

pub use repair::repair;

use std::fmt::Debug;
use std::task::{Context, Poll};

use http::{Response, StatusCode};
use lambda_http::lambda_runtime::Diagnostic;
use lambda_http::request::{LambdaRequest, RequestContext};
use lambda_http::{Adapter, Body, IntoResponse, LambdaEvent, Request, RequestExt, Service as Tower, TransformResponse};

use super::api::{HttpRequest, Payload, error_response};
use super::routes::{self, Serving};
use crate::service::Service;

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
    let (stage, source) = match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV1(c)) => (c.stage.as_deref(), c.identity.source_ip.as_deref()),
        Some(RequestContext::ApiGatewayV2(c)) => (c.stage.as_deref(), c.http.source_ip.as_deref()),
        _ => (None, None),
    };
    http.source = source.and_then(|ip| ip.parse().ok());
    let path = req.uri().path();
    let route = route(path, stage);
    // What the browser's URLs carry before the route: the console's links.
    http.base = path.strip_suffix(route).unwrap_or("");
    (route, http)
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

/// An HTTP function's answer to a request, through the routing table, its
/// own routes only (`S`); a recording's audio read whole (a Lambda answer
/// is one payload, within the recording cap).
pub async fn respond<S: Serving>(service: &Service, req: Request) -> Response<Body> {
    let (path, http) = api_request(&req);
    let (parts, payload) = routes::respond::<S>(service, path, &http).await.into_parts();
    let body = match payload {
        Payload::Text(text) if text.is_empty() => Ok(Body::Empty),
        Payload::Text(text) => Ok(Body::Text(text)),
        Payload::Audio { file, len } => read_whole(file, len).await.map(Body::Binary),
    };
    match body {
        Ok(body) => Response::from_parts(parts, body),
        Err(e) => {
            tracing::error!(error = %e, "a recording could not be read");
            error_response(StatusCode::INTERNAL_SERVER_ERROR, "Internal error").map(Body::Text)
        }
    }
}

async fn read_whole(file: std::fs::File, len: u64) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let read = tokio::task::spawn_blocking(move || {
        let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or_default());
        file.take(len).read_to_end(&mut bytes).map(|_| bytes)
    });
    read.await.map_err(std::io::Error::other)?
}

pub async fn run_http<'a, R, S, E>(handler: S) -> Result<(), lambda_http::Error>
where
    S: Tower<Request, Response = R, Error = E>,
    S::Future: Send + 'a,
    R: IntoResponse,
    E: Debug + Into<Diagnostic>,
{
    lambda_http::lambda_runtime::run(Repaired(Adapter::from(handler))).await
}

/// lambda_http's adapter, behind [`repair::repair`]: an event it would
/// panic on is repaired, or answered 400 without reaching it.
struct Repaired<'a, R, S>(Adapter<'a, R, S>);

impl<'a, R, S, E> Tower<LambdaEvent<LambdaRequest>> for Repaired<'a, R, S>
where
    S: Tower<Request, Response = R, Error = E>,
    S::Future: Send + 'a,
    R: IntoResponse,
{
    type Response = <Adapter<'a, R, S> as Tower<LambdaEvent<LambdaRequest>>>::Response;
    type Error = E;
    type Future = TransformResponse<'a, R, E>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, mut event: LambdaEvent<LambdaRequest>) -> Self::Future {
        match repair::repair(&mut event.payload) {
            Ok(()) => self.0.call(event),
            Err(refusal) => {
                let response = error_response(StatusCode::BAD_REQUEST, &refusal.to_string()).map(Body::from);
                TransformResponse::Response(event.payload.request_origin(), Box::pin(std::future::ready(response)))
            }
        }
    }
}

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
}
