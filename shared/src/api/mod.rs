//! The two API styles. Each parses its request into an [`ApiCall`], lets the
//! service decide, and maps the one error type to its own answers, once.

pub mod action;
mod params;
pub mod recording;
pub mod rest;
mod views;

use http::{HeaderMap, Method, Response, StatusCode, header};
use serde_json::{Value, json};

use crate::Error;
#[cfg(doc)]
use crate::service::ApiCall;

/// Request bodies and query strings over this size are refused before any
/// parsing. The longest message (10 UCS-2 segments, 670 characters of up to 4
/// UTF-8 bytes), Base64-encoded and then percent-encoded, stays below it.
pub const MAX_REQUEST_BYTES: usize = 16 * 1024;

/// The parts of an HTTP request the APIs read, whatever carried it (API
/// Gateway through lambda_http, or the local server).
#[derive(Debug, Clone, Copy)]
pub struct HttpRequest<'a> {
    pub method: &'a Method,
    pub query: Option<&'a str>,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
    /// The invocation's deadline (epoch milliseconds), on Lambda.
    pub deadline: Option<u64>,
}

impl<'a> HttpRequest<'a> {
    /// The parts of any `http::Request` (lambda_http's, the local server's).
    pub fn of<B: AsRef<[u8]>>(req: &'a http::Request<B>) -> Self {
        HttpRequest {
            method: req.method(),
            query: req.uri().query(),
            headers: req.headers(),
            body: req.body().as_ref(),
            deadline: None,
        }
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    fn too_large(&self) -> bool {
        self.body.len() > MAX_REQUEST_BYTES || self.query.is_some_and(|q| q.len() > MAX_REQUEST_BYTES)
    }
}

/// `X-API-Key` header, as presented.
fn header_key(req: &HttpRequest<'_>) -> Option<String> {
    req.header("x-api-key").map(str::to_owned)
}

pub fn json_response(status: StatusCode, body: &Value) -> Response<String> {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json")
        .body(body.to_string())
        .unwrap_or_default()
}

fn error_body(text: &str) -> Value {
    json!({ "error": text })
}

/// The API routes, as API Gateway routes them to the functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route<'a> {
    /// `GET /`, `POST /`: the action API (send-sms).
    Action,
    /// `POST /api/sms/send` (send-sms).
    Send,
    /// `GET /api/sms/messages`, `GET /api/sms/messages/{id}` (send-sms).
    Messages,
    Message(&'a str),
    /// `POST /api/sms/notifications/voicemail` (voicemail-notify).
    Voicemail,
    /// `GET /r/{token}`: a recording link (recording-link).
    Recording(&'a str),
}

impl<'a> Route<'a> {
    /// The route of a path (already without API Gateway's stage).
    pub fn of(path: &'a str) -> Option<Route<'a>> {
        match path {
            "/" => Some(Route::Action),
            "/api/sms/send" => Some(Route::Send),
            "/api/sms/messages" => Some(Route::Messages),
            "/api/sms/notifications/voicemail" => Some(Route::Voicemail),
            p => {
                let last = |prefix: &str| p.strip_prefix(prefix).filter(|s| !s.is_empty() && !s.contains('/'));
                last("/api/sms/messages/").map(Route::Message).or_else(|| last("/r/").map(Route::Recording))
            }
        }
    }
}

/// What every path not served answers.
pub fn not_found() -> Response<String> {
    json_response(StatusCode::NOT_FOUND, &error_body("Not found"))
}

/// `None` when `method` is one of the route's `allowed`; otherwise its 405,
/// whose `Allow` header lists them (RFC 9110).
fn refuse_method(method: &Method, allowed: &[Method]) -> Option<Response<String>> {
    if allowed.contains(method) {
        return None;
    }
    let allow = allowed.iter().map(Method::as_str).collect::<Vec<_>>().join(", ");
    let mut response = json_response(StatusCode::METHOD_NOT_ALLOWED, &error_body("Method not allowed"));
    if let Ok(value) = header::HeaderValue::from_str(&allow) {
        response.headers_mut().insert(header::ALLOW, value);
    }
    Some(response)
}

/// The cause of a 5xx goes to the log, never to the caller.
fn log_failure(e: &Error) {
    if let Some(cause) = e.cause() {
        tracing::error!(error = %e, cause, "request failed");
    }
}
