//! A voicemail's transcript, in two phases under one claim. The first
//! (the trigger) takes the transcript from the event, else from a sidecar
//! file beside the audio; else, for a tenant that asks, it starts a
//! transcription job and parks the voicemail (`transcribing`). The second
//! comes with the job's completion event, or from the scheduled sender once
//! the wait is over: it takes the claim again and sends, with the
//! transcript when there is one, never twice.

use futures_util::StreamExt;

use super::steps::Work;
use super::{Outcome, Result, Service};
use crate::domain::{Tenant, Transcript};
use crate::ports::{Held, Job, JobState, Resumed, S3Object, Voicemail, Waiting};

/// How many due voicemails one scheduled run takes, and how many it sends
/// at once: a backlog drains over the next runs.
const DUE_PER_RUN: usize = 200;
const AT_ONCE: usize = 8;

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
    /// The first phase's search for a transcript. `None`: send now (with
    /// what was found, or without); `Some`: the voicemail is parked.
    pub(super) async fn await_transcript(
        &self,
        work: &mut Work<'_>,
        voicemail: &mut Voicemail,
        tenant: &Tenant,
    ) -> Option<Result<Outcome>> {
        if voicemail.details.transcript().is_some() {
            return None;
        }
        let object = voicemail.object.clone()?;
        if let Some(files) = &self.files {
            for sidecar in sidecars(&object) {
                if let Some(found) = files.read(&sidecar).await {
                    voicemail.details.or_transcript(Some(found));
                    return None;
                }
            }
        }
        let language = &tenant.transcription.as_ref()?.language;
        let transcriber = self.transcriber.as_deref()?;
        let name = self.policy.transcripts.job_name(&work.record.id);
        let output_key = self.policy.transcripts.output_key(&name);
        let job = Job { name: &name, media: &object, language, output_key: &output_key };
        if let Err(e) = transcriber.start(&job).await {
            tracing::warn!(error = %e, job = %name, "transcription did not start; the SMS goes without the transcript");
            return None;
        }
        Some(work.park(voicemail).await)
    }

    /// A transcription job's completion event: the second phase of the
    /// voicemail it names. A job of another stack is none of ours.
    pub async fn transcribed(&self, job: &str, news: News, deadline: Option<u64>) -> Result<Outcome> {
        match job.strip_prefix(&self.policy.transcripts.job_prefix) {
            Some(message_id) => self.resume_voicemail(message_id, news, deadline).await,
            None => Ok(Outcome::Skipped(format!("job {job} is not one of this stack's"))),
        }
    }

    /// The scheduled sender: every voicemail whose wait is over, sent
    /// (several at once), each under its claim.
    /// Each outcome comes with its message id.
    pub async fn send_due(&self, deadline: Option<u64>) -> Result<Vec<(String, Result<Outcome>)>> {
        let due = self.store.due(self.now(), DUE_PER_RUN).await?;
        let runs = due.into_iter().map(|id| async move {
            let outcome = self.resume_voicemail(&id, News::Due, deadline).await;
            (id, outcome)
        });
        Ok(futures_util::stream::iter(runs).buffer_unordered(AT_ONCE).collect().await)
    }

    /// The second phase: the claim taken again, the tenant read again (its
    /// template and sender as they are now), the transcript, the SMS.
    async fn resume_voicemail(&self, message_id: &str, news: News, deadline: Option<u64>) -> Result<Outcome> {
        let Some(waiting) = self.store.waiting(message_id).await? else {
            return Ok(Outcome::Duplicate);
        };
        let mut voicemail = waiting.voicemail.clone();
        let mut work = Work::voicemail(self, &voicemail, deadline);
        let found = self.read_tenant(&voicemail.tenant, Some(&voicemail.extension), None).await?;
        let template = found.tenant.as_ref().and_then(|t| t.voicemail_template.as_ref());
        if template.is_some_and(|t| t.needs_recording())
            && let Some(url) = work.link_recording(&voicemail)
        {
            voicemail.details.set_recording_url(url);
        }
        match work.resume(&waiting).await? {
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
        voicemail.details.or_transcript(self.job_transcript(&waiting, news).await);
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
