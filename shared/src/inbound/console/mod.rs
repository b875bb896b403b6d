//! The operator console: the guide's settings pages as HTML, at
//! `/console/`, served by the `console` function and by `smsctl serve`
//! alike. Pages are rendered on the server and work without script;
//! every change goes through the service (`service::operators`).
//!
//! - `session`: the cookie, the forms' token, and the answers' headers;
//! - `forms`: a form's fields, read as `apply` reads them;
//! - `layout`: the document, tabs, status line and notices;
//! - `pages`: one file per page.

mod forms;
mod layout;
mod pages;
mod quiet;
mod session;

use http::{Method, Response, StatusCode};
use maud::html;

use self::layout::plain;
use self::session::{Signed, html_response, redirect};
use super::api::HttpRequest;
use crate::service::{Error, Service};

pub use session::COOKIE;

/// The answer to a request for `path` (`/console` or under it).
pub async fn respond(service: &Service, path: &str, req: &HttpRequest<'_>) -> Response<String> {
    let rest = path.strip_prefix("/console").unwrap_or(path);
    match (req.method, rest) {
        (_, "" | "/") => redirect(req.base, "/tenants"),
        (&Method::GET, "/assets/console.css") => session::asset("text/css", include_str!("assets/console.css")),
        (&Method::GET, "/assets/console.js") => session::asset("text/javascript", include_str!("assets/console.js")),
        (_, "/sign-in") => pages::sign_in::respond(service, req).await,
        _ => match session::signed(service, req).await {
            Ok(signed) => route(service, &signed, rest).await.unwrap_or_else(|e| error_page(&signed, &e)),
            Err(Error::NotSignedIn) => redirect(req.base, "/sign-in"),
            Err(e) => error_page_plain(req.base, &e),
        },
    }
}

/// A signed-in request's page.
async fn route(service: &Service, s: &Signed<'_>, rest: &str) -> Result<Response<String>, Error> {
    let segments: Vec<&str> = rest.trim_start_matches('/').split('/').collect();
    let post = *s.req.method == Method::POST;
    match (post, segments.as_slice()) {
        (true, ["sign-out"]) => pages::sign_in::sign_out(service, s).await,
        (false, ["tenants"]) => pages::tenants::list(service, s).await,
        (_, ["numbers"]) => pages::numbers::respond(service, s).await,
        (_, ["tenants", id, rest @ ..]) => {
            let id = crate::domain::TenantId::parse(id).ok_or_else(|| Error::UnknownTenant((*id).to_owned()))?;
            pages::tenant(service, s, &id, post, rest).await
        }
        _ => Ok(not_found(s)),
    }
}

fn not_found(s: &Signed<'_>) -> Response<String> {
    let frame = s.frame();
    html_response(StatusCode::NOT_FOUND, frame.page("Not found", None, html! { p { "There is no such page." } }))
}

/// An error as a page: its text, never a cause (5xx causes go to the log).
fn error_page(s: &Signed<'_>, e: &Error) -> Response<String> {
    let status = status_of(e);
    let frame = s.frame();
    let page = frame.page(
        title_of(status),
        None,
        html! {
            p.notice.failed role="alert" { (e) }
            p { a href=(frame.url("/tenants")) { "Back to the tenants" } }
        },
    );
    html_response(status, page)
}

fn error_page_plain(base: &str, e: &Error) -> Response<String> {
    let status = status_of(e);
    html_response(status, plain(base, title_of(status), html! { p.notice.failed role="alert" { (e) } }))
}

fn status_of(e: &Error) -> StatusCode {
    if let Some(cause) = e.cause() {
        tracing::error!(error = %e, cause, "console request failed");
    }
    super::api::rest::status(e)
}

fn title_of(status: StatusCode) -> &'static str {
    match status {
        StatusCode::FORBIDDEN => "Not allowed",
        StatusCode::NOT_FOUND => "Not found",
        s if s.is_server_error() => "Something went wrong",
        _ => "Not done",
    }
}
