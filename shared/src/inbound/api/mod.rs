//! The two API styles. Each parses its request into an [`ApiCall`], lets the
//! service decide, and maps the one error type to its own answers, once.

pub mod action;
mod params;
pub mod recording;
pub mod rest;
mod views;

use http::{HeaderMap, Method, Response, StatusCode, header};
use serde::Serialize;

#[cfg(doc)]
use crate::service::ApiCall;
use crate::service::Error;

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
    /// The client's address, as the server or API Gateway saw it.
    pub source: Option<std::net::IpAddr>,
    /// What precedes the routes in the browser's URLs (API Gateway's
    /// `/<stage>`; empty locally): the console's links start with it.
    pub base: &'a str,
}

impl<'a> HttpRequest<'a> {
    /// These parts, with no deadline, source or base (a request built by
    /// hand: the benchmarks', the tests').
    pub fn new(method: &'a Method, query: Option<&'a str>, headers: &'a HeaderMap, body: &'a [u8]) -> Self {
        HttpRequest { method, query, headers, body, deadline: None, source: None, base: "" }
    }

    /// The parts of any `http::Request` (lambda_http's, the local server's).
    pub fn of<B: AsRef<[u8]>>(req: &'a http::Request<B>) -> Self {
        Self::new(req.method(), req.uri().query(), req.headers(), req.body().as_ref())
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    fn too_large(&self) -> bool {
        self.body.len() > MAX_REQUEST_BYTES || self.query.is_some_and(|q| q.len() > MAX_REQUEST_BYTES)
    }
}

/// The one key a request presents, read the same wherever it runs (the
/// local server, API Gateway's HTTP and REST APIs, a function URL): the
/// `X-API-Key` header, and for the action API the `apikey` parameter
/// (`query`, as [`params::Params::get`] read it). A header given more than
/// once or not visible ASCII, an `apikey` given twice with different values,
/// or a header and an `apikey` that differ present no key at all, which
/// check 1 answers `Invalid API key.`: no reading picks one of two.
fn presented_key(req: &HttpRequest<'_>, query: Result<Option<&str>, Error>) -> Option<String> {
    let mut values = req.headers.get_all("x-api-key").iter();
    let header = match (values.next(), values.next()) {
        (None, _) => None,
        (Some(one), None) if !one.is_empty() && one.as_bytes().iter().all(u8::is_ascii_graphic) => {
            Some(one.to_str().ok()?)
        }
        (Some(_), _) => return None,
    };
    match (header, query.ok()?) {
        (Some(h), Some(q)) if h != q => None,
        (h, q) => h.or(q).map(str::to_owned),
    }
}

/// Whether the body is a form (`application/x-www-form-urlencoded`, in any
/// case, with or without parameters).
fn is_form(req: &HttpRequest<'_>) -> bool {
    let media = req.header("content-type").and_then(|ct| ct.parse::<mime::Mime>().ok());
    media.is_some_and(|m| m.essence_str() == mime::APPLICATION_WWW_FORM_URLENCODED.essence_str())
}

/// A JSON answer. Our views always serialize; were one not to, the answer
/// is a generic 500 rather than a panic.
pub fn json_response<T: Serialize + ?Sized>(status: StatusCode, body: &T) -> Response<String> {
    let (status, body) = match serde_json::to_string(body) {
        Ok(body) => (status, body),
        Err(e) => {
            tracing::error!(error = %e, "an answer could not be written as JSON");
            (StatusCode::INTERNAL_SERVER_ERROR, r#"{"error":"Internal error"}"#.to_owned())
        }
    };
    Response::builder().status(status).header(header::CONTENT_TYPE, "application/json").body(body).unwrap_or_default()
}

/// An answer's body: text (every JSON answer; empty for a redirect or a
/// `HEAD`), or a recording's audio, opened, for whoever carries the answer
/// to read as it sends it (the local server streams it).
#[derive(Debug)]
pub enum Payload {
    Text(String),
    Audio { file: std::fs::File, len: u64 },
}

/// Every error answer: `{"error": "..."}`.
#[derive(Debug, Serialize)]
pub struct ErrorBody<'a> {
    pub error: &'a str,
}

/// A JSON error answer.
pub fn error_response(status: StatusCode, text: &str) -> Response<String> {
    json_response(status, &ErrorBody { error: text })
}

/// What every path not served answers.
pub fn not_found() -> Response<String> {
    error_response(StatusCode::NOT_FOUND, "Not found")
}

/// `None` when `method` is one of the route's `allowed`; otherwise its 405,
/// whose `Allow` header lists them (RFC 9110).
fn refuse_method(method: &Method, allowed: &[Method]) -> Option<Response<String>> {
    if allowed.contains(method) {
        return None;
    }
    let allow = allowed.iter().map(Method::as_str).collect::<Vec<_>>().join(", ");
    let mut response = error_response(StatusCode::METHOD_NOT_ALLOWED, "Method not allowed");
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
