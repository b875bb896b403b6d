//! Voicemail details from the S3 object's user metadata, for templates that
//! need more than the extension. Read with one HeadObject, and only when the
//! tenant's template asks for it.

use async_trait::async_trait;
use aws_sdk_s3::Client;
use aws_sdk_s3::error::SdkError;

use crate::service::{DetailsSource, Voicemail};
use crate::{Error, Result};

/// `x-amz-meta-*` names read (either spelling of each).
const CALLER_ID: [&str; 2] = ["caller-id", "caller_id"];
const DURATION: [&str; 2] = ["duration", "duration-seconds"];
const RECEIVED_AT: [&str; 2] = ["received-at", "received_at"];

pub struct S3Details {
    client: Client,
}

impl S3Details {
    pub fn new(aws: &aws_config::SdkConfig) -> Self {
        S3Details { client: Client::new(aws) }
    }
}

#[async_trait]
impl DetailsSource for S3Details {
    async fn complete(&self, voicemail: &mut Voicemail) -> Result<()> {
        let Some(object) = &voicemail.object else {
            return Ok(());
        };
        let head = match self.client.head_object().bucket(&object.bucket).key(&object.key).send().await {
            Ok(head) => head,
            // Gone already (deleted by the PBX after listening): send with
            // what the event told.
            Err(SdkError::ServiceError(e)) if e.err().is_not_found() => return Ok(()),
            Err(e) => return Err(Error::Storage(format!("HeadObject {}: {e:?}", object.key))),
        };
        let Some(meta) = head.metadata() else {
            return Ok(());
        };
        let pick = |names: [&str; 2]| names.iter().find_map(|n| meta.get(*n)).filter(|v| !v.is_empty()).cloned();
        let d = &mut voicemail.details;
        d.caller_id = d.caller_id.take().or_else(|| pick(CALLER_ID));
        d.duration_secs = d.duration_secs.or_else(|| pick(DURATION).and_then(|v| v.trim().parse().ok()));
        d.received_at = pick(RECEIVED_AT).or_else(|| d.received_at.take());
        Ok(())
    }
}
