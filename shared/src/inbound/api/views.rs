//! How the APIs show what the service answers: every JSON body they write,
//! as a type.

use serde::ser::{Serialize, SerializeMap, Serializer};
use time::OffsetDateTime;

use crate::domain::{DeliveryReceipt, MessageRecord, times};
use crate::service::Sent;

/// A stored time (epoch seconds; the clock's, so always in range).
fn at(epoch_secs: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(epoch_secs).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// A message of the log, as the REST API shows it.
#[derive(Debug, serde::Serialize)]
pub struct Message<'a> {
    id: &'a str,
    server: &'a str,
    kind: &'a str,
    from: &'a str,
    to: &'a str,
    status: &'a str,
    segments: usize,
    attempts: u32,
    #[serde(with = "time::serde::rfc3339")]
    at: OffsetDateTime,
    #[serde(skip_serializing_if = "Option::is_none")]
    extension: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    provider_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    receipt: Option<Receipt<'a>>,
    /// A held voicemail's: when it goes.
    #[serde(skip_serializing_if = "Option::is_none", with = "time::serde::rfc3339::option")]
    due: Option<OffsetDateTime>,
    /// A held voicemail sent in a digest: the digest's id.
    #[serde(skip_serializing_if = "Option::is_none")]
    digest: Option<&'a str>,
}

#[derive(Debug, serde::Serialize)]
struct Receipt<'a> {
    delivered: bool,
    response: &'a str,
    price_usd: Option<&'a str>,
    #[serde(with = "time::serde::rfc3339")]
    at: OffsetDateTime,
}

impl<'a> Message<'a> {
    pub fn of(m: &'a MessageRecord) -> Self {
        Message {
            id: &m.id,
            server: m.tenant.as_str(),
            kind: m.kind.as_str(),
            from: &m.from,
            to: &m.to,
            status: m.status.as_str(),
            segments: m.segments,
            attempts: m.attempts,
            at: at(m.at),
            extension: m.extension.as_ref().map(|x| x.as_str()),
            error: m.error.as_deref(),
            provider_id: m.provider_id.as_deref(),
            receipt: m.receipt.as_ref().map(Receipt::of),
            due: m.due.map(at),
            digest: m.digest.as_deref(),
        }
    }

    pub fn all(messages: &'a [MessageRecord]) -> Vec<Self> {
        messages.iter().map(Message::of).collect()
    }
}

impl<'a> Receipt<'a> {
    fn of(r: &'a DeliveryReceipt) -> Self {
        Receipt { delivered: r.delivered, response: &r.response, price_usd: r.price_usd.as_deref(), at: at(r.at) }
    }
}

/// A list of messages: `{"messages": [...]}`, with the next page's cursor
/// where there are pages.
#[derive(Debug, serde::Serialize)]
pub struct Messages<'a> {
    pub messages: Vec<Message<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<Option<String>>,
}

/// PBXware's SMS report: an object of records keyed by report id, every
/// value a string; `[]` when there is none, as PBXware answers.
#[derive(Debug)]
pub struct Report<'a> {
    pub messages: &'a [MessageRecord],
    pub provider: &'a str,
}

#[derive(Debug, serde::Serialize)]
struct ReportRecord<'a> {
    server: &'a str,
    provider: &'a str,
    from: &'a str,
    to: &'a str,
    direction: &'static str,
    #[serde(rename = "date/time")]
    date_time: String,
    status: &'a str,
    error: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
}

impl Serialize for Report<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.messages.is_empty() {
            return s.collect_seq(std::iter::empty::<()>());
        }
        let mut map = s.serialize_map(Some(self.messages.len()))?;
        for m in self.messages {
            let record = ReportRecord {
                server: m.tenant.as_str(),
                provider: self.provider,
                from: m.from.trim_start_matches('+'),
                to: m.to.trim_start_matches('+'),
                direction: "Outbound",
                date_time: times::report_date_time(m.at),
                status: m.status.as_str(),
                error: m.error.as_deref().unwrap_or(""),
                kind: "SMS",
            };
            map.serialize_entry(&m.id, &record)?;
        }
        map.end()
    }
}

/// What the action API says of a sent SMS: its `success`, then the SMS.
#[derive(Debug, serde::Serialize)]
pub struct ActionSent<'a> {
    pub success: &'static str,
    #[serde(flatten)]
    pub sent: &'a Sent,
}

/// PBXware's enhanced service state: `{"state": "yes"}`, with `success`
/// when it was set.
#[derive(Debug, serde::Serialize)]
pub struct ServiceState {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub success: Option<&'static str>,
    pub state: &'static str,
}

/// The REST API's extension state.
#[derive(Debug, serde::Serialize)]
pub struct ExtensionState {
    pub sms_notifications: bool,
}
