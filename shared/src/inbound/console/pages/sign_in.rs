//! Signing in with an operator key, and out.

use http::{HeaderValue, Method, Response, StatusCode, header};
use maud::{Markup, html};

use super::super::forms::Form;
use super::super::layout::plain;
use super::super::session::{Signed, html_response, redirect, same_origin, set_cookie};
use crate::inbound::api::HttpRequest;
use crate::service::{Error, Service};

pub async fn respond(service: &Service, req: &HttpRequest<'_>) -> Response<String> {
    if *req.method != Method::POST {
        return html_response(StatusCode::OK, page(req.base, None));
    }
    let form = Form::parse(req.body);
    let source = req.source.map_or_else(|| "unknown".to_owned(), |ip| ip.to_string());
    let signed_in = match same_origin(req) {
        Ok(()) => service.sign_in(form.get("key").unwrap_or(""), &source).await,
        Err(e) => Err(e),
    };
    match signed_in {
        Ok(signed) => with_cookie(redirect(req.base, "/tenants"), Some(&signed.token)),
        Err(e) => {
            let status = crate::inbound::api::rest::status(&e);
            if let Some(cause) = e.cause() {
                tracing::error!(error = %e, cause, "console sign-in failed");
            }
            html_response(status, page(req.base, Some(&e)))
        }
    }
}

pub async fn sign_out(service: &Service, s: &Signed<'_>) -> Result<Response<String>, Error> {
    service.sign_out(&s.operator).await?;
    Ok(with_cookie(redirect(s.req.base, "/sign-in"), None))
}

fn with_cookie(mut response: Response<String>, token: Option<&str>) -> Response<String> {
    if let Ok(value) = HeaderValue::from_str(&set_cookie(token)) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

fn page(base: &str, error: Option<&Error>) -> Markup {
    plain(
        base,
        "Sign in",
        html! {
            @if let Some(e) = error { p.notice.failed role="alert" { (e) } }
            form.card method="post" action={ (base) "/console/sign-in" } {
                p { "Sign in with an operator key: an API key with the " code { "admin" } " permission ("
                    code { "smsctl keys create --permissions admin" } ")." }
                label for="key" { "Operator key" }
                input #key type="password" name="key" autocomplete="current-password" required;
                button type="submit" { "Sign in" }
            }
        },
    )
}
