//! Voicemails as the service gets them, and what it reads of their audio:
//! a template's details, a recording behind a link.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::StoreError;
use crate::domain::{Extension, RecordingLink, TenantId, VoicemailDetails};

/// A voicemail, from whichever event announced it (stored as JSON while it
/// waits for its transcript).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Voicemail {
    /// What makes it unique across deliveries and paths: bucket, key and
    /// version or sequencer; or tenant and the PBX's message id (else the
    /// event's id) for a `New Voicemail` event.
    pub identity: String,
    pub tenant: TenantId,
    pub extension: Extension,
    pub details: VoicemailDetails,
    /// The S3 object, when the voicemail came from one (its metadata may
    /// fill the template).
    pub object: Option<S3Object>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct S3Object {
    pub bucket: String,
    pub key: String,
}

/// Fills in what a template needs beyond the event (S3 object metadata).
/// Never fails: what cannot be read is left unknown.
#[async_trait]
pub trait DetailsSource: Send + Sync {
    async fn complete(&self, voicemail: &mut Voicemail);
}

/// Where a recording is fetched from.
#[derive(Debug)]
pub enum Recording {
    /// A short-lived URL (S3, presigned now).
    Redirect(String),
    /// The audio itself (the local folder): a regular file, opened, read as
    /// it is sent.
    Audio { content_type: &'static str, file: std::fs::File, len: u64 },
}

/// Recordings, for links that last: a fresh way to them at each click.
#[async_trait]
pub trait Recordings: Send + Sync {
    /// `None`: the recording is no longer there.
    async fn open(&self, link: &RecordingLink) -> Result<Option<Recording>, StoreError>;
}
