//! The session a request carries: its `__Host-` cookie, checked against
//! the store; the token every form must carry; the headers of every answer
//! (a strict Content-Security-Policy: no inline script, no framing).

use http::{HeaderValue, Response, StatusCode, header};
use maud::Markup;
use subtle::ConstantTimeEq;

use super::forms::Form;
use super::layout::Frame;
use crate::inbound::api::HttpRequest;
use crate::service::operators::{Operator, csrf_token};
use crate::service::{Error, Service};

/// `__Host-`: the browser keeps it only when set Secure, for `/`, by this
/// host itself, so no subdomain or plain-HTTP page can plant or read one.
pub const COOKIE: &str = "__Host-sms-console";

const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; object-src 'none'; \
                   base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// A signed-in request: the operator, the form token, the request.
pub struct Signed<'a> {
    pub operator: Operator,
    pub csrf: String,
    pub req: &'a HttpRequest<'a>,
    /// The form body of a POST, its token checked.
    pub form: Form,
}

impl Signed<'_> {
    pub fn frame(&self) -> Frame<'_> {
        Frame { base: self.req.base, operator: Some(&self.operator), csrf: &self.csrf }
    }

    /// The query string's fields.
    pub fn query(&self) -> Form {
        Form::parse(self.req.query.unwrap_or("").as_bytes())
    }
}

/// The session of a request, and for a POST its form, whose token must be
/// the session's and whose origin (when the browser names it) this host.
pub async fn signed<'a>(service: &Service, req: &'a HttpRequest<'a>) -> Result<Signed<'a>, Error> {
    let token = cookie(req).ok_or(Error::NotSignedIn)?;
    let operator = service.operator(token).await?;
    let csrf = csrf_token(token);
    let form = match *req.method == http::Method::POST {
        true => checked_form(req, &csrf)?,
        false => Form::default(),
    };
    Ok(Signed { operator, csrf, req, form })
}

fn checked_form(req: &HttpRequest<'_>, csrf: &str) -> Result<Form, Error> {
    same_origin(req)?;
    let form = Form::parse(req.body);
    let sent = form.get("csrf").unwrap_or("");
    match bool::from(sent.as_bytes().ct_eq(csrf.as_bytes())) {
        true => Ok(form),
        false => Err(Error::FormExpired),
    }
}

/// A POST's `Origin`, when the browser sends one, names this host.
pub fn same_origin(req: &HttpRequest<'_>) -> Result<(), Error> {
    let (Some(origin), Some(host)) = (req.header("origin"), req.header("host")) else { return Ok(()) };
    let named = origin.split_once("://").map(|(_, h)| h);
    if named == Some(host) { Ok(()) } else { Err(Error::FormExpired) }
}

fn cookie<'a>(req: &'a HttpRequest<'_>) -> Option<&'a str> {
    req.headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| pair.trim().strip_prefix(COOKIE)?.strip_prefix('='))
}

/// The cookie that holds a session, or (`None`) ends it.
pub fn set_cookie(token: Option<&str>) -> String {
    match token {
        Some(t) => format!("{COOKIE}={t}; Path=/; Secure; HttpOnly; SameSite=Strict"),
        None => format!("{COOKIE}=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0"),
    }
}

/// A page, with the headers every console answer carries.
pub fn html_response(status: StatusCode, page: Markup) -> Response<String> {
    with_headers(Response::builder().status(status), "text/html; charset=utf-8", page.into_string(), "no-store")
}

/// A static file of the console (its stylesheet, its script).
pub fn asset(content_type: &'static str, body: &'static str) -> Response<String> {
    with_headers(Response::builder(), content_type, body.to_owned(), "public, max-age=300")
}

/// To a console page, after a POST or for a bare path: 303, so a reload
/// does not send the form again.
pub fn redirect(base: &str, path: &str) -> Response<String> {
    let builder =
        Response::builder().status(StatusCode::SEE_OTHER).header(header::LOCATION, format!("{base}/console{path}"));
    with_headers(builder, "text/plain; charset=utf-8", String::new(), "no-store")
}

fn with_headers(
    builder: http::response::Builder,
    content_type: &'static str,
    body: String,
    cache: &'static str,
) -> Response<String> {
    let mut response = builder.body(body).unwrap_or_default();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    response
}
