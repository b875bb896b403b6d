//! Tenant → Settings → SMS Settings → Notifications: Active, Sender
//! Number, Notification Types (Voicemail, its requirements, its template
//! with a preview, its transcripts, its quiet hours), and the tenant's
//! audit log.

use http::{Response, StatusCode};
use maud::{Markup, html};

use super::super::forms::Form;
use super::super::layout::{Frame, Notice, Tab, when, yes_no};
use super::super::quiet;
use super::super::session::{Signed, html_response};
use crate::domain::{
    E164, Extension, Language, MAX_SEGMENTS, MaxSegments, MessageText, Provider, Template, TenantId, Transcript,
    Transcription, VoicemailDetails,
};
use crate::service::operators::{Notifications, TenantOverview};
use crate::service::{Error, Service, default_voicemail_text, filled};

pub async fn view(
    service: &Service,
    s: &Signed<'_>,
    id: &TenantId,
    notice: Option<Notice>,
) -> Result<Response<String>, Error> {
    let o = service.tenant_overview(&s.operator, id).await?;
    let without_number = service.extensions_without_number(&s.operator, id).await?;
    let query = s.query();
    let draft = Draft { template: query.get("template"), max_segments: draft_segments(&query) };
    let status = Notice::status(Notice::failed(notice.as_ref()));
    let frame = s.frame();
    let content = html! {
        (frame.tenant_head(&o, Tab::Notifications))
        (form(&frame, &o, without_number, &draft))
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
            transcription: transcription(f)?,
            max_segments: f.number::<MaxSegments>("max_segments", "Max segments")?,
            quiet_hours: quiet::tenant(f)?,
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

/// Transcription: off, or a provider with its language.
fn transcription(f: &Form) -> Result<Option<Transcription>, Error> {
    let Some(provider) = f.value::<Provider>("transcription", "Transcription")? else { return Ok(None) };
    let language = f.required::<Language>("transcription_language", "Transcription language")?;
    Ok(Some(Transcription { provider, language }))
}

/// The preview alone, for the page's script (the page itself renders it
/// for a browser without script).
pub async fn preview(service: &Service, s: &Signed<'_>, id: &TenantId) -> Result<Response<String>, Error> {
    let query = s.query();
    if query.get("fragment").is_none() {
        return view(service, s, id, None).await;
    }
    let o = service.tenant_overview(&s.operator, id).await?;
    let max = draft_segments(&query).or(o.tenant.max_segments).unwrap_or(MaxSegments::DEFAULT);
    Ok(html_response(StatusCode::OK, preview_of(query.get("template"), max)))
}

/// What the Preview button (or the page's script) sent, not yet saved.
struct Draft<'a> {
    template: Option<&'a str>,
    max_segments: Option<MaxSegments>,
}

/// A draft's Max segments; one that does not read is left to Save to refuse.
fn draft_segments(query: &Form) -> Option<MaxSegments> {
    query.number::<MaxSegments>("max_segments", "Max segments").ok().flatten()
}

fn form(frame: &Frame<'_>, o: &TenantOverview, without_number: usize, draft: &Draft<'_>) -> Markup {
    let t = &o.tenant;
    let template = draft.template.map(str::to_owned).or_else(|| t.voicemail_template.as_ref().map(ToString::to_string));
    let segments = draft.max_segments.or(t.max_segments);
    let max = segments.unwrap_or(MaxSegments::DEFAULT);
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
                code { "{received_at}" } ", " code { "{recording_url}" } ", " code { "{transcript}" } ". Left empty, the guide's text is sent." }
            (transcripts(o, segments))
            (quiet::fields("", &[("", "Sent at once (no quiet hours)"), ("own", "Held until the window ends")],
                if t.quiet_hours.is_some() { "own" } else { "" }, t.quiet_hours.as_ref()))
            div #preview aria-live="polite" { (preview_of(template.as_deref(), max)) }
            div.buttons {
                button type="submit" { "Save" }
                button type="submit" formmethod="get" formaction=(frame.url(&format!("/tenants/{}/preview", t.id))) formnovalidate { "Preview" }
            }
        }
    }
}

/// Where `{transcript}` comes from beyond the PBX's event and a sidecar
/// file, and how long it may make the SMS. Max segments is blank when not
/// set, so that saving the form leaves it unset.
fn transcripts(o: &TenantOverview, segments: Option<MaxSegments>) -> Markup {
    let chosen = o.tenant.transcription.as_ref();
    let language = chosen.map_or_else(|| "auto".to_owned(), |t| t.language.to_string());
    html! {
        label for="transcription" { "Transcription" }
        select #transcription name="transcription" aria-describedby="transcription_note" {
            option value="" selected[chosen.is_none()] { "Off" }
            option value="aws" selected[chosen.is_some_and(|t| t.provider == Provider::Aws)] { "Amazon Transcribe" }
        }
        p #transcription_note .note {
            "A transcript in the PBX's event or in a file beside the recording is used either way. "
            "Amazon Transcribe is billed per voicemail minute; a voicemail whose transcript has not come "
            "within the wait is sent with " q { (crate::domain::NO_TRANSCRIPT) } "."
        }
        label for="transcription_language" { "Transcription language" }
        input #transcription_language name="transcription_language" value=(language) aria-describedby="language_note";
        p #language_note .note { code { "auto" } " for Amazon Transcribe's language identification, or a code such as " code { "en-US" } "." }
        label for="max_segments" { "Max segments" }
        input #max_segments name="max_segments" type="number" min="1" max=(MAX_SEGMENTS)
            value=[segments.map(MaxSegments::get)] placeholder=(MaxSegments::DEFAULT.get()) aria-describedby="segments_note";
        p #segments_note .note {
            "How long a voicemail SMS with " code { "{transcript}" } " may grow: the transcript is cut after a word to fit. "
            "1 to " (MAX_SEGMENTS) ", " (MaxSegments::DEFAULT.get()) " when left empty."
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

/// The template filled in with a sample voicemail, as a send fills it in:
/// its text, encoding and segments, or why it cannot be sent.
fn preview_of(template: Option<&str>, max: MaxSegments) -> Markup {
    let Some(source) = template.filter(|t| !t.trim().is_empty()) else {
        return sample(Ok(default_voicemail_text()));
    };
    sample(Template::parse(source).and_then(|t| filled(&t, &sample_details(), max)))
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
    d.or_transcript(Transcript::clean(SAMPLE_TRANSCRIPT));
    d
}

/// What a caller might say: long enough that a small Max segments cuts it.
const SAMPLE_TRANSCRIPT: &str = "Hi, it's Dana from the dental office, calling to confirm your appointment on \
    Thursday at two thirty. If that time no longer works for you, please call us back at your earliest \
    convenience so that we can find another one. Thank you, and have a great day.";

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
