//! The voicemail objects in S3: their user metadata for templates that need
//! more than the extension (one HeadObject, only when the template asks),
//! transcript files (a sidecar, a job's output: one GetObject each), and
//! presigned URLs for recording links (at each click, valid minutes).

use async_trait::async_trait;
use aws_sdk_s3::Client;
use aws_sdk_s3::error::DisplayErrorContext;
use aws_sdk_s3::operation::get_object::GetObjectError;

use super::{MAX_TRANSCRIPT_FILE, transcript_of};
use crate::domain::text::escape;
use crate::domain::{RecordingLink, Transcript};
use crate::ports::{DetailsSource, Recording, Recordings, S3Object, StoreError, TranscriptFiles, Voicemail};

/// How long a presigned recording URL works: the click that asked for it,
/// and a listener's pause.
const PRESIGNED_FOR: std::time::Duration = std::time::Duration::from_secs(600);

/// `x-amz-meta-*` names read (either spelling of each).
const CALLER_ID: [&str; 2] = ["caller-id", "caller_id"];
const DURATION: [&str; 2] = ["duration", "duration-seconds"];
const RECEIVED_AT: [&str; 2] = ["received-at", "received_at"];

pub struct S3Voicemails {
    client: Client,
}

impl S3Voicemails {
    /// On a custom endpoint (moto, LocalStack, MinIO) buckets are paths:
    /// such endpoints have no per-bucket host names.
    pub fn new(aws: &aws_config::SdkConfig) -> Self {
        let config = aws_sdk_s3::config::Builder::from(aws).force_path_style(aws.endpoint_url().is_some()).build();
        S3Voicemails { client: Client::from_conf(config) }
    }
}

#[async_trait]
impl DetailsSource for S3Voicemails {
    async fn complete(&self, voicemail: &mut Voicemail) {
        let Some(object) = &voicemail.object else {
            return;
        };
        let head = match self.client.head_object().bucket(&object.bucket).key(&object.key).send().await {
            Ok(head) => head,
            // Deleted already (404, or 403 without s3:ListBucket), access
            // denied, a timeout: the details only fill a template, and the
            // SMS matters more. It goes out with `unknown` in those fields.
            Err(e) => {
                tracing::warn!(
                    bucket = %escape(&object.bucket),
                    key = %escape(&object.key),
                    error = %DisplayErrorContext(&e),
                    "voicemail details unreadable from the object's metadata; sending without them"
                );
                return;
            }
        };
        let Some(meta) = head.metadata() else {
            return;
        };
        let pick = |names: [&str; 2]| names.iter().find_map(|n| meta.get(*n)).map(String::as_str);
        let d = &mut voicemail.details;
        d.or_caller_id(pick(CALLER_ID));
        d.or_duration_secs(pick(DURATION).and_then(|v| v.trim().parse().ok()));
        // The upload's own time beats the event's.
        d.set_received_at(pick(RECEIVED_AT));
    }
}

#[async_trait]
impl TranscriptFiles for S3Voicemails {
    async fn read(&self, file: &S3Object) -> Option<Transcript> {
        let (bucket, key) = (escape(&file.bucket), escape(&file.key));
        let object = match self.client.get_object().bucket(&file.bucket).key(&file.key).send().await {
            Ok(object) => object,
            // Most voicemails have no sidecar: that is no news. Without
            // s3:ListBucket (template.yaml grants none), S3 answers a
            // missing key 403, not 404.
            Err(e) if matches!(e.as_service_error(), Some(GetObjectError::NoSuchKey(_))) => return None,
            Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 403) => {
                tracing::debug!(%bucket, %key, "transcript file absent or not readable (403)");
                return None;
            }
            Err(e) => {
                tracing::warn!(%bucket, %key, error = %DisplayErrorContext(&e), "transcript file unreadable");
                return None;
            }
        };
        if object.content_length().is_some_and(|n| n.unsigned_abs() > MAX_TRANSCRIPT_FILE) {
            tracing::warn!(%bucket, %key, "transcript file too large; not read");
            return None;
        }
        match object.body.collect().await {
            Ok(bytes) => transcript_of(&file.key, &bytes.into_bytes()),
            Err(e) => {
                tracing::warn!(%bucket, %key, error = %e, "transcript file unreadable");
                None
            }
        }
    }
}

#[async_trait]
impl Recordings for S3Voicemails {
    /// Signing makes no request: whether the object is still there, S3
    /// answers the listener.
    async fn open(&self, link: &RecordingLink) -> Result<Option<Recording>, StoreError> {
        let config = aws_sdk_s3::presigning::PresigningConfig::expires_in(PRESIGNED_FOR)
            .map_err(|e| StoreError(format!("S3 presigning: {e}")))?;
        let presigned = self
            .client
            .get_object()
            .bucket(&link.bucket)
            .key(&link.key)
            .presigned(config)
            .await
            .map_err(|e| StoreError(format!("S3 presigning: {}", DisplayErrorContext(&e))))?;
        Ok(Some(Recording::Redirect(presigned.uri().to_owned())))
    }
}
