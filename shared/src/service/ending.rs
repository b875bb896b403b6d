//! The end of a send: its outcome recorded, however the store stumbles.
//! The SMS went (or failed) either way; an outcome left unrecorded leaves
//! the claim pending, so that a redelivery after the lease sends again, and
//! the entry `sending`. So the closing write is tried again, with backoff,
//! for as long as the lease allows (the invocation's deadline, less what
//! one more try and its cleanup need); each try carries the same token, and
//! a try that finds an earlier one's write done takes it as done. Past
//! that, what is left is logged; the entry reads `unknown` once its lease
//! ends (`MessageRecord::as_of`).

use std::time::Duration;

use super::reasons::reason;
use super::rules::status_of;
use super::steps::{Guard, Work};
use super::{Error, LEASE_MARGIN_SECS, Outcome, Result, Sent};
use crate::domain::{MessageRecord, MessageStatus};
use crate::ports::{Closing, End, Event, Finished, Hold, Member, Voicemail, WaitChange, Waiting};

/// What the last try needs before the deadline: one AWS call's own bound
/// (`AWS_OPERATION_TIMEOUT_MS`, 3 s by default) and a little.
const LAST_TRY_MS: i64 = 4_000;

/// The first wait between tries, doubled each time up to [`MAX_WAIT_MS`].
const FIRST_WAIT_MS: i64 = 50;
const MAX_WAIT_MS: i64 = 2_000;

