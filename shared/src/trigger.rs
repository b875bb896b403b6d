//! Voicemail events into voicemails: S3 `ObjectCreated` notifications, the
//! same wrapped in SQS messages, EventBridge `Object Created` from S3, and a
//! PBX's own EventBridge `New Voicemail`. Parsing never fails the batch: what
//! is not a voicemail is skipped with its reason.

use percent_encoding::percent_decode_str;
use serde_json::{Value, json};

use crate::Error;
use crate::domain::{Extension, TenantId, VoicemailDetails};
use crate::service::{Outcome, S3Object, Service, Voicemail};

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

/// One item of an event: a voicemail, or why it is not one.
pub type Item = Result<Voicemail, String>;

/// An invocation of the trigger, by its shape.
#[derive(Debug)]
pub enum Invocation {
    /// S3 or EventBridge, invoked directly: any failure fails the invocation.
    Direct(Vec<Item>),
    /// An SQS batch: failures are reported per message id.
    Sqs(Vec<(String, Vec<Item>)>),
}

impl KeyLayout {
    /// The tenant and extension of a voicemail object key, already decoded.
    pub fn voicemail_of(&self, key: &str) -> Result<(TenantId, Extension), String> {
        let rest = key
            .strip_prefix(&self.prefix)
            .ok_or_else(|| format!("key {key:?} is not under the voicemail prefix {:?}", self.prefix))?;
        let parts: Vec<&str> = rest.split('/').collect();
        let [tenant, extension, file] = parts[..] else {
            return Err(format!(
                "key {key:?} is not laid out as {}<tenant>/<extension>/<file>",
                self.prefix
            ));
        };
        let lower = file.to_ascii_lowercase();
        if !self.suffixes.iter().any(|s| lower.ends_with(s.as_str()) && lower.len() > s.len()) {
            return Err(format!("key {key:?} is not an audio file ({})", self.suffixes.join(", ")));
        }
        let tenant = TenantId::parse(tenant).ok_or_else(|| format!("key {key:?}: tenant is not {}", TenantId::EXPECTED))?;
        let extension = Extension::parse(extension)
            .ok_or_else(|| format!("key {key:?}: extension is not {}", Extension::EXPECTED))?;
        Ok((tenant, extension))
    }

    pub fn parse(&self, event: &Value) -> Invocation {
        if let Some(records) = event.get("Records").and_then(Value::as_array) {
            let sqs = records
                .iter()
                .any(|r| r.get("eventSource").and_then(Value::as_str) == Some("aws:sqs"));
            if sqs {
                return Invocation::Sqs(
                    records
                        .iter()
                        .map(|r| {
                            let id = str_at(r, &["messageId"]).unwrap_or_default().to_owned();
                            let items = match r.get("body").and_then(Value::as_str).map(serde_json::from_str::<Value>) {
                                Some(Ok(body)) => self.parse_direct(&body),
                                _ => vec![Err("SQS message body is not JSON".to_owned())],
                            };
                            (id, items)
                        })
                        .collect(),
                );
            }
        }
        Invocation::Direct(self.parse_direct(event))
    }

    fn parse_direct(&self, event: &Value) -> Vec<Item> {
        if let Some(records) = event.get("Records").and_then(Value::as_array) {
            return records.iter().map(|r| self.s3_record(r)).collect();
        }
        match str_at(event, &["detail-type"]) {
            Some("Object Created") => vec![self.eventbridge_object(event)],
            Some("New Voicemail") => vec![new_voicemail(event)],
            // S3 sends one when a notification is set up.
            _ if str_at(event, &["Event"]) == Some("s3:TestEvent") => vec![],
            Some(other) => vec![Err(format!("unsupported event detail-type {other:?}"))],
            None => vec![Err("not an S3, SQS or EventBridge event".to_owned())],
        }
    }

    fn s3_record(&self, r: &Value) -> Item {
        let name = str_at(r, &["eventName"]).unwrap_or_default();
        if !name.starts_with("ObjectCreated:") {
            return Err(format!("S3 event {name:?} is not an object creation"));
        }
        let bucket = str_at(r, &["s3", "bucket", "name"]).ok_or("S3 record without bucket name")?;
        let raw_key = str_at(r, &["s3", "object", "key"]).ok_or("S3 record without object key")?;
        let version = str_at(r, &["s3", "object", "versionId"])
            .or_else(|| str_at(r, &["s3", "object", "sequencer"]));
        self.object(bucket, raw_key, version, str_at(r, &["eventTime"]))
    }

    fn eventbridge_object(&self, e: &Value) -> Item {
        let bucket = str_at(e, &["detail", "bucket", "name"]).ok_or("Object Created event without bucket name")?;
        let raw_key = str_at(e, &["detail", "object", "key"]).ok_or("Object Created event without object key")?;
        let version = str_at(e, &["detail", "object", "version-id"])
            .or_else(|| str_at(e, &["detail", "object", "sequencer"]));
        self.object(bucket, raw_key, version, str_at(e, &["time"]))
    }

    fn object(&self, bucket: &str, raw_key: &str, version: Option<&str>, time: Option<&str>) -> Item {
        let key = decode_key(raw_key)?;
        let (tenant, extension) = self.voicemail_of(&key)?;
        // Bucket, key and version (or sequencer): the same for every delivery
        // of one upload, whichever path brought it.
        let identity = format!("s3://{bucket}/{key}#{}", version.unwrap_or(""));
        Ok(Voicemail {
            identity,
            details: VoicemailDetails {
                extension: extension.to_string(),
                received_at: time.map(str::to_owned),
                ..VoicemailDetails::default()
            },
            tenant,
            extension,
            object: Some(S3Object {
                bucket: bucket.to_owned(),
                key,
            }),
        })
    }
}

