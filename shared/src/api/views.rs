//! How the APIs show what the service answers: JSON bodies, times.

use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;

use crate::domain::MessageRecord;
use crate::service::Sent;

/// What both API styles report of a sent SMS.
pub fn sent(sent: &Sent) -> Value {
    json!({
        "id": sent.id,
        "from": sent.from,
        "to": sent.to,
        "segments": sent.segments,
        "encoding": sent.encoding,
    })
}

/// RFC 3339, UTC.
pub fn rfc3339(at: i64) -> String {
    OffsetDateTime::from_unix_timestamp(at).ok().and_then(|t| t.format(&Rfc3339).ok()).unwrap_or_default()
}

/// A message of the log, as the REST API shows it.
pub fn message(m: &MessageRecord) -> Value {
    let mut v = json!({
        "id": m.id,
        "server": m.tenant.as_str(),
        "kind": m.kind.as_str(),
        "from": m.from,
        "to": m.to,
        "status": m.status.as_str(),
        "segments": m.segments,
        "attempts": m.attempts,
        "at": rfc3339(m.at),
    });
    let fields = v.as_object_mut().expect("an object");
    if let Some(x) = &m.extension {
        fields.insert("extension".into(), json!(x.as_str()));
    }
    if let Some(e) = &m.error {
        fields.insert("error".into(), json!(e));
    }
    if let Some(p) = &m.provider_id {
        fields.insert("provider_id".into(), json!(p));
    }
    if let Some(r) = &m.receipt {
        fields.insert(
            "receipt".into(),
            json!({ "delivered": r.delivered, "response": r.response, "price_usd": r.price_usd, "at": rfc3339(r.at) }),
        );
    }
    v
}

/// PBXware's SMS report: an object of records keyed by report id, every
/// value a string; `[]` when there is none, as PBXware answers.
pub fn report(messages: &[MessageRecord], provider: &str) -> Value {
    if messages.is_empty() {
        return json!([]);
    }
    let format = format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    let mut records = Map::new();
    for m in messages {
        let at = OffsetDateTime::from_unix_timestamp(m.at).ok().and_then(|t| t.format(&format).ok()).unwrap_or_default();
        records.insert(
            m.id.clone(),
            json!({
                "server": m.tenant.as_str(),
                "provider": provider,
                "from": m.from.trim_start_matches('+'),
                "to": m.to.trim_start_matches('+'),
                "direction": "Outbound",
                "date/time": at,
                "status": m.status.as_str(),
                "error": m.error.as_deref().unwrap_or(""),
                "type": "SMS",
            }),
        );
    }
    Value::Object(records)
}
