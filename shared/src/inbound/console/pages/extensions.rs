//! Extensions: the per-extension enhanced service, its SMS number and its
//! quiet hours, a
//! page at a time by number (a range of the store's key, however many
//! there are); the tenant's destination countries and rate limits.

use http::Response;
use maud::{Markup, html};

use super::super::layout::{Frame, Notice, Tab};
use super::super::quiet;
use super::super::session::{Signed, html_response};
use crate::domain::{
    CountryCode, E164, Extension, ExtensionRecord, MessageKind, QuietSetting, RateLimits, Tenant, TenantId,
};
use crate::ports::ListQuery;
use crate::service::operators::Limits;
use crate::service::{Error, Service};

const PAGE: usize = 50;

/// A row's refusal, shown beside it.
type RowError = (Extension, String);

pub async fn view(
    service: &Service,
    s: &Signed<'_>,
    id: &TenantId,
    row: Option<RowError>,
) -> Result<Response<String>, Error> {
    view_with(service, s, id, row, None).await
}

async fn view_with(
    service: &Service,
    s: &Signed<'_>,
    id: &TenantId,
    row: Option<RowError>,
    notice: Option<Notice>,
) -> Result<Response<String>, Error> {
    let o = service.tenant_overview(&s.operator, id).await?;
    let query = s.query();
    let prefix = query.get("q").filter(|q| q.bytes().all(|b| b.is_ascii_digit())).unwrap_or("");
    let after = query.get("after");
    let list = service.extensions_page(&s.operator, id, ListQuery { prefix, after, limit: PAGE }).await?;
    // A refusal of an extension this page does not list (one being added)
    // is said above the page.
    let (row, notice) = match row {
        Some((x, e)) if !list.iter().any(|r| r.extension == x) => {
            (None, Some(Notice::Failed(format!("Extension {x}: {e}"))))
        }
        row => (row, notice),
    };
    let frame = s.frame();
    // Forms post back to this page, so that their answer shows it again.
    let here = page_url(&frame, id, prefix, after);
    let failed = row.is_some() || Notice::failed(notice.as_ref());
    let content = html! {
        (frame.tenant_head(&o, Tab::Extensions))
        form.search method="get" action=(frame.url(&format!("/tenants/{id}/extensions"))) role="search" {
            label for="q" { "Extension starts with" }
            input #q type="search" name="q" value=(prefix) inputmode="numeric";
            button type="submit" { "Search" }
        }
        (rows(&frame, &here, &list, row.as_ref()))
        @if list.len() == PAGE { @if let Some(last) = list.last() {
            a.next href=(page_url(&frame, id, prefix, Some(last.extension.as_str()))) { "Next extensions" }
        } }
        (add(&frame, &here))
        (limits_form(&frame, &o.tenant))
    };
    let status = Notice::status(failed);
    Ok(html_response(status, frame.page(&format!("Tenant {id} · Extensions"), notice.as_ref(), content)))
}

pub async fn save(service: &Service, s: &Signed<'_>, id: &TenantId) -> Result<Response<String>, Error> {
    let f = &s.form;
    let extension = match f.required::<Extension>("extension", "Extension") {
        Ok(x) => x,
        Err(e) => return view_with(service, s, id, None, Some(Notice::Failed(e.to_string()))).await,
    };
    let record = (|| {
        Ok::<_, Error>(ExtensionRecord {
            tenant: id.clone(),
            extension: extension.clone(),
            sms_notifications: f.yes_no("sms_notifications", "SMS notifications")?,
            sms_number: f.value::<E164>("sms_number", "SMS number")?,
            quiet_hours: quiet::extension(f)?,
        })
    })();
    match record {
        Ok(r) => match service.set_extension(&s.operator, r).await {
            Ok(()) => {
                view_with(service, s, id, None, Some(Notice::Saved(format!("Extension {extension} saved.")))).await
            }
            Err(e @ (Error::NoDestination | Error::InvalidSetting(_))) => {
                view(service, s, id, Some((extension, e.to_string()))).await
            }
            Err(e) => Err(e),
        },
        Err(e) => view(service, s, id, Some((extension, e.to_string()))).await,
    }
}

pub async fn limits(service: &Service, s: &Signed<'_>, id: &TenantId) -> Result<Response<String>, Error> {
    let f = &s.form;
    let parsed = (|| {
        let countries = f.get("allowed_countries").unwrap_or("").split([',', ' ']).filter(|c| !c.is_empty());
        Ok::<_, Error>(Limits {
            allowed_countries: countries
                .map(|c| super::super::forms::parse::<CountryCode>(c, "Allowed countries"))
                .collect::<Result<_, _>>()?,
            rate_limits: pair(
                MessageKind::Api,
                f.number("api_per_minute", "API SMS per minute")?,
                f.number("api_per_day", "API SMS per day")?,
            ),
            voicemail_rate_limits: pair(
                MessageKind::Voicemail,
                f.number("vm_per_minute", "Voicemail SMS per minute")?,
                f.number("vm_per_day", "Voicemail SMS per day")?,
            ),
        })
    })();
    let notice = match parsed {
        Ok(l) => match service.set_limits(&s.operator, id, l).await? {
            w if w.is_empty() => Notice::Saved("Countries and rate limits saved.".to_owned()),
            w => Notice::Warnings(w),
        },
        Err(e) => Notice::Failed(e.to_string()),
    };
    view_with(service, s, id, None, Some(notice)).await
}

