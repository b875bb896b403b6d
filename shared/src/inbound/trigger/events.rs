//! Voicemail events into voicemails, record by record with
//! `aws_lambda_events`' types: S3 `ObjectCreated` notifications, the same in
//! SQS messages, EventBridge `Object Created` from S3 and a PBX's own
//! `New Voicemail` (directly or in SQS messages), and Amazon Transcribe's
//! `Transcribe Job State Change` for a voicemail waiting for its
//! transcript. A record that is neither becomes its reason, never the
//! batch's failure.

use aws_lambda_events::eventbridge::EventBridgeEvent;
use aws_lambda_events::s3::S3EventRecord;
use aws_lambda_events::sqs::SqsMessage;
use percent_encoding::percent_decode_str;
use serde::Deserialize;
use serde_json::Value;

use crate::domain::text::clean_field;
use crate::domain::{Extension, TenantId, Transcript, VoicemailDetails, times};
use crate::ports::{S3Object, Voicemail};
use crate::service::News;

/// Where voicemails are in the bucket, and which files are audio.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyLayout {
    /// `voicemail/` by default; keys are `<prefix><tenant>/<extension>/<file>`.
    pub prefix: String,
    /// Lowercase, with their dot: `.wav`, `.mp3`, ...
    pub suffixes: Vec<String>,
}

impl Default for KeyLayout {
    fn default() -> Self {
        KeyLayout {
            prefix: "voicemail/".to_owned(),
            suffixes: DEFAULT_SUFFIXES.split(',').map(str::to_owned).collect(),
        }
    }
}

pub const DEFAULT_SUFFIXES: &str = ".wav,.mp3,.gsm,.ogg,.opus,.m4a,.flac";

/// The longest PBX message id kept in an identity.
const MAX_MESSAGE_ID: usize = 200;

/// One item of an event: what it announces, or why it is nothing of ours.
pub type Item = Result<Announced, String>;

/// What a record announces.
// Made once per record and consumed at once: boxing would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Announced {
    Voicemail(Voicemail),
    /// A transcription job ended (its name, and how).
    JobEnded {
        job: String,
        news: News,
    },
}

/// Amazon Transcribe's `Transcribe Job State Change` detail.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct JobStateChange {
    transcription_job_name: String,
    transcription_job_status: String,
}

/// An invocation of the trigger, by its shape.
#[derive(Debug)]
pub enum Invocation {
    /// S3 or EventBridge, invoked directly: any failure fails the invocation.
    Direct(Vec<Item>),
    /// An SQS batch: failures are reported per message id.
    Sqs(Vec<(String, Vec<Item>)>),
}

/// S3's EventBridge `Object Created` detail (kebab-case, as S3 sends it).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct ObjectCreated {
    bucket: Named,
    object: CreatedObject,
}

#[derive(Debug, Deserialize)]
struct Named {
    name: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct CreatedObject {
    key: String,
    version_id: Option<String>,
    sequencer: Option<String>,
}

/// A PBX's `New Voicemail` detail.
#[derive(Debug, Deserialize)]
struct NewVoicemail {
    tenant: Scalar,
    extension: Scalar,
    caller_id: Option<Scalar>,
    duration: Option<Scalar>,
    time: Option<String>,
    message_id: Option<Scalar>,
    /// What the caller said, when the PBX transcribed it.
    transcript: Option<String>,
}

/// PBXs write ids and numbers as strings or as JSON numbers.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Scalar {
    Text(String),
    Number(serde_json::Number),
}

impl Scalar {
    fn text(&self) -> String {
        match self {
            Scalar::Text(s) => s.clone(),
            Scalar::Number(n) => n.to_string(),
        }
    }
}

