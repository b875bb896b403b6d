//! The registry of SMS-enabled numbers: the guide's "valid SMS-enabled
//! number on the system", for operators of every tenant.

use http::{Method, Response};
use maud::{Markup, html};

use super::super::layout::{Frame, Notice};
use super::super::session::{Signed, html_response};
use crate::domain::{E164, Owner, SmsNumber};
use crate::service::{Error, Service};

pub async fn respond(service: &Service, s: &Signed<'_>) -> Result<Response<String>, Error> {
    let notice = match *s.req.method == Method::POST {
        true => Some(save(service, s).await?),
        false => None,
    };
    let numbers = service.numbers(&s.operator).await?;
    let frame = s.frame();
    let content = html! {
        p { "A sender is valid only if it is here, SMS-enabled, and belongs to the tenant or to the system (" code { "*" } ")." }
        table {
            caption { "SMS-enabled numbers" }
            thead { tr { th scope="col" { "Number" } th scope="col" { "Tenant" } th scope="col" { "SMS-enabled" } } }
            tbody { @for n in &numbers { tr { (row(&frame, n)) } } }
        }
        (add(&frame))
    };
    let status = Notice::status(Notice::failed(notice.as_ref()));
    Ok(html_response(status, frame.page("Numbers", notice.as_ref(), content)))
}

async fn save(service: &Service, s: &Signed<'_>) -> Result<Notice, Error> {
    let f = &s.form;
    let parsed = (|| {
        Ok::<_, Error>(SmsNumber {
            number: f.required::<E164>("number", "Number")?,
            tenant: f.required::<Owner>("tenant", "Tenant")?,
            sms_enabled: f.yes_no("sms_enabled", "SMS-enabled")?,
        })
    })();
    Ok(match parsed {
        Ok(n) => match service.set_number(&s.operator, n).await? {
            w if w.is_empty() => Notice::Saved("Number saved.".to_owned()),
            w => Notice::Warnings(w),
        },
        Err(e) => Notice::Failed(e.to_string()),
    })
}

fn row(frame: &Frame<'_>, n: &SmsNumber) -> Markup {
    let form_id = format!("number-{}", n.number.as_str().trim_start_matches('+'));
    html! {
        th scope="row" { (n.number) }
        td {
            form id=(form_id) method="post" action=(frame.url("/numbers")) {
                (frame.csrf_field())
                input type="hidden" name="number" value=(n.number);
                label { "Tenant of " (n.number) input type="text" name="tenant" value=(n.tenant.as_str()) size="10"; }
            }
        }
        td {
            label { "SMS-enabled " (n.number)
                select name="sms_enabled" form=(form_id) {
                    option value="yes" selected[n.sms_enabled] { "Yes" }
                    option value="no" selected[!n.sms_enabled] { "No" }
                }
            }
            button type="submit" form=(form_id) { "Save" }
        }
    }
}

fn add(frame: &Frame<'_>) -> Markup {
    html! {
        form.settings method="post" action=(frame.url("/numbers")) aria-labelledby="add-number" {
            (frame.csrf_field())
            h2 #add-number { "Add a number" }
            label for="number" { "Number (+E.164)" } input #number type="tel" name="number" required;
            label for="tenant" { "Tenant (an id, or * for the system)" } input #tenant type="text" name="tenant" required;
            label for="sms_enabled" { "SMS-enabled" }
            select #sms_enabled name="sms_enabled" { option value="yes" { "Yes" } option value="no" { "No" } }
            button type="submit" { "Add" }
        }
    }
}
