//! Tenants: searched by id, a page at a time.

use http::{Response, StatusCode};
use maud::html;

use super::super::session::{Signed, html_response};
use crate::ports::ListQuery;
use crate::service::{Error, Service};

pub const PAGE: usize = 50;

pub async fn list(service: &Service, s: &Signed<'_>) -> Result<Response<String>, Error> {
    let query = s.query();
    let prefix = query.get("q").unwrap_or("");
    let after = query.get("after");
    let digits = prefix.bytes().all(|b| b.is_ascii_digit());
    let tenants = match digits {
        true => service.tenants_page(&s.operator, ListQuery { prefix, after, limit: PAGE }).await?,
        false => Vec::new(),
    };
    let frame = s.frame();
    let next = (tenants.len() == PAGE).then(|| tenants.last().map(|t| t.id.to_string())).flatten();
    let content = html! {
        form.search method="get" action=(frame.url("/tenants")) role="search" {
            label for="q" { "Tenant id starts with" }
            input #q type="search" name="q" value=(prefix) inputmode="numeric";
            button type="submit" { "Search" }
        }
        @if !digits { p.notice.failed role="alert" { "Tenant ids are digits." } }
        @if tenants.is_empty() { p { "No tenant matches." } } @else {
            table {
                caption { "Tenants" }
                thead { tr { th scope="col" { "Tenant" } th scope="col" { "Active" } th scope="col" { "Sender Number" }
                    th scope="col" { "SMS API" } th scope="col" { "Voicemail" } } }
                tbody { @for t in &tenants { tr {
                    th scope="row" { a href=(frame.url(&format!("/tenants/{}", t.id))) { "Tenant " (t.id) } }
                    td { (yes(t.active)) }
                    td { @if let Some(n) = &t.sender_number { (n) } @else { "—" } }
                    td { (yes(t.api_enabled)) }
                    td { (yes(t.voicemail_notifications)) }
                } } }
            }
        }
        @if let Some(after) = next {
            a.next href=(frame.url(&format!("/tenants?q={prefix}&after={after}"))) { "Next tenants" }
        }
    };
    Ok(html_response(StatusCode::OK, frame.page("Tenants", None, content)))
}

pub fn yes(on: bool) -> &'static str {
    if on { "Yes" } else { "No" }
}