impl KeyLayout {
    /// The tenant and extension of a voicemail object key, already decoded.
    pub fn voicemail_of(&self, key: &str) -> Result<(TenantId, Extension), String> {
        let rest = key
            .strip_prefix(&self.prefix)
            .ok_or_else(|| format!("key {key:?} is not under the voicemail prefix {:?}", self.prefix))?;
        let parts: Vec<&str> = rest.split('/').collect();
        let [tenant, extension, file] = parts[..] else {
            return Err(format!("key {key:?} is not laid out as {}<tenant>/<extension>/<file>", self.prefix));
        };
        let lower = file.to_ascii_lowercase();
        if !self.suffixes.iter().any(|s| lower.ends_with(s.as_str()) && lower.len() > s.len()) {
            return Err(format!("key {key:?} is not an audio file ({})", self.suffixes.join(", ")));
        }
        let tenant =
            TenantId::parse(tenant).ok_or_else(|| format!("key {key:?}: tenant is not {}", TenantId::EXPECTED))?;
        let extension = Extension::parse(extension)
            .ok_or_else(|| format!("key {key:?}: extension is not {}", Extension::EXPECTED))?;
        Ok((tenant, extension))
    }

    pub fn parse(&self, event: &Value) -> Invocation {
        match event.get("Records").and_then(Value::as_array) {
            Some(records) if records.iter().any(|r| r.get("eventSource") == Some(&Value::from("aws:sqs"))) => {
                Invocation::Sqs(records.iter().map(|r| self.sqs_message(r)).collect())
            }
            _ => Invocation::Direct(self.parse_direct(event)),
        }
    }

    /// One SQS message: its id, and what its body announces.
    fn sqs_message(&self, record: &Value) -> (String, Vec<Item>) {
        let message = SqsMessage::deserialize(record);
        let id = match &message {
            Ok(m) => m.message_id.clone(),
            Err(_) => record.get("messageId").and_then(Value::as_str).map(str::to_owned),
        }
        .unwrap_or_default();
        let body = message.ok().and_then(|m| m.body).map(|b| serde_json::from_str::<Value>(&b));
        let items = match body {
            Some(Ok(body)) => self.parse_direct(&body),
            _ => vec![Err("SQS message without a JSON body".to_owned())],
        };
        (id, items)
    }

    /// An S3 notification, or an EventBridge event (invoked directly, or
    /// the body of an SQS message from an EventBridge rule).
    fn parse_direct(&self, event: &Value) -> Vec<Item> {
        if let Some(records) = event.get("Records").and_then(Value::as_array) {
            return records.iter().map(|r| self.s3_record(r)).collect();
        }
        // S3 sends one when a notification is set up.
        if event.get("Event") == Some(&Value::from("s3:TestEvent")) {
            return Vec::new();
        }
        vec![self.eventbridge(event)]
    }

    fn s3_record(&self, record: &Value) -> Item {
        let r = S3EventRecord::deserialize(record).map_err(|e| format!("not an S3 event record: {e}"))?;
        let name = r.event_name.as_deref().unwrap_or_default();
        if !name.starts_with("ObjectCreated:") {
            return Err(format!("S3 event {name:?} is not an object creation"));
        }
        let bucket = r.s3.bucket.name.as_deref().ok_or("S3 record without bucket name")?;
        let raw_key = r.s3.object.key.as_deref().ok_or("S3 record without object key")?;
        // Notifications URL-encode the key, with spaces as '+'.
        let key = decode_key(raw_key)?;
        let version = r.s3.object.version_id.as_deref().or(r.s3.object.sequencer.as_deref());
        self.object(bucket, key, version, times::rfc3339(r.event_time.timestamp()).as_deref()).map(Announced::Voicemail)
    }

