//! What was sent, read back: PBXware's reports, the message log, one
//! message; delivery receipts into it; recording links clicked.

use super::{Answer, E164Digits, Error, PageQuery, ReportQuery, Result, Service};
use crate::domain::{E164, LinkToken, MessageStatus, Receipt, TenantId};
use crate::ports::{Event, MessageQuery, Received, Recording};

/// The most messages one report answers (PBXware's reports have no pages).
pub const MAX_REPORT: usize = 1000;

/// The largest recording served itself (the local folder's): an hour of
/// 8 kHz 16-bit WAV is 57.6 MB. A presigned S3 link has no such bound.
pub const MAX_RECORDING_BYTES: u64 = 64 << 20;

impl Service {
    /// PBXware's SMS reports: the range's messages, newest first, at most
    /// [`MAX_REPORT`].
    pub(super) async fn reports(&self, tenant: &TenantId, q: ReportQuery) -> Result<Answer> {
        let mut messages = Vec::new();
        let (from, to) = (q.from.as_ref().map(E164Digits::as_e164), q.to.as_ref().map(E164Digits::as_e164));
        let mut after = None;
        while q.matches_kind && messages.len() < MAX_REPORT {
            let query = MessageQuery {
                tenant,
                since: q.since,
                until: q.until,
                status: None,
                from: from.as_deref(),
                to: to.as_deref(),
                limit: MAX_REPORT - messages.len(),
                after: after.as_ref(),
            };
            let page = self.store.page(&query).await?;
            let now = self.now();
            messages.extend(page.messages.into_iter().map(|m| m.as_of(now)));
            match page.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        Ok(Answer::Reports { messages, provider: self.gateway()?.provider() })
    }

    /// A page of the message log; by default of the last 30 days. Entries
    /// are shown as of now: `unknown` ones are stored `sending`, so a
    /// filter on either reads those and keeps its own (a page may then hold
    /// fewer than its limit, as with any filter).
    pub(super) async fn messages(&self, tenant: &TenantId, q: PageQuery) -> Result<Answer> {
        let now = self.now();
        let until = q.until.unwrap_or(now);
        let stored = q.status.map(|s| if s == MessageStatus::Unknown { MessageStatus::Sending } else { s });
        let query = MessageQuery {
            tenant,
            since: q.since.unwrap_or(until - 30 * 86_400),
            until,
            status: stored,
            from: None,
            to: q.to.as_ref().map(E164::as_str),
            limit: q.limit,
            after: q.after.as_ref(),
        };
        let mut page = self.store.page(&query).await?;
        page.messages = page
            .messages
            .into_iter()
            .map(|m| m.as_of(now))
            .filter(|m| q.status.is_none_or(|s| m.status == s))
            .collect();
        Ok(Answer::Page(page))
    }

    /// One message, if it is this tenant's: another tenant's is unknown.
    pub(super) async fn message(&self, tenant: &TenantId, id: &str) -> Result<Answer> {
        match self.store.message(id).await? {
            Some(m) if &m.tenant == tenant => Ok(Answer::Message(m.as_of(self.now()))),
            _ => Err(Error::UnknownMessage(id.to_owned())),
        }
    }

    /// A recording link clicked: a fresh way to the recording while the link
    /// lasts.
    pub async fn recording(&self, token: &str) -> Result<Recording> {
        let token = LinkToken::parse(token).ok_or(Error::UnknownRecordingLink)?;
        let link = self.store.link(&token.hash()).await?.ok_or(Error::UnknownRecordingLink)?;
        if link.expires_at <= self.now() {
            return Err(Error::RecordingLinkExpired);
        }
        let recordings = self.recordings.as_ref().ok_or_else(|| Error::Internal("no recordings to open".to_owned()))?;
        match recordings.open(&link).await?.ok_or(Error::RecordingGone)? {
            Recording::Audio { len, .. } if len > MAX_RECORDING_BYTES => {
                Err(Error::RecordingTooLarge { limit: MAX_RECORDING_BYTES })
            }
            recording => Ok(recording),
        }
    }

    /// A delivery receipt: the message it names moves to `delivered` or
    /// `failed`, once.
    pub async fn receipt(&self, receipt: &Receipt) -> Result<Received> {
        let received = self.store.receive(receipt).await?;
        if let Received::Applied(m) = &received {
            self.metrics.record(&Event::Receipt { tenant: &m.tenant, delivered: receipt.delivered });
        }
        Ok(received)
    }
}
