//! Messages: the log with its filters, one message whole, a 30-day chart,
//! and a test SMS.

use http::{Response, StatusCode};
use maud::{Markup, html};

use super::super::forms::Form;
use super::super::layout::{Frame, Notice, Tab, when};
use super::super::session::{Signed, html_response};
use crate::domain::times::parse_day;
use crate::domain::{Cursor, E164, MessageRecord, MessageStatus, MessageText, TenantId};
use crate::service::{Error, PageQuery, Service};

mod chart;

const PAGE: usize = 50;
const CHART_DAYS: i64 = 30;

pub async fn list(
    service: &Service,
    s: &Signed<'_>,
    id: &TenantId,
    notice: Option<Notice>,
) -> Result<Response<String>, Error> {
    let o = service.tenant_overview(&s.operator, id).await?;
    let query = s.query();
    let (filters, refused) = match filters(&query) {
        Ok(q) => (q, None),
        Err(e) => (PageQuery { since: None, until: None, status: None, to: None, limit: PAGE, after: None }, Some(e)),
    };
    let page = service.tenant_messages(&s.operator, id, filters).await?;
    let days = service.daily(&s.operator, id, CHART_DAYS).await?;
    let frame = s.frame();
    let notice = notice.or(refused.map(|e| Notice::Failed(e.to_string())));
    let failed = Notice::failed(notice.as_ref());
    let content = html! {
        (frame.tenant_head(&o, Tab::Messages))
        (chart::svg(&days))
        (filter_form(&frame, id, &query))
        (table(&frame, id, &page.messages))
        @if let Some(next) = &page.next { a.next href=(next_link(&frame, id, &query, next)) { "Older messages" } }
        (test_form(&frame, id))
    };
    let status = Notice::status(failed);
    Ok(html_response(status, frame.page(&format!("Tenant {id} · Messages"), notice.as_ref(), content)))
}

pub async fn detail(
    service: &Service,
    s: &Signed<'_>,
    id: &TenantId,
    message: &str,
) -> Result<Response<String>, Error> {
    let o = service.tenant_overview(&s.operator, id).await?;
    let m = service.tenant_message(&s.operator, id, message).await?;
    let frame = s.frame();
    let content = html! {
        (frame.tenant_head(&o, Tab::Messages))
        (entry(&frame, id, &m))
        p { a href=(frame.url(&format!("/tenants/{id}/messages"))) { "Back to the messages" } }
    };
    Ok(html_response(StatusCode::OK, frame.page(&format!("Message {}", m.id), None, content)))
}

/// One entry whole: a held one says when it goes, one sent in a digest
/// links to the digest's entry (which has the provider's id and receipt).
fn entry(frame: &Frame<'_>, id: &TenantId, m: &MessageRecord) -> Markup {
    html! {
        dl.detail {
            dt { "Status" } dd { span class={ "badge " (m.status.as_str()) } { (m.status.as_str()) } }
            @if let Some(e) = &m.error { dt { "Why" } dd { (e) } }
            @if let Some(due) = m.due { dt { "Due" } dd { (when(due)) ", at the end of its quiet hours" } }
            @if let Some(d) = &m.digest {
                dt { "Sent in" } dd { "the digest " a href=(frame.url(&format!("/tenants/{id}/messages/{d}"))) { (d) } }
            }
            dt { "Kind" } dd { (m.kind.as_str()) @if let Some(x) = &m.extension { ", extension " (x) } }
            dt { "From" } dd { (if m.from.is_empty() { "—" } else { &m.from }) }
            dt { "To" } dd { (if m.to.is_empty() { "—" } else { &m.to }) }
            dt { "Segments" } dd { (m.segments) }
            dt { "Attempts" } dd { (m.attempts) }
            dt { "Last change" } dd { (when(m.at)) }
            dt { "Provider id" } dd { (m.provider_id.as_deref().unwrap_or("—")) }
            dt { "Receipt" } dd { @match &m.receipt {
                Some(r) => { (if r.delivered { "delivered" } else { "not delivered" }) ", " (r.response) ", " (when(r.at))
                    @if let Some(p) = &r.price_usd { ", USD " (p) } },
                None => "none yet",
            } }
        }
    }
}

pub async fn test_sms(service: &Service, s: &Signed<'_>, id: &TenantId) -> Result<Response<String>, Error> {
    let f = &s.form;
    let parsed = (|| {
        let to = f.required::<E164>("to", "To")?;
        let text = MessageText::new(f.get("message").unwrap_or("").to_owned()).map_err(Error::from)?;
        Ok::<_, Error>((to, text))
    })();
    let sent = match parsed {
        Ok((to, text)) => service.test_sms(&s.operator, id, to, text).await,
        Err(e) => Err(e),
    };
    let notice = match sent {
        Ok(sent) => Notice::Saved(format!("Test SMS {} sent to {}.", sent.id, sent.to)),
        Err(e) if e.is_infrastructure() && !matches!(e, Error::ProviderUnavailable(_)) => return Err(e),
        Err(e) => Notice::Failed(e.to_string()),
    };
    list(service, s, id, Some(notice)).await
}