impl Work<'_> {
    /// Logs how the send went and closes the claim. Failures here are
    /// logged, not returned: the SMS went out (or failed) either way, and
    /// failing now would make the caller send it again.
    pub async fn end(&mut self, sent: &Result<Sent>) {
        self.record.at = self.service.now();
        (self.record.lease_until, self.record.due) = (None, None);
        let result = self.outcome(sent);
        if sent.is_ok() {
            for _ in 0..self.releases {
                self.service.metrics.record(&Event::Released { tenant: &self.record.tenant });
            }
        }
        // A resumed voicemail's wait ends with it (kept if the claim is
        // released, for the retry).
        let id = self.record.id.clone();
        let kept = self.kept(sent);
        // Unrecorded, the SMS still went: logged, not failed (see above).
        let wait = self.resumed.then_some(WaitChange::Drop(&id));
        let attempts = i64::from(self.tried && !self.start_counted());
        let keep_secs = self.service.policy.dedup_keep_secs;
        let _ = self.close(result.as_deref(), wait, kept.as_deref(), keep_secs, attempts).await;
    }

    /// Parks the voicemail: until its transcript (logged `transcribing`,
    /// due `TRANSCRIPT_WAIT_SECONDS` from now), or held by quiet hours
    /// (logged `held`, due when they end, or later if its transcript is
    /// awaited too). Its claim is finished as such. Nothing was sent: a
    /// park left unrecorded fails the run, so that the platform delivers
    /// the voicemail again (its job is not started twice).
    pub async fn park(&mut self, voicemail: &Voicemail, held: Option<Hold>, transcribing: bool) -> Result<Outcome> {
        let now = self.service.now();
        let claim = self.claim.as_ref().map(|c| c.id.clone()).unwrap_or_default();
        let transcript_due = transcribing.then_some(now + self.service.policy.transcripts.wait_secs);
        let due = held.as_ref().map(|h| h.until).into_iter().chain(transcript_due).max().unwrap_or(now);
        let waiting = Waiting { message_id: self.record.id.clone(), claim, voicemail: voicemail.clone(), due, held };
        self.record.status = waiting.status();
        self.record.due = waiting.held.is_some().then_some(due);
        (self.record.at, self.record.lease_until, self.record.error) = (now, None, None);
        // Kept past its due time, however long the quiet hours.
        let keep_secs = self.service.policy.dedup_keep_secs + (due - now);
        // Nothing was tried: the attempt its start counted is taken back.
        let (result, attempts) = (Some(self.record.status.as_str()), -i64::from(self.start_counted()));
        match self.close(result, Some(WaitChange::Park(&waiting)), None, keep_secs, attempts).await {
            true if waiting.held.is_some() => {
                self.service.metrics.record(&Event::Held { tenant: &self.record.tenant });
                Ok(Outcome::Held { due })
            }
            true => Ok(Outcome::Transcribing),
            false => Err(Error::Storage("the voicemail's wait was not recorded".to_owned())),
        }
    }

    /// The entry written and the claim finished with `result` (released
    /// without), with what changes of the voicemail's wait, and a digest's
    /// members closed with `kept`, `attempts` counted; whether it was (by
    /// this try or an earlier one, or by the delivery that took over).
    async fn close(
        &self,
        result: Option<&str>,
        wait: Option<WaitChange<'_>>,
        kept: Option<&str>,
        keep_secs: i64,
        attempts: i64,
    ) -> bool {
        let closing = self.claim.as_ref().map(|c| Closing { id: &c.id, token: &c.token, result, keep_secs });
        let entries: Vec<MessageRecord> = self.members.iter().map(|m| self.member_entry(&m.id)).collect();
        let members: Vec<Member<'_>> = (self.members.iter().zip(&entries))
            .map(|(m, record)| Member {
                record,
                claim: Closing { id: &m.claim, token: &m.token, result: kept, keep_secs },
            })
            .collect();
        let end = End {
            record: &self.record,
            claim: closing,
            now: self.record.at,
            log_keep_secs: self.service.log_keep_secs(),
            token: &self.end_token,
            wait,
            members: &members,
            attempts,
        };
        self.record_end(&end).await
    }

    /// A digest member's entry as the digest ends: its status and reason,
    /// and the digest it went in (the provider's id is the digest's).
    fn member_entry(&self, id: &str) -> MessageRecord {
        let sent = self.record.status == MessageStatus::Sent;
        let digest = sent.then(|| self.record.id.clone());
        MessageRecord { id: id.to_owned(), provider_id: None, digest, key: None, ..self.record.clone() }
    }

    /// The entry's final state, and what the claim keeps: the answer to
    /// replay, the voicemail's final status, or nothing (released, for a
    /// retry).
    fn outcome(&mut self, sent: &Result<Sent>) -> Option<String> {
        match sent {
            Ok(s) => {
                self.record.status = MessageStatus::Sent;
                self.record.provider_id = Some(s.id.clone());
                self.record.error = None;
            }
            Err(e) => {
                self.record.status = status_of(e);
                self.record.error = Some(e.cause().unwrap_or(&e.to_string()).to_owned());
                let (kind, reason) = (self.record.kind, reason(e));
                self.service.metrics.record(&match self.record.status {
                    MessageStatus::Failed => Event::Failed { kind, reason },
                    _ => Event::Refused { kind, reason },
                });
            }
        }
        match (self.claim.as_ref().map(|c| c.guard), sent) {
            (Some(Guard::Idempotency), Ok(s)) => serde_json::to_string(s).ok(),
            (Some(Guard::Idempotency), Err(_)) => None,
            _ => self.kept(sent),
        }
    }

    /// What a voicemail's claim keeps: the provider's id, or the final
    /// status of a refusal; nothing (released) for a retry.
    fn kept(&self, sent: &Result<Sent>) -> Option<String> {
        match sent {
            Ok(s) => Some(s.id.clone()),
            Err(e) if e.is_retryable() => None,
            Err(_) => Some(self.record.status.as_str().to_owned()),
        }
    }

    /// The closing write, tried until it is done or the lease is too near
    /// its end for another try. The clock is read once: the waits are
    /// counted, so a clock a test holds still cannot stretch them.
    async fn record_end(&self, end: &End<'_>) -> bool {
        let deadline_ms = (self.lease_until - LEASE_MARGIN_SECS).saturating_mul(1000);
        let mut budget_ms = deadline_ms - LAST_TRY_MS - self.service.clock.now_ms();
        let (message_id, mut wait_ms, mut tries) = (&self.record.id, FIRST_WAIT_MS, 1);
        loop {
            match self.service.store.finish(end).await {
                Ok(Finished::Done) => return true,
                Ok(Finished::AlreadyDone) => {
                    tracing::info!(%message_id, tries, "the outcome of a send was recorded by an earlier try");
                    return true;
                }
                // Our lease ran out and another delivery took the claim over.
                Ok(Finished::TakenOver) => {
                    let why = "claim taken over by another delivery; this outcome was not recorded";
                    tracing::warn!(%message_id, "{why}");
                    return true;
                }
                Err(e) if wait_ms <= budget_ms => {
                    tracing::warn!(error = %e, %message_id, tries, wait_ms, "could not record the outcome of a send; trying again");
                    tokio::time::sleep(Duration::from_millis(wait_ms.unsigned_abs())).await;
                    (budget_ms, wait_ms, tries) = (budget_ms - wait_ms, (wait_ms * 2).min(MAX_WAIT_MS), tries + 1);
                }
                // The lease runs out with the claim pending: a redelivery
                // may send again (README, "Exactly once"), logged so that an
                // operator can see it.
                Err(e) => {
                    let why = "could not record the outcome of a send before the deadline; its entry reads unknown";
                    tracing::error!(error = %e, %message_id, tries, "{why}");
                    return false;
                }
            }
        }
    }
}