    fn eventbridge(&self, event: &Value) -> Item {
        let e = EventBridgeEvent::<Value>::deserialize(event)
            .map_err(|e| format!("not an S3, SQS or EventBridge event: {e}"))?;
        // As templates show them: RFC 3339, UTC, whole seconds.
        let time = e.time.and_then(|t| times::rfc3339(t.timestamp()));
        match e.detail_type.as_str() {
            "Object Created" => {
                let d = ObjectCreated::deserialize(&e.detail)
                    .map_err(|err| format!("Object Created event with a malformed detail: {err}"))?;
                // EventBridge carries the key as stored, not URL-encoded.
                let version = d.object.version_id.as_deref().or(d.object.sequencer.as_deref());
                self.object(&d.bucket.name, d.object.key, version, time.as_deref()).map(Announced::Voicemail)
            }
            "New Voicemail" => new_voicemail(e.id.as_deref(), &e.detail, time.as_deref()).map(Announced::Voicemail),
            "Transcribe Job State Change" if e.source == "aws.transcribe" => job_ended(&e.detail),
            other => Err(format!("unsupported event detail-type {other:?}")),
        }
    }

    fn object(
        &self,
        bucket: &str,
        key: String,
        version: Option<&str>,
        time: Option<&str>,
    ) -> Result<Voicemail, String> {
        let (tenant, extension) = self.voicemail_of(&key)?;
        let mut details = VoicemailDetails::new(&extension);
        details.set_received_at(time);
        Ok(Voicemail {
            identity: object_identity(bucket, &key, version),
            details,
            tenant,
            extension,
            object: Some(S3Object { bucket: bucket.to_owned(), key }),
        })
    }
}

/// Bucket, decoded key and version (or sequencer): the same for every
/// delivery of one upload, whichever path announced it. Sequencers are hex
/// that S3 writes with varying case and zero padding.
fn object_identity(bucket: &str, key: &str, version: Option<&str>) -> String {
    let version = version.map(|v| {
        if v.bytes().all(|b| b.is_ascii_hexdigit()) {
            let upper = v.to_ascii_uppercase();
            let trimmed = upper.trim_start_matches('0');
            if trimmed.is_empty() { "0".to_owned() } else { trimmed.to_owned() }
        } else {
            v.to_owned()
        }
    });
    format!("s3://{bucket}/{key}#{}", version.unwrap_or_default())
}

/// S3 notification keys arrive URL-encoded with spaces as `+`.
pub fn decode_key(raw: &str) -> Result<String, String> {
    let spaced = raw.replace('+', " ");
    percent_decode_str(&spaced)
        .decode_utf8()
        .map(|k| k.into_owned())
        .map_err(|_| format!("key {raw:?} is not valid UTF-8 once decoded"))
}

/// A PBX's own event: `detail` holds `tenant`, `extension` and optionally
/// `caller_id`, `duration` (seconds), `time` and `message_id`. A PBX that
/// retries `PutEvents` sends a new event id with the same message id, so
/// the message id (else the event id) names the voicemail, within its
/// tenant.
fn new_voicemail(event_id: Option<&str>, detail: &Value, event_time: Option<&str>) -> Result<Voicemail, String> {
    let d =
        NewVoicemail::deserialize(detail).map_err(|e| format!("New Voicemail event with a malformed detail: {e}"))?;
    let tenant = TenantId::parse(&d.tenant.text())
        .ok_or_else(|| format!("New Voicemail detail.tenant is not {}", TenantId::EXPECTED))?;
    let extension = Extension::parse(&d.extension.text())
        .ok_or_else(|| format!("New Voicemail detail.extension is not {}", Extension::EXPECTED))?;
    let identity = match &d.message_id {
        Some(m) => {
            let id =
                clean_field(&m.text(), MAX_MESSAGE_ID).filter(|id| id.chars().count() < MAX_MESSAGE_ID).ok_or_else(
                    || format!("New Voicemail detail.message_id is not 1 to {} visible characters", MAX_MESSAGE_ID - 1),
                )?;
            format!("nv:{tenant}:msg:{id}")
        }
        None => {
            let id = event_id.filter(|s| !s.is_empty()).ok_or("New Voicemail event without id or detail.message_id")?;
            format!("nv:{tenant}:event:{id}")
        }
    };
    let mut details = VoicemailDetails::new(&extension);
    details.or_caller_id(d.caller_id.as_ref().map(Scalar::text).as_deref());
    // A duration that is no whole number of seconds reads `unknown`.
    details.or_duration_secs(d.duration.as_ref().and_then(|v| v.text().trim().parse().ok()));
    details.set_received_at(d.time.as_deref().or(event_time));
    details.or_transcript(d.transcript.as_deref().and_then(Transcript::clean));
    Ok(Voicemail { identity, details, tenant, extension, object: None })
}

