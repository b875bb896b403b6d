//! SMS Settings → SMS API: Enable SMS API, and the API keys whose scope
//! holds the tenant (names and rights, never a secret or a hash; a new or
//! rotated key's secret shown once).

use std::collections::BTreeMap;

use http::Response;
use maud::{Markup, html};

use super::super::forms::{Form, parse};
use super::super::layout::{Frame, Notice, Tab, when, yes_no};
use super::super::session::{Signed, html_response};
use crate::domain::{ApiKey, ApiKeySecret, Permission, TenantId, TenantScope};
use crate::service::operators::{KeyChange, LAST_USE_SCAN, TenantOverview};
use crate::service::{Error, Service};

pub async fn view(
    service: &Service,
    s: &Signed<'_>,
    id: &TenantId,
    notice: Option<Notice>,
    secret: Option<(&str, &ApiKeySecret)>,
) -> Result<Response<String>, Error> {
    let o = service.tenant_overview(&s.operator, id).await?;
    let last = service.keys_last_sms(&s.operator, id).await?;
    let frame = s.frame();
    let status = Notice::status(Notice::failed(notice.as_ref()));
    let content = html! {
        (frame.tenant_head(&o, Tab::Api))
        form.settings method="post" action=(frame.url(&format!("/tenants/{id}/api"))) {
            (frame.csrf_field())
            (yes_no("api_enabled", "Enable SMS API", o.tenant.api_enabled))
            p.note { "The API needs Active Yes, Enable SMS API Yes, a valid Sender Number, and a key that allows SMS actions." }
            button type="submit" { "Save" }
        }
        @if let Some((name, secret)) = secret {
            div.notice.secret role="status" {
                p { "The secret of " strong { (name) } ". It is shown this once: copy it now." }
                output { code { (secret.reveal()) } }
            }
        }
        (keys(&frame, &o, s, &last))
        (create(&frame, id))
    };
    Ok(html_response(status, frame.page(&format!("Tenant {id} · SMS API"), notice.as_ref(), content)))
}

pub async fn save(service: &Service, s: &Signed<'_>, id: &TenantId) -> Result<Response<String>, Error> {
    let notice = match s.form.yes_no("api_enabled", "Enable SMS API") {
        Ok(on) => match service.set_api(&s.operator, id, on).await? {
            w if w.is_empty() => Notice::Saved("SMS API saved.".to_owned()),
            w => Notice::Warnings(w),
        },
        Err(e) => Notice::Failed(e.to_string()),
    };
    view(service, s, id, Some(notice), None).await
}

/// A key created, rotated, changed or deleted.
pub async fn key(service: &Service, s: &Signed<'_>, id: &TenantId) -> Result<Response<String>, Error> {
    let change = match key_change(&s.form, id) {
        Ok(c) => c,
        Err(e) => return view(service, s, id, Some(Notice::Failed(e.to_string())), None).await,
    };
    let name = s.form.get("name").unwrap_or("").to_owned();
    match service.change_key(&s.operator, id, change).await {
        Ok(Some(secret)) => {
            view(service, s, id, Some(Notice::Saved(format!("Key {name} saved."))), Some((&name, &secret))).await
        }
        Ok(None) => view(service, s, id, Some(Notice::Saved(format!("Key {name} saved."))), None).await,
        Err(e @ (Error::InvalidSetting(_) | Error::NotYours)) => {
            view(service, s, id, Some(Notice::Failed(e.to_string())), None).await
        }
        Err(e) => Err(e),
    }
}

fn key_change(f: &Form, id: &TenantId) -> Result<KeyChange, Error> {
    let name = f.get("name").unwrap_or("").to_owned();
    let permissions =
        f.all("permission").map(|p| parse::<Permission>(p, "Permissions")).collect::<Result<Vec<_>, _>>()?;
    let tenants = match f.get("tenants") {
        Some(scope) => parse_scope(scope)?,
        None => TenantScope::Only(vec![id.clone()]),
    };
    Ok(match f.get("do") {
        Some("create") => KeyChange::Create { name, permissions, tenants },
        Some("rotate") => KeyChange::Rotate { name },
        Some("delete") => KeyChange::Delete { name },
        Some("save") => KeyChange::Set { name, enabled: f.yes_no("enabled", "Enabled")?, permissions, tenants },
        _ => return Err(Error::InvalidSetting("choose what to do with the key".to_owned())),
    })
}

/// Tenant ids separated by commas or spaces, or `*`: the file's scope.
fn parse_scope(text: &str) -> Result<TenantScope, Error> {
    let ids: Vec<String> = text.split([',', ' ']).filter(|p| !p.is_empty()).map(str::to_owned).collect();
    let json = serde_json::to_string(&ids).map_err(|e| Error::Internal(e.to_string()))?;
    serde_json::from_str::<TenantScope>(&json).map_err(|e| Error::InvalidSetting(format!("Tenants: {e}")))
}

fn keys(frame: &Frame<'_>, o: &TenantOverview, s: &Signed<'_>, last: &BTreeMap<String, i64>) -> Markup {
    html! {
        h2 { "API keys" }
        @if o.keys.is_empty() { p { "No key is valid for this tenant yet." } }
        @for k in &o.keys { (key_form(frame, &o.tenant.id, k, s.operator.covers_scope(&k.tenants), last.get(&k.name).copied())) }
    }
}

fn key_form(frame: &Frame<'_>, id: &TenantId, k: &ApiKey, mine: bool, last: Option<i64>) -> Markup {
    let scope = k.tenants.to_strings().join(", ");
    html! {
        form.key method="post" action=(frame.url(&format!("/tenants/{id}/keys"))) aria-label={ "Key " (k.name) } {
            (frame.csrf_field())
            input type="hidden" name="name" value=(k.name);
            h3 { (k.name) }
            p.note {
                "Created " (when(k.created_at)) ", tenants " (scope) ". Last SMS for this tenant: "
                @match last { Some(at) => (when(at)), None => { "none among its last " (LAST_USE_SCAN) " messages" } }
            }
            fieldset disabled[!mine] {
                legend { "Permissions of " (k.name) }
                @for p in Permission::ALL {
                    label { input type="checkbox" name="permission" value=(p.as_str()) checked[k.allows(p)]; " " (p.as_str()) }
                }
            }
            @if mine {
                label { "Tenants of " (k.name) input type="text" name="tenants" value=(scope); }
                (yes_no("enabled", &format!("Enabled: {}", k.name), k.enabled))
                div.buttons {
                    button type="submit" name="do" value="save" { "Save" }
                    button type="submit" name="do" value="rotate" { "Rotate secret" }
                    button type="submit" name="do" value="delete" { "Delete" }
                }
            } @else { p.note { "This key serves other tenants too: an operator of all of them manages it." } }
        }
    }
}

fn create(frame: &Frame<'_>, id: &TenantId) -> Markup {
    html! {
        form.key method="post" action=(frame.url(&format!("/tenants/{id}/keys"))) aria-labelledby="new-key" {
            (frame.csrf_field())
            h2 #new-key { "New key" }
            label for="new-name" { "Name" }
            input #new-name type="text" name="name" required maxlength="128";
            fieldset { legend { "Permissions" }
                @for p in Permission::ALL {
                    label { input type="checkbox" name="permission" value=(p.as_str()) checked[p == Permission::Sms]; " " (p.as_str()) }
                }
            }
            label for="new-tenants" { "Tenants" }
            input #new-tenants type="text" name="tenants" value=(id);
            button type="submit" name="do" value="create" { "Create key" }
        }
    }
}