fn filters(q: &Form) -> Result<PageQuery, Error> {
    let invalid = |field, expected| Error::InvalidField { field, expected };
    let status = q
        .get("status")
        .map(|v| v.parse::<MessageStatus>().map_err(|()| invalid("status", MessageStatus::EXPECTED)))
        .transpose()?;
    let since = q.get("since").map(|v| parse_day(v).ok_or(invalid("since", "a day as 2026-11-27"))).transpose()?;
    let until = q
        .get("until")
        .map(|v| parse_day(v).map(|d| d + 86_399).ok_or(invalid("until", "a day as 2026-11-27")))
        .transpose()?;
    let to = q.value::<E164>("to", "To")?;
    let after = q.get("after").map(|v| Cursor::parse(v).ok_or(invalid("after", Cursor::EXPECTED))).transpose()?;
    Ok(PageQuery { since, until, status, to, limit: PAGE, after })
}

fn filter_form(frame: &Frame<'_>, id: &TenantId, q: &Form) -> Markup {
    html! {
        form.search method="get" action=(frame.url(&format!("/tenants/{id}/messages"))) aria-label="Filter messages" {
            label for="status" { "Status" }
            select #status name="status" {
                option value="" { "any" }
                @for st in MessageStatus::ALL { option value=(st.as_str()) selected[q.get("status") == Some(st.as_str())] { (st.as_str()) } }
            }
            label for="since" { "From day" } input #since type="date" name="since" value=[q.get("since")];
            label for="until" { "To day" } input #until type="date" name="until" value=[q.get("until")];
            label for="to" { "Destination" } input #to type="tel" name="to" value=[q.get("to")];
            button type="submit" { "Filter" }
        }
    }
}

fn table(frame: &Frame<'_>, id: &TenantId, messages: &[MessageRecord]) -> Markup {
    html! {
        @if messages.is_empty() { p { "No message matches." } } @else {
            table.messages {
                caption { "Messages, newest first" }
                thead { tr { th scope="col" { "When" } th scope="col" { "Status" } th scope="col" { "Kind" } th scope="col" { "To" } th scope="col" { "Segments" } } }
                tbody { @for m in messages { tr {
                    td { a href=(frame.url(&format!("/tenants/{id}/messages/{}", m.id))) { (when(m.at)) } }
                    td { span class={ "badge " (m.status.as_str()) } { (m.status.as_str()) }
                        @if let Some(due) = m.due { " until " (when(due)) }
                        @if m.digest.is_some() { " in a digest" } }
                    td { (m.kind.as_str()) @if let Some(x) = &m.extension { " " (x) } }
                    td { (if m.to.is_empty() { "—" } else { &m.to }) }
                    td { (m.segments) }
                } } }
            }
        }
    }
}

fn next_link(frame: &Frame<'_>, id: &TenantId, q: &Form, next: &Cursor) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    for name in ["status", "since", "until", "to"] {
        if let Some(v) = q.get(name) {
            query.append_pair(name, v);
        }
    }
    query.append_pair("after", &next.encode());
    frame.url(&format!("/tenants/{id}/messages?{}", query.finish()))
}

fn test_form(frame: &Frame<'_>, id: &TenantId) -> Markup {
    html! {
        form.settings method="post" action=(frame.url(&format!("/tenants/{id}/test-sms"))) aria-labelledby="test-sms" {
            (frame.csrf_field())
            h2 #test-sms { "Send a test SMS" }
            p.note { "Sent from the tenant's Sender Number, on its API budget, as any SMS: Active must be Yes." }
            label for="test-to" { "To (+E.164)" } input #test-to type="tel" name="to" required;
            label for="test-message" { "Message" } textarea #test-message name="message" rows="2" required { "Test SMS notification" }
            button type="submit" { "Send test SMS" }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HELD: &str = r#"{"id": "vm-1", "tenant": "59", "kind": "voicemail", "extension": "1001",
        "from": "+14165550000", "to": "+14165551234", "status": "held", "segments": 1,
        "at": 1768276800, "due": 1768305600}"#;

    fn page(m: &MessageRecord) -> (String, String) {
        let frame = Frame { base: "", operator: None, csrf: "t" };
        let id = TenantId::parse("59").unwrap();
        (table(&frame, &id, std::slice::from_ref(m)).into_string(), entry(&frame, &id, m).into_string())
    }

    #[test]
    fn a_held_entry_says_when_it_goes() {
        let (row, whole) = page(&serde_json::from_str(HELD).unwrap());
        let due = r#"<time datetime="2026-01-13T12:00:00Z">2026-01-13 12:00:00 UTC</time>"#;
        assert!(row.contains(&format!("held</span> until {due}")), "{row}");
        assert!(whole.contains(&format!("<dt>Due</dt><dd>{due}, at the end of its quiet hours</dd>")), "{whole}");
    }

    #[test]
    fn an_entry_sent_in_a_digest_links_to_it() {
        let mut sent: MessageRecord = serde_json::from_str(HELD).unwrap();
        (sent.status, sent.due, sent.digest) = (MessageStatus::Sent, None, Some("dg-abc".to_owned()));
        let (row, whole) = page(&sent);
        assert!(row.contains("sent</span> in a digest") && !row.contains("until"), "{row}");
        let link = r#"<dd>the digest <a href="/console/tenants/59/messages/dg-abc">dg-abc</a></dd>"#;
        assert!(whole.contains(link) && !whole.contains("Due"), "{whole}");
    }
}
