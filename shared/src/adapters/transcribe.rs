//! Amazon Transcribe: a voicemail's job started under its own name (its
//! output written to the voicemail bucket under the transcript prefix),
//! and asked where it stands when its completion event is late.

use async_trait::async_trait;
use aws_sdk_transcribe::Client;
use aws_sdk_transcribe::error::DisplayErrorContext;
use aws_sdk_transcribe::operation::get_transcription_job::GetTranscriptionJobError;
use aws_sdk_transcribe::operation::start_transcription_job::StartTranscriptionJobError;
use aws_sdk_transcribe::types::{LanguageCode, Media, TranscriptionJobStatus};

use crate::domain::Language;
use crate::ports::{Job, JobState, StoreError, Transcriber};

pub struct Transcribe {
    client: Client,
}

impl Transcribe {
    pub fn new(aws: &aws_config::SdkConfig) -> Self {
        Transcribe { client: Client::new(aws) }
    }
}

fn failed<E: std::error::Error + 'static>(op: &str, e: E) -> StoreError {
    StoreError(format!("Transcribe {op}: {}", DisplayErrorContext(e)))
}

#[async_trait]
impl Transcriber for Transcribe {
    async fn start(&self, job: &Job<'_>) -> Result<(), StoreError> {
        let media = Media::builder().media_file_uri(format!("s3://{}/{}", job.media.bucket, job.media.key)).build();
        let request = self
            .client
            .start_transcription_job()
            .transcription_job_name(job.name)
            .media(media)
            .output_bucket_name(&job.media.bucket)
            .output_key(job.output_key);
        let request = match job.language {
            Language::Auto => request.identify_language(true),
            Language::Code(code) => request.language_code(LanguageCode::from(code.as_str())),
        };
        match request.send().await {
            Ok(_) => Ok(()),
            // A redelivery's: the job of this name runs already.
            Err(e) if matches!(e.as_service_error(), Some(StartTranscriptionJobError::ConflictException(_))) => Ok(()),
            Err(e) => Err(failed("StartTranscriptionJob", e)),
        }
    }

    async fn state(&self, name: &str) -> Result<JobState, StoreError> {
        let job = match self.client.get_transcription_job().transcription_job_name(name).send().await {
            Ok(out) => out.transcription_job,
            Err(e) if matches!(e.as_service_error(), Some(GetTranscriptionJobError::NotFoundException(_))) => None,
            Err(e) => return Err(failed("GetTranscriptionJob", e)),
        };
        Ok(match job.and_then(|j| j.transcription_job_status) {
            None => JobState::Missing,
            Some(TranscriptionJobStatus::Completed) => JobState::Completed,
            Some(TranscriptionJobStatus::Failed) => JobState::Failed,
            Some(_) => JobState::Running,
        })
    }
}
