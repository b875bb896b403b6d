//! The trigger's use case: a voicemail that qualifies gets exactly one SMS;
//! one that does not is recorded as skipped, with its reason. One whose
//! template wants a transcript still to come waits for it (`transcripts`);
//! one that comes in its extension's quiet hours is held until they end
//! (`digests`).

use super::rules::{Checked, check_voicemail, default_voicemail_text, voicemail_text};
use super::steps::Work;
use super::{Error, Result, Sent, Service};
use crate::domain::{E164, MessageKind, MessageStatus, MessageText, QuietHours, Template, Tenant, VoicemailDetails};
use crate::ports::{Begun, Event, Found, Held, Hold, Voicemail};

/// What the trigger did with one voicemail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Sent(Sent),
    /// Does not qualify, or was refused for good: recorded with its reason
    /// in the message log, and not retried.
    Skipped(String),
    /// Another delivery of the same voicemail finished it (or parked it
    /// until its transcript).
    Duplicate,
    /// Waits for its transcript: sent when the job ends, or when the wait
    /// is over.
    Transcribing,
    /// Held by its extension's quiet hours: sent when they end (epoch
    /// seconds), alone or in a digest.
    Held {
        due: i64,
    },
    /// Another delivery holds it until its lease ends (epoch seconds): its
    /// run may still be under way, or may have died. Reported as a failure
    /// so that the platform delivers it again later.
    InFlight {
        lease_until: i64,
    },
}

impl Service {
    /// The trigger: a voicemail that qualifies gets exactly one SMS; one
    /// that does not is recorded as skipped, with its reason.
    pub async fn voicemail(&self, mut voicemail: Voicemail, deadline: Option<u64>) -> Result<Outcome> {
        let found = self.read_tenant(&voicemail.tenant, Some(&voicemail.extension), None).await?;
        let held = self.hold(&found);
        let mut work = Work::voicemail(self, &voicemail, deadline);
        let (checked, to) = match self.qualify(found, &voicemail) {
            Ok(ok) => ok,
            Err(e) if e.is_infrastructure() => return Err(e),
            Err(e) => return work.conclude(MessageStatus::Skipped, &e).await,
        };
        work.address(&checked, &to);
        if let Err(e) = checked.allows(&to) {
            return work.conclude(MessageStatus::Refused, &e).await;
        }
        let template = checked.tenant.voicemail_template.as_ref();
        if template.is_some_and(|t| t.needs_recording())
            && let Some(url) = work.link_recording(&voicemail)
        {
            voicemail.details.set_recording_url(url);
        }
        if let Some(done) = self.start(&mut work).await? {
            return Ok(done);
        }
        if template.is_some_and(Template::needs_details)
            && let Some(source) = &self.details
        {
            source.complete(&mut voicemail).await;
        }
        let transcribing = template.is_some_and(Template::needs_transcript)
            && self.await_transcript(&work, &mut voicemail, &checked.tenant).await;
        if held.is_some() || transcribing {
            return work.park(&voicemail, held, transcribing).await;
        }
        self.send_voicemail(work, &checked.tenant, &voicemail.details).await
    }

    /// The quiet hours that hold a voicemail SMS now, if any: the
    /// extension's own, or the tenant's.
    pub(super) fn hold(&self, found: &Found) -> Option<Hold> {
        let extension = found.extension.as_ref().and_then(|x| x.quiet_hours.as_ref());
        let quiet = QuietHours::effective(found.tenant.as_ref()?.quiet_hours.as_ref(), extension)?;
        let since = self.now();
        quiet.until(since).map(|until| Hold { since, until, quiet: quiet.clone() })
    }

    /// The SMS of a voicemail whose claim `work` holds, and its outcome.
    pub(super) async fn send_voicemail(
        &self,
        work: Work<'_>,
        tenant: &Tenant,
        details: &VoicemailDetails,
    ) -> Result<Outcome> {
        let text = match &tenant.voicemail_template {
            Some(_) => voicemail_text(tenant, details),
            None => default_voicemail_text(),
        };
        self.deliver(work, &text).await
    }

    /// Sends `text` under the claims `work` holds, and ends them with how
    /// it went.
    pub(super) async fn deliver(&self, mut work: Work<'_>, text: &MessageText) -> Result<Outcome> {
        let sent = work.send(text).await;
        work.end(&sent).await;
        match sent {
            Ok(sent) => Ok(Outcome::Sent(sent)),
            Err(e) if e.is_retryable() => Err(e),
            Err(e) => Ok(Outcome::Skipped(e.to_string())),
        }
    }

    /// Checks 4 and 5 for a voicemail: the tenant active with a valid
    /// sender, the extension's destination.
    pub(super) fn qualify(&self, found: Found, voicemail: &Voicemail) -> Result<(Checked, E164)> {
        let tenant = found.tenant.ok_or_else(|| Error::UnknownTenant(voicemail.tenant.to_string()))?;
        if !tenant.active {
            return Err(Error::TenantInactive);
        }
        let checked = self.check_sender(tenant, found.sender)?;
        let to = check_voicemail(&checked.tenant, &voicemail.extension, found.extension.as_ref())?;
        Ok((checked, to))
    }

    /// Takes the voicemail's claim and a slot of its budget; what it ends
    /// in when that is not to send now.
    async fn start(&self, work: &mut Work<'_>) -> Result<Option<Outcome>> {
        match work.begin(MessageKind::Voicemail).await? {
            Begun::Started => Ok(None),
            Begun::Held(Held::Done { .. }) => {
                self.metrics.record(&Event::Duplicate { kind: MessageKind::Voicemail });
                Ok(Some(Outcome::Duplicate))
            }
            Begun::Held(Held::Pending { lease_until, .. }) => Ok(Some(Outcome::InFlight { lease_until })),
            Begun::Limited(window) => {
                let e = work.rate_limited(window);
                // A full minute delays the voicemail; a full day refuses it.
                if e.is_retryable() { Err(e) } else { work.conclude(MessageStatus::Refused, &e).await.map(Some) }
            }
        }
    }
}
