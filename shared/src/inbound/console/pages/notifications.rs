//! Tenant → Settings → SMS Settings → Notifications: Active, Sender
//! Number, Notification Types (Voicemail, its requirements, its template
//! with a preview), and the tenant's audit log.

use http::{Response, StatusCode};
use maud::{Markup, html};

use super::super::layout::{Frame, Notice, Tab, when, yes_no};
use super::super::session::{Signed, html_response};
use crate::domain::{E164, Extension, MessageText, Template, TenantId, VoicemailDetails};
use crate::service::operators::{Notifications, TenantOverview};
use crate::service::{Error, Service};

pub async fn view(
    service: &Service,
    s: &Signed<'_>,
    id: &TenantId,
    notice: Option<Notice>,
) -> Result<Response<String>, Error> {
    let o = service.tenant_overview(&s.operator, id).await?;
    let without_number = service.extensions_without_number(&s.operator, id).await?;
    let draft = s.query().get("template").map(str::to_owned);
    let status = Notice::status(Notice::failed(notice.as_ref()));
    let frame = s.frame();
    let content = html! {
        (frame.tenant_head(&o, Tab::Notifications))
        (form(&frame, &o, without_number, draft.as_deref()))
        (audit(&o))
    };
    Ok(html_response(status, frame.page(&format!("Tenant {id} · Notifications"), notice.as_ref(), content)))
}

pub async fn save(service: &Service, s: &Signed<'_>, id: &TenantId) -> Result<Response<String>, Error> {
    let f = &s.form;
    let parsed = (|| {
        Ok::<_, Error>(Notifications {
            active: f.yes_no("active", "Active")?,
            sender_number: f.value::<E164>("sender_number", "Sender Number")?,
            voicemail_notifications: f.yes_no("voicemail", "Voicemail")?,
            voicemail_template: f.value::<Template>("voicemail_template", "Voicemail template")?,
        })
    })();
    let notice = match parsed {
        Ok(n) => match service.set_notifications(&s.operator, id, n).await {
            Ok(w) if w.is_empty() => Notice::Saved("Notifications saved.".to_owned()),
            Ok(w) => Notice::Warnings(w),
            Err(e @ (Error::InvalidSetting(_) | Error::NoDestination)) => Notice::Failed(e.to_string()),
            Err(e) => return Err(e),
        },
        Err(e) => Notice::Failed(e.to_string()),
    };
    view(service, s, id, Some(notice)).await
}

/// The preview alone, for the page's script (the page itself renders it
/// for a browser without script).
pub async fn preview(service: &Service, s: &Signed<'_>, id: &TenantId) -> Result<Response<String>, Error> {
    let query = s.query();
    if query.get("fragment").is_none() {
        return view(service, s, id, None).await;
    }
    service.tenant_overview(&s.operator, id).await?;
    Ok(html_response(StatusCode::OK, preview_of(query.get("template"))))
}

fn form(frame: &Frame<'_>, o: &TenantOverview, without_number: usize, draft: Option<&str>) -> Markup {
    let t = &o.tenant;
    let template = draft.map(str::to_owned).or_else(|| t.voicemail_template.as_ref().map(ToString::to_string));
    html! {
        form.settings method="post" action=(frame.url(&format!("/tenants/{}/notifications", t.id))) {
            (frame.csrf_field())
            (yes_no("active", "Active", t.active))
            p.note { "No SMS notifications will be sent unless this option is set to Yes." }
            (sender_choice(o))
            h2 { "Notification Types" }
            (yes_no("voicemail", "Voicemail", t.voicemail_notifications))
            (requirements(o, without_number))
            label for="voicemail_template" { "Voicemail template" }
            textarea #voicemail_template name="voicemail_template" rows="3" aria-describedby="placeholders" data-preview="preview" { (template.as_deref().unwrap_or("")) }
            p #placeholders .note { "Placeholders: " code { "{extension}" } ", " code { "{caller_id}" } ", " code { "{duration}" } ", "
                code { "{received_at}" } ", " code { "{recording_url}" } ". Left empty, the guide's text is sent." }
            div #preview aria-live="polite" { (preview_of(template.as_deref())) }
            div.buttons {
                button type="submit" { "Save" }
                button type="submit" formmethod="get" formaction=(frame.url(&format!("/tenants/{}/preview", t.id))) formnovalidate { "Preview" }
            }
        }
    }
}

