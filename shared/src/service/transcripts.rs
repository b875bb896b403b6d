//! A voicemail's transcript, in two phases under one claim. The first
//! (the trigger) takes the transcript from the event, else from a sidecar
//! file beside the audio; else, for a tenant that asks, it starts a
//! transcription job and parks the voicemail (`transcribing`). The second
//! comes with the job's completion event, or from the scheduled sender once
//! the wait is over: it takes the claim again and sends, with the
//! transcript when there is one, never twice. A held voicemail's second
//! phase is the same (`digests`).

use super::steps::Work;
use super::{Outcome, Result, Service};
use crate::domain::{Template, Tenant, Transcript};
use crate::ports::{Held, Hold, Job, JobState, Resumed, S3Object, Voicemail, Waiting};

/// What moves a waiting voicemail on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum News {
    /// Its job completed: the transcript is in its output file.
    Completed,
    /// Its job failed: it goes without.
    Failed,
    /// Its wait is over (the scheduled sender): the job is asked once more.
    Due,
}

impl Service {
    /// The first phase's search for a transcript: whether a job started
    /// (the voicemail then waits for it); else it goes with what was
    /// found, or without.
    pub(super) async fn await_transcript(&self, work: &Work<'_>, voicemail: &mut Voicemail, tenant: &Tenant) -> bool {
        if voicemail.details.transcript().is_some() {
            return false;
        }
        let Some(object) = voicemail.object.clone() else { return false };
        if let Some(files) = &self.files {
            for sidecar in sidecars(&object) {
                if let Some(found) = files.read(&sidecar).await {
                    voicemail.details.or_transcript(Some(found));
                    return false;
                }
            }
        }
        let (Some(transcription), Some(transcriber)) = (&tenant.transcription, self.transcriber.as_deref()) else {
            return false;
        };
        let name = self.policy.transcripts.job_name(&work.record.id);
        let output_key = self.policy.transcripts.output_key(&name);
        let job = Job { name: &name, media: &object, language: &transcription.language, output_key: &output_key };
        match transcriber.start(&job).await {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!(error = %e, job = %name, "transcription did not start; the SMS goes without the transcript");
                false
            }
        }
    }

    /// A transcription job's completion event: the second phase of the
    /// voicemail it names. A job of another stack is none of ours.
    pub async fn transcribed(&self, job: &str, news: News, deadline: Option<u64>) -> Result<Outcome> {
        match job.strip_prefix(&self.policy.transcripts.job_prefix) {
            Some(message_id) => self.resume_voicemail(message_id, news, deadline).await,
            None => Ok(Outcome::Skipped(format!("job {job} is not one of this stack's"))),
        }
    }

    /// A waiting voicemail's second phase, by its message id.
    async fn resume_voicemail(&self, message_id: &str, news: News, deadline: Option<u64>) -> Result<Outcome> {
        match self.store.waiting(message_id).await? {
            Some(waiting) => self.resume_waiting(&waiting, news, deadline).await,
            None => Ok(Outcome::Duplicate),
        }
    }

    /// The second phase: the claim taken again, the tenant read again (its
    /// template, sender and quiet hours as they are now), the transcript,
    /// the SMS; held again if quiet hours hold it now.
    pub(super) async fn resume_waiting(&self, waiting: &Waiting, news: News, deadline: Option<u64>) -> Result<Outcome> {
        let mut voicemail = waiting.voicemail.clone();
        let mut work = Work::voicemail(self, &voicemail, deadline);
        let found = self.read_tenant(&voicemail.tenant, Some(&voicemail.extension), None).await?;
        let held = self.hold(&found);
        let template = found.tenant.as_ref().and_then(|t| t.voicemail_template.clone());
        if template.as_ref().is_some_and(|t| t.needs_recording())
            && let Some(url) = work.link_recording(&voicemail)
        {
            voicemail.details.set_recording_url(url);
        }
        match work.resume(waiting).await? {
            Resumed::Started => {}
            Resumed::Held(Held::Done { .. }) => return Ok(Outcome::Duplicate),
            Resumed::Held(Held::Pending { lease_until, .. }) => return Ok(Outcome::InFlight { lease_until }),
        }
        let (checked, to) = match self.qualify(found, &voicemail) {
            Ok(ok) => ok,
            Err(e) => {
                work.end(&Err(e.clone())).await;
                return if e.is_retryable() { Err(e) } else { Ok(Outcome::Skipped(e.to_string())) };
            }
        };
        work.address(&checked, &to);
        if let Some(held) = held {
            let since = waiting.held.as_ref().map_or(held.since, |h| h.since);
            return work.park(&voicemail, Some(Hold { since, ..held }), false).await;
        }
        if template.as_ref().is_some_and(Template::needs_transcript) {
            voicemail.details.or_transcript(self.job_transcript(waiting, news).await);
        }
        self.send_voicemail(work, &checked.tenant, &voicemail.details).await
    }

    /// The job's transcript, if it completed (asked again when due: its
    /// event may be late, or lost).
    async fn job_transcript(&self, waiting: &Waiting, news: News) -> Option<Transcript> {
        let (files, object) = (self.files.as_deref()?, waiting.voicemail.object.as_ref()?);
        let name = self.policy.transcripts.job_name(&waiting.message_id);
        let completed = match news {
            News::Completed => true,
            News::Failed => false,
            News::Due => match self.transcriber.as_deref()?.state(&name).await {
                Ok(state) => state == JobState::Completed,
                Err(e) => {
                    tracing::warn!(error = %e, job = %name, "transcription job unreadable; the SMS goes without");
                    false
                }
            },
        };
        let output = S3Object { bucket: object.bucket.clone(), key: self.policy.transcripts.output_key(&name) };
        if completed { files.read(&output).await } else { None }
    }
}

/// The sidecar files of an audio object, in the order they are tried:
/// its name with `.txt`, then `.json`, in place of the audio's suffix.
fn sidecars(audio: &S3Object) -> [S3Object; 2] {
    let (folder, file) = audio.key.rsplit_once('/').unwrap_or(("", &audio.key));
    let stem = file.rsplit_once('.').map_or(file, |(stem, _)| stem);
    let prefix = if folder.is_empty() { String::new() } else { format!("{folder}/") };
    ["txt", "json"].map(|suffix| S3Object { bucket: audio.bucket.clone(), key: format!("{prefix}{stem}.{suffix}") })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sidecars_sit_beside_the_audio() {
        let audio = S3Object { bucket: "b".into(), key: "voicemail/59/1001/msg.0001.wav".into() };
        let keys = sidecars(&audio).map(|o| o.key);
        assert_eq!(keys, ["voicemail/59/1001/msg.0001.txt", "voicemail/59/1001/msg.0001.json"]);
    }
}
