//! Recordings in a folder laid out like the bucket (the embedded default's
//! stand-in for S3: `smsctl serve --watch DIR`, `SMS_RECORDINGS_DIR`): a
//! recording link hands out the file itself, there is nothing to presign.

use std::path::{Component, Path, PathBuf};

use async_trait::async_trait;

use crate::domain::RecordingLink;
use crate::ports::{Recording, Recordings, StoreError};

pub struct FolderRecordings {
    dir: PathBuf,
}

impl FolderRecordings {
    pub fn new(dir: &Path) -> FolderRecordings {
        FolderRecordings { dir: dir.to_path_buf() }
    }
}

#[async_trait]
impl Recordings for FolderRecordings {
    async fn open(&self, link: &RecordingLink) -> Result<Option<Recording>, StoreError> {
        // Keys come from the watcher's own events; still, only plain names
        // below the folder.
        let key = Path::new(&link.key);
        if !key.components().all(|c| matches!(c, Component::Normal(_))) {
            return Ok(None);
        }
        match tokio::fs::read(self.dir.join(key)).await {
            Ok(bytes) => Ok(Some(Recording::Audio { content_type: content_type(&link.key), bytes })),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(StoreError(format!("reading {}: {e}", link.key))),
        }
    }
}

fn content_type(key: &str) -> &'static str {
    match key.rsplit_once('.').map(|(_, s)| s.to_ascii_lowercase()).as_deref() {
        Some("wav") => "audio/wav",
        Some("mp3") => "audio/mpeg",
        Some("ogg" | "opus") => "audio/ogg",
        Some("m4a") => "audio/mp4",
        Some("flac") => "audio/flac",
        Some("gsm") => "audio/x-gsm",
        _ => "application/octet-stream",
    }
}