/// The Sender Number: the tenant's and the system's SMS-enabled numbers;
/// a stored sender that no longer qualifies is shown as such.
fn sender_choice(o: &TenantOverview) -> Markup {
    let stored = o.tenant.sender_number.as_ref();
    let valid = stored.is_some_and(|n| o.senders.iter().any(|s| &s.number == n));
    html! {
        label for="sender_number" { "Sender Number" }
        select #sender_number name="sender_number" aria-describedby="sender_note" {
            option value="" selected[stored.is_none()] { "— none —" }
            @if let (Some(n), false) = (stored, valid) { option value=(n) selected { (n) " (invalid)" } }
            @for s in &o.senders {
                option value=(s.number) selected[stored == Some(&s.number)] {
                    (s.number) @if s.tenant.as_str() == "*" { " (system)" }
                }
            }
        }
        @if !valid { p #sender_note .notice.failed { (Error::InvalidSender) } }
        @else { p #sender_note .note { "All SMS notifications (system or API-triggered) are sent from this number." } }
    }
}

fn requirements(o: &TenantOverview, without_number: usize) -> Markup {
    let sender_ok = o.senders.iter().any(|s| Some(&s.number) == o.tenant.sender_number.as_ref());
    let met = |ok: bool| if ok { "met" } else { "not met" };
    html! {
        ul.requirements aria-label="Requirements" {
            li.(met(o.tenant.active)) { "SMS Notifications must be Active: " (met(o.tenant.active)) }
            li.(met(sender_ok)) { "A valid Sender Number must be configured: " (met(sender_ok)) }
            li.(met(without_number == 0)) {
                "The extension must have a valid SMS number assigned: "
                @match without_number {
                    0 => "met by every extension whose SMS notifications are on",
                    1 => "not met by 1 extension whose SMS notifications are on (Extensions)",
                    n => { "not met by " (n) " extensions whose SMS notifications are on (Extensions)" }
                }
            }
        }
    }
}

/// The template filled in with a sample voicemail: its text, encoding and
/// segments, or why it cannot be sent.
fn preview_of(template: Option<&str>) -> Markup {
    let Some(source) = template.filter(|t| !t.trim().is_empty()) else {
        return sample(MessageText::new(crate::domain::DEFAULT_VOICEMAIL_TEXT).map_err(|e| e.to_string()));
    };
    let text =
        Template::parse(source).and_then(|t| MessageText::new(t.render(&sample_details())).map_err(|e| e.to_string()));
    sample(text)
}

fn sample(text: Result<MessageText, String>) -> Markup {
    html! {
        section.preview aria-label="Preview" {
            h3 { "Preview" }
            @match text {
                Ok(t) => { p.sms { (t.as_str()) } p.note { (t.encoding().as_str()) ", " (t.segments()) " segment" @if t.segments() != 1 { "s" } } }
                Err(e) => p.notice.failed { (e) },
            }
        }
    }
}

fn sample_details() -> VoicemailDetails {
    let mut d = VoicemailDetails::new(&Extension::parse("1001").unwrap_or_else(|| unreachable!("digits")));
    d.or_caller_id(Some("+14165550123"));
    d.or_duration_secs(Some(42));
    d.set_received_at(Some("2026-12-02 09:30"));
    d.set_recording_url("https://pbx.example.com/r/AbCdEfGhIjKlMnOpQrStUv".to_owned());
    d
}

fn audit(o: &TenantOverview) -> Markup {
    html! {
        section aria-labelledby="audit" {
            h2 #audit { "Changes" }
            @if o.audit.is_empty() { p { "No change recorded yet." } } @else {
                table.audit {
                    thead { tr { th scope="col" { "When" } th scope="col" { "Who" } th scope="col" { "What" } th scope="col" { "Before" } th scope="col" { "After" } } }
                    tbody { @for a in &o.audit { tr {
                        td { (when(a.at)) } td { (a.who) } td { (a.what) }
                        td { code { (a.before.as_deref().unwrap_or("—")) } } td { code { (a.after.as_deref().unwrap_or("—")) } }
                    } } }
                }
            }
        }
    }
}
