//! A folder standing in for the voicemail bucket: `DIR/voicemail/59/1001/
//! msg0001.wav` is the object `voicemail/59/1001/msg0001.wav`. Polled every
//! second; a new file, once it holds still, becomes the S3 `ObjectCreated`
//! notification the bucket would send, run through the voicemail-trigger
//! function.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lambda_events::s3::{S3Bucket, S3Entity, S3Event, S3EventRecord, S3Object};
use shared::domain::text::escape;
use shared::inbound::trigger::KeyLayout;
use shared::service::Service;
use tokio::sync::watch;

use crate::fail::{Fail, Result};
use crate::output::say;

const POLL: Duration = Duration::from_secs(1);
const BUCKET: &str = "local";

/// What tells one upload from another: S3 gives an overwrite a new sequencer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    modified: SystemTime,
    size: u64,
}

pub struct Watcher {
    dir: PathBuf,
    /// Handled (or there before we started), by object key.
    done: HashMap<String, Stamp>,
    /// Seen once; handled when seen again unchanged, so that a file still
    /// being written is not announced half-way (and then again).
    pending: HashMap<String, Stamp>,
}

impl Watcher {
    /// Creates the folder if need be, so that it can be filled after start.
    pub fn start(dir: PathBuf) -> Result<Self> {
        std::fs::create_dir_all(&dir).map_err(|e| Fail::new(format!("--watch {}: {e}", dir.display())))?;
        let done = scan(&dir);
        Ok(Watcher { dir, done, pending: HashMap::new() })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub async fn run(mut self, service: Arc<Service>, layout: KeyLayout, mut stop: watch::Receiver<bool>) {
        loop {
            tokio::select! {
                () = tokio::time::sleep(POLL) => {}
                _ = stop.changed() => return,
            }
            let dir = self.dir.clone();
            let files = match tokio::task::spawn_blocking(move || scan(&dir)).await {
                Ok(files) => files,
                Err(e) => {
                    tracing::error!(error = %e, "scanning the watch folder failed");
                    continue;
                }
            };
            for (key, stamp) in &files {
                if self.done.get(key) == Some(stamp) {
                    continue;
                }
                let settled = self.pending.insert(key.clone(), *stamp) == Some(*stamp);
                if settled && announce(&service, &layout, key, *stamp).await {
                    self.pending.remove(key);
                    self.done.insert(key.clone(), *stamp);
                }
            }
            // A file removed and dropped again is a new upload.
            self.done.retain(|key, _| files.contains_key(key));
            self.pending.retain(|key, _| files.contains_key(key));
        }
    }
}

/// Runs the notification through the trigger; false when the send failed and
/// must be tried again (at the next poll), as Lambda would retry it.
async fn announce(service: &Service, layout: &KeyLayout, key: &str, stamp: Stamp) -> bool {
    let event = match serde_json::to_value(s3_event(key, stamp)) {
        Ok(event) => event,
        Err(e) => {
            tracing::error!(key = %escape(key), error = %e, "the notification could not be written");
            return false;
        }
    };
    match crate::trigger::invoke(service, layout, &event).await {
        Ok(answer) => {
            say!("[watch] {}: {}", escape(key), serde_json::to_string(&answer).unwrap_or_default());
            true
        }
        Err(e) => {
            tracing::error!(key = %escape(key), error = %e, "voicemail SMS failed; trying again at the next poll");
            false
        }
    }
}

/// Every regular file under `dir`, by object key. Links, FIFOs, devices,
/// unreadable folders and names that are not UTF-8 (S3 keys are) are left
/// out.
fn scan(dir: &Path) -> HashMap<String, Stamp> {
    let mut files = HashMap::new();
    let mut folders = vec![(dir.to_path_buf(), String::new())];
    while let Some((folder, prefix)) = folders.pop() {
        let entries = match std::fs::read_dir(&folder) {
            Ok(entries) => entries,
            Err(e) => {
                tracing::debug!(folder = %folder.display(), error = %e, "cannot read folder");
                continue;
            }
        };
        for entry in entries.flatten() {
            let Ok(name) = entry.file_name().into_string() else {
                tracing::debug!(path = %entry.path().display(), "skipped: name is not UTF-8");
                continue;
            };
            let key = format!("{prefix}{name}");
            // Regular files only, and folders, neither through a link: a
            // link could point out of the folder, and a FIFO or a device is
            // no recording (`entry.metadata` does not follow links).
            match entry.metadata() {
                Ok(meta) if meta.is_dir() => folders.push((entry.path(), format!("{key}/"))),
                Ok(meta) if meta.is_file() => {
                    let modified = meta.modified().unwrap_or(UNIX_EPOCH);
                    files.insert(key, Stamp { modified, size: meta.len() });
                }
                Ok(_) => tracing::debug!(path = %entry.path().display(), "skipped: not a regular file"),
                Err(_) => {}
            }
        }
    }
    files
}

/// The notification S3 sends for a new object (one record).
fn s3_event(key: &str, stamp: Stamp) -> S3Event {
    let since_epoch = stamp.modified.duration_since(UNIX_EPOCH).unwrap_or_default();
    let nanos = u64::try_from(since_epoch.as_nanos()).unwrap_or(u64::MAX);
    let mut bucket = S3Bucket::default();
    bucket.name = Some(BUCKET.to_owned());
    bucket.arn = Some(format!("arn:aws:s3:::{BUCKET}"));
    let mut object = S3Object::default();
    object.key = Some(encode_key(key));
    object.size = i64::try_from(stamp.size).ok();
    object.sequencer = Some(format!("{nanos:016X}{:016X}", stamp.size));
    let mut entity = S3Entity::default();
    entity.schema_version = Some("1.0".to_owned());
    entity.configuration_id = Some("smsctl-watch".to_owned());
    (entity.bucket, entity.object) = (bucket, object);
    let mut record = S3EventRecord::default();
    record.event_version = Some("2.1".to_owned());
    record.event_source = Some("aws:s3".to_owned());
    record.aws_region = Some("local".to_owned());
    record.event_time =
        chrono::DateTime::from_timestamp(since_epoch.as_secs() as i64, since_epoch.subsec_nanos()).unwrap_or_default();
    record.event_name = Some("ObjectCreated:Put".to_owned());
    record.principal_id.principal_id = Some("smsctl".to_owned());
    record.request_parameters.source_ip_address = Some("127.0.0.1".to_owned());
    record.s3 = entity;
    let mut event = S3Event::default();
    event.records = vec![record];
    event
}

/// Keys as S3 writes them into notifications: URL-encoded, spaces as `+`
/// (so a `+` as `%2B`), the `/` between folders kept.
fn encode_key(key: &str) -> String {
    key.split('/')
        .map(|part| form_urlencoded::byte_serialize(part.as_bytes()).collect::<String>())
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::inbound::trigger::{Announced, Invocation, decode_key};

    #[cfg(unix)]
    #[test]
    fn only_regular_files_are_announced() {
        let dir = std::env::temp_dir().join(format!("sms-watch-scan-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let folder = dir.join("voicemail/59/1001");
        std::fs::create_dir_all(&folder).unwrap();
        std::fs::write(folder.join("a.wav"), b"RIFF").unwrap();
        std::os::unix::fs::symlink("/etc/hostname", folder.join("link.wav")).unwrap();
        std::os::unix::fs::symlink(&folder, dir.join("voicemail/60")).unwrap();
        assert!(std::process::Command::new("mkfifo").arg(folder.join("fifo.wav")).status().unwrap().success());
        let keys: Vec<String> = scan(&dir).into_keys().collect();
        assert_eq!(keys, ["voicemail/59/1001/a.wav"]);
    }

    #[test]
    fn keys_are_encoded_like_s3_and_decode_back() {
        let key = "voicemail/59/1001/my msg+1 (ü).wav";
        assert_eq!(encode_key(key), "voicemail/59/1001/my+msg%2B1+%28%C3%BC%29.wav");
        assert_eq!(decode_key(&encode_key(key)).as_deref(), Ok(key));
    }

    #[test]
    fn the_event_is_a_voicemail_for_the_trigger() {
        let stamp = Stamp { modified: UNIX_EPOCH + Duration::from_secs(1_700_000_000), size: 42 };
        let event = serde_json::to_value(s3_event("voicemail/59/1001/my msg.wav", stamp)).unwrap();
        let Invocation::Direct(items) = KeyLayout::default().parse(&event) else {
            panic!("not a direct invocation: {event}");
        };
        let [Ok(Announced::Voicemail(vm))] = &items[..] else { panic!("{items:?}") };
        assert_eq!((vm.tenant.as_str(), vm.extension.as_str()), ("59", "1001"));
        let sequencer = format!("{:016X}{:016X}", 1_700_000_000u64 * 1_000_000_000, 42);
        assert_eq!(vm.identity, format!("s3://local/voicemail/59/1001/my msg.wav#{sequencer}"));
        // Another upload of the same key is another voicemail.
        let again = s3_event("voicemail/59/1001/my msg.wav", Stamp { size: 43, ..stamp });
        assert_ne!(
            event["Records"][0]["s3"]["object"]["sequencer"],
            again.records[0].s3.object.sequencer.as_deref().unwrap()
        );
    }
}
