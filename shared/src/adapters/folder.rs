//! Recordings in a folder laid out like the bucket (the embedded default's
//! stand-in for S3: `smsctl serve --watch DIR`, `SMS_RECORDINGS_DIR`): a
//! recording link hands out the file itself, there is nothing to presign;
//! a sidecar transcript beside a recording is read from there too.
//!
//! Only a regular file inside the folder is handed out, however the folder
//! changes after the SMS went: the key's folders are real folders (no link
//! on the way), the file is opened without following a link
//! (`O_NOFOLLOW`) and without waiting on a FIFO or a device (`O_NONBLOCK`,
//! after `lstat` said it is a regular file), and what was opened is checked
//! again to be that file. Anything else is no recording.

use std::fs::{File, Metadata};
use std::path::{Component, Path, PathBuf};

use async_trait::async_trait;

use std::io::Read;

use super::{MAX_TRANSCRIPT_FILE, transcript_of};
use crate::domain::{RecordingLink, Transcript};
use crate::ports::{Recording, Recordings, S3Object, StoreError, TranscriptFiles};

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
        let (dir, key) = (self.dir.clone(), link.key.clone());
        let opened = tokio::task::spawn_blocking(move || open_inside(&dir, &key))
            .await
            .map_err(|e| StoreError(format!("opening {}: {e}", link.key)))?;
        match opened {
            Ok(Some((file, len))) => Ok(Some(Recording::Audio { content_type: content_type(&link.key), file, len })),
            Ok(None) => Ok(None),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(StoreError(format!("opening {}: {e}", link.key))),
        }
    }
}

#[async_trait]
impl TranscriptFiles for FolderRecordings {
    /// The bucket is this folder's.
    async fn read(&self, file: &S3Object) -> Option<Transcript> {
        let (dir, key) = (self.dir.clone(), file.key.clone());
        let read = tokio::task::spawn_blocking(move || {
            let (file, _) = open_inside(&dir, &key).ok()??;
            let mut bytes = Vec::new();
            file.take(MAX_TRANSCRIPT_FILE).read_to_end(&mut bytes).ok()?;
            transcript_of(&key, &bytes)
        });
        read.await.ok().flatten()
    }
}

/// The regular file `key` names under `dir`, opened, with its length; `None`
/// for anything else there (a link, a FIFO, a device, a folder).
fn open_inside(dir: &Path, key: &str) -> std::io::Result<Option<(File, u64)>> {
    let key = Path::new(key);
    // Keys come from the watcher's own events; still, only plain names.
    if !key.components().all(|c| matches!(c, Component::Normal(_))) {
        return Ok(None);
    }
    let mut path = dir.to_path_buf();
    let mut parts = key.components().peekable();
    while let Some(part) = parts.next() {
        path.push(part);
        let seen = std::fs::symlink_metadata(&path)?;
        let expected = if parts.peek().is_some() { seen.is_dir() } else { seen.is_file() };
        if !expected {
            return Ok(None);
        }
    }
    let seen = std::fs::symlink_metadata(&path)?;
    let file = no_follow().open(&path)?;
    let opened = file.metadata()?;
    let len = opened.len();
    Ok((opened.is_file() && same_file(&seen, &opened)).then_some((file, len)))
}

fn no_follow() -> std::fs::OpenOptions {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, libc::O_NOFOLLOW | libc::O_NONBLOCK);
    options
}

/// Whether two views of a path are of one file (it was not swapped between
/// them).
fn same_file(a: &Metadata, b: &Metadata) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        a.dev() == b.dev() && a.ino() == b.ino()
    }
    #[cfg(not(unix))]
    {
        a.len() == b.len()
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

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    fn folder(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("sms-folder-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("voicemail/59/1001")).unwrap();
        dir
    }

    #[test]
    fn only_a_regular_file_inside_the_folder_is_opened() {
        let dir = folder("open");
        let outside = dir.with_extension("secret");
        std::fs::write(&outside, b"not a recording").unwrap();
        std::fs::write(dir.join("voicemail/59/1001/a.wav"), b"RIFF").unwrap();
        std::os::unix::fs::symlink(&outside, dir.join("voicemail/59/1001/link.wav")).unwrap();
        std::os::unix::fs::symlink(outside.parent().unwrap(), dir.join("voicemail/60")).unwrap();
        let fifo = dir.join("voicemail/59/1001/fifo.wav");
        assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
        let (_, len) = open_inside(&dir, "voicemail/59/1001/a.wav").unwrap().expect("a regular file");
        assert_eq!(len, 4);
        for key in [
            "voicemail/59/1001/link.wav",
            "voicemail/59/1001/fifo.wav",
            "voicemail/59/1001",
            "voicemail/59/../59/1001/a.wav",
        ] {
            assert!(open_inside(&dir, key).unwrap().is_none(), "{key}");
        }
        let through_link = format!("voicemail/60/{}", outside.file_name().unwrap().to_string_lossy());
        assert!(open_inside(&dir, &through_link).unwrap().is_none(), "a linked folder");
        assert_eq!(open_inside(&dir, "voicemail/59/1001/gone.wav").unwrap_err().kind(), std::io::ErrorKind::NotFound);
    }
}