/// S3 keys arrive URL-encoded with spaces as `+`.
pub fn decode_key(raw: &str) -> Result<String, String> {
    let spaced = raw.replace('+', " ");
    percent_decode_str(&spaced)
        .decode_utf8()
        .map(|k| k.into_owned())
        .map_err(|_| format!("key {raw:?} is not valid UTF-8 once decoded"))
}

/// A PBX's own event: `detail` holds `tenant`, `extension` and optionally
/// `caller_id`, `duration` (seconds), `time` and `message_id`.
fn new_voicemail(e: &Value) -> Item {
    let id = str_at(e, &["id"]).filter(|s| !s.is_empty()).ok_or("New Voicemail event without id")?;
    let detail = e.get("detail").ok_or("New Voicemail event without detail")?;
    let field = |name: &str| -> Option<String> {
        match detail.get(name)? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    };
    let tenant = field("tenant")
        .and_then(|t| TenantId::parse(&t))
        .ok_or_else(|| format!("New Voicemail detail.tenant is not {}", TenantId::EXPECTED))?;
    let extension = field("extension")
        .and_then(|x| Extension::parse(&x))
        .ok_or_else(|| format!("New Voicemail detail.extension is not {}", Extension::EXPECTED))?;
    let duration_secs = match detail.get("duration") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            v.as_u64()
                .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                .ok_or("New Voicemail detail.duration is not a whole number of seconds")?,
        ),
    };
    Ok(Voicemail {
        identity: format!("event:{id}"),
        details: VoicemailDetails {
            extension: extension.to_string(),
            caller_id: field("caller_id"),
            duration_secs,
            received_at: field("time").or_else(|| str_at(e, &["time"]).map(str::to_owned)),
        },
        tenant,
        extension,
        object: None,
    })
}

fn str_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter().try_fold(v, |v, k| v.get(*k))?.as_str()
}

/// A direct invocation's failure: Lambda retries the event, and what was
/// already sent is not sent again.
#[derive(Debug, thiserror::Error)]
#[error("{0} voicemail(s) could not be sent and will be retried")]
pub struct RetryLater(pub usize);

/// What one invocation did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Report {
    pub sent: usize,
    pub skipped: usize,
    pub duplicates: usize,
    /// Voicemails whose send failed and must be retried.
    pub failed: usize,
    /// SQS message ids to report as batch item failures.
    pub failed_messages: Vec<String>,
    sqs: bool,
}

impl Report {
    /// The function's answer: SQS batches report their failures by message
    /// id; a direct invocation fails whole (`Err`) so that Lambda retries it.
    pub fn into_response(self) -> Result<Value, RetryLater> {
        if self.sqs {
            let failures: Vec<Value> = self
                .failed_messages
                .iter()
                .map(|id| json!({ "itemIdentifier": id }))
                .collect();
            return Ok(json!({ "batchItemFailures": failures }));
        }
        if self.failed > 0 {
            return Err(RetryLater(self.failed));
        }
        Ok(json!({ "sent": self.sent, "skipped": self.skipped, "duplicates": self.duplicates }))
    }
}

/// Runs every voicemail of an event through the service. Messages of an SQS
/// batch are handled concurrently; one message's failure fails only it.
pub async fn process(service: &Service, layout: &KeyLayout, event: &Value) -> Report {
    let mut report = Report::default();
    match layout.parse(event) {
        Invocation::Direct(items) => {
            for outcome in run_items(service, items).await {
                report.count(outcome);
            }
        }
        Invocation::Sqs(messages) => {
            report.sqs = true;
            let runs = messages.into_iter().map(|(id, items)| async move { (id, run_items(service, items).await) });
            for (id, outcomes) in futures_util::future::join_all(runs).await {
                let failed_before = report.failed;
                for outcome in outcomes {
                    report.count(outcome);
                }
                if report.failed > failed_before {
                    report.failed_messages.push(id);
                }
            }
        }
    }
    report
}

impl Report {
    fn count(&mut self, outcome: Result<Outcome, Error>) {
        match outcome {
            Ok(Outcome::Sent(_)) => self.sent += 1,
            Ok(Outcome::Skipped(_)) => self.skipped += 1,
            Ok(Outcome::Duplicate) => self.duplicates += 1,
            Err(_) => self.failed += 1,
        }
    }
}

async fn run_items(service: &Service, items: Vec<Item>) -> Vec<Result<Outcome, Error>> {
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let outcome = match item {
            Err(reason) => {
                tracing::info!(%reason, "skipped: not a voicemail");
                Ok(Outcome::Skipped(reason))
            }
            Ok(vm) => {
                let identity = vm.identity.clone();
                let outcome = service.voicemail(vm).await;
                match &outcome {
                    Ok(Outcome::Sent(s)) => tracing::info!(voicemail = %identity, id = %s.id, "voicemail SMS sent"),
                    Ok(Outcome::Skipped(reason)) => tracing::info!(voicemail = %identity, %reason, "voicemail skipped"),
                    Ok(Outcome::Duplicate) => tracing::info!(voicemail = %identity, "voicemail already handled"),
                    Err(e) => tracing::error!(voicemail = %identity, error = %e, cause = e.cause().unwrap_or(""), "voicemail SMS failed; will be retried"),
                }
                outcome
            }
        };
        out.push(outcome);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