/// A budget's limits; its defaults (a value left blank, or both equal to
/// them) are `None`, as a file that names none.
fn pair(kind: MessageKind, per_minute: Option<u32>, per_day: Option<u32>) -> Option<RateLimits> {
    let default = RateLimits::default_for(kind);
    let set = RateLimits {
        per_minute: per_minute.unwrap_or(default.per_minute),
        per_day: per_day.unwrap_or(default.per_day),
    };
    (set != default).then_some(set)
}

/// This page of the extensions: its prefix, and where it starts.
fn page_url(frame: &Frame<'_>, id: &TenantId, prefix: &str, after: Option<&str>) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    query.append_pair("q", prefix);
    if let Some(after) = after {
        query.append_pair("after", after);
    }
    frame.url(&format!("/tenants/{id}/extensions?{}", query.finish()))
}

fn rows(frame: &Frame<'_>, here: &str, list: &[ExtensionRecord], row: Option<&RowError>) -> Markup {
    html! {
        @if list.is_empty() { p { "No extension matches." } }
        ul.extensions { @for x in list {
            @let error = row.filter(|(e, _)| e == &x.extension).map(|(_, t)| t.as_str());
            li { (extension_form(frame, here, x, error)) }
        } }
    }
}

fn extension_form(frame: &Frame<'_>, here: &str, x: &ExtensionRecord, error: Option<&str>) -> Markup {
    let ext = x.extension.as_str();
    let (on_id, number_id, error_id) = (format!("on-{ext}"), format!("number-{ext}"), format!("error-{ext}"));
    html! {
        form.extension method="post" action=(here) aria-label={ "Extension " (ext) } {
            (frame.csrf_field())
            input type="hidden" name="extension" value=(ext);
            strong { "Extension " (ext) }
            label for=(on_id) { "SMS notifications" }
            select id=(on_id) name="sms_notifications" {
                option value="yes" selected[x.sms_notifications] { "Yes" }
                option value="no" selected[!x.sms_notifications] { "No" }
            }
            label for=(number_id) { "SMS number" }
            input id=(number_id) type="tel" name="sms_number" value=[x.sms_number.as_ref()] placeholder="+14165551234"
                aria-invalid=[error.map(|_| "true")] aria-describedby=[error.map(|_| error_id.as_str())];
            details.quiet {
                summary { "Quiet hours: " (quiet_summary(x)) }
                (quiet::fields(&format!("x{ext}-"), &EXTENSION_CHOICES, chosen(x), x.quiet_hours.as_ref().and_then(QuietSetting::hours)))
            }
            button type="submit" { "Save" }
            @if let Some(e) = error { p.notice.failed id=(error_id) role="alert" { (e) } }
        }
    }
}

/// An extension's choices: the tenant's quiet hours, none, or its own.
const EXTENSION_CHOICES: [(&str, &str); 3] =
    [("", "The tenant's quiet hours"), ("off", "Sent at once (no quiet hours)"), ("own", "Its own window")];

fn chosen(x: &ExtensionRecord) -> &'static str {
    match &x.quiet_hours {
        None => "",
        Some(QuietSetting::Off) => "off",
        Some(QuietSetting::Hours(_)) => "own",
    }
}

fn quiet_summary(x: &ExtensionRecord) -> String {
    match &x.quiet_hours {
        None => "the tenant's".to_owned(),
        Some(QuietSetting::Off) => "none".to_owned(),
        Some(QuietSetting::Hours(h)) => h.describe(),
    }
}

fn add(frame: &Frame<'_>, here: &str) -> Markup {
    html! {
        form.extension method="post" action=(here) aria-labelledby="add-ext" {
            (frame.csrf_field())
            h2 #add-ext { "Add an extension" }
            label for="new-extension" { "Extension" }
            input #new-extension type="text" name="extension" inputmode="numeric" required;
            label for="new-on" { "SMS notifications" }
            select #new-on name="sms_notifications" { option value="yes" { "Yes" } option value="no" selected { "No" } }
            label for="new-number" { "SMS number" }
            input #new-number type="tel" name="sms_number" placeholder="+14165551234";
            button type="submit" { "Add" }
        }
    }
}

fn limits_form(frame: &Frame<'_>, t: &Tenant) -> Markup {
    let countries = t.allowed_countries.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ");
    let (api, vm) = (t.limits(MessageKind::Api), t.limits(MessageKind::Voicemail));
    html! {
        form.settings method="post" action=(frame.url(&format!("/tenants/{}/limits", t.id))) aria-labelledby="limits" {
            (frame.csrf_field())
            h2 #limits { "Destination countries and rate limits" }
            label for="allowed_countries" { "Allowed countries (ISO codes; empty: the sender number's country only)" }
            input #allowed_countries type="text" name="allowed_countries" value=(countries);
            label for="api_per_minute" { "API SMS per minute" } input #api_per_minute type="number" min="0" name="api_per_minute" value=(api.per_minute);
            label for="api_per_day" { "API SMS per day" } input #api_per_day type="number" min="0" name="api_per_day" value=(api.per_day);
            label for="vm_per_minute" { "Voicemail SMS per minute" } input #vm_per_minute type="number" min="0" name="vm_per_minute" value=(vm.per_minute);
            label for="vm_per_day" { "Voicemail SMS per day" } input #vm_per_day type="number" min="0" name="vm_per_day" value=(vm.per_day);
            button type="submit" { "Save" }
        }
    }
}
