//! Every port's implementations: the embedded default (SQLite store, local
//! outbox, recordings and transcripts in a folder), with the `aws` feature
//! DynamoDB, SNS, S3 and Transcribe; and, whatever the backend, the configuration cache, EMF metrics and
//! the clocks.

pub mod cache;
pub mod clock;
pub mod emf;

#[cfg(feature = "embedded")]
pub mod folder;
#[cfg(feature = "embedded")]
pub mod outbox;
#[cfg(feature = "embedded")]
pub mod sqlite;

#[cfg(feature = "aws")]
pub mod aws;
#[cfg(feature = "aws")]
pub mod dynamodb;
#[cfg(feature = "aws")]
pub mod s3;
#[cfg(feature = "aws")]
pub mod sns;
#[cfg(feature = "aws")]
pub mod transcribe;

/// A transcript file's text: Transcribe's JSON for a `.json` key, else the
/// text itself (as UTF-8, what is not dropped).
fn transcript_of(key: &str, bytes: &[u8]) -> Option<crate::domain::Transcript> {
    if key.ends_with(".json") {
        crate::domain::Transcript::from_transcribe_json(bytes)
    } else {
        crate::domain::Transcript::clean(&String::from_utf8_lossy(bytes))
    }
}

/// The largest transcript file read: a voicemail's hour of speech, with
/// Transcribe's per-word items, is well under it.
const MAX_TRANSCRIPT_FILE: u64 = 4 << 20;
