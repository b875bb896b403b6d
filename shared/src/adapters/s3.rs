//! Voicemail details from the S3 object's user metadata, for templates that
//! need more than the extension. Read with one HeadObject, and only when the
//! tenant's template asks for it.

use async_trait::async_trait;
use aws_sdk_s3::Client;
use aws_sdk_s3::error::DisplayErrorContext;

use crate::domain::text::escape;
use crate::service::{DetailsSource, Voicemail};

/// `x-amz-meta-*` names read (either spelling of each).
const CALLER_ID: [&str; 2] = ["caller-id", "caller_id"];
const DURATION: [&str; 2] = ["duration", "duration-seconds"];
const RECEIVED_AT: [&str; 2] = ["received-at", "received_at"];

pub struct S3Details {
    client: Client,
}

impl S3Details {
    /// On a custom endpoint (moto, LocalStack, MinIO) buckets are paths:
    /// such endpoints have no per-bucket host names.
    pub fn new(aws: &aws_config::SdkConfig) -> Self {
        let config = aws_sdk_s3::config::Builder::from(aws).force_path_style(aws.endpoint_url().is_some()).build();
        S3Details { client: Client::from_conf(config) }
    }
}

#[async_trait]
impl DetailsSource for S3Details {
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
