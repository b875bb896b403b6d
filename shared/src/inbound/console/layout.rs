//! What every console page shares: the document, the navigation, the
//! tenant's tabs and status line, notices, and the forms' hidden token.
//! maud escapes every value it is given: tenant data renders as text.

use maud::{DOCTYPE, Markup, html};

use crate::inbound::api::action::TENANT_INACTIVE_TEXT;
use crate::service::Error;
use crate::service::operators::{Operator, Readiness, TenantOverview};

/// Who the page is for and where its links start.
pub struct Frame<'a> {
    pub base: &'a str,
    pub operator: Option<&'a Operator>,
    pub csrf: &'a str,
}

/// What a page says above its content after a form was sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    Saved(String),
    Warnings(Vec<String>),
    Failed(String),
}

impl Notice {
    /// A page's status: 400 when it says a form was refused.
    pub fn status(refused: bool) -> http::StatusCode {
        if refused { http::StatusCode::BAD_REQUEST } else { http::StatusCode::OK }
    }

    pub fn failed(notice: Option<&Notice>) -> bool {
        matches!(notice, Some(Notice::Failed(_)))
    }
}

/// The tabs of a tenant's pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    Notifications,
    Api,
    Extensions,
    Messages,
}

impl Tab {
    const ALL: [(Tab, &'static str, &'static str); 4] = [
        (Tab::Notifications, "Notifications", ""),
        (Tab::Api, "SMS API", "/api"),
        (Tab::Extensions, "Extensions", "/extensions"),
        (Tab::Messages, "Messages", "/messages"),
    ];
}

impl Frame<'_> {
    pub fn url(&self, path: &str) -> String {
        format!("{}/console{path}", self.base)
    }

    /// The whole document.
    pub fn page(&self, title: &str, notice: Option<&Notice>, content: Markup) -> Markup {
        html! {
            (DOCTYPE)
            html lang="en" {
                head {
                    meta charset="utf-8";
                    meta name="viewport" content="width=device-width, initial-scale=1";
                    title { (title) " · SMS Notifications" }
                    link rel="stylesheet" href=(self.url("/assets/console.css"));
                    script src=(self.url("/assets/console.js")) defer {}
                }
                body {
                    a.skip href="#main" { "Skip to content" }
                    (self.header())
                    main #main {
                        h1 { (title) }
                        @if let Some(n) = notice { (notice_box(n)) }
                        (content)
                    }
                }
            }
        }
    }

    fn header(&self) -> Markup {
        html! {
            header.top {
                a.brand href=(self.url("/tenants")) { "SMS Notifications" }
                @if let Some(op) = self.operator {
                    nav aria-label="Console" {
                        a href=(self.url("/tenants")) { "Tenants" }
                        @if op.of_every_tenant() { a href=(self.url("/numbers")) { "Numbers" } }
                    }
                    form.signout method="post" action=(self.url("/sign-out")) {
                        (self.csrf_field())
                        span.who { "Signed in as " strong { (op.name) } }
                        button type="submit" { "Sign out" }
                    }
                }
            }
        }
    }

    pub fn csrf_field(&self) -> Markup {
        html! { input type="hidden" name="csrf" value=(self.csrf); }
    }

    /// A tenant's tabs and its status line.
    pub fn tenant_head(&self, o: &TenantOverview, current: Tab) -> Markup {
        let id = o.tenant.id.as_str();
        html! {
            nav.tabs aria-label="Tenant settings" {
                @for (tab, label, path) in Tab::ALL {
                    a href=(self.url(&format!("/tenants/{id}{path}"))) aria-current=[(tab == current).then_some("page")] { (label) }
                }
            }
            (status_line(&o.readiness))
        }
    }
}

fn notice_box(n: &Notice) -> Markup {
    match n {
        Notice::Saved(text) => html! { p.notice.saved role="status" { (text) } },
        Notice::Warnings(ws) => html! {
            div.notice.warning role="status" {
                p { "Saved, with warnings:" }
                ul { @for w in ws { li { (w) } } }
            }
        },
        Notice::Failed(text) => html! { p.notice.failed role="alert" { "Not saved: " (text) } },
    }
}

/// Whether the tenant can send right now, and if not the first check that
/// fails, with the exact text a request would get.
pub fn status_line(r: &Readiness) -> Markup {
    html! {
        section.status aria-label="Can this tenant send?" {
            p.(if r.api.is_none() { "ok" } else { "blocked" }) {
                strong { "API: " }
                @match &r.api {
                    None if r.sending_keys == 0 => "ready, but no enabled API key allows SMS actions for this tenant",
                    None => "can send",
                    Some(e) => { "cannot send, " (failure(e)) }
                }
            }
            p.(if r.voicemail.is_none() { "ok" } else { "blocked" }) {
                strong { "Voicemail SMS: " }
                @match &r.voicemail {
                    None => "sent for extensions whose SMS notifications are on with an SMS number",
                    Some(e) => { "not sent, " (failure(e)) }
                }
            }
        }
    }
}

fn failure(e: &Error) -> Markup {
    match e {
        Error::TenantInactive => html! {
            "Active is No: the REST API answers " q { (Error::ApiDisabled) } " and the action API "
            q.exact { (TENANT_INACTIVE_TEXT) }
        },
        e => html! { q { (e) } },
    }
}

/// A Yes/No choice as two radio buttons in a labelled group.
pub fn yes_no(name: &str, legend: &str, value: bool) -> Markup {
    html! {
        fieldset.yesno {
            legend { (legend) }
            label { input type="radio" name=(name) value="yes" checked[value]; " Yes" }
            label { input type="radio" name=(name) value="no" checked[!value]; " No" }
        }
    }
}

/// A timestamp for people (UTC), or a dash.
pub fn when(epoch: i64) -> Markup {
    match crate::domain::times::rfc3339(epoch) {
        Some(t) => html! { time datetime=(t) { (t.replace('T', " ").replace('Z', " UTC")) } },
        None => html! { "—" },
    }
}

/// The sign-in page's lone form and the error pages need no frame's
/// operator: they still load the stylesheet.
pub fn plain(base: &str, title: &str, content: Markup) -> Markup {
    Frame { base, operator: None, csrf: "" }.page(title, None, content)
}