/// A job's final state (EventBridge sends `COMPLETED` and `FAILED`).
fn job_ended(detail: &Value) -> Item {
    let d = JobStateChange::deserialize(detail)
        .map_err(|e| format!("Transcribe Job State Change event with a malformed detail: {e}"))?;
    let news = match d.transcription_job_status.as_str() {
        "COMPLETED" => News::Completed,
        "FAILED" => News::Failed,
        other => return Err(format!("transcription job {} is {other}, not ended", d.transcription_job_name)),
    };
    Ok(Announced::JobEnded { job: d.transcription_job_name, news })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_are_decoded_and_checked() {
        let l = KeyLayout::default();
        assert_eq!(decode_key("voicemail/59/1001/my+msg%2B1.wav").unwrap(), "voicemail/59/1001/my msg+1.wav");
        let (t, x) = l.voicemail_of("voicemail/59/1001/msg0001.WAV").unwrap();
        assert_eq!((t.as_str(), x.as_str()), ("59", "1001"));
        for (key, why) in [
            ("voicemail/59/1001/greeting.txt", "is not an audio file"),
            ("voicemail/59/1001/.wav", "is not an audio file"),
            ("other/59/1001/a.wav", "is not under the voicemail prefix"),
            ("voicemail/59/1001/INBOX/a.wav", "is not laid out"),
            ("voicemail/../1001/a.wav", "tenant is not"),
            ("voicemail/59/1001#EXT#1/a.wav", "extension is not"),
        ] {
            let e = l.voicemail_of(key).unwrap_err();
            assert!(e.contains(why), "{key}: {e}");
        }
        assert!(decode_key("voicemail/%FF.wav").is_err());
    }

    #[test]
    fn sequencers_compare_whatever_their_case_and_padding() {
        assert_eq!(
            object_identity("b", "k", Some("0055AED6DCD90281E5")),
            object_identity("b", "k", Some("55aed6dcd90281e5"))
        );
        assert_ne!(object_identity("b", "k", Some("0A")), object_identity("b", "k", Some("0B")));
        assert_eq!(
            object_identity("b", "k", Some("IYV3p45BT0ac8hjHg1houSdS1a.Mro8e")),
            "s3://b/k#IYV3p45BT0ac8hjHg1houSdS1a.Mro8e"
        );
    }

    #[test]
    fn a_pbx_event_is_named_by_tenant_and_message_id() {
        let ev = |id: &str, tenant: Value, msg: Value| {
            json!({"id": id, "detail-type": "New Voicemail", "source": "pbx",
                   "detail": {"tenant": tenant, "extension": "1001", "message_id": msg}})
        };
        let identity = |v: Value| match KeyLayout::default().parse(&v) {
            Invocation::Direct(items) => items.into_iter().next().unwrap().map(|a| match a {
                Announced::Voicemail(vm) => vm.identity,
                other => panic!("{other:?}"),
            }),
            other => panic!("{other:?}"),
        };
        assert_eq!(identity(ev("e1", json!("59"), json!("m-1"))), identity(ev("e2", json!(59), json!("m-1"))));
        assert_ne!(identity(ev("e1", json!("59"), json!("m-1"))), identity(ev("e1", json!("70"), json!("m-1"))));
        let without = json!({"id": "e1", "detail-type": "New Voicemail", "source": "pbx", "detail": {"tenant": "59", "extension": "1001"}});
        assert_eq!(identity(without).unwrap(), "nv:59:event:e1");
        assert!(identity(ev("e1", json!("59"), json!("\u{200b}"))).is_err());
    }
}
