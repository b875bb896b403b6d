//! What the caller said, from outside: transcript files (a sidecar beside
//! the audio, Amazon Transcribe's output) and a transcription service.

use async_trait::async_trait;

use super::{S3Object, StoreError};
use crate::domain::{Language, Transcript};

/// Transcript files: `.txt` (the text) or `.json` (Amazon Transcribe's
/// output format), in the bucket or the local folder.
#[async_trait]
pub trait TranscriptFiles: Send + Sync {
    /// `None` when the file is not there or holds nothing readable; a
    /// failure to read is logged and read as none (the SMS matters more).
    async fn read(&self, file: &S3Object) -> Option<Transcript>;
}

/// One transcription job: its name (unique to the voicemail), the audio,
/// the language, and where its output goes (the audio's bucket).
#[derive(Debug, Clone, Copy)]
pub struct Job<'a> {
    pub name: &'a str,
    pub media: &'a S3Object,
    pub language: &'a Language,
    pub output_key: &'a str,
}

/// Where a job stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobState {
    Running,
    Completed,
    Failed,
    /// No job of that name.
    Missing,
}

/// A transcription service (Amazon Transcribe).
#[async_trait]
pub trait Transcriber: Send + Sync {
    /// Starts the job; one of that name already there is taken as started
    /// (the service's conflict answer), so a redelivery starts none.
    async fn start(&self, job: &Job<'_>) -> Result<(), StoreError>;

    async fn state(&self, name: &str) -> Result<JobState, StoreError>;
}
